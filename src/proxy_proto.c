/*
 * proxy_proto.c: pure parser for the HAProxy PROXY protocol header that a
 * load balancer puts in front of a connection (HAProxy
 * doc/proxy-protocol.txt, sections 2.1 for the text version 1 and 2.2 for
 * the binary version 2).
 *
 * Runs in the unprivileged engine on untrusted network bytes, before any
 * SMTP or POP3 state exists. No I/O, no allocation: the caller hands over
 * the octets read so far and learns whether they are a complete header, a
 * valid prefix of one, or garbage. The parser never looks past len, and a
 * result of PROXY_OK for some prefix is never changed by later octets.
 *
 * Strict on purpose: a listener that expects PROXY trusts the addresses
 * in it, so anything that is not exactly what the spec allows is refused.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "proxy_proto.h"

/* Section 2.2: the 12-octet v2 signature. */
static const uint8_t proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define PROXY_V2_HDR_LEN	16

/* Section 2.2: address block sizes for INET, INET6 and UNIX. */
#define PROXY_V2_INET_LEN	12
#define PROXY_V2_INET6_LEN	36
#define PROXY_V2_UNIX_LEN	216

/* Longest textual address we accept (INET6_ADDRSTRLEN without the NUL). */
#define PROXY_ADDR_TEXT_MAX	(INET6_ADDRSTRLEN - 1)

/* Section 2.1: a port is 0..65535 in decimal, without leading zeros. */
#define PROXY_PORT_DIGITS_MAX	5

/* A cursor over the v1 line; end is already capped at PROXY_V1_MAX. */
struct v1_cursor {
	const uint8_t	*buf;
	size_t		 off;
	size_t		 end;
};

/*
 * Compare the next octets with lit. PROXY_OK when all of lit is there
 * (cursor moved past it), PROXY_NEED_MORE when what is there matches the
 * start of lit, PROXY_INVALID otherwise.
 */
static enum proxy_result
v1_literal(struct v1_cursor *c, const char *lit)
{
	size_t	n = strlen(lit), have = c->end - c->off;

	if (have < n) {
		if (memcmp(c->buf + c->off, lit, have) != 0)
			return (PROXY_INVALID);
		return (PROXY_NEED_MORE);
	}
	if (memcmp(c->buf + c->off, lit, n) != 0)
		return (PROXY_INVALID);
	c->off += n;
	return (PROXY_OK);
}

/*
 * True when text[0..len) can be extended to something inet_pton(af)
 * accepts. Rather than a second grammar of IP prefixes, try the few
 * completions that finish any valid prefix: a zero group, "::", or the
 * missing parts of a dotted quad.
 */
static bool
v1_addr_is_prefix(int af, const char *text, size_t len)
{
	static const char *const completions[] = {
		"", "0", ":", ":0", "::", ".0", ".0.0", ".0.0.0", "0.0",
		"0.0.0",
	};
	char		 try[PROXY_ADDR_TEXT_MAX + 16];
	struct in6_addr	 a6;
	size_t		 i, n;

	if (len == 0)
		return (true);
	if (len > PROXY_ADDR_TEXT_MAX)
		return (false);
	for (i = 0; i < sizeof(completions) / sizeof(completions[0]); i++) {
		n = strlen(completions[i]);
		memcpy(try, text, len);
		memcpy(try + len, completions[i], n);
		try[len + n] = '\0';
		if (inet_pton(af, try, &a6) == 1)
			return (true);
	}
	return (false);
}

/*
 * One address followed by a single space. The address is converted with
 * inet_pton for the family the line announced, so "TCP4 ::1" is refused.
 */
static enum proxy_result
v1_addr(struct v1_cursor *c, int af, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	char			 text[PROXY_ADDR_TEXT_MAX + 1];
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	size_t			 start = c->off, len;

	while (c->off < c->end && c->buf[c->off] != ' ') {
		if (c->off - start >= PROXY_ADDR_TEXT_MAX)
			return (PROXY_INVALID);
		text[c->off - start] = (char)c->buf[c->off];
		c->off++;
	}
	len = c->off - start;
	if (c->off == c->end) {
		if (memchr(text, '\0', len) != NULL ||
		    !v1_addr_is_prefix(af, text, len))
			return (PROXY_INVALID);
		return (PROXY_NEED_MORE);
	}
	if (len == 0)
		return (PROXY_INVALID);
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL)
		return (PROXY_INVALID);

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
			return (PROXY_INVALID);
		*sslen = sizeof(*sin);
	} else {
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
			return (PROXY_INVALID);
		*sslen = sizeof(*sin6);
	}
	c->off++;	/* the space */
	return (PROXY_OK);
}

/*
 * A decimal port followed by the octet term: "0" or 1..65535 without a
 * leading zero or sign. Stores the port in network order.
 */
static enum proxy_result
v1_port(struct v1_cursor *c, uint8_t term, uint16_t *port_out)
{
	size_t		start = c->off, ndigits;
	uint32_t	value = 0;
	uint8_t		ch;

	while (c->off < c->end && c->buf[c->off] != term) {
		ch = c->buf[c->off];
		if (ch < '0' || ch > '9')
			return (PROXY_INVALID);
		ndigits = c->off - start;
		if (ndigits == PROXY_PORT_DIGITS_MAX)
			return (PROXY_INVALID);
		if (ndigits > 0 && value == 0)
			return (PROXY_INVALID);	/* leading zero */
		value = value * 10 + (uint32_t)(ch - '0');
		if (value > 65535)
			return (PROXY_INVALID);
		c->off++;
	}
	if (c->off == c->end)
		return (PROXY_NEED_MORE);
	if (c->off == start)
		return (PROXY_INVALID);
	*port_out = htons((uint16_t)value);
	c->off++;	/* the terminator */
	return (PROXY_OK);
}

/* "PROXY UNKNOWN" is done; what follows up to CRLF is ignored (2.1). */
static enum proxy_result
v1_unknown_tail(struct v1_cursor *c)
{
	uint8_t	ch;

	if (c->off == c->end)
		return (PROXY_NEED_MORE);
	if (c->buf[c->off] == ' ') {
		/* Ignored, but still printable US-ASCII and no bare CR/LF. */
		for (c->off++; c->off < c->end; c->off++) {
			ch = c->buf[c->off];
			if (ch == '\r')
				break;
			if (ch < 0x20 || ch > 0x7e)
				return (PROXY_INVALID);
		}
	}
	return (v1_literal(c, "\r\n"));
}

static enum proxy_result
proxy_v1(const uint8_t *buf, size_t len, struct proxy_info *info)
{
	static const char *const protos[] = { "TCP4 ", "TCP6 ", "UNKNOWN" };
	struct v1_cursor	 c;
	enum proxy_result	 r, best;
	uint16_t		 sport, dport;
	size_t			 i, which;
	int			 af;

	c.buf = buf;
	c.off = 0;
	c.end = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;

	if ((r = v1_literal(&c, "PROXY ")) != PROXY_OK)
		goto out;

	/* The three protocol words are prefix-free: at most one matches. */
	best = PROXY_INVALID;
	which = 0;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		r = v1_literal(&c, protos[i]);
		if (r == PROXY_OK) {
			best = PROXY_OK;
			which = i;
			break;
		}
		if (r == PROXY_NEED_MORE)
			best = PROXY_NEED_MORE;
	}
	if ((r = best) != PROXY_OK)
		goto out;

	if (which == 2) {
		if ((r = v1_unknown_tail(&c)) != PROXY_OK)
			goto out;
		info->use_real = true;
		info->consumed = c.off;
		return (PROXY_OK);
	}

	af = which == 0 ? AF_INET : AF_INET6;
	if ((r = v1_addr(&c, af, &info->src, &info->src_len)) != PROXY_OK)
		goto out;
	if ((r = v1_addr(&c, af, &info->dst, &info->dst_len)) != PROXY_OK)
		goto out;
	if ((r = v1_port(&c, ' ', &sport)) != PROXY_OK)
		goto out;
	if ((r = v1_port(&c, '\r', &dport)) != PROXY_OK)
		goto out;
	if ((r = v1_literal(&c, "\n")) != PROXY_OK)
		goto out;

	if (af == AF_INET) {
		((struct sockaddr_in *)&info->src)->sin_port = sport;
		((struct sockaddr_in *)&info->dst)->sin_port = dport;
	} else {
		((struct sockaddr_in6 *)&info->src)->sin6_port = sport;
		((struct sockaddr_in6 *)&info->dst)->sin6_port = dport;
	}
	info->use_real = false;
	info->consumed = c.off;
	return (PROXY_OK);

out:
	/* Still incomplete at the cap: the line would be too long (2.1). */
	if (r == PROXY_NEED_MORE && len >= PROXY_V1_MAX)
		r = PROXY_INVALID;
	return (r);
}

static uint16_t
get_be16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

/* TLVs (2.2.1) are skipped, but they must tile the rest of the block. */
static bool
v2_tlvs_are_framed(const uint8_t *p, size_t len)
{
	size_t	off = 0, vlen;

	while (off < len) {
		if (len - off < 3)
			return (false);
		vlen = get_be16(p + off + 1);
		if (len - off - 3 < vlen)
			return (false);
		off += 3 + vlen;
	}
	return (true);
}

static enum proxy_result
proxy_v2(const uint8_t *buf, size_t len, struct proxy_info *info)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	const uint8_t		*a;
	size_t			 n, total, need = 0, blen;
	uint8_t			 cmd, fam;

	n = len < sizeof(proxy_v2_sig) ? len : sizeof(proxy_v2_sig);
	if (memcmp(buf, proxy_v2_sig, n) != 0)
		return (PROXY_INVALID);
	if (len <= 12)
		return (PROXY_NEED_MORE);

	/* Version 2 in the high nibble; LOCAL (0) or PROXY (1) in the low. */
	if ((buf[12] & 0xf0) != 0x20)
		return (PROXY_INVALID);
	cmd = buf[12] & 0x0f;
	if (cmd > 1)
		return (PROXY_INVALID);
	if (len <= 13)
		return (PROXY_NEED_MORE);

	/*
	 * Family and transport. With LOCAL the spec says the family is
	 * ignored; with PROXY only the defined combinations are valid, and a
	 * mail listener only makes sense of STREAM.
	 */
	fam = buf[13];
	if (cmd == 1) {
		switch (fam) {
		case 0x00:		/* UNSPEC */
			need = 0;
			break;
		case 0x11:		/* TCP over IPv4 */
			need = PROXY_V2_INET_LEN;
			break;
		case 0x21:		/* TCP over IPv6 */
			need = PROXY_V2_INET6_LEN;
			break;
		case 0x31:		/* UNIX stream */
		case 0x32:		/* UNIX datagram */
			need = PROXY_V2_UNIX_LEN;
			break;
		default:
			return (PROXY_INVALID);
		}
	}
	if (len < PROXY_V2_HDR_LEN)
		return (PROXY_NEED_MORE);

	blen = get_be16(buf + 14);
	total = PROXY_V2_HDR_LEN + blen;
	if (total > PROXY_V2_MAX || blen < need)
		return (PROXY_INVALID);
	if (len < total)
		return (PROXY_NEED_MORE);

	info->consumed = total;
	if (cmd == 0) {
		info->use_real = true;
		return (PROXY_OK);
	}
	a = buf + PROXY_V2_HDR_LEN;
	if (!v2_tlvs_are_framed(a + need, blen - need))
		return (PROXY_INVALID);

	switch (fam) {
	case 0x11:
		sin = (struct sockaddr_in *)&info->src;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, a + 8, 2);
		sin = (struct sockaddr_in *)&info->dst;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a + 4, 4);
		memcpy(&sin->sin_port, a + 10, 2);
		info->src_len = info->dst_len = sizeof(*sin);
		info->use_real = false;
		break;
	case 0x21:
		sin6 = (struct sockaddr_in6 *)&info->src;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, a + 32, 2);
		sin6 = (struct sockaddr_in6 *)&info->dst;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a + 16, 16);
		memcpy(&sin6->sin6_port, a + 34, 2);
		info->src_len = info->dst_len = sizeof(*sin6);
		info->use_real = false;
		break;
	default:
		/* UNSPEC and UNIX: nothing we can use as a peer address. */
		info->use_real = true;
		break;
	}
	return (PROXY_OK);
}

/*
 * Look at the first len octets of a connection; see proxy_proto.h. On
 * PROXY_OK, info_out is filled: for use_real the addresses are zero with
 * src_len and dst_len 0. Whatever the result, info_out is overwritten.
 */
enum proxy_result
proxy_proto_parse(const uint8_t *buf, size_t len, struct proxy_info *info_out)
{
	memset(info_out, 0, sizeof(*info_out));
	if (len == 0)
		return (PROXY_NEED_MORE);
	if (buf[0] == 'P')
		return (proxy_v1(buf, len, info_out));
	if (buf[0] == proxy_v2_sig[0])
		return (proxy_v2(buf, len, info_out));
	return (PROXY_INVALID);
}
