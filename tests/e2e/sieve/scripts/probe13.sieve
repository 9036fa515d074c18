require ["fileinto","envelope","subaddress","variables"];
if envelope :matches "from" "*@*" { fileinto "e-${2}"; }
if envelope :user "to" "*" { fileinto "u"; }
if envelope :domain :is "to" "example.com" { fileinto "d"; }