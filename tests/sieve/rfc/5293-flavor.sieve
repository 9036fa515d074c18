require ["editheader"];
keep;
addheader "X-Flavor" "vanilla";
keep;
