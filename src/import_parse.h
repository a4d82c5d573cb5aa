/*
 * import_parse.h: pure parser of one mail log line for `pillory import`:
 * Postfix and Dovecot lines as classic syslog ("Mar  8 06:32:50 host
 * ident[pid]: text"), RFC 3339 syslog ("2026-03-08T06:32:50.123456+09:00
 * host ident[pid]: text"), Postfix's own maillog_file, or one object of
 * `journalctl -o json`. It finds what pillory records: relay refusals,
 * SASL failures and postscreen protocol events (attack records) and
 * Dovecot POP3/IMAP logins (grants).
 */
#ifndef IMPORT_PARSE_H
#define IMPORT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "attacklog.h"

/* Longest input line taken; journal objects carry many fields. */
#define IMPORT_LINE_MAX		65536
/* Longest log message (the MESSAGE field or the text after "ident: "). */
#define IMPORT_MESSAGE_MAX	8192
/* A syslog time more than this far in the future is from last year. */
#define IMPORT_FUTURE_SLACK_US	(31LL * 86400 * 1000000)

enum import_format {
	IMPORT_FORMAT_AUTO,	/* journal JSON when it starts with '{' */
	IMPORT_FORMAT_POSTFIX,	/* syslog lines, Postfix events only */
	IMPORT_FORMAT_DOVECOT,	/* syslog lines, Dovecot logins only */
	IMPORT_FORMAT_JOURNAL,	/* journalctl -o json objects */
};

enum import_event_type {
	IMPORT_EVENT_NONE,	/* a line of no interest */
	IMPORT_EVENT_RECORD,	/* ev->rec is an attack record */
	IMPORT_EVENT_GRANT,	/* ev->grant_ip logged in as ev->grant_user */
	IMPORT_EVENT_BAD,	/* not a log line of the format */
};

struct import_event {
	enum import_event_type	 type;
	int64_t			 time_us;
	struct attack_record	 rec;
	char			 grant_ip[IPADDR_TEXT_MAX];
	char			 grant_user[ADDRESS_MAX + 1];
	/* "TIME HOST IDENT[PID]: MESSAGE" with TIME in microseconds: equal
	 * for the same line however often it is read (the dedupe key). */
	char			 key[IMPORT_MESSAGE_MAX + 512];
};

/* "auto", "postfix", "dovecot", "journal-json"; false otherwise. */
bool import_format_from_name(const char *name, enum import_format *out);

/*
 * Parse one line (len bytes, no newline) of format fmt. now_us places
 * syslog times without a year: the year of now, or the one before when
 * that would be more than IMPORT_FUTURE_SLACK_US ahead of now (a December
 * line read in January). Times without an offset are local time (TZ). A
 * relay refusal whose sender's domain is in local is spoofed-relay, else
 * relay. Pure: no I/O, no allocation; ev is always filled.
 */
enum import_event_type import_parse_line(const char *line, size_t len,
    enum import_format fmt, int64_t now_us, const struct domain_list *local,
    struct import_event *ev);

#endif
