# RFC 6609 section 3.3; the RFC's script lacks "fileinto" and "relational"
# (for :count) in its require (errata), added here
require ["variables", "include", "fileinto", "relational"];
global "test";
global "test_mailbox";

# The included script may contain repetitive code that is
# effectively a subroutine that can be factored out.
set "test" "$$";
include "subject_tests";

set "test" "Make money";
include "subject_tests";

if string :count "eq" "${test_mailbox}" "1"
{
    fileinto "${test_mailbox}";
    stop;
}
