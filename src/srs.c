/*
 * srs.c: Sender Rewriting Scheme (see srs.h for the address form). Runs in
 * the engine; srs_reverse parses recipient local parts that any client
 * sends, so it is bounded by its inputs, never writes past size and has a
 * libFuzzer target (tests/fuzz/fuzz_srs.c).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

#include "addr.h"
#include "config.h"
#include "pillory.h"
#include "srs.h"

static const char	 b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char	 b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define SRS_INPUT_MAX	600	/* TT + domain + local, with room */

const char *
srs_result_name(enum srs_result r)
{
	switch (r) {
	case SRS_OK:
		return "ok";
	case SRS_NOT_SRS:
		return "not-srs";
	case SRS_BAD_SYNTAX:
		return "bad-syntax";
	case SRS_BAD_HASH:
		return "bad-hash";
	case SRS_EXPIRED:
		return "expired";
	case SRS_TOO_LONG:
		return "too-long";
	}
	return "?";
}

bool
srs_is_srs(const char *local, size_t len)
{
	return len >= 5 && strncasecmp(local, "SRS", 3) == 0 &&
	    (local[3] == '0' || local[3] == '1') && local[4] == '=';
}

/* The day number modulo 1024 as two base32 characters. */
static void
srs_stamp(time_t now, char out[3])
{
	unsigned	d = (unsigned)((now / 86400) % 1024);

	out[0] = b32[d >> 5];
	out[1] = b32[d & 31];
	out[2] = '\0';
}

/* Days since the stamp, or -1 for characters outside the alphabet. */
static int
srs_stamp_age(time_t now, const char *tt)
{
	const char	*a, *b;
	unsigned	 then, today;

	if (tt[0] == '\0' || tt[1] == '\0' ||
	    (a = strchr(b32, toupper((unsigned char)tt[0]))) == NULL ||
	    (b = strchr(b32, toupper((unsigned char)tt[1]))) == NULL)
		return -1;
	then = (unsigned)((a - b32) << 5 | (b - b32));
	today = (unsigned)((now / 86400) % 1024);
	return (int)((today + 1024 - then) % 1024);
}

/* HHHH over the parts, folded to lower case (libsrs2 does the same). */
static bool
srs_hash(const char *secret, size_t secret_len, const char *tt,
    const char *domain, size_t dlen, const char *local, size_t llen,
    char out[SRS_HASH_LEN + 1])
{
	unsigned char	in[SRS_INPUT_MAX], md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;
	size_t		n = 0, i;

	if (2 + dlen + llen > sizeof(in))
		return false;
	for (i = 0; i < 2; i++)
		in[n++] = (unsigned char)tolower((unsigned char)tt[i]);
	for (i = 0; i < dlen; i++)
		in[n++] = (unsigned char)tolower((unsigned char)domain[i]);
	for (i = 0; i < llen; i++)
		in[n++] = (unsigned char)tolower((unsigned char)local[i]);
	if (HMAC(EVP_sha1(), secret, (int)secret_len, in, n, md,
	    &mdlen) == NULL || mdlen < 3)
		return false;
	/* The first 3 octets make exactly 4 base64 characters. */
	out[0] = b64[md[0] >> 2];
	out[1] = b64[(md[0] & 3) << 4 | md[1] >> 4];
	out[2] = b64[(md[1] & 15) << 2 | md[2] >> 6];
	out[3] = b64[md[2] & 63];
	out[4] = '\0';
	return true;
}

enum srs_result
srs_forward(const char *secret, size_t secret_len, time_t now,
    const char *sender, const char *our_domain, size_t local_max, char *out,
    size_t size)
{
	const char	*at = strrchr(sender, '@');
	char		 tt[3], hh[SRS_HASH_LEN + 1];
	size_t		 llen, dlen, need;

	if (at == NULL || at == sender || at[1] == '\0')
		return SRS_BAD_SYNTAX;
	llen = (size_t)(at - sender);
	dlen = strlen(at + 1);
	srs_stamp(now, tt);
	if (!srs_hash(secret, secret_len, tt, at + 1, dlen, sender, llen, hh))
		return SRS_TOO_LONG;
	/* "SRS0=" HHHH "=" TT "=" domain "=" local */
	need = 5 + SRS_HASH_LEN + 1 + 2 + 1 + dlen + 1 + llen;
	if (need > local_max || need + 1 + strlen(our_domain) + 1 > size)
		return SRS_TOO_LONG;
	memcpy(out, "SRS0=", 5);
	memcpy(out + 5, hh, SRS_HASH_LEN);
	out[9] = '=';
	memcpy(out + 10, tt, 2);
	out[12] = '=';
	memcpy(out + 13, at + 1, dlen);
	out[13 + dlen] = '=';
	memcpy(out + 14 + dlen, sender, llen);
	out[need] = '@';
	memcpy(out + need + 1, our_domain, strlen(our_domain) + 1);
	return SRS_OK;
}

enum srs_result
srs_reverse(const char *secret, size_t secret_len, time_t now,
    const char *local, size_t len, char *out, size_t size)
{
	const char	*hh, *tt, *dom, *eq, *orig, *end = local + len;
	char		 want[SRS_HASH_LEN + 1], got[SRS_HASH_LEN + 1];
	size_t		 dlen, llen, i;
	int		 age;

	if (len < 5 || strncasecmp(local, "SRS0=", 5) != 0)
		return SRS_NOT_SRS;
	/* HHHH=TT=domain=local: the hash and stamp have fixed lengths; the
	 * domain has no '='; the local part is the rest. */
	hh = local + 5;
	if (end - hh < SRS_HASH_LEN + 1 + 2 + 1 + 1 + 1 + 1 ||
	    hh[SRS_HASH_LEN] != '=')
		return SRS_BAD_SYNTAX;
	tt = hh + SRS_HASH_LEN + 1;
	if (tt[2] != '=')
		return SRS_BAD_SYNTAX;
	dom = tt + 3;
	if ((eq = memchr(dom, '=', (size_t)(end - dom))) == NULL ||
	    eq == dom || eq + 1 >= end)
		return SRS_BAD_SYNTAX;
	dlen = (size_t)(eq - dom);
	orig = eq + 1;
	llen = (size_t)(end - orig);
	for (i = 0; i < len; i++)
		if (local[i] == '\0' || local[i] == '@')
			return SRS_BAD_SYNTAX;
	if ((age = srs_stamp_age(now, tt)) < 0)
		return SRS_BAD_SYNTAX;
	if (!srs_hash(secret, secret_len, tt, dom, dlen, orig, llen, want))
		return SRS_BAD_SYNTAX;
	for (i = 0; i < SRS_HASH_LEN; i++) {
		if (hh[i] == '\0')
			return SRS_BAD_SYNTAX;
		got[i] = (char)tolower((unsigned char)hh[i]);
		want[i] = (char)tolower((unsigned char)want[i]);
	}
	if (CRYPTO_memcmp(got, want, SRS_HASH_LEN) != 0)
		return SRS_BAD_HASH;
	if (age > SRS_MAX_AGE_DAYS)
		return SRS_EXPIRED;
	if (llen + 1 + dlen + 1 > size)
		return SRS_TOO_LONG;
	memcpy(out, orig, llen);
	out[llen] = '@';
	memcpy(out + llen + 1, dom, dlen);
	out[llen + 1 + dlen] = '\0';
	return SRS_OK;
}

bool
srs_forward_sender(const struct config *cfg, time_t now, const char *sender,
    char *out, size_t size)
{
	const char	*at;

	if (cfg->srs_secret == NULL || *cfg->srs_secret == '\0' ||
	    cfg->domains.count == 0 || sender == NULL || *sender == '\0' ||
	    (at = strrchr(sender, '@')) == NULL ||
	    addr_domain_is_local(&cfg->domains, at + 1))
		return false;
	return srs_forward(cfg->srs_secret, strlen(cfg->srs_secret), now,
	    sender, cfg->domains.names[0], LOCAL_PART_MAX, out, size) ==
	    SRS_OK;
}

enum srs_result
srs_reverse_rcpt(const struct config *cfg, time_t now, const char *local,
    char *out, size_t size)
{
	if (cfg->srs_secret == NULL || *cfg->srs_secret == '\0')
		return SRS_NOT_SRS;
	return srs_reverse(cfg->srs_secret, strlen(cfg->srs_secret), now,
	    local, strlen(local), out, size);
}
