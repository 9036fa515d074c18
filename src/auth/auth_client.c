/* auth_client.c - the client side of the auth protocol (auth_client.h).
 * One unix-socket connection, handshake on first use, requests numbered
 * per connection. The asynchronous calls run the exchange synchronously
 * and deliver the callback from the loop (event_base_once): correct for
 * callers, but a delayed FAIL holds the caller's loop for the delay; a
 * bufferevent-driven version is the next step.
 * Tests: tests/e2e/test_auth.py (server), tests/e2e/test_smtp_auth.py. */
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

#include <event2/event.h>

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
	char	 errbuf[256];
};

struct auth_client_request {
	struct auth_client *client;	/* borrowed */
	unsigned long id;
	auth_client_callback_fn *cb;
	void	*ctx;
	struct auth_client_reply reply;	/* async: the reply to deliver */
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
client_disconnect(struct auth_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	str_reset(&c->in);
	for (size_t i = 0; i < c->nmechs; i++)
		free((char *)(uintptr_t)c->mechs[i].name);
	free(c->mechs);
	c->mechs = NULL;
	c->nmechs = 0;
}

void
auth_client_free(struct auth_client **p)
{
	struct auth_client *c = *p;

	if (c == NULL)
		return;
	client_disconnect(c);
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

int
auth_client_connect(struct auth_client *c, const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char hello[64], *line;

	if (c->fd >= 0)
		return 0;
	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		*error_r = "auth socket path too long";
		return -1;
	}
	strcpy(sun.sun_path, c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(c->errbuf, sizeof(c->errbuf), "connect(%s) failed: %s", c->path,
		    strerror(errno));
		client_disconnect(c);
		*error_r = c->errbuf;
		return -1;
	}
	snprintf(hello, sizeof(hello), "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());
	if (write_all(c->fd, hello, strlen(hello)) < 0)
		goto lost;
	while ((line = read_line(c)) != NULL) {
		if (strcmp(line, "DONE") == 0) {
			free(line);
			return 0;
		}
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

	if (auth_client_connect(c, &err) < 0) {
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

/* exchange - send line, read the reply for id into reply */
static enum auth_client_result
exchange(struct auth_client *c, unsigned long id, const char *line,
    struct auth_client_reply *reply)
{
	char *in, *save = NULL, *tok;

	auth_client_reply_deinit(reply);
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
		if (strcmp(cmd, "CONT") == 0) {
			tok = strtok_r(NULL, "\t", &save);
			reply->challenge = xstrdup(tok != NULL ? tok : "");
			reply->result = AUTH_CLIENT_RESULT_CONTINUE;
		} else {
			reply->result = strcmp(cmd, "OK") == 0 ? AUTH_CLIENT_RESULT_OK :
			    AUTH_CLIENT_RESULT_FAIL;
			while ((tok = strtok_r(NULL, "\t", &save)) != NULL) {
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
		free(in);
		return reply->result;
	}
lost:
	client_disconnect(c);
	reply->result = AUTH_CLIENT_RESULT_ERROR;
	reply->reason = xstrdup("Temporary authentication failure");
	return reply->result;
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
		if (!arg_clean(info->mech) || !arg_clean(info->service) || !arg_clean(info->remote_ip) ||
		    !arg_clean(info->local_ip) || !arg_clean(info->session_id) || !arg_clean(response)) {
			auth_client_reply_deinit(reply);
			reply->result = AUTH_CLIENT_RESULT_FAIL;
			str_deinit(&line);
			return reply->result;
		}
		req = xcalloc(1, sizeof(*req));
		req->client = c;
		req->id = ++c->next_id;
		str_appendf(&line, "AUTH\t%lu\t%s\tservice=%s", req->id, info->mech,
		    info->service != NULL ? info->service : "smtp");
		if (info->local_ip != NULL)
			str_appendf(&line, "\tlip=%s", info->local_ip);
		if (info->remote_ip != NULL)
			str_appendf(&line, "\trip=%s", info->remote_ip);
		if (info->local_port != 0)
			str_appendf(&line, "\tlport=%u", info->local_port);
		if (info->remote_port != 0)
			str_appendf(&line, "\trport=%u", info->remote_port);
		if (info->secured)
			str_append(&line, "\tsecured");
		if (info->tls)
			str_append(&line, "\ttransport=TLS");
		if (info->no_login)
			str_append(&line, "\tnologin");
		if (info->session_id != NULL)
			str_appendf(&line, "\tsession=%s", info->session_id);
		if (response != NULL)
			str_appendf(&line, "\tresp=%s", response);
	} else if (response == NULL || !arg_clean(response))
		str_appendf(&line, "CONT\t%lu\t*", req->id);
	else
		str_appendf(&line, "CONT\t%lu\t%s", req->id, response);
	str_append_c(&line, '\n');
	res = exchange(c, req->id, line.s, reply);
	str_deinit(&line);
	if (res == AUTH_CLIENT_RESULT_CONTINUE)
		*req_io = req;
	else {
		free(req);
		*req_io = NULL;
	}
	return res;
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_client_request *req = arg;
	enum auth_client_result res = req->reply.result;

	req->cb(req, &req->reply, req->ctx);
	if (res != AUTH_CLIENT_RESULT_CONTINUE) {
		auth_client_reply_deinit(&req->reply);
		free(req);
	}
}

static void
async_step(struct auth_client_request *req, const struct auth_client_info *info,
    const char *response)
{
	struct auth_client_request *inner = req->reply.result == AUTH_CLIENT_RESULT_CONTINUE ?
	    req : NULL;
	struct auth_client_request *wire = inner;
	struct auth_client_reply tmp;

	auth_client_reply_init(&tmp);
	if (wire != NULL) {
		/* continue on the same id: a copy that auth_client_login may free */
		wire = xcalloc(1, sizeof(*wire));
		wire->client = req->client;
		wire->id = req->id;
	}
	auth_client_login(req->client, &wire, info, response, &tmp);
	if (wire != NULL) {
		req->id = wire->id;
		free(wire);
	}
	auth_client_reply_deinit(&req->reply);
	req->reply = tmp;
	event_base_once(req->client->base, -1, EV_TIMEOUT, deliver_cb, req, NULL);
}

struct auth_client_request *
auth_client_request_new(struct auth_client *c, const struct auth_client_info *info,
    const char *initial_response, auth_client_callback_fn *callback, void *context)
{
	struct auth_client_request *req = xcalloc(1, sizeof(*req));

	req->client = c;
	req->cb = callback;
	req->ctx = context;
	auth_client_reply_init(&req->reply);
	req->reply.result = AUTH_CLIENT_RESULT_OK;	/* "no attempt yet" for async_step */
	async_step(req, info, initial_response);
	return req;
}

void
auth_client_request_continue(struct auth_client_request *req, const char *response)
{
	async_step(req, NULL, response);
}

void
auth_client_request_abort(struct auth_client_request **p)
{
	struct auth_client_request *req = *p;

	if (req == NULL)
		return;
	/* no callback is pending for a CONTINUE request: the service's state
	 * for this id is dropped when the connection closes or times out */
	auth_client_reply_deinit(&req->reply);
	free(req);
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

int
auth_client_userdb(struct auth_client *c, const char *user, const char *service,
    struct auth_client_userdb *r, const char **error_r)
{
	char *line, *in, *save = NULL, *tok;
	unsigned long id;

	memset(r, 0, sizeof(*r));
	if (!arg_clean(user) || !arg_clean(service) || user[0] == '\0')
		return 0;
	if (auth_client_connect(c, error_r) < 0)
		return -1;
	id = ++c->next_id;
	line = xasprintf("USER\t%lu\t%s\tservice=%s\n", id, user, service);
	if (write_all(c->fd, line, strlen(line)) < 0) {
		free(line);
		client_disconnect(c);
		*error_r = "auth service disconnected";
		return -1;
	}
	free(line);
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
	r->user = xstrdup(tok != NULL ? tok : user);
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
