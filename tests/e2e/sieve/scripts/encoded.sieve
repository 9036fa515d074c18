require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex:4d 61 6b 65}" { fileinto "${unicode:263a}"; }
