/*
 * Unit tests for the escaping emitter (src/emit.c): HTML/XML text and
 * attributes, JSON strings (control characters, "</script>", U+2028),
 * invalid UTF-8, message templates, grouped numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emit.h"

#define FFFD	"\xef\xbf\xbd"

/* emit_textn() of n bytes as a fresh string (freed by the caller). */
static char *
text_of(const char *s, size_t n)
{
	struct emit	e;
	char		*r;

	emit_init(&e);
	emit_textn(&e, s, n);
	r = strdup(e.buf != NULL ? e.buf : "");
	emit_free(&e);
	return (r);
}

static char *
json_of(const char *s, size_t n)
{
	struct emit	e;
	char		*r;

	emit_init(&e);
	emit_jsonn(&e, s, n);
	r = strdup(e.buf);
	emit_free(&e);
	return (r);
}

#define CHECK_TEXT(in, want) do {					\
	char *got_ = text_of((in), sizeof(in) - 1);			\
	assert_string_equal(got_, (want));				\
	free(got_);							\
} while (0)

#define CHECK_JSON(in, want) do {					\
	char *got_ = json_of((in), sizeof(in) - 1);			\
	assert_string_equal(got_, (want));				\
	free(got_);							\
} while (0)

static void
test_html_specials(void **state)
{
	(void)state;
	CHECK_TEXT("&", "&amp;");
	CHECK_TEXT("<", "&lt;");
	CHECK_TEXT(">", "&gt;");
	CHECK_TEXT("\"", "&quot;");
	CHECK_TEXT("'", "&#39;");
	CHECK_TEXT("a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	CHECK_TEXT("", "");
	CHECK_TEXT("plain text 123", "plain text 123");
	/* Already-escaped text is escaped again: nothing is trusted. */
	CHECK_TEXT("&amp;", "&amp;amp;");
}

static void
test_html_attacker_strings(void **state)
{
	(void)state;
	CHECK_TEXT("\"<script>alert(1)</script>\"@evil.example",
	    "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;@evil.example");
	CHECK_TEXT("<b>helo</b>", "&lt;b&gt;helo&lt;/b&gt;");
	/* An attribute breakout attempt stays inside the quotes. */
	CHECK_TEXT("x\" onmouseover=\"alert(1)",
	    "x&quot; onmouseover=&quot;alert(1)");
	CHECK_TEXT("x' onload='y", "x&#39; onload=&#39;y");
	/* A comment or CDATA opener is just text. */
	CHECK_TEXT("<!-- ]]> -->", "&lt;!-- ]]&gt; --&gt;");
}

static void
test_html_controls(void **state)
{
	(void)state;
	CHECK_TEXT("a\tb\nc", "a\tb\nc");
	CHECK_TEXT("a\rb", "a" FFFD "b");
	CHECK_TEXT("\x01\x1f", FFFD FFFD);
	CHECK_TEXT("\x7f", FFFD);
	CHECK_TEXT("a\0b", "a" FFFD "b");
	/* C1 controls (U+0085) and noncharacters U+FFFE, U+FFFF: one
	 * replacement per character, not per byte. */
	CHECK_TEXT("\xc2\x85", FFFD);
	CHECK_TEXT("\xef\xbf\xbe\xef\xbf\xbf", FFFD FFFD);
}

static void
test_html_utf8(void **state)
{
	(void)state;
	CHECK_TEXT("スパム中継攻撃記録", "スパム中継攻撃記録");
	CHECK_TEXT("\xf0\x9f\x93\xa7", "\xf0\x9f\x93\xa7");	/* U+1F4E7 */
	CHECK_TEXT("\xff", FFFD);
	CHECK_TEXT("\xfe\xff", FFFD FFFD);
	CHECK_TEXT("\xe3\x81", FFFD FFFD);		/* truncated */
	CHECK_TEXT("\xc0\xbc", FFFD FFFD);		/* overlong '<' */
	CHECK_TEXT("\xe0\x80\xbc", FFFD FFFD FFFD);	/* overlong '<' */
	CHECK_TEXT("\xed\xa0\x80", FFFD FFFD FFFD);	/* surrogate */
	CHECK_TEXT("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* > U+10FFFF */
	CHECK_TEXT("a\x80<", "a" FFFD "&lt;");
}

static void
test_json_basic(void **state)
{
	(void)state;
	CHECK_JSON("", "\"\"");
	CHECK_JSON("abc", "\"abc\"");
	CHECK_JSON("a\"b\\c", "\"a\\\"b\\\\c\"");
	CHECK_JSON("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
	CHECK_JSON("\x01\x1f", "\"\\u0001\\u001f\"");
	CHECK_JSON("\x7f", "\"\\u007f\"");
	CHECK_JSON("a\0b", "\"a\\u0000b\"");
	CHECK_JSON("日本語", "\"日本語\"");
	CHECK_JSON("/", "\"/\"");
}

static void
test_json_html_safe(void **state)
{
	(void)state;
	CHECK_JSON("</script>", "\"\\u003c/script\\u003e\"");
	CHECK_JSON("<!--", "\"\\u003c!--\"");
	CHECK_JSON("a&b'c", "\"a\\u0026b\\u0027c\"");
	CHECK_JSON("\"<script>alert(1)</script>\"@evil.example",
	    "\"\\\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\\"@"
	    "evil.example\"");
	/* JavaScript line terminators. */
	CHECK_JSON("a\xe2\x80\xa8" "b\xe2\x80\xa9", "\"a\\u2028b\\u2029\"");
}

static void
test_json_invalid_utf8(void **state)
{
	(void)state;
	CHECK_JSON("\xff", "\"\\ufffd\"");
	CHECK_JSON("a\xc0\xbc", "\"a\\ufffd\\ufffd\"");
	CHECK_JSON("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_JSON("\xe3\x81", "\"\\ufffd\\ufffd\"");
}

static void
test_template(void **state)
{
	struct emit	 e;
	const char	*args[2] = { "<a>", "5" };

	(void)state;
	emit_init(&e);
	emit_template(&e, "{1} has {2} & more", args, 2);
	assert_string_equal(e.buf, "&lt;a&gt; has 5 &amp; more");
	emit_reset(&e);
	emit_template(&e, "{2}{1}{3}", args, 2);
	assert_string_equal(e.buf, "5&lt;a&gt;");
	emit_reset(&e);
	emit_template(&e, "{{1} {x} {0} {1", args, 2);
	assert_string_equal(e.buf, "{1} {x} {0} {1");
	emit_reset(&e);
	emit_template(&e, "全 {2} 件のうち最新の {1} 件", args, 2);
	assert_string_equal(e.buf, "全 5 件のうち最新の &lt;a&gt; 件");
	emit_reset(&e);
	emit_template(&e, "", args, 2);
	assert_int_equal(e.len, 0);
	emit_free(&e);
}

static void
test_numbers(void **state)
{
	struct emit	e;

	(void)state;
	emit_init(&e);
	emit_u64_grouped(&e, 0);
	emit_raw(&e, " ");
	emit_u64_grouped(&e, 999);
	emit_raw(&e, " ");
	emit_u64_grouped(&e, 1000);
	emit_raw(&e, " ");
	emit_u64_grouped(&e, 1234567);
	emit_raw(&e, " ");
	emit_u64_grouped(&e, UINT64_MAX);
	emit_raw(&e, " ");
	emit_u64(&e, 1000000);
	assert_string_equal(e.buf, "0 999 1,000 1,234,567 "
	    "18,446,744,073,709,551,615 1000000");
	emit_free(&e);
}

static void
test_growth_and_raw(void **state)
{
	struct emit	e;
	size_t		i;

	(void)state;
	emit_init(&e);
	for (i = 0; i < 100000; i++)
		emit_text(&e, "<");
	assert_int_equal(e.len, 400000);
	assert_int_equal(strlen(e.buf), 400000);
	emit_reset(&e);
	assert_int_equal(e.len, 0);
	assert_string_equal(e.buf, "");
	emit_raw(&e, "<p>");
	emit_fmt(&e, "%d-%s", 42, "x");
	emit_rawn(&e, "</p>zz", 4);
	assert_string_equal(e.buf, "<p>42-x</p>");
	emit_free(&e);
	assert_null(e.buf);
	assert_int_equal(e.len, 0);
}

static void
test_utf8_decode(void **state)
{
	uint32_t	cp = 0;

	(void)state;
	assert_int_equal(emit_utf8_decode((const unsigned char *)"A", 1, &cp),
	    1);
	assert_int_equal(cp, 'A');
	assert_int_equal(emit_utf8_decode((const unsigned char *)"\xc3\xa9",
	    2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(emit_utf8_decode(
	    (const unsigned char *)"\xe3\x82\xb9", 3, &cp), 3);
	assert_int_equal(cp, 0x30b9);
	assert_int_equal(emit_utf8_decode(
	    (const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(emit_utf8_decode(
	    (const unsigned char *)"\xe3\x82\xb9", 2, &cp), 0);
	assert_int_equal(emit_utf8_decode((const unsigned char *)"\x80", 1,
	    &cp), 0);
	assert_int_equal(emit_utf8_decode((const unsigned char *)"", 0, &cp),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_specials),
		cmocka_unit_test(test_html_attacker_strings),
		cmocka_unit_test(test_html_controls),
		cmocka_unit_test(test_html_utf8),
		cmocka_unit_test(test_json_basic),
		cmocka_unit_test(test_json_html_safe),
		cmocka_unit_test(test_json_invalid_utf8),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_growth_and_raw),
		cmocka_unit_test(test_utf8_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
