/* test_smtpd_check.c - restriction lists evaluated as Postfix does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/str.h"
#include "smtpd/smtpd_check.h"

static struct maincf *mc;

/* checks_from - the restrictions of a main.cf text */
static struct smtpd_checks *
checks_from(const char *text, char **error_r)
{
	const char *err;
	struct str all;
	struct smtpd_checks *c;

	maincf_free(&mc);
	mc = maincf_new("/nonexistent");
	str_init(&all, 256);
	str_append(&all, "myhostname = mx.example.test\nmydestination = $myhostname, localhost\n"
	    "mynetworks = 127.0.0.0/8\ncompatibility_level = 3.6\n"
	    /* no alias or passwd tables in these tests: anyone is local */
	    "local_recipient_maps =\n");
	str_append(&all, text);
	assert_int_equal(maincf_parse(mc, "main.cf", all.s, all.len, &err), 0);
	str_deinit(&all);
	c = smtpd_checks_new(mc, error_r);
	return c;
}

/* verdict - the reply for a recipient, or "OK" */
static const char *
verdict(struct smtpd_checks *c, const char *addr, const char *helo, const char *sender,
    const char *rcpt)
{
	static struct str reply;
	struct smtpd_check_ctx ctx = { addr, "unknown", NULL, helo, sender, rcpt, false, NULL };
	static char namaddr[128];

	snprintf(namaddr, sizeof(namaddr), "unknown[%s]", addr);
	ctx.namaddr = namaddr;
	str_deinit(&reply);
	str_init(&reply, 64);
	if (smtpd_check_rcpt(c, &ctx, &reply) == 0)
		return "OK";
	return reply.s;
}

static void
test_default_relay_control_defers_strangers_and_permits_mynetworks(void **state)
{
	char *err = NULL;
	struct smtpd_checks *c = checks_from("", &err);

	assert_non_null(c);
	assert_string_equal(verdict(c, "127.0.0.1", "h", "a@b.example", "x@far.example"), "OK");
	assert_string_equal(verdict(c, "192.0.2.1", "h", "a@b.example", "x@far.example"),
	    "454 4.7.1 <x@far.example>: Relay access denied");
	assert_string_equal(verdict(c, "192.0.2.1", "h", "a@b.example", "x@localhost"), "OK");
	assert_string_equal(verdict(c, "192.0.2.1", "h", "a@b.example", "x@MX.example.test"), "OK");
	assert_string_equal(verdict(c, "192.0.2.1", "h", "a@b.example", "x"), "OK");
	/* sender-specified routing through a local domain is relaying */
	assert_string_equal(verdict(c, "192.0.2.1", "h", "a@b.example", "x%far.example@localhost"),
	    "454 4.7.1 <x%far.example@localhost>: Relay access denied");
	smtpd_checks_free(&c);
	assert_null(c);
}

static void
test_a_configuration_without_relay_control_is_refused(void **state)
{
	char *err = NULL;
	struct smtpd_checks *c = checks_from("smtpd_relay_restrictions = permit_mynetworks, permit\n"
	    "smtpd_recipient_restrictions = permit\n", &err);

	assert_null(c);
	assert_non_null(strstr(err, "specify at least one working instance of: "
	    "reject_unauth_destination"));
	free(err);
}

static void
test_relay_domains_include_their_subdomains(void **state)
{
	char *err = NULL;
	struct smtpd_checks *c = checks_from(
	    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
	    "relay_domains = relay.example\n", &err);

	assert_non_null(c);
	assert_string_equal(verdict(c, "192.0.2.1", NULL, "", "x@relay.example"), "OK");
	assert_string_equal(verdict(c, "192.0.2.1", NULL, "", "x@a.relay.example"), "OK");
	assert_string_equal(verdict(c, "192.0.2.1", NULL, "", "x@notrelay.example"),
	    "554 5.7.1 <x@notrelay.example>: Relay access denied");
	smtpd_checks_free(&c);
}

static void
test_each_list_names_its_class_in_the_reply(void **state)
{
	char *err = NULL;
	struct smtpd_checks *c = checks_from(
	    "smtpd_client_restrictions = permit_mynetworks, reject\n", &err);

	assert_string_equal(verdict(c, "192.0.2.1", NULL, "", "x@localhost"),
	    "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied");
	assert_string_equal(verdict(c, "127.0.0.1", NULL, "", "x@localhost"), "OK");
	smtpd_checks_free(&c);
	c = checks_from("smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n"
	    "smtpd_sender_restrictions = reject_non_fqdn_sender, defer\n", &err);
	assert_string_equal(verdict(c, "127.0.0.1", "h", "a@b.example", "x@localhost"),
	    "504 5.5.2 <h>: Helo command rejected: need fully-qualified hostname");
	assert_string_equal(verdict(c, "127.0.0.1", "h.example", "a", "x@localhost"),
	    "504 5.5.2 <a>: Sender address rejected: need fully-qualified address");
	assert_string_equal(verdict(c, "127.0.0.1", "h.example", "a@b.example", "x@localhost"),
	    "450 4.7.1 <a@b.example>: Sender address rejected: Access denied");
	smtpd_checks_free(&c);
}

static void
test_a_permit_ends_only_its_own_list(void **state)
{
	char *err = NULL;
	struct smtpd_checks *c = checks_from("smtpd_client_restrictions = permit\n"
	    "smtpd_recipient_restrictions = reject_non_fqdn_recipient\n", &err);

	assert_string_equal(verdict(c, "127.0.0.1", NULL, "", "x"),
	    "504 5.5.2 <x>: Recipient address rejected: need fully-qualified address");
	smtpd_checks_free(&c);
}

static void
test_unknown_restrictions_are_a_configuration_error_reply(void **state)
{
	char *err = NULL;
	struct smtpd_checks *c = checks_from("smtpd_recipient_restrictions = frobnicate\n", &err);

	assert_string_equal(verdict(c, "127.0.0.1", NULL, "", "x@localhost"),
	    "451 4.3.5 Server configuration error");
	smtpd_checks_free(&c);
}

static void
test_dns_restrictions_never_permit(void **state)
{
	char *err = NULL;
	struct smtpd_checks *c = checks_from("smtpd_relay_restrictions = reject_rbl_client "
	    "zen.example, reject_unknown_recipient_domain, defer_unauth_destination\n", &err);

	assert_string_equal(verdict(c, "127.0.0.1", NULL, "", "x@far.example"),
	    "454 4.7.1 <x@far.example>: Relay access denied");
	smtpd_checks_free(&c);
}

static void
test_access_actions_read_like_postfix(void **state)
{
	struct str r;

	str_init(&r, 64);
	assert_int_equal(smtpd_check_access_action("OK", "a@b", "Sender address", &r), 1);
	assert_int_equal(smtpd_check_access_action("DUNNO", "a@b", "Sender address", &r), 0);
	assert_int_equal(smtpd_check_access_action("REJECT", "a@b", "Sender address", &r), -1);
	assert_string_equal(r.s, "554 5.7.1 <a@b>: Sender address rejected: Access denied");
	assert_int_equal(smtpd_check_access_action("REJECT go away", "a@b", "Sender address", &r), -1);
	assert_string_equal(r.s, "554 5.7.1 <a@b>: Sender address rejected: go away");
	assert_int_equal(smtpd_check_access_action("450 try later", "a@b", "Sender address", &r), -1);
	assert_string_equal(r.s, "450 4.7.1 <a@b>: Sender address rejected: try later");
	assert_int_equal(smtpd_check_access_action("550 5.1.1 no such user", "a@b",
	    "Recipient address", &r), -1);
	assert_string_equal(r.s, "550 5.1.1 <a@b>: Recipient address rejected: no such user");
	str_deinit(&r);
}

static int
teardown(void **state)
{
	maincf_free(&mc);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_relay_control_defers_strangers_and_permits_mynetworks),
		cmocka_unit_test(test_a_configuration_without_relay_control_is_refused),
		cmocka_unit_test(test_relay_domains_include_their_subdomains),
		cmocka_unit_test(test_each_list_names_its_class_in_the_reply),
		cmocka_unit_test(test_a_permit_ends_only_its_own_list),
		cmocka_unit_test(test_unknown_restrictions_are_a_configuration_error_reply),
		cmocka_unit_test(test_dns_restrictions_never_permit),
		cmocka_unit_test(test_access_actions_read_like_postfix),
	};
	log_open("test_smtpd_check", 0);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
