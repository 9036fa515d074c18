/* sieve_track.h - the per-user record of vacation replies and duplicate
 * IDs (Dovecot keeps ~/.dovecot.lda-dupes; yubin keeps a small text file,
 * ~/.yubin.sieve-track by default): one line per entry, "EXPIRY KIND KEY"
 * with KEY as hex of a SHA-256 digest, so no address or ID is stored in
 * clear. Rewritten atomically (temporary file, fsync, rename); expired
 * entries are dropped on every write; at most SIEVE_TRACK_MAX entries are
 * kept (the oldest go first). Tests: tests/unit/sieve/test_sieve_track.c,
 * tests/e2e/test_sieve_settings.py. */
#ifndef YUBIN_SIEVE_TRACK_H
#define YUBIN_SIEVE_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIEVE_TRACK_MAX	10000

/* sieve_track_seen - 1 when (kind, key) was recorded and has not expired,
 * 0 when not, -1 on a read error */
int	 sieve_track_seen(const char *path, char kind, const void *key, size_t len, time_t now);
/* sieve_track_add - record (kind, key) until now + seconds, replacing its
 * earlier record (duplicate :last restarts the period); 0 or -1 */
int	 sieve_track_add(const char *path, char kind, const void *key, size_t len, time_t now,
	    uint64_t seconds);

#endif
