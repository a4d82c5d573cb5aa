/*
 * Unit tests for the line-table loader (src/line_table.c): lines reach
 * the callback numbered from 1, skipped lines still count, a refusal and
 * an over-long line are reported as FILE:LINE, and the last line may
 * lack its LF; CRLF ends a line too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "line_table.h"

struct seen {
	char	lines[8][32];
	size_t	numbers[8];
	size_t	n;
};

static int
collect(void *arg, const char *line, size_t len, size_t lineno,
    const char **why)
{
	struct seen	*s = arg;

	if (len == 0 || line[0] == '#')
		return (1);
	if (len == 3 && memcmp(line, "bad", 3) == 0) {
		*why = "bad line";
		return (-1);
	}
	if (s->n < 8) {
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%.*s",
		    (int)len, line);
		s->numbers[s->n++] = lineno;
	}
	return (0);
}

static int
load(const char *text, size_t max, struct seen *s, char *err, size_t len)
{
	struct line_table	 lt = { .path = "t.txt", .max = max,
				    .line = collect, .arg = s };
	FILE			*fp;
	int			 rc;

	memset(s, 0, sizeof(*s));
	fp = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	assert_non_null(fp);
	rc = line_table_read(&lt, fp, err, len);
	fclose(fp);
	return (rc);
}

static void
test_lines_and_numbers(void **state)
{
	struct seen	s;
	char		err[128];

	(void)state;
	assert_int_equal(load("# c\n\none\ntwo\r\nthree", 64, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "one");
	assert_int_equal(s.numbers[0], 3);
	assert_string_equal(s.lines[1], "two");
	assert_string_equal(s.lines[2], "three");
	assert_int_equal(s.numbers[2], 5);
}

static void
test_refusal_names_line(void **state)
{
	struct seen	s;
	char		err[128];

	(void)state;
	assert_int_equal(load("one\n# c\nbad\nfour\n", 64, &s, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.txt:3: bad line");
	assert_int_equal(s.n, 1);
}

static void
test_long_line(void **state)
{
	struct seen	s;
	char		err[128];

	(void)state;
	assert_int_equal(load("short\n0123456789abcdef\n", 8, &s, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.txt:2: line longer than 8 octets");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_numbers),
		cmocka_unit_test(test_refusal_names_line),
		cmocka_unit_test(test_long_line),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
