require ["body", "fileinto"];
if body :text :contains "frobnicate" { fileinto "text-frob"; }
if body :raw :contains "caf=E9" { fileinto "raw-qp"; }
if body :content "text/html" :contains "HTML part" { fileinto "html"; }
if body :content "application" :contains "%PDF" { fileinto "pdf"; }
if body :contains "money" { fileinto "plain-money"; }
