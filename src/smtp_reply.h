/*
 * smtp_reply.h: pure parsers for what a remote SMTP server says to our
 * client (mta_session.c): replies (RFC 5321 4.2, multi-line 4.2.1),
 * enhanced status codes (RFC 2034, RFC 3463) and the EHLO keywords we use
 * (RFC 2920 PIPELINING, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3207
 * STARTTLS, RFC 4954 AUTH). No I/O; the input is untrusted.
 */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pillory.h"

/* RFC 5321 4.5.3.1.5 says 512 octets per reply line; real servers write
 * longer EHLO and error lines, so allow a text line's 1000. */
#define SMTP_REPLY_LINE_MAX	SMTP_TEXT_LINE_MAX
/* Lines in one reply (an EHLO reply has one per extension). */
#define SMTP_REPLY_LINES_MAX	64
/* Octets of one whole reply: more without its end is a protocol error. */
#define SMTP_REPLY_MAX		(SMTP_REPLY_LINE_MAX * SMTP_REPLY_LINES_MAX)
/* "x.yyy.zzz" and NUL. */
#define SMTP_REPLY_STATUS_MAX	12

enum smtp_reply_result {
	SMTP_REPLY_MORE = 0,	/* a valid prefix: read more, call again */
	SMTP_REPLY_OK,		/* one complete reply in *reply_out */
	SMTP_REPLY_INVALID,	/* not an SMTP reply, or over a limit */
};

struct smtp_reply {
	unsigned	code;		/* 200..559 */
	/* RFC 2034 enhanced code from the first line, when its class
	 * matches the reply's first digit; else "". */
	char		status[SMTP_REPLY_STATUS_MAX];
	size_t		nlines;
	/* Text of each line after "NNN-" / "NNN ", without the line end;
	 * spans into the caller's buffer. */
	struct span	lines[SMTP_REPLY_LINES_MAX];
	size_t		consumed;	/* octets of buf the reply took */
};

/*
 * Parse one reply at the start of buf (len octets). Lines end in CRLF or
 * in a bare LF (we are lenient with what servers send; we never relay
 * their text). Each line is three digits (2-5, 0-5, 0-9), then '-' (more
 * lines follow), ' ' or the line end; every line carries the same code.
 * Refused: NUL, a line longer than SMTP_REPLY_LINE_MAX with its end, more
 * than SMTP_REPLY_LINES_MAX lines. Returns SMTP_REPLY_MORE when buf
 * holds a valid but incomplete reply (the caller gives up once it has
 * SMTP_REPLY_MAX octets without an answer).
 */
enum smtp_reply_result smtp_reply_parse(const char *buf, size_t len,
    struct smtp_reply *reply_out);

/* What an EHLO reply offers. */
struct smtp_ehlo {
	bool		pipelining;
	bool		starttls;
	bool		eightbitmime;
	bool		enhancedstatuscodes;
	bool		size;
	uint64_t	size_max;	/* 0: no limit announced */
	bool		auth_plain;
	bool		auth_login;
};

/* Read the keywords of a 250 EHLO reply (lines after the first; ASCII
 * case ignored; "AUTH=" as old servers write it counts as AUTH). */
void smtp_reply_ehlo(const struct smtp_reply *reply, struct smtp_ehlo *out);

/*
 * The reply as one line of text for logs and bounces: "550 5.1.1 text
 * of line one text of line two", control characters and non-ASCII shown
 * as '?', cut to size - 1 octets. Returns out.
 */
char *smtp_reply_text(const struct smtp_reply *reply, char *out,
    size_t size);

/* RFC 3463 status for a reply: its enhanced code, else "C.0.0" from the
 * first digit (2, 4 or 5). out holds SMTP_REPLY_STATUS_MAX. */
void smtp_reply_status(const struct smtp_reply *reply, char *out);

#endif
