# RFC 6609 section 4: the personal "always_allow" script (rfc6609-examples.svtest)
if address :is "from" "boss@example.com"
{
    keep;
}
elsif address :is "from" "ceo@example.com"
{
    keep;
}
