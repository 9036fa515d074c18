/* auth_server.c - the authentication service: `auth -c DOVECOT_CONF` with
 * a listening unix socket on fd 3 (from the Dovecot-side master), or
 * `auth -c DOVECOT_CONF --listen PATH` by hand. One libevent loop serves
 * every connection. The wire protocol is Dovecot's auth client protocol
 * 1.2 (handshake VERSION, MECH, SPID, CUID, COOKIE, DONE; AUTH, CONT, OK,
 * FAIL), so a real Postfix (smtpd_sasl_type = dovecot) can use the socket.
 * A second socket (fd 4, auth-master, mode 0600) takes the master commands:
 * USER (userdb lookup) and REQUEST (Dovecot's login hand-off: the process
 * that starts a mail session names the login process's pid, its request id
 * and the cookie that process was given; only a login this service itself
 * accepted, on that very connection, and not used before, is answered with
 * the user). So a login process that lies cannot become another user.
 * Failed attempts are answered after a delay that grows per remote IP
 * (auth_penalty.c); the pending replies are bounded per connection.
 * Tests: tests/e2e/test_auth.py, fuzz/fuzz_auth_protocol.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/rand.h>

#include "auth/auth_client.h"
#include "auth/auth_db.h"
#include "auth/auth_penalty.h"
#include "auth/auth_server.h"
#include "auth/sasl.h"
#include "cli/cli.h"
#include "lib/base64.h"
#include "lib/dovecot_conf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

#define AUTH_MAX_LINE		16384
#define AUTH_MAX_REQUESTS	256	/* in flight per connection */
#define AUTH_DONE_SLOTS		8	/* accepted logins kept per connection */
#define AUTH_DONE_TTL		60	/* seconds a REQUEST may follow the OK */
#define AUTH_COOKIE_HEX		32

struct auth_server {
	struct event_base *base;	/* owned */
	struct evconnlistener *listener; /* owned: auth-client */
	struct evconnlistener *master_listener; /* owned: auth-master, or NULL */
	struct event *sigterm;		/* owned */
	struct auth_db *db;		/* owned */
	struct auth_penalty *penalty;	/* owned */
	char	*username_format;	/* owned */
	char	*hostname;		/* owned */
	bool	 mech_on[8];		/* per sasl_mechs[] index */
	bool	 disable_plaintext;
	unsigned failure_delay_ms;
	unsigned cuid;
	struct auth_conn *conns;	/* owned list */
};

struct auth_req;

/* A login this service accepted, until the session's REQUEST takes it */
struct auth_done {
	unsigned long id;
	char	*user;			/* owned; NULL: free slot */
	time_t	 when;
};

struct auth_conn {
	struct auth_server *srv;	/* borrowed */
	struct auth_conn *next, *prev;
	struct bufferevent *bev;	/* owned */
	struct auth_req *reqs;		/* owned list */
	size_t	 nreqs;
	bool	 version_ok;
	bool	 master;		/* on the auth-master socket */
	long	 peer_pid;		/* SO_PEERCRED, else CPID; 0 unknown */
	bool	 pid_from_kernel;
	char	 cookie[AUTH_COOKIE_HEX + 1];
	struct auth_done done[AUTH_DONE_SLOTS];
	unsigned done_next;		/* ring position */
};

struct auth_req {
	struct auth_conn *conn;		/* borrowed, parent */
	struct auth_req *next, *prev;
	unsigned long id;
	struct sasl_request *sasl;	/* owned */
	char	*service, *rip, *lip;	/* owned */
	char	*user;			/* owned: formatted user of the last lookup */
	bool	 final_resp_ok;
	bool	 no_login;		/* "nologin": a credentials check only */
	bool	 await_final;		/* server-final sent as CONT; OK follows */
	struct event *delay;		/* owned: a delayed FAIL */
	char	*delayed_line;		/* owned */
};

static struct auth_server *current;	/* for the sasl backend callbacks */

static void
conn_send(struct auth_conn *c, const char *line)
{
	bufferevent_write(c->bev, line, strlen(line));
}

static void
req_free(struct auth_req **p)
{
	struct auth_req *r = *p;

	if (r == NULL)
		return;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->conn->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->conn->nreqs--;
	sasl_request_free(&r->sasl);
	if (r->delay != NULL)
		event_free(r->delay);
	free(r->delayed_line);
	free(r->service);
	free(r->rip);
	free(r->lip);
	free(r->user);
	free(r);
	*p = NULL;
}

static void
conn_free(struct auth_conn *c)
{
	while (c->reqs != NULL) {
		struct auth_req *r = c->reqs;

		req_free(&r);
	}
	for (size_t i = 0; i < AUTH_DONE_SLOTS; i++)
		free(c->done[i].user);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
}

static struct auth_req *
req_find(struct auth_conn *c, unsigned long id)
{
	for (struct auth_req *r = c->reqs; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* format_user - auth_username_format applied to what the peer sent */
static char *
format_user(struct auth_req *r, const char *user)
{
	struct auth_vars v = { user, r->service, r->rip, r->lip };
	struct str s;

	str_init(&s, 64);
	auth_var_expand(&s, current->username_format, &v);
	return str_export(&s);
}

/* req_lookup_vars - the backends' common first step: the peer's user name
 * through auth_username_format becomes the request's user */
static struct auth_vars
req_lookup_vars(void *ctx, const char *user)
{
	struct auth_req *r = ctx;

	free(r->user);
	r->user = format_user(r, user);
	return (struct auth_vars){ r->user, r->service, r->rip, r->lip };
}

static int
be_verify(void *ctx, const char *user, const char *pass)
{
	struct auth_vars v = req_lookup_vars(ctx, user);

	return auth_db_verify_plain(current->db, &v, pass);
}

static int
be_cram(void *ctx, const char *user, unsigned char out[PASSWORD_CRAM_MD5_CONTEXT_LEN])
{
	struct auth_vars v = req_lookup_vars(ctx, user);

	return auth_db_cram_md5(current->db, &v, out);
}

static int
be_scram(void *ctx, const char *user, struct password_scram *out)
{
	struct auth_vars v = req_lookup_vars(ctx, user);

	return auth_db_scram(current->db, &v, out);
}

static int
be_plaintext(void *ctx, const char *user, struct str *out)
{
	struct auth_vars v = req_lookup_vars(ctx, user);

	return auth_db_plaintext(current->db, &v, out);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_req *r = arg;

	conn_send(r->conn, r->delayed_line);
	req_free(&r);
}

/* req_fail - answer FAIL, after the penalty delay of the remote IP */
static void
req_fail(struct auth_req *r, const char *reason, bool temp, bool penalize)
{
	struct str line;
	unsigned ms = 0;

	str_init(&line, 128);
	str_appendf(&line, "FAIL\t%lu", r->id);
	if (r->user != NULL)
		str_appendf(&line, "\tuser=%s", r->user);
	if (reason != NULL)
		str_appendf(&line, "\treason=%s", reason);
	if (temp)
		str_append(&line, "\ttemp");
	str_append_c(&line, '\n');
	if (penalize && !temp) {
		ms = auth_penalty_fail(current->penalty, r->rip != NULL ? r->rip : "",
		    time(NULL), current->failure_delay_ms);
		log_info("auth: penalty: rip=%s failures=%u delay=%ums",
		    r->rip != NULL ? r->rip : "", auth_penalty_failures(current->penalty,
		    r->rip != NULL ? r->rip : "", time(NULL)), ms);
	}
	if (ms == 0) {
		conn_send(r->conn, line.s);
		str_deinit(&line);
		req_free(&r);
		return;
	}
	sasl_request_free(&r->sasl);
	r->delayed_line = str_export(&line);
	r->delay = evtimer_new(current->base, delay_cb, r);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(r->delay, &tv);
}

/* conn_remember_login - keep an accepted login for the session's REQUEST;
 * the oldest is forgotten when the slots are full */
static void
conn_remember_login(struct auth_conn *c, unsigned long id, const char *user)
{
	struct auth_done *d = &c->done[c->done_next];

	c->done_next = (c->done_next + 1) % AUTH_DONE_SLOTS;
	free(d->user);
	d->id = id;
	d->user = xstrdup(user != NULL ? user : "");
	d->when = time(NULL);
}

/* req_step - feed decoded data (or none) to the mechanism and answer */
static void
req_step(struct auth_req *r, const char *b64, bool have_data)
{
	struct str in, out;
	const char *reason;
	enum sasl_result res;
	const char *mech = "";

	str_init(&in, 64);
	str_init(&out, 64);
	if (have_data && base64_decode(&in, b64, strlen(b64)) < 0) {
		str_deinit(&in);
		str_deinit(&out);
		req_fail(r, "Invalid base64 data in continued response", false, true);
		return;
	}
	if (r->await_final) {
		size_t got = in.len;

		str_deinit(&in);
		if (have_data && got > 0) {
			str_deinit(&out);
			req_fail(r, NULL, false, true);
			return;
		}
		goto ok;	/* out is empty: OK carries no data */
	}
	res = sasl_request_step(r->sasl, in.s, in.len, have_data, &out, &reason);
	str_deinit(&in);
	switch (res) {
	case SASL_CONTINUE: {
		struct str line;

		str_init(&line, 64);
		str_appendf(&line, "CONT\t%lu\t", r->id);
		base64_encode(&line, out.s, out.len);
		str_append_c(&line, '\n');
		conn_send(r->conn, line.s);
		str_deinit(&line);
		str_deinit(&out);
		return;
	}
	case SASL_FAIL:
		log_info("auth: %s(%s,%s): %s", "login", r->user != NULL ? r->user : "?",
		    r->rip != NULL ? r->rip : "", reason);
		str_deinit(&out);
		req_fail(r, NULL, false, true);
		return;
	case SASL_TEMPFAIL:
		str_deinit(&out);
		req_fail(r, "Internal error occurred. Refer to server log for more information.",
		    true, false);
		return;
	case SASL_OK:
		break;
	}
	if (out.len > 0 && !r->final_resp_ok) {
		/* SCRAM's server-final: as a challenge, then OK on the empty reply */
		struct str line;

		str_init(&line, 64);
		str_appendf(&line, "CONT\t%lu\t", r->id);
		base64_encode(&line, out.s, out.len);
		str_append_c(&line, '\n');
		conn_send(r->conn, line.s);
		str_deinit(&line);
		str_deinit(&out);
		r->await_final = true;
		return;
	}
ok:
	{
		struct str line;

		(void)mech;
		str_init(&line, 64);
		str_appendf(&line, "OK\t%lu\tuser=%s", r->id, r->user);
		if (out.len > 0) {
			str_append(&line, "\tresp=");
			base64_encode(&line, out.s, out.len);
		}
		str_append_c(&line, '\n');
		conn_send(r->conn, line.s);
		str_deinit(&line);
		str_deinit(&out);
		auth_penalty_clear(current->penalty, r->rip != NULL ? r->rip : "");
		if (!r->no_login)
			conn_remember_login(r->conn, r->id, r->user);
		req_free(&r);
	}
}

static bool
ip_equal(const char *a, const char *b)
{
	return a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;
}

/* split_tabs - args of a line, in place; at most max */
static size_t
split_tabs(char *line, char **v, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		v[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

static void
cmd_auth_request(struct auth_conn *c, char **args, size_t n)
{
	struct auth_server *srv = c->srv;
	const struct sasl_mech *mech;
	struct auth_req *r;
	const char *resp = NULL;
	bool secured = false;
	char *end;
	unsigned long id;
	struct sasl_backend be;

	if (n < 3)
		return;
	id = strtoul(args[1], &end, 10);
	if (*end != '\0' || end == args[1] || req_find(c, id) != NULL) {
		log_warn("auth: bad or duplicate request id: %s", args[1]);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->conn = c;
	r->id = id;
	r->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = r;
	c->reqs = r;
	c->nreqs++;
	for (size_t i = 3; i < n; i++) {
		const char *a = args[i];

		if (strncmp(a, "service=", 8) == 0) {
			free(r->service);
			r->service = xstrdup(a + 8);
		} else if (strncmp(a, "rip=", 4) == 0) {
			free(r->rip);
			r->rip = xstrdup(a + 4);
		} else if (strncmp(a, "lip=", 4) == 0) {
			free(r->lip);
			r->lip = xstrdup(a + 4);
		} else if (strcmp(a, "secured") == 0 || strncmp(a, "secured=", 8) == 0)
			secured = true;
		else if (strcmp(a, "final-resp-ok") == 0)
			r->final_resp_ok = true;
		else if (strcmp(a, "nologin") == 0)
			r->no_login = true;
		else if (strncmp(a, "resp=", 5) == 0)
			resp = a + 5;
	}
	if (c->nreqs > AUTH_MAX_REQUESTS) {
		req_fail(r, "Too many requests in progress", true, false);
		return;
	}
	mech = sasl_mech_find(args[2]);
	if (mech == NULL || !srv->mech_on[mech - sasl_mechs]) {
		req_fail(r, "Unsupported authentication mechanism", false, false);
		return;
	}
	/* Dovecot's rule: secured when TLS, or the peer is on this host
	 * (remote IP = local IP) */
	if (mech->plaintext && srv->disable_plaintext && !secured && !ip_equal(r->rip, r->lip)) {
		req_fail(r, "Plaintext authentication disallowed on non-secure (SSL/TLS) "
		    "connections.", false, false);
		return;
	}
	be = (struct sasl_backend){ be_verify, be_cram, be_scram, be_plaintext, r };
	r->sasl = sasl_request_new(mech, &be, srv->hostname);
	req_step(r, resp != NULL ? resp : "", resp != NULL);
}

static void
cmd_cont(struct auth_conn *c, char **args, size_t n)
{
	struct auth_req *r;
	char *end;
	unsigned long id;

	if (n < 2)
		return;
	id = strtoul(args[1], &end, 10);
	if (*end != '\0' || (r = req_find(c, id)) == NULL || r->delay != NULL)
		return;	/* Dovecot ignores replies for unknown requests */
	if (n >= 3 && strcmp(args[2], "*") == 0) {
		req_fail(r, "Authentication aborted by client.", false, false);
		return;
	}
	req_step(r, n >= 3 ? args[2] : "", true);
}

/* reply_userdb - answer master request id with the userdb entry of user
 * (already formatted): USER, NOTFOUND or FAIL */
static void
reply_userdb(struct auth_conn *c, const char *id, const char *user, const char *service)
{
	struct strvec fields;
	struct auth_vars v = { 0 };
	struct str line;
	int ret;

	v.user = user;
	v.service = service;
	strvec_init(&fields);
	ret = auth_db_userdb(c->srv->db, &v, &fields);
	str_init(&line, 128);
	if (ret > 0) {
		str_appendf(&line, "USER\t%s\t%s", id, user);
		for (size_t i = 0; i < fields.n; i++)
			str_appendf(&line, "\t%s", fields.v[i]);
	} else if (ret == 0)
		str_appendf(&line, "NOTFOUND\t%s", id);
	else
		str_appendf(&line, "FAIL\t%s\treason=userdb lookup failed", id);
	str_append_c(&line, '\n');
	conn_send(c, line.s);
	str_deinit(&line);
	strvec_deinit(&fields);
}

static const char *
arg_service(char **args, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		if (strncmp(args[i], "service=", 8) == 0)
			return args[i] + 8;
	return "";
}

/* cmd_user - master "USER id name [service=..]": a userdb lookup */
static void
cmd_user(struct auth_conn *c, char **args, size_t n)
{
	struct auth_vars v = { 0 };
	struct str user;

	if (n < 3)
		return;
	v.user = args[2];
	v.service = arg_service(args, 3, n);
	str_init(&user, 64);
	auth_var_expand(&user, c->srv->username_format, &v);
	reply_userdb(c, args[1], user.s, v.service);
	str_deinit(&user);
}

/* cmd_list - master "LIST id [user=MASK]": the userdb's users, one
 * "LIST id USER" line each, then "DONE id" (Dovecot's userdb iteration;
 * "DONE id fail" when a userdb cannot be listed). The mask is not
 * applied here: doveadm -A asks for everyone. */
static void
cmd_list(struct auth_conn *c, char **args, size_t n)
{
	struct strvec users;
	struct str line;
	int ret;

	if (n < 2)
		return;
	strvec_init(&users);
	ret = auth_db_userdb_list(c->srv->db, &users);
	str_init(&line, 128);
	for (size_t i = 0; ret == 0 && i < users.n; i++) {
		if (strpbrk(users.v[i], "\t\n\r") != NULL)
			continue;
		str_reset(&line);
		str_appendf(&line, "LIST\t%s\t%s\n", args[1], users.v[i]);
		conn_send(c, line.s);
	}
	str_reset(&line);
	str_appendf(&line, "DONE\t%s%s\n", args[1], ret == 0 ? "" : "\tfail");
	conn_send(c, line.s);
	str_deinit(&line);
	strvec_deinit(&users);
}

/* cookie_equal - compared in constant time: the cookie is a secret */
static bool
cookie_equal(const char *a, const char *b)
{
	unsigned char diff = 0;

	if (strlen(a) != AUTH_COOKIE_HEX || strlen(b) != AUTH_COOKIE_HEX)
		return false;
	for (size_t i = 0; i < AUTH_COOKIE_HEX; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* cmd_request - master "REQUEST id client-pid client-id cookie [..]":
 * the user of a login that this service accepted on the connection of that
 * pid with that cookie; each login is handed out once */
static void
cmd_request(struct auth_conn *c, char **args, size_t n)
{
	struct auth_conn *cc;
	char *end, *line;
	long pid;
	unsigned long cid;
	time_t now = time(NULL);

	if (n < 5)
		return;
	pid = strtol(args[2], &end, 10);
	if (*end != '\0' || pid <= 0)
		goto fail;
	cid = strtoul(args[3], &end, 10);
	if (*end != '\0')
		goto fail;
	for (cc = c->srv->conns; cc != NULL; cc = cc->next) {
		if (cc->master || cc->peer_pid != pid || !cookie_equal(cc->cookie, args[4]))
			continue;
		for (size_t i = 0; i < AUTH_DONE_SLOTS; i++) {
			struct auth_done *d = &cc->done[i];

			if (d->user == NULL || d->id != cid)
				continue;
			if (now - d->when > AUTH_DONE_TTL || now < d->when) {
				free(d->user);
				d->user = NULL;
				break;
			}
			reply_userdb(c, args[1], d->user, arg_service(args, 5, n));
			free(d->user);
			d->user = NULL;
			return;
		}
		break;
	}
	log_error("auth: master REQUEST for pid %ld id %lu: no such accepted login "
	    "(wrong cookie, expired or used)", pid, cid);
fail:
	line = xasprintf("FAIL\t%s\treason=Unknown or expired login request\n", args[1]);
	conn_send(c, line);
	free(line);
}

/* auth_server_line - one line from a client; false: disconnect it */
static bool
auth_server_line(struct auth_conn *c, char *line)
{
	char *args[64];
	size_t n;

	if (strchr(line, '\r') != NULL)
		*strchr(line, '\r') = '\0';
	n = split_tabs(line, args, sizeof(args) / sizeof(args[0]));
	if (strcmp(args[0], "VERSION") == 0) {
		if (n < 2 || strcmp(args[1], "1") != 0) {
			log_error("auth: client has incompatible protocol version %s",
			    n >= 2 ? args[1] : "");
			return false;
		}
		c->version_ok = true;
		return true;
	}
	if (!c->version_ok) {
		log_error("auth: client did not send VERSION");
		return false;
	}
	if (strcmp(args[0], "CPID") == 0) {
		/* the kernel's word (SO_PEERCRED) wins over the client's */
		if (!c->pid_from_kernel && n >= 2)
			c->peer_pid = strtol(args[1], NULL, 10);
		return true;
	}
	if (c->master != (strcmp(args[0], "USER") == 0 || strcmp(args[0], "REQUEST") == 0 ||
	    strcmp(args[0], "PASS") == 0 || strcmp(args[0], "LIST") == 0)) {
		log_error("auth: %s command on the %s socket: disconnecting", args[0],
		    c->master ? "auth-master" : "auth-client");
		return false;
	}
	if (strcmp(args[0], "AUTH") == 0)
		cmd_auth_request(c, args, n);
	else if (strcmp(args[0], "CONT") == 0)
		cmd_cont(c, args, n);
	else if (strcmp(args[0], "USER") == 0)
		cmd_user(c, args, n);
	else if (strcmp(args[0], "REQUEST") == 0)
		cmd_request(c, args, n);
	else if (strcmp(args[0], "LIST") == 0)
		cmd_list(c, args, n);
	else if (strcmp(args[0], "PASS") == 0 && n >= 2) {
		/* passdb lookups hand out credentials: not offered */
		char *l = xasprintf("FAIL\t%s\treason=PASS lookups are not supported\n", args[1]);

		conn_send(c, l);
		free(l);
	} else
		log_warn("auth: unknown command from client: %.40s", args[0]);
	return true;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct auth_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		bool ok = len <= AUTH_MAX_LINE && memchr(line, '\0', len) == NULL &&
		    auth_server_line(c, line);

		free(line);
		if (!ok) {
			conn_free(c);
			return;
		}
	}
	if (evbuffer_get_length(in) > AUTH_MAX_LINE) {
		log_error("auth: client sent too long a line");
		conn_free(c);
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(arg);
}

/* conn_attach - a client connection on bev (owned from here on): the
 * handshake goes out at once */
static void
conn_attach(struct auth_server *srv, struct bufferevent *bev, bool master)
{
	struct auth_conn *c = xcalloc(1, sizeof(*c));
	unsigned char cookie[AUTH_COOKIE_HEX / 2];
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct str hs;

	c->srv = srv;
	c->bev = bev;
	c->master = master;
	if (getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0 &&
	    cred.pid > 0) {
		c->peer_pid = cred.pid;
		c->pid_from_kernel = true;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	str_init(&hs, 256);
	str_append(&hs, "VERSION\t1\t2\n");
	if (master) {
		/* Dovecot's master handshake: VERSION and SPID only */
		str_appendf(&hs, "SPID\t%ld\n", (long)getpid());
		conn_send(c, hs.s);
		str_deinit(&hs);
		return;
	}
	for (size_t i = 0; sasl_mechs[i].name != NULL; i++) {
		if (!srv->mech_on[i])
			continue;
		str_appendf(&hs, "MECH\t%s", sasl_mechs[i].name);
		if (sasl_mechs[i].plaintext)
			str_append(&hs, "\tplaintext");
		if (strcmp(sasl_mechs[i].name, "CRAM-MD5") == 0)
			str_append(&hs, "\tdictionary\tactive");
		if (strcmp(sasl_mechs[i].name, "SCRAM-SHA-256") == 0)
			str_append(&hs, "\tmutual-auth");
		if ((sasl_mechs[i].flags & AUTH_CLIENT_MECH_PRIVATE) != 0)
			str_append(&hs, "\tprivate");
		str_append_c(&hs, '\n');
	}
	if (RAND_bytes(cookie, sizeof(cookie)) != 1)
		fatal("auth: no random bytes for the cookie");
	for (size_t i = 0; i < sizeof(cookie); i++)
		snprintf(c->cookie + 2 * i, 3, "%02x", cookie[i]);
	str_appendf(&hs, "SPID\t%ld\nCUID\t%u\nCOOKIE\t%s\nDONE\n", (long)getpid(),
	    ++srv->cuid, c->cookie);
	conn_send(c, hs.s);
	str_deinit(&hs);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct auth_server *srv = arg;

	conn_attach(srv, bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE),
	    l == srv->master_listener);
}

/* server_free_members - everything srv owns (srv itself is the caller's) */
static void
server_free_members(struct auth_server *srv)
{
	while (srv->conns != NULL)
		conn_free(srv->conns);
	if (srv->sigterm != NULL)
		event_free(srv->sigterm);
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	if (srv->master_listener != NULL)
		evconnlistener_free(srv->master_listener);
	if (srv->base != NULL)
		event_base_free(srv->base);
	auth_db_free(&srv->db);
	auth_penalty_free(&srv->penalty);
	free(srv->username_format);
	free(srv->hostname);
}

struct auth_server *
auth_server_test_new(const struct dovecot_conf *conf, const char **error_r)
{
	struct auth_server *srv = xcalloc(1, sizeof(*srv));

	if (auth_server_configure(srv, conf, error_r) < 0) {
		server_free_members(srv);
		free(srv);
		return NULL;
	}
	srv->penalty = auth_penalty_new();
	srv->base = event_base_new();
	current = srv;
	return srv;
}

struct event_base *
auth_server_test_base(struct auth_server *srv)
{
	return srv->base;
}

struct bufferevent *
auth_server_test_connect(struct auth_server *srv, bool master)
{
	struct bufferevent *pair[2];

	if (bufferevent_pair_new(srv->base, BEV_OPT_CLOSE_ON_FREE, pair) < 0)
		return NULL;
	conn_attach(srv, pair[0], master);
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	return pair[1];
}

void
auth_server_test_free(struct auth_server **p)
{
	struct auth_server *srv = *p;

	if (srv == NULL)
		return;
	server_free_members(srv);
	free(srv);
	*p = NULL;
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(((struct auth_server *)arg)->base);
}

/* auth_server_configure - settings from conf; 0 or -1 with *error_r */
int
auth_server_configure(struct auth_server *srv, const struct dovecot_conf *conf,
    const char **error_r)
{
	const char *mechs = dovecot_conf_get(conf, "auth_mechanisms");
	const char *v;
	char *copy, *tok, *save = NULL;
	unsigned long long ms;
	bool b;
	char host[256];

	if ((srv->db = auth_db_new(conf, error_r)) == NULL)
		return -1;
	copy = xstrdup(mechs != NULL ? mechs : "plain");
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL; tok = strtok_r(NULL, " \t,", &save)) {
		const struct sasl_mech *m = sasl_mech_find(tok);

		if (m == NULL) {
			free(copy);
			*error_r = "auth_mechanisms: unsupported mechanism";
			return -1;
		}
		srv->mech_on[m - sasl_mechs] = true;
	}
	free(copy);
	v = dovecot_conf_get(conf, "disable_plaintext_auth");
	srv->disable_plaintext = true;
	if (v != NULL && dovecot_conf_parse_bool(v, &b, error_r) == 0)
		srv->disable_plaintext = b;
	v = dovecot_conf_get(conf, "auth_failure_delay");
	srv->failure_delay_ms = 2000;
	if (v != NULL && dovecot_conf_parse_time_ms(v, &ms, error_r) == 0)
		srv->failure_delay_ms = ms > AUTH_PENALTY_MAX_MS ? AUTH_PENALTY_MAX_MS : (unsigned)ms;
	v = dovecot_conf_get(conf, "auth_username_format");
	srv->username_format = xstrdup(v != NULL ? v : "%Lu");
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	srv->hostname = xstrdup(host);
	return 0;
}

static void
auth_usage(void)
{
	fprintf(stderr, "usage: auth -c DOVECOT_CONF [--listen PATH] [--master-listen PATH]\n"
	    "  (otherwise auth-client on fd 3 and auth-master on fd 4)\n");
}

/* bind_unix - a listening unix socket at path with mode; dies on failure */
static int
bind_unix(const char *path, mode_t mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		fatal("%s: path too long", path);
	strcpy(sun.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* the socket is born with its mode: no moment with the umask's */
	old = umask(~mode & 0777);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		fatal("bind(%s) failed: %s", path, strerror(errno));
	}
	umask(old);
	if (listen(fd, 128) < 0)
		fatal("listen(%s) failed: %s", path, strerror(errno));
	return fd;
}

static struct evconnlistener *
listen_on(struct auth_server *srv, int fd)
{
	evutil_make_socket_nonblocking(fd);
	return evconnlistener_new(srv->base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE, -1, fd);
}

int
cmd_auth(int argc, char **argv)
{
	struct auth_server srv;
	const char *conf_path = "/etc/dovecot/dovecot.conf", *listen_path = NULL, *err;
	const char *master_path = NULL;
	struct dovecot_conf *conf;
	int fd = 3, mfd = 4;

	memset(&srv, 0, sizeof(srv));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_path = argv[++i];
		else if (strcmp(argv[i], "--master-listen") == 0 && i + 1 < argc)
			master_path = argv[++i];
		else if (strcmp(argv[i], "-F") == 0 || strcmp(argv[i], "-v") == 0)
			;
		else {
			auth_usage();
			return 64;
		}
	}
	log_open("dovecot/auth", getenv("YUBIN_MASTER") != NULL ? LOG_TO_SYSLOG :
	    LOG_TO_STDERR | LOG_STDERR_FULL);
	conf = dovecot_conf_new();
	if (dovecot_conf_parse_file(conf, conf_path, 0, &err) < 0)
		fatal("%s", err);
	if (auth_server_configure(&srv, conf, &err) < 0)
		fatal("%s: %s", conf_path, err);
	srv.penalty = auth_penalty_new();
	srv.base = event_base_new();
	current = &srv;
	signal(SIGPIPE, SIG_IGN);
	/* by hand: the client socket only checks passwords, so any local user
	 * may use it (as the POP3 port); the master socket hands out user data
	 * and accepted logins, so only its owner may */
	if (listen_path != NULL)
		fd = bind_unix(listen_path, 0666);
	if (master_path != NULL)
		mfd = bind_unix(master_path, 0600);
	else if (listen_path != NULL)
		mfd = -1;
	if ((srv.listener = listen_on(&srv, fd)) == NULL)
		fatal("auth: no listening socket on fd %d", fd);
	/* the master socket is optional: without it, USER and REQUEST are
	 * refused on every connection */
	if (mfd >= 0 && fcntl(mfd, F_GETFD) >= 0)
		srv.master_listener = listen_on(&srv, mfd);
	srv.sigterm = evsignal_new(srv.base, SIGTERM, sigterm_cb, &srv);
	event_add(srv.sigterm, NULL);
	log_info("auth: started, mechanisms from auth_mechanisms, %s", conf_path);
	event_base_dispatch(srv.base);
	server_free_members(&srv);
	dovecot_conf_free(&conf);
	if (listen_path != NULL)
		unlink(listen_path);
	if (master_path != NULL)
		unlink(master_path);
	return 0;
}
