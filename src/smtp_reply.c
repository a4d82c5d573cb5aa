/*
 * smtp_reply.c: pure parsers of SMTP server replies for the outbound
 * client (smtp_reply.h). Runs in the engine on bytes from remote servers,
 * which are untrusted: every index is checked against len, nothing is
 * copied without a bound. RFC 5321 4.2 and 4.2.1, RFC 2034, RFC 3463,
 * RFC 1870, RFC 2920, RFC 3207, RFC 4954, RFC 6152.
 */
#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"
#include "text.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The reply code of a line that starts at p (at least 3 octets). */
static bool
line_code(const char *p, unsigned *code_out)
{
	if (p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '5' ||
	    !is_digit(p[2]))
		return false;
	*code_out = (unsigned)(p[0] - '0') * 100 +
	    (unsigned)(p[1] - '0') * 10 + (unsigned)(p[2] - '0');
	return true;
}

/* RFC 3463 at the start of text: class "." 1*3digit "." 1*3digit and
 * then a space or the end. */
static void
find_status(const struct span *text, unsigned code, char *out)
{
	const char	*p = text->p;
	size_t		 len = text->len, i = 2, part, digits;

	*out = '\0';
	if (len < 5 || p[1] != '.' || p[0] != (char)('0' + code / 100))
		return;
	for (part = 0; part < 2; part++) {
		for (digits = 0; i < len && is_digit(p[i]); i++)
			digits++;
		if (digits == 0 || digits > 3)
			return;
		if (part == 0) {
			if (i >= len || p[i] != '.')
				return;
			i++;
		}
	}
	if (i < len && p[i] != ' ')
		return;
	text_copy_span(out, SMTP_REPLY_STATUS_MAX, p, i);
}

enum smtp_reply_result
smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *reply_out)
{
	struct smtp_reply	*r = reply_out;
	size_t			 pos = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		const char	*line = buf + pos, *nl;
		size_t		 avail = len - pos, llen, tlen;
		unsigned	 code;
		bool		 more;

		nl = memchr(line, '\n', avail < SMTP_REPLY_LINE_MAX ? avail :
		    SMTP_REPLY_LINE_MAX);
		if (memchr(line, '\0', nl ? (size_t)(nl - line) :
		    (avail < SMTP_REPLY_LINE_MAX ? avail :
		    SMTP_REPLY_LINE_MAX)) != NULL)
			return SMTP_REPLY_INVALID;
		if (nl == NULL) {
			if (avail >= SMTP_REPLY_LINE_MAX)
				return SMTP_REPLY_INVALID;
			/* Check what is there already, to fail early. */
			if (avail >= 3 && !line_code(line, &code))
				return SMTP_REPLY_INVALID;
			if (avail >= 4 && line[3] != ' ' && line[3] != '-' &&
			    line[3] != '\r')
				return SMTP_REPLY_INVALID;
			return SMTP_REPLY_MORE;
		}
		llen = (size_t)(nl - line);
		tlen = llen > 0 && line[llen - 1] == '\r' ? llen - 1 : llen;
		if (tlen < 3 || !line_code(line, &code))
			return SMTP_REPLY_INVALID;
		if (tlen > 3 && line[3] != ' ' && line[3] != '-')
			return SMTP_REPLY_INVALID;
		if (r->nlines > 0 && code != r->code)
			return SMTP_REPLY_INVALID;
		if (r->nlines == SMTP_REPLY_LINES_MAX)
			return SMTP_REPLY_INVALID;
		r->code = code;
		more = tlen > 3 && line[3] == '-';
		r->lines[r->nlines].p = tlen > 4 ? line + 4 : line + tlen;
		r->lines[r->nlines].len = tlen > 4 ? tlen - 4 : 0;
		r->nlines++;
		pos += llen + 1;
		if (!more)
			break;
		if (pos == len)
			return SMTP_REPLY_MORE;
	}
	find_status(&r->lines[0], r->code, r->status);
	r->consumed = pos;
	return SMTP_REPLY_OK;
}

/* Does the EHLO line (a span) start with keyword, followed by the end,
 * a space or (for AUTH) '='? Sets *rest_out past it. */
static bool
keyword(const struct span *l, const char *kw, struct span *rest_out)
{
	size_t	n = strlen(kw);

	if (l->len < n || !text_span_ieq(l->p, n, kw))
		return false;
	if (l->len > n && l->p[n] != ' ' && l->p[n] != '=')
		return false;
	rest_out->p = l->p + n;
	rest_out->len = l->len - n;
	return true;
}

static void
parse_size(struct span rest, struct smtp_ehlo *out)
{
	uint64_t	v = 0;
	size_t		i = 0;

	while (i < rest.len && rest.p[i] == ' ')
		i++;
	for (; i < rest.len && is_digit(rest.p[i]); i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return;		/* absurd: treat as no limit */
		v = v * 10 + (uint64_t)(rest.p[i] - '0');
	}
	out->size_max = v;
}

static void
parse_auth(struct span rest, struct smtp_ehlo *out)
{
	size_t	i = 0, start;

	while (i < rest.len) {
		while (i < rest.len && (rest.p[i] == ' ' || rest.p[i] == '='))
			i++;
		start = i;
		while (i < rest.len && rest.p[i] != ' ')
			i++;
		if (text_span_ieq(rest.p + start, i - start, "PLAIN"))
			out->auth_plain = true;
		else if (text_span_ieq(rest.p + start, i - start, "LOGIN"))
			out->auth_login = true;
	}
}

void
smtp_reply_ehlo(const struct smtp_reply *reply, struct smtp_ehlo *out)
{
	struct span	rest;
	size_t		i;

	memset(out, 0, sizeof(*out));
	for (i = 1; i < reply->nlines; i++) {
		const struct span *l = &reply->lines[i];

		if (keyword(l, "PIPELINING", &rest))
			out->pipelining = true;
		else if (keyword(l, "STARTTLS", &rest))
			out->starttls = true;
		else if (keyword(l, "8BITMIME", &rest))
			out->eightbitmime = true;
		else if (keyword(l, "ENHANCEDSTATUSCODES", &rest))
			out->enhancedstatuscodes = true;
		else if (keyword(l, "SIZE", &rest)) {
			out->size = true;
			parse_size(rest, out);
		} else if (keyword(l, "AUTH", &rest))
			parse_auth(rest, out);
	}
}

char *
smtp_reply_text(const struct smtp_reply *reply, char *out, size_t size)
{
	size_t	o = 0, i, j;

	if (size == 0)
		return out;
	o = (size_t)snprintf(out, size, "%u", reply->code);
	if (o >= size)
		o = size - 1;
	for (i = 0; i < reply->nlines; i++) {
		const struct span *l = &reply->lines[i];

		if (l->len > 0 && o + 1 < size)
			out[o++] = ' ';
		for (j = 0; j < l->len && o + 1 < size; j++) {
			unsigned char c = (unsigned char)l->p[j];

			out[o++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

void
smtp_reply_status(const struct smtp_reply *reply, char *out)
{
	if (reply->status[0] != '\0') {
		text_copy(out, reply->status, SMTP_REPLY_STATUS_MAX);
		return;
	}
	text_printf(out, SMTP_REPLY_STATUS_MAX, "%u.0.0",
	    reply->code / 100 == 3 ? 2 : reply->code / 100);
}
