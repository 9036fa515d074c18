/* fuzz_formail.c - formail on an arbitrary message or mailbox: header
 * edits, extraction, auto-reply headers, quoting, splitting to stdout
 * (never -D, never a -s command: nothing touches the disk or runs). */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "procmail/formail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	static char *v1[] = { "formail", "-A", "X-A: 1", "-I", "Subject: new", "-i", "To: you",
	    "-a", "X-New: y", "-a", "Message-ID:", NULL };
	static char *v2[] = { "formail", "-rk", "-p", "| ", "-I", "Precedence: junk", NULL };
	static char *v3[] = { "formail", "-rtzxTo:", "-X", "Subject:", NULL };
	static char *v4[] = { "formail", "-c", "-f", "-b", "-s", NULL };
	static char *v5[] = { "formail", "-xFrom:", "-xReceived:", "-zxSubject:", NULL };

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY);
	(void)formail_buffer(11, v1, (const char *)data, size, devnull);
	(void)formail_buffer(6, v2, (const char *)data, size, devnull);
	(void)formail_buffer(4, v3, (const char *)data, size, devnull);
	(void)formail_buffer(5, v4, (const char *)data, size, devnull);
	(void)formail_buffer(4, v5, (const char *)data, size, devnull);
	return 0;
}
