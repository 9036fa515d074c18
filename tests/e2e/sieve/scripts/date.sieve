require ["date", "relational", "fileinto", "variables"];
if date :originalzone :is "date" "year" "2026" { fileinto "y2026"; }
if date :zone "+0000" :matches "date" "iso8601" "*" { fileinto "iso-${1}"; }
if date :originalzone :value "ge" "date" "hour" "09" { fileinto "after9"; }
if date :zone "-0500" :is "date" "weekday" "1" { fileinto "monday"; }
if date :zone "+0000" :is "received" "time" "09:00:05" { fileinto "recv"; }
if currentdate :value "ge" "year" "2020" { fileinto "now"; }
