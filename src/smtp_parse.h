/*
 * smtp_parse.h: pure RFC 5321 command and path parser. No I/O, no
 * allocation; every input is bounded by its caller and every output is a
 * fixed-size field whose overflow is reported as invalid input.
 */
#ifndef SMTP_PARSE_H
#define SMTP_PARSE_H

#include "pillory.h"

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_BDAT,
	SMTP_VERB_COUNT
};

enum smtp_parse_result {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_EMPTY,	/* empty line */
	SMTP_PARSE_NUL,		/* NUL octet in the line */
	SMTP_PARSE_BARE_EOL,	/* bare CR or LF inside the line */
	SMTP_PARSE_8BIT,	/* octet >= 0x80 in a command */
	SMTP_PARSE_TOO_LONG,	/* longer than SMTP_LINE_MAX */
	SMTP_PARSE_UNKNOWN,	/* verb not recognised */
};

/*
 * One command line, without its CRLF. The argument is a span into the
 * caller's line: whatever follows the verb and one or more spaces, with
 * trailing spaces removed. For MAIL and RCPT the "FROM:" / "TO:" prefix is
 * not stripped here: smtp_parse_mail() and smtp_parse_rcpt() do that.
 */
struct smtp_command {
	enum smtp_verb	 verb;
	struct span	 arg;	/* len 0 when there is no argument */
};

/*
 * Parse a command line of len octets (no CRLF). Returns SMTP_PARSE_OK and
 * fills cmd_out, or an error code; cmd_out->verb is still set for
 * SMTP_PARSE_UNKNOWN (to SMTP_VERB_UNKNOWN). Verbs are case-insensitive.
 */
enum smtp_parse_result smtp_parse_command(const char *line, size_t len,
    struct smtp_command *cmd_out);

/* Canonical upper-case name of a verb ("MAIL"), for logs. */
const char *smtp_verb_name(enum smtp_verb verb);

enum smtp_path_result {
	SMTP_PATH_OK = 0,
	SMTP_PATH_SYNTAX,	/* 501 5.5.4 / 5.1.7: not a path */
	SMTP_PATH_LOCAL_TOO_LONG, /* 553 5.1.3 */
	SMTP_PATH_DOMAIN_TOO_LONG, /* 553 5.1.3 */
	SMTP_PATH_BAD_PARAM,	/* 555 5.5.4: unknown or malformed parameter */
	SMTP_PATH_NO_DOMAIN,	/* 553 5.1.3: local part without @domain */
};

/*
 * A parsed reverse-path or forward-path. local is the local part with
 * quoting undone (it may contain '@', '%', '!', spaces when it was
 * quoted); domain is lower-cased and, for an address literal, includes the
 * brackets ("[192.0.2.1]" or "[ipv6:2001:db8::1]"). A source route
 * ("@a,@b:") is accepted and dropped as RFC 5321 4.1.2 and appendix C say.
 */
struct smtp_path {
	bool	is_null;		/* <> (MAIL only) */
	bool	is_bare_postmaster;	/* <postmaster> (RCPT only, RFC 5321 4.1.1.3) */
	bool	had_source_route;
	bool	local_was_quoted;
	bool	domain_is_literal;
	char	local[LOCAL_PART_MAX + 1];
	char	domain[DOMAIN_MAX + 1];
};

/* ESMTP parameters of MAIL FROM that pillory supports. */
enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };

struct smtp_mail_params {
	bool		has_size;
	uint64_t	size;		/* RFC 1870 SIZE=, saturated at UINT64_MAX */
	enum smtp_body	body;		/* RFC 6152 BODY= */
	bool		has_auth;	/* RFC 4954 AUTH= (ignored) */
};

/*
 * Parse the argument of MAIL ("FROM:<path> [params]"). Leading "FROM:" is
 * case-insensitive; a space between ':' and '<' is tolerated (many clients
 * send it). Unknown parameters give SMTP_PATH_BAD_PARAM.
 */
enum smtp_path_result smtp_parse_mail(struct span arg, struct smtp_path *path_out,
    struct smtp_mail_params *params_out);

/*
 * Parse the argument of RCPT ("TO:<path>"). No RCPT parameters are
 * supported (DSN is not advertised), so any parameter is
 * SMTP_PATH_BAD_PARAM. "<Postmaster>" without a domain is accepted and
 * flagged. The null path is a syntax error here.
 */
enum smtp_path_result smtp_parse_rcpt(struct span arg, struct smtp_path *path_out);

/*
 * Parse the argument of HELO/EHLO: a domain or an address literal. Returns
 * true and copies it (as given) into helo_out (HELO_MAX + 1 bytes) when it
 * is syntactically acceptable. Lenient on purpose where real clients are
 * sloppy (underscores, trailing dot) but never accepts control characters,
 * spaces inside, or 8-bit octets.
 */
bool smtp_parse_helo(struct span arg, char *helo_out);

/*
 * Write path as "local@domain" (quoting the local part again when it
 * needs it) into out (ADDRESS_MAX + 1 bytes). The null path is "". Returns
 * the length written.
 */
size_t smtp_path_format(const struct smtp_path *path, char *out);

#endif
