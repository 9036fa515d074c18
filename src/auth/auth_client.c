/* auth_client.c - the client side of the auth protocol (auth_client.h).
 * One unix-socket connection, handshake on first use, requests numbered
 * per connection. The blocking calls use a plain socket (fd); the
 * asynchronous calls use a second connection of their own, a bufferevent
 * on the caller's loop, so an event-loop daemon never waits for the
 * service (nor for its failure delay): requests are written at once, the
 * replies are matched to requests by id as they come, and every callback
 * runs from the loop. Request ids are per connection, as the service
 * counts them.
 * Tests: tests/unit/auth/test_auth_client.c (async, against a fake service),
 * tests/e2e/test_auth.py (server), tests/e2e/test_smtp_auth.py. */
#include <errno.h>
#include <stdint.h>
#include <pwd.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>

#include "auth/auth_client.h"
#include "lib/mem.h"
#include "lib/str.h"

#define AUTH_CLIENT_MAX_LINE	16384

struct auth_client {
	char	*path;			/* owned */
	struct event_base *base;	/* borrowed, may be NULL */
	int	 fd;			/* -1 when not connected */
	struct str in;			/* buffered input */
	struct auth_client_mech *mechs;	/* owned (names owned) */
	size_t	 nmechs;
	unsigned long next_id;
	char	 cookie[65];		/* the service's COOKIE for this connection */
	char	 errbuf[256];
	/* asynchronous side: its own connection on base */
	struct bufferevent *bev;	/* owned; NULL: not connected */
	bool	 a_ready;		/* the service's DONE was seen */
	unsigned long a_next_id;
	struct auth_client_mech *a_mechs; /* handshake in progress (owned) */
	size_t	 a_nmechs;
	struct auth_client_request *reqs; /* owned: requests on bev */
};

struct auth_client_request {
	struct auth_client *client;	/* borrowed */
	unsigned long id;
	/* asynchronous requests only */
	auth_client_callback_fn *cb;
	void	*ctx;
	struct auth_client_request *next, *prev; /* client->reqs while linked */
	bool	 linked;
	bool	 waiting;		/* a reply from the service is due */
	struct auth_client_reply reply;	/* the reply being delivered */
	struct event *later;		/* owned: an error delivered from the loop */
};

void
auth_client_reply_init(struct auth_client_reply *r)
{
	memset(r, 0, sizeof(*r));
	strvec_init(&r->fields);
}

void
auth_client_reply_deinit(struct auth_client_reply *r)
{
	free(r->user);
	free(r->challenge);
	free(r->reason);
	strvec_deinit(&r->fields);
	memset(r, 0, sizeof(*r));
	strvec_init(&r->fields);
}

const char *
auth_client_reply_field(const struct auth_client_reply *r, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < r->fields.n; i++) {
		const char *f = r->fields.v[i];

		if (strncmp(f, key, kl) == 0 && (f[kl] == '=' || f[kl] == '\0'))
			return f[kl] == '=' ? f + kl + 1 : "";
	}
	return NULL;
}

struct auth_client *
auth_client_new(const char *socket_path, struct event_base *base)
{
	struct auth_client *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(socket_path);
	c->base = base;
	c->fd = -1;
	str_init(&c->in, 256);
	return c;
}

static void
mechs_free(struct auth_client_mech **mechs, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((char *)(uintptr_t)(*mechs)[i].name);
	free(*mechs);
	*mechs = NULL;
	*n = 0;
}

/* client_disconnect - close the blocking connection; the mechanisms stay
 * known (the last list the service gave) */
static void
client_disconnect(struct auth_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	str_reset(&c->in);
}

static void async_disconnect(struct auth_client *);
static void request_free(struct auth_client_request *);

void
auth_client_free(struct auth_client **p)
{
	struct auth_client *c = *p;

	if (c == NULL)
		return;
	async_disconnect(c);
	while (c->reqs != NULL)
		request_free(c->reqs);	/* aborted: no callback */
	client_disconnect(c);
	mechs_free(&c->mechs, &c->nmechs);
	mechs_free(&c->a_mechs, &c->a_nmechs);
	str_deinit(&c->in);
	free(c->path);
	free(c);
	*p = NULL;
}

/* read_line - the next line (without LF) into a new string, or NULL */
static char *
read_line(struct auth_client *c)
{
	for (;;) {
		char *nl = memchr(c->in.s, '\n', c->in.len), buf[4096], *line;
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - c->in.s);

			line = xstrndup(c->in.s, len);
			memmove(c->in.s, nl + 1, c->in.len - len - 1);
			str_truncate(&c->in, c->in.len - len - 1);
			return line;
		}
		if (c->in.len > AUTH_CLIENT_MAX_LINE)
			return NULL;
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		str_append_n(&c->in, buf, (size_t)n);
	}
}

static int
write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static unsigned
mech_flag(const char *f)
{
	static const struct { const char *n; unsigned v; } t[] = {
		{ "plaintext", AUTH_CLIENT_MECH_PLAINTEXT }, { "anonymous", AUTH_CLIENT_MECH_ANONYMOUS },
		{ "dictionary", AUTH_CLIENT_MECH_DICTIONARY }, { "active", AUTH_CLIENT_MECH_ACTIVE },
		{ "forward-secrecy", AUTH_CLIENT_MECH_FORWARD_SECRECY },
		{ "mutual-auth", AUTH_CLIENT_MECH_MUTUAL_AUTH }, { "private", AUTH_CLIENT_MECH_PRIVATE },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].n, f) == 0)
			return t[i].v;
	return 0;	/* unknown flags are ignored, as Dovecot's client does */
}

/* client_sockaddr - the service's address: a unix socket path, or
 * "inet:host:port" (Postfix's smtpd_sasl_path form; a host name is
 * resolved here, blocking) */
static int
client_sockaddr(struct auth_client *c, struct sockaddr_storage *ss, socklen_t *len_r,
    const char **error_r)
{
	memset(ss, 0, sizeof(*ss));
	if (strncmp(c->path, "inet:", 5) == 0) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
		char host[256];
		const char *spec = c->path + 5, *colon = strrchr(spec, ':');
		size_t hl = colon != NULL ? (size_t)(colon - spec) : 0;
		int rc;

		if (colon == NULL || hl == 0 || hl >= sizeof(host)) {
			*error_r = "auth service address: want inet:host:port";
			return -1;
		}
		memcpy(host, spec, hl);
		host[hl] = '\0';
		if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
		if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
			snprintf(c->errbuf, sizeof(c->errbuf), "%s: %s", c->path, gai_strerror(rc));
			*error_r = c->errbuf;
			return -1;
		}
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		*len_r = res->ai_addrlen;
		freeaddrinfo(res);
		return 0;
	}
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	sun->sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sun->sun_path)) {
		*error_r = "auth socket path too long";
		return -1;
	}
	strcpy(sun->sun_path, c->path);
	*len_r = sizeof(*sun);
	return 0;
}

/* client_open - the blocking connection to the service's socket: 0, or
 * -1 with *error_r */
static int
client_open(struct auth_client *c, const char **error_r)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (client_sockaddr(c, &ss, &sslen, error_r) < 0)
		return -1;
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&ss, sslen) < 0) {
		snprintf(c->errbuf, sizeof(c->errbuf), "connect(%s) failed: %s", c->path,
		    strerror(errno));
		client_disconnect(c);
		*error_r = c->errbuf;
		return -1;
	}
	return 0;
}

int
auth_client_connect(struct auth_client *c, const char **error_r)
{
	char hello[64], *line;

	if (c->fd >= 0)
		return 0;
	if (client_open(c, error_r) < 0)
		return -1;
	snprintf(hello, sizeof(hello), "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());
	if (write_all(c->fd, hello, strlen(hello)) < 0)
		goto lost;
	mechs_free(&c->mechs, &c->nmechs);
	while ((line = read_line(c)) != NULL) {
		if (strcmp(line, "DONE") == 0) {
			free(line);
			return 0;
		}
		if (strncmp(line, "COOKIE\t", 7) == 0)
			snprintf(c->cookie, sizeof(c->cookie), "%s", line + 7);
		if (strncmp(line, "VERSION\t", 8) == 0 && strncmp(line + 8, "1\t", 2) != 0) {
			free(line);
			*error_r = "auth service speaks an incompatible protocol version";
			client_disconnect(c);
			return -1;
		}
		if (strncmp(line, "MECH\t", 5) == 0) {
			char *save = NULL, *tok = strtok_r(line + 5, "\t", &save);
			struct auth_client_mech m = { xstrdup(tok != NULL ? tok : ""), 0 };

			while ((tok = strtok_r(NULL, "\t", &save)) != NULL)
				m.flags |= mech_flag(tok);
			c->mechs = xreallocarray(c->mechs, c->nmechs + 1, sizeof(m));
			c->mechs[c->nmechs++] = m;
		}
		free(line);
	}
lost:
	client_disconnect(c);
	*error_r = "auth service disconnected during the handshake";
	return -1;
}

const struct auth_client_mech *
auth_client_mechs(struct auth_client *c, size_t *count_r)
{
	const char *err;

	/* an event-loop caller must not wait: once the list is known (from
	 * either connection) it is the answer */
	if ((c->base == NULL || c->nmechs == 0) && auth_client_connect(c, &err) < 0 &&
	    (c->base == NULL || c->nmechs == 0)) {
		*count_r = 0;
		return NULL;
	}
	*count_r = c->nmechs;
	return c->mechs;
}

const struct auth_client_mech *
auth_client_mech_find(struct auth_client *c, const char *name)
{
	size_t n;
	const struct auth_client_mech *m = auth_client_mechs(c, &n);

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

static bool
arg_clean(const char *s)
{
	return s == NULL || strpbrk(s, "\t\n\r") == NULL;
}

/* parse_result - the fields after "CMD\tID" of a reply into reply */
static void
parse_result(const char *cmd, char **save, struct auth_client_reply *reply)
{
	char *tok;

	if (strcmp(cmd, "CONT") == 0) {
		tok = strtok_r(NULL, "\t", save);
		reply->challenge = xstrdup(tok != NULL ? tok : "");
		reply->result = AUTH_CLIENT_RESULT_CONTINUE;
		return;
	}
	reply->result = strcmp(cmd, "OK") == 0 ? AUTH_CLIENT_RESULT_OK : AUTH_CLIENT_RESULT_FAIL;
	while ((tok = strtok_r(NULL, "\t", save)) != NULL) {
		strvec_push(&reply->fields, tok);
		if (strncmp(tok, "user=", 5) == 0) {
			free(reply->user);
			reply->user = xstrdup(tok + 5);
		} else if (strncmp(tok, "reason=", 7) == 0) {
			free(reply->reason);
			reply->reason = xstrdup(tok + 7);
		} else if (strcmp(tok, "temp") == 0)
			reply->temp = true;
	}
	if (strcmp(cmd, "OK") != 0 && strcmp(cmd, "FAIL") != 0)
		reply->result = AUTH_CLIENT_RESULT_ERROR;
}

/* exchange - send line, read the reply for id into reply */
static enum auth_client_result
exchange(struct auth_client *c, unsigned long id, const char *line,
    struct auth_client_reply *reply)
{
	char *in, *save = NULL;

	auth_client_reply_deinit(reply);
	reply->auth_id = 0;
	if (write_all(c->fd, line, strlen(line)) < 0)
		goto lost;
	for (;;) {
		if ((in = read_line(c)) == NULL)
			goto lost;
		char *cmd = strtok_r(in, "\t", &save), *sid = strtok_r(NULL, "\t", &save);

		if (cmd == NULL || sid == NULL || strtoul(sid, NULL, 10) != id) {
			free(in);
			continue;	/* not ours (an aborted request's late reply) */
		}
		parse_result(cmd, &save, reply);
		free(in);
		return reply->result;
	}
lost:
	client_disconnect(c);
	reply->result = AUTH_CLIENT_RESULT_ERROR;
	reply->reason = xstrdup("Temporary authentication failure");
	return reply->result;
}

/* auth_line - "AUTH\tid\tmech\t..." for a new attempt into line (no LF);
 * false when a value would break the protocol's framing */
static bool
auth_line(unsigned long id, const struct auth_client_info *info, const char *response,
    struct str *line)
{
	if (info->mech == NULL || info->mech[0] == '\0' || !arg_clean(info->mech) ||
	    !arg_clean(info->service) || !arg_clean(info->remote_ip) ||
	    !arg_clean(info->local_ip) || !arg_clean(info->session_id) || !arg_clean(response))
		return false;
	str_appendf(line, "AUTH\t%lu\t%s\tservice=%s", id, info->mech,
	    info->service != NULL ? info->service : "smtp");
	if (info->local_ip != NULL)
		str_appendf(line, "\tlip=%s", info->local_ip);
	if (info->remote_ip != NULL)
		str_appendf(line, "\trip=%s", info->remote_ip);
	if (info->local_port != 0)
		str_appendf(line, "\tlport=%u", info->local_port);
	if (info->remote_port != 0)
		str_appendf(line, "\trport=%u", info->remote_port);
	if (info->secured)
		str_append(line, "\tsecured");
	if (info->tls)
		str_append(line, "\ttransport=TLS");
	if (info->no_login)
		str_append(line, "\tnologin");
	if (info->session_id != NULL)
		str_appendf(line, "\tsession=%s", info->session_id);
	if (response != NULL)
		str_appendf(line, "\tresp=%s", response);
	return true;
}

enum auth_client_result
auth_client_login(struct auth_client *c, struct auth_client_request **req_io,
    const struct auth_client_info *info, const char *response, struct auth_client_reply *reply)
{
	struct auth_client_request *req = *req_io;
	struct str line;
	const char *err;
	enum auth_client_result res;

	str_init(&line, 256);
	if (req == NULL) {
		if (auth_client_connect(c, &err) < 0) {
			auth_client_reply_deinit(reply);
			reply->result = AUTH_CLIENT_RESULT_ERROR;
			reply->reason = xstrdup("Temporary authentication failure");
			str_deinit(&line);
			return reply->result;
		}
		if (!auth_line(c->next_id + 1, info, response, &line)) {
			auth_client_reply_deinit(reply);
			reply->result = AUTH_CLIENT_RESULT_FAIL;
			str_deinit(&line);
			return reply->result;
		}
		req = xcalloc(1, sizeof(*req));
		req->client = c;
		req->id = ++c->next_id;
	} else if (response == NULL || !arg_clean(response))
		str_appendf(&line, "CONT\t%lu\t*", req->id);
	else
		str_appendf(&line, "CONT\t%lu\t%s", req->id, response);
	str_append_c(&line, '\n');
	res = exchange(c, req->id, line.s, reply);
	str_deinit(&line);
	if (res == AUTH_CLIENT_RESULT_OK)
		reply->auth_id = req->id;
	if (res == AUTH_CLIENT_RESULT_CONTINUE)
		*req_io = req;
	else {
		free(req);
		*req_io = NULL;
	}
	return res;
}

/* --- asynchronous --- */

static void
request_unlink(struct auth_client_request *req)
{
	struct auth_client *c = req->client;

	if (!req->linked)
		return;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		c->reqs = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->next = req->prev = NULL;
	req->linked = false;
}

static void
request_free(struct auth_client_request *req)
{
	request_unlink(req);
	if (req->later != NULL)
		event_free(req->later);
	auth_client_reply_deinit(&req->reply);
	strvec_deinit(&req->reply.fields);	/* deinit leaves an empty vector */
	free(req);
}

/* request_deliver - the callback with req->reply; a final answer frees
 * the request after it */
static void
request_deliver(struct auth_client_request *req)
{
	bool final = req->reply.result != AUTH_CLIENT_RESULT_CONTINUE;

	if (final)
		request_unlink(req);
	req->cb(req, &req->reply, req->ctx);
	if (final)
		request_free(req);
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	request_deliver(arg);
}

/* request_error_later - a temporary failure, delivered from the loop (never
 * inside the caller's call) */
static void
request_error_later(struct auth_client_request *req, const char *reason)
{
	struct timeval now = { 0, 0 };

	request_unlink(req);
	req->waiting = false;
	auth_client_reply_deinit(&req->reply);
	req->reply.result = AUTH_CLIENT_RESULT_ERROR;
	req->reply.reason = xstrdup(reason);
	if (req->later == NULL)
		req->later = evtimer_new(req->client->base, later_cb, req);
	evtimer_add(req->later, &now);
}

static void
async_disconnect(struct auth_client *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->a_ready = false;
	mechs_free(&c->a_mechs, &c->a_nmechs);
}

#define AUTH_CLIENT_LOST "Connection lost to authentication server"

/* async_lost - the connection broke: requests waiting for an answer get a
 * temporary failure; those waiting for their peer get it at their next
 * step (the service has forgotten them) */
static void
async_lost(struct auth_client *c)
{
	struct auth_client_request *req, *next;

	async_disconnect(c);
	for (req = c->reqs; req != NULL; req = next) {
		next = req->next;
		if (req->waiting)
			request_error_later(req, AUTH_CLIENT_LOST);
		else
			request_unlink(req);	/* its continue() answers ERROR */
	}
}

/* async_line - one line from the service on the asynchronous connection;
 * false: the connection is unusable */
static bool
async_line(struct auth_client *c, char *line)
{
	struct auth_client_request *req;
	char *save = NULL, *cmd, *sid, *end;
	unsigned long id;

	if (!c->a_ready) {
		if (strcmp(line, "DONE") == 0) {
			/* the new list replaces the known one in one step */
			mechs_free(&c->mechs, &c->nmechs);
			c->mechs = c->a_mechs;
			c->nmechs = c->a_nmechs;
			c->a_mechs = NULL;
			c->a_nmechs = 0;
			c->a_ready = true;
			return true;
		}
		if (strncmp(line, "VERSION\t", 8) == 0)
			return strncmp(line + 8, "1\t", 2) == 0;
		if (strncmp(line, "MECH\t", 5) == 0) {
			char *tok = strtok_r(line + 5, "\t", &save);
			struct auth_client_mech m = { xstrdup(tok != NULL ? tok : ""), 0 };

			while ((tok = strtok_r(NULL, "\t", &save)) != NULL)
				m.flags |= mech_flag(tok);
			c->a_mechs = xreallocarray(c->a_mechs, c->a_nmechs + 1, sizeof(m));
			c->a_mechs[c->a_nmechs++] = m;
		}
		return true;	/* SPID, CUID, COOKIE: not needed */
	}
	cmd = strtok_r(line, "\t", &save);
	sid = strtok_r(NULL, "\t", &save);
	if (cmd == NULL || sid == NULL)
		return true;
	id = strtoul(sid, &end, 10);
	if (*end != '\0')
		return true;
	for (req = c->reqs; req != NULL; req = req->next)
		if (req->id == id && req->waiting)
			break;
	if (req == NULL)
		return true;	/* an aborted request's late answer */
	req->waiting = false;
	auth_client_reply_deinit(&req->reply);
	parse_result(cmd, &save, &req->reply);
	request_deliver(req);
	return true;
}

static void
async_read_cb(struct bufferevent *bev, void *arg)
{
	struct auth_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	/* c->bev is checked each time: a callback may not free the client,
	 * but a broken line ends the connection */
	while (c->bev == bev && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		bool ok = len <= AUTH_CLIENT_MAX_LINE && memchr(line, '\0', len) == NULL &&
		    async_line(c, line);

		free(line);
		if (!ok) {
			async_lost(c);
			return;
		}
	}
	if (c->bev == bev && evbuffer_get_length(in) > AUTH_CLIENT_MAX_LINE)
		async_lost(c);
}

static void
async_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct auth_client *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		async_lost(c);
}

/* async_connect - start the asynchronous connection (non-blocking); the
 * handshake and the requests written before it completes go out in order */
static int
async_connect(struct auth_client *c)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *err;
	char hello[64];

	if (c->bev != NULL)
		return 0;
	if (c->base == NULL || client_sockaddr(c, &ss, &sslen, &err) < 0)
		return -1;
	c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		return -1;
	bufferevent_setcb(c->bev, async_read_cb, NULL, async_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)sslen) < 0) {
		async_disconnect(c);
		return -1;
	}
	c->a_next_id = 0;
	snprintf(hello, sizeof(hello), "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());
	bufferevent_write(c->bev, hello, strlen(hello));
	return 0;
}

struct auth_client_request *
auth_client_request_new(struct auth_client *c, const struct auth_client_info *info,
    const char *initial_response, auth_client_callback_fn *callback, void *context)
{
	struct auth_client_request *req = xcalloc(1, sizeof(*req));
	struct str line;

	req->client = c;
	req->cb = callback;
	req->ctx = context;
	auth_client_reply_init(&req->reply);
	if (async_connect(c) < 0) {
		request_error_later(req, AUTH_CLIENT_LOST);
		return req;
	}
	req->id = ++c->a_next_id;
	str_init(&line, 256);
	if (!auth_line(req->id, info, initial_response, &line)) {
		str_deinit(&line);
		request_error_later(req, "Invalid authentication request");
		req->reply.result = AUTH_CLIENT_RESULT_FAIL;
		return req;
	}
	str_append_c(&line, '\n');
	bufferevent_write(c->bev, line.s, line.len);
	str_deinit(&line);
	req->next = c->reqs;
	if (req->next != NULL)
		req->next->prev = req;
	c->reqs = req;
	req->linked = true;
	req->waiting = true;
	return req;
}

void
auth_client_request_continue(struct auth_client_request *req, const char *response)
{
	struct auth_client *c = req->client;
	char *line;

	if (!req->linked || c->bev == NULL) {
		request_error_later(req, AUTH_CLIENT_LOST);
		return;
	}
	if (response == NULL || !arg_clean(response))
		line = xasprintf("CONT\t%lu\t*\n", req->id);
	else
		line = xasprintf("CONT\t%lu\t%s\n", req->id, response);
	bufferevent_write(c->bev, line, strlen(line));
	free(line);
	req->waiting = true;
}

void
auth_client_request_abort(struct auth_client_request **p)
{
	struct auth_client_request *req = *p;

	if (req == NULL)
		return;
	/* a request waiting for its peer holds state in the service: end it
	 * as a peer's "*" does (no penalty); a late answer to one waiting for
	 * the service is ignored (its id matches no request) */
	if (req->linked && !req->waiting && req->client->bev != NULL) {
		char *line = xasprintf("CONT\t%lu\t*\n", req->id);

		bufferevent_write(req->client->bev, line, strlen(line));
		free(line);
	}
	request_free(req);
	*p = NULL;
}

void
auth_client_userdb_deinit(struct auth_client_userdb *r)
{
	free(r->user);
	free(r->home);
	free(r->mail);
	strvec_deinit(&r->fields);
	memset(r, 0, sizeof(*r));
}

static long
id_value(const char *v, bool group)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v != '\0' && *end == '\0')
		return n;
	if (group) {
		struct group *g = getgrnam(v);

		return g != NULL ? (long)g->gr_gid : -1;
	}
	struct passwd *pw = getpwnam(v);

	return pw != NULL ? (long)pw->pw_uid : -1;
}

const char *
auth_client_cookie(const struct auth_client *c)
{
	return c->fd >= 0 && c->cookie[0] != '\0' ? c->cookie : NULL;
}

/* master_connect - connect to an auth-master socket: VERSION, then the
 * service's VERSION and SPID (no MECH list, no DONE) */
static int
master_connect(struct auth_client *c, const char **error_r)
{
	static const char hello[] = "VERSION\t1\t0\n";
	char *line;
	bool version = false;

	if (c->fd >= 0)
		return 0;
	if (client_open(c, error_r) < 0)
		return -1;
	if (write_all(c->fd, hello, sizeof(hello) - 1) < 0)
		goto lost;
	while ((line = read_line(c)) != NULL) {
		bool spid = strncmp(line, "SPID\t", 5) == 0;

		if (strncmp(line, "VERSION\t", 8) == 0) {
			version = strncmp(line + 8, "1\t", 2) == 0;
			if (!version) {
				free(line);
				*error_r = "auth service speaks an incompatible protocol version";
				client_disconnect(c);
				return -1;
			}
		}
		free(line);
		if (spid && version)
			return 0;
	}
lost:
	client_disconnect(c);
	*error_r = "auth service disconnected during the handshake";
	return -1;
}

/* userdb_exchange - send a master command (USER or REQUEST) with id and
 * read its USER/NOTFOUND/FAIL answer into r: 1, 0 or -1 as documented */
static int
userdb_exchange(struct auth_client *c, unsigned long id, char *cmdline, const char *fallback_user,
    struct auth_client_userdb *r, const char **error_r)
{
	char *in, *save = NULL, *tok;

	if (master_connect(c, error_r) < 0) {
		free(cmdline);
		return -1;
	}
	if (write_all(c->fd, cmdline, strlen(cmdline)) < 0) {
		free(cmdline);
		client_disconnect(c);
		*error_r = "auth service disconnected";
		return -1;
	}
	free(cmdline);
	for (;;) {
		if ((in = read_line(c)) == NULL) {
			client_disconnect(c);
			*error_r = "auth service disconnected";
			return -1;
		}
		char *cmd = strtok_r(in, "\t", &save), *sid = strtok_r(NULL, "\t", &save);

		if (cmd == NULL || sid == NULL || strtoul(sid, NULL, 10) != id) {
			free(in);
			continue;
		}
		if (strcmp(cmd, "NOTFOUND") == 0) {
			free(in);
			return 0;
		}
		if (strcmp(cmd, "USER") != 0) {
			free(in);
			*error_r = "userdb lookup failed";
			return -1;
		}
		break;
	}
	strvec_init(&r->fields);
	r->uid = r->gid = -1;
	tok = strtok_r(NULL, "\t", &save);
	r->user = xstrdup(tok != NULL ? tok : fallback_user);
	while ((tok = strtok_r(NULL, "\t", &save)) != NULL) {
		strvec_push(&r->fields, tok);
		if (strncmp(tok, "uid=", 4) == 0)
			r->uid = id_value(tok + 4, false);
		else if (strncmp(tok, "gid=", 4) == 0)
			r->gid = id_value(tok + 4, true);
		else if (strncmp(tok, "home=", 5) == 0) {
			free(r->home);
			r->home = xstrdup(tok + 5);
		} else if (strncmp(tok, "mail=", 5) == 0) {
			free(r->mail);
			r->mail = xstrdup(tok + 5);
		}
	}
	free(in);
	return 1;
}

int
auth_client_userdb(struct auth_client *c, const char *user, const char *service,
    struct auth_client_userdb *r, const char **error_r)
{
	unsigned long id;

	memset(r, 0, sizeof(*r));
	if (!arg_clean(user) || !arg_clean(service) || user[0] == '\0')
		return 0;
	id = ++c->next_id;
	return userdb_exchange(c, id, xasprintf("USER\t%lu\t%s\tservice=%s\n", id, user, service),
	    user, r, error_r);
}

int
auth_client_master_request(struct auth_client *c, long login_pid, unsigned long auth_id,
    const char *cookie, const char *service, struct auth_client_userdb *r,
    const char **error_r)
{
	unsigned long id;

	memset(r, 0, sizeof(*r));
	if (!arg_clean(cookie) || !arg_clean(service) || cookie[0] == '\0' || login_pid <= 0) {
		*error_r = "bad login request";
		return -1;
	}
	id = ++c->next_id;
	return userdb_exchange(c, id, xasprintf("REQUEST\t%lu\t%ld\t%lu\t%s\tservice=%s\n", id,
	    login_pid, auth_id, cookie, service), "", r, error_r);
}

int
auth_client_userdb_list(struct auth_client *c, struct strvec *users, const char **error_r)
{
	unsigned long id = ++c->next_id;
	char *cmd = xasprintf("LIST\t%lu\n", id), *in;
	int rc = -1;

	if (master_connect(c, error_r) < 0) {
		free(cmd);
		return -1;
	}
	if (write_all(c->fd, cmd, strlen(cmd)) < 0) {
		free(cmd);
		client_disconnect(c);
		*error_r = "auth service disconnected";
		return -1;
	}
	free(cmd);
	while ((in = read_line(c)) != NULL) {
		char *save = NULL, *k = strtok_r(in, "\t", &save), *sid = strtok_r(NULL, "\t", &save);
		char *rest = strtok_r(NULL, "\t", &save);

		if (k == NULL || sid == NULL || strtoul(sid, NULL, 10) != id) {
			free(in);
			continue;
		}
		if (strcmp(k, "LIST") == 0 && rest != NULL)
			strvec_push(users, rest);
		else if (strcmp(k, "DONE") == 0) {
			rc = rest == NULL ? 0 : -1;
			if (rc < 0)
				*error_r = "User listing returned failure";
			free(in);
			return rc;
		}
		free(in);
	}
	client_disconnect(c);
	*error_r = "auth service disconnected";
	return -1;
}
