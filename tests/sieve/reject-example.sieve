require ["reject"];

if header :contains "subject" "I have a present for you" {
   reject text:
I am not taking mail from you, and I don't
want your birthday cake, either.
.
;
}
