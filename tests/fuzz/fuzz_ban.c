/*
 * fuzz_ban.c: libFuzzer target for the operator-facing parsers of ban.c:
 * ban_net_parse() and ban_parse_duration(). Besides crashes it checks the
 * round trip the store relies on: a network that parses formats to text
 * that parses back to the same network, and the table finds a ban on it
 * for an address inside it.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			 text[128], out[BAN_NET_TEXT_MAX];
	struct ban_net		 n, back;
	struct ban_entry	 e;
	struct ban_table	*t;
	struct sockaddr_storage	 ss;
	const char		*why;
	uint64_t		 secs;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ban_parse_duration(text, &secs) && (secs == 0 ||
	    secs > 3650ULL * 86400))
		abort();
	if (!ban_net_parse(text, &n, &why)) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (!ban_net_format(&n, out, sizeof(out)) ||
	    !ban_net_parse(out, &back, &why) || !ban_net_equal(&n, &back))
		abort();
	memset(&ss, 0, sizeof(ss));
	if (n.family == 4) {
		ss.ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, n.addr, 4);
	} else {
		ss.ss_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, n.addr, 16);
	}
	memset(&e, 0, sizeof(e));
	e.net = n;
	e.expires_us = 2;
	t = ban_table_new();
	ban_table_put(t, &e);
	if (ban_table_find(t, (struct sockaddr *)&ss, 1) == NULL ||
	    ban_table_find(t, (struct sockaddr *)&ss, 2) != NULL)
		abort();
	ban_table_free(t);
	return 0;
}
