/*
 * Unit tests for the built-in HTTP server's pure parts (src/httpd.c):
 * request path cleaning (traversal, encoded dots, NUL, backslash,
 * hidden files), content types, If-None-Match matching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "httpd.h"

static void
ok(const char *path, const char *want)
{
	char	out[HTTPD_PATH_MAX];

	if (httpd_path_clean(path, out, sizeof(out)) != HTTPD_PATH_OK)
		fail_msg("\"%s\" not OK", path);
	assert_string_equal(out, want);
}

static void
bad(const char *path)
{
	char	out[HTTPD_PATH_MAX];

	if (httpd_path_clean(path, out, sizeof(out)) != HTTPD_PATH_BAD)
		fail_msg("\"%s\" not BAD", path);
}

static void
notfound(const char *path)
{
	char	out[HTTPD_PATH_MAX];

	if (httpd_path_clean(path, out, sizeof(out)) != HTTPD_PATH_NOT_FOUND)
		fail_msg("\"%s\" not NOT_FOUND", path);
}

static void
test_paths_ok(void **state)
{
	(void)state;
	ok("/", "index.html");
	ok("", "index.html");
	ok(NULL, "index.html");
	ok("/index.en.html", "index.en.html");
	ok("/feed.atom", "feed.atom");
	ok("/incidents/12.ja.html", "incidents/12.ja.html");
	ok("/incidents/", "incidents/index.html");
	ok("/a%41b_c-d.html", "aAb_c-d.html");
	ok("/x..y", "x..y");
}

static void
test_paths_traversal(void **state)
{
	(void)state;
	bad("/..");
	bad("/../etc/passwd");
	bad("/incidents/../../etc/passwd");
	bad("/x/..");
	bad("/.");
	bad("/./index.html");
	bad("/%2e%2e/etc/passwd");
	bad("/%2E%2E/etc/passwd");
	bad("/.%2e/x");
	bad("/%2e");
	bad("/incidents%2f..%2fx");
	bad("/a%2Fb");
	bad("/a%00b");
	bad("/a%5cb");
	bad("/a\\b");
	bad("/..\\x");
	bad("//etc/passwd");
	bad("/a//b");
	bad("relative");
	bad("http://evil/x");
	bad("/%");
	bad("/%4");
	bad("/%zz");
}

static void
test_paths_not_found(void **state)
{
	char	long_path[HTTPD_PATH_MAX + 16], out[HTTPD_PATH_MAX];

	(void)state;
	notfound("/.hidden");
	notfound("/.index.html.123.tmp");
	notfound("/incidents/.1.ja.html.9.tmp");
	notfound("/...");
	notfound("/a%20b");
	notfound("/a b");
	notfound("/%e3%81%82.html");
	notfound("/a;b");
	/* Overlong UTF-8 dots are not dots, and not names we serve. */
	notfound("/%c0%ae%c0%ae/x");
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(httpd_path_clean(long_path, out, sizeof(out)),
	    HTTPD_PATH_BAD);
	/* Too small for "index.html" at all. */
	assert_int_equal(httpd_path_clean("/", out, 4), HTTPD_PATH_BAD);
}

static void
test_content_types(void **state)
{
	(void)state;
	assert_string_equal(httpd_content_type("index.html"),
	    "text/html; charset=utf-8");
	assert_string_equal(httpd_content_type("feed.en.atom"),
	    "application/atom+xml; charset=utf-8");
	assert_string_equal(httpd_content_type("attacks.json"),
	    "application/json");
	assert_string_equal(httpd_content_type("chart.svg"),
	    "image/svg+xml");
	assert_string_equal(httpd_content_type("style.css"),
	    "text/css; charset=utf-8");
	assert_string_equal(httpd_content_type("x.bin"),
	    "application/octet-stream");
	assert_string_equal(httpd_content_type("html"),
	    "application/octet-stream");
}

static void
test_etag_match(void **state)
{
	const char	*tag = "\"1a-2b-3c\"";

	(void)state;
	assert_true(httpd_etag_match("\"1a-2b-3c\"", tag));
	assert_true(httpd_etag_match("W/\"1a-2b-3c\"", tag));
	assert_true(httpd_etag_match("\"x\", \"1a-2b-3c\"", tag));
	assert_true(httpd_etag_match("\"x\",W/\"1a-2b-3c\"", tag));
	assert_true(httpd_etag_match("*", tag));
	assert_true(httpd_etag_match("\"1a-2b-3c\"", "W/\"1a-2b-3c\""));
	assert_false(httpd_etag_match("\"1a-2b-3d\"", tag));
	assert_false(httpd_etag_match("\"1a-2b-3c", tag));
	assert_false(httpd_etag_match("1a-2b-3c", tag));
	assert_false(httpd_etag_match("", tag));
	assert_false(httpd_etag_match("\"1a-2b\"", tag));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_ok),
		cmocka_unit_test(test_paths_traversal),
		cmocka_unit_test(test_paths_not_found),
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_etag_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
