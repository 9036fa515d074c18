require "editheader";
addheader "X-Filtered" "by yubin";
deleteheader "subject";
