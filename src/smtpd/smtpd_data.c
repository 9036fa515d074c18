/* smtpd_data.c - the DATA/BDAT message reader (see smtpd_data.h). */
#include <string.h>
#include <strings.h>

#include "smtpd/smtpd_data.h"

void
smtpd_data_init(struct smtpd_data *d, bool bdat, size_t max_size)
{
	memset(d, 0, sizeof(*d));
	d->bdat = bdat;
	d->max_size = max_size;
	d->state = SMTPD_DATA_BOL;
	d->in_header = true;
	d->header_line_start = true;
	d->last_nl = true;
	str_init(&d->hdr, 64);
	d->hdr.max = SMTPD_DATA_MSGID_MAX + 16;
	str_init(&d->msgid, 16);
	d->msgid.max = SMTPD_DATA_MSGID_MAX;
	str_init(&d->out, 4096);
}

void
smtpd_data_deinit(struct smtpd_data *d)
{
	str_deinit(&d->hdr);
	str_deinit(&d->msgid);
	str_deinit(&d->out);
}

/* smtpd_data_header_end - a header line is complete: note Message-ID, and
 * notice the end of the header section (an empty line or a non-header) */
static void
smtpd_data_header_end(struct smtpd_data *d)
{
	const char *p, *e;

	if (d->hdr.len == 0) {
		d->in_header = false;
		return;
	}
	if (d->hdr.s[0] != ' ' && d->hdr.s[0] != '\t' && strchr(d->hdr.s, ':') == NULL) {
		d->in_header = false;
		return;
	}
	if (d->msgid.len == 0 && strncasecmp(d->hdr.s, "message-id:", 11) == 0) {
		p = d->hdr.s + 11;
		while (*p == ' ' || *p == '\t')
			p++;
		e = d->hdr.s + d->hdr.len;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		str_append_n(&d->msgid, p, (size_t)(e - p));
	}
}

/* smtpd_data_emit - one content byte */
static void
smtpd_data_emit(struct smtpd_data *d, char c)
{
	d->size++;
	if (d->max_size != 0 && d->size > d->max_size)
		d->overflow = true;
	if (!d->overflow)
		str_append_c(&d->out, c);
	d->last_nl = c == '\n';
	if (d->in_header) {
		if (c == '\n') {
			smtpd_data_header_end(d);
			str_reset(&d->hdr);
			d->hdr.overflow = false;
		} else
			str_append_c(&d->hdr, c);
	}
}

size_t
smtpd_data_feed(struct smtpd_data *d, const char *in, size_t len)
{
	size_t i = 0;
	char c;

	while (i < len && d->state != SMTPD_DATA_END && d->out.len < SMTPD_DATA_OUT_MAX) {
		c = in[i];
		switch (d->state) {
		case SMTPD_DATA_BOL:
			if (c == '.' && !d->bdat) {
				d->state = SMTPD_DATA_DOT;
				i++;
				continue;
			}
			d->state = SMTPD_DATA_LINE;
			continue;	/* the same byte, as part of a line */
		case SMTPD_DATA_DOT:
			if (c == '\r') {
				d->state = SMTPD_DATA_DOT_CR;
				i++;
			} else if (c == '\n') {
				d->state = SMTPD_DATA_END;
				i++;
			} else
				d->state = SMTPD_DATA_LINE;	/* the dot is dropped */
			continue;
		case SMTPD_DATA_DOT_CR:
			if (c == '\n') {
				d->state = SMTPD_DATA_END;
				i++;
				continue;
			}
			/* ".\r" then something else: the line's text is "\r..." */
			smtpd_data_emit(d, '\r');
			d->state = SMTPD_DATA_LINE;
			continue;
		case SMTPD_DATA_LINE:
			if (c == '\r')
				d->state = SMTPD_DATA_CR;
			else if (c == '\n') {
				smtpd_data_emit(d, '\n');
				d->state = SMTPD_DATA_BOL;
			} else
				smtpd_data_emit(d, c);
			i++;
			continue;
		case SMTPD_DATA_CR:
			if (c == '\n') {
				smtpd_data_emit(d, '\n');
				d->state = SMTPD_DATA_BOL;
				i++;
			} else {
				smtpd_data_emit(d, '\r');	/* a bare CR stays */
				d->state = SMTPD_DATA_LINE;
			}
			continue;
		case SMTPD_DATA_END:
			break;
		}
	}
	return i;
}

void
smtpd_data_finish(struct smtpd_data *d)
{
	if (d->state == SMTPD_DATA_CR)
		smtpd_data_emit(d, '\r');
	if (!d->last_nl)
		smtpd_data_emit(d, '\n');
	d->state = SMTPD_DATA_END;
}

bool
smtpd_data_done(const struct smtpd_data *d)
{
	return d->state == SMTPD_DATA_END;
}
