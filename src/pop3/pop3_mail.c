/* pop3_mail.c - the TRANSACTION and UPDATE states of RFC 1939 for one
 * logged-in user (Dovecot's pop3 process): STAT, LIST, RETR, TOP, DELE,
 * UIDL, NOOP, RSET, CAPA, QUIT. The mailbox is a snapshot taken at login;
 * deletions are only marks until QUIT, when they are expunged. Runs as the
 * user. Replies and the logout line are Dovecot 2.3's.
 * Tests: tests/e2e/test_pop3.py */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "pop3/pop3-private.h"
#include "pop3/pop3.h"
#include "storage/mailbox.h"

struct pop3_mail {
	struct pop3_client *client;
	struct pop3_conn *conn;
	struct mailbox	*mb;
	const char	*user;
	bool		*del;
	size_t		 n;
	/* for the logout line: top=%t/%p, retr=%r/%b, del=%d/%m, size=%s */
	unsigned	 top_count, retr_count, del_count;
	unsigned long long top_bytes, retr_bytes, size;
	struct str	 err;
};

/* mail_msg - the message a number names; NULL with the -ERR sent */
static const struct mailbox_msg *
mail_msg(struct pop3_mail *m, const char *args, const char **rest_r, unsigned *num_r)
{
	unsigned num;

	if (pop3_msgnum(args, &num, rest_r, &m->err) != 0) {
		pop3_conn_printf(m->conn, "-ERR %s\r\n", m->err.s);
		return NULL;
	}
	if (num == 0 || num > m->n) {
		pop3_conn_printf(m->conn, "-ERR There's no message %u.\r\n", num);
		return NULL;
	}
	if (m->del[num - 1]) {
		pop3_conn_printf(m->conn, "-ERR Message is deleted.\r\n");
		return NULL;
	}
	*num_r = num;
	return mailbox_msg(m->mb, num - 1);
}

static void
mail_stat(struct pop3_mail *m)
{
	unsigned long long total = 0;
	size_t i, count = 0;

	for (i = 0; i < m->n; i++) {
		if (!m->del[i]) {
			count++;
			total += mailbox_msg(m->mb, i)->vsize;
		}
	}
	pop3_conn_printf(m->conn, "+OK %zu %llu\r\n", count, total);
}

static void
mail_list(struct pop3_mail *m, const char *args, bool uidl)
{
	const struct mailbox_msg *msg;
	struct str u;
	unsigned num;
	size_t i;

	str_init(&u, 64);
	if (*args != '\0') {
		if ((msg = mail_msg(m, args, NULL, &num)) != NULL) {
			if (uidl) {
				mailbox_uidl(m->mb, num - 1, m->client->set->uidl_format, &u);
				pop3_conn_printf(m->conn, "+OK %u %s\r\n", num, u.s);
			} else {
				pop3_conn_printf(m->conn, "+OK %u %zu\r\n", num, msg->vsize);
			}
		}
		str_deinit(&u);
		return;
	}
	if (uidl) {
		pop3_conn_printf(m->conn, "+OK\r\n");
	} else {
		size_t count = 0;

		for (i = 0; i < m->n; i++)
			count += !m->del[i];
		pop3_conn_printf(m->conn, "+OK %zu messages:\r\n", count);
	}
	for (i = 0; i < m->n; i++) {
		if (m->del[i])
			continue;
		if (uidl) {
			mailbox_uidl(m->mb, i, m->client->set->uidl_format, &u);
			pop3_conn_printf(m->conn, "%zu %s\r\n", i + 1, u.s);
		} else {
			pop3_conn_printf(m->conn, "%zu %zu\r\n", i + 1, mailbox_msg(m->mb, i)->vsize);
		}
	}
	pop3_conn_printf(m->conn, ".\r\n");
	str_deinit(&u);
}

static void
mail_retr(struct pop3_mail *m, const char *args, bool top)
{
	const struct mailbox_msg *msg;
	const char *rest = NULL, *error;
	struct str data, out;
	unsigned num, lines = 0;
	long max_lines = -1;

	if ((msg = mail_msg(m, args, top ? &rest : NULL, &num)) == NULL)
		return;
	if (top) {
		if (pop3_msgnum(rest, &lines, NULL, &m->err) != 0) {
			/* Dovecot words a missing or bad line count as noise */
			pop3_conn_printf(m->conn, "-ERR Noise after message number: %s\r\n", rest);
			return;
		}
		max_lines = lines;
	}
	str_init(&data, msg->vsize + 16);
	str_init(&out, msg->vsize + 64);
	if (mailbox_msg_read(m->mb, num - 1, &data, &error) != 0) {
		log_error("pop3(%s)<%ld><%s>: %s", m->user, (long)getpid(), m->client->session,
		    error);
		pop3_conn_printf(m->conn, "-ERR Message is deleted.\r\n");
		goto out;
	}
	if (top)
		str_append(&out, "+OK\r\n");
	else
		str_appendf(&out, "+OK %zu octets\r\n", msg->vsize);
	pop3_dot_stuff(&out, data.s, data.len, max_lines);
	/* Dovecot counts the reply without its final ".\r\n" */
	if (top) {
		m->top_count++;
		m->top_bytes += out.len;
	} else {
		m->retr_count++;
		m->retr_bytes += out.len;
	}
	str_append(&out, ".\r\n");
	pop3_conn_append(m->conn, out.s, out.len);
out:
	str_deinit(&data);
	str_deinit(&out);
}

static void
mail_dele(struct pop3_mail *m, const char *args)
{
	unsigned num;

	if (mail_msg(m, args, NULL, &num) == NULL)
		return;
	m->del[num - 1] = true;
	m->del_count++;
	pop3_conn_printf(m->conn, "+OK Marked to be deleted.\r\n");
}

int
pop3_mail_run(struct pop3_client *client, struct pop3_conn *conn, const char *user,
    const char *mailbox_path, bool maildir)
{
	struct pop3_mail m;
	struct str line;
	char verb[16];
	const char *args, *error, *why = "Connection closed";
	size_t i;
	int status = 0;

	memset(&m, 0, sizeof(m));
	m.client = client;
	m.conn = conn;
	m.user = user;
	str_init(&m.err, 128);
	str_init(&line, 256);
	if (mailbox_open(mailbox_path, maildir ? STORAGE_MAILDIR : STORAGE_MBOX, &m.mb, &error) != 0) {
		log_error("pop3(%s)<%ld><%s>: Couldn't open INBOX: %s", user, (long)getpid(),
		    client->session, error);
		pop3_conn_printf(conn, "-ERR [SYS/TEMP] Couldn't open INBOX: Internal error "
		    "occurred. Refer to server log for more information.\r\n");
		(void)pop3_conn_flush(conn);
		status = 1;
		goto out;
	}
	m.n = mailbox_count(m.mb);
	m.del = xcalloc(m.n + 1, sizeof(bool));
	for (i = 0; i < m.n; i++)
		m.size += mailbox_msg(m.mb, i)->vsize;
	pop3_conn_printf(conn, "+OK Logged in.\r\n");
	for (;;) {
		enum pop3_read rd = pop3_conn_getline(conn, &line, POP3_MAX_LINE);

		if (rd != POP3_READ_LINE) {
			why = rd == POP3_READ_TIMEOUT ? "Inactivity - no input for 600 secs" :
			    rd == POP3_READ_TOO_LONG ? "Input buffer full" : "Connection closed";
			break;
		}
		if (!pop3_cmd_parse(line.s, verb, sizeof(verb), &args)) {
			struct str v;

			str_init(&v, 32);
			log_printable(&v, line.s, 40);
			pop3_conn_printf(conn, "-ERR Unknown command: %s\r\n", v.s);
			str_deinit(&v);
			continue;
		}
		if (strcmp(verb, "STAT") == 0)
			mail_stat(&m);
		else if (strcmp(verb, "LIST") == 0)
			mail_list(&m, args, false);
		else if (strcmp(verb, "UIDL") == 0)
			mail_list(&m, args, true);
		else if (strcmp(verb, "RETR") == 0)
			mail_retr(&m, args, false);
		else if (strcmp(verb, "TOP") == 0)
			mail_retr(&m, args, true);
		else if (strcmp(verb, "DELE") == 0)
			mail_dele(&m, args);
		else if (strcmp(verb, "NOOP") == 0)
			pop3_conn_printf(conn, "+OK\r\n");
		else if (strcmp(verb, "RSET") == 0) {
			memset(m.del, 0, m.n * sizeof(bool));
			m.del_count = 0;
			pop3_conn_printf(conn, "+OK\r\n");
		} else if (strcmp(verb, "CAPA") == 0) {
			pop3_conn_printf(conn, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
			    "PIPELINING\r\nAUTH-RESP-CODE\r\n.\r\n");
		} else if (strcmp(verb, "QUIT") == 0) {
			/* UPDATE: deletions happen now, and only now */
			if (m.del_count > 0 && mailbox_expunge(m.mb, m.del, &error) != 0) {
				log_error("pop3(%s)<%ld><%s>: expunge: %s", user, (long)getpid(),
				    client->session, error);
				pop3_conn_printf(conn, "-ERR [SYS/TEMP] Couldn't delete all messages\r\n");
			} else {
				pop3_conn_printf(conn, "+OK Logging out.\r\n");
			}
			why = "Logged out";
			break;
		} else {
			str_reset(&m.err);
			log_printable(&m.err, verb, 16);
			pop3_conn_printf(conn, "-ERR Unknown command: %s\r\n", m.err.s);
		}
		if (conn->broken)
			break;
	}
	(void)pop3_conn_flush(conn);
	log_info("pop3(%s)<%ld><%s>: Disconnected: %s top=%u/%llu, retr=%u/%llu, del=%u/%zu, "
	    "size=%llu", user, (long)getpid(), client->session, why, m.top_count, m.top_bytes,
	    m.retr_count, m.retr_bytes, strcmp(why, "Logged out") == 0 ? m.del_count : 0, m.n,
	    m.size);
out:
	free(m.del);
	mailbox_close(&m.mb);
	str_deinit(&m.err);
	str_deinit(&line);
	return status;
}
