require ["vacation", "vacation-seconds"];
vacation :seconds 1800 "back soon";
