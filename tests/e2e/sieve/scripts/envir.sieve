require ["environment", "fileinto", "variables"];
if environment :is "location" "MDA" { fileinto "mda"; }
if environment :is "phase" "during" { fileinto "during"; }
if environment :is "nonexistent" "" { fileinto "never"; }
