require ["reject"];
if header :contains "subject" "money" {
  reject text:
No spam, thanks.
.
;
}
