/*
 * test_listener.c: unit tests for the pure part of the listeners
 * (src/listener.c): the key a client address is counted under for the
 * per-address limits (IPv4, IPv4-mapped IPv6 as IPv4, IPv6 by /64).
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

#include "listener.h"

static void
key_of(const char *text, uint8_t key[16], uint8_t *family)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(25);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr),
		    1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40000);
	}
	memset(key, 0xaa, 16);
	listener_ip_key((struct sockaddr *)&ss, key, family);
}

static bool
same_key(const char *a, const char *b)
{
	uint8_t	ka[16], kb[16], fa, fb;

	key_of(a, ka, &fa);
	key_of(b, kb, &fb);
	return fa == fb && memcmp(ka, kb, 16) == 0;
}

static void
test_ipv4(void **state)
{
	uint8_t			key[16], fam;
	static const uint8_t	want[16] = { 192, 0, 2, 7 };

	(void)state;
	key_of("192.0.2.7", key, &fam);
	assert_int_equal(fam, AF_INET);
	assert_memory_equal(key, want, 16);
	assert_false(same_key("192.0.2.7", "192.0.2.8"));
}

static void
test_v4_mapped_is_ipv4(void **state)
{
	(void)state;
	assert_true(same_key("::ffff:192.0.2.7", "192.0.2.7"));
	assert_false(same_key("::ffff:192.0.2.7", "192.0.2.8"));
}

static void
test_ipv6_by_64(void **state)
{
	uint8_t			key[16], fam;
	static const uint8_t	want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0,
	    2 };

	(void)state;
	key_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd", key, &fam);
	assert_int_equal(fam, AF_INET6);
	assert_memory_equal(key, want, 16);
	assert_true(same_key("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"));
	assert_false(same_key("2001:db8:1:2::1", "2001:db8:1:3::1"));
	/* an IPv6 /64 never equals an IPv4 key */
	assert_false(same_key("::", "0.0.0.0"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_v4_mapped_is_ipv4),
		cmocka_unit_test(test_ipv6_by_64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
