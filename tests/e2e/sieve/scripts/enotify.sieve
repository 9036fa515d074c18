require ["enotify", "fileinto", "variables"];
if header :contains "from" "alice" {
    notify :importance "1" :message "This is probably very important" "mailto:alert@example.com";
}
if valid_notify_method "mailto:x@example.com" { fileinto "valid"; }
if notify_method_capability "mailto:x@example.com" "online" "maybe" { fileinto "maybe"; }
set :encodeurl "enc" "a b&c";
notify :message "${enc}" "mailto:other@example.com?cc=c@example.com&subject=ignored";
