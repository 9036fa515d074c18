require ["include", "variables", "fileinto"];
global "who";
fileinto "sub-${who}";
set "who" "sub";
return;
fileinto "never";
