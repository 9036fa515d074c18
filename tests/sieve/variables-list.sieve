require ["fileinto", "variables"];
if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.${2}"; stop;
}
if header :matches "List-ID" "*<*.lists.*>" {
    fileinto "INBOX.lists.${2}"; stop;
}
