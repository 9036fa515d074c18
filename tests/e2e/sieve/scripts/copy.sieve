require ["copy", "fileinto"];
fileinto :copy "archive";
redirect :copy "boss@example.com";
