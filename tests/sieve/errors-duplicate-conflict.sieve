# RFC 7352 3: :header and :uniqueid exclude each other
require "duplicate";
if duplicate :header "X-A" :uniqueid "y" { discard; }
