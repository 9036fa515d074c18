require ["include", "variables", "fileinto"];
global "who";
set "who" "main";
include :personal "include_sub";
fileinto "after-${who}";
