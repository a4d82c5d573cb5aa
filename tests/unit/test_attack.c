/*
 * test_attack.c: cmocka unit tests for attack.c, the pure vocabulary: kind
 * names, the site's text line (the seed's 18 attempts, masked and not),
 * the JSON form and its escaping (emit.c's escaper), --since parsing.
 * Times are checked with TZ=UTC (and a +09:00 zone).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attack.h"

/* 2002-03-08T06:32:50Z, the seed's first attempt. */
#define SEED_S		1015569170LL
#define SEED_US		(SEED_S * 1000000)

/* The seed's attack: seconds after SEED_S and the sender's local part. */
static const struct {
	int		 off;
	const char	*local;
} seed[18] = {
	{ 0, "bbbb" }, { 5, "good" }, { 11, "abc" }, { 17, "aabb" },
	{ 22, "aacd" }, { 28, "abcd" }, { 34, "hello" }, { 39, "day" },
	{ 46, "baby" }, { 51, "cccc" }, { 57, "cat" }, { 63, "andy" },
	{ 68, "aaab" }, { 74, "aaac" }, { 79, "aaad" }, { 85, "aabb" },
	{ 91, "aabc" }, { 96, "abcc" },
};

/* The seed post's lines, exactly (recipient masked as published). */
static const char seed_masked[] =
    "Mar  8 06:32:50  unknown [211.219.235.140] from=<bbbb@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:32:55  unknown [211.219.235.140] from=<good@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:01  unknown [211.219.235.140] from=<abc@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:07  unknown [211.219.235.140] from=<aabb@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:12  unknown [211.219.235.140] from=<aacd@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:18  unknown [211.219.235.140] from=<abcd@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:24  unknown [211.219.235.140] from=<hello@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:29  unknown [211.219.235.140] from=<day@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:36  unknown [211.219.235.140] from=<baby@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:41  unknown [211.219.235.140] from=<cccc@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:47  unknown [211.219.235.140] from=<cat@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:53  unknown [211.219.235.140] from=<andy@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:58  unknown [211.219.235.140] from=<aaab@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:04  unknown [211.219.235.140] from=<aaac@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:09  unknown [211.219.235.140] from=<aaad@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:15  unknown [211.219.235.140] from=<aabb@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:21  unknown [211.219.235.140] from=<aabc@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:26  unknown [211.219.235.140] from=<abcc@gabacho-net.jp> to=<******@empal.com>\n";

static bool
starts_with(const char *s, const char *prefix)
{
	return (strncmp(s, prefix, strlen(prefix)) == 0);
}

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static struct attack_record
seed_record(int i)
{
	struct attack_record	r;

	memset(&r, 0, sizeof(r));
	r.time_us = (SEED_S + seed[i].off) * 1000000;
	r.kind = ATTACK_SPOOFED_RELAY;
	snprintf(r.client_ip, sizeof(r.client_ip), "211.219.235.140");
	snprintf(r.client_name, sizeof(r.client_name), "unknown");
	snprintf(r.helo, sizeof(r.helo), "gabacho-net.jp");
	snprintf(r.from, sizeof(r.from), "%s@gabacho-net.jp", seed[i].local);
	snprintf(r.to, sizeof(r.to), "empal-victim@empal.com");
	snprintf(r.session, sizeof(r.session), "%016x", 0xabc0 + i);
	snprintf(r.reply, sizeof(r.reply), "554 5.7.1 <empal-victim@empal.com>:"
	    " Relay access denied");
	r.port = 25;
	return (r);
}

static void
test_kind_names(void **state)
{
	static const char *const names[] = { "relay", "spoofed-relay",
	    "forged-local", "auth-fail", "protocol", "banned", "blocklisted" };
	int	i;

	(void)state;
	for (i = 0; i < ATTACK_KIND_COUNT; i++) {
		assert_string_equal(attack_kind_name(i), names[i]);
		assert_int_equal(attack_kind_from_name(names[i]), i);
	}
	assert_int_equal(attack_kind_from_name("Relay"), -1);
	assert_int_equal(attack_kind_from_name(""), -1);
	assert_int_equal(attack_kind_from_name("spoofed"), -1);
	assert_string_equal(attack_kind_name(ATTACK_KIND_COUNT), "unknown");
	assert_true(attack_kind_is_targeted(ATTACK_SPOOFED_RELAY));
	assert_true(attack_kind_is_targeted(ATTACK_FORGED_LOCAL));
	assert_false(attack_kind_is_targeted(ATTACK_RELAY));
	assert_false(attack_kind_is_targeted(ATTACK_AUTH_FAIL));
}

static void
test_format_line_seed(void **state)
{
	struct attack_record	r = seed_record(0);
	char			line[ATTACK_LINE_MAX];

	(void)state;
	set_tz("UTC");
	assert_true(attack_format_line(&r, false, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 06:32:50  unknown "
	    "[211.219.235.140] from=<bbbb@gabacho-net.jp> "
	    "to=<empal-victim@empal.com>");
	assert_true(attack_format_line(&r, true, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 06:32:50  unknown "
	    "[211.219.235.140] from=<bbbb@gabacho-net.jp> "
	    "to=<******@empal.com>");
	/* Six asterisks whatever the length; '@' inside quotes is local. */
	snprintf(r.to, sizeof(r.to), "a@empal.com");
	assert_true(attack_format_line(&r, true, line, sizeof(line)));
	assert_non_null(strstr(line, " to=<******@empal.com>"));
	snprintf(r.to, sizeof(r.to), "\"x@y\"@empal.com");
	assert_true(attack_format_line(&r, true, line, sizeof(line)));
	assert_non_null(strstr(line, " to=<******@empal.com>"));

	/* Local time: TZ applies. */
	set_tz("JST-9");
	r = seed_record(17);
	assert_true(attack_format_line(&r, false, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 15:34:26  unknown "
	    "[211.219.235.140] from=<abcc@gabacho-net.jp> "
	    "to=<empal-victim@empal.com>");
	/* Two-digit days have no padding space. */
	r.time_us += 10LL * 86400 * 1000000;
	assert_true(attack_format_line(&r, false, line, sizeof(line)));
	assert_true(strncmp(line, "Mar 18 15:34:26  unknown", 24) == 0);
	set_tz("UTC");

	/* Too small a buffer is reported, never overrun. */
	assert_false(attack_format_line(&r, false, line, 20));
	assert_true(strlen(line) < 20);
}

/* The seed's 18 attempts, masked, are the seed post's lines exactly. */
static void
test_format_line_seed_all(void **state)
{
	struct attack_record	r;
	char			line[ATTACK_LINE_MAX], all[4096];
	size_t			i, len = 0;

	(void)state;
	set_tz("UTC");
	all[0] = '\0';
	for (i = 0; i < 18; i++) {
		r = seed_record((int)i);
		assert_true(attack_format_line(&r, true, line, sizeof(line)));
		assert_true(len + strlen(line) + 2 < sizeof(all));
		memcpy(all + len, line, strlen(line));
		len += strlen(line);
		all[len++] = '\n';
		all[len] = '\0';
	}
	assert_string_equal(all, seed_masked);
}

static void
test_format_line_other_kinds(void **state)
{
	struct attack_record	r;
	char			line[ATTACK_LINE_MAX];

	(void)state;
	set_tz("UTC");
	memset(&r, 0, sizeof(r));
	r.time_us = SEED_US;
	r.kind = ATTACK_AUTH_FAIL;
	snprintf(r.client_ip, sizeof(r.client_ip), "192.0.2.1");
	snprintf(r.client_name, sizeof(r.client_name), "host.example.test");
	snprintf(r.user, sizeof(r.user), "bob@example.test");
	snprintf(r.reply, sizeof(r.reply), "535 5.7.8 authentication failed");
	assert_true(attack_format_line(&r, false, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 06:32:50  host.example.test "
	    "[192.0.2.1] auth-fail user=<bob@example.test> "
	    "reply=\"535 5.7.8 authentication failed\"");
	assert_true(attack_format_line(&r, true, line, sizeof(line)));
	assert_non_null(strstr(line, " user=<******> "));

	memset(&r, 0, sizeof(r));
	r.time_us = SEED_US;
	r.kind = ATTACK_PROTOCOL;
	snprintf(r.client_ip, sizeof(r.client_ip), "2001:db8::5");
	snprintf(r.client_name, sizeof(r.client_name), "unknown");
	snprintf(r.helo, sizeof(r.helo), "x\x1b[2J");
	snprintf(r.reply, sizeof(r.reply), "554 5.5.2 bare LF\\");
	r.client_name[0] = '\0';
	assert_true(attack_format_line(&r, false, line, sizeof(line)));
	/* Control characters and '\' never reach the terminal raw; no
	 * name yet reads "unknown". */
	assert_string_equal(line, "Mar  8 06:32:50  unknown [2001:db8::5] "
	    "protocol helo=<x\\x1b[2J> reply=\"554 5.5.2 bare LF\\x5c\"");
}

static void
test_format_json(void **state)
{
	struct attack_record	r = seed_record(0);
	char			out[ATTACK_JSON_MAX];

	(void)state;
	set_tz("UTC");
	r.time_us += 123456;
	assert_true(attack_format_json(&r, true, out, sizeof(out)));
	assert_string_equal(out, "{\"time\":\"2002-03-08T06:32:50.123456"
	    "+00:00\",\"kind\":\"spoofed-relay\",\"client_ip\":"
	    "\"211.219.235.140\",\"client_name\":\"unknown\",\"helo\":"
	    "\"gabacho-net.jp\",\"from\":\"bbbb@gabacho-net.jp\",\"to\":"
	    "\"******@empal.com\",\"port\":25,\"session\":"
	    "\"000000000000abc0\",\"reply\":\"554 5.7.1 "
	    "\\u003cempal-victim@empal.com\\u003e: Relay access denied\","
	    "\"user\":\"\"}");
	set_tz("JST-9");
	assert_true(attack_format_json(&r, false, out, sizeof(out)));
	assert_true(starts_with(out, "{\"time\":\"2002-03-08T15:32:50.123456"
	    "+09:00\","));
	assert_non_null(strstr(out, "\"to\":\"empal-victim@empal.com\""));
	set_tz("UTC");
	assert_false(attack_format_json(&r, false, out, 100));
}

/* A withdrawn record: marked at the end of its line and in its JSON. */
static void
test_format_withdrawn(void **state)
{
	struct attack_record	r = seed_record(0);
	char			out[ATTACK_JSON_MAX];

	(void)state;
	set_tz("UTC");
	r.withdrawn = true;
	assert_true(attack_format_line(&r, true, out, sizeof(out)));
	assert_string_equal(out, "Mar  8 06:32:50  unknown [211.219.235.140] "
	    "from=<bbbb@gabacho-net.jp> to=<******@empal.com> withdrawn");
	assert_true(attack_format_json(&r, true, out, sizeof(out)));
	assert_non_null(strstr(out, ",\"withdrawn\":true}"));
	r.kind = ATTACK_AUTH_FAIL;
	assert_true(attack_format_line(&r, false, out, sizeof(out)));
	assert_true(strlen(out) > 10 &&
	    strcmp(out + strlen(out) - 10, " withdrawn") == 0);
	r.withdrawn = false;
	assert_true(attack_format_json(&r, true, out, sizeof(out)));
	assert_null(strstr(out, "withdrawn"));
}

static void
test_json_escape(void **state)
{
	char	out[128];

	(void)state;
	assert_true(attack_json_escape("a\"b\\c", out, sizeof(out)));
	assert_string_equal(out, "\"a\\\"b\\\\c\"");
	assert_true(attack_json_escape("\x01\n\x7f<&>", out, sizeof(out)));
	assert_string_equal(out,
	    "\"\\u0001\\n\\u007f\\u003c\\u0026\\u003e\"");
	/* emit.c's rules: ' and U+2028 escaped too (RFC 8259 7 and more). */
	assert_true(attack_json_escape("'\xe2\x80\xa8", out, sizeof(out)));
	assert_string_equal(out, "\"\\u0027\\u2028\"");
	/* Valid UTF-8 passes, invalid bytes become U+FFFD. */
	assert_true(attack_json_escape("\xe3\x82\xb9\xff\xc0\xaf.",
	    out, sizeof(out)));
	assert_string_equal(out, "\"\xe3\x82\xb9\\ufffd\\ufffd\\ufffd.\"");
	/* A truncated sequence at the end. */
	assert_true(attack_json_escape("x\xe3\x82", out, sizeof(out)));
	assert_string_equal(out, "\"x\\ufffd\\ufffd\"");
	assert_false(attack_json_escape("abcdef", out, 8));
	assert_true(attack_json_escape("abcde", out, 8));
}

static void
test_parse_time(void **state)
{
	const int64_t	now = SEED_US;
	int64_t		t;

	(void)state;
	set_tz("UTC");
	assert_true(attack_parse_time("2002-03-08T06:32:50Z", now, &t));
	assert_int_equal(t, SEED_US);
	assert_true(attack_parse_time("2002-03-08t06:32:50.25z", now, &t));
	assert_int_equal(t, SEED_US + 250000);
	assert_true(attack_parse_time("2002-03-08T15:32:50+09:00", now,
	    &t));
	assert_int_equal(t, SEED_US);
	assert_true(attack_parse_time("2002-03-07 21:32:50-09:00", now,
	    &t));
	assert_int_equal(t, SEED_US);
	assert_true(attack_parse_time("2002-03-08", now, &t));
	assert_int_equal(t, (SEED_S - (6 * 3600 + 32 * 60 + 50)) * 1000000);
	/* Without an offset: local time. */
	set_tz("JST-9");
	assert_true(attack_parse_time("2002-03-08T15:32:50", now, &t));
	assert_int_equal(t, SEED_US);
	assert_true(attack_parse_time("2002-03-08", now, &t));
	assert_int_equal(t, (SEED_S - (15 * 3600 + 32 * 60 + 50)) * 1000000);
	set_tz("UTC");

	assert_true(attack_parse_time("2h", now, &t));
	assert_int_equal(t, now - 7200LL * 1000000);
	assert_true(attack_parse_time("7d", now, &t));
	assert_int_equal(t, now - 7LL * 86400 * 1000000);
	assert_true(attack_parse_time("30m", now, &t));
	assert_int_equal(t, now - 1800LL * 1000000);
	assert_true(attack_parse_time("45s", now, &t));
	assert_true(attack_parse_time("1w", now, &t));
	assert_int_equal(t, now - 7LL * 86400 * 1000000);

	assert_false(attack_parse_time("", now, &t));
	assert_false(attack_parse_time("2", now, &t));
	assert_false(attack_parse_time("2x", now, &t));
	assert_false(attack_parse_time("h", now, &t));
	assert_false(attack_parse_time("-2h", now, &t));
	assert_false(attack_parse_time("2hh", now, &t));
	assert_false(attack_parse_time("99999999999999999999d", now, &t));
	assert_false(attack_parse_time("2002-02-30", now, &t));
	assert_false(attack_parse_time("2002-13-01", now, &t));
	assert_false(attack_parse_time("2002-3-8", now, &t));
	assert_false(attack_parse_time("2002-03-08T25:00:00Z", now, &t));
	assert_false(attack_parse_time("2002-03-08T06:32Z", now, &t));
	assert_false(attack_parse_time("2002-03-08T06:32:50+0900", now,
	    &t));
	assert_false(attack_parse_time("2002-03-08T06:32:50.Z", now, &t));
	assert_false(attack_parse_time("2002-03-08T06:32:50Zjunk", now,
	    &t));
	assert_false(attack_parse_time("yesterday", now, &t));
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_format_line_seed),
		cmocka_unit_test(test_format_line_seed_all),
		cmocka_unit_test(test_format_line_other_kinds),
		cmocka_unit_test(test_format_json),
		cmocka_unit_test(test_format_withdrawn),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_parse_time),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
