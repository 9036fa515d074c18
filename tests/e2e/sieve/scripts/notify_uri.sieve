require "enotify";
notify "mailto:a@example.com?subject=Hello%20there";
notify "mailto:?to=b@example.com&cc=c@example.com";
