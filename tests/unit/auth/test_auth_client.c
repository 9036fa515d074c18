/* test_auth_client.c - the asynchronous side of auth_client.c against a
 * fake service on a unix socket in the same event loop: callbacks never run
 * inside the call, a held-back FAIL does not hold back another request's
 * OK (the service decides the order, not a clock), CONT round trips,
 * abort, and a service that is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "auth/auth_client.h"

/* the fake service: answers AUTH with resp=good at once (OK), holds the
 * FAIL of resp=bad until it has answered a good one, answers resp absent
 * with CONT, and CONT lines with OK, except "*" (FAIL) */
struct fake {
	struct event_base *base;
	struct evconnlistener *l;
	struct bufferevent *conn;
	char	 path[108];
	char	 held[64];	/* a FAIL line waiting */
	char	 log[1024];	/* what the service received, AUTH/CONT verbs and ids */
};

static void
fake_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	char *line, out[128];
	size_t len;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &len, EVBUFFER_EOL_LF)) != NULL) {
		unsigned long id = 0;

		if (strncmp(line, "AUTH\t", 5) == 0 || strncmp(line, "CONT\t", 5) == 0) {
			id = strtoul(line + 5, NULL, 10);
			snprintf(f->log + strlen(f->log), sizeof(f->log) - strlen(f->log), "%.4s%lu%s ",
			    line, id, strstr(line, "\t*") != NULL ? "*" : "");
		}
		if (strncmp(line, "AUTH\t", 5) == 0 && strstr(line, "resp=bad") != NULL) {
			snprintf(f->held, sizeof(f->held), "FAIL\t%lu\tuser=u\n", id);
		} else if (strncmp(line, "AUTH\t", 5) == 0 && strstr(line, "resp=") != NULL) {
			snprintf(out, sizeof(out), "OK\t%lu\tuser=u\n", id);
			bufferevent_write(bev, out, strlen(out));
			if (f->held[0] != '\0') {
				bufferevent_write(bev, f->held, strlen(f->held));
				f->held[0] = '\0';
			}
		} else if (strncmp(line, "AUTH\t", 5) == 0) {
			snprintf(out, sizeof(out), "CONT\t%lu\tVXNlcm5hbWU6\n", id);
			bufferevent_write(bev, out, strlen(out));
		} else if (strncmp(line, "CONT\t", 5) == 0) {
			snprintf(out, sizeof(out), "%s\t%lu\tuser=u%s\n",
			    strstr(line, "\t*") != NULL ? "FAIL" : "OK", id,
			    strstr(line, "\t*") != NULL ? "\treason=aborted" : "");
			bufferevent_write(bev, out, strlen(out));
		}
		free(line);
	}
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int n, void *arg)
{
	struct fake *f = arg;
	static const char hs[] = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"
	    "SPID\t1\nCUID\t1\nDONE\n";

	f->conn = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->conn, fake_read, NULL, NULL, f);
	bufferevent_enable(f->conn, EV_READ | EV_WRITE);
	bufferevent_write(f->conn, hs, sizeof(hs) - 1);
}

static void
fake_start(struct fake *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	snprintf(f->path, sizeof(f->path), "/tmp/test_auth_client.%ld", (long)getpid());
	unlink(f->path);
	strcpy(sun.sun_path, f->path);
	f->l = evconnlistener_new_bind(f->base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	assert_non_null(f->l);
}

static void
fake_stop(struct fake *f)
{
	if (f->conn != NULL)
		bufferevent_free(f->conn);
	if (f->l != NULL)
		evconnlistener_free(f->l);
	unlink(f->path);
	event_base_free(f->base);
}

struct seen {
	char	 order[64];	/* "b:OK a:FAIL" */
	int	 calls;
	struct auth_client_request *cont_req;
};

static void
cb(struct auth_client_request *req, const struct auth_client_reply *r, void *ctx)
{
	struct seen *s = ctx;
	static const char *names[] = { "OK", "CONT", "FAIL", "ERROR" };
	s->calls++;
	snprintf(s->order + strlen(s->order), sizeof(s->order) - strlen(s->order), "%s ",
	    names[r->result]);
	if (r->result == AUTH_CLIENT_RESULT_CONTINUE) {
		assert_string_equal(r->challenge, "VXNlcm5hbWU6");
		s->cont_req = req;
	}
}

static void
run_until(struct event_base *base, int *calls, int n)
{
	for (int i = 0; i < 10000 && *calls < n; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(*calls, n);
}

static const struct auth_client_info info = {
	.mech = "PLAIN", .service = "smtp", .remote_ip = "192.0.2.1", .local_ip = "192.0.2.2",
};

static void
test_held_fail_does_not_hold_back_an_ok(void **state)
{
	struct fake f;
	struct auth_client *c;
	struct seen bad = { "", 0, NULL }, good = { "", 0, NULL };
	int total;

	fake_start(&f);
	c = auth_client_new(f.path, f.base);
	auth_client_request_new(c, &info, "bad", cb, &bad);
	auth_client_request_new(c, &info, "good", cb, &good);
	/* never from inside the call */
	assert_int_equal(bad.calls + good.calls, 0);
	total = 0;
	for (int i = 0; i < 10000 && good.calls == 0; i++)
		event_base_loop(f.base, EVLOOP_ONCE);
	/* the good one is answered; the bad one is still waiting (the service
	 * releases it only after writing the OK, so it may arrive in the same
	 * read: then it comes after, in order) */
	assert_string_equal(good.order, "OK ");
	assert_true(bad.calls == 0 || strcmp(bad.order, "FAIL ") == 0);
	total = bad.calls + good.calls;
	while (total < 2) {
		event_base_loop(f.base, EVLOOP_ONCE);
		total = bad.calls + good.calls;
	}
	assert_string_equal(bad.order, "FAIL ");
	/* the mechanisms came from the asynchronous handshake */
	assert_non_null(auth_client_mech_find(c, "login"));
	auth_client_free(&c);
	fake_stop(&f);
}

static void
test_continue_and_abort(void **state)
{
	struct fake f;
	struct auth_client *c;
	struct seen a = { "", 0, NULL }, b = { "", 0, NULL };
	struct auth_client_request *req;

	fake_start(&f);
	c = auth_client_new(f.path, f.base);
	auth_client_request_new(c, &info, NULL, cb, &a);
	run_until(f.base, &a.calls, 1);
	assert_string_equal(a.order, "CONT ");
	auth_client_request_continue(a.cont_req, "YWxpY2U=");
	assert_int_equal(a.calls, 1);
	run_until(f.base, &a.calls, 2);
	assert_string_equal(a.order, "CONT OK ");
	/* abort while the peer is to answer: the service hears "*", the
	 * callback is not called again */
	req = auth_client_request_new(c, &info, NULL, cb, &b);
	run_until(f.base, &b.calls, 1);
	auth_client_request_abort(&req);
	assert_null(req);
	for (int i = 0; i < 100 && strstr(f.log, "CONT2*") == NULL; i++)
		event_base_loop(f.base, EVLOOP_ONCE);
	assert_non_null(strstr(f.log, "CONT2*"));
	for (int i = 0; i < 20; i++)
		event_base_loop(f.base, EVLOOP_NONBLOCK);
	assert_int_equal(b.calls, 1);
	auth_client_free(&c);
	fake_stop(&f);
}

static void
test_service_not_there_is_a_temporary_error_from_the_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct auth_client *c = auth_client_new("/nonexistent/auth-client", base);
	struct seen s = { "", 0, NULL };
	size_t n;

	assert_null(auth_client_mechs(c, &n));
	auth_client_request_new(c, &info, "x", cb, &s);
	assert_int_equal(s.calls, 0);
	run_until(base, &s.calls, 1);
	assert_string_equal(s.order, "ERROR ");
	auth_client_free(&c);
	event_base_free(base);
}

static void
test_service_gone_mid_request(void **state)
{
	struct fake f;
	struct auth_client *c;
	struct seen s = { "", 0, NULL }, t = { "", 0, NULL };

	fake_start(&f);
	c = auth_client_new(f.path, f.base);
	auth_client_request_new(c, &info, NULL, cb, &s);
	run_until(f.base, &s.calls, 1);
	/* the service goes away while the peer is to answer */
	bufferevent_free(f.conn);
	f.conn = NULL;
	evconnlistener_free(f.l);
	f.l = NULL;
	unlink(f.path);
	auth_client_request_new(c, &info, "bad", cb, &t);
	run_until(f.base, &t.calls, 1);
	assert_string_equal(t.order, "ERROR ");
	auth_client_request_continue(s.cont_req, "YWxpY2U=");
	run_until(f.base, &s.calls, 2);
	assert_string_equal(s.order, "CONT ERROR ");
	auth_client_free(&c);
	fake_stop(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_fail_does_not_hold_back_an_ok),
		cmocka_unit_test(test_continue_and_abort),
		cmocka_unit_test(test_service_not_there_is_a_temporary_error_from_the_loop),
		cmocka_unit_test(test_service_gone_mid_request),
	};

	signal(SIGPIPE, SIG_IGN);	/* as every daemon that uses the client */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
