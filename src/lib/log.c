/* log.c - syslog, maillog_file and stderr sinks with Postfix's line shape.
 * Tests: tests/unit/lib/test_log.c */
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"

static char log_tag_buf[64] = "yubin";
static int log_flags = LOG_TO_STDERR;
static int log_file_fd = -1;
static int log_verbose;
static unsigned log_counts[LOG_LEVEL_PANIC + 1];
/* the host name and pid of each line, looked up once per process rather
 * than per line (gethostname is a uname(2), getpid a system call: two of
 * the few per SMTP session left); a fork's child looks its pid up again */
static char log_host[256];
static pid_t log_pid;
static pthread_once_t log_atfork_once = PTHREAD_ONCE_INIT;

static const char *const level_prefix[] = {
	[LOG_LEVEL_DEBUG] = "",
	[LOG_LEVEL_INFO] = "",
	[LOG_LEVEL_WARN] = "warning: ",
	[LOG_LEVEL_ERROR] = "error: ",
	[LOG_LEVEL_FATAL] = "fatal: ",
	[LOG_LEVEL_PANIC] = "panic: ",
};

static const int level_syslog[] = {
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_WARN] = LOG_WARNING,
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_FATAL] = LOG_CRIT,
	[LOG_LEVEL_PANIC] = LOG_CRIT,
};

void
log_open(const char *tag, int flags)
{
	snprintf(log_tag_buf, sizeof(log_tag_buf), "%s", tag);
	log_flags = flags;
	if (flags & LOG_TO_SYSLOG)
		openlog(log_tag_buf, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_retag(const char *tag)
{
	log_open(tag, log_flags);
}

int
log_set_file(const char *path)
{
	if (log_file_fd >= 0) {
		close(log_file_fd);
		log_file_fd = -1;
	}
	if (path == NULL || *path == '\0')
		return 0;
	log_file_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	return log_file_fd < 0 ? -1 : 0;
}

void
log_set_verbose(int level)
{
	log_verbose = level;
}

const char *
log_tag(void)
{
	return log_tag_buf;
}

unsigned
log_count(enum log_level level)
{
	return log_counts[level];
}

static void
log_forget_pid(void)
{
	log_pid = 0;
}

/* log_once - the host name, and the fork handler (once: two threads'
 * first lines would otherwise fill log_host together) */
static void
log_once(void)
{
	char *dot;

	(void)pthread_atfork(NULL, NULL, log_forget_pid);
	if (gethostname(log_host, sizeof(log_host)) != 0)
		snprintf(log_host, sizeof(log_host), "localhost");
	log_host[sizeof(log_host) - 1] = '\0';
	if ((dot = strchr(log_host, '.')) != NULL)
		*dot = '\0';
}

/* log_identity - the short host name and this process's pid */
static void
log_identity(const char **host_r, pid_t *pid_r)
{
	(void)pthread_once(&log_atfork_once, log_once);
	if (log_pid == 0)
		log_pid = getpid();
	*host_r = log_host;
	*pid_r = log_pid;
}

void
log_format_line(struct str *out, long when, const char *host, const char *tag, long pid,
    enum log_level level, const char *text)
{
	time_t t = (time_t)when;
	struct tm tm;
	char stamp[32];

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	str_appendf(out, "%s %s %s[%ld]: %s%s\n", stamp, host, tag, pid, level_prefix[level],
	    text);
}

void
log_printable(struct str *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == n) {
			str_append(out, "...");
			return;
		}
		str_append_c(out, (c < 0x20 || c >= 0x7f) ? '?' : c);
	}
}

static void log_vmsg(enum log_level, const char *, va_list) __attribute__((format(printf, 2, 0)));

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	struct str text, line;
	int saved = errno;

	if (level == LOG_LEVEL_DEBUG && log_verbose == 0)
		return;
	log_counts[level]++;
	str_init(&text, 128);
	str_vappendf(&text, fmt, ap);

	if (log_flags & LOG_TO_SYSLOG)
		syslog(level_syslog[level], "%s%s", level_prefix[level], text.s);
	if (log_file_fd >= 0 || (log_flags & LOG_STDERR_FULL)) {
		const char *host;
		pid_t pid;

		log_identity(&host, &pid);
		str_init(&line, text.len + 64);
		log_format_line(&line, (long)time(NULL), host, log_tag_buf, (long)pid, level,
		    text.s);
		if (log_file_fd >= 0)
			(void)!write(log_file_fd, line.s, line.len);
		if (log_flags & LOG_STDERR_FULL)
			(void)!write(STDERR_FILENO, line.s, line.len);
		str_deinit(&line);
	}
	if ((log_flags & LOG_TO_STDERR) && !(log_flags & LOG_STDERR_FULL)) {
		str_init(&line, text.len + 64);
		str_appendf(&line, "%s: %s%s\n", log_tag_buf, level_prefix[level], text.s);
		(void)!write(STDERR_FILENO, line.s, line.len);
		str_deinit(&line);
	}
	str_deinit(&text);
	errno = saved;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_FATAL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_PANIC, fmt, ap);
	va_end(ap);
	abort();
}
