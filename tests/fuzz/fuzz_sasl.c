/*
 * fuzz_sasl.c: libFuzzer target for sasl.c.
 *
 * The input is a client response as it comes off the wire: it goes to
 * sasl_base64_decode() and sasl_plain_decode() as it is, and (to reach
 * the PLAIN checks past the base64 layer) encoded first. Besides memory
 * safety it checks the contracts: decoded lengths are bounded, outputs
 * are NUL-terminated and within their limits, a refused response leaves
 * both outputs empty, and an accepted one re-encodes to the same user and
 * password.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "sasl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
check(int ok)
{
	if (!ok)
		abort();
}

static size_t
encode(const uint8_t *in, size_t len, char *out)
{
	size_t		i, o = 0;
	uint32_t	v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = '=';
	}
	return o;
}

static void
check_plain(const char *b64, size_t len)
{
	char	user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];
	char	again[SASL_RESPONSE_MAX + 4];
	uint8_t	msg[AUTH_USER_MAX + AUTH_PASSWORD_MAX + 2];
	char	user2[AUTH_USER_MAX + 1], pass2[AUTH_PASSWORD_MAX + 1];
	size_t	ul, pl, n;

	if (sasl_plain_decode(b64, len, user, pass) != 0) {
		check(user[0] == '\0' && pass[0] == '\0');
		return;
	}
	ul = strnlen(user, sizeof(user));
	pl = strnlen(pass, sizeof(pass));
	check(ul > 0 && ul <= AUTH_USER_MAX);
	check(pl > 0 && pl <= AUTH_PASSWORD_MAX);
	check(len <= SASL_RESPONSE_MAX);
	/* Round trip: "\0user\0pass" decodes to the same. */
	msg[0] = '\0';
	memcpy(msg + 1, user, ul);
	msg[1 + ul] = '\0';
	memcpy(msg + 2 + ul, pass, pl);
	n = encode(msg, 2 + ul + pl, again);
	if (n > SASL_RESPONSE_MAX)
		return;
	check(sasl_plain_decode(again, n, user2, pass2) == 0);
	check(strcmp(user, user2) == 0 && strcmp(pass, pass2) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	 out[SASL_RESPONSE_MAX];
	char	*b64;
	size_t	 n;
	int	 r;

	r = sasl_base64_decode((const char *)data, size, out, sizeof(out));
	if (r >= 0)
		check(size % 4 == 0 && (size_t)r <= size / 4 * 3 &&
		    (size_t)r <= sizeof(out));
	check_plain((const char *)data, size);
	if (size > SASL_RESPONSE_MAX)
		return 0;
	if ((b64 = malloc(size / 3 * 4 + 8)) == NULL)
		return 0;
	n = encode(data, size, b64);
	r = sasl_base64_decode(b64, n, out, sizeof(out));
	if (size <= sizeof(out)) {
		check(r == (int)size);
		check(memcmp(out, data, size) == 0);
	}
	check_plain(b64, n);
	free(b64);
	return 0;
}
