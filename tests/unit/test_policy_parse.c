/*
 * test_policy_parse.c: cmocka unit tests for policy_parse.c (the Postfix
 * policy delegation protocol's request lines, the [policy] listen items,
 * the sender's domain) and policy_decide() in policyd.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy_parse.h"
#include "policyd.h"

static enum policy_line_result
take(struct policy_request *req, const char *line)
{
	return policy_parse_line(req, line, strlen(line));
}

static void
fill_rcpt(struct policy_request *req)
{
	policy_request_init(req);
	assert_int_equal(take(req, "request=smtpd_access_policy"),
	    POLICY_LINE_MORE);
	assert_int_equal(take(req, "protocol_state=RCPT"), POLICY_LINE_MORE);
	assert_int_equal(take(req, "client_address=211.219.235.140"),
	    POLICY_LINE_MORE);
	assert_int_equal(take(req, "client_name=unknown"), POLICY_LINE_MORE);
	assert_int_equal(take(req, "reverse_client_name=a.kornet.net"),
	    POLICY_LINE_MORE);
	assert_int_equal(take(req, "helo_name=x"), POLICY_LINE_MORE);
	assert_int_equal(take(req, "sender=bbbb@gabacho-net.jp"),
	    POLICY_LINE_MORE);
	assert_int_equal(take(req, "recipient=aaaa@empal.com"),
	    POLICY_LINE_MORE);
}

static void
test_request(void **state)
{
	struct policy_request	req;

	(void)state;
	fill_rcpt(&req);
	assert_int_equal(take(&req, "ccert_subject="), POLICY_LINE_MORE);
	assert_int_equal(take(&req, "some_future_attribute=x=y"),
	    POLICY_LINE_MORE);
	assert_int_equal(take(&req, ""), POLICY_LINE_END);
	assert_false(req.bad);
	assert_string_equal(req.protocol_state, "RCPT");
	assert_string_equal(req.client_address, "211.219.235.140");
	assert_string_equal(req.client_name, "unknown");
	assert_string_equal(req.reverse_client_name, "a.kornet.net");
	assert_string_equal(req.sender, "bbbb@gabacho-net.jp");
	assert_string_equal(req.recipient, "aaaa@empal.com");
	assert_int_equal(req.lines, 10);
	/* A value may be empty: the null sender. */
	assert_int_equal(take(&req, "sender="), POLICY_LINE_MORE);
	assert_string_equal(req.sender, "");
}

static void
test_bad_lines(void **state)
{
	struct policy_request	req;
	char			big[POLICY_LINE_MAX + 2];
	char			val[ADDRESS_MAX + 20];

	(void)state;
	policy_request_init(&req);
	assert_int_equal(take(&req, "no equals sign"), POLICY_LINE_BAD);
	assert_true(req.bad);
	policy_request_init(&req);
	assert_int_equal(take(&req, "=value"), POLICY_LINE_BAD);
	policy_request_init(&req);
	assert_int_equal(policy_parse_line(&req, "sender=a\0b", 10),
	    POLICY_LINE_BAD);
	policy_request_init(&req);
	/* CR is never part of Postfix's framing. */
	assert_int_equal(take(&req, "sender=a@b\r"), POLICY_LINE_BAD);
	policy_request_init(&req);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "x=", 2);
	assert_int_equal(take(&req, big), POLICY_LINE_BAD);
	/* A value too long for its field is invalid, never cut. */
	policy_request_init(&req);
	memset(val, 'a', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	memcpy(val, "sender=", 7);
	assert_int_equal(take(&req, val), POLICY_LINE_BAD);
	assert_string_equal(req.sender, "");
	/* Still ends at the empty line. */
	assert_int_equal(take(&req, ""), POLICY_LINE_END);
}

static void
test_request_ceiling(void **state)
{
	struct policy_request	req;
	char			line[1000];
	size_t			i;
	enum policy_line_result	r = POLICY_LINE_MORE;

	(void)state;
	policy_request_init(&req);
	memset(line, 'v', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "unknown_attr=", 13);
	for (i = 0; i < POLICY_REQUEST_MAX / 1000 + 2; i++)
		r = take(&req, line);
	assert_int_equal(r, POLICY_LINE_BAD);
	assert_true(req.bad);
}

static void
test_decide(void **state)
{
	struct policy_request	req;

	(void)state;
	fill_rcpt(&req);
	assert_int_equal(policy_decide(&req, false, false), POLICY_RECORD);
	assert_int_equal(policy_decide(&req, true, false), POLICY_OK);
	assert_int_equal(policy_decide(&req, true, true), POLICY_OK);
	assert_int_equal(policy_decide(&req, false, true), POLICY_REJECT);
	take(&req, "protocol_state=MAIL");
	assert_int_equal(policy_decide(&req, false, false), POLICY_DUNNO);
	fill_rcpt(&req);
	take(&req, "request=junk");
	assert_int_equal(policy_decide(&req, false, false), POLICY_DUNNO);
	fill_rcpt(&req);
	req.bad = true;
	assert_int_equal(policy_decide(&req, true, false), POLICY_DUNNO);
	fill_rcpt(&req);
	take(&req, "client_address=");
	assert_int_equal(policy_decide(&req, false, false), POLICY_DUNNO);
}

static void
test_listen(void **state)
{
	struct policy_listen_item	items[4];
	size_t				n;
	char				err[256];
	char				longpath[200];

	(void)state;
	assert_true(policy_listen_parse("127.0.0.1:10040, "
	    "unix:/var/spool/postfix/private/pillory,[::1]:10040", items, 4,
	    &n, err, sizeof(err)));
	assert_int_equal(n, 3);
	assert_false(items[0].is_unix);
	assert_string_equal(items[0].endpoint, "127.0.0.1:10040");
	assert_true(items[1].is_unix);
	assert_string_equal(items[1].path,
	    "/var/spool/postfix/private/pillory");
	assert_string_equal(items[2].endpoint, "[::1]:10040");
	assert_false(policy_listen_parse("unix:relative", items, 4, &n, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "absolute"));
	assert_false(policy_listen_parse("localhost", items, 4, &n, err,
	    sizeof(err)));
	assert_false(policy_listen_parse("127.0.0.1:1,,127.0.0.1:2", items,
	    4, &n, err, sizeof(err)));
	assert_false(policy_listen_parse("127.0.0.1:1,127.0.0.1:2,"
	    "127.0.0.1:3,127.0.0.1:4,127.0.0.1:5", items, 4, &n, err,
	    sizeof(err)));
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	memcpy(longpath, "unix:/", 6);
	assert_false(policy_listen_parse(longpath, items, 4, &n, err,
	    sizeof(err)));
}

static void
test_sender_domain(void **state)
{
	char	d[64];

	(void)state;
	assert_true(policy_sender_domain("bbbb@Gabacho-Net.JP", d, sizeof(d)));
	assert_string_equal(d, "gabacho-net.jp");
	assert_true(policy_sender_domain("a@example.test.", d, sizeof(d)));
	assert_string_equal(d, "example.test");
	assert_false(policy_sender_domain("", d, sizeof(d)));
	assert_false(policy_sender_domain("nodomain", d, sizeof(d)));
	assert_false(policy_sender_domain("a@", d, sizeof(d)));
	assert_false(policy_sender_domain("a@0123456789", d, 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_request_ceiling),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_sender_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
