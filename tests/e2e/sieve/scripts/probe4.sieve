require ["fileinto","relational","comparator-i;ascii-numeric"];
if header :value "eq" :comparator "i;ascii-numeric" "x-num" "42" { fileinto "n1"; }
if header :value "gt" :comparator "i;ascii-numeric" "x-num" "1000" { fileinto "n2"; }
if header :is :comparator "i;ascii-numeric" "x-num" "42" { fileinto "n3"; }
if header :value "lt" "x-num" "1" { fileinto "n4"; }