require ["imap4flags", "fileinto"];
# RFC 5232 section 7 (shortened): flag and file, keep with other flags
if header :contains "subject" "Frop" {
    setflag "\\Flagged";
    fileinto "INBOX.flagged";
    removeflag "\\Flagged";
    keep :flags "\\Seen";
}
