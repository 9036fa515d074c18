require ["encoded-character", "variables", "fileinto"];
# RFC 5229 section 3 (the RFC's "set" line lacks its ";")
set "name" "Ethelbert";
if header :contains "Subject" "dear${hex:20 24 7b 4e}ame}" {
    # the test string is "dear Ethelbert"
    fileinto "Ethelbert";
}
