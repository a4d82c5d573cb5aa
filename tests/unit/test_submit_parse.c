/*
 * test_submit_parse.c: unit tests for the request lines of the local
 * submission socket (src/submit_parse.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "submit_parse.h"

static int
p(const char *s, struct submit_line *l)
{
	return submit_parse_line(s, strlen(s), l);
}

static void
test_valid(void **state)
{
	struct submit_line	l;

	(void)state;
	assert_int_equal(p("MAIL <a@example.org>", &l), 0);
	assert_int_equal(l.verb, SUBMIT_MAIL);
	assert_string_equal(l.addr, "a@example.org");
	assert_int_equal(p("MAIL <>", &l), 0);
	assert_string_equal(l.addr, "");
	assert_int_equal(p("RCPT <\"q\"@example.org>", &l), 0);
	assert_int_equal(l.verb, SUBMIT_RCPT);
	assert_int_equal(p("DATA 12345", &l), 0);
	assert_int_equal(l.verb, SUBMIT_DATA);
	assert_int_equal(l.size, 12345);
	assert_int_equal(p("DATA 0", &l), 0);
	assert_int_equal(p("RELOAD", &l), 0);
	assert_int_equal(l.verb, SUBMIT_RELOAD);
}

static void
test_invalid(void **state)
{
	struct submit_line	l;
	char			big[ADDRESS_MAX + 32];

	(void)state;
	assert_int_equal(p("", &l), -1);
	assert_int_equal(p("MAIL", &l), -1);
	assert_int_equal(p("MAIL a@b", &l), -1);
	assert_int_equal(p("mail <a@b>", &l), -1);
	assert_int_equal(p("MAIL <a b@c>", &l), -1);
	assert_int_equal(p("MAIL <a\r@c>", &l), -1);
	assert_int_equal(p("MAIL <a@b> extra", &l), -1);
	assert_int_equal(p("RCPT <>", &l), -1);
	assert_int_equal(p("RCPT <<a@b>>", &l), -1);
	assert_int_equal(p("DATA", &l), -1);
	assert_int_equal(p("DATA -1", &l), -1);
	assert_int_equal(p("DATA 1x", &l), -1);
	assert_int_equal(p("DATA 99999999999999999999", &l), -1);
	assert_int_equal(p("RELOAD now", &l), -1);
	assert_int_equal(p("HELO x", &l), -1);
	memcpy(big, "RCPT <", 6);
	memset(big + 6, 'a', ADDRESS_MAX + 1);
	big[ADDRESS_MAX + 7] = '>';
	big[ADDRESS_MAX + 8] = '\0';
	assert_int_equal(p(big, &l), -1);
	assert_int_equal(submit_parse_line("MAIL <a\0b>", 11, &l), -1);
}

static void
test_status(void **state)
{
	(void)state;
	assert_int_equal(submit_status_parse("ok 123", 6), SUBMIT_OK);
	assert_int_equal(submit_status_parse("ok", 2), SUBMIT_OK);
	assert_int_equal(submit_status_parse("nouser <x>", 10),
	    SUBMIT_NOUSER);
	assert_int_equal(submit_status_parse("tempfail x", 10),
	    SUBMIT_TEMPFAIL);
	assert_int_equal(submit_status_parse("okay", 4), -1);
	assert_int_equal(submit_status_parse("", 0), -1);
	assert_string_equal(submit_status_name(SUBMIT_DATAERR), "dataerr");
	assert_string_equal(submit_status_name(SUBMIT_STATUS_COUNT),
	    "tempfail");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
