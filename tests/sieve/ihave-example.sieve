require ["ihave", "fileinto"];
if ihave "nosuch-extension" {
    nosuch_command :frob "x";
} elsif ihave "fileinto" {
    fileinto "known";
}
