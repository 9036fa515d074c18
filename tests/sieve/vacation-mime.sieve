require "vacation";
vacation :mime :addresses "tjs@example.edu" text:
Content-Type: multipart/alternative; boundary=foo

--foo

I'm at the beach relaxing.  Mmmm, surf...

--foo
Content-Type: text/html; charset=us-ascii

<html><body>I am away, relaxing at the beach.</body></html>

--foo--
.
;
