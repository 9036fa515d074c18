/* fuzz_managesieve_session.c - a logged-in ManageSieve session on
 * arbitrary client bytes: the command reader over a connection (literals
 * across reads, refused literals skipped, bad lines dropped), every
 * command's argument checks, quotas and the script storage (in a scratch
 * directory under /dev/shm, with small quotas so it stays bounded), and
 * the SASL response reader the login process uses. The replies go to a
 * peer that has hung up. Never a crash, a leak or a hang. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "managesieve/managesieve-private.h"
#include "pop3/pop3-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[128];

/* cleanup - the scratch storage goes at exit: its scripts, its link */
static void
cleanup(void)
{
	char path[512];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/sieve", scratch);
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char f[1024];

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
			(void)unlink(f);
		}
		closedir(d);
	}
	(void)rmdir(path);
	snprintf(path, sizeof(path), "%s/active", scratch);
	(void)unlink(path);
	(void)rmdir(scratch);
}

static void
setup(void)
{
	static bool done;
	const char *dir = scratch;

	if (done)
		return;
	done = true;
	signal(SIGPIPE, SIG_IGN);
	log_open("fuzz", 0);
	snprintf(scratch, sizeof(scratch), "/dev/shm/yubin-fuzz-msieve-%ld", (long)getpid());
	sieve_config_init(&msieve_set.cfg);
	msieve_set.cfg.limits.max_script_size = 4096;
	msieve_set.quota_max_scripts = 4;
	msieve_set.quota_max_storage = 8192;
	msieve_set.implementation = xstrdup("fuzz");
	msieve_set.sieve_caps = xstrdup("fileinto");
	msieve_set.notify_caps = xstrdup("mailto");
	msieve_set.location = xasprintf("file:%s/sieve;active=%s/active", dir, dir);
	(void)mkdir(dir, 0700);
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_client client;
	struct pop3_conn conn;
	int sv[2];

	setup();
	if (size < 1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	/* the whole input is in the socket's buffer before the reader starts */
	if (write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	close(sv[1]);
	memset(&client, 0, sizeof(client));
	snprintf(client.session, sizeof(client.session), "fuzz");
	client.ctl = -1;	/* no login process to give the connection back to */
	pop3_conn_init(&conn, sv[0], 1000);
	if (data[0] & 1) {
		(void)msieve_mail_run(&client, &conn, "fuzz", NULL, false);
	} else {
		/* the login's SASL responses: string lines until one fails */
		struct msieve_reader rd;
		struct str out;

		msieve_reader_init(&rd, &conn, MSIEVE_LOGIN_MAX_LITERAL);
		str_init(&out, 64);
		for (int i = 0; i < 64; i++) {
			enum msieve_read r = msieve_read_string(&rd, &out);

			if (r != MSIEVE_READ_CMD && r != MSIEVE_READ_BAD && r != MSIEVE_READ_TOOBIG)
				break;
			str_reset(&out);
		}
		str_deinit(&out);
		msieve_reader_deinit(&rd);
	}
	pop3_conn_deinit(&conn);
	close(sv[0]);
	return 0;
}
