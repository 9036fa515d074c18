require ["fileinto","regex","variables"];
if header :regex "subject" "([a-z]+) ([a-z]+)" { fileinto "r-${1}-${2}-${0}"; }
if address :regex :domain "from" "^(.*)\\.(.*)$" { fileinto "rd-${2}"; }