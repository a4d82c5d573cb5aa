/*
 * log.c: stderr and syslog output for every process. Lines are written
 * with one write(2) each so that processes sharing stderr do not interleave
 * inside a line.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_ident = "pillory";
static bool		 log_syslog;
static bool		 log_debug_on;
/* getpid() once per process, not per line: a flood logs a line per
 * refused connection. Set before any thread starts; a fork's child sets
 * its own. */
static pid_t		 log_pid;

static void
log_child_pid(void)
{
	log_pid = getpid();
}

void
log_init(const char *ident, bool use_syslog)
{
	static bool	registered;

	log_ident = ident;
	if (!registered && pthread_atfork(NULL, NULL, log_child_pid) == 0)
		registered = true;
	log_pid = getpid();
	log_set_syslog(use_syslog);
	if (getenv("PILLORY_DEBUG") != NULL)
		log_debug_on = true;
}

void
log_set_syslog(bool use_syslog)
{
	if (use_syslog && !log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

void
log_set_debug(bool on)
{
	log_debug_on = on;
}

static void log_emit(int, const char *, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
log_emit(int prio, const char *tag, const char *fmt, va_list ap)
{
	char		 line[2048];
	int		 n, m;
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap2;

	va_copy(ap2, ap);
	if (log_pid == 0)
		log_pid = getpid();
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld]: %s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
	    (long)log_pid, tag);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
	if (log_syslog)
		vsyslog(prio, fmt, ap2);
	va_end(ap2);
}

#define LOG_FN(fn, prio, tag, cond)				\
void								\
fn(const char *fmt, ...)					\
{								\
	va_list	ap;						\
								\
	if (!(cond))						\
		return;						\
	va_start(ap, fmt);					\
	log_emit(prio, tag, fmt, ap);				\
	va_end(ap);						\
}

LOG_FN(log_info, LOG_INFO, "", true)
LOG_FN(log_warn, LOG_WARNING, "warning: ", true)
LOG_FN(log_err, LOG_ERR, "error: ", true)
LOG_FN(log_debug, LOG_DEBUG, "debug: ", log_debug_on)

void
log_fatal(const char *file, int line, const char *msg)
{
	log_err("fatal: %s:%d: %s", file, line, msg);
	abort();
}

char *
log_sanitize(const char *in, char *out, size_t size)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;

	if (size == 0)
		return out;
	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			if (o + 1 >= size)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= size)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

void
log_syslog_check(bool use_syslog)
{
	struct stat	st;

	if (use_syslog && (stat("/dev/log", &st) == -1 || !S_ISSOCK(st.st_mode)))
		log_warn("syslog = yes but /dev/log is not a socket (no syslog "
		    "daemon or journald here?): log lines go to stderr only");
}

void
log_delivery(const char *id, const char *from, const char *to,
    const char *orig_to, const char *relay, double delay, const char *dsn,
    const char *status, const char *text)
{
	char	f[4 * 256 + 1], t[4 * 256 + 1], o[4 * 256 + 16];
	char	r[4 * 300 + 1], x[4 * 512 + 1], d[48], n[32];

	log_sanitize(from ? from : "", f, sizeof(f));
	log_sanitize(to, t, sizeof(t));
	o[0] = '\0';
	if (orig_to != NULL && *orig_to != '\0' && strcmp(orig_to, to) != 0) {
		char b[4 * 256 + 1];

		snprintf(o, sizeof(o), " orig_to=<%s>",
		    log_sanitize(orig_to, b, sizeof(b)));
	}
	log_sanitize(relay, r, sizeof(r));
	log_sanitize(text ? text : "", x, sizeof(x));
	d[0] = n[0] = '\0';
	if (delay >= 0)
		snprintf(d, sizeof(d), " delay=%.1f", delay);
	if (dsn != NULL && *dsn != '\0')
		snprintf(n, sizeof(n), " dsn=%.8s", dsn);
	log_info("id=%s from=<%s> to=<%s>%s relay=%s%s%s status=%s (%s)", id,
	    f, t, o, r, d, n, status, x);
}
