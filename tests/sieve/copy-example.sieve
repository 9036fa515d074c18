require ["copy"];
redirect :copy "sieve-admin@example.com";
