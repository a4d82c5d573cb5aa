/*
 * test_smtp_parse.c: cmocka unit tests for smtp_parse.c, the pure RFC 5321
 * command and path parser: verbs, line hygiene (NUL, bare CR/LF, 8-bit,
 * length), MAIL/RCPT paths (RFC 5321 4.1.2, 4.1.3, 4.5.3.1), MAIL
 * parameters (RFC 1870, RFC 6152), HELO arguments and re-formatting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_parse.h"

/* One row of a table-driven path test. */
struct path_case {
	const char		*arg;
	enum smtp_path_result	 want;
	const char		*local;		/* checked when want is OK */
	const char		*domain;	/* checked when want is OK */
};

static struct span
span_of(const char *s)
{
	struct span	sp = { s, strlen(s) };

	return sp;
}

static enum smtp_parse_result
command(const char *line, struct smtp_command *cmd)
{
	return smtp_parse_command(line, strlen(line), cmd);
}

static enum smtp_path_result
mail(const char *arg, struct smtp_path *path, struct smtp_mail_params *params)
{
	return smtp_parse_mail(span_of(arg), path, params);
}

static enum smtp_path_result
rcpt(const char *arg, struct smtp_path *path)
{
	return smtp_parse_rcpt(span_of(arg), path);
}

static bool
helo(const char *arg, char *out)
{
	return smtp_parse_helo(span_of(arg), out);
}

static void
check_span(struct span got, const char *want)
{
	if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0)
		fail_msg("span \"%.*s\" != \"%s\"", (int)got.len, got.p, want);
}

/* Run each row through MAIL (is_mail) or RCPT and compare. */
static void
run_path_cases(const struct path_case *cases, size_t n, bool is_mail)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;
	enum smtp_path_result	 got;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (is_mail)
			got = mail(cases[i].arg, &path, &params);
		else
			got = rcpt(cases[i].arg, &path);
		if (got != cases[i].want)
			fail_msg("%s \"%s\": got %d, want %d",
			    is_mail ? "MAIL" : "RCPT", cases[i].arg, (int)got,
			    (int)cases[i].want);
		if (got != SMTP_PATH_OK)
			continue;
		if (cases[i].local != NULL &&
		    strcmp(path.local, cases[i].local) != 0)
			fail_msg("\"%s\": local \"%s\", want \"%s\"",
			    cases[i].arg, path.local, cases[i].local);
		if (cases[i].domain != NULL &&
		    strcmp(path.domain, cases[i].domain) != 0)
			fail_msg("\"%s\": domain \"%s\", want \"%s\"",
			    cases[i].arg, path.domain, cases[i].domain);
	}
}

#define RUN_MAIL(c) run_path_cases((c), sizeof(c) / sizeof((c)[0]), true)
#define RUN_RCPT(c) run_path_cases((c), sizeof(c) / sizeof((c)[0]), false)

/* Fill buf with "<prefix><n times ch><suffix>", NUL-terminated. */
static const char *
build(char *buf, size_t size, const char *prefix, char ch, size_t n,
    const char *suffix)
{
	size_t	plen = strlen(prefix), slen = strlen(suffix);

	assert_true(plen + n + slen < size);
	memcpy(buf, prefix, plen);
	memset(buf + plen, ch, n);
	memcpy(buf + plen + n, suffix, slen + 1);
	return buf;
}

/* Fill buf with the concatenation of a, b and c, NUL-terminated. */
static const char *
join(char *buf, size_t size, const char *a, const char *b, const char *c)
{
	size_t	la = strlen(a), lb = strlen(b), lc = strlen(c);

	assert_true(la + lb + lc < size);
	memcpy(buf, a, la);
	memcpy(buf + la, b, lb);
	memcpy(buf + la + lb, c, lc + 1);
	return buf;
}

/*
 * A domain of exactly len octets (len >= 1): labels of 50 to 51 octets,
 * each a run of one letter, joined by dots; never ends in a dot.
 */
static const char *
build_domain(char *buf, size_t size, size_t len)
{
	size_t	off = 0, label = 0;
	char	letter = 'a';

	assert_true(len < size);
	while (off < len) {
		if (label >= 50 && off + 1 < len) {
			buf[off++] = '.';
			label = 0;
			letter = letter == 'z' ? 'a' : (char)(letter + 1);
			continue;
		}
		buf[off++] = letter;
		label++;
	}
	buf[off] = '\0';
	assert_int_equal(strlen(buf), len);
	assert_true(buf[len - 1] != '.');
	return buf;
}

/* ---- smtp_parse_command ---- */

static void
test_command_every_verb(void **state)
{
	static const struct {
		const char	*line;
		enum smtp_verb	 verb;
	} cases[] = {
		{ "HELO", SMTP_VERB_HELO },
		{ "EHLO", SMTP_VERB_EHLO },
		{ "MAIL", SMTP_VERB_MAIL },
		{ "RCPT", SMTP_VERB_RCPT },
		{ "DATA", SMTP_VERB_DATA },
		{ "RSET", SMTP_VERB_RSET },
		{ "NOOP", SMTP_VERB_NOOP },
		{ "QUIT", SMTP_VERB_QUIT },
		{ "VRFY", SMTP_VERB_VRFY },
		{ "EXPN", SMTP_VERB_EXPN },
		{ "HELP", SMTP_VERB_HELP },
		{ "STARTTLS", SMTP_VERB_STARTTLS },
		{ "AUTH", SMTP_VERB_AUTH },
		{ "BDAT", SMTP_VERB_BDAT },
	};
	struct smtp_command	cmd;
	char			buf[32];
	size_t			i, j, n;

	(void)state;
	assert_int_equal(sizeof(cases) / sizeof(cases[0]),
	    SMTP_VERB_COUNT - 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* upper, lower, and alternating case */
		n = strlen(cases[i].line);
		assert_int_equal(command(cases[i].line, &cmd), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, cases[i].verb);
		assert_int_equal(cmd.arg.len, 0);
		for (j = 0; j <= n; j++)
			buf[j] = (char)(cases[i].line[j] | 0x20);
		buf[n] = '\0';
		assert_int_equal(command(buf, &cmd), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, cases[i].verb);
		for (j = 0; j < n; j++)
			if (j % 2 == 1)
				buf[j] = (char)(buf[j] & ~0x20);
		assert_int_equal(command(buf, &cmd), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, cases[i].verb);
		assert_string_equal(smtp_verb_name(cases[i].verb),
		    cases[i].line);
	}
}

static void
test_command_verb_name_unknown(void **state)
{
	(void)state;
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name(SMTP_VERB_COUNT), "UNKNOWN");
	assert_string_equal(smtp_verb_name((enum smtp_verb)-1), "UNKNOWN");
}

static void
test_command_argument(void **state)
{
	struct smtp_command	cmd;

	(void)state;
	assert_int_equal(command("MAIL FROM:<a@b>", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	check_span(cmd.arg, "FROM:<a@b>");

	assert_int_equal(command("rcpt to:<a@b> ", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_RCPT);
	check_span(cmd.arg, "to:<a@b>");

	/* several spaces after the verb, trailing spaces dropped */
	assert_int_equal(command("HELO   host.example   ", &cmd),
	    SMTP_PARSE_OK);
	check_span(cmd.arg, "host.example");

	/* inner spaces kept */
	assert_int_equal(command("NOOP  x  y ", &cmd), SMTP_PARSE_OK);
	check_span(cmd.arg, "x  y");

	assert_int_equal(command("QUIT", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.arg.len, 0);
	assert_int_equal(command("QUIT ", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.arg.len, 0);
	assert_int_equal(command("DATA     ", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_DATA);
	assert_int_equal(cmd.arg.len, 0);

	assert_int_equal(command("AUTH PLAIN AGZvbwBiYXI=", &cmd),
	    SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_AUTH);
	check_span(cmd.arg, "PLAIN AGZvbwBiYXI=");

	assert_int_equal(command("BDAT 100 LAST", &cmd), SMTP_PARSE_OK);
	check_span(cmd.arg, "100 LAST");
}

static void
test_command_verb_needs_space(void **state)
{
	static const char *const lines[] = {
		"MAILFROM:<a@b>", "RCPTTO:<a@b>", "HELOhost", "EHLO\thost",
		"DATAX", "QUIT2", "NOOP:", "STARTTLSX", "MAIL:FROM:<a@b>",
	};
	struct smtp_command	cmd;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (command(lines[i], &cmd) != SMTP_PARSE_UNKNOWN)
			fail_msg("\"%s\" not unknown", lines[i]);
		assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	}
}

static void
test_command_unknown(void **state)
{
	static const char *const lines[] = {
		"FOO", "MAI", "MAILS FROM:<a@b>", "STARTTL", "TURN", "ETRN x",
		" MAIL FROM:<a@b>", "  ", "X", "HELO-host", "GET / HTTP/1.0",
		"STARTTLS\x01",
	};
	struct smtp_command	cmd;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (command(lines[i], &cmd) != SMTP_PARSE_UNKNOWN)
			fail_msg("\"%s\" not unknown", lines[i]);
		assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
		assert_int_equal(cmd.arg.len, 0);
	}
}

static void
test_command_empty(void **state)
{
	struct smtp_command	cmd;

	(void)state;
	assert_int_equal(smtp_parse_command("", 0, &cmd), SMTP_PARSE_EMPTY);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	/* len 0 means empty even when the buffer holds more */
	assert_int_equal(smtp_parse_command("NOOP", 0, &cmd),
	    SMTP_PARSE_EMPTY);
}

static void
test_command_nul(void **state)
{
	struct smtp_command	cmd;

	(void)state;
	assert_int_equal(smtp_parse_command("NOOP\0x", 6, &cmd),
	    SMTP_PARSE_NUL);
	assert_int_equal(smtp_parse_command("\0", 1, &cmd), SMTP_PARSE_NUL);
	assert_int_equal(smtp_parse_command("MAIL FROM:<a\0@b>", 16, &cmd),
	    SMTP_PARSE_NUL);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	/* NUL wins over a bare LF and an 8-bit octet before it */
	assert_int_equal(smtp_parse_command("N\xff\nOOP\0", 7, &cmd),
	    SMTP_PARSE_NUL);
}

static void
test_command_bare_eol(void **state)
{
	struct smtp_command	cmd;

	(void)state;
	assert_int_equal(command("NOOP\rx", &cmd), SMTP_PARSE_BARE_EOL);
	assert_int_equal(command("NOOP\nx", &cmd), SMTP_PARSE_BARE_EOL);
	assert_int_equal(command("NOOP\r", &cmd), SMTP_PARSE_BARE_EOL);
	assert_int_equal(command("\nNOOP", &cmd), SMTP_PARSE_BARE_EOL);
	assert_int_equal(command("DATA\r\n.\r\nMAIL FROM:<a@b>", &cmd),
	    SMTP_PARSE_BARE_EOL);
	/* bare EOL wins over 8-bit */
	assert_int_equal(command("NOOP \xe9\r", &cmd), SMTP_PARSE_BARE_EOL);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
}

static void
test_command_8bit(void **state)
{
	struct smtp_command	cmd;

	(void)state;
	assert_int_equal(command("NOOP \xe9", &cmd), SMTP_PARSE_8BIT);
	assert_int_equal(command("H\xc3\x89LO x", &cmd), SMTP_PARSE_8BIT);
	assert_int_equal(command("\x80", &cmd), SMTP_PARSE_8BIT);
	assert_int_equal(command("MAIL FROM:<j\xc3\xb6rg@example.test>", &cmd),
	    SMTP_PARSE_8BIT);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
}

static void
test_command_too_long(void **state)
{
	char			line[SMTP_LINE_MAX + 2];
	struct smtp_command	cmd;

	(void)state;
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'a', sizeof(line) - 5);
	assert_int_equal(smtp_parse_command(line, SMTP_LINE_MAX, &cmd),
	    SMTP_PARSE_OK);
	assert_int_equal(cmd.arg.len, SMTP_LINE_MAX - 5);
	assert_int_equal(smtp_parse_command(line, SMTP_LINE_MAX + 1, &cmd),
	    SMTP_PARSE_TOO_LONG);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	/* length is judged before content: a NUL in a long line is long */
	line[10] = '\0';
	assert_int_equal(smtp_parse_command(line, SMTP_LINE_MAX + 1, &cmd),
	    SMTP_PARSE_TOO_LONG);
	assert_int_equal(smtp_parse_command(line, SIZE_MAX, &cmd),
	    SMTP_PARSE_TOO_LONG);
}

/* ---- MAIL ---- */

static void
test_mail_basic(void **state)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	assert_int_equal(mail("FROM:<user@example.test>", &path, &params),
	    SMTP_PATH_OK);
	assert_string_equal(path.local, "user");
	assert_string_equal(path.domain, "example.test");
	assert_false(path.is_null);
	assert_false(path.is_bare_postmaster);
	assert_false(path.had_source_route);
	assert_false(path.local_was_quoted);
	assert_false(path.domain_is_literal);
	assert_false(params.has_size);
	assert_int_equal(params.size, 0);
	assert_int_equal(params.body, SMTP_BODY_NONE);
}

static void
test_mail_prefix(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@b.test>", SMTP_PATH_OK, "a", "b.test" },
		{ "from:<a@b.test>", SMTP_PATH_OK, "a", "b.test" },
		{ "FrOm:<a@b.test>", SMTP_PATH_OK, "a", "b.test" },
		/* one space after the colon is tolerated */
		{ "FROM: <a@b.test>", SMTP_PATH_OK, "a", "b.test" },
		{ "FROM:  <a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM :<a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM<a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:\t<a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FRO:<a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "", SMTP_PATH_SYNTAX, NULL, NULL },
		/* trailing spaces after the path are fine */
		{ "FROM:<a@b.test>   ", SMTP_PATH_OK, "a", "b.test" },
	};

	(void)state;
	RUN_MAIL(cases);
}

static void
test_mail_angle_brackets_required(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:a@b.test", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM: a@b.test", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@b.test", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<<a@b.test>>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@b.test>>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@b.test> >", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test>x", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:\"a\"@b.test", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:Joe <a@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
	};

	(void)state;
	RUN_MAIL(cases);
}

static void
test_mail_null_path(void **state)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	assert_int_equal(mail("FROM:<>", &path, &params), SMTP_PATH_OK);
	assert_true(path.is_null);
	assert_string_equal(path.local, "");
	assert_string_equal(path.domain, "");

	assert_int_equal(mail("FROM: <>", &path, &params), SMTP_PATH_OK);
	assert_true(path.is_null);

	assert_int_equal(mail("FROM:<> SIZE=100 BODY=7BIT", &path, &params),
	    SMTP_PATH_OK);
	assert_true(path.is_null);
	assert_true(params.has_size);
	assert_int_equal(params.size, 100);
	assert_int_equal(params.body, SMTP_BODY_7BIT);

	assert_int_equal(mail("FROM:< >", &path, &params), SMTP_PATH_SYNTAX);
	assert_int_equal(mail("FROM:<@a.test:>", &path, &params),
	    SMTP_PATH_SYNTAX);
	assert_int_equal(mail("FROM:<>x", &path, &params), SMTP_PATH_SYNTAX);
	assert_int_equal(mail("FROM:<\"\">", &path, &params),
	    SMTP_PATH_NO_DOMAIN);
}

static void
test_mail_no_domain(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<user>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "FROM:<first.last>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "FROM:<\"a b\">", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		/* bare postmaster is for RCPT only */
		{ "FROM:<postmaster>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "FROM:<Postmaster>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "FROM:<@a.test:user>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "FROM:<user@>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<@>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
	};

	(void)state;
	RUN_MAIL(cases);
}

static void
test_mail_size(void **state)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.test> SIZE=0", &path, &params),
	    SMTP_PATH_OK);
	assert_true(params.has_size);
	assert_int_equal(params.size, 0);

	assert_int_equal(mail("FROM:<a@b.test> SIZE=12345", &path, &params),
	    SMTP_PATH_OK);
	assert_int_equal(params.size, 12345);
	assert_string_equal(path.local, "a");

	assert_int_equal(mail("FROM:<a@b.test> size=7", &path, &params),
	    SMTP_PATH_OK);
	assert_int_equal(params.size, 7);

	assert_int_equal(mail("FROM:<a@b.test> Size=007", &path, &params),
	    SMTP_PATH_OK);
	assert_int_equal(params.size, 7);

	assert_int_equal(mail("FROM:<a@b.test> SIZE=18446744073709551615",
	    &path, &params), SMTP_PATH_OK);
	assert_true(params.size == UINT64_MAX);

	assert_int_equal(mail("FROM:<a@b.test> SIZE=18446744073709551614",
	    &path, &params), SMTP_PATH_OK);
	assert_true(params.size == UINT64_MAX - 1);

	/* saturate, never wrap */
	assert_int_equal(mail("FROM:<a@b.test> SIZE=18446744073709551616",
	    &path, &params), SMTP_PATH_OK);
	assert_true(params.size == UINT64_MAX);
	assert_int_equal(mail("FROM:<a@b.test> SIZE=99999999999999999999999"
	    "999999999999999999", &path, &params), SMTP_PATH_OK);
	assert_true(params.size == UINT64_MAX);
}

static void
test_mail_size_bad(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@b.test> SIZE=", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=12a", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=-1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=+1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=1=2", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE==1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE =1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=0x1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=1.5", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=1 SIZE=2", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "FROM:<a@b.test> SIZE=1 size=1", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "FROM:<a@b.test> SIZE=1\t", SMTP_PATH_SYNTAX, NULL, NULL },
	};

	(void)state;
	RUN_MAIL(cases);
}

static void
test_mail_body(void **state)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.test> BODY=7BIT", &path, &params),
	    SMTP_PATH_OK);
	assert_int_equal(params.body, SMTP_BODY_7BIT);
	assert_false(params.has_size);

	assert_int_equal(mail("FROM:<a@b.test> BODY=8BITMIME", &path,
	    &params), SMTP_PATH_OK);
	assert_int_equal(params.body, SMTP_BODY_8BITMIME);

	assert_int_equal(mail("FROM:<a@b.test> body=8bitmime", &path,
	    &params), SMTP_PATH_OK);
	assert_int_equal(params.body, SMTP_BODY_8BITMIME);

	assert_int_equal(mail("FROM:<a@b.test> Body=7bit", &path, &params),
	    SMTP_PATH_OK);
	assert_int_equal(params.body, SMTP_BODY_7BIT);
}

static void
test_mail_body_bad(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@b.test> BODY=BINARYMIME", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "FROM:<a@b.test> BODY=8BIT", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "FROM:<a@b.test> BODY=7BITS", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "FROM:<a@b.test> BODY=", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> BODY", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> BODY=7BIT BODY=7BIT", SMTP_PATH_BAD_PARAM,
		    NULL, NULL },
		{ "FROM:<a@b.test> BODY=7BIT body=8BITMIME",
		    SMTP_PATH_BAD_PARAM, NULL, NULL },
	};

	(void)state;
	RUN_MAIL(cases);
}

static void
test_mail_size_and_body(void **state)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.test> SIZE=10 BODY=8BITMIME", &path,
	    &params), SMTP_PATH_OK);
	assert_true(params.has_size);
	assert_int_equal(params.size, 10);
	assert_int_equal(params.body, SMTP_BODY_8BITMIME);

	/* either order, extra spaces between parameters */
	assert_int_equal(mail("FROM:<a@b.test>  BODY=7BIT   SIZE=20  ",
	    &path, &params), SMTP_PATH_OK);
	assert_int_equal(params.size, 20);
	assert_int_equal(params.body, SMTP_BODY_7BIT);

	/* a failed parse clears everything */
	assert_int_equal(mail("FROM:<a@b.test> SIZE=10 BODY=X", &path,
	    &params), SMTP_PATH_BAD_PARAM);
	assert_false(params.has_size);
	assert_int_equal(params.body, SMTP_BODY_NONE);
	assert_string_equal(path.local, "");
	assert_string_equal(path.domain, "");
}

static void
test_mail_unknown_params(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@b.test> AUTH", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> AUTH=<> AUTH=<>", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "FROM:<a@b.test> SMTPUTF8", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> RET=FULL", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> ENVID=x", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZE=1 X-FOO", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "FROM:<a@b.test> =1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZES=1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "FROM:<a@b.test> SIZ=1", SMTP_PATH_BAD_PARAM, NULL, NULL },
		/* the path is judged before the parameters */
		{ "FROM:<a@b..test> FOO", SMTP_PATH_SYNTAX, NULL, NULL },
		/* a parameter glued to the path is a syntax error */
		{ "FROM:<a@b.test>SIZE=1", SMTP_PATH_SYNTAX, NULL, NULL },
	};

	(void)state;
	RUN_MAIL(cases);
}

/* ---- local parts ---- */

static void
test_local_dot_string(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<first.last@x.test>", SMTP_PATH_OK, "first.last",
		    "x.test" },
		{ "FROM:<a.b.c.d@x.test>", SMTP_PATH_OK, "a.b.c.d", "x.test" },
		{ "FROM:<!#$%&'*+-/=?^_`{|}~@x.test>", SMTP_PATH_OK,
		    "!#$%&'*+-/=?^_`{|}~", "x.test" },
		{ "FROM:<user+tag@x.test>", SMTP_PATH_OK, "user+tag",
		    "x.test" },
		/* case of the local part is kept */
		{ "FROM:<John.Doe@X.Test>", SMTP_PATH_OK, "John.Doe",
		    "x.test" },
		/* routing characters are legal atext; addr.c judges them */
		{ "FROM:<a%b@x.test>", SMTP_PATH_OK, "a%b", "x.test" },
		{ "FROM:<a!b@x.test>", SMTP_PATH_OK, "a!b", "x.test" },
		{ "FROM:<a..b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<.a@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a.@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<.@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a\"b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a(c)@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a,b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a;b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a<b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a>b@x.test>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "FROM:<a\\b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a[b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a:b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
	};

	(void)state;
	RUN_MAIL(cases);
}

static void
test_local_quoted(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<\"john doe\"@x.test>", SMTP_PATH_OK, "john doe",
		    "x.test" },
		{ "FROM:<\"a@b\"@x.test>", SMTP_PATH_OK, "a@b", "x.test" },
		{ "FROM:<\"a%b\"@x.test>", SMTP_PATH_OK, "a%b", "x.test" },
		{ "FROM:<\"a!b\"@x.test>", SMTP_PATH_OK, "a!b", "x.test" },
		{ "FROM:<\"a\\\"b\"@x.test>", SMTP_PATH_OK, "a\"b", "x.test" },
		{ "FROM:<\"a\\\\b\"@x.test>", SMTP_PATH_OK, "a\\b", "x.test" },
		/* a quoted-pair may quote any printable character */
		{ "FROM:<\"\\a\\ \"@x.test>", SMTP_PATH_OK, "a ", "x.test" },
		{ "FROM:<\"a..b\"@x.test>", SMTP_PATH_OK, "a..b", "x.test" },
		{ "FROM:<\"<>\"@x.test>", SMTP_PATH_OK, "<>", "x.test" },
		{ "FROM:<\"\"@x.test>", SMTP_PATH_OK, "", "x.test" },
		{ "FROM:<\"user\"@x.test>", SMTP_PATH_OK, "user", "x.test" },
		{ "FROM:<\"abc@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<\"a\"b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a\"b\"@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<\"a\".b@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<\"a\\\"@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<\"a\tb\"@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<\"a\\\tb\"@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<\"a\x7f\"@x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<\"a\xc3\xa9\"@x.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
	};
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	RUN_MAIL(cases);
	assert_int_equal(mail("FROM:<\"a b\"@x.test>", &path, &params),
	    SMTP_PATH_OK);
	assert_true(path.local_was_quoted);
	assert_int_equal(mail("FROM:<ab@x.test>", &path, &params),
	    SMTP_PATH_OK);
	assert_false(path.local_was_quoted);
}

static void
test_local_length(void **state)
{
	char			 buf[512], q[256];
	struct smtp_path	 path;
	struct smtp_mail_params	 params;
	size_t			 i;

	(void)state;
	build(buf, sizeof(buf), "FROM:<", 'a', 64, "@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_OK);
	assert_int_equal(strlen(path.local), 64);

	build(buf, sizeof(buf), "FROM:<", 'a', 65, "@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_LOCAL_TOO_LONG);
	assert_string_equal(path.local, "");

	build(buf, sizeof(buf), "TO:<", 'a', 65, "@x.test>");
	assert_int_equal(rcpt(buf, &path), SMTP_PATH_LOCAL_TOO_LONG);

	build(buf, sizeof(buf), "FROM:<", 'a', 300, "@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_LOCAL_TOO_LONG);

	/* the limit counts the local part with its quoting undone */
	build(buf, sizeof(buf), "FROM:<\"", 'a', 64, "\"@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_OK);
	assert_int_equal(strlen(path.local), 64);
	build(buf, sizeof(buf), "FROM:<\"", 'a', 65, "\"@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_LOCAL_TOO_LONG);

	/* 64 escaped quotes: 130 octets on the wire, 64 stored */
	for (i = 0; i < 64; i++) {
		q[2 * i] = '\\';
		q[2 * i + 1] = '"';
	}
	q[128] = '\0';
	join(buf, sizeof(buf), "FROM:<\"", q, "\"@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_OK);
	assert_int_equal(strlen(path.local), 64);
	assert_true(path.local[0] == '"' && path.local[63] == '"');

	/* 64 octets with dots */
	build(buf, sizeof(buf), "FROM:<a.", 'b', 62, "@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_OK);
	build(buf, sizeof(buf), "FROM:<a.", 'b', 63, "@x.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_LOCAL_TOO_LONG);

	/* a syntax error wins over the length */
	build(buf, sizeof(buf), "FROM:<", 'a', 65, "@x..test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_SYNTAX);
}

/* ---- domains ---- */

static void
test_domain_syntax(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@EXAMPLE.TEST>", SMTP_PATH_OK, "a", "example.test" },
		{ "FROM:<a@Example.Test>", SMTP_PATH_OK, "a", "example.test" },
		{ "FROM:<a@x-y.test>", SMTP_PATH_OK, "a", "x-y.test" },
		{ "FROM:<a@x--y.test>", SMTP_PATH_OK, "a", "x--y.test" },
		{ "FROM:<a@123.test>", SMTP_PATH_OK, "a", "123.test" },
		{ "FROM:<a@localhost>", SMTP_PATH_OK, "a", "localhost" },
		{ "FROM:<a@1>", SMTP_PATH_OK, "a", "1" },
		{ "FROM:<a@example.test.evil.com>", SMTP_PATH_OK, "a",
		    "example.test.evil.com" },
		{ "FROM:<a@example.test.>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@.example.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@example..test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@.>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@-x.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x-.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x.test->", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x_y.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x y.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x!y.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x%y.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x.test@y.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x\\.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@\"x.test\">", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x.test", SMTP_PATH_SYNTAX, NULL, NULL },
	};

	(void)state;
	RUN_MAIL(cases);
}

static void
test_domain_length(void **state)
{
	char			 dom[300], buf[600], local[100];
	struct smtp_path	 path;
	struct smtp_mail_params	 params;
	size_t			 n;

	(void)state;
	n = strlen(build_domain(dom, sizeof(dom), 255));
	assert_int_equal(n, 255);
	join(buf, sizeof(buf), "FROM:<a@", dom, ">");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_OK);
	assert_int_equal(strlen(path.domain), 255);

	build_domain(dom, sizeof(dom), 256);
	join(buf, sizeof(buf), "FROM:<a@", dom, ">");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_DOMAIN_TOO_LONG);
	assert_string_equal(path.domain, "");

	join(buf, sizeof(buf), "TO:<a@", dom, ">");
	assert_int_equal(rcpt(buf, &path), SMTP_PATH_DOMAIN_TOO_LONG);

	/* the local part is checked before the domain */
	build(local, sizeof(local), "FROM:<", 'a', 65, "@");
	join(buf, sizeof(buf), local, dom, ">");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_LOCAL_TOO_LONG);
}

static void
test_domain_label_length(void **state)
{
	char			 buf[200];
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	build(buf, sizeof(buf), "FROM:<a@", 'l', 63, ".test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_OK);
	build(buf, sizeof(buf), "FROM:<a@", 'l', 64, ".test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_SYNTAX);
	build(buf, sizeof(buf), "FROM:<a@x.", 'l', 64, ">");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_SYNTAX);
}

static void
test_domain_literal_ipv4(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@[192.0.2.1]>", SMTP_PATH_OK, "a", "[192.0.2.1]" },
		{ "FROM:<a@[0.0.0.0]>", SMTP_PATH_OK, "a", "[0.0.0.0]" },
		{ "FROM:<a@[255.255.255.255]>", SMTP_PATH_OK, "a",
		    "[255.255.255.255]" },
		{ "FROM:<a@[256.0.0.1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3.999]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3.4.5]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3.]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[.1.2.3]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1..2.3]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1234.1.1.1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[0001.1.1.1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[01.2.3.4]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[127.0.0.01]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[0x7f.0.0.1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[2130706433]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3.4 ]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[-1.2.3.4]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3.4>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3.4]x>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[1.2.3.4]]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[[1.2.3.4]]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@x.[1.2.3.4]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@1.2.3.4]>", SMTP_PATH_SYNTAX, NULL, NULL },
	};
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	RUN_MAIL(cases);
	assert_int_equal(mail("FROM:<a@[192.0.2.1]>", &path, &params),
	    SMTP_PATH_OK);
	assert_true(path.domain_is_literal);
	assert_int_equal(mail("FROM:<a@192.0.2.1>", &path, &params),
	    SMTP_PATH_OK);
	assert_false(path.domain_is_literal);
}

static void
test_domain_literal_ipv6(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@[IPv6:2001:db8::1]>", SMTP_PATH_OK, "a",
		    "[ipv6:2001:db8::1]" },
		{ "FROM:<a@[IPV6:2001:DB8::A]>", SMTP_PATH_OK, "a",
		    "[ipv6:2001:db8::a]" },
		{ "FROM:<a@[ipv6:::1]>", SMTP_PATH_OK, "a", "[ipv6:::1]" },
		{ "FROM:<a@[IPv6:::]>", SMTP_PATH_OK, "a", "[ipv6:::]" },
		{ "FROM:<a@[IPv6:2001:db8:0:0:0:0:0:1]>", SMTP_PATH_OK, "a",
		    "[ipv6:2001:db8:0:0:0:0:0:1]" },
		{ "FROM:<a@[IPv6:::ffff:192.0.2.1]>", SMTP_PATH_OK, "a",
		    "[ipv6:::ffff:192.0.2.1]" },
		{ "FROM:<a@[IPv6:2001:db8:::1]>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<a@[IPv6:2001:db8::1::2]>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<a@[IPv6:12345::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<a@[IPv6:g::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[IPv6:192.0.2.1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[IPv6:fe80::1%eth0]>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<a@[IPv6:]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[IPv6: ::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[IPv6::::::::::::::::::::::::::::::::::::::::::::"
		    "::::::::::::::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		/* an IPv6 address needs its tag */
		{ "FROM:<a@[2001:db8::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[IPv6::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[IPv6 ::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		/* general address literals are not supported */
		{ "FROM:<a@[IPv7:::1]>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<a@[x-tag:foo]>", SMTP_PATH_SYNTAX, NULL, NULL },
	};
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	(void)state;
	RUN_MAIL(cases);
	assert_int_equal(mail("FROM:<a@[IPv6:::1]>", &path, &params),
	    SMTP_PATH_OK);
	assert_true(path.domain_is_literal);
}

/* ---- source routes ---- */

static void
test_source_route(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<@a.test:user@c.test>", SMTP_PATH_OK, "user",
		    "c.test" },
		{ "FROM:<@a.test,@b.test:user@c.test>", SMTP_PATH_OK, "user",
		    "c.test" },
		{ "FROM:<@A.TEST,@b.test,@d.test:\"u v\"@C.test>",
		    SMTP_PATH_OK, "u v", "c.test" },
		{ "FROM:<@a.test,b.test:user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<@:user@c.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<@a.test,:user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<@a.test user@c.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<@a.test,@b.test user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<@a.test:>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<@a.test:@b.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<@a..test:user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<@a.test.:user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<@[192.0.2.1]:user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<@a.test;@b.test:user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
		{ "FROM:<@a.test::user@c.test>", SMTP_PATH_SYNTAX, NULL,
		    NULL },
	};
	struct smtp_path	 path;
	struct smtp_mail_params	 params;
	char			 dom[300], buf[600];

	(void)state;
	RUN_MAIL(cases);
	assert_int_equal(mail("FROM:<@a.test,@b.test:user@c.test>", &path,
	    &params), SMTP_PATH_OK);
	assert_true(path.had_source_route);
	assert_int_equal(mail("FROM:<user@c.test>", &path, &params),
	    SMTP_PATH_OK);
	assert_false(path.had_source_route);

	assert_int_equal(rcpt("TO:<@x,@y:\"q@x\"@[IPv6:::1]>", &path),
	    SMTP_PATH_OK);
	assert_true(path.had_source_route);
	assert_true(path.local_was_quoted);
	assert_true(path.domain_is_literal);
	assert_string_equal(path.local, "q@x");
	assert_string_equal(path.domain, "[ipv6:::1]");

	/* a route domain that is too long */
	build_domain(dom, sizeof(dom), 256);
	join(buf, sizeof(buf), "FROM:<@", dom, ":a@b.test>");
	assert_int_equal(mail(buf, &path, &params), SMTP_PATH_DOMAIN_TOO_LONG);
	assert_false(path.had_source_route);
}

/* ---- octets that never belong in a path ---- */

#define C(s) { (s), sizeof(s) - 1 }

static void
test_path_forbidden_octets(void **state)
{
	static const struct {
		const char	*arg;
		size_t		 len;
	} cases[] = {
		C("FROM:<a\0@b.test>"),
		C("FROM:<a@b.test>\0"),
		C("FROM:<a@b\0.test>"),
		C("FROM:<a\x01@b.test>"),
		C("FROM:<a@b.test\x7f>"),
		C("FROM:<a\r@b.test>"),
		C("FROM:<a\n@b.test>"),
		C("FROM:<a@b.test>\r"),
		C("FROM:<\xc3\xa9@b.test>"),
		C("FROM:<a@b\xc3\xa9.test>"),
		C("FROM:<\"a\x1b\"@b.test>"),
		C("FROM:<a@b.test> SIZE=1\x80"),
	};
	struct smtp_path	 path;
	struct smtp_mail_params	 params;
	struct span		 s;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s.p = cases[i].arg;
		s.len = cases[i].len;
		if (smtp_parse_mail(s, &path, &params) != SMTP_PATH_SYNTAX)
			fail_msg("MAIL case %zu accepted", i);
	}
	s.p = "TO:<a\0@b.test>";
	s.len = sizeof("TO:<a\0@b.test>") - 1;
	assert_int_equal(smtp_parse_rcpt(s, &path), SMTP_PATH_SYNTAX);
	assert_int_equal(rcpt("TO:<a@b.test\x01>", &path), SMTP_PATH_SYNTAX);
	assert_int_equal(rcpt("TO:<\xff@b.test>", &path), SMTP_PATH_SYNTAX);
	assert_int_equal(rcpt("TO:<a@b.test>\t", &path), SMTP_PATH_SYNTAX);
}

/* ---- RCPT ---- */

static void
test_rcpt_basic(void **state)
{
	static const struct path_case cases[] = {
		{ "TO:<user@example.test>", SMTP_PATH_OK, "user",
		    "example.test" },
		{ "to:<user@example.test>", SMTP_PATH_OK, "user",
		    "example.test" },
		{ "To: <User@Example.TEST>", SMTP_PATH_OK, "User",
		    "example.test" },
		{ "TO:<user@example.test>  ", SMTP_PATH_OK, "user",
		    "example.test" },
		{ "TO:  <user@example.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:user@example.test", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<user@example.test", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "FROM:<user@example.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO<user@example.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO :<user@example.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<user>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "TO:<a..b@example.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<user@example.test.>", SMTP_PATH_SYNTAX, NULL, NULL },
	};

	(void)state;
	RUN_RCPT(cases);
}

static void
test_rcpt_null_path(void **state)
{
	struct smtp_path	path;

	(void)state;
	assert_int_equal(rcpt("TO:<>", &path), SMTP_PATH_SYNTAX);
	assert_false(path.is_null);
	assert_int_equal(rcpt("TO: <>", &path), SMTP_PATH_SYNTAX);
}

static void
test_rcpt_postmaster(void **state)
{
	static const char *const bare[] = {
		"TO:<Postmaster>", "TO:<postmaster>", "TO:<POSTMASTER>",
		"TO:<PostMaster>", "TO: <postmaster>", "to:<postmaster>  ",
	};
	static const struct path_case cases[] = {
		{ "TO:<postmaster@example.test>", SMTP_PATH_OK, "postmaster",
		    "example.test" },
		{ "TO:<Postmaster@EXAMPLE.test>", SMTP_PATH_OK, "Postmaster",
		    "example.test" },
		{ "TO:<postmasterx>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "TO:<postmaste>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "TO:<post.master>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "TO:<\"postmaster\">", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "TO:<@a.test:postmaster>", SMTP_PATH_NO_DOMAIN, NULL, NULL },
		{ "TO:<postmaster@>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<postmaster> NOTIFY=NEVER", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "TO:postmaster", SMTP_PATH_SYNTAX, NULL, NULL },
	};
	struct smtp_path	path;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		if (rcpt(bare[i], &path) != SMTP_PATH_OK)
			fail_msg("\"%s\" refused", bare[i]);
		assert_true(path.is_bare_postmaster);
		assert_string_equal(path.local, "postmaster");
		assert_string_equal(path.domain, "");
		assert_false(path.is_null);
	}
	RUN_RCPT(cases);
	assert_int_equal(rcpt("TO:<postmaster@example.test>", &path),
	    SMTP_PATH_OK);
	assert_false(path.is_bare_postmaster);
}

static void
test_rcpt_params(void **state)
{
	static const struct path_case cases[] = {
		{ "TO:<a@b.test> NOTIFY=NEVER", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "TO:<a@b.test> ORCPT=rfc822;a@b.test", SMTP_PATH_BAD_PARAM,
		    NULL, NULL },
		{ "TO:<a@b.test> SIZE=10", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "TO:<a@b.test> BODY=8BITMIME", SMTP_PATH_BAD_PARAM, NULL,
		    NULL },
		{ "TO:<a@b.test>   X", SMTP_PATH_BAD_PARAM, NULL, NULL },
		{ "TO:<a@b.test>NOTIFY=NEVER", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<a@b.test>>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<a@b.test>,<c@d.test>", SMTP_PATH_SYNTAX, NULL, NULL },
		{ "TO:<a@b.test>    ", SMTP_PATH_OK, "a", "b.test" },
	};

	(void)state;
	RUN_RCPT(cases);
}

/* ---- HELO / EHLO ---- */

static void
test_helo_accepts(void **state)
{
	static const char *const good[] = {
		"mail.example.test", "MAIL.Example.TEST", "localhost",
		"DESKTOP-4QF7J2K", "my_host.example.test", "host.example.",
		"192.0.2.1", "[192.0.2.1]", "[IPv6:2001:db8::1]",
		"[ipv6:::1]", "-dash-.test", "x", "1",
	};
	char	out[HELO_MAX + 1];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!helo(good[i], out))
			fail_msg("HELO \"%s\" refused", good[i]);
		/* copied as given, case included */
		assert_string_equal(out, good[i]);
	}
}

static void
test_helo_refuses(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", ".host", "host..example", "host.example..",
		"host example", "host\texample", "h\xc3\xa9st.test",
		"host\x7f", "host>", "host;rm", "host,x", "\"host\"",
		"[300.1.1.1]", "[1.2.3]", "[192.0.2.1", "192.0.2.1]",
		"[IPv6:2001:db8:::1]", "[2001:db8::1]", "[]", "host@example",
		"[192.0.2.1].x", "host\r", "host\n",
	};
	char	out[HELO_MAX + 1];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(out, "junk", 5);
		if (helo(bad[i], out))
			fail_msg("HELO \"%s\" accepted", bad[i]);
		assert_string_equal(out, "");
	}
}

static void
test_helo_nul_and_length(void **state)
{
	char		out[HELO_MAX + 1], dom[300], buf[300];
	struct span	s;

	(void)state;
	s.p = "host\0.test";
	s.len = 10;
	assert_false(smtp_parse_helo(s, out));
	s.p = "\0";
	s.len = 1;
	assert_false(smtp_parse_helo(s, out));

	build_domain(dom, sizeof(dom), 255);
	assert_true(helo(dom, out));
	assert_int_equal(strlen(out), 255);
	build_domain(dom, sizeof(dom), 256);
	assert_false(helo(dom, out));

	/* 254 octets plus the lenient final dot still fits */
	build_domain(dom, sizeof(dom), 254);
	join(buf, sizeof(buf), dom, ".", "");
	assert_true(helo(buf, out));
	assert_string_equal(out, buf);

	build(buf, sizeof(buf), "", 'l', 64, ".test");
	assert_false(helo(buf, out));
}

/* ---- smtp_path_format ---- */

static void
check_format(const char *rcpt_arg, const char *want)
{
	struct smtp_path	path, again;
	char			out[ADDRESS_MAX + 1], line[ADDRESS_MAX + 8];
	size_t			n;

	if (rcpt(rcpt_arg, &path) != SMTP_PATH_OK)
		fail_msg("\"%s\" did not parse", rcpt_arg);
	n = smtp_path_format(&path, out);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));

	/* what we write parses back to the same path */
	memcpy(line, "TO:<", 4);
	memcpy(line + 4, out, n);
	memcpy(line + 4 + n, ">", 2);
	assert_int_equal(rcpt(line, &again), SMTP_PATH_OK);
	assert_string_equal(again.local, path.local);
	assert_string_equal(again.domain, path.domain);
	assert_int_equal(again.is_bare_postmaster, path.is_bare_postmaster);
}

static void
test_format(void **state)
{
	(void)state;
	check_format("TO:<user@example.test>", "user@example.test");
	check_format("TO:<User@EXAMPLE.test>", "User@example.test");
	check_format("TO:<first.last@x.test>", "first.last@x.test");
	check_format("TO:<\"john doe\"@x.test>", "\"john doe\"@x.test");
	check_format("TO:<\"a@b\"@x.test>", "\"a@b\"@x.test");
	check_format("TO:<\"a\\\"b\"@x.test>", "\"a\\\"b\"@x.test");
	check_format("TO:<\"a\\\\b\"@x.test>", "\"a\\\\b\"@x.test");
	check_format("TO:<\"a..b\"@x.test>", "\"a..b\"@x.test");
	check_format("TO:<\".a\"@x.test>", "\".a\"@x.test");
	check_format("TO:<\"a.\"@x.test>", "\"a.\"@x.test");
	check_format("TO:<\"\"@x.test>", "\"\"@x.test");
	check_format("TO:<\"\\a\"@x.test>", "a@x.test");
	/* quoting that was not needed is not kept */
	check_format("TO:<\"user\"@x.test>", "user@x.test");
	check_format("TO:<@a.test,@b.test:u@c.test>", "u@c.test");
	check_format("TO:<u@[IPv6:2001:DB8::1]>", "u@[ipv6:2001:db8::1]");
	check_format("TO:<u@[192.0.2.1]>", "u@[192.0.2.1]");
	check_format("TO:<Postmaster>", "postmaster");
}

static void
test_format_null(void **state)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;
	char			 out[ADDRESS_MAX + 1];

	(void)state;
	assert_int_equal(mail("FROM:<>", &path, &params), SMTP_PATH_OK);
	memcpy(out, "junk", 5);
	assert_int_equal(smtp_path_format(&path, out), 0);
	assert_string_equal(out, "");
}

static void
test_format_worst_case(void **state)
{
	struct smtp_path	path;
	char			out[ADDRESS_MAX + 2];
	char			dom[300];

	(void)state;
	/* 64 quotes, each escaped, and a 255-octet domain */
	memset(&path, 0, sizeof(path));
	memset(path.local, '"', LOCAL_PART_MAX);
	path.local[LOCAL_PART_MAX] = '\0';
	build_domain(dom, sizeof(dom), DOMAIN_MAX);
	memcpy(path.domain, dom, DOMAIN_MAX + 1);
	out[ADDRESS_MAX + 1] = 'Z';
	assert_int_equal(smtp_path_format(&path, out), ADDRESS_MAX);
	assert_int_equal(strlen(out), ADDRESS_MAX);
	assert_true(out[ADDRESS_MAX + 1] == 'Z');
	assert_true(out[0] == '"' && out[1] == '\\' && out[2] == '"');
	assert_true(out[129] == '"' && out[130] == '@');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_every_verb),
		cmocka_unit_test(test_command_verb_name_unknown),
		cmocka_unit_test(test_command_argument),
		cmocka_unit_test(test_command_verb_needs_space),
		cmocka_unit_test(test_command_unknown),
		cmocka_unit_test(test_command_empty),
		cmocka_unit_test(test_command_nul),
		cmocka_unit_test(test_command_bare_eol),
		cmocka_unit_test(test_command_8bit),
		cmocka_unit_test(test_command_too_long),
		cmocka_unit_test(test_mail_basic),
		cmocka_unit_test(test_mail_prefix),
		cmocka_unit_test(test_mail_angle_brackets_required),
		cmocka_unit_test(test_mail_null_path),
		cmocka_unit_test(test_mail_no_domain),
		cmocka_unit_test(test_mail_size),
		cmocka_unit_test(test_mail_size_bad),
		cmocka_unit_test(test_mail_body),
		cmocka_unit_test(test_mail_body_bad),
		cmocka_unit_test(test_mail_size_and_body),
		cmocka_unit_test(test_mail_unknown_params),
		cmocka_unit_test(test_local_dot_string),
		cmocka_unit_test(test_local_quoted),
		cmocka_unit_test(test_local_length),
		cmocka_unit_test(test_domain_syntax),
		cmocka_unit_test(test_domain_length),
		cmocka_unit_test(test_domain_label_length),
		cmocka_unit_test(test_domain_literal_ipv4),
		cmocka_unit_test(test_domain_literal_ipv6),
		cmocka_unit_test(test_source_route),
		cmocka_unit_test(test_path_forbidden_octets),
		cmocka_unit_test(test_rcpt_basic),
		cmocka_unit_test(test_rcpt_null_path),
		cmocka_unit_test(test_rcpt_postmaster),
		cmocka_unit_test(test_rcpt_params),
		cmocka_unit_test(test_helo_accepts),
		cmocka_unit_test(test_helo_refuses),
		cmocka_unit_test(test_helo_nul_and_length),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_null),
		cmocka_unit_test(test_format_worst_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
