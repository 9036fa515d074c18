# RFC 6609 section 3.4: the same through the global namespace (rfc6609-examples.svtest)
require ["variables", "include", "vacation"];

if string :is "${global.i_am_on_vacation}" "1"
{
    vacation "It's true, I am on vacation.";
}
