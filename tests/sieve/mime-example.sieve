require ["mime", "foreverypart", "fileinto"];
foreverypart {
    if header :mime :param "filename" :matches "Content-Disposition" "*.zip" {
        fileinto "INBOX.with-zip";
        break;
    }
}
