/*
 * report.h: an abuse report for one incident, in the Abuse Reporting
 * Format (RFC 5965): multipart/report; report-type=feedback-report with
 *   1. text/plain: what happened, the network, the incident's log lines
 *      in the site's line format (README, "The attack log");
 *   2. message/feedback-report: Feedback-Type: abuse, User-Agent,
 *      Version: 1, Original-Mail-From, Original-Rcpt-To, Arrival-Date,
 *      Reporting-MTA, Source-IP, Incidents, Reported-Domain (when known);
 *   3. text/rfc822-headers: the refused envelope as header fields (no
 *      message was ever accepted, so there is no body to attach; RFC 5965
 *      2 (d) allows the headers alone).
 * Pure: builds text in memory (LF line ends); cmd_report.c prints it or
 * queues it. Every attacker-controlled string is kept on one line
 * (control characters become '?'), so nothing can add a header field or
 * a MIME boundary.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct attack_record;
struct attrib;
struct store_incident;

/* Log lines in one report, the newest. */
#define REPORT_LINES_MAX	1000
/* Original-Rcpt-To fields, the first distinct ones. */
#define REPORT_RCPTS_MAX	20

struct report_input {
	const struct store_incident	*in;
	const struct attack_record	*recs;	/* oldest first */
	size_t				 nrecs;
	const struct attrib		*attr;	/* the incident's network */
	const char			*hostname; /* Reporting-MTA */
	const char			*from;	/* postmaster@first domain */
	const char			*to;
	const char			*message_id; /* without <> */
	int64_t				 now_us;
	bool				 mask;	/* recipients in the lines */
};

/*
 * The whole message (header and body), NUL-terminated, *len_out octets;
 * the caller frees it. Never fails (out of memory aborts).
 */
char *report_build(const struct report_input *r, size_t *len_out);

#endif
