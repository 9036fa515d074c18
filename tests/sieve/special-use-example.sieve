require ["special-use", "fileinto"];
if specialuse_exists "\\Junk" { fileinto :specialuse "\\Junk" "Spam"; }
else { fileinto "Spam"; }
