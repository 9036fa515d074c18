/* test_smtpd_dnscheck.c - the DNS restrictions as a pure function of the
 * answers gathered: an evaluation stops for the lookup it needs, goes on
 * once the answer is in, and a temporary failure refuses with 4xx; the
 * DNSBL result filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "lib/str.h"
#include "smtpd/smtpd_check.h"
#include "smtpd/smtpd_dnscheck.h"

static void
test_filters(void **state)
{
	assert_true(smtpd_rbl_filter_match(NULL, "127.0.0.2"));
	assert_false(smtpd_rbl_filter_match(NULL, "10.0.0.2"));
	assert_true(smtpd_rbl_filter_match("127.0.0.2", "127.0.0.2"));
	assert_false(smtpd_rbl_filter_match("127.0.0.2", "127.0.0.3"));
	assert_true(smtpd_rbl_filter_match("127.0.0.[2..11]", "127.0.0.11"));
	assert_false(smtpd_rbl_filter_match("127.0.0.[2..11]", "127.0.0.12"));
	assert_true(smtpd_rbl_filter_match("127.0.[0;1].[2;4]", "127.0.1.4"));
	assert_false(smtpd_rbl_filter_match("127.0.[0;1].[2;4]", "127.0.1.3"));
	assert_false(smtpd_rbl_filter_match("127.0.0", "127.0.0.2"));
	assert_false(smtpd_rbl_filter_match("127.0.0.[2..", "127.0.0.2"));
	assert_false(smtpd_rbl_filter_match("127.0.0.2x", "127.0.0.2"));
}

static void
put(struct smtpd_dns_answers *a, enum dns_status st, const char *addr, const char *text)
{
	struct dns_result res;
	struct dns_rr rr;
	const char *name;
	enum dns_type type;

	assert_true(smtpd_dns_answers_wanted(a, &name, &type));
	memset(&res, 0, sizeof(res));
	memset(&rr, 0, sizeof(rr));
	res.status = st;
	res.type = type;
	if (st == DNS_OK) {
		if (addr != NULL) {
			strcpy(rr.addr, addr);
			rr.family = AF_INET;
		}
		rr.name = (char *)(uintptr_t)text;
		res.rr = &rr;
		res.n = 1;
	}
	smtpd_dns_answers_put(a, name, type, &res);
}

static void
test_rbl_evaluation_resumes(void **state)
{
	struct smtpd_dns_answers *a = smtpd_dns_answers_new();
	struct smtpd_check_ctx ctx = { "192.0.2.1", "unknown", "unknown[192.0.2.1]", NULL, "",
		"u@example.com", false, a };
	struct smtpd_dnscheck_codes codes = { 554, 450, 450 };
	struct str reply;
	const char *name;
	enum dns_type type;

	str_init(&reply, 64);
	assert_int_equal(smtpd_dnscheck("reject_rbl_client", "zen.example=127.0.0.2", &ctx, &codes,
	    0, &reply), SMTPD_CHECK_PENDING);
	assert_true(smtpd_dns_answers_wanted(a, &name, &type));
	assert_string_equal(name, "1.2.0.192.zen.example");
	assert_int_equal(type, DNS_T_A);
	put(a, DNS_OK, "127.0.0.2", NULL);
	/* listed: the TXT record for the reason */
	assert_int_equal(smtpd_dnscheck("reject_rbl_client", "zen.example=127.0.0.2", &ctx, &codes,
	    0, &reply), SMTPD_CHECK_PENDING);
	put(a, DNS_OK, NULL, "see https://zen.example/");
	assert_int_equal(smtpd_dnscheck("reject_rbl_client", "zen.example=127.0.0.2", &ctx, &codes,
	    0, &reply), -1);
	assert_string_equal(reply.s, "554 5.7.1 Service unavailable; Client host [192.0.2.1] "
	    "blocked using zen.example; see https://zen.example/");
	/* a failing list defers, never passes */
	assert_int_equal(smtpd_dnscheck("reject_rbl_client", "bl.example", &ctx, &codes, 0, &reply),
	    SMTPD_CHECK_PENDING);
	put(a, DNS_TEMPFAIL, NULL, NULL);
	assert_int_equal(smtpd_dnscheck("reject_rbl_client", "bl.example", &ctx, &codes, 0, &reply),
	    -1);
	assert_int_equal(reply.s[0], '4');
	/* the recipient's own domain needs no lookup */
	assert_int_equal(smtpd_dnscheck("reject_unknown_recipient_domain", NULL, &ctx, &codes, 1,
	    &reply), 0);
	str_deinit(&reply);
	smtpd_dns_answers_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_rbl_evaluation_resumes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
