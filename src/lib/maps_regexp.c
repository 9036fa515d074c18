/* maps_regexp.c - regexp:/path, POSIX regular expressions as Postfix's
 * regexp_table(5):
 *
 *   /pattern/flags result          first match wins; $1..$n, ${n}, $$
 *   !/pattern/flags result         matches when the pattern does not
 *   /pattern/flags!/pattern2/ res  both must hold (old form, still read)
 *   if /pattern/flags ... endif    rules inside apply when it matches
 *
 * Flags toggle: i (case-insensitive, on by default), x (extended syntax, on
 * by default), m (multi-line: REG_NEWLINE, off). Any character but white
 * space and '!' delimits a pattern. Bad rules are logged with Postfix's
 * wording ("regexp map PATH, line N: ...") and skipped.
 *
 * Bounds, because a table file is trusted but a mistake in it must not hang
 * a daemon: the file is at most MAPS_REGEXP_FILE_MAX bytes and
 * MAPS_REGEXP_RULES_MAX rules, a pattern at most MAPS_REGEXP_PATTERN_MAX
 * bytes, repetition bounds {m,n} at most 255 (POSIX's RE_DUP_MAX), and
 * the size glibc will expand a pattern to (it copies repeated parts, so
 * nested repeats multiply) at most MAPS_REGEXP_NODES_MAX: without that,
 * "(a{255}){255}" or eighty nested "+" take gigabytes. Real tables stay far
 * below.
 * Tests: tests/unit/lib/test_maps.c, fuzz/fuzz_maps_regexp.c */
#include "lib/maps-private.h"

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

#define MAPS_REGEXP_FILE_MAX	(16UL * 1024 * 1024)
#define MAPS_REGEXP_RULES_MAX	100000
#define MAPS_REGEXP_PATTERN_MAX	8192
#define MAPS_REGEXP_NODES_MAX	20000
#define MAPS_REGEXP_GROUPS_MAX	256
#define MAPS_REGEXP_NESTING_MAX	100
/* repetition of repetition: "((a*)+)*" is height 3; glibc's epsilon
 * closures grow with it, and with many copies of a group that can match
 * in several ways ("(.*){1,255}" took its regcomp past 10 s) */
#define MAPS_REGEXP_HEIGHT_MAX	4
#define MAPS_REGEXP_VAR_COPIES_MAX	8
/* zero-width atoms ("^", "$", "\<", back-references) with nothing
 * consumed between them cost glibc cubic time: 500 copies of "($)" take
 * a second, "(^){1,255}" four; 128 copies stay under 20 ms */
#define MAPS_REGEXP_ANCHORS_MAX	128
/* regcomp_is_cheap's child: its limits, what one table's children may
 * take in all, and which patterns it sees (more nodes or zero-width atoms
 * than these, or repetition nested this deep; "^([0-9]{1,3}\.){3}" is
 * far below) */
#define MAPS_REGEXP_PROBE_MS	1000
#define MAPS_REGEXP_PROBE_MEM	(512UL << 20)
#define MAPS_REGEXP_PROBE_TABLE_MS	3000
#define MAPS_REGEXP_PROBE_NODES	500
#define MAPS_REGEXP_PROBE_ANCHORS	8
#define MAPS_REGEXP_PROBE_HEIGHT	3
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAPS_REGEXP_HAS_ASAN	1
#endif
#endif
#ifndef MAPS_REGEXP_HAS_ASAN
#define MAPS_REGEXP_HAS_ASAN	0
#endif
static unsigned maps_regexp_probe_ms = MAPS_REGEXP_PROBE_MS;

void
maps_regexp_set_probe_ms(unsigned ms)
{
	maps_regexp_probe_ms = ms > 0 ? ms : MAPS_REGEXP_PROBE_MS;
}

enum rx_op {
	RX_MATCH,
	RX_IF,
	RX_ENDIF,
};

struct rx_rule {
	enum rx_op	 op;
	int		 line;
	regex_t		 first;		/* MATCH, IF */
	bool		 first_match;	/* false: "!/pattern/" */
	bool		 has_second;
	regex_t		 second;
	bool		 second_match;
	char		*replacement;	/* owned; MATCH */
	size_t		 max_sub;	/* highest $n in the replacement */
	size_t		 endif;		/* IF: index of its ENDIF, 0 = none */
};

struct rx_table {
	struct rx_rule	*rules;		/* owned */
	size_t		 n, cap;
	size_t		 max_sub;
	regmatch_t	*pmatch;	/* owned, max_sub + 1 */
	size_t		*stack;		/* open IFs while parsing */
	size_t		 nesting;
	const char	*path;		/* borrowed while parsing */
	unsigned long	 probe_ms;	/* CPU of regcomp_is_cheap's children */
};

struct rx_pattern {
	const char	*text;		/* in the line buffer, NUL-terminated */
	int		 cflags;
	bool		 match;
};

/* interval_at - p (at "{") starts a repetition bound as glibc reads it:
 * "{m", "{m,n}", "{m,}", "{,n}" (from 0) or "{,}", where a backslash may
 * stand before the comma and "\0" is a digit anywhere in a number
 * ("{\,2\0\0}" is "{,200}" to glibc). Sets the bounds (hi = lo without a
 * comma, ULONG_MAX when open) and *end_r to where the reading stopped
 * (the closing brace, or its backslash). */
static bool
interval_at(const char *p, unsigned long *lo_r, unsigned long *hi_r, const char **end_r)
{
	const char *q = p + 1;
	unsigned long n = 0;
	bool digits = false, comma = false;

	for (;;) {
		bool esc = q[0] == '\\' && q[1] != '\0';
		char c = esc ? q[1] : q[0];

		if (isdigit((unsigned char)c) && (!esc || c == '0')) {
			if (n < 100000)
				n = n * 10 + (unsigned long)(c - '0');
			digits = true;
		} else if (c == ',' && !comma) {
			*lo_r = digits ? n : 0;
			comma = true;
			n = 0;
			digits = false;
		} else {
			break;
		}
		q += esc ? 2 : 1;
	}
	*end_r = q;
	if (comma) {
		*hi_r = digits ? n : ULONG_MAX;
		return true;
	}
	*lo_r = *hi_r = n;
	return digits;
}

struct rx_frame {
	unsigned long total, last;
	unsigned long anchors, last_anchors;	/* zero-width copies */
	unsigned height, last_height;	/* repetition nesting: the frame's,
					 * its last atom's */
};

/* frame_close - the group on top of stack ends: one atom of its parent */
static void
frame_close(struct rx_frame *stack, size_t *depth)
{
	const struct rx_frame *f = &stack[*depth];
	struct rx_frame *up = &stack[--*depth];
	unsigned long size = f->total > 0 ? f->total : 1;
	/* a group of nothing but zero-width atoms, "()" included, is one
	 * itself: "^(){1,255}" costs glibc what "^(^){1,255}" does */
	unsigned long zw = f->total == f->anchors && f->anchors == 0 ? 1 : f->anchors;

	up->total += size;
	up->last = size;
	up->anchors += zw;
	up->last_anchors = zw;
	up->last_height = f->height;
	if (f->height > up->height)
		up->height = f->height;
}

/* frame_over - why f is past a limit, or NULL */
static const char *
frame_over(const struct rx_frame *f)
{
	if (f->total > MAPS_REGEXP_NODES_MAX || f->last > MAPS_REGEXP_NODES_MAX)
		return "pattern expands too much (nested repetition)";
	if (f->anchors > MAPS_REGEXP_ANCHORS_MAX)
		return "too many anchors or back-references";
	return NULL;
}

/* pattern_is_bounded - estimate the size glibc's regcomp will build.
 * "x+" becomes "xx*" and "x{m,n}" n copies of x, so nested repeats
 * multiply: "(((a+)+)+)..." doubles per level and "(a{255}){255}" is 65025
 * copies. The estimate walks the pattern with a stack of groups (each
 * knowing its size so far and the size of its last atom). Operators are
 * what the syntax makes them: in extended syntax "(", ")", "{", "|", "+"
 * and "?" bare, in basic syntax escaped (GNU's "\+", "\?", "\|"); "*" and
 * "[" are bare in both. Over a limit the rule is refused. */
static bool
pattern_is_bounded(const char *re, bool ere, bool *costly_r, const char **why_r)
{
	struct rx_frame stack[MAPS_REGEXP_GROUPS_MAX];
	size_t depth = 0;
	unsigned reps = 0;	/* repetition operators in a row on one atom */
	const char *p;

	*costly_r = false;
	if (strlen(re) > MAPS_REGEXP_PATTERN_MAX) {
		*why_r = "pattern is too long";
		return false;
	}
	memset(&stack[0], 0, sizeof(stack[0]));
	for (p = re; *p != '\0'; p++) {
		struct rx_frame *f = &stack[depth];
		bool esc = *p == '\\' && p[1] != '\0';
		char c = esc ? *++p : *p;
		bool op = ere ? !esc : esc;
		bool star = c == '*' && !esc, rep1 = (c == '+' || c == '?') && op;
		bool zero_width = esc ? strchr("<>bB`'123456789", c) != NULL :
		    c == '^' || c == '$';
		unsigned long lo = 0, hi = 0;
		const char *end = p;
		bool interval = c == '{' && op && interval_at(p, &lo, &hi, &end);

		/* "a+++*++..." means nothing more than "a*" but makes glibc's
		 * epsilon closure exponential (a fuzzer found one that takes
		 * minutes): more than two operators in a row are refused. */
		if (star || rep1 || interval) {
			if (++reps > 2) {
				*why_r = "too many repetition operators in a row";
				return false;
			}
			if (++f->last_height > MAPS_REGEXP_HEIGHT_MAX) {
				*why_r = "repetitions nested too deep";
				return false;
			}
			if (f->last_height > f->height)
				f->height = f->last_height;
		} else {
			reps = 0;
		}

		if (c == '(' && op) {
			if (depth + 1 >= MAPS_REGEXP_GROUPS_MAX) {
				*why_r = "too many nested groups";
				return false;
			}
			memset(&stack[++depth], 0, sizeof(stack[depth]));
			continue;
		}
		if (c == ')' && op && depth > 0) {
			frame_close(stack, &depth);
		} else if (c == '+' && rep1) {
			f->total += f->last;
			f->last *= 2;
			f->anchors += f->last_anchors;
			f->last_anchors *= 2;
		} else if (interval) {
			unsigned long a = lo, b = hi == ULONG_MAX ? lo : hi;	/* "{m,}" as "*" */

			if (a > 255 || b > 255) {
				*why_r = "repetition bound is larger than 255";
				return false;
			}
			if (b < a)
				b = a;
			/* last_height counts this operator already: above 1,
			 * the atom can match in several ways by itself */
			if (f->last_height > 1 && b > MAPS_REGEXP_VAR_COPIES_MAX) {
				*why_r = "a repeated group repeated too many times";
				return false;
			}
			if (b > 1) {
				f->total += f->last * (b - 1);
				f->last *= b;
				f->anchors += f->last_anchors * (b - 1);
				f->last_anchors *= b;
			}
			/* past the closing "}" (or basic syntax's "\}"): it is no
			 * atom, and "x{255}{255}" must count as the 65025 copies
			 * glibc makes, with its two operators in a row (a fuzzer
			 * found "\.{0,255}{0,255}{1,255}" taking gigabytes when
			 * the brace was counted as text and reset both counts) */
			if (*end == '}')
				p = end;
			else if (*end == '\\' && end[1] == '}')
				p = end + 1;
			else
				p = end - 1;
		} else if (c == '[' && !esc) {
			/* a bracket expression is one node; find its end */
			const char *q = p + 1;

			if (*q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q != '\0' && *q != ']') {
				if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
					const char *close = strchr(q + 2, q[1]);

					q = close != NULL && close[1] == ']' ? close + 2 : q + 1;
				} else {
					q++;
				}
			}
			p = *q == '\0' ? q - 1 : q;
			f->total += 1;
			f->last = 1;
			f->last_anchors = 0;
			f->last_height = 0;
		} else if (c == '|' && op) {
			/* alternatives make a group match in several ways
			 * ("(.|){1,255}"), as a repetition does */
			if (f->height == 0)
				f->height = 1;
		} else if (!star && !rep1) {
			f->total += 1;
			f->last = 1;
			f->last_anchors = zero_width ? 1 : 0;
			f->anchors += f->last_anchors;
			f->last_height = 0;
		}
		/* the frame on top now: after a ")" its parent, which took the
		 * group's counts ("((^){127})" eight times in a row was never
		 * checked at the top level) */
		if ((*why_r = frame_over(&stack[depth])) != NULL)
			return false;
	}
	/* groups left open (regcomp refuses them, but count them anyway) */
	while (depth > 0) {
		frame_close(stack, &depth);
		if ((*why_r = frame_over(&stack[depth])) != NULL)
			return false;
	}
	if (stack[0].total > MAPS_REGEXP_PROBE_NODES || stack[0].anchors > MAPS_REGEXP_PROBE_ANCHORS ||
	    stack[0].height >= MAPS_REGEXP_PROBE_HEIGHT)
		*costly_r = true;
	return true;
}

/* regcomp_is_cheap - whether glibc compiles text within a bounded cost,
 * found out in a child process held to maps_regexp_probe_ms of CPU time
 * (MAPS_REGEXP_PROBE_MS) and, outside sanitizer builds (their shadow memory needs terabytes
 * of address space), MAPS_REGEXP_PROBE_MEM bytes of it. The estimate
 * above catches the known ways to make regcomp take seconds or gigabytes,
 * but fuzzers kept finding new ones in glibc's compiler; a pattern it
 * calls costly is compiled here first. A child that cannot be had (fork
 * fails) leaves the estimate to decide. */
static bool
regcomp_is_cheap(const char *text, int cflags, unsigned long *cpu_ms_r)
{
	struct sigaction dfl, old_chld;
	sigset_t block, old;
	struct rusage ru;
	pid_t pid, got = -1;
	int st = 0;
	bool cheap = true;

	*cpu_ms_r = 0;

	/* no SIGCHLD handler of the caller's may reap the child first, nor
	 * the kernel when the caller ignores SIGCHLD (an ignored SIGCHLD
	 * reaps children at exit): the default disposition meanwhile */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	(void)pthread_sigmask(SIG_BLOCK, &block, &old);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	(void)sigaction(SIGCHLD, &dfl, &old_chld);
	pid = fork();
	if (pid == 0) {
		/* SIGPROF's default action ends the child when its CPU time
		 * is up; RLIMIT_CPU is the backstop */
		struct itimerval budget = { { 0, 0 }, { maps_regexp_probe_ms / 1000,
		    (suseconds_t)(maps_regexp_probe_ms % 1000) * 1000 } };
		struct rlimit cpu = { maps_regexp_probe_ms / 1000 + 2, maps_regexp_probe_ms / 1000 + 3 };
		struct rlimit none = { 0, 0 };
		sigset_t prof;
		regex_t re;
		int rc;

		(void)setrlimit(RLIMIT_CORE, &none);
		(void)setrlimit(RLIMIT_CPU, &cpu);
		signal(SIGPROF, SIG_DFL);
		sigemptyset(&prof);
		sigaddset(&prof, SIGPROF);
		(void)pthread_sigmask(SIG_UNBLOCK, &prof, NULL);
		(void)setitimer(ITIMER_PROF, &budget, NULL);
#if !defined(__SANITIZE_ADDRESS__) && !MAPS_REGEXP_HAS_ASAN
		{
			struct rlimit mem = { MAPS_REGEXP_PROBE_MEM, MAPS_REGEXP_PROBE_MEM };

			(void)setrlimit(RLIMIT_AS, &mem);
		}
#endif
		rc = regcomp(&re, text, cflags);
		_exit(rc == 0 ? 0 : rc == REG_ESPACE ? 2 : 1);
	}
	if (pid > 0) {
		memset(&ru, 0, sizeof(ru));
		while ((got = wait4(pid, &st, 0, &ru)) < 0 && errno == EINTR)
			;
		*cpu_ms_r = (unsigned long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		    (unsigned long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
		/* a compile error is regcomp's to report again in here; out of
		 * memory or killed (SIGPROF, SIGXCPU) is too costly */
		cheap = got == pid && WIFEXITED(st) && WEXITSTATUS(st) != 2;
	}
	(void)sigaction(SIGCHLD, &old_chld, NULL);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return cheap;
}

/* get_pattern - "[!...]<d>text<d>flags" at *pp; advances *pp past it */
static bool
get_pattern(struct rx_table *tb, int line, char **pp, struct rx_pattern *pat)
{
	char *p = *pp, delim;

	pat->match = true;
	for (; *p == '!' || isspace((unsigned char)*p); p++)
		if (*p == '!')
			pat->match = !pat->match;
	if (*p == '\0') {
		log_warn("regexp map %s, line %d: no regexp: skipping this rule", tb->path, line);
		return false;
	}
	delim = *p++;
	pat->text = p;
	while (*p != '\0' && *p != delim) {
		if (*p == '\\') {
			if (p[1] == '\0')
				break;
			p++;
		}
		p++;
	}
	if (*p == '\0') {
		log_warn("regexp map %s, line %d: no closing regexp delimiter \"%c\": "
		    "skipping this rule", tb->path, line, delim);
		return false;
	}
	*p++ = '\0';
	pat->cflags = REG_EXTENDED | REG_ICASE;
	for (; *p != '\0' && !isspace((unsigned char)*p) && *p != '!'; p++) {
		switch (*p) {
		case 'i':
			pat->cflags ^= REG_ICASE;
			break;
		case 'm':
			pat->cflags ^= REG_NEWLINE;
			break;
		case 'x':
			pat->cflags ^= REG_EXTENDED;
			break;
		default:
			log_warn("regexp map %s, line %d: unknown regexp option \"%c\": "
			    "skipping this rule", tb->path, line, *p);
			return false;
		}
	}
	*pp = p;
	return true;
}

static bool
compile(struct rx_table *tb, int line, const struct rx_pattern *pat, int extra, regex_t *re)
{
	const char *why;
	bool costly;
	char buf[256];
	int err;

	if (!pattern_is_bounded(pat->text, (pat->cflags & REG_EXTENDED) != 0, &costly, &why)) {
		log_warn("regexp map %s, line %d: %s: skipping this rule", tb->path, line, why);
		return false;
	}
	if (costly && tb->probe_ms > MAPS_REGEXP_PROBE_TABLE_MS) {
		/* a table of many slow patterns must not take minutes */
		log_warn("regexp map %s, line %d: the table's patterns took regcomp over %d ms "
		    "already: skipping this costly rule", tb->path, line,
		    MAPS_REGEXP_PROBE_TABLE_MS);
		return false;
	}
	if (costly) {
		unsigned long ms;
		bool cheap = regcomp_is_cheap(pat->text, pat->cflags | extra, &ms);

		tb->probe_ms += ms;
		if (!cheap) {
			log_warn("regexp map %s, line %d: pattern takes glibc's regcomp over %u ms "
			    "or %d MB: skipping this rule", tb->path, line, maps_regexp_probe_ms,
			    (int)(MAPS_REGEXP_PROBE_MEM >> 20));
			return false;
		}
	}
	if ((err = regcomp(re, pat->text, pat->cflags | extra)) != 0) {
		regerror(err, re, buf, sizeof(buf));
		log_warn("regexp map %s, line %d: %s", tb->path, line, buf);
		regfree(re);
		return false;
	}
	return true;
}

/* scan_replacement - check $n references; the highest n in *max_r */
static bool
scan_replacement(struct rx_table *tb, int line, const char *s, size_t *max_r)
{
	*max_r = 0;
	while ((s = strchr(s, '$')) != NULL) {
		const char *name, *end;
		unsigned long n;

		s++;
		if (*s == '$') {
			s++;
			continue;
		}
		if (*s == '{' || *s == '(') {
			char close = *s == '{' ? '}' : ')';

			name = s + 1;
			if ((end = strchr(name, close)) == NULL)
				goto bad;
			s = end + 1;
		} else {
			name = s;
			for (end = s; isalnum((unsigned char)*end) || *end == '_'; end++)
				;
			s = end;
		}
		if (end == name)
			goto bad;
		for (const char *d = name; d < end; d++) {
			if (!isdigit((unsigned char)*d)) {
				log_warn("regexp map %s, line %d: non-numeric replacement index "
				    "\"%.*s\"", tb->path, line, (int)(end - name), name);
				goto bad;
			}
		}
		n = end - name > 6 ? 1000000 : strtoul(name, NULL, 10);
		if (n < 1 || n > 1000) {
			log_warn("regexp map %s, line %d: out-of-range replacement index \"%.*s\"",
			    tb->path, line, (int)(end - name), name);
			goto bad;
		}
		if (n > *max_r)
			*max_r = n;
	}
	return true;
bad:
	log_warn("regexp map %s, line %d: bad replacement syntax: skipping this rule",
	    tb->path, line);
	return false;
}

static struct rx_rule *
rule_add(struct rx_table *tb, enum rx_op op, int line)
{
	struct rx_rule *r;

	if (tb->n == tb->cap) {
		tb->cap = tb->cap ? tb->cap * 2 : 32;
		tb->rules = xreallocarray(tb->rules, tb->cap, sizeof(*tb->rules));
	}
	r = &tb->rules[tb->n++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->line = line;
	return r;
}

static void
parse_match(struct rx_table *tb, char *p, int line)
{
	struct rx_pattern first, second;
	bool has_second = false;
	regex_t re1, re2;
	struct rx_rule *r;
	size_t max_sub;

	if (!get_pattern(tb, line, &p, &first))
		return;
	if (*p == '!') {
		if (!get_pattern(tb, line, &p, &second))
			return;
		has_second = true;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		log_warn("regexp map %s, line %d: no replacement text: using empty string",
		    tb->path, line);
	if (!scan_replacement(tb, line, p, &max_sub))
		return;
	if (max_sub > 0 && !first.match) {
		log_warn("regexp map %s, line %d: $number found in negative match replacement "
		    "text: skipping this rule", tb->path, line);
		return;
	}
	if (!compile(tb, line, &first, max_sub == 0 ? REG_NOSUB : 0, &re1))
		return;
	if (max_sub > re1.re_nsub) {
		log_warn("regexp map %s, line %d: out of range replacement index \"%d\": "
		    "skipping this rule", tb->path, line, (int)max_sub);
		regfree(&re1);
		return;
	}
	if (has_second && !compile(tb, line, &second, REG_NOSUB, &re2)) {
		regfree(&re1);
		return;
	}
	r = rule_add(tb, RX_MATCH, line);
	r->first = re1;
	r->first_match = first.match;
	r->has_second = has_second;
	if (has_second) {
		r->second = re2;
		r->second_match = second.match;
	}
	r->replacement = xstrdup(p);
	r->max_sub = max_sub;
	if (max_sub > tb->max_sub)
		tb->max_sub = max_sub;
}

static int
parse_line(void *ctx, struct str *line, int lineno)
{
	struct rx_table *tb = ctx;
	char *p = line->s;
	struct rx_rule *r;

	while (line->len > 0 && isspace((unsigned char)line->s[line->len - 1]))
		line->s[--line->len] = '\0';
	if (*p == '\0')
		return 0;
	if (tb->n >= MAPS_REGEXP_RULES_MAX) {
		log_warn("regexp map %s, line %d: more than %d rules: ignoring the rest",
		    tb->path, lineno, MAPS_REGEXP_RULES_MAX);
		return -1;
	}
	if (!isalnum((unsigned char)*p)) {
		parse_match(tb, p, lineno);
	} else if (strncasecmp(p, "if", 2) == 0 && !isalnum((unsigned char)p[2])) {
		struct rx_pattern pat;
		regex_t re;

		p += 2;
		if (!get_pattern(tb, lineno, &p, &pat))
			return 0;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '\0') {
			log_warn("regexp map %s, line %d: ignoring extra text after IF statement: "
			    "\"%s\"", tb->path, lineno, p);
			log_warn("regexp map %s, line %d: do not prepend whitespace to statements "
			    "between IF and ENDIF", tb->path, lineno);
		}
		if (tb->nesting >= MAPS_REGEXP_NESTING_MAX) {
			log_warn("regexp map %s, line %d: IF nested more than %d deep: "
			    "skipping this rule", tb->path, lineno, MAPS_REGEXP_NESTING_MAX);
			return 0;
		}
		if (!compile(tb, lineno, &pat, REG_NOSUB, &re))
			return 0;
		r = rule_add(tb, RX_IF, lineno);
		r->first = re;
		r->first_match = pat.match;
		tb->stack[tb->nesting++] = tb->n - 1;
	} else if (strncasecmp(p, "endif", 5) == 0 && !isalnum((unsigned char)p[5])) {
		if (tb->nesting == 0) {
			log_warn("regexp map %s, line %d: ignoring ENDIF without matching IF",
			    tb->path, lineno);
			return 0;
		}
		for (p += 5; isspace((unsigned char)*p); p++)
			;
		if (*p != '\0')
			log_warn("regexp map %s, line %d: ignoring extra text after ENDIF",
			    tb->path, lineno);
		rule_add(tb, RX_ENDIF, lineno);
		tb->rules[tb->stack[--tb->nesting]].endif = tb->n - 1;
	} else {
		log_warn("regexp map %s, line %d: ignoring unrecognized request", tb->path, lineno);
	}
	return 0;
}

static void
rx_free(struct rx_table *tb)
{
	size_t i;

	for (i = 0; i < tb->n; i++) {
		struct rx_rule *r = &tb->rules[i];

		if (r->op == RX_ENDIF)
			continue;
		regfree(&r->first);
		if (r->has_second)
			regfree(&r->second);
		free(r->replacement);
	}
	free(tb->rules);
	free(tb->pmatch);
	free(tb->stack);
	free(tb);
}

static int
regexp_open(struct maps_table *t, const char **error_r)
{
	struct rx_table *tb = xcalloc(1, sizeof(*tb));
	struct str text;

	str_init(&text, 4096);
	if (file_read(t->name, MAPS_REGEXP_FILE_MAX, &text) < 0) {
		*error_r = maps_error("open %s: %s", t->name,
		    errno == EFBIG ? "file is too large" : strerror(errno));
		str_deinit(&text);
		free(tb);
		return -1;
	}
	tb->path = t->name;
	tb->stack = xcalloc(MAPS_REGEXP_NESTING_MAX, sizeof(size_t));
	(void)maps_source_lines(t->name, text.s, text.len, parse_line, tb);
	while (tb->nesting > 0)
		log_warn("regexp map %s, line %d: IF has no matching ENDIF", t->name,
		    tb->rules[tb->stack[--tb->nesting]].line);
	tb->pmatch = xcalloc(tb->max_sub + 1, sizeof(regmatch_t));
	str_deinit(&text);
	t->ctx = tb;
	return 0;
}

/* expand - the replacement with $n from the match; an unmatched group is
 * empty text */
static void
expand(const struct rx_rule *r, const regmatch_t *pm, const char *key, struct str *out)
{
	const char *s = r->replacement;

	str_reset(out);
	while (*s != '\0') {
		const char *name, *end;
		size_t n;

		if (*s != '$') {
			str_append_c(out, *s++);
			continue;
		}
		s++;
		if (*s == '$') {
			str_append_c(out, *s++);
			continue;
		}
		if (*s == '{' || *s == '(') {
			name = s + 1;
			end = strchr(name, *s == '{' ? '}' : ')');
			s = end + 1;
		} else {
			name = s;
			for (end = s; isdigit((unsigned char)*end); end++)
				;
			s = end;
		}
		n = strtoul(name, NULL, 10);
		if (n <= r->max_sub && pm[n].rm_so >= 0 && pm[n].rm_eo > pm[n].rm_so)
			str_append_n(out, key + pm[n].rm_so, (size_t)(pm[n].rm_eo - pm[n].rm_so));
	}
}

/* matches - 1 the rule's sense holds, 0 not, -1 regexec failed. Postfix
 * logs a failure and reads it as "no match"; here it is an error, so that
 * a rule that could not be evaluated never lets mail past. */
static int
matches(const struct maps_table *t, const struct rx_rule *r, const regex_t *re, bool want,
    const char *key, size_t nmatch, regmatch_t *pm, const char **error_r)
{
	int err = regexec(re, key, nmatch, pm, 0);

	if (err == 0)
		return want ? 1 : 0;
	if (err == REG_NOMATCH)
		return want ? 0 : 1;
	*error_r = maps_error("regexp map %s, line %d: regexec failed (%d)", t->name, r->line,
	    err);
	return -1;
}

static int
regexp_lookup(struct maps_table *t, const char *key, struct str *value_r, const char **error_r)
{
	struct rx_table *tb = t->ctx;
	size_t i;
	int m;

	for (i = 0; i < tb->n; i++) {
		const struct rx_rule *r = &tb->rules[i];

		switch (r->op) {
		case RX_MATCH:
			m = matches(t, r, &r->first, r->first_match, key,
			    r->max_sub > 0 ? r->max_sub + 1 : 0, tb->pmatch, error_r);
			if (m <= 0) {
				if (m < 0)
					return -1;
				continue;
			}
			if (r->has_second) {
				m = matches(t, r, &r->second, r->second_match, key, 0, NULL,
				    error_r);
				if (m <= 0) {
					if (m < 0)
						return -1;
					continue;
				}
			}
			expand(r, tb->pmatch, key, value_r);
			return 1;
		case RX_IF:
			m = matches(t, r, &r->first, r->first_match, key, 0, NULL, error_r);
			if (m < 0)
				return -1;
			if (m == 0) {
				if (r->endif == 0)
					return 0;	/* IF without ENDIF: nothing after */
				i = r->endif;
			}
			continue;
		case RX_ENDIF:
			continue;
		}
	}
	return 0;
}

static void
regexp_close(struct maps_table *t)
{
	if (t->ctx != NULL)
		rx_free(t->ctx);
	t->ctx = NULL;
}

const struct maps_backend maps_backend_regexp = {
	"regexp", MAPS_BACKEND_PATTERN, regexp_open, regexp_lookup, NULL, regexp_close,
};
