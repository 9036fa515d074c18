# RFC 6609 section 3.3: the included "subject_tests" (rfc6609-examples.svtest)
require ["variables", "include"];
global ["test", "test_mailbox"];

if header :contains "Subject" "${test}"
{
    set "test_mailbox" "spam-${test}";
}
