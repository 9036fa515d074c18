require "editheader";
addheader "X-Filtered" "by yubin";
addheader "X-Umlaut" "Über";
deleteheader "subject";
