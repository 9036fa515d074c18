require "ereject";
ereject "550 no";
