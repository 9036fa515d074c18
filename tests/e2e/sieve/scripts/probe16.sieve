require ["relational","comparator-i;ascii-numeric","fileinto"];
if header :count "gt" ["received","date"] "1" { fileinto "x1"; }
if header :value "lt" :comparator "i;octet" "subject" "B" { fileinto "x2"; }
if header :value "ge" :comparator "i;ascii-casemap" "subject" "s" { fileinto "x3"; }