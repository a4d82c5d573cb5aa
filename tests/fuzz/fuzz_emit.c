/*
 * fuzz_emit.c: libFuzzer target for the escaping emitter (src/emit.c).
 * Besides crashes it checks the promises the public site relies on, for
 * any bytes an attacker may send:
 *   - text output is valid UTF-8 with no < > " ' and no '&' that does not
 *     start one of our five entities, no control character but TAB and
 *     LF; unescaping it gives back the input when the input was clean;
 *   - JSON output is one string: quotes only at both ends, valid UTF-8,
 *     no raw control character, no < > & ', every backslash a valid
 *     escape; decoding it gives back the input when it was valid UTF-8;
 *   - templates never let markup through either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_entities[] = {
	"&amp;", "&lt;", "&gt;", "&quot;", "&#39;",
};
static const char fuzz_entity_chars[] = "&<>\"'";

/* Every byte of s is valid UTF-8; *clean_out: none is U+FFFD. */
static void
check_utf8(const unsigned char *s, size_t n)
{
	size_t		i, l;
	uint32_t	cp;

	for (i = 0; i < n; i += l) {
		if ((l = emit_utf8_decode(s + i, n - i, &cp)) == 0)
			abort();
	}
}

/* True when input is valid UTF-8 without characters the text escaping
 * replaces (so that unescaping must give it back). */
static bool
text_is_clean(const unsigned char *s, size_t n)
{
	size_t		i, l;
	uint32_t	cp;

	for (i = 0; i < n; i += l) {
		if ((l = emit_utf8_decode(s + i, n - i, &cp)) == 0)
			return (false);
		if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f ||
		    (cp >= 0x80 && cp <= 0x9f) || cp == 0xfffe ||
		    cp == 0xffff || cp == 0xfffd)
			return (false);
	}
	return (true);
}

static void
check_text(const unsigned char *in, size_t n, const struct emit *e,
    bool roundtrip)
{
	const unsigned char	*s = (const unsigned char *)e->buf;
	unsigned char		*back;
	size_t			 i, j, k, bl = 0;

	if (e->len == 0)
		return;
	if (strlen(e->buf) != e->len)
		abort();		/* no NUL inside */
	check_utf8(s, e->len);
	if ((back = malloc(e->len)) == NULL)
		abort();
	for (i = 0; i < e->len; i++) {
		if (s[i] == '<' || s[i] == '>' || s[i] == '"' || s[i] == '\'')
			abort();
		if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n')
			abort();
		if (s[i] == 0x7f)
			abort();
		if (s[i] != '&') {
			back[bl++] = s[i];
			continue;
		}
		for (k = 0; k < 5; k++) {
			j = strlen(fuzz_entities[k]);
			if (e->len - i >= j &&
			    memcmp(s + i, fuzz_entities[k], j) == 0)
				break;
		}
		if (k == 5)
			abort();
		back[bl++] = (unsigned char)fuzz_entity_chars[k];
		i += strlen(fuzz_entities[k]) - 1;
	}
	if (roundtrip && (bl != n || memcmp(back, in, n) != 0))
		abort();
	free(back);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* Append code point cp as UTF-8. */
static size_t
put_utf8(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return (1);
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return (2);
	}
	o[0] = (unsigned char)(0xe0 | cp >> 12);
	o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp & 0x3f));
	return (3);
}

static void
check_json(const unsigned char *in, size_t n, const struct emit *e)
{
	const unsigned char	*s = (const unsigned char *)e->buf;
	unsigned char		*back;
	size_t			 i, bl = 0, len = e->len;
	uint32_t		 cp;
	int			 h, d;
	bool			 valid = true;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		abort();
	check_utf8(s, len);
	if ((back = malloc(len * 3 + 1)) == NULL)
		abort();
	for (i = 1; i < len - 1; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' ||
		    s[i] == '<' || s[i] == '>' || s[i] == '&' || s[i] == '\'')
			abort();
		if (s[i] != '\\') {
			back[bl++] = s[i];
			continue;
		}
		if (++i >= len - 1)
			abort();
		switch (s[i]) {
		case '"':
		case '\\':
		case '/':
			back[bl++] = s[i];
			break;
		case 'n':
			back[bl++] = '\n';
			break;
		case 'r':
			back[bl++] = '\r';
			break;
		case 't':
			back[bl++] = '\t';
			break;
		case 'b':
			back[bl++] = '\b';
			break;
		case 'f':
			back[bl++] = '\f';
			break;
		case 'u':
			if (i + 4 >= len - 1)
				abort();
			cp = 0;
			for (h = 1; h <= 4; h++) {
				if ((d = hexval(s[i + h])) < 0)
					abort();
				cp = cp << 4 | (uint32_t)d;
			}
			/* We never write surrogate escapes. */
			if (cp >= 0xd800 && cp <= 0xdfff)
				abort();
			bl += put_utf8(back + bl, cp);
			i += 4;
			break;
		default:
			abort();
		}
	}
	/* Valid UTF-8 input (no U+FFFD to confuse) must come back. */
	for (i = 0; i < n; i += h) {
		if ((h = (int)emit_utf8_decode(in + i, n - i, &cp)) == 0 ||
		    cp == 0xfffd) {
			valid = false;
			break;
		}
	}
	if (valid && (bl != n || memcmp(back, in, n) != 0))
		abort();
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emit	 e;
	unsigned char	*copy;
	const char	*args[3];
	char		*a1, *tmpl;
	size_t		 half;

	/* An exact-size copy, so ASan sees any over-read. */
	if ((copy = malloc(size == 0 ? 1 : size)) == NULL)
		return (0);
	memcpy(copy, data, size);
	emit_init(&e);

	emit_textn(&e, (const char *)copy, size);
	check_text(copy, size, &e, text_is_clean(copy, size));

	emit_reset(&e);
	emit_jsonn(&e, (const char *)copy, size);
	check_json(copy, size, &e);

	/* A template from the first half, an argument from the second
	 * (both as C strings: they stop at the first NUL). */
	half = size / 2;
	if ((tmpl = malloc(half + 1)) != NULL &&
	    (a1 = malloc(size - half + 1)) != NULL) {
		memcpy(tmpl, copy, half);
		tmpl[half] = '\0';
		memcpy(a1, copy + half, size - half);
		a1[size - half] = '\0';
		args[0] = a1;
		args[1] = "<b>";
		args[2] = NULL;
		emit_reset(&e);
		emit_template(&e, tmpl, args, 3);
		check_text(NULL, 0, &e, false);
		free(a1);
	}
	free(tmpl);

	emit_free(&e);
	free(copy);
	return (0);
}
