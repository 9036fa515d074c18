if size :over 462 { discard; }
if size :under 464 { keep; }
