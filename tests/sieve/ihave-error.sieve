require "ihave";
error "no vacation here";
