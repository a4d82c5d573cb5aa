/*
 * test_import_parse.c: cmocka unit tests for import_parse.c: the line
 * shapes (classic and RFC 3339 syslog, Postfix maillog_file, journal
 * JSON), the events (relay refusal, SASL failure, postscreen, Dovecot
 * login), the year of syslog times around New Year, and bad input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "import_parse.h"

static char			 local_name[] = "gabacho-net.jp";
static char			*local_names[] = { local_name };
static const struct domain_list	 local = { local_names, 1 };

#define REJECT "NOQUEUE: reject: RCPT from unknown[211.219.235.140]: 554 " \
	"5.7.1 <aaaa@empal.com>: Relay access denied; " \
	"from=<bbbb@gabacho-net.jp> to=<aaaa@empal.com> proto=ESMTP helo=<x>"

/* 2026-03-10T00:00:00Z */
#define NOW_US	(1773100800LL * 1000000)

static enum import_event_type
parse(const char *line, enum import_format fmt, int64_t now,
    struct import_event *ev)
{
	return import_parse_line(line, strlen(line), fmt, now, &local, ev);
}

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * 1000000;
}

static int
setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void
test_classic_reject(void **state)
{
	struct import_event	ev;

	(void)state;
	assert_int_equal(parse("Mar  8 06:32:50 mx postfix/smtpd[123]: "
	    REJECT, IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_RECORD);
	assert_int_equal(ev.rec.kind, ATTACK_SPOOFED_RELAY);
	assert_true(ev.rec.time_us == utc(2026, 3, 8, 6, 32, 50));
	assert_string_equal(ev.rec.client_ip, "211.219.235.140");
	assert_string_equal(ev.rec.client_name, "unknown");
	assert_string_equal(ev.rec.from, "bbbb@gabacho-net.jp");
	assert_string_equal(ev.rec.to, "aaaa@empal.com");
	assert_string_equal(ev.rec.helo, "x");
	assert_string_equal(ev.rec.reply,
	    "554 5.7.1 <aaaa@empal.com>: Relay access denied");
	assert_non_null(strstr(ev.key, "postfix/smtpd[123]"));
	/* Postfix's maillog_file pads the day with a zero. */
	assert_int_equal(parse("Mar 08 06:32:50 mx postfix/smtpd[123]: "
	    REJECT, IMPORT_FORMAT_POSTFIX, NOW_US, &ev), IMPORT_EVENT_RECORD);
	assert_true(ev.rec.time_us == utc(2026, 3, 8, 6, 32, 50));
	/* Other refusals are not relay attempts. */
	assert_int_equal(parse("Mar  8 06:32:50 mx postfix/smtpd[123]: "
	    "NOQUEUE: reject: RCPT from a[192.0.2.1]: 550 5.1.1 <u@gabacho-"
	    "net.jp>: Recipient address rejected: User unknown; from=<x@y> "
	    "to=<u@gabacho-net.jp> proto=ESMTP helo=<h>", IMPORT_FORMAT_AUTO,
	    NOW_US, &ev), IMPORT_EVENT_NONE);
	/* A Postfix line is not a Dovecot one. */
	assert_int_equal(parse("Mar  8 06:32:50 mx postfix/smtpd[123]: "
	    REJECT, IMPORT_FORMAT_DOVECOT, NOW_US, &ev), IMPORT_EVENT_NONE);
}

static void
test_rfc3339_and_relay(void **state)
{
	struct import_event	ev;

	(void)state;
	assert_int_equal(parse("2026-03-08T06:32:55.250000+09:00 mx "
	    "postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
	    "a.example.net[2001:db8::7]:4455: 554 5.7.1 <c@empal.com>: Relay "
	    "access denied; from=<> to=<c@empal.com> proto=SMTP "
	    "helo=<[1.2.3.4]>", IMPORT_FORMAT_AUTO, NOW_US, &ev),
	    IMPORT_EVENT_RECORD);
	assert_int_equal(ev.rec.kind, ATTACK_RELAY);
	assert_true(ev.rec.time_us == utc(2026, 3, 7, 21, 32, 55) + 250000);
	assert_string_equal(ev.rec.client_ip, "2001:db8::7");
	assert_string_equal(ev.rec.client_name, "a.example.net");
	assert_string_equal(ev.rec.from, "");
	assert_string_equal(ev.rec.helo, "[1.2.3.4]");
	assert_int_equal(parse("2026-03-08T06:32:55Z mx postfix/smtpd[1]: "
	    REJECT, IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_RECORD);
	assert_true(ev.rec.time_us == utc(2026, 3, 8, 6, 32, 55));
	assert_int_equal(parse("2026-13-08T06:32:55Z mx postfix/smtpd[1]: "
	    REJECT, IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_BAD);
}

static void
test_year_inference(void **state)
{
	struct import_event	ev;
	int64_t			jan2 = utc(2027, 1, 2, 0, 0, 0);

	(void)state;
	/* A December line read on 2 January is from last year ... */
	assert_int_equal(parse("Dec 31 23:59:59 mx postfix/smtpd[1]: " REJECT,
	    IMPORT_FORMAT_AUTO, jan2, &ev), IMPORT_EVENT_RECORD);
	assert_true(ev.rec.time_us == utc(2026, 12, 31, 23, 59, 59));
	/* ... a January line is this year's ... */
	assert_int_equal(parse("Jan  1 00:00:01 mx postfix/smtpd[1]: " REJECT,
	    IMPORT_FORMAT_AUTO, jan2, &ev), IMPORT_EVENT_RECORD);
	assert_true(ev.rec.time_us == utc(2027, 1, 1, 0, 0, 1));
	/* ... and a little clock skew into the future stays this year. */
	assert_int_equal(parse("Jan  5 00:00:00 mx postfix/smtpd[1]: " REJECT,
	    IMPORT_FORMAT_AUTO, jan2, &ev), IMPORT_EVENT_RECORD);
	assert_true(ev.rec.time_us == utc(2027, 1, 5, 0, 0, 0));
}

static void
test_sasl_postscreen(void **state)
{
	struct import_event	ev;

	(void)state;
	assert_int_equal(parse("Mar  8 06:33:00 mx postfix/submission/smtpd"
	    "[9]: warning: host.example[192.0.2.8]: SASL PLAIN authentication "
	    "failed: , sasl_username=bob@gabacho-net.jp", IMPORT_FORMAT_AUTO,
	    NOW_US, &ev), IMPORT_EVENT_RECORD);
	assert_int_equal(ev.rec.kind, ATTACK_AUTH_FAIL);
	assert_string_equal(ev.rec.client_name, "host.example");
	assert_string_equal(ev.rec.user, "bob@gabacho-net.jp");
	assert_string_equal(ev.rec.reply, "SASL PLAIN authentication failed");
	assert_int_equal(parse("Mar  8 06:33:01 mx postfix/postscreen[125]: "
	    "PREGREET 11 after 0.1 from [192.0.2.9]:5555: EHLO x\\r\\n",
	    IMPORT_FORMAT_POSTFIX, NOW_US, &ev), IMPORT_EVENT_RECORD);
	assert_int_equal(ev.rec.kind, ATTACK_PROTOCOL);
	assert_string_equal(ev.rec.client_ip, "192.0.2.9");
	assert_string_equal(ev.rec.client_name, "unknown");
	assert_string_equal(ev.rec.reply, "postscreen PREGREET");
	assert_int_equal(parse("Mar  8 06:33:01 mx postfix/postscreen[125]: "
	    "BARE NEWLINE from [2001:db8::9]:5555 after DATA",
	    IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_RECORD);
	assert_string_equal(ev.rec.client_ip, "2001:db8::9");
	assert_string_equal(ev.rec.reply, "postscreen BARE NEWLINE");
	assert_int_equal(parse("Mar  8 06:33:01 mx postfix/postscreen[125]: "
	    "COMMAND PIPELINING from [192.0.2.9]:5555 after EHLO: x",
	    IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_RECORD);
	assert_int_equal(parse("Mar  8 06:33:01 mx postfix/postscreen[125]: "
	    "CONNECT from [192.0.2.9]:5555 to [192.0.2.1]:25",
	    IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_NONE);
}

static void
test_dovecot(void **state)
{
	struct import_event	ev;

	(void)state;
	assert_int_equal(parse("Mar  8 06:40:00 mx dovecot: pop3-login: "
	    "Login: user=<carol@gabacho-net.jp>, method=PLAIN, "
	    "rip=198.51.100.20, lip=192.0.2.1, mpid=2213, TLS, session=<a>",
	    IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_GRANT);
	assert_string_equal(ev.grant_ip, "198.51.100.20");
	assert_string_equal(ev.grant_user, "carol@gabacho-net.jp");
	assert_int_equal(parse("Mar  8 06:40:00 mx dovecot[99]: imap-login: "
	    "Info: Login: user=<a>, method=PLAIN, rip=2001:db8::20, lip=::1",
	    IMPORT_FORMAT_DOVECOT, NOW_US, &ev), IMPORT_EVENT_GRANT);
	assert_string_equal(ev.grant_ip, "2001:db8::20");
	/* Dovecot's own log file: no host, no tag. */
	assert_int_equal(parse("Mar 08 06:40:00 pop3-login: Info: Login: "
	    "user=<b@gabacho-net.jp>, method=PLAIN, rip=192.0.2.30, "
	    "lip=192.0.2.1", IMPORT_FORMAT_DOVECOT, NOW_US, &ev),
	    IMPORT_EVENT_GRANT);
	assert_string_equal(ev.grant_ip, "192.0.2.30");
	assert_true(ev.time_us == utc(2026, 3, 8, 6, 40, 0));
	/* Failed logins are not grants. */
	assert_int_equal(parse("Mar  8 06:40:00 mx dovecot: pop3-login: "
	    "Disconnected (auth failed, 1 attempts in 2 secs): user=<a>, "
	    "method=PLAIN, rip=198.51.100.20, lip=192.0.2.1",
	    IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_NONE);
	assert_int_equal(parse("Mar  8 06:40:00 mx dovecot: pop3-login: "
	    "Login: user=<a>, method=PLAIN, rip=198.51.100.20",
	    IMPORT_FORMAT_POSTFIX, NOW_US, &ev), IMPORT_EVENT_NONE);
}

static void
test_journal(void **state)
{
	struct import_event	ev;
	const char		*j = "{\"__CURSOR\":\"s=1\",\"BIN\":[1,2,{\"a\":"
	    "null}],\"__REALTIME_TIMESTAMP\":\"1772951570123456\","
	    "\"SYSLOG_IDENTIFIER\":\"postfix/smtpd\",\"_PID\":\"123\","
	    "\"_HOSTNAME\":\"mx\",\"N\":-1.5e3,\"T\":true,\"MESSAGE\":\""
	    "NOQUEUE: reject: RCPT from unknown[211.219.235.140]: 554 5.7.1 "
	    "<aaaa@empal.com>: Relay access denied; from=<bbbb@gabacho-net.jp>"
	    " to=<aaaa@empal.com> proto=ESMTP helo=<\\u3042\\ud83d\\ude00>\"}";

	(void)state;
	assert_int_equal(parse(j, IMPORT_FORMAT_JOURNAL, NOW_US, &ev),
	    IMPORT_EVENT_RECORD);
	assert_true(ev.rec.time_us == 1772951570123456LL);
	assert_string_equal(ev.rec.helo, "\xe3\x81\x82\xf0\x9f\x98\x80");
	assert_int_equal(parse(j, IMPORT_FORMAT_AUTO, NOW_US, &ev),
	    IMPORT_EVENT_RECORD);
	assert_int_equal(parse("{\"MESSAGE\":\"x\"}", IMPORT_FORMAT_JOURNAL,
	    NOW_US, &ev), IMPORT_EVENT_BAD);
	assert_int_equal(parse("{\"MESSAGE\":\"x", IMPORT_FORMAT_JOURNAL,
	    NOW_US, &ev), IMPORT_EVENT_BAD);
	assert_int_equal(parse("{\"MESSAGE\":\"a\\u0000b\","
	    "\"__REALTIME_TIMESTAMP\":\"1\"}", IMPORT_FORMAT_JOURNAL, NOW_US,
	    &ev), IMPORT_EVENT_BAD);
	assert_int_equal(parse("[[[[[[[[[[[[[[[[[[[[", IMPORT_FORMAT_JOURNAL,
	    NOW_US, &ev), IMPORT_EVENT_BAD);
	assert_int_equal(parse("Mar  8 06:32:50 mx postfix/smtpd[1]: " REJECT,
	    IMPORT_FORMAT_JOURNAL, NOW_US, &ev), IMPORT_EVENT_BAD);
}

static void
test_bad(void **state)
{
	struct import_event	ev;
	char			*big;

	(void)state;
	assert_int_equal(parse("", IMPORT_FORMAT_AUTO, NOW_US, &ev),
	    IMPORT_EVENT_BAD);
	assert_int_equal(parse("Mar  8 06:32:50", IMPORT_FORMAT_AUTO, NOW_US,
	    &ev), IMPORT_EVENT_BAD);
	assert_int_equal(parse("Foo  8 06:32:50 mx postfix/smtpd[1]: x",
	    IMPORT_FORMAT_AUTO, NOW_US, &ev), IMPORT_EVENT_BAD);
	assert_int_equal(parse("Mar  8 06:32:50 mx postfix/smtpd[1]: "
	    "NOQUEUE: reject: RCPT from unknown[]: 554 5.7.1 Relay access "
	    "denied; from=<a> to=<b>", IMPORT_FORMAT_AUTO, NOW_US, &ev),
	    IMPORT_EVENT_NONE);
	assert_int_equal(import_parse_line("Mar  8 06:32:50 mx p[1]: a\0b",
	    27, IMPORT_FORMAT_AUTO, NOW_US, &local, &ev), IMPORT_EVENT_BAD);
	big = malloc(IMPORT_LINE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', IMPORT_LINE_MAX + 1);
	big[IMPORT_LINE_MAX + 1] = '\0';
	assert_int_equal(parse(big, IMPORT_FORMAT_AUTO, NOW_US, &ev),
	    IMPORT_EVENT_BAD);
	free(big);
}

static void
test_format_names(void **state)
{
	enum import_format	f;

	(void)state;
	assert_true(import_format_from_name("journal-json", &f));
	assert_int_equal(f, IMPORT_FORMAT_JOURNAL);
	assert_true(import_format_from_name("postfix", &f));
	assert_false(import_format_from_name("exim", &f));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic_reject),
		cmocka_unit_test(test_rfc3339_and_relay),
		cmocka_unit_test(test_year_inference),
		cmocka_unit_test(test_sasl_postscreen),
		cmocka_unit_test(test_dovecot),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_format_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
