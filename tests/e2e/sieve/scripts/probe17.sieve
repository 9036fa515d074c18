require ["fileinto"];
if header :is "From" "\"Smith, John\" <john.smith@Example.COM>, undisclosed-recipients:;" { fileinto "raw"; }
if header :contains "to" "group:" { fileinto "grp"; }