/* cidr.h - client address lists as Postfix's mynetworks reads them.
 *
 * A list holds patterns in the order given; the first pattern that matches
 * decides, and "!pattern" makes that decision "no". Patterns:
 *   192.0.2.0/24, 192.0.2.1        IPv4 network or host
 *   2001:db8::/32, [::1]/128, [::1] IPv6, bare or in Postfix's brackets
 *   host.example, .example           client host name (a leading dot, or
 *                                    parent_domain_matches_subdomains,
 *                                    also matches subdomains)
 *   /file/name                       more patterns, white space or line
 *                                    separated, "#" comments
 *   type:table                       looked up (the client address, then
 *                                    the name) in a lookup table (maps.h);
 *                                    any value is a match; a table that
 *                                    cannot be read makes the match fail
 *                                    with -1 (a temporary error), never a
 *                                    silent yes
 * Address text is compared in binary, so "::ffff:127.0.0.1" matches
 * 127.0.0.0/8 as Postfix does for IPv4-mapped clients. */
#ifndef YUBIN_CIDR_H
#define YUBIN_CIDR_H

#include <stdbool.h>
#include <stdint.h>

struct cidr {
	int	 family;		/* AF_INET or AF_INET6 */
	uint8_t	 addr[16];		/* network, host bits cleared */
	int	 bits;			/* prefix length */
};

struct cidr_list;

/* cidr_parse - one network or host address ("10.0.0.0/8", "[::1]/128",
 * "192.0.2.1"). Host bits set under the mask are an error, as Postfix's
 * "non-null host address bits" warning. 0, or -1 with *error_r (literal). */
int	 cidr_parse(const char *text, struct cidr *out, const char **error_r);
/* cidr_contains - is the address text (IPv4, IPv6, IPv4-mapped) inside? */
bool	 cidr_contains(const struct cidr *, const char *addr);

/* cidr_list_new - an empty list; subdomains: parent_domain_matches_subdomains
 * lists this parameter (Postfix's default does for mynetworks) */
struct cidr_list *cidr_list_new(bool subdomains);
void	 cidr_list_free(struct cidr_list **);
/* cidr_list_add - one pattern (a /file is read now). 0, or -1 with *error_r
 * (a literal or strerror text) for a malformed pattern or unreadable file. */
int	 cidr_list_add(struct cidr_list *, const char *pattern, const char **error_r);
/* cidr_list_match - 1 when the client (address text, host name or NULL)
 * matches, 0 when not, -1 when a table could not be consulted */
int	 cidr_list_match(const struct cidr_list *, const char *addr, const char *name);

#endif
