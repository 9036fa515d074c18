require ["vacation","variables"];
set "s" "hi";
vacation :subject "Auto: ${s}" :days 2 "${s} there";