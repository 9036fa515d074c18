require ["fileinto", "mailbox"];
if header :contains ["from"] "coyote" {
    fileinto :create "INBOX.harassment";
}
