require ["fileinto", "variables"];
set "t" text: # a comment
line one
..dotted
.
;
if string :matches "${t}" "line one*.dotted*" { fileinto "multi-ok"; }
