require ["mime", "foreverypart", "fileinto", "variables", "extracttext"];
if header :mime :type "Content-Type" "multipart" { fileinto "is-multipart"; }
if header :mime :anychild :subtype "Content-Type" "pdf" { fileinto "has-pdf"; }
if header :mime :anychild :param "charset" "Content-Type" "iso-8859-1" { fileinto "latin1"; }
foreverypart {
  if header :mime :contenttype "Content-Type" "text/plain" {
    extracttext :first 6 "t";
    fileinto "first-${t}";
  }
}
