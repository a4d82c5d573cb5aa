/*
 * line_input.c: bounded CRLF line taking for the engine's sessions
 * (line_input.h). Input is untrusted network bytes.
 */
#include <event2/buffer.h>

#include "line_input.h"

enum line_result
line_input_take(struct evbuffer *in, size_t max, bool *skipping, char *out,
    size_t *len_out)
{
	struct evbuffer_ptr	eol;
	size_t			eol_len, avail = evbuffer_get_length(in);
	bool			first;

	if (avail == 0)
		return LINE_MORE;
	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF_STRICT);
	if (eol.pos == -1) {
		if (!*skipping && avail <= max)
			return LINE_MORE;
		first = !*skipping;
		*skipping = true;
		/* Keep a last byte that may be the CR of CRLF. */
		evbuffer_drain(in, avail - 1);
		return first ? LINE_TOO_LONG : LINE_MORE;
	}
	if (*skipping) {
		evbuffer_drain(in, (size_t)eol.pos + 2);
		*skipping = false;
		return LINE_SKIPPED;
	}
	if ((size_t)eol.pos + 2 > max) {
		evbuffer_drain(in, (size_t)eol.pos + 2);
		return LINE_TOO_LONG;
	}
	evbuffer_remove(in, out, (size_t)eol.pos + 2);
	out[eol.pos] = '\0';
	*len_out = (size_t)eol.pos;
	return LINE_READY;
}
