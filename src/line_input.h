/*
 * line_input.h: taking one CRLF-terminated line from a libevent input
 * buffer with a ceiling, for the SMTP and POP3 sessions. A bare CR or LF
 * never ends a line (RFC 5321 2.3.8); a line past the ceiling is
 * reported once and the rest of it is discarded as it arrives.
 */
#ifndef LINE_INPUT_H
#define LINE_INPUT_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;

enum line_result {
	LINE_MORE,	/* no whole line yet: wait for input */
	LINE_READY,	/* a line is in out, without CRLF, NUL-terminated */
	LINE_TOO_LONG,	/* a line passed max: answer it once */
	LINE_SKIPPED,	/* the end of an over-long line was dropped */
};

/*
 * Take the next line of at most max octets with its CRLF from in into out
 * (max + 1 bytes); *len_out gets its length. *skipping belongs to the
 * caller's session and is true while the rest of an over-long line is
 * being discarded.
 */
enum line_result line_input_take(struct evbuffer *in, size_t max,
    bool *skipping, char *out, size_t *len_out);

#endif
