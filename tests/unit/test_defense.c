/* Unit tests for the pure part of defense.c: DNSBL query names (RFC 5782
 * 2.1 for IPv4, 2.4 for IPv6). */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "defense.h"

static void
test_dnsbl_names(void **state)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	char			out[256];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.99", &sin.sin_addr);
	assert_true(defense_dnsbl_name((struct sockaddr *)&sin, "bl.test",
	    out, sizeof(out)));
	assert_string_equal(out, "99.2.0.192.bl.test");
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::abc", &sin6.sin6_addr);
	assert_true(defense_dnsbl_name((struct sockaddr *)&sin6, "bl.test",
	    out, sizeof(out)));
	assert_string_equal(out, "c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test");
	/* A mapped IPv4 address is asked as IPv4. */
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr);
	assert_true(defense_dnsbl_name((struct sockaddr *)&sin6, "z.test",
	    out, sizeof(out)));
	assert_string_equal(out, "7.2.0.192.z.test");
	/* Too small: refused, never cut. */
	assert_false(defense_dnsbl_name((struct sockaddr *)&sin, "bl.test",
	    out, 10));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnsbl_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
