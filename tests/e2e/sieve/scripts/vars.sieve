require ["fileinto", "variables"];
if header :matches "List-ID" "*<*.lists.*>" {
    fileinto "INBOX.lists.${2}"; stop;
}
# Imagine the header
# Subject: [acme-users] [fwd] version 1.0 is out
if header :matches "Subject" "[*] *" {
    fileinto "INBOX.lists.${1}"; stop;
}
