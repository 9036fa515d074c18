require "vacation";
if size :over 1000 { vacation :days 0 "small"; }
else { vacation :days 400 :subject "S" :from "Me <me@example.com>" :mime "Content-Type: text/plain

big"; }
