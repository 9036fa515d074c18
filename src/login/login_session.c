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
#include <stdint.h>
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

bool
login_session_alive(const char *name)
{
	long pid = atol(name);
	char path[64], comm[32];
	ssize_t n;
	int fd;

	if (!pid_alive(pid))
		return false;
	if (strchr(name, '.') == NULL)
		return true;
	/* a hibernated client's: its holder must be that process still,
	 * not another that got its pid after it ended unseen (a service
	 * gone by a reload reaps no more) */
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;	/* no /proc to ask: its pid lives */
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return true;
	comm[n] = '\0';
	return strcmp(comm, LOGIN_SESSION_HOLDER "\n") == 0;
}

/* The sessions of one user from one address, for the
 * mail_max_userip_connections count without reading every session's file:
 * $sessions/.userip/KEY/PID, an empty file beside each session's own file,
 * KEY a hash of user and rip. A hash may collide, so each entry's session
 * file is still read and compared; an entry whose process or session file
 * is gone is removed where it is found. */
#define USERIP_DIR	".userip"

/* Ended sessions' files kept for reuse: $sessions/.spare/PID. A file
 * created and another deleted per login made ext4 scan past its recently
 * deleted inodes on every create (__ext4_new_inode was ~20% of a session
 * process's CPU with base_dir on ext4); renaming a spare in costs no
 * inode. A new session takes the first spare it finds under the lock, so
 * there are never more spares than sessions that were live at once; a
 * prune trims them to SPARE_KEEP. */
#define SPARE_DIR	".spare"
#define SPARE_KEEP	64

/* spare_pick - under the lock: a spare's path in out, else "" */
static void
spare_pick(const char *sessions_dir, char *out, size_t size)
{
	char dir[600];
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/" SPARE_DIR, sessions_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			snprintf(out, size, "%s/%s", dir, de->d_name);
			break;
		}
	closedir(d);
}

static void
userip_dir(const char *sessions_dir, const char *user, const char *rip, char *out,
    size_t size)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (const char *p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ '\t') * 1099511628211ULL;
	for (const char *p = rip; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(out, size, "%s/" USERIP_DIR "/%016llx", sessions_dir, (unsigned long long)h);
}

/* session_matches - whether a session file's text ("user TAB protocol TAB
 * rip TAB ...") names user, protocol and rip: Dovecot counts
 * mail_max_userip_connections per protocol (an IMAP session at the limit
 * leaves POP3 logins of the same user and address alone) */
static bool
session_matches(const char *text, const char *user, const char *protocol, const char *rip)
{
	const char *tab1 = strchr(text, '\t');
	const char *tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;
	const char *tab3 = tab2 != NULL ? strchr(tab2 + 1, '\t') : NULL;

	/* Dovecot compares user names case-sensitively here */
	return tab3 != NULL && (size_t)(tab1 - text) == strlen(user) &&
	    strncmp(text, user, strlen(user)) == 0 &&
	    (size_t)(tab2 - tab1 - 1) == strlen(protocol) &&
	    strncmp(tab1 + 1, protocol, strlen(protocol)) == 0 &&
	    (size_t)(tab3 - tab2 - 1) == strlen(rip) && strncmp(tab2 + 1, rip, strlen(rip)) == 0;
}

/* userip_count - the live sessions of user from rip, from their index
 * directory (stale entries removed) */
static unsigned long
userip_count(const char *sessions_dir, const char *dir, const char *user, const char *protocol,
    const char *rip)
{
	char path[600], entry[900];
	struct dirent *de;
	struct str data;
	unsigned long count = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	str_init(&data, 256);
	while ((de = readdir(d)) != NULL) {
		/* "PID", or "PID.ID" for a client the hibernate process PID
		 * holds (login_session_alive tells whether it still does) */
		if (de->d_name[0] == '.')
			continue;
		snprintf(entry, sizeof(entry), "%s/%s", dir, de->d_name);
		snprintf(path, sizeof(path), "%s/%s", sessions_dir, de->d_name);
		if (!login_session_alive(de->d_name)) {
			(void)unlink(path);	/* a session that ended unseen */
			(void)unlink(entry);
			continue;
		}
		str_reset(&data);
		if (file_read(path, 4096, &data) != 0) {
			if (errno == ENOENT)
				(void)unlink(entry);
			continue;
		}
		if (session_matches(data.s, user, protocol, rip))
			count++;
	}
	closedir(d);
	str_deinit(&data);
	return count;
}

/* userip_add - the entry name in dir: a hard link to its session file
 * (path), as allocating a second inode per login was most of a login's
 * file system work; an empty file when there is no session file. The
 * directory is made when missing (a sweep may remove an emptied one
 * between the mkdir and the link). */
static void
userip_add(const char *sessions_dir, const char *dir, const char *path, const char *name)
{
	char top[600], entry[700];
	int fd;

	snprintf(top, sizeof(top), "%s/" USERIP_DIR, sessions_dir);
	snprintf(entry, sizeof(entry), "%s/%s", dir, name);
	for (int i = 0; i < 3; i++) {
		if (link(path, entry) == 0)
			return;
		if (errno == EEXIST) {
			(void)unlink(entry);	/* an earlier process with our pid */
		} else if (errno == ENOENT && access(path, F_OK) == 0) {
			/* the directory is usually kept (login_session_unregister) */
			(void)mkdir(top, 0755);
			(void)mkdir(dir, 0755);
		} else {
			break;
		}
	}
	for (int i = 0; i < 2; i++) {
		if ((fd = open(entry, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0) {
			close(fd);
			return;
		}
		(void)mkdir(top, 0755);
		(void)mkdir(dir, 0755);
	}
}

/* session_file_write - the session's file, under a temporary name first
 * so that doveadm who never reads half of one. No fsync: the file is
 * runtime state ($base_dir, /run on a real system) that means nothing
 * after a crash, and two fsyncs were most of a login's disk work. */
static void
session_file_write(const char *sessions_dir, const char *path, const char *data, size_t len)
{
	char tmp[610], spare[900];
	bool ok;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* a spare renamed in is written as the new session's file */
	spare_pick(sessions_dir, spare, sizeof(spare));
	if (spare[0] != '\0')
		(void)rename(spare, tmp);
	/* cut to the new length after the write, not to 0 before it: on
	 * ext4 a file truncated to 0 is flushed to disk at its close
	 * (auto_da_alloc), a write-back per login for nothing */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return;
	ok = pwrite(fd, data, len, 0) == (ssize_t)len && ftruncate(fd, (off_t)len) == 0;
	if (close(fd) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0)
		(void)unlink(tmp);
}

/* sessions_lock - the registry's lock (an fd to close), or -1 when it
 * cannot be had (then the caller goes on unlocked, as it always did) */
static int
sessions_lock(const char *sessions_dir)
{
	char *lockp = path_join(sessions_dir, ".lock");
	int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(lockp);
	if (lfd >= 0)
		(void)flock(lfd, LOCK_EX);
	return lfd;
}

int
login_session_register(const char *sessions_dir, unsigned long max_userip, const char *user,
    const char *protocol, const char *rip, const char *lip, const char *session)
{
	char path[600], dir[600], name[24];
	struct str content;
	int lfd = sessions_lock(sessions_dir), ret = 0;

	str_init(&content, 256);
	str_appendf(&content, "%s\t%s\t%s\t%s\t%s\n", user, protocol, rip, lip, session);
	userip_dir(sessions_dir, user, rip, dir, sizeof(dir));
	if (max_userip > 0 && userip_count(sessions_dir, dir, user, protocol, rip) >= max_userip) {
		ret = -1;
	} else {
		snprintf(path, sizeof(path), "%s/%ld", sessions_dir, (long)getpid());
		session_file_write(sessions_dir, path, content.s, content.len);
		/* kept without a limit too: a reload may set one */
		snprintf(name, sizeof(name), "%ld", (long)getpid());
		userip_add(sessions_dir, dir, path, name);
	}
	if (lfd >= 0)
		close(lfd);
	str_deinit(&content);
	return ret;
}

/* entry_userip_dir - the index directory of the session file path
 * ("user TAB protocol TAB rip TAB ..."): 0, or -1 when it cannot be read */
static int
entry_userip_dir(const char *sessions_dir, const char *path, char *dir, size_t size)
{
	char *f[3], *p;
	struct str data;
	int n, ret = -1;

	str_init(&data, 256);
	if (file_read(path, 4096, &data) == 0) {
		for (p = data.s, n = 0; n < 3 && p != NULL; n++) {
			f[n] = p;
			p = strchr(p, '\t');
			if (p != NULL)
				*p++ = '\0';
		}
		if (n == 3 && p != NULL) {
			userip_dir(sessions_dir, f[0], f[2], dir, size);
			ret = 0;
		}
	}
	str_deinit(&data);
	return ret;
}

/* session_end - the session entry name ("PID" or "PID.ID") ended: its
 * index entry goes; its file goes too, or with keep becomes the spare
 * .spare/NAME (true); *removed_r: whether the file was there to go */
static bool
session_end(const char *sessions_dir, const char *name, bool keep, bool *removed_r)
{
	char path[600], dir[600], entry[700], spare[620];

	*removed_r = false;
	snprintf(path, sizeof(path), "%s/%s", sessions_dir, name);
	if (entry_userip_dir(sessions_dir, path, dir, sizeof(dir)) == 0) {
		snprintf(entry, sizeof(entry), "%s/%s", dir, name);
		/* the directory stays for the user's next login (a mkdir and
		 * rmdir per login were ~4% of its CPU); login_session_sweep
		 * removes emptied ones */
		(void)unlink(entry);
	}
	if (keep) {
		snprintf(spare, sizeof(spare), "%s/" SPARE_DIR "/%s", sessions_dir, name);
		if (rename(path, spare) == 0)
			return true;
		if (errno == ENOENT && access(path, F_OK) == 0) {
			snprintf(spare, sizeof(spare), "%s/" SPARE_DIR, sessions_dir);
			(void)mkdir(spare, 0755);
			snprintf(spare, sizeof(spare), "%s/" SPARE_DIR "/%s", sessions_dir, name);
			if (rename(path, spare) == 0)
				return true;
		}
	}
	*removed_r = unlink(path) == 0;
	return false;
}

void
login_session_unregister(const char *sessions_dir, long pid)
{
	char name[24];
	bool removed;

	snprintf(name, sizeof(name), "%ld", pid);
	(void)session_end(sessions_dir, name, false, &removed);
}

bool
login_session_retire(const char *sessions_dir, long pid)
{
	char name[24];
	bool removed;

	snprintf(name, sizeof(name), "%ld", pid);
	return session_end(sessions_dir, name, true, &removed);
}

bool
login_session_remove(const char *sessions_dir, const char *name)
{
	int lfd = sessions_lock(sessions_dir);
	bool removed;

	/* under the lock: a restore's login_session_move either took the
	 * entry before (the remove finds nothing) or finds it gone */
	(void)session_end(sessions_dir, name, false, &removed);
	if (lfd >= 0)
		close(lfd);
	return removed;
}

bool
login_session_exists(const char *sessions_dir, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", sessions_dir, name);
	return access(path, F_OK) == 0;
}

int
login_session_move(const char *sessions_dir, const char *from, const char *to, bool create,
    const char *user, const char *protocol, const char *rip, const char *lip,
    const char *session)
{
	char src[600], dst[600], dir[600], entry[700];
	int lfd = sessions_lock(sessions_dir), ret = 0;

	snprintf(src, sizeof(src), "%s/%s", sessions_dir, from);
	snprintf(dst, sizeof(dst), "%s/%s", sessions_dir, to);
	/* the file first: where it went is where the entry is, whoever
	 * else looks at it (doveadm kick removes it under the same lock) */
	if (rename(src, dst) == 0) {
		if (entry_userip_dir(sessions_dir, dst, dir, sizeof(dir)) == 0) {
			snprintf(entry, sizeof(entry), "%s/%s", dir, from);
			(void)unlink(entry);
			userip_add(sessions_dir, dir, dst, to);
		}
	} else if (create) {
		/* the old entry was never written or is gone: a new one */
		struct str content;

		str_init(&content, 256);
		str_appendf(&content, "%s\t%s\t%s\t%s\t%s\n", user, protocol, rip, lip, session);
		session_file_write(sessions_dir, dst, content.s, content.len);
		str_deinit(&content);
		userip_dir(sessions_dir, user, rip, dir, sizeof(dir));
		userip_add(sessions_dir, dir, dst, to);
	} else {
		ret = -1;
	}
	if (lfd >= 0)
		close(lfd);
	return ret;
}

void
login_session_drop_holder(const char *sessions_dir, long pid)
{
	char prefix[32];
	struct dirent *de;
	struct strvec names;
	DIR *d;
	size_t i, plen;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%ld.", pid);
	strvec_init(&names);
	if ((d = opendir(sessions_dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, prefix, plen) == 0)
				strvec_push(&names, de->d_name);
		closedir(d);
	}
	for (i = 0; i < names.n; i++)
		(void)login_session_remove(sessions_dir, names.v[i]);
	strvec_deinit(&names);
}

void
login_session_prune(const char *sessions_dir)
{
	char *lockp = path_join(sessions_dir, ".lock"), *top = path_join(sessions_dir, USERIP_DIR);
	char dir[900];
	struct dirent *de;
	DIR *d;
	int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	/* under the lock: a login adds its entry under it */
	if (lfd >= 0)
		(void)flock(lfd, LOCK_EX);
	/* spares past what a busy moment needs */
	snprintf(dir, sizeof(dir), "%s/" SPARE_DIR, sessions_dir);
	if ((d = opendir(dir)) != NULL) {
		unsigned kept = 0;

		while ((de = readdir(d)) != NULL) {
			char spare[1200];

			if (de->d_name[0] == '.' || kept++ < SPARE_KEEP)
				continue;
			snprintf(spare, sizeof(spare), "%s/%s", dir, de->d_name);
			(void)unlink(spare);
		}
		closedir(d);
	}
	if ((d = opendir(top)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", top, de->d_name);
			(void)rmdir(dir);	/* only when empty */
		}
		closedir(d);
	}
	if (lfd >= 0)
		close(lfd);
	free(lockp);
	free(top);
}

void
login_session_sweep(const char *sessions_dir)
{
	char *lockp = path_join(sessions_dir, ".lock"), *top = path_join(sessions_dir, USERIP_DIR);
	char path[900];
	struct dirent *de, *ke;
	struct stat st;
	DIR *d, *k;
	int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (lfd >= 0)
		(void)flock(lfd, LOCK_EX);
	/* the sessions of processes gone unseen (a stopped service's) */
	if ((d = opendir(sessions_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || login_session_alive(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", sessions_dir, de->d_name);
			(void)unlink(path);
		}
		closedir(d);
	}
	/* spares: whoever kept them is gone or starting */
	snprintf(path, sizeof(path), "%s/" SPARE_DIR, sessions_dir);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char spare[1200];

			if (de->d_name[0] == '.')
				continue;
			snprintf(spare, sizeof(spare), "%s/%s", path, de->d_name);
			(void)unlink(spare);
		}
		closedir(d);
	}
	/* index entries whose session file is gone, and emptied directories */
	if ((d = opendir(top)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char dir[600];

			if (de->d_name[0] == '.')
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", top, de->d_name);
			if ((k = opendir(dir)) == NULL)
				continue;
			while ((ke = readdir(k)) != NULL) {
				if (ke->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", sessions_dir, ke->d_name);
				if (stat(path, &st) == 0)
					continue;
				snprintf(path, sizeof(path), "%s/%s", dir, ke->d_name);
				(void)unlink(path);
			}
			closedir(k);
			(void)rmdir(dir);
		}
		closedir(d);
	}
	if (lfd >= 0)
		close(lfd);
	free(lockp);
	free(top);
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
