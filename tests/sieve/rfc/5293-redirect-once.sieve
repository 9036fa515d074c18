require ["editheader"];
# RFC 5293 section 8 (the RFC uses redirect, which needs no extension)
# Don't redirect if we already redirected
if not header :contains "X-Sieve-Filtered"
        ["<kim@job.example.com>", "<kim@home.example.com>"]
{
        addheader "X-Sieve-Filtered" "<kim@job.example.com>";
        redirect "kim@home.example.com";
}
