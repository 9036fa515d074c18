require ["body","fileinto"];
if body :raw :matches "*Short body*" { fileinto "b1"; }
if body :text :is "Short body" { fileinto "b2"; }
if body :content "text" :contains "short" { fileinto "b3"; }
if body :content "text/plain" :contains "Secret word" { fileinto "b4"; }
if body :content "" :contains "JVBER" { fileinto "b5"; }
if body :content "multipart" :contains "preamble" { fileinto "b6"; }
if body :text :contains "HTML part" { fileinto "b7"; }