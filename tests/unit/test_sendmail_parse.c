/*
 * test_sendmail_parse.c: unit tests for the sendmail(8) command line and
 * the RFC 5322 3.4 address-list parser (src/sendmail_parse.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sendmail_parse.h"

struct got {
	char	addrs[8][ADDRESS_MAX + 1];
	int	n;
};

static void
collect(const char *addr, void *arg)
{
	struct got	*g = arg;

	if (g->n < 8)
		snprintf(g->addrs[g->n], sizeof(g->addrs[0]), "%s", addr);
	g->n++;
}

static int
parse(const char *s, struct got *g)
{
	memset(g, 0, sizeof(*g));
	return sendmail_parse_addresses(s, strlen(s), collect, g);
}

static void
test_addresses_plain(void **state)
{
	struct got	g;

	(void)state;
	assert_int_equal(parse(" a@example.org", &g), 1);
	assert_string_equal(g.addrs[0], "a@example.org");
	assert_int_equal(parse("a@x.org, b@y.org,c@z.org", &g), 3);
	assert_string_equal(g.addrs[2], "c@z.org");
	assert_int_equal(parse("root", &g), 1);
	assert_string_equal(g.addrs[0], "root");
	assert_int_equal(parse("", &g), 0);
	assert_int_equal(parse(" , ,", &g), 0);
}

static void
test_addresses_names_comments(void **state)
{
	struct got	g;

	(void)state;
	assert_int_equal(parse("John Doe <john@example.org>", &g), 1);
	assert_string_equal(g.addrs[0], "john@example.org");
	assert_int_equal(parse("\"Doe, John\" <john@example.org>, "
	    "jane@example.org (Jane (the) Doe)", &g), 2);
	assert_string_equal(g.addrs[0], "john@example.org");
	assert_string_equal(g.addrs[1], "jane@example.org");
	assert_int_equal(parse("\"odd local\"@example.org", &g), 1);
	assert_string_equal(g.addrs[0], "\"odd local\"@example.org");
	assert_int_equal(parse("<@relay.example:x@example.org>", &g), 1);
	assert_string_equal(g.addrs[0], "x@example.org");
	assert_int_equal(parse("a @ example.org", &g), 1);
	assert_string_equal(g.addrs[0], "a@example.org");
}

static void
test_addresses_groups(void **state)
{
	struct got	g;

	(void)state;
	assert_int_equal(parse("undisclosed-recipients:;", &g), 0);
	assert_int_equal(parse("team: a@example.org, b@example.org; "
	    "c@example.org", &g), 3);
	assert_string_equal(g.addrs[1], "b@example.org");
	assert_string_equal(g.addrs[2], "c@example.org");
}

static void
test_addresses_malformed(void **state)
{
	struct got	g;
	char		big[ADDRESS_MAX + 20];

	(void)state;
	assert_int_equal(parse("<a@example.org", &g), -1);
	assert_int_equal(parse("a@example.org>", &g), -1);
	assert_int_equal(parse("\"unterminated@example.org", &g), -1);
	assert_int_equal(parse("(unterminated a@example.org", &g), -1);
	assert_int_equal(parse("a@example.org;", &g), -1);
	assert_int_equal(parse("a:b:c;", &g), -1);
	assert_int_equal(parse("a\001@example.org", &g), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, &g), -1);
	/* A long display name is fine: only the address counts. */
	big[0] = '"';
	big[sizeof(big) - 2] = '"';
	{
		char s[sizeof(big) + 32];

		snprintf(s, sizeof(s), "%s <a@example.org>", big);
		assert_int_equal(parse(s, &g), 1);
		assert_string_equal(g.addrs[0], "a@example.org");
	}
}

static int
args(struct sendmail_opts *o, char *err, ...)
{
	char	*argv[16];
	int	 argc = 0;
	va_list	 ap;

	va_start(ap, err);
	argv[argc++] = (char *)"sendmail";
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return sendmail_parse_args(argc, argv, o, err, 128) == -1 ? -1 :
	    o->first_rcpt;
}

static void
test_args(void **state)
{
	struct sendmail_opts	o;
	char			err[128];

	(void)state;
	assert_int_equal(args(&o, err, "-t", "-i", NULL), 3);
	assert_true(o.from_headers);
	assert_true(o.ignore_dots);
	assert_int_equal(args(&o, err, "-oi", "-odi", "-oem", "-fme@x.org",
	    "-F", "Me Myself", "a@b.org", "c", NULL), 7);
	assert_true(o.ignore_dots);
	assert_string_equal(o.from, "me@x.org");
	assert_string_equal(o.fullname, "Me Myself");
	assert_int_equal(args(&o, err, "-f", "", "-v", "-N", "never",
	    "-C", "/etc/p.conf", "--", "-odd", NULL), 9);
	assert_string_equal(o.from, "");
	assert_string_equal(o.config, "/etc/p.conf");
	assert_false(o.ignore_dots);
	assert_int_equal(args(&o, err, "-bp", NULL), 2);
	assert_int_equal(o.mode, SENDMAIL_QUEUE);
	assert_int_equal(args(&o, err, "-bi", NULL), 2);
	assert_int_equal(o.mode, SENDMAIL_RELOAD);
	assert_int_equal(args(&o, err, "-o", "AliasFile=x", "u", NULL), 3);
}

static void
test_args_refused(void **state)
{
	struct sendmail_opts	o;
	char			err[128];

	(void)state;
	assert_int_equal(args(&o, err, "-bs", NULL), -1);
	assert_non_null(strstr(err, "-bs"));
	assert_int_equal(args(&o, err, "-bd", NULL), -1);
	assert_int_equal(args(&o, err, "-f", NULL), -1);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(args(&o, err, "-q", NULL), -1);
	assert_int_equal(args(&o, err, "-tx", NULL), -1);
}

static void
test_header_names(void **state)
{
	(void)state;
	assert_int_equal(sendmail_header_name("To: a", 5), 2);
	assert_int_equal(sendmail_header_name("X-Thing:a", 9), 7);
	assert_int_equal(sendmail_header_name("no header", 9), 0);
	assert_int_equal(sendmail_header_name(":x", 2), 0);
	assert_int_equal(sendmail_header_name(" To: a", 6), 0);
	assert_true(sendmail_header_is("bcc: a", 6, "Bcc"));
	assert_false(sendmail_header_is("Bccx: a", 7, "Bcc"));
	assert_false(sendmail_header_is("body", 4, "Bcc"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses_plain),
		cmocka_unit_test(test_addresses_names_comments),
		cmocka_unit_test(test_addresses_groups),
		cmocka_unit_test(test_addresses_malformed),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_args_refused),
		cmocka_unit_test(test_header_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
