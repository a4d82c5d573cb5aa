/*
 * fuzz_proxy_proto.c: libFuzzer target for the PROXY v1/v2 parser
 * (src/proxy_proto.c). Besides looking for crashes it checks the promise
 * the listener relies on: the answer for a prefix never contradicts the
 * answer for the whole (a prefix that is OK stays OK with the same
 * length; a prefix that is INVALID stays INVALID), and consumed never
 * exceeds what was given or the header maxima.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prefix lengths checked against the full answer, besides size - 1. */
#define FUZZ_PREFIX_STEPS	16

static void
check_prefix(const uint8_t *data, size_t k, enum proxy_result whole,
    const struct proxy_info *whole_info)
{
	struct proxy_info	info;
	enum proxy_result	r;

	r = proxy_proto_parse(data, k, &info);
	if (r == PROXY_OK && (whole != PROXY_OK ||
	    info.consumed != whole_info->consumed))
		abort();
	if (r == PROXY_INVALID && whole != PROXY_INVALID)
		abort();
	/* Before the end of a complete header there is only NEED_MORE. */
	if (whole == PROXY_OK && k < whole_info->consumed &&
	    r != PROXY_NEED_MORE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info	info;
	enum proxy_result	r;
	uint8_t			*copy;
	size_t			 k, step;

	/* A copy of exactly size octets, so ASan sees any over-read. */
	if ((copy = malloc(size == 0 ? 1 : size)) == NULL)
		return (0);
	memcpy(copy, data, size);

	r = proxy_proto_parse(copy, size, &info);
	if (r == PROXY_OK) {
		if (info.consumed == 0 || info.consumed > size ||
		    info.consumed > PROXY_V2_MAX)
			abort();
		if (copy[0] == 'P' && info.consumed > PROXY_V1_MAX)
			abort();
		if (!info.use_real && (info.src_len == 0 ||
		    info.src_len != info.dst_len))
			abort();
	}
	if (r == PROXY_NEED_MORE && size >= PROXY_V2_MAX)
		abort();

	if (size > 0)
		check_prefix(copy, size - 1, r, &info);
	step = size / FUZZ_PREFIX_STEPS + 1;
	for (k = 0; k < size; k += step)
		check_prefix(copy, k, r, &info);

	free(copy);
	return (0);
}
