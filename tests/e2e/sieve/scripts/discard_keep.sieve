require ["fileinto"];
discard;
if true { keep; }
