# nothing happens
if false { discard; }
