/*
 * submit_parse.h: the request lines of the local submission socket
 * (submit.h), parsed without I/O. The peer is any local user, so every
 * line is bounded and checked.
 *
 * A request is, one line each, LF-terminated:
 *     MAIL <sender>        once, first ("MAIL <>": the null sender)
 *     RCPT <address>       one per recipient, at least one
 *     DATA <octets>        then exactly that many octets of message text,
 *                          LF line ends, no dot-stuffing
 * or the single line
 *     RELOAD               (root and the daemon's user only)
 * The daemon answers with one line, "ok ID" or "CODE TEXT", where CODE
 * is one of the submit_status names below, and closes.
 */
#ifndef SUBMIT_PARSE_H
#define SUBMIT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "pillory.h"

/* A request line, LF included. */
#define SUBMIT_LINE_MAX		(ADDRESS_MAX + 16)

enum submit_verb {
	SUBMIT_MAIL,
	SUBMIT_RCPT,
	SUBMIT_DATA,
	SUBMIT_RELOAD,
};

struct submit_line {
	enum submit_verb	verb;
	char			addr[ADDRESS_MAX + 1];	/* MAIL, RCPT */
	uint64_t		size;			/* DATA */
};

/* Answers; each maps to a sysexits.h code in the client. */
enum submit_status {
	SUBMIT_OK = 0,
	SUBMIT_USAGE,		/* EX_USAGE: a broken request */
	SUBMIT_DATAERR,		/* EX_DATAERR: bad address or message */
	SUBMIT_NOUSER,		/* EX_NOUSER: unknown local recipient */
	SUBMIT_NOPERM,		/* EX_NOPERM */
	SUBMIT_TEMPFAIL,	/* EX_TEMPFAIL: try again later */
	SUBMIT_STATUS_COUNT
};

/*
 * Parse one request line (len octets, without its LF). Returns 0 and
 * fills out, or -1 when the line is not one of the forms above: unknown
 * verb, missing or extra text, an address longer than ADDRESS_MAX or with
 * control characters or spaces, a size that is not a plain decimal number.
 */
int submit_parse_line(const char *line, size_t len, struct submit_line *out);

/* "ok", "usage", "dataerr", "nouser", "noperm", "tempfail". */
const char *submit_status_name(enum submit_status st);

/* The status whose name starts line (len octets) followed by a space or
 * the end; -1 when none. */
int submit_status_parse(const char *line, size_t len);

#endif
