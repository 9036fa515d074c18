require ["fileinto","variables"];
if address :all :is "from" "john.smith@example.com" { fileinto "a1"; }
if address :localpart :is "to" "a" { fileinto "a2"; }
if address :domain :is "cc" "y.example" { fileinto "a3"; }
if address :all :is "cc" "plainaddress" { fileinto "a4"; }
if address :matches :all "to" "*quoted*" { fileinto "a5-${1}"; }
