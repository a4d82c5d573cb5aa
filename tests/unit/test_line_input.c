/*
 * Unit tests for the line taker (src/line_input.c): CRLF ends a line and
 * nothing else does (RFC 5321 2.3.8), a line split over reads, the
 * ceiling (a line of exactly max octets with its CRLF passes, one more is
 * too long and answered once), and skipping the rest of an over-long
 * line as it arrives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <event2/buffer.h>

#include "line_input.h"

struct fixture {
	struct evbuffer	*in;
	bool		 skipping;
	char		 out[128];
	size_t		 len;
};

static int
setup(void **state)
{
	static struct fixture	f;

	memset(&f, 0, sizeof(f));
	f.in = evbuffer_new();
	assert_non_null(f.in);
	*state = &f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	evbuffer_free(f->in);
	return (0);
}

static enum line_result
take(struct fixture *f, size_t max)
{
	return (line_input_take(f->in, max, &f->skipping, f->out, &f->len));
}

static void
add(struct fixture *f, const char *s)
{
	assert_int_equal(evbuffer_add(f->in, s, strlen(s)), 0);
}

static void
test_empty_and_partial(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(take(f, 64), LINE_MORE);
	add(f, "HELO a.exam");
	assert_int_equal(take(f, 64), LINE_MORE);
	add(f, "ple\r");
	assert_int_equal(take(f, 64), LINE_MORE);
	add(f, "\nNOOP\r\n");
	assert_int_equal(take(f, 64), LINE_READY);
	assert_string_equal(f->out, "HELO a.example");
	assert_int_equal(f->len, 14);
	assert_int_equal(take(f, 64), LINE_READY);
	assert_string_equal(f->out, "NOOP");
	assert_int_equal(take(f, 64), LINE_MORE);
	assert_int_equal(evbuffer_get_length(f->in), 0);
}

static void
test_bare_cr_lf_do_not_end(void **state)
{
	struct fixture	*f = *state;

	add(f, "a\nb\rc\r\n");
	assert_int_equal(take(f, 64), LINE_READY);
	assert_int_equal(f->len, 5);
	assert_memory_equal(f->out, "a\nb\rc", 5);
	add(f, "\r\n");
	assert_int_equal(take(f, 64), LINE_READY);
	assert_int_equal(f->len, 0);
	assert_string_equal(f->out, "");
}

static void
test_ceiling(void **state)
{
	struct fixture	*f = *state;

	/* 8 octets with CRLF: exactly max passes. */
	add(f, "123456\r\n");
	assert_int_equal(take(f, 8), LINE_READY);
	assert_string_equal(f->out, "123456");
	/* 9: too long, and the line is gone. */
	add(f, "1234567\r\nNEXT\r\n");
	assert_int_equal(take(f, 8), LINE_TOO_LONG);
	assert_false(f->skipping);
	assert_int_equal(take(f, 8), LINE_READY);
	assert_string_equal(f->out, "NEXT");
}

static void
test_skip_as_it_arrives(void **state)
{
	struct fixture	*f = *state;

	add(f, "0123456789abcdef");
	assert_int_equal(take(f, 8), LINE_TOO_LONG);	/* answered once */
	assert_true(f->skipping);
	add(f, "more and more\r");
	assert_int_equal(take(f, 8), LINE_MORE);
	/* The kept last byte was the CR of the CRLF. */
	assert_true(evbuffer_get_length(f->in) <= 1);
	add(f, "\nQUIT\r\n");
	assert_int_equal(take(f, 8), LINE_SKIPPED);
	assert_false(f->skipping);
	assert_int_equal(take(f, 8), LINE_READY);
	assert_string_equal(f->out, "QUIT");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_and_partial, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bare_cr_lf_do_not_end,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ceiling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skip_as_it_arrives, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
