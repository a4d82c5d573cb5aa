/*
 * fuzz_smtp_reply.c: libFuzzer target for smtp_reply.c and the DATA
 * encoder of mta_session.c.
 *
 * The input is what a remote server might send: replies are parsed one
 * after another as the SMTP client does with pipelined answers. Besides
 * memory safety it checks the contracts: a complete reply consumed at
 * least one line and no more than the input, every line is a span
 * inside it within SMTP_REPLY_LINE_MAX, the code is 200..559 and the
 * same on each line, an enhanced status has the reply's class; a prefix
 * of a valid reply is never called invalid. The same octets, as message
 * text, go through the dot-stuffer: the output is at most twice the
 * input, every LF is preceded by CR, and no line starts with a lone dot.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta_session.h"
#include "smtp_reply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
check_reply(const char *buf, size_t len, const struct smtp_reply *r)
{
	struct smtp_ehlo	e;
	char			text[MTA_DIAG_MAX], st[SMTP_REPLY_STATUS_MAX];
	size_t			i;

	check(r->consumed > 0 && r->consumed <= len);
	check(r->nlines >= 1 && r->nlines <= SMTP_REPLY_LINES_MAX);
	check(r->code >= 200 && r->code <= 559);
	for (i = 0; i < r->nlines; i++) {
		check(r->lines[i].p >= buf);
		check(r->lines[i].p + r->lines[i].len <= buf + r->consumed);
		check(r->lines[i].len < SMTP_REPLY_LINE_MAX);
		check(memchr(r->lines[i].p, '\n', r->lines[i].len) == NULL);
	}
	check(buf[r->consumed - 1] == '\n');
	if (r->status[0] != '\0')
		check(r->status[0] == (char)('0' + r->code / 100) &&
		    strlen(r->status) < SMTP_REPLY_STATUS_MAX);
	smtp_reply_ehlo(r, &e);
	if (!e.size)
		check(e.size_max == 0);
	smtp_reply_text(r, text, sizeof(text));
	check(strlen(text) < sizeof(text));
	for (i = 0; text[i] != '\0'; i++)
		check((unsigned char)text[i] >= 0x20 &&
		    (unsigned char)text[i] < 0x7f);
	smtp_reply_status(r, st);
	check(st[0] >= '2' && st[0] <= '5' && st[1] == '.');
}

static void
check_dotstuff(const uint8_t *data, size_t size)
{
	struct mta_dot	 st = { false };
	char		*out = malloc(2 * size + 8);
	size_t		 n, i, half = size / 2;

	if (out == NULL)
		abort();
	/* in two chunks, to cross a boundary */
	n = mta_session_dotstuff(&st, (const char *)data, half, out);
	n += mta_session_dotstuff(&st, (const char *)data + half, size - half,
	    out + n);
	check(n <= 2 * size);
	n += mta_session_dotstuff_end(&st, out + n);
	check(n >= 3 && memcmp(out + n - 3, ".\r\n", 3) == 0);
	for (i = 0; i < n; i++) {
		if (out[i] == '\n')
			check(i > 0 && out[i - 1] == '\r');
		if (out[i] == '\r')
			check(i + 1 < n && out[i + 1] == '\n');
		/* a line start with a dot is always doubled, except the
		 * terminator itself */
		if ((i == 0 || out[i - 1] == '\n') && out[i] == '.' &&
		    i + 3 != n)
			check(i + 1 < n && out[i + 1] == '.');
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf = (const char *)data;
	struct smtp_reply	 r;
	size_t			 off = 0, i;
	enum smtp_reply_result	 res = SMTP_REPLY_MORE;

	while (off < size) {
		res = smtp_reply_parse(buf + off, size - off, &r);
		if (res != SMTP_REPLY_OK)
			break;
		check_reply(buf + off, size - off, &r);
		/* every prefix of a good reply is MORE, never INVALID */
		for (i = 0; i < r.consumed && i < 64; i++) {
			struct smtp_reply	p;

			check(smtp_reply_parse(buf + off, i, &p) ==
			    SMTP_REPLY_MORE);
		}
		off += r.consumed;
	}
	if (res == SMTP_REPLY_MORE && off < size)
		check(size - off < SMTP_REPLY_MAX);
	check_dotstuff(data, size);
	return 0;
}
