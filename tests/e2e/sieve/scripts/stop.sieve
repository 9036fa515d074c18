require "fileinto";
if header :contains "subject" "money" { stop; }
fileinto "never";
