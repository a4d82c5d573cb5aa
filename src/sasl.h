/*
 * sasl.h: pure SASL helpers shared by POP3 AUTH (RFC 5034) and SMTP AUTH
 * (RFC 4954): a strict, bounded base64 decoder (RFC 4648 4) and the
 * PLAIN mechanism's message (RFC 4616). No I/O, no allocation; input is
 * untrusted client text.
 */
#ifndef SASL_H
#define SASL_H

#include <stddef.h>
#include <stdint.h>

/* Longest base64 client response we take (a PLAIN message of the longest
 * user and password fits; RFC 4616 2 caps each at 255 octets of UTF-8,
 * we allow AUTH_PASSWORD_MAX). */
#define SASL_RESPONSE_MAX	2048
/* RFC 4422 3.1: a mechanism name is 1 to 20 characters. */
#define SASL_MECH_MAX		20

/*
 * Decode len octets of base64 (RFC 4648 4: the standard alphabet, length a
 * multiple of 4, '=' padding only at the end, unused bits zero; no spaces
 * or line breaks) into out (outsize bytes). Returns the decoded length, or
 * -1 when the text is not canonical base64 or does not fit. On -1, out may
 * hold partial data: a caller decoding a secret wipes it.
 */
int sasl_base64_decode(const char *b64, size_t len, uint8_t *out,
    size_t outsize);

/*
 * Decode an RFC 4616 PLAIN response: base64 of
 * [authzid] NUL authcid NUL passwd. b64 is len octets (at most
 * SASL_RESPONSE_MAX; no NUL needed). On success returns 0 and writes the
 * NUL-terminated authcid into user_out (AUTH_USER_MAX + 1 bytes, auth.h)
 * and the password into pass_out (AUTH_PASSWORD_MAX + 1 bytes). Returns
 * -1 when the base64 is invalid, a field is empty or too long, there are
 * not exactly two NULs, the authcid holds control characters or spaces,
 * or an authzid is given that is not the authcid (ASCII case ignored):
 * pillory has no proxy authorization. On -1 both outputs are wiped. The
 * decoded copy is wiped before return; the caller wipes b64 and pass_out
 * after use.
 */
int sasl_plain_decode(const char *b64, size_t len, char *user_out,
    char *pass_out);

#endif
