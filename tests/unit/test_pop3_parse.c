/*
 * test_pop3_parse.c: cmocka unit tests for pop3_parse.c, the pure POP3
 * command parser: verbs (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034
 * AUTH), argument counts, the RFC 2449 4 limits and their exceptions
 * (USER, PASS, AUTH), line hygiene (NUL, bare CR/LF, 8-bit), PASS taken
 * verbatim, SASL continuation lines and message numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pop3_parse.h"

static enum pop3_parse_result
parse(const char *line, struct pop3_command *cmd)
{
	return pop3_parse_command(line, strlen(line), cmd);
}

static void
check_span(struct span got, const char *want)
{
	assert_int_equal(got.len, strlen(want));
	assert_memory_equal(got.p, want, got.len);
}

static struct span
span_of(const char *s)
{
	struct span	sp = { s, strlen(s) };

	return sp;
}

static void
test_verbs(void **state)
{
	static const struct {
		const char	*line;
		enum pop3_verb	 verb;
	} cases[] = {
		{ "USER a@b", POP3_VERB_USER }, { "PASS x", POP3_VERB_PASS },
		{ "AUTH", POP3_VERB_AUTH }, { "APOP a b", POP3_VERB_APOP },
		{ "STLS", POP3_VERB_STLS }, { "CAPA", POP3_VERB_CAPA },
		{ "STAT", POP3_VERB_STAT }, { "LIST", POP3_VERB_LIST },
		{ "RETR 1", POP3_VERB_RETR }, { "DELE 1", POP3_VERB_DELE },
		{ "NOOP", POP3_VERB_NOOP }, { "RSET", POP3_VERB_RSET },
		{ "QUIT", POP3_VERB_QUIT }, { "TOP 1 0", POP3_VERB_TOP },
		{ "UIDL", POP3_VERB_UIDL }, { "stat", POP3_VERB_STAT },
		{ "QuIt", POP3_VERB_QUIT }, { "top 1 2", POP3_VERB_TOP },
	};
	struct pop3_command	cmd;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].line, &cmd), POP3_PARSE_OK);
		assert_int_equal(cmd.verb, cases[i].verb);
		assert_string_not_equal(pop3_verb_name(cmd.verb), "UNKNOWN");
	}
	assert_string_equal(pop3_verb_name(POP3_VERB_RETR), "RETR");
	assert_string_equal(pop3_verb_name(POP3_VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(pop3_verb_name(POP3_VERB_COUNT), "UNKNOWN");
}

static void
test_unknown_and_empty(void **state)
{
	struct pop3_command	cmd;

	(void)state;
	assert_int_equal(parse("", &cmd), POP3_PARSE_EMPTY);
	assert_int_equal(parse("HELO x", &cmd), POP3_PARSE_UNKNOWN);
	assert_int_equal(cmd.verb, POP3_VERB_UNKNOWN);
	assert_int_equal(parse("RETR1", &cmd), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse("STATS", &cmd), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse(" STAT", &cmd), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse("STA", &cmd), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse("XTND XMIT", &cmd), POP3_PARSE_UNKNOWN);
}

static void
test_args(void **state)
{
	struct pop3_command	cmd;

	(void)state;
	assert_int_equal(parse("STAT", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 0);
	assert_int_equal(parse("STAT ", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 0);
	assert_int_equal(parse("LIST 12", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 1);
	check_span(cmd.args[0], "12");
	assert_int_equal(parse("TOP 3  10 ", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 2);
	check_span(cmd.args[0], "3");
	check_span(cmd.args[1], "10");
	assert_int_equal(parse("USER alice@example.test", &cmd),
	    POP3_PARSE_OK);
	check_span(cmd.args[0], "alice@example.test");
	assert_int_equal(parse("AUTH PLAIN", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 1);
	check_span(cmd.args[0], "PLAIN");
	assert_int_equal(parse("AUTH PLAIN AHUAcA==", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 2);
	check_span(cmd.args[1], "AHUAcA==");
	assert_int_equal(parse("AUTH PLAIN =", &cmd), POP3_PARSE_OK);
	check_span(cmd.args[1], "=");
}

static void
test_arity(void **state)
{
	static const char *const bad[] = {
		"STAT 1", "NOOP x", "RSET x", "QUIT now", "CAPA x", "STLS x",
		"LIST 1 2", "UIDL 1 2", "RETR", "RETR 1 2", "DELE", "DELE 1 2",
		"TOP 1", "TOP", "TOP 1 2 3", "USER", "USER a b", "AUTH a b c",
		"PASS",
	};
	struct pop3_command	cmd;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &cmd), POP3_PARSE_SYNTAX);
		assert_int_not_equal(cmd.verb, POP3_VERB_UNKNOWN);
	}
	/* A tab is not a separator; controls are refused. */
	assert_int_equal(parse("RETR\t1", &cmd), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse("RETR 1\t", &cmd), POP3_PARSE_SYNTAX);
	assert_int_equal(parse("USER a\x7f", &cmd), POP3_PARSE_SYNTAX);
}

static void
test_pass_verbatim(void **state)
{
	struct pop3_command	cmd;

	(void)state;
	assert_int_equal(parse("PASS secret", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.nargs, 1);
	check_span(cmd.args[0], "secret");
	assert_int_equal(parse("PASS  two  spaces ", &cmd), POP3_PARSE_OK);
	check_span(cmd.args[0], " two  spaces ");
	assert_int_equal(parse("pass tab\there", &cmd), POP3_PARSE_OK);
	check_span(cmd.args[0], "tab\there");
	assert_int_equal(parse("PASS caf\xc3\xa9", &cmd), POP3_PARSE_OK);
	check_span(cmd.args[0], "caf\xc3\xa9");
	assert_int_equal(parse("PASS ", &cmd), POP3_PARSE_SYNTAX);
	assert_int_equal(cmd.verb, POP3_VERB_PASS);
}

static void
test_hygiene(void **state)
{
	struct pop3_command	cmd;

	(void)state;
	assert_int_equal(pop3_parse_command("STAT\0", 5, &cmd),
	    POP3_PARSE_NUL);
	assert_int_equal(pop3_parse_command("PASS a\0b", 8, &cmd),
	    POP3_PARSE_NUL);
	assert_int_equal(parse("STAT\r", &cmd), POP3_PARSE_BARE_EOL);
	assert_int_equal(parse("LIST\nSTAT", &cmd), POP3_PARSE_BARE_EOL);
	assert_int_equal(parse("PASS a\rb", &cmd), POP3_PARSE_BARE_EOL);
	assert_int_equal(cmd.verb, POP3_VERB_PASS);
	assert_int_equal(parse("USER \xc3\xa9@x", &cmd), POP3_PARSE_8BIT);
	assert_int_equal(parse("\xc3\xa9", &cmd), POP3_PARSE_8BIT);
	assert_int_equal(parse("STAT\xff", &cmd), POP3_PARSE_8BIT);
	assert_int_equal(parse("AUTH PLAIN \x80", &cmd), POP3_PARSE_8BIT);
	/* NUL is reported before a bare LF, a bare LF before 8-bit. */
	assert_int_equal(pop3_parse_command("X\n\0", 3, &cmd),
	    POP3_PARSE_NUL);
	assert_int_equal(parse("\xff\n", &cmd), POP3_PARSE_BARE_EOL);
}

/* A line of verb, one space and n copies of c. */
static char *
line_of(const char *verb, size_t n, char c)
{
	size_t	 vl = strlen(verb);
	char	*p = malloc(vl + 1 + n + 1);

	assert_non_null(p);
	memcpy(p, verb, vl);
	p[vl] = ' ';
	memset(p + vl + 1, c, n);
	p[vl + 1 + n] = '\0';
	return p;
}

static void
test_lengths(void **state)
{
	struct pop3_command	 cmd;
	char			*p;

	(void)state;
	/* RFC 2449 4: 40 per argument ... */
	p = line_of("LIST", POP3_ARG_MAX, '1');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_OK);
	free(p);
	p = line_of("LIST", POP3_ARG_MAX + 1, '1');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_ARG_TOO_LONG);
	assert_int_equal(cmd.verb, POP3_VERB_LIST);
	free(p);
	/* ... and 255 octets per line, CRLF included. */
	p = line_of("TOP", POP3_COMMAND_LINE_MAX - 2 - 4, ' ');
	p[4] = '1';
	p[POP3_COMMAND_LINE_MAX - 3] = '2';
	assert_int_equal(parse(p, &cmd), POP3_PARSE_OK);
	free(p);
	p = line_of("TOP", POP3_COMMAND_LINE_MAX - 2 - 3, ' ');
	p[4] = '1';
	p[POP3_COMMAND_LINE_MAX - 2] = '2';
	assert_int_equal(parse(p, &cmd), POP3_PARSE_TOO_LONG);
	assert_int_equal(cmd.verb, POP3_VERB_TOP);
	free(p);
	/* USER takes a full address. */
	p = line_of("USER", AUTH_USER_MAX, 'u');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_OK);
	free(p);
	p = line_of("USER", AUTH_USER_MAX + 1, 'u');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_TOO_LONG);
	free(p);
	/* PASS up to AUTH_PASSWORD_MAX. */
	p = line_of("PASS", AUTH_PASSWORD_MAX, 'p');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.args[0].len, AUTH_PASSWORD_MAX);
	free(p);
	p = line_of("PASS", AUTH_PASSWORD_MAX + 1, 'p');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_TOO_LONG);
	assert_int_equal(cmd.verb, POP3_VERB_PASS);
	free(p);
	/* AUTH: a mechanism of 20, a response of SASL_RESPONSE_MAX. */
	p = line_of("AUTH", SASL_MECH_MAX + 1 + SASL_RESPONSE_MAX, 'A');
	p[5 + SASL_MECH_MAX] = ' ';
	assert_int_equal(parse(p, &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.args[1].len, SASL_RESPONSE_MAX);
	free(p);
	p = line_of("AUTH", SASL_MECH_MAX + 2 + SASL_RESPONSE_MAX, 'A');
	p[5 + SASL_MECH_MAX] = ' ';
	assert_int_equal(parse(p, &cmd), POP3_PARSE_TOO_LONG);
	free(p);
	p = line_of("AUTH", SASL_MECH_MAX + 1, 'A');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_ARG_TOO_LONG);
	free(p);
	/* An unknown verb is measured against the longest line. */
	p = line_of("XXXX", POP3_LINE_MAX, 'x');
	assert_int_equal(parse(p, &cmd), POP3_PARSE_TOO_LONG);
	free(p);
}

static void
test_sasl_line(void **state)
{
	bool	 cancel;
	char	*p;

	(void)state;
	assert_int_equal(pop3_parse_sasl_line("AHUAcA==", 8, &cancel),
	    POP3_PARSE_OK);
	assert_false(cancel);
	assert_int_equal(pop3_parse_sasl_line("*", 1, &cancel),
	    POP3_PARSE_OK);
	assert_true(cancel);
	assert_int_equal(pop3_parse_sasl_line("", 0, &cancel),
	    POP3_PARSE_OK);
	assert_false(cancel);
	assert_int_equal(pop3_parse_sasl_line("A B", 3, &cancel),
	    POP3_PARSE_SYNTAX);
	assert_int_equal(pop3_parse_sasl_line("A\0", 2, &cancel),
	    POP3_PARSE_NUL);
	assert_int_equal(pop3_parse_sasl_line("A\r", 2, &cancel),
	    POP3_PARSE_BARE_EOL);
	assert_int_equal(pop3_parse_sasl_line("\xc3", 1, &cancel),
	    POP3_PARSE_8BIT);
	p = malloc(SASL_RESPONSE_MAX + 1);
	assert_non_null(p);
	memset(p, 'A', SASL_RESPONSE_MAX + 1);
	assert_int_equal(pop3_parse_sasl_line(p, SASL_RESPONSE_MAX, &cancel),
	    POP3_PARSE_OK);
	assert_int_equal(pop3_parse_sasl_line(p, SASL_RESPONSE_MAX + 1,
	    &cancel), POP3_PARSE_TOO_LONG);
	free(p);
}

static void
test_numbers(void **state)
{
	unsigned	n;

	(void)state;
	assert_true(pop3_parse_number(span_of("1"), false, &n));
	assert_int_equal(n, 1);
	assert_true(pop3_parse_number(span_of("007"), false, &n));
	assert_int_equal(n, 7);
	assert_true(pop3_parse_number(span_of("2147483647"), false, &n));
	assert_int_equal(n, 2147483647u);
	assert_false(pop3_parse_number(span_of("2147483648"), false, &n));
	assert_false(pop3_parse_number(span_of("99999999999999999999999"),
	    false, &n));
	assert_false(pop3_parse_number(span_of("0"), false, &n));
	assert_true(pop3_parse_number(span_of("0"), true, &n));
	assert_int_equal(n, 0);
	assert_false(pop3_parse_number(span_of(""), true, &n));
	assert_false(pop3_parse_number(span_of("+1"), false, &n));
	assert_false(pop3_parse_number(span_of("-1"), true, &n));
	assert_false(pop3_parse_number(span_of("1x"), false, &n));
	assert_false(pop3_parse_number(span_of(" 1"), false, &n));
	assert_false(pop3_parse_number(span_of("0x10"), false, &n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_unknown_and_empty),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_arity),
		cmocka_unit_test(test_pass_verbatim),
		cmocka_unit_test(test_hygiene),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_sasl_line),
		cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
