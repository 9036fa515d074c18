require ["envelope", "subaddress", "fileinto"];
if envelope :user "to" "bob" { fileinto "user-bob"; }
if envelope :detail "to" "lists" { fileinto "detail-lists"; }
if address :detail "to" "lists" { fileinto "hdr-detail"; }
if address :user :is "to" ["bob", "carol"] { fileinto "hdr-user"; }
