require ["ihave", "fileinto"];
if ihave "nosuchextension" { nosuchcommand "x"; }
elsif ihave "fileinto" { fileinto "has-fileinto"; }
