require ["reject", "vacation"];
reject "no";
vacation "away";
