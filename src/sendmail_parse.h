/*
 * sendmail_parse.h: pure parsers behind the sendmail(8) interface
 * (cmd_sendmail.c): its command line, and the addresses in a message's
 * To/Cc/Bcc header fields (RFC 5322 3.4). No I/O; the input comes from the
 * local user who runs the command, so it is bounded and never trusted.
 */
#ifndef SENDMAIL_PARSE_H
#define SENDMAIL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "pillory.h"

enum sendmail_mode {
	SENDMAIL_SEND = 0,	/* -bm: read a message and send it */
	SENDMAIL_QUEUE,		/* -bp, mailq: list the queue */
	SENDMAIL_RELOAD,	/* -bi, newaliases: reload the daemon */
};

struct sendmail_opts {
	enum sendmail_mode	 mode;
	bool			 from_headers;	/* -t */
	bool			 ignore_dots;	/* -i, -oi */
	const char		*from;		/* -f/-r ADDR, or NULL */
	const char		*fullname;	/* -F NAME, or NULL */
	const char		*config;	/* -C FILE, or NULL */
	int			 first_rcpt;	/* argv index of the first
						 * recipient (argc: none) */
};

/*
 * Parse sendmail's arguments (argv[0] is the program name). Flags may be
 * joined to their values (-fADDR) or not (-f ADDR); "--" ends the options.
 * Options with no meaning here (-odi, -oem, -v, -N dsn ...) are accepted
 * and ignored. Returns 0, or -1 with a one-line reason in err for an
 * unknown or unsupported option (-bs, -bd ...) or a missing value.
 */
int sendmail_parse_args(int argc, char **argv, struct sendmail_opts *opts_out,
    char *err, size_t errlen);

/* Called with each address (NUL-terminated, at most ADDRESS_MAX octets). */
typedef void (*sendmail_addr_cb)(const char *addr, void *arg);

/*
 * Find the addr-specs of an RFC 5322 address-list (3.4): "Name <a@b>",
 * "a@b (comment)", groups "team: a@b, c@d;", quoted strings and comments
 * anywhere. Display names, comments, group names and route prefixes are
 * dropped; unquoted whitespace inside an addr-spec is removed. Empty
 * members are skipped. Returns the number of addresses passed to cb, or -1
 * for an unbalanced quote, comment or angle bracket, an address longer
 * than ADDRESS_MAX, or a control character.
 */
int sendmail_parse_addresses(const char *value, size_t len,
    sendmail_addr_cb cb, void *arg);

/*
 * If line (len octets, no line end) starts a header field, return the
 * length of its name (before the colon); 0 when it does not (RFC 5322
 * 2.2: printable ASCII except ':' and space, then ':').
 */
size_t sendmail_header_name(const char *line, size_t len);

/* True when the header field in line has the name (case-insensitive). */
bool sendmail_header_is(const char *line, size_t len, const char *name);

#endif
