require ["variables", "fileinto", "relational"];
set "honorific"  "Mr";
set "first_name" "Wile";
set "last_name"  "Coyote";
set "vacation" text:
Dear ${HONORIFIC} ${last_name},
I'm out, please leave a message after the meep.
.
;
set :upper "up" "abc";
set :lowerfirst "lf" "ABC";
set :length "len" "hello";
set :quotewildcard "qw" "a*b?c";
if string :is "${up}${lf}${len}" "ABCaBC5" { fileinto "mods-${qw}"; }
if string :count "eq" ["a", "", "b"] "2" { fileinto "count2"; }
fileinto "${first_name}-${unknown}-x";
