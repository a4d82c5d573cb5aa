/*
 * fuzz_policy_parse.c: libFuzzer target for policy_parse.c. The input is
 * split at LF into request lines as policyd.c does; every line goes
 * through policy_parse_line() and the first one through
 * policy_listen_parse(). Besides memory safety it checks the contracts:
 * fields stay NUL-terminated within their sizes, an empty line and only
 * an empty line ends a request, a bad line marks the request bad.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_request		 req;
	struct policy_listen_item	 items[8];
	const char			*p = (const char *)data, *end = p + size;
	char				 first[512], err[300], dom[64];
	size_t				 n;
	enum policy_line_result		 r;

	policy_request_init(&req);
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = lf ? (size_t)(lf - p) : (size_t)(end - p);

		r = policy_parse_line(&req, p, len);
		check((r == POLICY_LINE_END) == (len == 0));
		if (r == POLICY_LINE_BAD)
			check(req.bad);
		check(memchr(req.sender, '\0', sizeof(req.sender)) != NULL);
		check(memchr(req.client_address, '\0',
		    sizeof(req.client_address)) != NULL);
		check(strlen(req.protocol_state) < sizeof(req.protocol_state));
		if (r == POLICY_LINE_END)
			policy_request_init(&req);
		p += len + 1;
	}
	n = size < sizeof(first) - 1 ? size : sizeof(first) - 1;
	memcpy(first, data, n);
	first[n] = '\0';
	if (policy_listen_parse(first, items, 8, &n, err, sizeof(err)))
		check(n <= 8 && (n > 0 || *first == '\0'));
	if (policy_sender_domain(first, dom, sizeof(dom)))
		check(strlen(dom) < sizeof(dom));
	return 0;
}
