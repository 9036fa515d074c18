require "vacation";
if header :contains "subject" "cyrus" {
    vacation "I'm out -- send mail to cyrus-bugs";
} else {
    vacation :days 23 :addresses ["tjs@example.edu",
                                  "ts4z@landru.example.edu"]
    "I'm out -- call me at +1 304 555 0123";
}
