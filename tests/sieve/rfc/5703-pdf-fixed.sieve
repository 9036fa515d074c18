# RFC 5703 section 4.2 with the size as a number: the RFC prints
# size :over "100K", which neither yubin nor Pigeonhole accept (5703-pdf.sieve)
require ["mime", "foreverypart", "fileinto"];

foreverypart
{
    if allof (
      header :mime :param "filename" :contains
         "Content-Disposition" "important",
      header :mime :subtype "Content-Type" "pdf",
      size :over 100K)
    {
        fileinto "INBOX.important";
        break;
    }
}
