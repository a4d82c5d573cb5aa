/*
 * test_bounce.c: unit tests for delivery status notifications
 * (src/bounce.c): the RFC 3464 report's header, its three MIME parts and
 * their fields for failed and delayed recipients, the original header
 * quoted safely, and reading that header from a queued message.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounce.h"

struct lines {
	char	text[65536];
	size_t	len;
	size_t	longest;
	size_t	n;
	bool	bad;		/* a CR, LF or NUL inside a line */
};

static void
collect(const char *line, size_t len, void *arg)
{
	struct lines	*l = arg;

	if (memchr(line, '\n', len) || memchr(line, '\r', len) ||
	    memchr(line, '\0', len))
		l->bad = true;
	if (len > l->longest)
		l->longest = len;
	if (l->len + len + 2 < sizeof(l->text)) {
		memcpy(l->text + l->len, line, len);
		l->len += len;
		l->text[l->len++] = '\n';
		l->text[l->len] = '\0';
	}
	l->n++;
}

static const char headers[] =
    "Received: from client (x [127.0.0.1])\n"
    "\tby mx.example.test (pillory) with ESMTP id Q1\n"
    "From: Alice <alice@example.test>\n"
    "Subject: hello\n"
    "--BOUNDARY-looking line\n";

static struct bounce_report
report(const struct bounce_rcpt *rcpts, size_t n)
{
	struct bounce_report	r;

	memset(&r, 0, sizeof(r));
	r.hostname = "mx.example.test";
	r.queue_id = "Q1";
	r.sender = "alice@example.test";
	r.arrival = 1700000000;
	r.now = 1700000000 + 3 * 3600;
	r.retry_until = 1700000000 + 5 * 86400;
	r.rcpts = rcpts;
	r.nrcpts = n;
	r.headers = headers;
	r.headers_len = sizeof(headers) - 1;
	return r;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t	n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static void
test_failed_report(void **state)
{
	struct bounce_rcpt	rc[2] = {
		{ "bob@remote.test", BOUNCE_FAILED, "5.1.1", "mx.remote.test",
		    "550 5.1.1 <bob@remote.test>: no such user" },
		{ "carol@nullmx.test", BOUNCE_FAILED, "5.1.10", NULL,
		    "nullmx.test does not accept mail (null MX, RFC 7505)" },
	};
	struct bounce_report	r = report(rc, 2);
	struct lines		*l = calloc(1, sizeof(*l));
	const char		*t;

	(void)state;
	bounce_format(&r, "B2", "B2.rand/mx", collect, l);
	t = l->text;
	assert_false(l->bad);
	assert_true(l->longest <= BOUNCE_LINE_MAX);
	assert_true(strncmp(t, "Received: by mx.example.test (pillory) id B2;",
	    45) == 0);
	assert_non_null(strstr(t, "\nFrom: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.test>\n"));
	assert_non_null(strstr(t, "\nTo: <alice@example.test>\n"));
	assert_non_null(strstr(t, "\nSubject: Undelivered Mail Returned to "
	    "Sender\n"));
	assert_non_null(strstr(t, "\nMessage-ID: <B2@mx.example.test>\n"));
	assert_non_null(strstr(t, "\nAuto-Submitted: auto-replied\n"));
	assert_non_null(strstr(t, "\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"B2.rand/mx\"\n"));
	/* three parts and the closing boundary */
	assert_int_equal(count(t, "\n--B2.rand/mx\n"), 3);
	assert_int_equal(count(t, "\n--B2.rand/mx--\n"), 1);
	assert_non_null(strstr(t, "Content-Type: text/plain; "
	    "charset=us-ascii\n"));
	assert_non_null(strstr(t, "Content-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.test\nX-Pillory-Queue-ID: Q1\n"
	    "Arrival-Date: "));
	assert_non_null(strstr(t, "\nFinal-Recipient: rfc822; bob@remote.test\n"
	    "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.remote.test\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>: no such "
	    "user\n"));
	assert_non_null(strstr(t, "\nFinal-Recipient: rfc822; "
	    "carol@nullmx.test\nAction: failed\nStatus: 5.1.10\n"
	    "Diagnostic-Code: X-Pillory; nullmx.test does not accept mail"));
	assert_null(strstr(t, "Will-Retry-Until"));
	assert_non_null(strstr(t, "Content-Type: text/rfc822-headers\n\n"
	    "Received: from client (x [127.0.0.1])\n\tby mx.example.test"));
	assert_non_null(strstr(t, "\nSubject: hello\n"));
	/* the human part names both */
	assert_non_null(strstr(t, "<bob@remote.test>: host mx.remote.test "
	    "said:\n    550 5.1.1"));
	assert_non_null(strstr(t, "<carol@nullmx.test>:\n    nullmx.test"));
	free(l);
}

static void
test_delayed_report(void **state)
{
	struct bounce_rcpt	rc[1] = {
		{ "slow@remote.test", BOUNCE_DELAYED, "4.7.1", "mx.remote.test",
		    "451 4.7.1 greylisted" },
	};
	struct bounce_report	r = report(rc, 1);
	struct lines		*l = calloc(1, sizeof(*l));
	const char		*t;

	(void)state;
	bounce_format(&r, "B3", "B3.x", collect, l);
	t = l->text;
	assert_non_null(strstr(t, "\nSubject: Delayed Mail (still being "
	    "retried)\n"));
	assert_non_null(strstr(t, "THIS IS A WARNING ONLY"));
	assert_non_null(strstr(t, "could not be delivered for 3 hours"));
	assert_non_null(strstr(t, "until it is 5 days old"));
	assert_non_null(strstr(t, "\nAction: delayed\nStatus: 4.7.1\n"));
	assert_non_null(strstr(t, "\nWill-Retry-Until: "));
	free(l);
}

static void
test_hostile_text(void **state)
{
	static const char	evil_headers[] =
	    "Subject: a\x01" "b\n"
	    "--EVIL\n"
	    "X-Long: ";
	struct bounce_rcpt	rc[1] = {
		{ "x\r\ny@remote.test", BOUNCE_FAILED, "5.0.0", "mx\x7f",
		    NULL },
	};
	struct bounce_report	r = report(rc, 1);
	struct lines		*l = calloc(1, sizeof(*l));
	char			*h = malloc(4000);
	const char		*t;

	(void)state;
	/* a header line far over 998 octets */
	memcpy(h, evil_headers, sizeof(evil_headers) - 1);
	memset(h + sizeof(evil_headers) - 1, 'z', 3000);
	h[sizeof(evil_headers) - 1 + 3000] = '\n';
	r.headers = h;
	r.headers_len = sizeof(evil_headers) + 3000;
	bounce_format(&r, "B4", "EVIL", collect, l);
	t = l->text;
	assert_false(l->bad);
	assert_true(l->longest <= BOUNCE_LINE_MAX);
	/* the original's line that looks like our boundary is indented */
	assert_int_equal(count(t, "\n--EVIL\n"), 3);
	assert_non_null(strstr(t, "\n --EVIL\n"));
	assert_non_null(strstr(t, "Subject: a?b\n"));
	assert_non_null(strstr(t,
	    "Final-Recipient: rfc822; x??y@remote.test\n"));
	assert_non_null(strstr(t, "Remote-MTA: dns; mx?\n"));
	assert_null(strstr(t, "Diagnostic-Code"));
	free(h);
	free(l);
}

static void
test_eight_bit_headers(void **state)
{
	static const char	h8[] = "Subject: caf\xc3\xa9\n";
	struct bounce_rcpt	rc[1] = {
		{ "b@r.test", BOUNCE_FAILED, "5.1.1", NULL, "550 no" },
	};
	struct bounce_report	r = report(rc, 1);
	struct lines		*l = calloc(1, sizeof(*l));

	(void)state;
	r.headers = h8;
	r.headers_len = sizeof(h8) - 1;
	bounce_format(&r, "B5", "B5.x", collect, l);
	assert_non_null(strstr(l->text, "text/rfc822-headers\n"
	    "Content-Transfer-Encoding: 8bit\n\nSubject: caf\xc3\xa9\n"));
	free(l);
}

static void
test_read_headers(void **state)
{
	char		 path[] = "/tmp/test_bounce_XXXXXX";
	int		 fd = mkstemp(path);
	char		*h, *big;
	size_t		 len, i;
	const char	*msg = "Subject: x\nFrom: y\n\nbody\nmore\n";

	(void)state;
	assert_true(fd != -1);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	h = bounce_read_headers(path, &len);
	assert_non_null(h);
	assert_int_equal(len, strlen("Subject: x\nFrom: y\n"));
	assert_string_equal(h, "Subject: x\nFrom: y\n");
	free(h);

	/* a header longer than the maximum is cut on a line end */
	big = malloc(BOUNCE_HEADERS_MAX * 2);
	for (i = 0; i + 40 <= BOUNCE_HEADERS_MAX * 2; i += 40)
		memcpy(big + i, "X-Filler: 0123456789012345678901234567\n", 40);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, big, i, 0), (ssize_t)i);
	h = bounce_read_headers(path, &len);
	assert_non_null(h);
	assert_true(len <= BOUNCE_HEADERS_MAX);
	assert_true(len > BOUNCE_HEADERS_MAX - 40);
	assert_int_equal(h[len - 1], '\n');
	free(h);
	free(big);
	close(fd);
	unlink(path);
	assert_null(bounce_read_headers(path, &len));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_report),
		cmocka_unit_test(test_delayed_report),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_eight_bit_headers),
		cmocka_unit_test(test_read_headers),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
