require ["enotify", "variables"];

set "notif_method"
 "xmpp:tim@example.com?message;subject=SIEVE;body=You%20got%20mail";

if header :contains "subject" "Important" {
    set "notif_method" "mailto:alert@example.com";
}
if header :matches "From" "*" {
    set "from" "${1}";
    notify :importance "1" :message "From: ${from}" "${notif_method}";
}
