require ["fileinto","variables","encoded-character"];
set "x" "${hex:24 7b}a}";
fileinto "x${x}";
fileinto "${unicode:1F600}";