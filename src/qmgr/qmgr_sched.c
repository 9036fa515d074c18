/* qmgr_sched.c - concurrency limits of the queue manager (qmgr_sched.h).
 * The deliveries in flight are few (bounded by the agents), so a plain
 * array and linear counts are enough. Tests: tests/unit/qmgr/test_qmgr_sched.c */
#include "qmgr/qmgr_sched.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"

void
qmgr_sched_init(struct qmgr_sched *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void
qmgr_sched_deinit(struct qmgr_sched *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].transport);
		free(s->v[i].dest);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

size_t
qmgr_sched_count(const struct qmgr_sched *s, const char *transport, const char *dest)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].transport, transport) == 0 &&
		    (dest == NULL || strcasecmp(s->v[i].dest, dest) == 0))
			n++;
	return n;
}

bool
qmgr_sched_may_start(const struct qmgr_sched *s, const char *transport, const char *dest,
    size_t transport_limit, size_t dest_limit)
{
	bool ok = false;

	if (s->max > 0 && s->n >= s->max)
		goto out;
	if (transport_limit > 0 && qmgr_sched_count(s, transport, NULL) >= transport_limit)
		goto out;
	if (dest_limit > 0 && qmgr_sched_count(s, transport, dest) >= dest_limit)
		goto out;
	ok = true;
out:
	return ok;
}

void
qmgr_sched_start(struct qmgr_sched *s, const char *transport, const char *dest)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n].transport = xstrdup(transport);
	s->v[s->n].dest = xstrdup(dest);
	s->n++;
}

bool
qmgr_sched_done(struct qmgr_sched *s, const char *transport, const char *dest)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].transport, transport) == 0 &&
		    strcasecmp(s->v[i].dest, dest) == 0) {
			free(s->v[i].transport);
			free(s->v[i].dest);
			s->v[i] = s->v[--s->n];
			return true;
		}
	return false;
}
