/*
 * test_proxy_proto.c: unit tests for the PROXY v1/v2 header parser
 * (src/proxy_proto.c): well-formed headers of every kind, each
 * malformation the parser must refuse, and feeding octet by octet.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy_proto.h"

/* Section 2.2: size of the AF_UNIX address block. */
#define V2_UNIX_BLOCK	216

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static enum proxy_result
parse_str(const char *s, struct proxy_info *info)
{
	return (proxy_proto_parse((const uint8_t *)s, strlen(s), info));
}

static void
assert_v1_invalid(const char *s)
{
	struct proxy_info	info;

	if (parse_str(s, &info) != PROXY_INVALID)
		fail_msg("accepted or waiting on: \"%s\"", s);
}

/*
 * Every strict prefix of buf[0..len) must be NEED_MORE and the whole of
 * it OK with consumed == len.
 */
static void
assert_incremental_ok(const uint8_t *buf, size_t len)
{
	struct proxy_info	info;
	size_t			i;

	for (i = 0; i < len; i++) {
		if (proxy_proto_parse(buf, i, &info) != PROXY_NEED_MORE)
			fail_msg("prefix of %zu octets not NEED_MORE", i);
	}
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_int_equal(info.consumed, len);
}

static void
assert_sin(const struct sockaddr_storage *ss, socklen_t sslen,
    const char *addr, uint16_t port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	struct in_addr			 want;

	assert_int_equal(sslen, sizeof(struct sockaddr_in));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(inet_pton(AF_INET, addr, &want), 1);
	assert_memory_equal(&sin->sin_addr, &want, sizeof(want));
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void
assert_sin6(const struct sockaddr_storage *ss, socklen_t sslen,
    const char *addr, uint16_t port)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr			 want;

	assert_int_equal(sslen, sizeof(struct sockaddr_in6));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(inet_pton(AF_INET6, addr, &want), 1);
	assert_memory_equal(&sin6->sin6_addr, &want, sizeof(want));
	assert_int_equal(ntohs(sin6->sin6_port), port);
}

static void
test_v1_tcp4(void **state)
{
	const char		*hdr = "PROXY TCP4 192.0.2.1 198.51.100.22 "
	    "56324 25\r\n";
	char			 buf[256];
	struct proxy_info	 info;

	(void)state;
	/* Followed by the client's first command, which is not consumed. */
	snprintf(buf, sizeof(buf), "%sEHLO x\r\n", hdr);
	assert_int_equal(parse_str(buf, &info), PROXY_OK);
	assert_int_equal(info.consumed, strlen(hdr));
	assert_false(info.use_real);
	assert_sin(&info.src, info.src_len, "192.0.2.1", 56324);
	assert_sin(&info.dst, info.dst_len, "198.51.100.22", 25);

	assert_int_equal(parse_str("PROXY TCP4 0.0.0.0 255.255.255.255 0 "
	    "65535\r\n", &info), PROXY_OK);
	assert_sin(&info.src, info.src_len, "0.0.0.0", 0);
	assert_sin(&info.dst, info.dst_len, "255.255.255.255", 65535);
}

static void
test_v1_tcp6(void **state)
{
	struct proxy_info	info;
	const char		*longest = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";

	(void)state;
	assert_int_equal(parse_str("PROXY TCP6 2001:db8::1 2001:DB8::2 "
	    "1024 587\r\n", &info), PROXY_OK);
	assert_false(info.use_real);
	assert_sin6(&info.src, info.src_len, "2001:db8::1", 1024);
	assert_sin6(&info.dst, info.dst_len, "2001:db8::2", 587);

	assert_int_equal(parse_str("PROXY TCP6 ::ffff:192.0.2.1 :: 1 2\r\n",
	    &info), PROXY_OK);
	assert_sin6(&info.src, info.src_len, "::ffff:192.0.2.1", 1);
	assert_sin6(&info.dst, info.dst_len, "::", 2);

	assert_int_equal(parse_str(longest, &info), PROXY_OK);
	assert_int_equal(info.consumed, strlen(longest));
}

static void
test_v1_unknown(void **state)
{
	struct proxy_info	info;
	/* Section 2.1's worst case: exactly 107 octets. */
	const char		*worst = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	char			 longer[256];

	(void)state;
	assert_int_equal(parse_str("PROXY UNKNOWN\r\nQUIT\r\n", &info),
	    PROXY_OK);
	assert_true(info.use_real);
	assert_int_equal(info.consumed, 15);
	assert_int_equal(info.src_len, 0);
	assert_int_equal(info.dst_len, 0);

	assert_int_equal(strlen(worst), PROXY_V1_MAX);
	assert_int_equal(parse_str(worst, &info), PROXY_OK);
	assert_true(info.use_real);
	assert_int_equal(info.consumed, PROXY_V1_MAX);

	/* The ignored tail is not parsed as addresses. */
	assert_int_equal(parse_str("PROXY UNKNOWN whatever 1 2\r\n", &info),
	    PROXY_OK);

	/* One octet more than the cap. */
	snprintf(longer, sizeof(longer), "PROXY UNKNOWN x%s", worst + 14);
	assert_int_equal(strlen(longer), PROXY_V1_MAX + 1);
	assert_v1_invalid(longer);
}

static void
test_v1_malformed(void **state)
{
	static const char *const bad[] = {
		/* spacing */
		"PROXY  TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2  1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1  2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n",
		" PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY\tTCP4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.1\t192.0.2.2 1 2\r\n",
		/* line ends */
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2EHLO x\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2\r\n",
		"PROXY UNKNOWN\n",
		"PROXY UNKNOWN\rX",
		"PROXY UNKNOWN x\ny\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY\r\n",
		/* ports */
		"PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 99999\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 025 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 00 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 +25 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 0x19 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 000000025\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2a\r\n",
		/* addresses and families */
		"PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n",
		"PROXY TCP4 192.0.2.1 2001:db8::2 1 2\r\n",
		"PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP6 2001:db8::1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 256.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2 192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.1.5 192.0.2.2 1 2\r\n",
		"PROXY TCP4 010.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 localhost 192.0.2.2 1 2\r\n",
		"PROXY TCP6 2001:db8:::1 ::1 1 2\r\n",
		"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
		"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
		"PROXY TCP6 [::1] ::1 1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n",
		"PROXY TCP4 192.0.2.1\r\n",
		/* protocol word and case */
		"PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY tcp4 192.0.2.1 192.0.2.2 1 2\r\n",
		"proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXYTCP4 192.0.2.1 192.0.2.2 1 2\r\n",
		/* not PROXY at all */
		"EHLO example.org\r\n",
		"GET / HTTP/1.1\r\n",
		"PROXX",
		"\n",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_v1_invalid(bad[i]);
}

static void
test_v1_nul(void **state)
{
	static const char	 line[] =
	    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n";
	uint8_t			 buf[sizeof(line)];
	struct proxy_info	 info;
	size_t			 i, len = sizeof(line) - 1;

	(void)state;
	/* A NUL anywhere in the line makes it invalid. */
	for (i = 0; i < len; i++) {
		memcpy(buf, line, len);
		buf[i] = '\0';
		assert_int_equal(proxy_proto_parse(buf, len, &info),
		    PROXY_INVALID);
	}
}

static void
test_v1_too_long(void **state)
{
	char			buf[512];
	struct proxy_info	info;
	size_t			i;

	(void)state;
	/* An endless UNKNOWN tail is refused once the cap is reached. */
	memcpy(buf, "PROXY UNKNOWN ", 14);
	for (i = 14; i < sizeof(buf); i++)
		buf[i] = 'a';
	assert_int_equal(proxy_proto_parse((uint8_t *)buf, PROXY_V1_MAX - 1,
	    &info), PROXY_NEED_MORE);
	assert_int_equal(proxy_proto_parse((uint8_t *)buf, PROXY_V1_MAX,
	    &info), PROXY_INVALID);
	assert_int_equal(proxy_proto_parse((uint8_t *)buf, sizeof(buf),
	    &info), PROXY_INVALID);
}

static void
test_v1_prefixes(void **state)
{
	static const char *const need_more[] = {
		"", "P", "PRO", "PROXY", "PROXY ", "PROXY T", "PROXY TCP",
		"PROXY TCP4", "PROXY U", "PROXY UNKNOWN", "PROXY UNKNOWN ",
		"PROXY UNKNOWN junk", "PROXY UNKNOWN\r",
		"PROXY TCP4 ", "PROXY TCP4 1", "PROXY TCP4 192.",
		"PROXY TCP4 0",
		"PROXY TCP4 1.2.3.4", "PROXY TCP4 1.2.3.4 ",
		"PROXY TCP4 1.2.3.4 5.6.7.8 ", "PROXY TCP4 1.2.3.4 5.6.7.8 0",
		"PROXY TCP4 1.2.3.4 5.6.7.8 6553",
		"PROXY TCP4 1.2.3.4 5.6.7.8 65535 ",
		"PROXY TCP4 1.2.3.4 5.6.7.8 65535 1\r",
		"PROXY TCP6 ", "PROXY TCP6 :", "PROXY TCP6 ::",
		"PROXY TCP6 2001:",
		"PROXY TCP6 2001:db8", "PROXY TCP6 1:2:3:4:5:6:7",
		"PROXY TCP6 1:2:3:4:5:6:7:", "PROXY TCP6 1:2:3:4:5:6:",
		"PROXY TCP6 ::ffff:1.", "PROXY TCP6 ::ffff:1.2",
		"PROXY TCP6 ::ffff:1.2.3.", "PROXY TCP6 1::2:3:4:5:6:",
	};
	/* Already wrong before the line is complete. */
	static const char *const invalid[] = {
		"X", "PROXY  ", "PROXY TCP4  ", "PROXY TCP4 256",
		"PROXY TCP4 1.2.3.4.", "PROXY TCP4 01", "PROXY TCP4 1..",
		"PROXY TCP4 ::", "PROXY TCP6 :::", "PROXY TCP6 12345",
		"PROXY TCP6 1:2:3:4:5:6:7:8:", "PROXY TCP6 ::1.2.3.4.",
		"PROXY TCP6 ::256.", "PROXY TCP6 g",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01",
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "PROXY UNKNOWN\t",
		"PROXY UNKNOWN\rx", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r",
	};
	struct proxy_info	info;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(need_more) / sizeof(need_more[0]); i++) {
		if (parse_str(need_more[i], &info) != PROXY_NEED_MORE)
			fail_msg("not NEED_MORE: \"%s\"", need_more[i]);
	}
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		assert_v1_invalid(invalid[i]);
}

static void
test_v1_incremental(void **state)
{
	static const char *const good[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.22 56324 25\r\n",
		"PROXY TCP4 0.0.0.0 10.0.0.0 0 0\r\n",
		"PROXY TCP6 2001:db8::1 2001:db8::2 1024 587\r\n",
		"PROXY TCP6 ::ffff:192.0.2.1 1:2:3:4:5:6:7:8 1 65535\r\n",
		"PROXY TCP6 1:2:3:4:5:6:7:: ::1:2:3:4:5:6:7 1 2\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_incremental_ok((const uint8_t *)good[i],
		    strlen(good[i]));
}

/* Build a v2 header: signature, ver_cmd, fam, then block of blen octets. */
static size_t
v2_build(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *block,
    size_t blen)
{
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen > 0)
		memcpy(out + 16, block, blen);
	return (16 + blen);
}

static void
test_v2_ipv4(void **state)
{
	static const uint8_t	block[12] = {
		192, 0, 2, 1,		/* src */
		198, 51, 100, 22,	/* dst */
		0xdc, 0x04,		/* 56324 */
		0x00, 0x19,		/* 25 */
	};
	uint8_t			buf[64];
	struct proxy_info	info;
	size_t			len;

	(void)state;
	len = v2_build(buf, 0x21, 0x11, block, sizeof(block));
	assert_int_equal(len, 28);
	assert_incremental_ok(buf, len);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_false(info.use_real);
	assert_sin(&info.src, info.src_len, "192.0.2.1", 56324);
	assert_sin(&info.dst, info.dst_len, "198.51.100.22", 25);

	/* Extra octets after the header are the client's, not ours. */
	memcpy(buf + len, "EHLO", 4);
	assert_int_equal(proxy_proto_parse(buf, len + 4, &info), PROXY_OK);
	assert_int_equal(info.consumed, 28);
}

static void
test_v2_ipv6(void **state)
{
	uint8_t			block[36], buf[64];
	struct proxy_info	info;
	size_t			len;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", block), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::2", block + 16), 1);
	block[32] = 0x04;	/* 1024 */
	block[33] = 0x00;
	block[34] = 0x02;	/* 587 */
	block[35] = 0x4b;
	len = v2_build(buf, 0x21, 0x21, block, sizeof(block));
	assert_incremental_ok(buf, len);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_false(info.use_real);
	assert_int_equal(info.consumed, 52);
	assert_sin6(&info.src, info.src_len, "2001:db8::1", 1024);
	assert_sin6(&info.dst, info.dst_len, "2001:db8::2", 587);

	/* An IPv4 block is too short for INET6. */
	len = v2_build(buf, 0x21, 0x21, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
}

static void
test_v2_local(void **state)
{
	uint8_t			block[20], buf[64];
	struct proxy_info	info;
	size_t			len;

	(void)state;
	/* Health check from the balancer itself: no addresses at all. */
	len = v2_build(buf, 0x20, 0x00, NULL, 0);
	assert_incremental_ok(buf, len);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_true(info.use_real);
	assert_int_equal(info.consumed, 16);
	assert_int_equal(info.src_len, 0);

	/* LOCAL ignores the family and whatever the block holds. */
	memset(block, 0xff, sizeof(block));
	len = v2_build(buf, 0x20, 0x11, block, sizeof(block));
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_true(info.use_real);
	assert_int_equal(info.consumed, 36);
}

static void
test_v2_unspec_unix(void **state)
{
	uint8_t			block[V2_UNIX_BLOCK], buf[300];
	struct proxy_info	info;
	size_t			len;

	(void)state;
	len = v2_build(buf, 0x21, 0x00, NULL, 0);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_true(info.use_real);
	assert_int_equal(info.consumed, 16);

	memset(block, 0, sizeof(block));
	memcpy(block, "/run/haproxy.sock", 17);
	len = v2_build(buf, 0x21, 0x31, block, sizeof(block));
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_true(info.use_real);
	assert_int_equal(info.consumed, 16 + sizeof(block));

	/* AF_UNIX with a block shorter than two sun_path fields. */
	len = v2_build(buf, 0x21, 0x31, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
}

static void
test_v2_tlvs(void **state)
{
	uint8_t			block[64], buf[128];
	struct proxy_info	info;
	size_t			len, blen;

	(void)state;
	memset(block, 0, sizeof(block));
	memcpy(block, "\xc0\x00\x02\x01\xcb\x00\x71\x0e\x30\x39\x00\x19", 12);
	blen = 12;
	/* PP2_TYPE_ALPN "smtp", then PP2_TYPE_NOOP with 3 octets. */
	memcpy(block + blen, "\x01\x00\x04smtp", 7);
	blen += 7;
	memcpy(block + blen, "\x04\x00\x03\x00\x00\x00", 6);
	blen += 6;
	len = v2_build(buf, 0x21, 0x11, block, blen);
	assert_incremental_ok(buf, len);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_int_equal(info.consumed, 16 + blen);
	assert_sin(&info.src, info.src_len, "192.0.2.1", 12345);
	assert_sin(&info.dst, info.dst_len, "203.0.113.14", 25);

	/* A TLV whose length runs past the block. */
	block[12 + 2] = 5;
	len = v2_build(buf, 0x21, 0x11, block, 12 + 7);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	/* Two stray octets that cannot be a TLV header. */
	len = v2_build(buf, 0x21, 0x11, block, 14);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
}

static void
test_v2_size_limits(void **state)
{
	uint8_t			block[PROXY_V2_MAX], buf[PROXY_V2_MAX + 16];
	struct proxy_info	info;
	size_t			len, blen;

	(void)state;
	/* Largest allowed: address block plus one NOOP TLV filling it. */
	memset(block, 0, sizeof(block));
	blen = PROXY_V2_MAX - 16;
	block[12] = 0x04;
	block[13] = (uint8_t)((blen - 15) >> 8);
	block[14] = (uint8_t)(blen - 15);
	len = v2_build(buf, 0x21, 0x11, block, blen);
	assert_int_equal(len, PROXY_V2_MAX);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_OK);
	assert_int_equal(info.consumed, PROXY_V2_MAX);

	/* One more is refused as soon as the length field is there. */
	len = v2_build(buf, 0x21, 0x11, block, blen + 1);
	assert_int_equal(proxy_proto_parse(buf, 16, &info), PROXY_INVALID);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	buf[14] = 0xff;
	buf[15] = 0xff;
	assert_int_equal(proxy_proto_parse(buf, 16, &info), PROXY_INVALID);
}

static void
test_v2_truncated(void **state)
{
	uint8_t			block[12], buf[64];
	struct proxy_info	info;
	size_t			len, i;

	(void)state;
	memset(block, 1, sizeof(block));
	len = v2_build(buf, 0x21, 0x11, block, sizeof(block));
	for (i = 0; i < len; i++)
		assert_int_equal(proxy_proto_parse(buf, i, &info),
		    PROXY_NEED_MORE);
	/* Declares 40 octets but only the 12 are there so far. */
	buf[15] = 40;
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_NEED_MORE);
}

static void
test_v2_bad_header(void **state)
{
	uint8_t			block[36], buf[64];
	struct proxy_info	info;
	size_t			len, i;

	(void)state;
	memset(block, 0, sizeof(block));

	/* Version 1 and 3 in the high nibble. */
	len = v2_build(buf, 0x11, 0x11, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	assert_int_equal(proxy_proto_parse(buf, 13, &info), PROXY_INVALID);
	len = v2_build(buf, 0x31, 0x11, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	/* Command 2. */
	len = v2_build(buf, 0x22, 0x11, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	/* Datagram, unspecified transport, unknown family. */
	len = v2_build(buf, 0x21, 0x12, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	assert_int_equal(proxy_proto_parse(buf, 14, &info), PROXY_INVALID);
	len = v2_build(buf, 0x21, 0x22, block, 36);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	len = v2_build(buf, 0x21, 0x10, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	len = v2_build(buf, 0x21, 0x41, block, 12);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);
	/* INET with a block shorter than 12. */
	len = v2_build(buf, 0x21, 0x11, block, 11);
	assert_int_equal(proxy_proto_parse(buf, len, &info), PROXY_INVALID);

	/* Any octet of the signature changed. */
	for (i = 0; i < 12; i++) {
		len = v2_build(buf, 0x21, 0x11, block, 12);
		buf[i] ^= 0x20;
		assert_int_equal(proxy_proto_parse(buf, len, &info),
		    PROXY_INVALID);
		assert_int_equal(proxy_proto_parse(buf, i + 1, &info),
		    PROXY_INVALID);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6),
		cmocka_unit_test(test_v1_unknown),
		cmocka_unit_test(test_v1_malformed),
		cmocka_unit_test(test_v1_nul),
		cmocka_unit_test(test_v1_too_long),
		cmocka_unit_test(test_v1_prefixes),
		cmocka_unit_test(test_v1_incremental),
		cmocka_unit_test(test_v2_ipv4),
		cmocka_unit_test(test_v2_ipv6),
		cmocka_unit_test(test_v2_local),
		cmocka_unit_test(test_v2_unspec_unix),
		cmocka_unit_test(test_v2_tlvs),
		cmocka_unit_test(test_v2_size_limits),
		cmocka_unit_test(test_v2_truncated),
		cmocka_unit_test(test_v2_bad_header),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
