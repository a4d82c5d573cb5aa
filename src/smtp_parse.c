/*
 * smtp_parse.c: pure RFC 5321 command and path parser.
 *
 * Runs in the unprivileged engine on untrusted network bytes. No I/O, no
 * allocation, no global state: every function reads a bounded span and
 * writes fixed-size fields, and anything that would not fit is reported as
 * invalid input, never cut.
 *
 * Implements RFC 5321 4.1.1 (command verbs), 4.1.2 (Path, Mailbox,
 * Local-part, Domain grammar), 4.1.3 (address literals, IPv4 and IPv6
 * only), 4.5.3.1.1-2 (local part and domain sizes), appendix C (source
 * routes accepted and dropped), RFC 1870 (SIZE=) and RFC 6152 (BODY=).
 *
 * Decisions beyond the grammar:
 * - the local part limit of 64 octets applies to the local part with its
 *   quoting undone, which is what is stored and compared;
 * - IPv4 literals with leading zeros ("[010.0.0.1]") are refused, so that
 *   no later consumer can read them as octal;
 * - domain labels are limited to 63 octets (RFC 1035 2.3.4);
 * - general address literals ("[tag:...]") other than IPv6 are refused;
 * - a source route may not name an address literal (At-domain is a Domain).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

/* RFC 1035 2.3.4: a label is at most 63 octets. */
#define SMTP_LABEL_MAX		63
/* Longest IPv6 text inet_pton(3) can take, with its NUL. */
#define SMTP_IPV6_TEXT_MAX	INET6_ADDRSTRLEN

/* Names of the verbs, indexed by enum smtp_verb; parsing walks this. */
static const char *const smtp_verb_names[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = "UNKNOWN",
	[SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_EHLO] = "EHLO",
	[SMTP_VERB_MAIL] = "MAIL",
	[SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA",
	[SMTP_VERB_RSET] = "RSET",
	[SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",
	[SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN",
	[SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_STARTTLS] = "STARTTLS",
	[SMTP_VERB_AUTH] = "AUTH",
	[SMTP_VERB_BDAT] = "BDAT",
};

/* A read position inside a span. */
struct cursor {
	const char	*p;
	size_t		 len;
	size_t		 off;
};

/* How strictly a domain is read. */
enum domain_mode {
	DOMAIN_STRICT,	/* RFC 5321 Domain, inside a path */
	DOMAIN_HELO,	/* HELO/EHLO: '_' anywhere, '-' anywhere, final '.' */
};

/* What parse_path() may accept besides a Mailbox. */
struct path_rules {
	const char	*prefix;	/* "FROM:" or "TO:" */
	bool		 allow_null;
	bool		 allow_postmaster;
};

static const struct path_rules mail_rules = { "FROM:", true, false };
static const struct path_rules rcpt_rules = { "TO:", false, true };

struct mail_param {
	const char	*keyword;
	bool		(*apply)(struct span, struct smtp_mail_params *);
};

static bool	 param_size(struct span, struct smtp_mail_params *);
static bool	 param_body(struct span, struct smtp_mail_params *);
static bool	 param_auth(struct span, struct smtp_mail_params *);

/* The MAIL parameters pillory supports; anything else is refused. */
static const struct mail_param mail_params[] = {
	{ "SIZE", param_size },	/* RFC 1870 */
	{ "BODY", param_body },	/* RFC 6152 */
	{ "AUTH", param_auth },	/* RFC 4954 5: accepted, not trusted */
};
#define MAIL_PARAM_COUNT (sizeof(mail_params) / sizeof(mail_params[0]))

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_let_dig(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

/* RFC 5322 3.2.3 atext, as RFC 5321 4.1.2 uses it. */
static bool
is_atext(unsigned char c)
{
	if (is_let_dig(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 5321 4.1.2 qtextSMTP: printable ASCII but '"' and '\'. */
static bool
is_qtext(unsigned char c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/* Control characters, DEL, and 8-bit octets never appear in a path. */
static bool
is_forbidden(unsigned char c)
{
	return c < 32 || c >= 127;
}

static char
to_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

static bool
span_case_equal(const char *p, size_t len, const char *word)
{
	size_t	i;

	if (strlen(word) != len)
		return false;
	for (i = 0; i < len; i++)
		if (to_lower(p[i]) != to_lower(word[i]))
			return false;
	return true;
}

static bool
span_has_forbidden(struct span s)
{
	size_t	i;

	for (i = 0; i < s.len; i++)
		if (is_forbidden((unsigned char)s.p[i]))
			return true;
	return false;
}

static bool
cur_end(const struct cursor *c)
{
	return c->off >= c->len;
}

/* The next octet, or NUL at the end (NUL never passes is_forbidden()). */
static unsigned char
cur_peek(const struct cursor *c)
{
	if (cur_end(c))
		return '\0';
	return (unsigned char)c->p[c->off];
}

static bool
cur_accept(struct cursor *c, char ch)
{
	if (cur_end(c) || c->p[c->off] != ch)
		return false;
	c->off++;
	return true;
}

/* Accept a case-insensitive keyword such as "FROM:". */
static bool
cur_accept_word(struct cursor *c, const char *word)
{
	size_t	n = strlen(word);

	if (c->len - c->off < n || !span_case_equal(c->p + c->off, n, word))
		return false;
	c->off += n;
	return true;
}

/*
 * Read a domain name at the cursor, leaving the cursor on the first octet
 * that cannot continue it. Returns SMTP_PATH_OK, SMTP_PATH_SYNTAX or
 * SMTP_PATH_DOMAIN_TOO_LONG (only once the syntax is known to be good).
 */
static enum smtp_path_result
parse_domain(struct cursor *c, enum domain_mode mode, struct span *out)
{
	size_t		start = c->off, label;
	unsigned char	ch, last;

	for (;;) {
		label = 0;
		last = '\0';
		for (;;) {
			ch = cur_peek(c);
			if (is_let_dig(ch) || ch == '-' ||
			    (ch == '_' && mode == DOMAIN_HELO)) {
				if (label == 0 && ch == '-' &&
				    mode == DOMAIN_STRICT)
					return SMTP_PATH_SYNTAX;
				label++;
				last = ch;
				c->off++;
				continue;
			}
			break;
		}
		if (label == 0 || label > SMTP_LABEL_MAX)
			return SMTP_PATH_SYNTAX;
		if (last == '-' && mode == DOMAIN_STRICT)
			return SMTP_PATH_SYNTAX;
		if (!cur_accept(c, '.'))
			break;
		/* HELO is lenient about a fully qualified "host.example." */
		if (mode == DOMAIN_HELO && cur_end(c))
			break;
	}
	out->p = c->p + start;
	out->len = c->off - start;
	if (out->len > DOMAIN_MAX)
		return SMTP_PATH_DOMAIN_TOO_LONG;
	return SMTP_PATH_OK;
}

/* RFC 5321 4.1.3 IPv4-address-literal: four Snum, no leading zeros. */
static bool
ipv4_literal_is_valid(const char *p, size_t len)
{
	size_t		i = 0, digits;
	unsigned int	value, part;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || p[i] != '.')
				return false;
			i++;
		}
		value = 0;
		digits = 0;
		while (i < len && is_digit((unsigned char)p[i]) && digits < 4) {
			value = value * 10 + (unsigned int)(p[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 3 || value > 255)
			return false;
		if (digits > 1 && p[i - digits] == '0')
			return false;
	}
	return i == len;
}

/* RFC 5321 4.1.3 IPv6-address-literal, after "IPv6:". */
static bool
ipv6_literal_is_valid(const char *p, size_t len)
{
	char		text[SMTP_IPV6_TEXT_MAX];
	struct in6_addr	a6;

	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, p, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, &a6) == 1;
}

/*
 * Read an address literal "[...]" at the cursor, brackets included.
 * Returns SMTP_PATH_OK or SMTP_PATH_SYNTAX.
 */
static enum smtp_path_result
parse_literal(struct cursor *c, struct span *out)
{
	static const char	 tag[] = "IPv6:";
	const size_t		 tag_len = sizeof(tag) - 1;
	size_t			 start = c->off;
	struct span		 body;
	unsigned char		 ch;

	if (!cur_accept(c, '['))
		return SMTP_PATH_SYNTAX;
	body.p = c->p + c->off;
	/* RFC 5321 4.1.3 dcontent: %d33-90 / %d94-126. */
	while (!cur_end(c) && cur_peek(c) != ']') {
		ch = cur_peek(c);
		if (ch <= ' ' || ch == '[' || ch == '\\' || is_forbidden(ch))
			return SMTP_PATH_SYNTAX;
		c->off++;
	}
	body.len = (size_t)(c->p + c->off - body.p);
	if (!cur_accept(c, ']'))
		return SMTP_PATH_SYNTAX;
	if (body.len >= tag_len && span_case_equal(body.p, tag_len, tag)) {
		if (!ipv6_literal_is_valid(body.p + tag_len,
		    body.len - tag_len))
			return SMTP_PATH_SYNTAX;
	} else if (!ipv4_literal_is_valid(body.p, body.len))
		return SMTP_PATH_SYNTAX;
	out->p = c->p + start;
	out->len = c->off - start;
	return SMTP_PATH_OK;
}

/*
 * Read a Local-part at the cursor: a Dot-string or a Quoted-string. Sets
 * *quoted and the unquoted length in *unquoted_len. Returns SMTP_PATH_OK or
 * SMTP_PATH_SYNTAX.
 */
static enum smtp_path_result
parse_local(struct cursor *c, struct span *out, bool *quoted,
    size_t *unquoted_len)
{
	size_t		start = c->off, n = 0, atom;
	unsigned char	ch;

	*quoted = false;
	if (cur_accept(c, '"')) {
		*quoted = true;
		for (;;) {
			if (cur_end(c))
				return SMTP_PATH_SYNTAX;
			ch = cur_peek(c);
			if (ch == '"')
				break;
			if (ch == '\\') {
				/* RFC 5321 4.1.2 quoted-pairSMTP */
				c->off++;
				ch = cur_peek(c);
				if (cur_end(c) || ch < 32 || ch > 126)
					return SMTP_PATH_SYNTAX;
			} else if (!is_qtext(ch))
				return SMTP_PATH_SYNTAX;
			c->off++;
			n++;
		}
		c->off++;
	} else {
		/* Dot-string: no empty atom at the start, end or between. */
		for (;;) {
			atom = 0;
			while (is_atext(cur_peek(c))) {
				c->off++;
				atom++;
			}
			if (atom == 0)
				return SMTP_PATH_SYNTAX;
			n += atom;
			if (!cur_accept(c, '.'))
				break;
			n++;
		}
	}
	out->p = c->p + start;
	out->len = c->off - start;
	*unquoted_len = n;
	return SMTP_PATH_OK;
}

/* Copy a local part, undoing quoted-pairs; dst has room (checked before). */
static void
copy_local(char *dst, struct span src, bool quoted)
{
	size_t	i, n = 0;

	if (!quoted) {
		memcpy(dst, src.p, src.len);
		dst[src.len] = '\0';
		return;
	}
	for (i = 1; i + 1 < src.len; i++) {
		if (src.p[i] == '\\')
			i++;
		dst[n++] = src.p[i];
	}
	dst[n] = '\0';
}

static void
copy_lower(char *dst, struct span src)
{
	size_t	i;

	for (i = 0; i < src.len; i++)
		dst[i] = to_lower(src.p[i]);
	dst[src.len] = '\0';
}

/*
 * RFC 5321 4.1.2 Path, read at the cursor:
 *   "<" [ A-d-l ":" ] Mailbox ">"   or "<>" / "<Postmaster>" when allowed.
 * Syntax errors win over length errors, which are reported only once the
 * whole path has been read.
 */
static enum smtp_path_result
parse_path(struct cursor *c, const struct path_rules *rules,
    struct smtp_path *path_out)
{
	struct span		local, domain, route;
	size_t			local_len;
	enum smtp_path_result	r, pending = SMTP_PATH_OK;

	if (!cur_accept(c, '<'))
		return SMTP_PATH_SYNTAX;
	if (cur_accept(c, '>')) {
		if (!rules->allow_null)
			return SMTP_PATH_SYNTAX;
		path_out->is_null = true;
		return SMTP_PATH_OK;
	}

	/* RFC 5321 4.1.2 A-d-l, dropped as appendix C says. */
	if (cur_peek(c) == '@') {
		do {
			if (!cur_accept(c, '@'))
				return SMTP_PATH_SYNTAX;
			r = parse_domain(c, DOMAIN_STRICT, &route);
			if (r == SMTP_PATH_SYNTAX)
				return r;
			if (r != SMTP_PATH_OK && pending == SMTP_PATH_OK)
				pending = r;
		} while (cur_accept(c, ','));
		if (!cur_accept(c, ':'))
			return SMTP_PATH_SYNTAX;
		path_out->had_source_route = true;
	}

	if ((r = parse_local(c, &local, &path_out->local_was_quoted,
	    &local_len)) != SMTP_PATH_OK)
		return r;

	if (cur_accept(c, '>')) {
		/* RFC 5321 4.1.1.3: "<Postmaster>" needs no domain. */
		if (rules->allow_postmaster && !path_out->had_source_route &&
		    !path_out->local_was_quoted &&
		    span_case_equal(local.p, local.len, "postmaster")) {
			path_out->is_bare_postmaster = true;
			memcpy(path_out->local, "postmaster",
			    sizeof("postmaster"));
			return pending;
		}
		return SMTP_PATH_NO_DOMAIN;
	}
	if (!cur_accept(c, '@'))
		return SMTP_PATH_SYNTAX;
	if (cur_peek(c) == '[') {
		r = parse_literal(c, &domain);
		path_out->domain_is_literal = true;
	} else
		r = parse_domain(c, DOMAIN_STRICT, &domain);
	if (r == SMTP_PATH_SYNTAX)
		return r;
	if (!cur_accept(c, '>'))
		return SMTP_PATH_SYNTAX;

	if (local_len > LOCAL_PART_MAX && pending == SMTP_PATH_OK)
		pending = SMTP_PATH_LOCAL_TOO_LONG;
	if (r != SMTP_PATH_OK && pending == SMTP_PATH_OK)
		pending = r;
	if (pending != SMTP_PATH_OK)
		return pending;

	copy_local(path_out->local, local, path_out->local_was_quoted);
	copy_lower(path_out->domain, domain);
	return SMTP_PATH_OK;
}

static bool
param_size(struct span value, struct smtp_mail_params *params)
{
	size_t		i;
	uint64_t	size = 0, digit;

	if (value.len == 0)
		return false;
	for (i = 0; i < value.len; i++) {
		if (!is_digit((unsigned char)value.p[i]))
			return false;
		digit = (uint64_t)(value.p[i] - '0');
		if (size > (UINT64_MAX - digit) / 10)
			size = UINT64_MAX;
		else
			size = size * 10 + digit;
	}
	params->has_size = true;
	params->size = size;
	return true;
}

static bool
param_body(struct span value, struct smtp_mail_params *params)
{
	if (span_case_equal(value.p, value.len, "7BIT"))
		params->body = SMTP_BODY_7BIT;
	else if (span_case_equal(value.p, value.len, "8BITMIME"))
		params->body = SMTP_BODY_8BITMIME;
	else
		return false;
	return true;
}

/*
 * RFC 4954 5: AUTH=<mailbox as xtext> or AUTH=<>. A relaying client that
 * logged in sends it; we accept it and use nothing from it, because it is
 * the client's claim, not a proof.
 */
static bool
param_auth(struct span value, struct smtp_mail_params *params)
{
	size_t	i;

	if (value.len == 0)
		return false;
	for (i = 0; i < value.len; i++)
		if ((unsigned char)value.p[i] < 0x21 ||
		    (unsigned char)value.p[i] > 0x7e)
			return false;
	params->has_auth = true;
	return true;
}

/*
 * RFC 5321 4.1.2 Mail-parameters after the path. A parameter is
 * esmtp-keyword ["=" esmtp-value]; the keyword picks a row of
 * mail_params[], which may appear once.
 */
static enum smtp_path_result
parse_mail_params(struct cursor *c, struct smtp_mail_params *params_out)
{
	struct span	keyword, value;
	size_t		start, i;
	unsigned int	seen = 0;

	for (;;) {
		if (cur_end(c))
			return SMTP_PATH_OK;
		if (!cur_accept(c, ' '))
			return SMTP_PATH_SYNTAX;
		while (cur_accept(c, ' '))
			;
		if (cur_end(c))
			return SMTP_PATH_OK;

		start = c->off;
		while (!cur_end(c) && cur_peek(c) != ' ' && cur_peek(c) != '=')
			c->off++;
		keyword.p = c->p + start;
		keyword.len = c->off - start;
		value.p = NULL;
		value.len = 0;
		if (cur_accept(c, '=')) {
			start = c->off;
			while (!cur_end(c) && cur_peek(c) != ' ') {
				/* esmtp-value excludes '=' (%d61). */
				if (cur_peek(c) == '=')
					return SMTP_PATH_BAD_PARAM;
				c->off++;
			}
			value.p = c->p + start;
			value.len = c->off - start;
			if (value.len == 0)
				return SMTP_PATH_BAD_PARAM;
		}

		for (i = 0; i < MAIL_PARAM_COUNT; i++)
			if (span_case_equal(keyword.p, keyword.len,
			    mail_params[i].keyword))
				break;
		if (i == MAIL_PARAM_COUNT || (seen & (1U << i)) != 0)
			return SMTP_PATH_BAD_PARAM;
		seen |= 1U << i;
		if (!mail_params[i].apply(value, params_out))
			return SMTP_PATH_BAD_PARAM;
	}
}

/* Drop trailing spaces, as smtp_parse_command() does. */
static struct span
span_trim_right(struct span s)
{
	while (s.len > 0 && s.p[s.len - 1] == ' ')
		s.len--;
	return s;
}

/*
 * The shared front of MAIL and RCPT: octet check, "FROM:"/"TO:", one
 * optional space, then the path. Leaves the cursor after '>'.
 */
static enum smtp_path_result
parse_prefixed_path(struct cursor *c, const struct path_rules *rules,
    struct smtp_path *path_out)
{
	struct span	whole = { c->p, c->len };

	if (span_has_forbidden(whole))
		return SMTP_PATH_SYNTAX;
	if (!cur_accept_word(c, rules->prefix))
		return SMTP_PATH_SYNTAX;
	/* Not in the RFC grammar, but many clients send "FROM: <a@b>". */
	(void)cur_accept(c, ' ');
	return parse_path(c, rules, path_out);
}

/*
 * smtp_parse_command: see smtp_parse.h. The length check comes first so
 * that a long line is never scanned; then NUL, bare CR/LF and 8-bit octets,
 * reported in that order of precedence wherever they are in the line.
 */
enum smtp_parse_result
smtp_parse_command(const char *line, size_t len, struct smtp_command *cmd_out)
{
	size_t		i, verb_len;
	bool		has_cr_lf = false, has_8bit = false;
	unsigned char	ch;
	int		v;

	cmd_out->verb = SMTP_VERB_UNKNOWN;
	cmd_out->arg.p = line;
	cmd_out->arg.len = 0;

	if (len > SMTP_LINE_MAX)
		return SMTP_PARSE_TOO_LONG;
	if (len == 0)
		return SMTP_PARSE_EMPTY;
	for (i = 0; i < len; i++) {
		ch = (unsigned char)line[i];
		if (ch == '\0')
			return SMTP_PARSE_NUL;
		if (ch == '\r' || ch == '\n')
			has_cr_lf = true;
		else if (ch >= 0x80)
			has_8bit = true;
	}
	if (has_cr_lf)
		return SMTP_PARSE_BARE_EOL;
	if (has_8bit)
		return SMTP_PARSE_8BIT;

	/* RFC 5321 4.1.1: the verb ends at a space or the end of the line. */
	for (verb_len = 0; verb_len < len && line[verb_len] != ' '; verb_len++)
		;
	for (v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++)
		if (span_case_equal(line, verb_len, smtp_verb_names[v]))
			break;
	if (v == SMTP_VERB_COUNT)
		return SMTP_PARSE_UNKNOWN;

	i = verb_len;
	while (i < len && line[i] == ' ')
		i++;
	cmd_out->verb = (enum smtp_verb)v;
	cmd_out->arg.p = line + i;
	cmd_out->arg.len = len - i;
	cmd_out->arg = span_trim_right(cmd_out->arg);
	return SMTP_PARSE_OK;
}

/*
 * smtp_verb_name: see smtp_parse.h. Returns a static string, "UNKNOWN" for
 * SMTP_VERB_UNKNOWN and for any value outside the enum.
 */
const char *
smtp_verb_name(enum smtp_verb verb)
{
	if ((int)verb <= SMTP_VERB_UNKNOWN || verb >= SMTP_VERB_COUNT)
		return smtp_verb_names[SMTP_VERB_UNKNOWN];
	return smtp_verb_names[verb];
}

/*
 * smtp_parse_mail: see smtp_parse.h. path_out and params_out are cleared
 * first and cleared again on any error, so a caller never sees half a path.
 * Path errors are reported before parameter errors. Control characters,
 * DEL and 8-bit octets anywhere in arg are SMTP_PATH_SYNTAX.
 */
enum smtp_path_result
smtp_parse_mail(struct span arg, struct smtp_path *path_out,
    struct smtp_mail_params *params_out)
{
	struct span		trimmed = span_trim_right(arg);
	struct cursor		c = { trimmed.p, trimmed.len, 0 };
	enum smtp_path_result	r;

	memset(path_out, 0, sizeof(*path_out));
	memset(params_out, 0, sizeof(*params_out));
	if ((r = parse_prefixed_path(&c, &mail_rules, path_out)) ==
	    SMTP_PATH_OK)
		r = parse_mail_params(&c, params_out);
	if (r != SMTP_PATH_OK) {
		memset(path_out, 0, sizeof(*path_out));
		memset(params_out, 0, sizeof(*params_out));
	}
	return r;
}

/*
 * smtp_parse_rcpt: see smtp_parse.h. path_out is cleared on any error.
 * Anything after the path other than spaces is SMTP_PATH_BAD_PARAM when it
 * is separated by a space, SMTP_PATH_SYNTAX when it is glued to the '>'.
 * A bare postmaster is stored as local "postmaster" with an empty domain.
 */
enum smtp_path_result
smtp_parse_rcpt(struct span arg, struct smtp_path *path_out)
{
	struct span		trimmed = span_trim_right(arg);
	struct cursor		c = { trimmed.p, trimmed.len, 0 };
	enum smtp_path_result	r;

	memset(path_out, 0, sizeof(*path_out));
	r = parse_prefixed_path(&c, &rcpt_rules, path_out);
	if (r == SMTP_PATH_OK && !cur_end(&c))
		r = cur_peek(&c) == ' ' ? SMTP_PATH_BAD_PARAM :
		    SMTP_PATH_SYNTAX;
	if (r != SMTP_PATH_OK)
		memset(path_out, 0, sizeof(*path_out));
	return r;
}

/*
 * smtp_parse_helo: see smtp_parse.h. An address literal is checked as
 * strictly as in a path; a domain may use '_', put '-' anywhere in a label
 * and end in one '.'. helo_out is the empty string when false is returned.
 */
bool
smtp_parse_helo(struct span arg, char *helo_out)
{
	struct cursor		c = { arg.p, arg.len, 0 };
	struct span		name;
	enum smtp_path_result	r;

	helo_out[0] = '\0';
	if (arg.len == 0 || arg.len > HELO_MAX || span_has_forbidden(arg))
		return false;
	if (cur_peek(&c) == '[')
		r = parse_literal(&c, &name);
	else
		r = parse_domain(&c, DOMAIN_HELO, &name);
	if (r != SMTP_PATH_OK || !cur_end(&c))
		return false;
	memcpy(helo_out, arg.p, arg.len);
	helo_out[arg.len] = '\0';
	return true;
}

/* True when local can be written bare: RFC 5321 4.1.2 Dot-string. */
static bool
local_is_dot_string(const char *local, size_t len)
{
	size_t	i;

	if (len == 0 || local[0] == '.' || local[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (local[i] == '.') {
			if (local[i - 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)local[i]))
			return false;
	}
	return true;
}

static void
put_char(char *out, size_t *off, char ch)
{
	/* A bug if it fires: the fields cannot hold more than this. */
	if (*off >= ADDRESS_MAX)
		abort();
	out[(*off)++] = ch;
}

/*
 * smtp_path_format: see smtp_parse.h. A bare postmaster is written as
 * "postmaster" (no '@'); a path with an empty domain likewise gets no '@'.
 * Never writes more than ADDRESS_MAX octets plus the NUL.
 */
size_t
smtp_path_format(const struct smtp_path *path, char *out)
{
	size_t	off = 0, i, local_len, domain_len;
	bool	quote;

	out[0] = '\0';
	if (path->is_null)
		return 0;
	local_len = strnlen(path->local, LOCAL_PART_MAX);
	domain_len = strnlen(path->domain, DOMAIN_MAX);
	quote = !local_is_dot_string(path->local, local_len);
	if (quote)
		put_char(out, &off, '"');
	for (i = 0; i < local_len; i++) {
		if (quote && (path->local[i] == '"' || path->local[i] == '\\'))
			put_char(out, &off, '\\');
		put_char(out, &off, path->local[i]);
	}
	if (quote)
		put_char(out, &off, '"');
	if (domain_len > 0) {
		put_char(out, &off, '@');
		for (i = 0; i < domain_len; i++)
			put_char(out, &off, path->domain[i]);
	}
	out[off] = '\0';
	return off;
}
