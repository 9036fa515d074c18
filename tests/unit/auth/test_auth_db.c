/* test_auth_db.c - the userdb iteration behind auth-master LIST (doveadm -A):
 * a passwd-file lists its users once each, in user order; a userdb that
 * cannot be listed (static, a per-user file) makes the listing fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth_db.h"
#include "lib/dovecot_conf.h"
#include "lib/mem.h"
#include "lib/util.h"

static struct auth_db *
db_of(const char *conf_text, struct dovecot_conf **dc_r)
{
	const char *err = NULL;
	struct auth_db *db;

	*dc_r = dovecot_conf_new();
	assert_int_equal(dovecot_conf_parse_buffer(*dc_r, "test.conf", conf_text, strlen(conf_text),
	    0, &err), 0);
	db = auth_db_new(*dc_r, &err);
	assert_non_null(db);
	return db;
}

static void
test_passwd_file_lists_each_user_once(void **state)
{
	char path[] = "/tmp/yubin-test-users.XXXXXX", *conf;
	int fd = mkstemp(path);
	const char *data = "carol:{PLAIN}x:1000:1000::/home/carol::\n"
	    "alice:{PLAIN}x:1000:1000::/home/alice::\n# a comment\n"
	    "bob:{PLAIN}x:1000:1000::/home/bob::\n";
	struct dovecot_conf *dc;
	struct auth_db *db;
	struct strvec users;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (int)strlen(data));
	close(fd);
	/* two userdbs on the same file: still one name each */
	conf = xasprintf("userdb {\n  driver = passwd-file\n  args = %s\n}\n"
	    "userdb {\n  driver = passwd-file\n  args = %s\n}\n", path, path);
	db = db_of(conf, &dc);
	strvec_init(&users);
	assert_int_equal(auth_db_userdb_list(db, &users), 0);
	assert_int_equal(users.n, 3);
	assert_string_equal(users.v[0], "alice");
	assert_string_equal(users.v[1], "bob");
	assert_string_equal(users.v[2], "carol");
	strvec_deinit(&users);
	auth_db_free(&db);
	dovecot_conf_free(&dc);
	free(conf);
	unlink(path);
}

static void
test_static_and_per_user_files_cannot_be_listed(void **state)
{
	static const char *const confs[] = {
		"userdb {\n  driver = static\n  args = uid=1000 gid=1000 home=/home/%u\n}\n",
		"userdb {\n  driver = passwd-file\n  args = /etc/yubin/users/%d\n}\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		struct dovecot_conf *dc;
		struct auth_db *db = db_of(confs[i], &dc);
		struct strvec users;

		strvec_init(&users);
		assert_int_equal(auth_db_userdb_list(db, &users), -1);
		strvec_deinit(&users);
		auth_db_free(&db);
		dovecot_conf_free(&dc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd_file_lists_each_user_once),
		cmocka_unit_test(test_static_and_per_user_files_cannot_be_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
