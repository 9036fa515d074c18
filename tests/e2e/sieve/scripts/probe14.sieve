require "vacation";
vacation :subject "Re: ${subject}" :from "x@example.com" :addresses "y@example.com" :handle "h" "body";