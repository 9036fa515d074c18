/*
 * imap-load.c - IMAP login load for bench/imap-bench.sh: C concurrent
 * clients, N sessions in all, each one connect, greeting, LOGIN, LOGOUT,
 * close. A Python asyncio client spends most of a CPU at ~1,000 logins/s
 * on this machine, so it would measure itself rather than the server;
 * this one uses a few per cent.
 *
 * Usage: imap-load HOST PORT USERFILE CONC N MAXSECONDS
 *   USERFILE: lines "user:password"; session i logs in as line i mod count.
 * Prints one line: "logins SECONDS LOGINS_PER_S P50_MS P99_MS CLIENT_CPU_S".
 * Exit status 1 when any session fails (a wrong greeting, a NO, a closed
 * connection): a failed login must not count as a fast one.
 * Bounded: N sessions and MAXSECONDS, each socket read with a 10 s timeout.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAXUSERS 1000

static struct sockaddr_in addr;
static char *users[MAXUSERS], *passwords[MAXUSERS];
static int nusers;
static int total;
static double deadline;
static atomic_int next_session, failed;
static double *latency;		/* one slot per session, written by its thread */

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Read until a line starting with PREFIX ("* OK" or "a1 OK") has come in
 * whole: 0. A line with PREFIX's first word but another status (a tagged
 * NO or BAD; a BYE instead of the greeting) fails at once rather than
 * waiting for the timeout. (LOGOUT's own BYE comes before its OK.)
 */
static int
expect(int fd, const char *prefix)
{
	char buf[4096];
	size_t len = 0, plen = strlen(prefix), wlen = strcspn(prefix, " ") + 1;

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *line, *nl;

		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n')) != NULL) {
			if (strncmp(line, prefix, plen) == 0)
				return 0;
			if (strncmp(line, prefix, wlen) == 0 && prefix[0] != '*')
				return -1;
			if (prefix[0] == '*' && strncmp(line, "* BYE", 5) == 0)
				return -1;	/* refused at the greeting */
			line = nl + 1;
		}
		/* keep the partial last line; a full buffer without one is junk */
		len -= (size_t)(line - buf);
		memmove(buf, line, len);
		if (len == sizeof(buf) - 1)
			return -1;
	}
}

static int
send_all(int fd, const char *s)
{
	size_t len = strlen(s);

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

static int
session(int i)
{
	struct timeval tv = { 10, 0 };
	char cmd[600];
	int fd, one = 1, rc = -1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto out;
	if (expect(fd, "* OK") < 0)
		goto out;
	snprintf(cmd, sizeof(cmd), "a1 LOGIN \"%s\" \"%s\"\r\n",
	    users[i % nusers], passwords[i % nusers]);
	if (send_all(fd, cmd) < 0 || expect(fd, "a1 OK") < 0)
		goto out;
	if (send_all(fd, "a2 LOGOUT\r\n") < 0 || expect(fd, "a2 OK") < 0)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}

static void *
worker(void *arg)
{
	(void)arg;
	for (;;) {
		int i = atomic_fetch_add(&next_session, 1);
		double t0;

		if (i >= total || mono() > deadline || atomic_load(&failed))
			return NULL;
		t0 = mono();
		if (session(i) < 0) {
			atomic_store(&failed, 1);
			fprintf(stderr, "imap-load: session %d failed\n", i);
			return NULL;
		}
		latency[i] = mono() - t0;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
load_users(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (f == NULL)
		return -1;
	while (nusers < MAXUSERS && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		line[strcspn(line, "\r\n")] = '\0';
		if (colon == NULL || line[0] == '#')
			continue;
		*colon = '\0';
		users[nusers] = strdup(line);
		passwords[nusers] = strdup(colon + 1);
		if (users[nusers] == NULL || passwords[nusers] == NULL)
			break;
		nusers++;
	}
	fclose(f);
	return nusers > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	pthread_t th[256];
	struct rusage ru;
	double t0, t, cpu;
	int conc, i, done = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: imap-load HOST PORT USERFILE CONC N MAXSECONDS\n");
		return 2;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || load_users(argv[3]) < 0) {
		fprintf(stderr, "imap-load: bad host or user file\n");
		return 2;
	}
	conc = atoi(argv[4]);
	total = atoi(argv[5]);
	if (conc < 1 || conc > 256 || total < 1) {
		fprintf(stderr, "imap-load: CONC must be 1..256, N at least 1\n");
		return 2;
	}
	latency = calloc((size_t)total, sizeof(*latency));
	if (latency == NULL)
		return 2;
	t0 = mono();
	deadline = t0 + atof(argv[6]);
	for (i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			return 2;
	for (i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	t = mono() - t0;
	if (atomic_load(&failed))
		return 1;
	/* sessions past the deadline were never started: latency 0 */
	for (i = 0; i < total; i++)
		if (latency[i] > 0)
			latency[done++] = latency[i];
	if (done == 0)
		return 1;
	qsort(latency, (size_t)done, sizeof(*latency), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("logins %.3f %.1f %.2f %.2f %.2f\n", t, done / t,
	    latency[done / 2] * 1e3, latency[(int)(done * 0.99)] * 1e3, cpu);
	return 0;
}
