require ["fileinto","foreverypart","mime","variables","extracttext"];
set "n" "";
foreverypart { if header :mime :matches "content-type" "*" { set "n" "${n}[${1}]"; } }
fileinto "${n}";