/*
 * srs.h: Sender Rewriting Scheme for forwarded mail, in the SRS0 form that
 * libsrs2 and postsrsd write:
 *
 *   SRS0=HHHH=TT=orig-domain=orig-local@our-domain
 *
 * HHHH: the first 4 characters of base64(HMAC-SHA1(secret, TT orig-domain
 * orig-local)), the address folded to lower case; TT: the day number
 * (time / 86400) modulo 1024 in two base32 characters (RFC 4648 6
 * alphabet). A forward then passes SPF at its destination (the envelope
 * sender's domain is ours), and a bounce to the SRS address comes back to
 * us, is checked and goes to the original sender. Pure functions: no I/O;
 * the engine calls them with the [delivery] srs_secret key.
 */
#ifndef SRS_H
#define SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SRS_HASH_LEN	4
/* A bounce to an SRS address is honoured this many days after the forward
 * (libsrs2's default). */
#define SRS_MAX_AGE_DAYS	21

enum srs_result {
	SRS_OK = 0,
	SRS_NOT_SRS,		/* the local part does not start SRS0= */
	SRS_BAD_SYNTAX,		/* SRS0= but not HHHH=TT=domain=local */
	SRS_BAD_HASH,		/* forged or another secret */
	SRS_EXPIRED,		/* older than SRS_MAX_AGE_DAYS (or future) */
	SRS_TOO_LONG,		/* result does not fit */
};

/* A short word for logs: "ok", "not-srs", "bad-syntax", ... */
const char *srs_result_name(enum srs_result r);

/* True when local (length len) starts with "SRS0=" or "SRS1=" in any
 * case. */
bool srs_is_srs(const char *local, size_t len);

/*
 * Rewrite sender (local@domain, not empty) for a forward: writes
 * "SRS0=HHHH=TT=domain=local@our_domain" to out (size bytes). The local
 * part of the result must fit in local_max octets (RFC 5321 4.5.3.1.1:
 * 64), else SRS_TOO_LONG and the caller keeps the original sender.
 * Returns SRS_OK, SRS_BAD_SYNTAX (no '@') or SRS_TOO_LONG.
 */
enum srs_result srs_forward(const char *secret, size_t secret_len,
    time_t now, const char *sender, const char *our_domain,
    size_t local_max, char *out, size_t size);

/*
 * Check and undo a rewrite: local (length len, not NUL-terminated) is the
 * local part of a recipient in one of our domains. On SRS_OK, out (size
 * bytes) holds the original "local@domain". The hash is compared in any
 * case (some MTAs fold addresses), in constant time.
 */
enum srs_result srs_reverse(const char *secret, size_t secret_len,
    time_t now, const char *local, size_t len, char *out, size_t size);

struct config;

/*
 * The engine's rule for a forward ([delivery] srs_secret): a non-empty
 * sender outside our domains becomes SRS0=...@(first local domain) in out;
 * false (out untouched) when SRS is off, the sender is <> or ours, or the
 * result would not fit a 64-octet local part.
 */
bool srs_forward_sender(const struct config *cfg, time_t now,
    const char *sender, char *out, size_t size);

/* srs_reverse with the configured secret; SRS_NOT_SRS when SRS is off or
 * local is no SRS0 address. */
enum srs_result srs_reverse_rcpt(const struct config *cfg, time_t now,
    const char *local, char *out, size_t size);

#endif
