/*
 * pop3_parse.c: pure POP3 command parser.
 *
 * Runs in the unprivileged engine on untrusted network bytes. No I/O, no
 * allocation, no global state. Implements the command syntax of RFC 1939
 * 3 (keyword, arguments separated by spaces) with the limits of RFC 2449 4
 * (255 octets per line with CRLF, 40 per argument), AUTH of RFC 5034 4,
 * STLS of RFC 2595 4 and CAPA of RFC 2449 5.
 *
 * Decisions beyond the RFCs:
 * - USER, PASS and AUTH lines may be longer than 255 octets: a login name
 *   is a full address, a password or a SASL response may be long (the
 *   limits are in pop3_parse.h);
 * - PASS takes the whole rest of the line after one space, including
 *   spaces and octets >= 0x80 (RFC 1939 7 lets the server treat spaces as
 *   part of the password; UTF-8 passwords exist);
 * - other arguments are separated by runs of spaces and trailing spaces
 *   are ignored, because some clients send "STAT " or two spaces;
 * - control characters (tab included) outside PASS are a syntax error.
 */
#include <string.h>

#include "pop3_parse.h"

/* How one verb's arguments are read; the parser walks this table. */
struct pop3_verb_desc {
	const char	*name;
	unsigned	 min_args, max_args;
	size_t		 arg_max[POP3_ARGS_MAX];
	size_t		 line_max;	/* octets with CRLF */
	bool		 rest_of_line;	/* PASS: one argument, verbatim */
};

#define STD_LINE	POP3_COMMAND_LINE_MAX
#define ARG		POP3_ARG_MAX

static const struct pop3_verb_desc pop3_verbs[POP3_VERB_COUNT] = {
	[POP3_VERB_UNKNOWN] = { "UNKNOWN", 0, 0, { 0, 0 }, 0, false },
	/* RFC 1939 7 */
	[POP3_VERB_USER] = { "USER", 1, 1, { AUTH_USER_MAX, 0 },
	    POP3_USER_LINE_MAX, false },
	[POP3_VERB_PASS] = { "PASS", 1, 1, { AUTH_PASSWORD_MAX, 0 },
	    POP3_PASS_LINE_MAX, true },
	/* RFC 5034 4: AUTH mechanism [initial-response]; RFC 1734 era
	 * clients send a bare AUTH to list the mechanisms. */
	[POP3_VERB_AUTH] = { "AUTH", 0, 2, { SASL_MECH_MAX,
	    SASL_RESPONSE_MAX }, POP3_AUTH_LINE_MAX, false },
	[POP3_VERB_APOP] = { "APOP", 0, 2, { AUTH_USER_MAX, ARG },
	    POP3_USER_LINE_MAX + 1 + ARG, false },
	/* RFC 2595 4 */
	[POP3_VERB_STLS] = { "STLS", 0, 0, { 0, 0 }, STD_LINE, false },
	/* RFC 2449 5 */
	[POP3_VERB_CAPA] = { "CAPA", 0, 0, { 0, 0 }, STD_LINE, false },
	/* RFC 1939 5 */
	[POP3_VERB_STAT] = { "STAT", 0, 0, { 0, 0 }, STD_LINE, false },
	[POP3_VERB_LIST] = { "LIST", 0, 1, { ARG, 0 }, STD_LINE, false },
	[POP3_VERB_RETR] = { "RETR", 1, 1, { ARG, 0 }, STD_LINE, false },
	[POP3_VERB_DELE] = { "DELE", 1, 1, { ARG, 0 }, STD_LINE, false },
	[POP3_VERB_NOOP] = { "NOOP", 0, 0, { 0, 0 }, STD_LINE, false },
	[POP3_VERB_RSET] = { "RSET", 0, 0, { 0, 0 }, STD_LINE, false },
	[POP3_VERB_QUIT] = { "QUIT", 0, 0, { 0, 0 }, STD_LINE, false },
	/* RFC 1939 7 */
	[POP3_VERB_TOP] = { "TOP", 2, 2, { ARG, ARG }, STD_LINE, false },
	[POP3_VERB_UIDL] = { "UIDL", 0, 1, { ARG, 0 }, STD_LINE, false },
};

static bool
verb_is(const char *p, size_t len, const char *name)
{
	size_t	i;

	if (strlen(name) != len)
		return false;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != name[i])
			return false;
	}
	return true;
}

/* NUL, then CR/LF, then 8-bit from offset from; OK when none. */
static enum pop3_parse_result
scan_octets(const char *line, size_t len, size_t from, bool allow_8bit)
{
	size_t		i;
	bool		eol = false, high = false;
	unsigned char	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)line[i];
		if (c == '\0')
			return POP3_PARSE_NUL;
		if (c == '\r' || c == '\n')
			eol = true;
		else if (c >= 0x80 && (i < from || !allow_8bit))
			high = true;
	}
	if (eol)
		return POP3_PARSE_BARE_EOL;
	return high ? POP3_PARSE_8BIT : POP3_PARSE_OK;
}

/* Split the arguments after the verb by runs of spaces. */
static enum pop3_parse_result
split_args(const struct pop3_verb_desc *d, const char *p, size_t len,
    struct pop3_command *cmd)
{
	size_t		i = 0, start;
	unsigned char	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f)
			return POP3_PARSE_SYNTAX;
	}
	i = 0;
	for (;;) {
		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			break;
		if (cmd->nargs == d->max_args)
			return POP3_PARSE_SYNTAX;
		start = i;
		while (i < len && p[i] != ' ')
			i++;
		cmd->args[cmd->nargs].p = p + start;
		cmd->args[cmd->nargs].len = i - start;
		cmd->nargs++;
	}
	if (cmd->nargs < d->min_args)
		return POP3_PARSE_SYNTAX;
	for (i = 0; i < cmd->nargs; i++)
		if (cmd->args[i].len > d->arg_max[i])
			return POP3_PARSE_ARG_TOO_LONG;
	return POP3_PARSE_OK;
}

/*
 * pop3_parse_command: see pop3_parse.h. The checks run in a fixed order:
 * empty, NUL, bare CR/LF, the verb, the verb's line length, 8-bit, then
 * the arguments, so that the most telling error wins.
 */
enum pop3_parse_result
pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd_out)
{
	const struct pop3_verb_desc	*d;
	enum pop3_parse_result		 r;
	size_t				 verb_len;
	int				 v;

	memset(cmd_out, 0, sizeof(*cmd_out));
	cmd_out->verb = POP3_VERB_UNKNOWN;
	if (len == 0)
		return POP3_PARSE_EMPTY;
	for (verb_len = 0; verb_len < len && line[verb_len] != ' ';
	    verb_len++)
		;
	for (v = POP3_VERB_UNKNOWN + 1; v < POP3_VERB_COUNT; v++)
		if (verb_is(line, verb_len, pop3_verbs[v].name))
			break;
	if (v == POP3_VERB_COUNT) {
		if ((r = scan_octets(line, len, 0, false)) != POP3_PARSE_OK)
			return r;
		if (len + 2 > POP3_LINE_MAX)
			return POP3_PARSE_TOO_LONG;
		return POP3_PARSE_UNKNOWN;
	}
	d = &pop3_verbs[v];
	cmd_out->verb = (enum pop3_verb)v;
	r = scan_octets(line, len, verb_len + 1, d->rest_of_line);
	if (r == POP3_PARSE_NUL || r == POP3_PARSE_BARE_EOL)
		return r;
	if (len + 2 > d->line_max)
		return POP3_PARSE_TOO_LONG;
	if (r != POP3_PARSE_OK)
		return r;
	if (d->rest_of_line) {
		/* "PASS" SP string: exactly one space, then anything. */
		if (verb_len + 1 >= len)
			return POP3_PARSE_SYNTAX;
		cmd_out->nargs = 1;
		cmd_out->args[0].p = line + verb_len + 1;
		cmd_out->args[0].len = len - verb_len - 1;
		if (cmd_out->args[0].len > d->arg_max[0])
			return POP3_PARSE_ARG_TOO_LONG;
		return POP3_PARSE_OK;
	}
	return split_args(d, line + verb_len, len - verb_len, cmd_out);
}

/*
 * pop3_parse_sasl_line: see pop3_parse.h. The base64 itself is checked by
 * the mechanism (sasl.h); here only the line hygiene.
 */
enum pop3_parse_result
pop3_parse_sasl_line(const char *line, size_t len, bool *cancel_out)
{
	enum pop3_parse_result	r;
	size_t			i;

	*cancel_out = false;
	if ((r = scan_octets(line, len, 0, false)) != POP3_PARSE_OK)
		return r;
	if (len > SASL_RESPONSE_MAX)
		return POP3_PARSE_TOO_LONG;
	for (i = 0; i < len; i++)
		if (line[i] <= ' ' || line[i] == 0x7f)
			return POP3_PARSE_SYNTAX;
	/* RFC 5034 4: a line of a single "*" cancels. */
	*cancel_out = len == 1 && line[0] == '*';
	return POP3_PARSE_OK;
}

/*
 * pop3_parse_number: see pop3_parse.h.
 */
bool
pop3_parse_number(struct span arg, bool allow_zero, unsigned *n_out)
{
	unsigned long long	n = 0;
	size_t			i;

	*n_out = 0;
	if (arg.len == 0)
		return false;
	for (i = 0; i < arg.len; i++) {
		if (arg.p[i] < '0' || arg.p[i] > '9')
			return false;
		n = n * 10 + (unsigned)(arg.p[i] - '0');
		if (n > POP3_NUMBER_MAX)
			return false;
	}
	if (n == 0 && !allow_zero)
		return false;
	*n_out = (unsigned)n;
	return true;
}

/*
 * pop3_verb_name: see pop3_parse.h. Returns a static string.
 */
const char *
pop3_verb_name(enum pop3_verb verb)
{
	if ((int)verb <= POP3_VERB_UNKNOWN || verb >= POP3_VERB_COUNT)
		return pop3_verbs[POP3_VERB_UNKNOWN].name;
	return pop3_verbs[verb].name;
}
