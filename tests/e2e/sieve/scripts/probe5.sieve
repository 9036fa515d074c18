require ["date","fileinto","variables"];
if date :matches "date" "iso8601" "*" { fileinto "d-${1}"; }
if date :originalzone :matches "date" "zone" "*" { fileinto "z-${1}"; }
if date :matches "received" "date" "*" { fileinto "r-${1}"; }
if date :originalzone :matches "received" "std11" "*" { fileinto "rs-${1}"; }