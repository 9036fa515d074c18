/* log.h - one logging module for every daemon and command.
 *
 * Sinks: syslog (facility mail), maillog_file (when set), and stderr.
 * Lines look like Postfix's: "Nov 23 22:22:17 host yubin/smtpd[1234]: text",
 * with "warning: ", "error: ", "fatal: " or "panic: " before the text for
 * those severities, so that pflogsumm and fail2ban filters read them.
 * Commands (postconf, doveconf, ...) log to stderr as "postconf: warning:
 * text", as Postfix's commands do. */
#ifndef YUBIN_LOG_H
#define YUBIN_LOG_H

#include <stdbool.h>
#include <stddef.h>

struct str;

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_PANIC,
};

#define LOG_TO_STDERR	0x1	/* "tag: level: text" on stderr (commands) */
#define LOG_TO_SYSLOG	0x2	/* syslog(3), facility mail */
#define LOG_STDERR_FULL	0x4	/* stderr lines in the full maillog shape (dev mode) */

/* log_open - set the tag ("postconf", "yubin/smtpd") and the sinks */
void	 log_open(const char *tag, int flags);
/* log_retag - the same sinks under another tag (a helper that speaks for
 * another program: "yubin/bounce") */
void	 log_retag(const char *tag);
/* log_set_file - also append to this maillog_file (NULL or "" to stop) */
int	 log_set_file(const char *path);
void	 log_set_verbose(int level);
const char *log_tag(void);
/* log_count - how many lines of this level were logged since start */
unsigned log_count(enum log_level);

void	 log_msg(enum log_level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
/* fatal - bad configuration or environment: log and exit(1) */
void	 fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* panic - a bug: log and abort() for a core dump */
void	 panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* log_format_line - the maillog shape of one line, for tests and sinks */
void	 log_format_line(struct str *out, long when, const char *host, const char *tag,
	    long pid, enum log_level, const char *text);
/* log_printable - append s (at most n bytes of it, then "...") with
 * control and non-ASCII bytes replaced by '?', for client-supplied text */
void	 log_printable(struct str *out, const char *s, size_t n);

#endif
