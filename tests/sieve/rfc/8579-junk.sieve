require "fileinto";
require "special-use";

fileinto :specialuse "\\Junk" "Spam";
