require ["include", "variables", "fileinto"];
global "who";
set "who" "main";
include :personal "include-sub";
fileinto "after-${who}";
