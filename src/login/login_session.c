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

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "login/login.h"

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
	struct str out;
	const char *p, *loc = location, *inbox;
	char *spec;

	*maildir_r = true;
	if (*loc == '\0') {
		char *md = home != NULL ? path_join(home, "Maildir") : NULL;
		struct stat st;

		if (md != NULL && stat(md, &st) == 0)
			return md;
		free(md);
		*maildir_r = false;
		return xasprintf("/var/mail/%s", user);
	}
	if (strncmp(loc, "maildir:", 8) == 0) {
		loc += 8;
	} else if (strncmp(loc, "mbox:", 5) == 0) {
		*maildir_r = false;
		loc += 5;
		inbox = strstr(loc, ":INBOX=");
		loc = inbox != NULL ? inbox + 7 : "/var/mail/%u";
	}
	spec = xstrndup(loc, strcspn(loc, ":"));
	str_init(&out, 128);
	for (p = spec; *p != '\0'; p++) {
		if (*p == '~' && p == spec && home != NULL) {
			str_append(&out, home);
		} else if (*p == '%' && p[1] != '\0') {
			const char *at = strchr(user, '@');

			p++;
			if (*p == 'u')
				str_append(&out, user);
			else if (*p == 'n')
				str_append_n(&out, user, at != NULL ? (size_t)(at - user) : strlen(user));
			else if (*p == 'd')
				str_append(&out, at != NULL ? at + 1 : "");
			else if (*p == 'h')
				str_append(&out, home != NULL ? home : "");
			else
				str_append_c(&out, *p);
		} else {
			str_append_c(&out, *p);
		}
	}
	free(spec);
	return str_export(&out);
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
