require ["fileinto","imap4flags","variables"];
setflag "flagvar" "\\Seen \\Draft";
if hasflag "flagvar" "\\draft" { fileinto "h1"; }
if hasflag :matches "flagvar" "\\S*" { fileinto "h2"; }
addflag "Keyword";
setflag "X Y";
removeflag "x";
keep;