require "vacation";
vacation :subject "Gone fishing"
         :from "myfallbackaddress@example.edu"
         "Having lots of fun! Back in a day or two!";
