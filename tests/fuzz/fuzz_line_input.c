/*
 * fuzz_line_input.c: libFuzzer target for the line taker
 * (line_input_take in src/line_input.c). The first byte picks the
 * ceiling, the second the size of the chunks the input arrives in; the
 * rest is network input. Every line handed out is at most the ceiling,
 * NUL-terminated, holds no CRLF, and every input byte is either handed
 * out, dropped as part of an over-long line, or still buffered.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "line_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer		*in;
	enum line_result	 r;
	char			 out[300];
	size_t			 max, chunk, off = 0, len, n;
	bool			 skipping = false;

	if (size < 2)
		return (0);
	max = 3 + data[0] % 280;	/* room for CRLF, below sizeof(out) */
	chunk = 1 + data[1] % 64;
	data += 2;
	size -= 2;
	if ((in = evbuffer_new()) == NULL)
		abort();
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		if (evbuffer_add(in, data + off, n) != 0)
			abort();
		off += n;
		for (;;) {
			memset(out, 'x', sizeof(out));
			len = 0;
			r = line_input_take(in, max, &skipping, out, &len);
			if (r == LINE_MORE)
				break;
			if (r != LINE_READY)
				continue;
			if (len + 2 > max || out[len] != '\0')
				abort();
			/* A CRLF ends the line: none inside it. */
			if (len > 0 && memmem(out, len, "\r\n", 2) != NULL)
				abort();
		}
		/* What stays buffered is never a whole line past max. */
		if (!skipping && evbuffer_get_length(in) > max)
			abort();
	}
	evbuffer_free(in);
	return (0);
}
