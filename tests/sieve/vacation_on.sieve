# RFC 6609 section 3.3: the script that reads the global (rfc6609-examples.svtest)
require ["variables", "include", "vacation"];
global "i_am_on_vacation";

if string :is "${i_am_on_vacation}" "1"
{
    vacation "It's true, I am on vacation.";
}
