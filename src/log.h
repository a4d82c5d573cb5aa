/*
 * log.h: the daemon's log: one line per event to stderr ("pillory[pid]:
 * LEVEL message") and, when [server] syslog = yes, to syslog facility mail.
 * Session lines start with the session id, then key=value pairs.
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN,
    LOG_LEVEL_ERR };

/* Call once; use_syslog may be changed later by log_set_syslog(). */
void log_init(const char *ident, bool use_syslog);
void log_set_syslog(bool use_syslog);
void log_set_debug(bool on);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A broken invariant: log file:line and abort. */
#define FATAL(msg) log_fatal(__FILE__, __LINE__, (msg))
void log_fatal(const char *file, int line, const char *msg)
    __attribute__((noreturn));

/*
 * Copy attacker-controlled text into out (size bytes) with control
 * characters, backslash, quotes and non-ASCII shown as \xHH so that a log
 * line is always one line. Returns out.
 */
char *log_sanitize(const char *in, char *out, size_t size);

/*
 * [server] syslog = yes on a host without /dev/log: warn once per call that
 * the lines reach stderr only (syslog(3) drops them silently).
 */
void log_syslog_check(bool use_syslog);

/*
 * One delivery line per recipient, as Postfix writes them, so that a grep
 * for an address or a queue id answers "where did my mail go":
 *   id=ID from=<s> to=<r> [orig_to=<o>] relay=R [delay=D] [dsn=X]
 *   status=sent|deferred|bounced|expired (text)
 * orig_to is left out when NULL or equal to to; delay when negative; dsn
 * when NULL. Addresses and text are sanitized (log_sanitize).
 */
void log_delivery(const char *id, const char *from, const char *to,
    const char *orig_to, const char *relay, double delay, const char *dsn,
    const char *status, const char *text);

#endif
