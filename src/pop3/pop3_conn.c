/* pop3_conn.c - buffered, blocking, timed line I/O on a socket or TLS.
 * See pop3_conn.h. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "lib/mem_idle.h"
#include "pop3/pop3_conn.h"
#include "pop3/pop3_conn_deflate.h"

void
pop3_conn_init(struct pop3_conn *c, int fd, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	str_init(&c->out, 4096);
}

void
pop3_conn_deinit(struct pop3_conn *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	pop3_deflate_free(&c->z);
	str_deinit(&c->out);
}

size_t
pop3_conn_pending(const struct pop3_conn *c)
{
	return c->in_len - c->in_pos;
}

static bool
pop3_conn_wait(struct pop3_conn *c, short events)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int n;

	do
		n = mem_idle_poll(&pfd, 1, c->timeout_ms);	/* an idle session gives memory back */
	while (n < 0 && errno == EINTR);
	return n > 0;
}

/* raw_read - bytes off the socket or TLS into [buf, buf+cap): >0 bytes,
 * 0 EOF, -1 timeout, -3 error */
static int
raw_read(struct pop3_conn *c, char *buf, size_t cap)
{
	ssize_t n;

	for (;;) {
		if (c->ssl != NULL && SSL_pending(c->ssl) > 0) {
			/* decrypted bytes wait inside OpenSSL: no poll */
		} else if (!pop3_conn_wait(c, POLLIN)) {
			return -1;
		}
		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, buf, (int)cap);

			if (r > 0)
				return r;
			switch (SSL_get_error(c->ssl, r)) {
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE:
				continue;
			case SSL_ERROR_ZERO_RETURN:
				return 0;
			default:
				ERR_clear_error();
				return -3;
			}
		}
		n = read(c->fd, buf, cap);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -3;
		return (int)n;
	}
}

/* pop3_conn_fill - read more input: >0 bytes, 0 EOF, -1 timeout, -3 error */
static int
pop3_conn_fill(struct pop3_conn *c)
{
	int r;

	if (c->in_pos > 0) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	if (c->z == NULL) {
		r = raw_read(c, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (r > 0)
			c->in_len += (size_t)r;
		return r;
	}
	for (;;) {
		char raw[4096];
		long made = pop3_deflate_in(c->z, c->in + c->in_len, sizeof(c->in) - c->in_len);

		if (made < 0)
			return -3;
		if (made > 0) {
			c->in_len += (size_t)made;
			return (int)made;
		}
		if ((r = raw_read(c, raw, sizeof(raw))) <= 0)
			return r;
		pop3_deflate_feed(c->z, raw, (size_t)r);
	}
}

int
pop3_conn_read(struct pop3_conn *c)
{
	if (pop3_conn_flush(c) != 0)
		return -3;
	if (c->in_pos == c->in_len)
		c->in_pos = c->in_len = 0;
	if (c->in_len == sizeof(c->in) && c->in_pos == 0)
		return -3;	/* the caller must consume before reading more */
	return pop3_conn_fill(c);
}

enum pop3_read
pop3_conn_getline(struct pop3_conn *c, struct str *line, size_t max)
{
	bool skipping = false;

	str_reset(line);
	for (;;) {
		char *nl = memchr(c->in + c->in_pos, '\n', c->in_len - c->in_pos);
		size_t n = nl != NULL ? (size_t)(nl - (c->in + c->in_pos)) : c->in_len - c->in_pos;
		int r;

		if (!skipping) {
			if (line->len + n > max)
				return POP3_READ_TOO_LONG;
			str_append_n(line, c->in + c->in_pos, n);
		}
		if (nl != NULL) {
			c->in_pos += n + 1;
			if (line->len > 0 && line->s[line->len - 1] == '\r')
				str_truncate(line, line->len - 1);
			return POP3_READ_LINE;
		}
		c->in_pos = c->in_len;
		/* replies to what came before go out before we wait */
		if (pop3_conn_flush(c) != 0)
			return POP3_READ_ERROR;
		r = pop3_conn_fill(c);
		if (r == 0)
			return POP3_READ_EOF;
		if (r == -1)
			return POP3_READ_TIMEOUT;
		if (r < 0)
			return POP3_READ_ERROR;
	}
}

void
pop3_conn_append(struct pop3_conn *c, const char *data, size_t len)
{
	str_append_n(&c->out, data, len);
	if (c->out.len >= 65536)
		(void)pop3_conn_flush(c);
}

void
pop3_conn_printf(struct pop3_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(&c->out, fmt, ap);
	va_end(ap);
	if (c->out.len >= 65536)
		(void)pop3_conn_flush(c);
}

/* raw_write - all of [data, data+len) to the socket or TLS; false when
 * the connection broke */
static bool
raw_write(struct pop3_conn *c, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, data + off, (int)(len - off));

			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			r = SSL_get_error(c->ssl, r);
			if ((r == SSL_ERROR_WANT_WRITE || r == SSL_ERROR_WANT_READ) &&
			    pop3_conn_wait(c, r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT))
				continue;
			ERR_clear_error();
			c->broken = true;
			break;
		}
		n = write(c->fd, data + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && pop3_conn_wait(c, POLLOUT))
			continue;
		c->broken = true;
		break;
	}
	return !c->broken;
}

int
pop3_conn_flush(struct pop3_conn *c)
{
	if (c->broken) {
		str_reset(&c->out);
		return -1;
	}
	if (c->out.len == 0)
		return 0;
	if (c->z != NULL) {
		struct str zout;

		str_init(&zout, c->out.len / 2 + 64);
		if (pop3_deflate_out(c->z, c->out.s, c->out.len, &zout) != 0)
			c->broken = true;
		else
			(void)raw_write(c, zout.s, zout.len);
		str_deinit(&zout);
	} else {
		(void)raw_write(c, c->out.s, c->out.len);
	}
	str_reset(&c->out);
	return c->broken ? -1 : 0;
}

int
pop3_conn_compress(struct pop3_conn *c)
{
	if (c->z != NULL || (c->z = pop3_deflate_new()) == NULL)
		return -1;
	if (c->in_pos < c->in_len) {
		pop3_deflate_feed(c->z, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len = c->in_pos;
	}
	return 0;
}

int
pop3_conn_starttls(struct pop3_conn *c, SSL_CTX *ctx)
{
	int r;

	/* plaintext pipelined after STLS is dropped, never read as commands
	 * sent under TLS (CVE-2011-0411's lesson) */
	c->in_pos = c->in_len = 0;
	if (pop3_conn_flush(c) != 0)
		return -1;
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	for (;;) {
		r = SSL_accept(c->ssl);
		if (r == 1)
			return 0;
		r = SSL_get_error(c->ssl, r);
		if ((r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) &&
		    pop3_conn_wait(c, r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT))
			continue;
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
}

void
pop3_conn_proxy(struct pop3_conn *c, int fd)
{
	struct pollfd pfd[2];
	char buf[16384];
	ssize_t n;

	for (;;) {
		pfd[0].fd = c->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		/* bytes already decrypted in OpenSSL's buffer: no poll for them */
		if (SSL_pending(c->ssl) > 0) {
			pfd[0].revents = POLLIN;
			pfd[1].revents = 0;
		} else if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pfd[0].revents != 0) {
			int r = SSL_read(c->ssl, buf, sizeof(buf));

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
					return;
			} else if (write(fd, buf, (size_t)r) != r) {
				return;
			}
		}
		if (pfd[1].revents != 0) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				return;
			pop3_conn_append(c, buf, (size_t)n);
			if (pop3_conn_flush(c) != 0)
				return;
		}
	}
}
