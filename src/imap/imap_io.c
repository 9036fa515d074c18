/* imap_io.c - see imap_io.h */
#include <stdio.h>
#include <string.h>

#include "imap/imap_io.h"

enum imap_read
imap_read_command(struct pop3_conn *c, struct imap_parser *p)
{
	for (;;) {
		if (c->in_pos < c->in_len) {
			size_t used;
			enum imap_feed r = imap_parser_feed(p, c->in + c->in_pos,
			    c->in_len - c->in_pos, &used);

			c->in_pos += used;
			switch (r) {
			case IMAP_FEED_COMMAND:
				return IMAP_READ_COMMAND;
			case IMAP_FEED_CONTINUE:
				pop3_conn_printf(c, "+ OK\r\n");
				continue;
			case IMAP_FEED_FATAL:
				pop3_conn_printf(c, "* BYE %s\r\n", imap_parser_error(p));
				(void)pop3_conn_flush(c);
				return IMAP_READ_FATAL;
			case IMAP_FEED_MORE:
				break;
			}
		}
		switch (pop3_conn_read(c)) {
		case 0:
			return IMAP_READ_EOF;
		case -1:
			return IMAP_READ_TIMEOUT;
		case -3:
			return IMAP_READ_ERROR;
		default:
			break;
		}
	}
}

void
imap_timing(char *buf, size_t size, const struct timespec *start)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
	if (ms < 1)
		ms = 1;	/* Dovecot rounds up: never "0.000" for the first figure */
	snprintf(buf, size, " (%ld.%03ld + 0.000 secs).", ms / 1000, ms % 1000);
}
