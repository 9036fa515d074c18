require ["variables", "include", "vacation"];
global "i_am_on_vacation";

set "i_am_on_vacation" "1";
include "vacation_on";
