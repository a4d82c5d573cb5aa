/*
 * bounce.h: delivery status notifications (RFC 3464) for the outbound
 * queue: a permanent failure, an expired message, or a delay notice. The
 * report is a multipart/report (RFC 6522) with a human-readable part, a
 * message/delivery-status part and the original message's header as
 * text/rfc822-headers; it comes from MAILER-DAEMON@hostname with the null
 * sender <> (RFC 5321 4.5.5) and goes to the original envelope sender:
 * into the Maildir (through the spool, durably) when the sender is one of
 * our users, into the queue otherwise.
 */
#ifndef BOUNCE_H
#define BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct engine;

/* Original header octets quoted in a report; the rest is left out. */
#define BOUNCE_HEADERS_MAX	(64 * 1024)
/* Longest line we write (RFC 5322 2.1.1 allows 998). */
#define BOUNCE_LINE_MAX		998

enum bounce_action {
	BOUNCE_FAILED = 0,	/* RFC 3464 2.3.3 "failed" */
	BOUNCE_DELAYED,		/* "delayed" */
};

struct bounce_rcpt {
	const char		*addr;
	enum bounce_action	 action;
	const char		*status;	/* RFC 3463 "5.1.1" */
	const char		*remote;	/* remote MTA host, or NULL */
	const char		*diag;		/* reply or reason, or NULL */
};

struct bounce_report {
	const char		*hostname;	/* Reporting-MTA */
	const char		*queue_id;	/* the original's id */
	const char		*sender;	/* who gets the report */
	time_t			 arrival;
	time_t			 now;
	time_t			 retry_until;	/* for delayed recipients */
	const struct bounce_rcpt *rcpts;
	size_t			 nrcpts;
	const char		*headers;	/* original header, LF lines */
	size_t			 headers_len;
};

/* One line of the report, without its line end. */
typedef void (*bounce_line_cb)(const char *line, size_t len, void *arg);

/*
 * Write the report as message text, one line at a time: the header
 * (Date, From, To, Subject, Message-ID msg_id@hostname, MIME, Auto-
 * Submitted: auto-replied per RFC 3834 5), the three parts, and the
 * closing boundary. boundary must be unique (the caller makes it random);
 * header lines of the original that would look like it are changed.
 * Control characters in attacker-controlled text (addresses, remote
 * replies) become '?'; every line is at most BOUNCE_LINE_MAX octets.
 * Pure.
 */
void bounce_format(const struct bounce_report *r, const char *msg_id,
    const char *boundary, bounce_line_cb emit, void *arg);

/*
 * Read the header of the message at path (up to its first empty line, at
 * most BOUNCE_HEADERS_MAX octets, cut on a line end) into a new buffer;
 * *len_out gets its length. NULL with errno when it cannot be read.
 */
char *bounce_read_headers(const char *path, size_t *len_out);

/* status 0: the report is durable (Maildir or queue), -1: it is not and
 * the caller should try again later. queue_id is the report's own queue
 * entry when it went to the queue (a remote sender), else NULL. */
typedef void (*bounce_done_cb)(int status, const char *queue_id, void *arg);

enum bounce_send_result {
	BOUNCE_SENT = 0,	/* committing; cb comes later */
	BOUNCE_DROPPED,		/* nobody to send it to (logged); no cb */
	BOUNCE_TRY_LATER,	/* the spool refused a new message; no cb */
};

/*
 * Write the report into the spool and commit it: to the sender's
 * mailboxes when the sender's domain is local (a user, postmaster or an
 * alias, expanded as the SMTP server does), to the queue otherwise. A
 * local sender nobody has is BOUNCE_DROPPED. cb runs on the event loop
 * once the spool is done.
 */
enum bounce_send_result bounce_send(struct engine *eng,
    const struct bounce_report *r, bounce_done_cb cb, void *arg);

#endif
