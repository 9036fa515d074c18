require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "lt" :comparator "i;ascii-numeric" ["x-priority"] ["3"] { fileinto "Priority"; }
elsif address :count "gt" :comparator "i;ascii-numeric" ["to"] ["5"] { fileinto "Spam"; }
elsif address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"] { fileinto "Many"; }
if header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "5" { fileinto "score"; }
