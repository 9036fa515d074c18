/* storage_keywords.h - IMAP keywords of a Maildir, as Dovecot keeps them:
 * the file DIR/dovecot-keywords holds "N name" lines, and a message's
 * keyword N is the letter 'a' + N in the ":2," part of its file name (26
 * at most). Written under Dovecot's dot-lock (dovecot-keywords.lock), so
 * that yubin's IMAP sessions, its deliver/LMTP and Dovecot never give one
 * letter two names. Shared by the IMAP server (imap/imap_mbox.c) and
 * deliver (cli/deliver.c, Sieve imap4flags). Everything runs as the
 * mailbox owner. Tests: tests/unit/storage/test_storage_keywords.c,
 * fuzz/fuzz_storage_keywords.c */
#ifndef YUBIN_STORAGE_KEYWORDS_H
#define YUBIN_STORAGE_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>

#define STORAGE_KEYWORDS_MAX	26	/* the letters a..z */
#define STORAGE_KEYWORD_MAX_LEN	50	/* Dovecot's mail_max_keyword_length */

/* storage_keyword_check - NULL when name may be a keyword: an IMAP atom
 * without the atom-specials (RFC 3501; a "]", space or ")" would break
 * the FLAGS lists it is echoed in), new names (new_name) also at most
 * STORAGE_KEYWORD_MAX_LEN characters; else why not ("Invalid characters
 * in keyword", "Keyword length too long"). */
const char *storage_keyword_check(const char *name, bool new_name);

/* storage_keywords_read - the names of dir's dovecot-keywords added to
 * names (STORAGE_KEYWORDS_MAX slots, NULL where unknown, owned by the
 * caller; names already there stay); *n_r becomes at least one past the
 * highest index. A missing file is no keywords; bad lines are skipped. */
void	 storage_keywords_read(const char *dir, char **names, size_t *n_r);

/* storage_keyword_index - the index of name (case-insensitive) in names,
 * else, when create, in the file (read again under the dot-lock: another
 * writer may have added it) or added there at the first index free in
 * both the file and names, the file written atomically. names takes the
 * file's names. -1 when unknown (create false), all 26 in use, or the
 * file cannot be locked or written (errno). The caller checks the name
 * first (storage_keyword_check). */
int	 storage_keyword_index(const char *dir, char **names, size_t *n, const char *name,
	    bool create);

#endif
