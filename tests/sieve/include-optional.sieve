require "include";
include :optional "no-such-script";
