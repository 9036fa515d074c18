require "environment";
if environment :contains "item" "" { keep; }
