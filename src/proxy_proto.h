/*
 * proxy_proto.h: pure parser for the HAProxy PROXY protocol, version 1
 * (text) and version 2 (binary), as specified in HAProxy's
 * doc/proxy-protocol.txt. No I/O: the caller feeds the bytes it has read so
 * far and is told whether a full header is there.
 */
#ifndef PROXY_PROTO_H
#define PROXY_PROTO_H

#include <sys/socket.h>

#include "pillory.h"

/* v1: "PROXY TCP6 " + two addresses + two ports + CRLF fits in 107. */
#define PROXY_V1_MAX	107
/* v2: 16-byte fixed part; we refuse TLV areas longer than this. */
#define PROXY_V2_MAX	(16 + 512)

enum proxy_result {
	PROXY_NEED_MORE = 0,	/* a valid prefix; read more and call again */
	PROXY_OK,		/* header complete; *info_out filled */
	PROXY_INVALID,		/* not a PROXY header, or malformed, or too long */
};

struct proxy_info {
	/*
	 * True for v1 "UNKNOWN" and v2 LOCAL or AF_UNSPEC/AF_UNIX: keep the
	 * connection's real addresses (spec says so).
	 */
	bool			 use_real;
	struct sockaddr_storage	 src;	/* client, with port */
	struct sockaddr_storage	 dst;	/* address the client connected to */
	socklen_t		 src_len;
	socklen_t		 dst_len;
	size_t			 consumed; /* header octets to drain */
};

/*
 * Look at the first len octets of a connection. Returns PROXY_NEED_MORE
 * while they are a valid but incomplete header (the caller gives up after
 * PROXY_V2_MAX octets or a timeout), PROXY_OK with info_out filled, or
 * PROXY_INVALID. Never reads past len.
 */
enum proxy_result proxy_proto_parse(const uint8_t *buf, size_t len,
    struct proxy_info *info_out);

#endif
