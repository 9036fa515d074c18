/* doveadm_pw.c - "doveadm pw": Dovecot 2.3's password hash generator and
 * checker, with its options, messages and exit codes (64 usage, 75 for
 * every failure, as Debian's doveadm exits). The schemes are
 * src/auth/password.c. Tests: tests/e2e/test_doveadm_pw.py. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/password.h"
#include "cli/cli.h"
#include "lib/str.h"

#define DOVEADM_PW_EX_USAGE	64
#define DOVEADM_PW_EX_TEMPFAIL	75
#define DOVEADM_PW_DEFAULT_SCHEME "CRYPT"	/* Dovecot 2.3: bcrypt under {CRYPT} */

static const char *const pw_list =
    "SHA1 SSHA512 SCRAM-SHA-256 BLF-CRYPT PLAIN SHA512 SHA CRYPT SSHA MD5-CRYPT "
    "PLAIN-MD5 SHA512-CRYPT CLEAR CLEARTEXT ARGON2ID SSHA256 MD5 SHA256 CRAM-MD5 "
    "SHA256-CRYPT SMD5 LDAP-MD5 DES-CRYPT";

static void
pw_usage(void)
{
	fprintf(stderr, "doveadm pw [-l] [-p plaintext] [-r rounds] [-s scheme] "
	    "[-t hash] [-u user] [-V]\n");
}

int
cmd_doveadm_pw(int argc, char **argv)
{
	const char *scheme = DOVEADM_PW_DEFAULT_SCHEME, *plain = NULL, *test = NULL;
	const char *user = NULL, *err;
	unsigned rounds = 0;
	bool verify = false, list = false;
	char *p1 = NULL;
	struct str out;
	int c, ret;

	optind = 1;
	while ((c = getopt(argc, argv, "+lp:r:s:t:u:V")) != -1) {
		switch (c) {
		case 'l':
			list = true;
			break;
		case 'p':
			plain = optarg;
			break;
		case 'r': {
			char *end;
			unsigned long r = strtoul(optarg, &end, 10);

			if (*end != '\0' || end == optarg || r > 0xffffffffUL) {
				fprintf(stderr, "Fatal: Invalid number of rounds: %s\n", optarg);
				return DOVEADM_PW_EX_USAGE;
			}
			rounds = (unsigned)r;
			break;
		}
		case 's':
			scheme = optarg;
			break;
		case 't':
			test = optarg;
			verify = true;
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			verify = true;
			break;
		default:
			pw_usage();
			return DOVEADM_PW_EX_USAGE;
		}
	}
	if (list) {
		printf("%s \n", pw_list);
		return 0;
	}
	if (optind != argc) {
		pw_usage();
		return DOVEADM_PW_EX_USAGE;
	}
	if (test != NULL) {
		/* the hash names its own scheme; -s does not matter */
		char name[PASSWORD_SCHEME_MAX];
		const char *rest;

		if (test[0] != '{' || strchr(test, '}') == NULL) {
			fprintf(stderr, "Fatal: Missing {scheme} prefix from hash\n");
			return DOVEADM_PW_EX_TEMPFAIL;
		}
		password_split(test, NULL, name, sizeof(name), &rest);
		if (!password_scheme_is_known(name)) {
			fprintf(stderr, "Fatal: reverse decode check failed: Unknown scheme\n");
			return DOVEADM_PW_EX_TEMPFAIL;
		}
	} else if (!password_scheme_is_known(scheme)) {
		char up[PASSWORD_SCHEME_MAX];
		size_t i;

		for (i = 0; scheme[i] != '\0' && i + 1 < sizeof(up); i++)
			up[i] = (char)toupper((unsigned char)scheme[i]);
		up[i] = '\0';
		fprintf(stderr, "Fatal: Unknown scheme: %s\n", up);
		return DOVEADM_PW_EX_TEMPFAIL;
	}
	if (plain == NULL) {
		/* getpass() reads from the terminal, as Dovecot's t_askpass */
		const char *p = getpass("Enter new password: ");

		if (p == NULL) {
			fprintf(stderr, "Fatal: Empty password\n");
			return DOVEADM_PW_EX_TEMPFAIL;
		}
		p1 = strdup(p);
		if (p1 == NULL)
			abort();
		if (test == NULL) {
			p = getpass("Retype new password: ");
			if (p == NULL || strcmp(p, p1) != 0) {
				free(p1);
				fprintf(stderr, "Fatal: Passwords don't match!\n");
				return DOVEADM_PW_EX_TEMPFAIL;
			}
		}
		plain = p1;
	}
	str_init(&out, 128);
	if (test != NULL)
		str_append(&out, test);
	else if (password_generate(scheme, plain, user, rounds, &out, &err) < 0) {
		fprintf(stderr, "Fatal: %s\n", err);
		ret = DOVEADM_PW_EX_TEMPFAIL;
		goto done;
	}
	if (verify) {
		int r = password_verify(out.s, NULL, plain, user, &err);

		if (r < 0) {
			fprintf(stderr, "Fatal: reverse decode check failed: %s\n", err);
			ret = DOVEADM_PW_EX_TEMPFAIL;
			goto done;
		}
		if (r == 0) {
			fprintf(stderr, "Fatal: reverse password verification check failed: "
			    "Password mismatch\n");
			ret = DOVEADM_PW_EX_TEMPFAIL;
			goto done;
		}
		printf("%s (verified)\n", out.s);
	} else
		printf("%s\n", out.s);
	ret = 0;
done:
	str_deinit(&out);
	free(p1);
	return ret;
}
