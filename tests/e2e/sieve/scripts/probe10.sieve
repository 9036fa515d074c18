require ["fileinto","mime","variables"];
if header :mime :type "content-type" "multipart" { fileinto "m1"; }
if header :mime :anychild :contenttype "content-type" "text/html" { fileinto "m2"; }
if header :mime :param "charset" "content-type" "iso-8859-1" { fileinto "m3"; }
if address :mime :anychild :all "from" "dave@example.com" { fileinto "m4"; }
if exists :mime :anychild "content-transfer-encoding" { fileinto "m5"; }