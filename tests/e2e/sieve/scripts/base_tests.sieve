require ["fileinto", "envelope"];
if size :over 100 { fileinto "big"; }
if size :under 1K { fileinto "small"; }
if exists ["From", "Date"] { fileinto "exists"; }
if not exists "X-Nothing" { fileinto "notexists"; }
if header :contains "subject" "MONEY" { fileinto "casemap"; }
if header :comparator "i;octet" :contains "subject" "MONEY" { fileinto "octet"; }
if address :localpart "to" "bob+lists" { fileinto "local"; }
if address :domain :is "cc" "EXAMPLE.COM" { fileinto "domain"; }
if envelope :is "from" "alice@example.org" { fileinto "envfrom"; }
if allof (true, not false) { fileinto "allof"; }
if anyof (false, false) { fileinto "never"; }
if header :matches "List-ID" "*<*@*" { fileinto "nomatch"; }
if header :matches "List-ID" "*<*.lists.*>" { fileinto "listmatch"; }
