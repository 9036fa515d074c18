/* auth_penalty.c - see auth_penalty.h. Open addressing over a fixed array
 * with a short probe: when every probed slot is taken, the oldest one is
 * reused. Memory is AUTH_PENALTY_SLOTS entries whatever the peers do. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_penalty.h"
#include "lib/mem.h"

#define PROBE	8
#define IP_MAX	64

struct slot {
	char	 ip[IP_MAX];	/* "" = free */
	unsigned failures;
	time_t	 last;
};

struct auth_penalty {
	struct slot slots[AUTH_PENALTY_SLOTS];
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct auth_penalty *
auth_penalty_new(void)
{
	return xcalloc(1, sizeof(struct auth_penalty));
}

void
auth_penalty_free(struct auth_penalty **p)
{
	free(*p);
	*p = NULL;
}

static struct slot *
find(struct auth_penalty *pt, const char *ip, time_t now, bool create)
{
	uint32_t h = hash(ip);
	struct slot *oldest = NULL;

	for (unsigned i = 0; i < PROBE; i++) {
		struct slot *s = &pt->slots[(h + i) % AUTH_PENALTY_SLOTS];

		if (s->ip[0] != '\0' && strcmp(s->ip, ip) == 0) {
			if (now - s->last > AUTH_PENALTY_EXPIRE)
				s->failures = 0;
			return s;
		}
		if (s->ip[0] == '\0') {
			if (oldest == NULL || oldest->ip[0] != '\0')
				oldest = s;	/* a free slot beats any taken one */
		} else if (oldest == NULL || (oldest->ip[0] != '\0' && s->last < oldest->last))
			oldest = s;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->ip, sizeof(oldest->ip), "%s", ip);
	return oldest;
}

unsigned
auth_penalty_fail(struct auth_penalty *pt, const char *ip, time_t now, unsigned base_ms)
{
	struct slot *s = find(pt, ip != NULL ? ip : "", now, true);
	unsigned long long d = base_ms;

	if (s->failures < 64)
		s->failures++;
	s->last = now;
	for (unsigned i = 1; i < s->failures && d < AUTH_PENALTY_MAX_MS; i++)
		d *= 2;
	return d > AUTH_PENALTY_MAX_MS ? AUTH_PENALTY_MAX_MS : (unsigned)d;
}

void
auth_penalty_clear(struct auth_penalty *pt, const char *ip)
{
	struct slot *s = find(pt, ip != NULL ? ip : "", 0, false);

	if (s != NULL)
		memset(s, 0, sizeof(*s));
}

unsigned
auth_penalty_failures(const struct auth_penalty *pt, const char *ip, time_t now)
{
	struct slot *s = find((struct auth_penalty *)(uintptr_t)pt, ip, now, false);

	return s != NULL ? s->failures : 0;
}
