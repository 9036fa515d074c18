# RFC 7352 3: with :last the period runs from the last time the
# message was seen, so every duplicate is tracked again
require "duplicate";
if duplicate :last :seconds 3600 {
	discard;
}
