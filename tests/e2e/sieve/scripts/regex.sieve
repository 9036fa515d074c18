require ["regex", "variables", "fileinto"];
if header :regex "subject" "^make (money|cash) fast" { fileinto "re1-${1}"; }
if address :regex :localpart "from" "^al(i)ce$" { fileinto "re2-${1}"; }
if header :regex :comparator "i;octet" "subject" "^make" { fileinto "never"; }
