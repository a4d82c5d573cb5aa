/*
 * emit.c: the escaping emitter of the public site (see emit.h for the
 * rules). Pure; runs wherever the publisher runs. Its input is
 * attacker-controlled text of any bytes; its output is always valid UTF-8
 * that cannot leave the text node, attribute value or JSON string it was
 * written into.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "log.h"
#include "xalloc.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define EMIT_REPLACEMENT	"\xef\xbf\xbd"

void
emit_init(struct emit *e)
{
	e->buf = NULL;
	e->len = 0;
	e->cap = 0;
}

void
emit_reset(struct emit *e)
{
	e->len = 0;
	if (e->cap > 0)
		e->buf[0] = '\0';
}

void
emit_free(struct emit *e)
{
	free(e->buf);
	emit_init(e);
}

/* Room for n more bytes and the NUL. */
static void
emit_reserve(struct emit *e, size_t n)
{
	size_t	 ncap;
	char	*p;

	if (e->cap > 0 && n < e->cap - e->len)
		return;
	if (n > SIZE_MAX / 2 - e->len)
		FATAL("emit: output too large");
	ncap = e->cap == 0 ? 4096 : e->cap;
	while (ncap - e->len <= n)
		ncap *= 2;
	p = xreallocarray(e->buf, ncap, 1);
	e->buf = p;
	e->cap = ncap;
	e->buf[e->len] = '\0';
}

void
emit_rawn(struct emit *e, const char *s, size_t n)
{
	emit_reserve(e, n);
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

void
emit_raw(struct emit *e, const char *s)
{
	emit_rawn(e, s, strlen(s));
}

void
emit_fmt(struct emit *e, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		FATAL("emit_fmt: bad format");
	emit_reserve(e, (size_t)n);
	va_start(ap, fmt);
	(void)vsnprintf(e->buf + e->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	e->len += (size_t)n;
}

size_t
emit_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp_out)
{
	uint32_t	cp;
	size_t		len, i;

	if (n == 0)
		return (0);
	if (s[0] < 0x80) {
		*cp_out = s[0];
		return (1);
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return (0);
	if (len > n)
		return (0);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates, beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);
	*cp_out = cp;
	return (len);
}

/* Code points that may not appear in our HTML or XML text. */
static bool
emit_cp_is_forbidden(uint32_t cp)
{
	if (cp < 0x20)
		return (cp != '\t' && cp != '\n');
	return (cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0xfffe ||
	    cp == 0xffff);
}

void
emit_textn(struct emit *e, const char *str, size_t n)
{
	const unsigned char	*s = (const unsigned char *)str;
	const char		*rep;
	size_t			 i, run, vl;
	uint32_t		 cp;

	emit_reserve(e, n);
	for (i = 0; i < n; i = run) {
		/* The longest run that needs nothing. */
		for (run = i; run < n; run += vl) {
			if (s[run] == '&' || s[run] == '<' || s[run] == '>' ||
			    s[run] == '"' || s[run] == '\'')
				break;
			if ((vl = emit_utf8_decode(s + run, n - run,
			    &cp)) == 0 || emit_cp_is_forbidden(cp))
				break;
		}
		emit_rawn(e, str + i, run - i);
		if (run >= n)
			break;
		switch (s[run]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = EMIT_REPLACEMENT;
			/* A forbidden but valid sequence goes whole. */
			if ((vl = emit_utf8_decode(s + run, n - run,
			    &cp)) > 1) {
				emit_raw(e, rep);
				run += vl;
				continue;
			}
			break;
		}
		emit_raw(e, rep);
		run++;
	}
}

void
emit_text(struct emit *e, const char *s)
{
	emit_textn(e, s, strlen(s));
}

void
emit_jsonn(struct emit *e, const char *str, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)str;
	char			 u[8];
	size_t			 i, run, vl;
	uint32_t		 cp;

	emit_reserve(e, n + 2);
	emit_rawn(e, "\"", 1);
	for (i = 0; i < n; i = run) {
		for (run = i; run < n; run += vl) {
			unsigned char c = s[run];

			if (c < 0x20 || c == '"' || c == '\\' || c == '<' ||
			    c == '>' || c == '&' || c == '\'' || c == 0x7f)
				break;
			if ((vl = emit_utf8_decode(s + run, n - run,
			    &cp)) == 0 || cp == 0x2028 || cp == 0x2029)
				break;
		}
		emit_rawn(e, str + i, run - i);
		if (run >= n)
			break;
		vl = 1;
		switch (s[run]) {
		case '"':
			emit_raw(e, "\\\"");
			break;
		case '\\':
			emit_raw(e, "\\\\");
			break;
		case '\n':
			emit_raw(e, "\\n");
			break;
		case '\r':
			emit_raw(e, "\\r");
			break;
		case '\t':
			emit_raw(e, "\\t");
			break;
		default:
			if (s[run] < 0x80) {
				memcpy(u, "\\u00", 4);
				u[4] = hex[s[run] >> 4];
				u[5] = hex[s[run] & 0xf];
				emit_rawn(e, u, 6);
			} else if ((vl = emit_utf8_decode(s + run, n - run,
			    &cp)) != 0) {
				/* U+2028 or U+2029. */
				emit_fmt(e, "\\u%04x", (unsigned)cp);
			} else {
				emit_raw(e, "\\ufffd");
				vl = 1;
			}
			break;
		}
		run += vl;
	}
	emit_rawn(e, "\"", 1);
}

void
emit_json(struct emit *e, const char *s)
{
	emit_jsonn(e, s, strlen(s));
}

void
emit_u64(struct emit *e, uint64_t v)
{
	emit_fmt(e, "%llu", (unsigned long long)v);
}

void
emit_u64_grouped(struct emit *e, uint64_t v)
{
	char	digits[32], out[48];
	size_t	n, i, o = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%llu",
	    (unsigned long long)v);
	for (i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	emit_rawn(e, out, o);
}

void
emit_template(struct emit *e, const char *tmpl, const char *const *args,
    size_t nargs)
{
	const char	*p, *start;
	size_t		 k;

	for (p = start = tmpl; *p != '\0'; p++) {
		if (p[0] != '{')
			continue;
		if (p[1] == '{') {
			emit_textn(e, start, (size_t)(p - start) + 1);
			start = p + 2;
			p++;
			continue;
		}
		if (p[1] < '1' || p[1] > '9' || p[2] != '}')
			continue;
		emit_textn(e, start, (size_t)(p - start));
		k = (size_t)(p[1] - '1');
		if (k < nargs && args[k] != NULL)
			emit_text(e, args[k]);
		p += 2;
		start = p + 1;
	}
	emit_textn(e, start, (size_t)(p - start));
}
