/* Unit tests for ban.c: networks, the ban table, counting, doubling,
 * expiry and the export formats. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ban.h"

#define S	1000000LL

static struct sockaddr_storage
sa_of(const char *ip)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1)
		ss.ss_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, ip,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
		ss.ss_family = AF_INET6;
	}
	return ss;
}

static struct ban_net
net_of(const char *text)
{
	struct ban_net	 n;
	const char	*why;

	assert_true(ban_net_parse(text, &n, &why));
	return n;
}

static struct ban_entry
entry(const char *net, int64_t start, int64_t expires)
{
	struct ban_entry	e;

	memset(&e, 0, sizeof(e));
	e.net = net_of(net);
	e.start_us = start;
	e.expires_us = expires;
	e.level = 1;
	return e;
}

static void
test_parse_format(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;	/* NULL: must fail */
	} cases[] = {
		{ "192.0.2.1", "192.0.2.1/32" },
		{ "192.0.2.0/24", "192.0.2.0/24" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "2001:db8::/64", "2001:db8::/64" },
		{ "2001:db8::1", "2001:db8::1/128" },
		{ "::ffff:192.0.2.7", "192.0.2.7/32" },
		{ "192.0.2.1/24", NULL },	/* host bits set */
		{ "192.0.2.0/33", NULL },
		{ "2001:db8::/129", NULL },
		{ "192.0.2.0/", NULL },
		{ "192.0.2.0/2x", NULL },
		{ "192.0.2.0/0024", NULL },
		{ "192.0.2.0 /24", NULL },
		{ "fe80::1%eth0", NULL },
		{ "example.com", NULL },
		{ "", NULL },
		{ "1111:2222:3333:4444:5555:6666:7777:8888/128xxxxxxx", NULL },
	};
	struct ban_net	 n;
	const char	*why;
	char		 out[BAN_NET_TEXT_MAX];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = ban_net_parse(cases[i].in, &n, &why);

		if (cases[i].out == NULL) {
			assert_false(ok);
			assert_non_null(why);
			continue;
		}
		assert_true(ok);
		assert_true(ban_net_format(&n, out, sizeof(out)));
		assert_string_equal(out, cases[i].out);
	}
	assert_false(ban_net_format(&n, out, 4));
}

static void
test_net_of_sockaddr(void **state)
{
	struct sockaddr_storage	ss = sa_of("2001:db8:1:2:aaaa::5");
	struct ban_net		n;
	char			out[BAN_NET_TEXT_MAX];

	(void)state;
	ban_net_of_sockaddr((struct sockaddr *)&ss, 32, 64, &n);
	ban_net_format(&n, out, sizeof(out));
	assert_string_equal(out, "2001:db8:1:2::/64");
	ss = sa_of("198.51.100.77");
	ban_net_of_sockaddr((struct sockaddr *)&ss, 24, 64, &n);
	ban_net_format(&n, out, sizeof(out));
	assert_string_equal(out, "198.51.100.0/24");
	ss = sa_of("::ffff:198.51.100.77");
	ban_net_of_sockaddr((struct sockaddr *)&ss, 28, 64, &n);
	ban_net_format(&n, out, sizeof(out));
	assert_string_equal(out, "198.51.100.64/28");
	assert_true(ban_net_contains(&n, (struct sockaddr *)&ss));
	ss = sa_of("198.51.100.80");
	assert_false(ban_net_contains(&n, (struct sockaddr *)&ss));
}

static void
test_duration_doubles_to_max(void **state)
{
	uint64_t	d;

	(void)state;
	assert_int_equal(ban_duration(3600, 7 * 86400, 1), 3600);
	assert_int_equal(ban_duration(3600, 7 * 86400, 2), 7200);
	assert_int_equal(ban_duration(3600, 7 * 86400, 5), 57600);
	assert_int_equal(ban_duration(3600, 7 * 86400, 9), 7 * 86400);
	assert_int_equal(ban_duration(3600, 7 * 86400, 4000000000u),
	    7 * 86400);
	assert_int_equal(ban_duration(10, 5, 1), 5);
	assert_true(ban_parse_duration("90", &d) && d == 90);
	assert_true(ban_parse_duration("2h", &d) && d == 7200);
	assert_true(ban_parse_duration("1w", &d) && d == 604800);
	assert_false(ban_parse_duration("0", &d));
	assert_false(ban_parse_duration("h", &d));
	assert_false(ban_parse_duration("2hh", &d));
	assert_false(ban_parse_duration("-5", &d));
	assert_false(ban_parse_duration("99999999999d", &d));
	assert_false(ban_parse_duration("4000d", &d));
}

static void
test_table_find_and_expiry(void **state)
{
	struct ban_table	*t = ban_table_new();
	struct ban_entry	 e;
	struct sockaddr_storage	 ss;
	const struct ban_entry	*f;
	struct ban_net		 n;

	(void)state;
	e = entry("192.0.2.0/24", 0, 100 * S);
	ban_table_put(t, &e);
	e = entry("2001:db8:1:2::/64", 0, 50 * S);
	ban_table_put(t, &e);
	ss = sa_of("192.0.2.200");
	assert_non_null(f = ban_table_find(t, (struct sockaddr *)&ss, 99 * S));
	assert_int_equal(f->net.prefix, 24);
	/* Exactly at the end the ban is over. */
	assert_null(ban_table_find(t, (struct sockaddr *)&ss, 100 * S));
	ss = sa_of("192.0.3.1");
	assert_null(ban_table_find(t, (struct sockaddr *)&ss, 1));
	ss = sa_of("2001:db8:1:2:ffff::1");
	assert_non_null(ban_table_find(t, (struct sockaddr *)&ss, 49 * S));
	ss = sa_of("2001:db8:1:3::1");
	assert_null(ban_table_find(t, (struct sockaddr *)&ss, 1));
	/* Mapped v4 is v4. */
	ss = sa_of("::ffff:192.0.2.9");
	assert_non_null(ban_table_find(t, (struct sockaddr *)&ss, 1));
	assert_int_equal(ban_table_count(t), 2);
	assert_int_equal(ban_table_expire(t, 60 * S), 1);
	assert_int_equal(ban_table_count(t), 1);
	n = net_of("192.0.2.0/24");
	assert_true(ban_table_remove(t, &n));
	assert_false(ban_table_remove(t, &n));
	ss = sa_of("192.0.2.200");
	assert_null(ban_table_find(t, (struct sockaddr *)&ss, 1));
	ban_table_free(t);
}

static void
test_table_many(void **state)
{
	struct ban_table	*t = ban_table_new();
	struct ban_entry	 e, *list;
	struct sockaddr_storage	 ss;
	char			 ip[32];
	size_t			 i, n;

	(void)state;
	/* Growth, replacement and deletion with collisions. */
	for (i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%zu.%zu.1", i / 256, i % 256);
		e = entry(ip, 0, (int64_t)(i % 2 ? 10 : 20) * S);
		ban_table_put(t, &e);
		ban_table_put(t, &e);
	}
	assert_int_equal(ban_table_count(t), 5000);
	for (i = 0; i < 5000; i += 3) {
		snprintf(ip, sizeof(ip), "10.%zu.%zu.1", i / 256, i % 256);
		e = entry(ip, 0, 0);
		assert_true(ban_table_remove(t, &e.net));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%zu.%zu.1", i / 256, i % 256);
		ss = sa_of(ip);
		if (i % 3 == 0)
			assert_null(ban_table_find(t, (struct sockaddr *)&ss,
			    1));
		else
			assert_non_null(ban_table_find(t,
			    (struct sockaddr *)&ss, 1));
	}
	list = ban_table_list(t, 15 * S, &n);
	for (i = 1; i < n; i++)
		assert_true(memcmp(list[i - 1].net.addr, list[i].net.addr,
		    16) < 0);
	free(list);
	ban_table_expire(t, 15 * S);
	list = ban_table_list(t, 0, &n);
	assert_int_equal(n, ban_table_count(t));
	for (i = 0; i < n; i++)
		assert_int_equal(list[i].expires_us, 20 * S);
	free(list);
	ban_table_clear(t);
	assert_int_equal(ban_table_count(t), 0);
	ban_table_free(t);
}

static void
test_table_prefix_lengths(void **state)
{
	struct ban_table	*t = ban_table_new();
	struct ban_entry	 e;
	struct sockaddr_storage	 ss = sa_of("203.0.113.77");
	const struct ban_entry	*f;

	(void)state;
	e = entry("203.0.113.0/24", 0, 10 * S);
	ban_table_put(t, &e);
	e = entry("203.0.113.77/32", 0, 5 * S);
	ban_table_put(t, &e);
	/* Longest prefix first, and a dead /32 falls back to the /24. */
	assert_non_null(f = ban_table_find(t, (struct sockaddr *)&ss, 1));
	assert_int_equal(f->net.prefix, 32);
	assert_non_null(f = ban_table_find(t, (struct sockaddr *)&ss, 6 * S));
	assert_int_equal(f->net.prefix, 24);
	ban_table_free(t);
}

static void
test_counter_window(void **state)
{
	struct ban_counter	*c = ban_counter_new(3, 10 * S);
	struct ban_net		 a = net_of("192.0.2.1");
	struct ban_net		 b = net_of("192.0.2.2");

	(void)state;
	assert_false(ban_counter_hit(c, &a, 0));
	assert_false(ban_counter_hit(c, &a, 5 * S));
	assert_false(ban_counter_hit(c, &b, 5 * S));
	/* Third within 10 s of the first. */
	assert_true(ban_counter_hit(c, &a, 9 * S));
	/* Counting starts again. */
	assert_false(ban_counter_hit(c, &a, 9 * S + 1));
	/* Sliding: b at 5, 14, 16 -> 5 is 11 s before 16: no ban yet. */
	assert_false(ban_counter_hit(c, &b, 14 * S));
	assert_false(ban_counter_hit(c, &b, 16 * S));
	assert_true(ban_counter_hit(c, &b, 17 * S));
	assert_int_equal(ban_counter_count(c), 2);
	assert_int_equal(ban_counter_expire(c, 19 * S + 2), 1);
	assert_int_equal(ban_counter_count(c), 1);
	assert_int_equal(ban_counter_expire(c, 100 * S), 1);
	ban_counter_free(c);
	c = ban_counter_new(1, 1);
	assert_true(ban_counter_hit(c, &a, 0));
	ban_counter_free(c);
}

static char *
export_text(enum ban_export_format fmt, const struct ban_entry *e, size_t n)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	assert_true(ban_export(fmt, e, n, fp));
	fclose(fp);
	return buf;
}

static void
test_export(void **state)
{
	struct ban_entry	 e[3];
	enum ban_export_format	 f;
	char			*s;

	(void)state;
	e[0] = entry("192.0.2.0/24", 0, 10 * S);
	e[1] = entry("192.0.2.7/32", 0, 10 * S);
	e[2] = entry("2001:db8::/64", 0, 10 * S);
	s = export_text(BAN_EXPORT_PLAIN, e, 3);
	assert_string_equal(s, "192.0.2.0/24\n192.0.2.7/32\n2001:db8::/64\n");
	free(s);
	s = export_text(BAN_EXPORT_RBLDNSD, e, 3);
	assert_non_null(strstr(s, "$DATASET ip4set @\n"));
	assert_non_null(strstr(s, "$DATASET ip6trie @\n"));
	assert_true(strstr(s, "2001:db8::/64") > strstr(s, "ip6trie"));
	free(s);
	/* nft interval sets refuse overlaps: the /32 inside the /24 goes. */
	s = export_text(BAN_EXPORT_NFT, e, 3);
	assert_non_null(strstr(s, "192.0.2.0/24"));
	assert_null(strstr(s, "192.0.2.7/32"));
	assert_non_null(strstr(s, "type ipv6_addr"));
	free(s);
	s = export_text(BAN_EXPORT_NFT, e, 0);
	assert_null(strstr(s, "elements"));
	free(s);
	s = export_text(BAN_EXPORT_JSON, e, 1);
	assert_non_null(strstr(s, "\"network\":\"192.0.2.0/24\""));
	free(s);
	assert_true(ban_export_format_parse("rbldnsd", &f));
	assert_int_equal(f, BAN_EXPORT_RBLDNSD);
	assert_false(ban_export_format_parse("csv", &f));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_net_of_sockaddr),
		cmocka_unit_test(test_duration_doubles_to_max),
		cmocka_unit_test(test_table_find_and_expiry),
		cmocka_unit_test(test_table_many),
		cmocka_unit_test(test_table_prefix_lengths),
		cmocka_unit_test(test_counter_window),
		cmocka_unit_test(test_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
