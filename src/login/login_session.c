/* login_session.c - what every post-login process of the Dovecot side
 * does alike: registering the session (the file doveadm who and kick read,
 * and mail_max_userip_connections counted under the directory's lock), and
 * finding the user's INBOX from mail_location.
 * Tests: tests/e2e/test_pop3.py, test_doveadm.py. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "login/login.h"
#include "storage/mail_location.h"

static bool
pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int
login_session_register(const char *sessions_dir, unsigned long max_userip, const char *user,
    const char *protocol, const char *rip, const char *lip, const char *session)
{
	char *lockp = path_join(sessions_dir, ".lock"), path[512];
	struct str data, content;
	struct dirent *de;
	unsigned long count = 0;
	DIR *d;
	int lfd, ret = 0;

	lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lockp);
	if (lfd >= 0)
		(void)flock(lfd, LOCK_EX);
	str_init(&data, 256);
	str_init(&content, 256);
	/* Dovecot compares user names case-sensitively here */
	str_appendf(&content, "%s\t%s\t%s\t%s\t%s\n", user, protocol, rip, lip, session);
	if (max_userip > 0 && (d = opendir(sessions_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			const char *tab1, *tab2, *tab3;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", sessions_dir, de->d_name);
			str_reset(&data);
			if (file_read(path, 4096, &data) != 0)
				continue;
			if (!pid_alive(atol(de->d_name))) {
				(void)unlink(path);	/* a session that ended unseen */
				continue;
			}
			tab1 = strchr(data.s, '\t');
			tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;
			tab3 = tab2 != NULL ? strchr(tab2 + 1, '\t') : NULL;
			if (tab3 != NULL && (size_t)(tab1 - data.s) == strlen(user) &&
			    strncmp(data.s, user, strlen(user)) == 0 &&
			    (size_t)(tab3 - tab2 - 1) == strlen(rip) &&
			    strncmp(tab2 + 1, rip, strlen(rip)) == 0)
				count++;
		}
		closedir(d);
	}
	if (max_userip > 0 && count >= max_userip) {
		ret = -1;
	} else {
		snprintf(path, sizeof(path), "%s/%ld", sessions_dir, (long)getpid());
		(void)file_write_atomic(path, content.s, content.len, 0644);
	}
	if (lfd >= 0)
		close(lfd);
	str_deinit(&data);
	str_deinit(&content);
	return ret;
}

char *
login_mail_path(const char *location, const char *user, const char *home, bool *maildir_r)
{
	struct mail_location ml;
	const char *err;
	char *inbox = NULL;

	*maildir_r = true;
	if (mail_location_parse(location != NULL ? location : "", user, home, &ml, &err) == 0) {
		*maildir_r = ml.format == STORAGE_MAILDIR;
		inbox = ml.inbox;
		ml.inbox = NULL;
	} else
		log_error("mail_location %s for %s: %s", location, user, err);
	mail_location_deinit(&ml);
	return inbox;
}

void
login_addr_text(const struct sockaddr_storage *ss, char *buf, size_t size, unsigned *port_r)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)size);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)size);
		*port_r = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)size);
		*port_r = ntohs(s4->sin_port);
	} else {
		snprintf(buf, size, "unknown");
		*port_r = 0;
	}
}
