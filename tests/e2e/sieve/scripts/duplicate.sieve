require ["duplicate", "fileinto"];
if duplicate { discard; } else { fileinto "first-time"; }
