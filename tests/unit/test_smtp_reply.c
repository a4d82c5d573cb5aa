/*
 * test_smtp_reply.c: unit tests for the SMTP client's pure parts: the
 * reply parser and EHLO keywords (src/smtp_reply.c), and the DATA
 * encoder (mta_session_dotstuff in src/mta_session.c): single and
 * multi-line replies, octet-by-octet feeding, every malformation, enhanced
 * status codes, and dot-stuffing across chunk boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mta_session.h"
#include "smtp_reply.h"

static enum smtp_reply_result
parse(const char *s, struct smtp_reply *r)
{
	return smtp_reply_parse(s, strlen(s), r);
}

static void
assert_span(struct span sp, const char *want)
{
	assert_int_equal(sp.len, strlen(want));
	assert_memory_equal(sp.p, want, sp.len);
}

static void
test_single_line(void **state)
{
	struct smtp_reply	r;

	(void)state;
	assert_int_equal(parse("250 2.1.0 Ok\r\n", &r), SMTP_REPLY_OK);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 1);
	assert_span(r.lines[0], "2.1.0 Ok");
	assert_string_equal(r.status, "2.1.0");
	assert_int_equal(r.consumed, 14);

	assert_int_equal(parse("220\r\n", &r), SMTP_REPLY_OK);
	assert_int_equal(r.code, 220);
	assert_span(r.lines[0], "");
	assert_string_equal(r.status, "");

	/* a bare LF ends a line too (lenient with servers) */
	assert_int_equal(parse("354 go\n", &r), SMTP_REPLY_OK);
	assert_int_equal(r.code, 354);
	assert_int_equal(r.consumed, 7);
}

static void
test_multi_line(void **state)
{
	struct smtp_reply	r;
	const char		*ehlo = "250-mx.remote.test Hello\r\n"
	    "250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
	    "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250 AUTH PLAIN LOGIN\r\n";

	(void)state;
	assert_int_equal(parse(ehlo, &r), SMTP_REPLY_OK);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 7);
	assert_span(r.lines[0], "mx.remote.test Hello");
	assert_span(r.lines[6], "AUTH PLAIN LOGIN");
	assert_int_equal(r.consumed, strlen(ehlo));
}

static void
test_pipelined_replies(void **state)
{
	struct smtp_reply	r;
	const char		*buf = "250 2.1.0 Ok\r\n550 5.1.1 no\r\n"
	    "354 go\r\n";
	size_t			 off = 0;
	unsigned		 codes[3], n = 0;

	(void)state;
	while (off < strlen(buf)) {
		assert_int_equal(smtp_reply_parse(buf + off, strlen(buf) - off,
		    &r), SMTP_REPLY_OK);
		codes[n++] = r.code;
		off += r.consumed;
	}
	assert_int_equal(n, 3);
	assert_int_equal(codes[0], 250);
	assert_int_equal(codes[1], 550);
	assert_int_equal(codes[2], 354);
}

static void
test_incremental(void **state)
{
	struct smtp_reply	r;
	const char		*s = "250-a\r\n250-b\r\n250 c\r\n";
	size_t			 i, len = strlen(s);

	(void)state;
	for (i = 0; i < len; i++)
		assert_int_equal(smtp_reply_parse(s, i, &r), SMTP_REPLY_MORE);
	assert_int_equal(smtp_reply_parse(s, len, &r), SMTP_REPLY_OK);
	assert_int_equal(r.nlines, 3);
}

static void
test_invalid(void **state)
{
	struct smtp_reply	r;
	char			big[SMTP_REPLY_LINE_MAX + 16];
	char			*many;
	size_t			i;

	(void)state;
	assert_int_equal(parse("hello\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("hel", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("25\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("150 x\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("650 x\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("260 x\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("25a x\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("250x\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(parse("250x", &r), SMTP_REPLY_INVALID);
	/* RFC 5321 4.2.1: one code for every line */
	assert_int_equal(parse("250-a\r\n251 b\r\n", &r), SMTP_REPLY_INVALID);
	assert_int_equal(smtp_reply_parse("250 a\0b\r\n", 9, &r),
	    SMTP_REPLY_INVALID);
	memset(big, 'x', sizeof(big));
	memcpy(big, "250 ", 4);
	assert_int_equal(smtp_reply_parse(big, sizeof(big), &r),
	    SMTP_REPLY_INVALID);
	/* just below the line maximum is fine */
	big[SMTP_REPLY_LINE_MAX - 1] = '\n';
	assert_int_equal(smtp_reply_parse(big, SMTP_REPLY_LINE_MAX, &r),
	    SMTP_REPLY_OK);
	/* too many lines */
	many = malloc((SMTP_REPLY_LINES_MAX + 1) * 6 + 1);
	assert_non_null(many);
	for (i = 0; i < SMTP_REPLY_LINES_MAX + 1; i++)
		memcpy(many + i * 6, "250-x\n", 6);
	many[SMTP_REPLY_LINES_MAX * 6 + 3] = ' ';
	assert_int_equal(smtp_reply_parse(many, (SMTP_REPLY_LINES_MAX + 1) * 6,
	    &r), SMTP_REPLY_INVALID);
	/* exactly the maximum is fine */
	many[(SMTP_REPLY_LINES_MAX - 1) * 6 + 3] = ' ';
	assert_int_equal(smtp_reply_parse(many, SMTP_REPLY_LINES_MAX * 6, &r),
	    SMTP_REPLY_OK);
	assert_int_equal(r.nlines, SMTP_REPLY_LINES_MAX);
	free(many);
}

static void
test_enhanced_status(void **state)
{
	struct smtp_reply	r;
	char			st[SMTP_REPLY_STATUS_MAX];

	(void)state;
	assert_int_equal(parse("550 5.1.1 <x@y>: no such user\r\n", &r),
	    SMTP_REPLY_OK);
	assert_string_equal(r.status, "5.1.1");
	assert_int_equal(parse("451 4.7.1\r\n", &r), SMTP_REPLY_OK);
	assert_string_equal(r.status, "4.7.1");
	assert_int_equal(parse("554 5.123.456 x\r\n", &r), SMTP_REPLY_OK);
	assert_string_equal(r.status, "5.123.456");
	/* the class must match the reply (RFC 2034 4) */
	assert_int_equal(parse("550 4.1.1 odd\r\n", &r), SMTP_REPLY_OK);
	assert_string_equal(r.status, "");
	assert_int_equal(parse("550 5.1 short\r\n", &r), SMTP_REPLY_OK);
	assert_string_equal(r.status, "");
	assert_int_equal(parse("550 5.1.1234 long\r\n", &r), SMTP_REPLY_OK);
	assert_string_equal(r.status, "");
	assert_int_equal(parse("550 5.1.1x\r\n", &r), SMTP_REPLY_OK);
	assert_string_equal(r.status, "");
	smtp_reply_status(&r, st);
	assert_string_equal(st, "5.0.0");
	assert_int_equal(parse("421 closing\r\n", &r), SMTP_REPLY_OK);
	smtp_reply_status(&r, st);
	assert_string_equal(st, "4.0.0");
	assert_int_equal(parse("250 2.6.0 queued\r\n", &r), SMTP_REPLY_OK);
	smtp_reply_status(&r, st);
	assert_string_equal(st, "2.6.0");
}

static void
test_ehlo(void **state)
{
	struct smtp_reply	r;
	struct smtp_ehlo	e;

	(void)state;
	assert_int_equal(parse("250-mx\r\n250-pipelining\r\n250-SIZE 1000\r\n"
	    "250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-AUTH=LOGIN\r\n250 AUTH CRAM-MD5 PLAIN\r\n", &r),
	    SMTP_REPLY_OK);
	smtp_reply_ehlo(&r, &e);
	assert_true(e.pipelining);
	assert_true(e.size);
	assert_int_equal(e.size_max, 1000);
	assert_true(e.eightbitmime);
	assert_true(e.starttls);
	assert_true(e.enhancedstatuscodes);
	assert_true(e.auth_plain);
	assert_true(e.auth_login);

	/* the greeting line is never a keyword; look-alikes are not */
	assert_int_equal(parse("250-PIPELINING\r\n250-SIZE\r\n"
	    "250-STARTTLSX\r\n250 8BITMIMEX\r\n", &r), SMTP_REPLY_OK);
	smtp_reply_ehlo(&r, &e);
	assert_false(e.pipelining);
	assert_true(e.size);
	assert_int_equal(e.size_max, 0);
	assert_false(e.starttls);
	assert_false(e.eightbitmime);
	assert_false(e.auth_plain);

	/* a single-line 250 offers nothing */
	assert_int_equal(parse("250 mx\r\n", &r), SMTP_REPLY_OK);
	smtp_reply_ehlo(&r, &e);
	assert_false(e.pipelining || e.size || e.starttls);

	/* an absurd SIZE is no limit */
	assert_int_equal(parse("250-mx\r\n"
	    "250 SIZE 999999999999999999999999\r\n", &r), SMTP_REPLY_OK);
	smtp_reply_ehlo(&r, &e);
	assert_true(e.size);
}

static void
test_text(void **state)
{
	struct smtp_reply	r;
	char			out[64], small[8];

	(void)state;
	assert_int_equal(parse("550-5.1.1 first\r\n"
	    "550 5.1.1 second\x01\xff\r\n", &r), SMTP_REPLY_OK);
	smtp_reply_text(&r, out, sizeof(out));
	assert_string_equal(out, "550 5.1.1 first 5.1.1 second??");
	smtp_reply_text(&r, small, sizeof(small));
	assert_string_equal(small, "550 5.1");
	assert_int_equal(parse("221\r\n", &r), SMTP_REPLY_OK);
	smtp_reply_text(&r, out, sizeof(out));
	assert_string_equal(out, "221");
}

static void
encode(const char *in, size_t chunk, char *out, size_t *len)
{
	struct mta_dot	st = { false };
	size_t		i, n, o = 0, l = strlen(in);

	for (i = 0; i < l; i += n) {
		n = l - i < chunk ? l - i : chunk;
		o += mta_session_dotstuff(&st, in + i, n, out + o);
	}
	o += mta_session_dotstuff_end(&st, out + o);
	out[o] = '\0';
	*len = o;
}

static void
test_dotstuff(void **state)
{
	char		out[256];
	size_t		len, chunk;
	const char	*in = "Subject: x\n\n.one\n..two\nthree.\n.\nlast";
	const char	*want = "Subject: x\r\n\r\n..one\r\n...two\r\n"
	    "three.\r\n..\r\nlast\r\n.\r\n";

	(void)state;
	/* the same output whatever the chunking */
	for (chunk = 1; chunk <= strlen(in); chunk++) {
		encode(in, chunk, out, &len);
		assert_string_equal(out, want);
	}
	encode("", 1, out, &len);
	assert_string_equal(out, ".\r\n");
	encode("a\n", 1, out, &len);
	assert_string_equal(out, "a\r\n.\r\n");
	/* CR never reaches the wire on its own */
	encode("a\rb\r\nc\n", 3, out, &len);
	assert_string_equal(out, "ab\r\nc\r\n.\r\n");
	/* worst case: twice the input */
	encode(".\n.\n", 4, out, &len);
	assert_string_equal(out, "..\r\n..\r\n.\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_multi_line),
		cmocka_unit_test(test_pipelined_replies),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_enhanced_status),
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_dotstuff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
