/*
 * test_mta.c: unit tests for the pure parts of outbound delivery
 * (src/mta.c): the relayhost setting ("host", "host:port", "[host]",
 * "[host]:port", address literals) and the relayhost credentials file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mta.h"

static void
assert_relayhost(const char *text, const char *host, unsigned port,
    bool mx)
{
	char		h[DOMAIN_MAX + 1];
	unsigned	p = 0;
	bool		m = !mx;

	if (!mta_parse_relayhost(text, h, &p, &m, 25))
		fail_msg("\"%s\" refused", text);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
	assert_int_equal(m, mx);
}

static void
assert_bad_relayhost(const char *text)
{
	char		h[DOMAIN_MAX + 1];
	unsigned	p;
	bool		m;

	if (mta_parse_relayhost(text, h, &p, &m, 25))
		fail_msg("\"%s\" accepted", text);
}

static void
test_relayhost(void **state)
{
	(void)state;
	assert_relayhost("smtp.isp.example", "smtp.isp.example", 25, true);
	assert_relayhost("smtp.isp.example:587", "smtp.isp.example", 587,
	    true);
	assert_relayhost("[smtp.isp.example]", "smtp.isp.example", 25, false);
	assert_relayhost("[smtp.isp.example]:587", "smtp.isp.example", 587,
	    false);
	assert_relayhost("192.0.2.1:2525", "192.0.2.1", 2525, false);
	assert_relayhost("[192.0.2.1]", "192.0.2.1", 25, false);
	assert_relayhost("[2001:db8::1]:587", "2001:db8::1", 587, false);
	assert_bad_relayhost("");
	assert_bad_relayhost("2001:db8::1");
	assert_bad_relayhost("[2001:db8::1");
	assert_bad_relayhost("[x]y");
	assert_bad_relayhost("host:");
	assert_bad_relayhost("host:0");
	assert_bad_relayhost("host:65536");
	assert_bad_relayhost("host:25x");
	assert_bad_relayhost("host:-1");
	assert_bad_relayhost("[]:25");
	assert_bad_relayhost("a host");
}

static void
test_auth_file(void **state)
{
	const char	*file =
	    "# relayhost credentials\n"
	    "\n"
	    "other.example  nobody:wrong\n"
	    "[smtp.isp.example]:587\tsite@example.test:pass word:with colon\r\n"
	    "* fallback:pw\n";
	char		u[64], p[64];

	(void)state;
	/* as written in the relayhost setting */
	assert_int_equal(mta_parse_auth(file, strlen(file),
	    "[smtp.isp.example]:587", u, p, sizeof(u)), 1);
	assert_string_equal(u, "site@example.test");
	assert_string_equal(p, "pass word:with colon");
	/* the bare host matches too, case aside */
	assert_int_equal(mta_parse_auth("SMTP.isp.example u:p\n", 21,
	    "[smtp.isp.example]:587", u, p, sizeof(u)), 1);
	assert_string_equal(u, "u");
	/* "*" catches the rest */
	assert_int_equal(mta_parse_auth(file, strlen(file), "relay.test", u, p,
	    sizeof(u)), 1);
	assert_string_equal(u, "fallback");
	assert_string_equal(p, "pw");
	/* no line: no AUTH */
	assert_int_equal(mta_parse_auth("a.example u:p\n", 14, "b.example", u,
	    p, sizeof(u)), 0);
	assert_int_equal(mta_parse_auth("", 0, "b.example", u, p, sizeof(u)),
	    0);
	/* malformed lines */
	assert_int_equal(mta_parse_auth("justonefield\n", 13, "x", u, p,
	    sizeof(u)), -1);
	assert_int_equal(mta_parse_auth("x user-without-colon\n", 21, "x", u,
	    p, sizeof(u)), -1);
	assert_int_equal(mta_parse_auth("x :nouser\n", 10, "x", u, p,
	    sizeof(u)), -1);
	/* a password that does not fit is refused, not cut */
	assert_int_equal(mta_parse_auth("x u:0123456789\n", 15, "x", u, p, 8),
	    -1);
}

static void
ss6(struct sockaddr_storage *ss, const char *text, unsigned port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
}

static void
ss4(struct sockaddr_storage *ss, const char *text, unsigned port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
}

static void
test_addr_unmap(void **state)
{
	struct sockaddr_storage	 ss, want;

	(void)state;
	/* ::ffff:127.0.0.1 is 127.0.0.1, port kept */
	ss6(&ss, "::ffff:127.0.0.1", 25);
	mta_addr_unmap(&ss);
	ss4(&want, "127.0.0.1", 25);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_memory_equal(&ss, &want, sizeof(struct sockaddr_in));
	/* ::ffff:0.0.0.0 becomes 0.0.0.0, which is unspecified */
	ss6(&ss, "::ffff:0.0.0.0", 25);
	assert_false(mta_addr_is_unspecified(&ss));
	mta_addr_unmap(&ss);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_true(mta_addr_is_unspecified(&ss));
	/* real IPv6, IPv4-compatible (deprecated) and IPv4 stay */
	ss6(&ss, "2001:db8::1", 25);
	memcpy(&want, &ss, sizeof(ss));
	mta_addr_unmap(&ss);
	assert_memory_equal(&ss, &want, sizeof(ss));
	ss6(&ss, "::127.0.0.1", 25);
	memcpy(&want, &ss, sizeof(ss));
	mta_addr_unmap(&ss);
	assert_memory_equal(&ss, &want, sizeof(ss));
	ss4(&ss, "192.0.2.1", 25);
	memcpy(&want, &ss, sizeof(ss));
	mta_addr_unmap(&ss);
	assert_memory_equal(&ss, &want, sizeof(ss));
}

static void
test_addr_unspecified(void **state)
{
	struct sockaddr_storage	ss;

	(void)state;
	ss4(&ss, "0.0.0.0", 25);
	assert_true(mta_addr_is_unspecified(&ss));
	ss6(&ss, "::", 25);
	assert_true(mta_addr_is_unspecified(&ss));
	ss4(&ss, "127.0.0.1", 25);
	assert_false(mta_addr_is_unspecified(&ss));
	ss6(&ss, "::1", 25);
	assert_false(mta_addr_is_unspecified(&ss));
	memset(&ss, 0, sizeof(ss));
	assert_false(mta_addr_is_unspecified(&ss));	/* AF_UNSPEC */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relayhost),
		cmocka_unit_test(test_auth_file),
		cmocka_unit_test(test_addr_unmap),
		cmocka_unit_test(test_addr_unspecified),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
