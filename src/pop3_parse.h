/*
 * pop3_parse.h: pure POP3 command parser (RFC 1939 3, RFC 2449 4,
 * RFC 5034 4, RFC 2595 4). No I/O, no allocation; arguments come back as
 * spans into the caller's line.
 */
#ifndef POP3_PARSE_H
#define POP3_PARSE_H

#include "auth.h"
#include "pillory.h"
#include "sasl.h"

/* RFC 2449 4: a command line is at most 255 octets with its CRLF ... */
#define POP3_COMMAND_LINE_MAX	255
/* ... and each argument at most 40 characters. */
#define POP3_ARG_MAX		40
/*
 * Exceptions, as real clients need them: the USER name is a full address
 * (AUTH_USER_MAX), PASS takes the rest of the line (AUTH_PASSWORD_MAX),
 * and an AUTH initial response (RFC 5034 4) or a SASL continuation line
 * is up to SASL_RESPONSE_MAX octets of base64.
 */
#define POP3_USER_LINE_MAX	(5 + AUTH_USER_MAX + 2)
#define POP3_PASS_LINE_MAX	(5 + AUTH_PASSWORD_MAX + 2)
#define POP3_AUTH_LINE_MAX	(5 + SASL_MECH_MAX + 1 + SASL_RESPONSE_MAX + 2)
#define POP3_SASL_LINE_MAX	(SASL_RESPONSE_MAX + 2)
/* The longest line a session ever reads, CRLF included. */
#define POP3_LINE_MAX		POP3_AUTH_LINE_MAX
/* A message number or line count: 1..INT_MAX (0 allowed for TOP lines). */
#define POP3_NUMBER_MAX		2147483647u

enum pop3_verb {
	POP3_VERB_UNKNOWN = 0,
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_AUTH,
	POP3_VERB_APOP,		/* recognised, not supported */
	POP3_VERB_STLS,
	POP3_VERB_CAPA,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_DELE,
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_QUIT,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
	POP3_VERB_COUNT
};

enum pop3_parse_result {
	POP3_PARSE_OK = 0,
	POP3_PARSE_EMPTY,	/* empty line */
	POP3_PARSE_NUL,		/* NUL octet */
	POP3_PARSE_BARE_EOL,	/* bare CR or LF inside the line */
	POP3_PARSE_8BIT,	/* octet >= 0x80 outside a PASS argument */
	POP3_PARSE_TOO_LONG,	/* line longer than its verb allows */
	POP3_PARSE_ARG_TOO_LONG, /* an argument longer than allowed */
	POP3_PARSE_UNKNOWN,	/* verb not recognised */
	POP3_PARSE_SYNTAX,	/* wrong number of arguments, control char */
};

#define POP3_ARGS_MAX	2

/*
 * A parsed command. For PASS the single argument is the whole rest of the
 * line after "PASS " (spaces included, RFC 1939 7 allows that); for the
 * other verbs arguments are separated by runs of spaces and trailing
 * spaces are ignored.
 */
struct pop3_command {
	enum pop3_verb	 verb;
	unsigned	 nargs;
	struct span	 args[POP3_ARGS_MAX];
};

/*
 * Parse one command line of len octets, without its CRLF. Returns
 * POP3_PARSE_OK and fills cmd_out, or an error. cmd_out->verb is set
 * whenever the verb was recognised (also for TOO_LONG, ARG_TOO_LONG and
 * SYNTAX, so the caller can wipe a PASS line or name the command), else
 * POP3_VERB_UNKNOWN. Verbs are case-insensitive. Octets >= 0x80 are
 * allowed only in a PASS argument (UTF-8 passwords); a PASS argument may
 * hold any octet but NUL, CR and LF.
 */
enum pop3_parse_result pop3_parse_command(const char *line, size_t len,
    struct pop3_command *cmd_out);

/*
 * Check one SASL continuation line (RFC 5034 4) of len octets without
 * CRLF: at most SASL_RESPONSE_MAX octets of printable ASCII. *cancel_out is
 * set when the line is "*" (the client cancels the exchange).
 */
enum pop3_parse_result pop3_parse_sasl_line(const char *line, size_t len,
    bool *cancel_out);

/*
 * A message number or line count: decimal digits only (no sign, no
 * spaces), value in [allow_zero ? 0 : 1, POP3_NUMBER_MAX]. Leading zeros
 * are accepted. Returns false on anything else.
 */
bool pop3_parse_number(struct span arg, bool allow_zero, unsigned *n_out);

/* Canonical upper-case name of a verb ("RETR"); "UNKNOWN" otherwise. */
const char *pop3_verb_name(enum pop3_verb verb);

#endif
