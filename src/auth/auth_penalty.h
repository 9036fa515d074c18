/* auth_penalty.h - a growing delay after failed logins, per remote IP, in
 * a table of fixed size: a flood of failures from many addresses evicts
 * the oldest entries instead of growing memory.
 * Tests: tests/unit/auth/test_sasl.c (penalty cases), tests/e2e/test_auth.py. */
#ifndef YUBIN_AUTH_PENALTY_H
#define YUBIN_AUTH_PENALTY_H

#include <time.h>

#define AUTH_PENALTY_SLOTS	4096
#define AUTH_PENALTY_MAX_MS	15000	/* Dovecot's AUTH_PENALTY_MAX_PENALTY: 15 s */
#define AUTH_PENALTY_EXPIRE	3600	/* seconds after the last failure */

struct auth_penalty;

struct auth_penalty *auth_penalty_new(void);
void	 auth_penalty_free(struct auth_penalty **);
/* auth_penalty_fail - count a failure from ip at now; returns the delay in
 * ms before the failure is answered: base_ms doubled per earlier failure,
 * at most AUTH_PENALTY_MAX_MS (0 when base_ms is 0) */
unsigned auth_penalty_fail(struct auth_penalty *, const char *ip, time_t now,
	    unsigned base_ms);
/* auth_penalty_clear - a success from ip forgets its failures */
void	 auth_penalty_clear(struct auth_penalty *, const char *ip);
/* auth_penalty_failures - failures remembered for ip */
unsigned auth_penalty_failures(const struct auth_penalty *, const char *ip, time_t now);

#endif
