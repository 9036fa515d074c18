require ["copy", "fileinto", "imap4flags"];
fileinto :flags "x" "A";
fileinto :copy :flags "y" "A";
redirect :copy "a@example.net";
redirect "a@example.net";
fileinto :copy "B";
fileinto "B";
