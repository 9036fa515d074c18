require ["fileinto","variables"];
if header :matches "subject" "*" { fileinto "s-${1}"; }
if header :is "x-empty" "" { fileinto "empty"; }
if exists "x-empty" { fileinto "exists-empty"; }
if header :contains "subject" "André" { fileinto "decoded"; }