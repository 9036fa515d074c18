require "include";
include "include-loop";
