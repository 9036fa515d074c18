/* formail.h - formail's work on a buffer (the command reads stdin; the
 * fuzz harness passes bytes). */
#ifndef YUBIN_FORMAIL_H
#define YUBIN_FORMAIL_H

#include <stddef.h>

/* formail_buffer - formail with argv's options on in[0..len), output to
 * out_fd; formail's exit status */
int	 formail_buffer(int argc, char **argv, const char *in, size_t len, int out_fd);

#endif
