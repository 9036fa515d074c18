/* rewrite.h - address rewriting as Postfix's cleanup and trivial-rewrite do
 * it when mail enters the queue (smtpd, pickup), once per address:
 *
 *   1. the local form (trivial-rewrite's "canonicalize"): swap_bangpath
 *      (site!user -> user@site), allow_percent_hack for local domains
 *      (user%host@local -> user@host), $myorigin appended to a bare user
 *      name, append_dot_mydomain (user@host -> user@host.$mydomain);
 *   2. canonical mapping, one-to-one: sender_canonical_maps or
 *      recipient_canonical_maps first, then canonical_maps, each within
 *      canonical_classes (envelope_sender, envelope_recipient,
 *      header_sender, header_recipient); a result "@domain" keeps the
 *      local part; an unmatched address extension is propagated
 *      (propagate_unmatched_extensions);
 *   2b. masquerading (masquerade_domains, masquerade_exceptions) within
 *      masquerade_classes: user@host.example.com -> user@example.com;
 *   3. for envelope recipients only, virtual alias expansion (one-to-many,
 *      recursive) through virtual_alias_maps, with Postfix's limits
 *      (virtual_alias_expansion_limit, virtual_alias_recursion_limit): a
 *      loop or an explosion is a temporary error, "message not accepted".
 *
 * Table keys follow canonical(5) and virtual(5): user+ext@domain,
 * user@domain, user (when the domain is $myorigin or in $mydestination),
 * @domain. The null sender "" is never rewritten.
 *
 * Addresses are in the queue's form: local part as the client wrote it
 * (quotes kept), no angle brackets. Tests: tests/unit/mail/test_rewrite.c,
 * tests/e2e/test_rewrite.py. */
#ifndef YUBIN_REWRITE_H
#define YUBIN_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

struct maincf;
struct str;
struct strvec;

/* Which address is being rewritten (canonical_classes) */
enum rewrite_class {
	REWRITE_ENVELOPE_SENDER,
	REWRITE_ENVELOPE_RECIPIENT,
	REWRITE_HEADER_SENDER,
	REWRITE_HEADER_RECIPIENT,
};

struct rewrite;

/* rewrite_new - read the settings and open the tables (a table that cannot
 * be read makes each lookup in it fail, so mail is deferred, not rewritten
 * wrongly). NULL with *error_r on a configuration error (a bad table name,
 * a bad number). cf is borrowed and must outlive the result. */
struct rewrite *rewrite_new(struct maincf *cf, const char **error_r);
void	 rewrite_free(struct rewrite **);

/* rewrite_set_origin - complete incomplete addresses with domain instead
 * of $myorigin and $mydomain: trivial-rewrite's "remote" context, for the
 * headers of remote clients under remote_header_rewrite_domain */
void	 rewrite_set_origin(struct rewrite *, const char *domain);

/* rewrite_local - step 1 only, into out (reset first); header addresses of
 * remote clients skip it, as local_header_rewrite_clients says */
void	 rewrite_local(struct rewrite *, const char *addr, struct str *out);

/* rewrite_address - steps 1 and 2 into out (reset first). 0, or -1 with
 * *error_r when a table could not be read (defer). */
int	 rewrite_address(struct rewrite *, enum rewrite_class, const char *addr,
	    struct str *out, const char **error_r);

/* rewrite_virtual - step 3: the addresses rcpt expands to (appended to
 * out; rcpt itself when no alias matches). 0, or -1 with *error_r on a
 * table error or a limit (the whole message is deferred; the text is
 * Postfix's warning, e.g. "unreasonable virtual_alias_maps map nesting for
 * a@b"). */
int	 rewrite_virtual(struct rewrite *, const char *rcpt, struct strvec *out,
	    const char **error_r);

/* rewrite_recipient - the whole path of an envelope recipient: steps 1 to
 * 3, results appended to out */
int	 rewrite_recipient(struct rewrite *, const char *rcpt, struct strvec *out,
	    const char **error_r);

/* rewrite_domain_is_local - the domain is $myorigin or in $mydestination */
bool	 rewrite_domain_is_local(struct rewrite *, const char *domain);

/* rewrite_domain_in_list - domain matches the list parameter param of cf
 * (names, ".parent" items, and "type:table" items in which the domain is
 * looked up as a key, as Postfix's domain lists do). 1/0/-1 with *error_r. */
int	 rewrite_domain_in_list(struct maincf *cf, const char *param, const char *domain,
	    const char **error_r);

#endif
