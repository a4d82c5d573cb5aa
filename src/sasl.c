/*
 * sasl.c: strict base64 (RFC 4648 4) and the SASL PLAIN message
 * (RFC 4616 2). Pure functions over bounded, untrusted client input; run
 * in the unprivileged engine by POP3 AUTH (RFC 5034) and SMTP AUTH
 * (RFC 4954).
 *
 * Decisions beyond the RFCs:
 * - base64 is canonical only: a length that is a multiple of 4, padding
 *   only at the end, and zero unused bits (RFC 4648 3.5 allows refusing
 *   the rest); nothing a real client sends is refused by this;
 * - an authzid is accepted only when it names the authcid itself, because
 *   pillory has no proxy authorization (RFC 4616 2 lets the server
 *   refuse any authzid it does not allow);
 * - the authcid may not contain control characters, spaces or DEL: it is a
 *   mail address, and it is logged.
 */
#include <string.h>

#include "auth.h"
#include "sasl.h"

/* Decoded PLAIN message: authzid and authcid up to AUTH_USER_MAX each,
 * the password, two NULs. */
#define SASL_PLAIN_MAX	(2 * AUTH_USER_MAX + AUTH_PASSWORD_MAX + 2)

/* The value of a base64 character, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * sasl_base64_decode: see sasl.h. The empty string decodes to 0 octets.
 */
int
sasl_base64_decode(const char *b64, size_t len, uint8_t *out, size_t outsize)
{
	size_t		i, j, o = 0, pad = 0;
	uint32_t	acc;
	int		v;

	if (len % 4 != 0 || len / 4 * 3 > (size_t)INT32_MAX)
		return -1;
	if (len > 0 && b64[len - 1] == '=')
		pad++;
	if (len > 1 && b64[len - 2] == '=')
		pad++;
	if (len / 4 * 3 - pad > outsize)
		return -1;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)b64[i + j];

			if (c == '=' && i + 4 == len && j >= 4 - pad)
				v = 0;
			else if ((v = b64_value(c)) < 0)
				return -1;
			acc = acc << 6 | (uint32_t)v;
		}
		if (i + 4 == len && pad == 2) {
			if ((acc & 0xffff) != 0)
				return -1;	/* unused bits set */
			out[o++] = (uint8_t)(acc >> 16);
		} else if (i + 4 == len && pad == 1) {
			if ((acc & 0xff) != 0)
				return -1;
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
		} else {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
		}
	}
	return (int)o;
}

static bool
ascii_ieq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t	i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/*
 * sasl_plain_decode: see sasl.h.
 */
int
sasl_plain_decode(const char *b64, size_t len, char *user_out,
    char *pass_out)
{
	uint8_t		 buf[SASL_PLAIN_MAX];
	const uint8_t	*authzid, *authcid, *pass, *nul1, *nul2;
	size_t		 zlen, clen, plen, i;
	int		 n;

	user_out[0] = '\0';
	pass_out[0] = '\0';
	if (len > SASL_RESPONSE_MAX)
		return -1;
	if ((n = sasl_base64_decode(b64, len, buf, sizeof(buf))) <= 0)
		goto fail;
	authzid = buf;
	if ((nul1 = memchr(buf, '\0', (size_t)n)) == NULL)
		goto fail;
	authcid = nul1 + 1;
	if ((nul2 = memchr(authcid, '\0', (size_t)n - (size_t)(authcid - buf)))
	    == NULL)
		goto fail;
	pass = nul2 + 1;
	zlen = (size_t)(nul1 - authzid);
	clen = (size_t)(nul2 - authcid);
	plen = (size_t)n - (size_t)(pass - buf);
	if (memchr(pass, '\0', plen) != NULL)
		goto fail;
	if (clen == 0 || clen > AUTH_USER_MAX || plen == 0 ||
	    plen > AUTH_PASSWORD_MAX)
		goto fail;
	for (i = 0; i < clen; i++)
		if (authcid[i] <= ' ' || authcid[i] == 0x7f)
			goto fail;
	if (zlen != 0 && !ascii_ieq(authzid, zlen, authcid, clen))
		goto fail;
	memcpy(user_out, authcid, clen);
	user_out[clen] = '\0';
	memcpy(pass_out, pass, plen);
	pass_out[plen] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
fail:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(user_out, AUTH_USER_MAX + 1);
	explicit_bzero(pass_out, AUTH_PASSWORD_MAX + 1);
	return -1;
}
