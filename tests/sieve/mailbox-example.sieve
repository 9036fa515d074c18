require ["fileinto", "mailbox"];
if mailboxexists "INBOX.Archive" { fileinto "INBOX.Archive"; }
else { fileinto :create "INBOX.Archive"; }
