require ["copy", "fileinto"];
fileinto :copy "C";
