require ["imap4flags", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
setflag "\\Seen";
addflag ["\\Flagged", "work"];
removeflag "\\seen";
if hasflag :contains "work" { fileinto "haswork"; }
if hasflag :count "ge" :comparator "i;ascii-numeric" "2" { fileinto "two"; }
set "myflags" "";
addflag "myflags" "private";
fileinto :flags "${myflags}" "withflags";
