require ["fileinto","variables","relational","comparator-i;ascii-numeric"];
if address :count "eq" :comparator "i;ascii-numeric" "from" "1" { fileinto "c1"; }
if address :count "eq" :comparator "i;ascii-numeric" "from" "2" { fileinto "c2"; }
if address :count "eq" :comparator "i;ascii-numeric" "cc" "1" { fileinto "c3"; }
if address :count "eq" :comparator "i;ascii-numeric" "cc" "2" { fileinto "c4"; }
if address :count "eq" :comparator "i;ascii-numeric" "cc" "3" { fileinto "c5"; }
if address :count "eq" :comparator "i;ascii-numeric" "to" "3" { fileinto "c6"; }
if header :count "eq" :comparator "i;ascii-numeric" "subject" "2" { fileinto "c7"; }