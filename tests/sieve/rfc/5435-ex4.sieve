require ["enotify"];
if not valid_notify_method ["mailto:",
        "http://gw.example.net/notify?test"] {
    stop;
}
