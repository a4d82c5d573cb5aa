/*
 * tls_client.h: the client side of TLS for outbound SMTP (RFC 3207
 * STARTTLS), through libevent's bufferevent_openssl. Opportunistic
 * (RFC 7435): the peer's certificate is not checked, since MX host names
 * cannot be authenticated without DANE or MTA-STS; a relayhost with
 * credentials requires encryption, like Postfix's "encrypt" level.
 */
#ifndef TLS_CLIENT_H
#define TLS_CLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

struct bufferevent;

/* A client context (TLS 1.2 and 1.3, no compression, no renegotiation,
 * no verification). NULL with a reason in err. Free with SSL_CTX_free. */
SSL_CTX *tls_client_ctx(char *err, size_t errlen);

/*
 * Start the TLS handshake over plain, an established connection whose
 * STARTTLS command got its 220: anything already read from plain is
 * discarded first (RFC 3207 4.2: nothing before TLS is kept). sni, when
 * it is a host name, goes into the ClientHello. The returned bufferevent
 * owns plain and frees it with itself; it reports BEV_EVENT_CONNECTED
 * when the handshake is done, BEV_EVENT_ERROR when it fails. Callbacks
 * must be set again.
 */
struct bufferevent *tls_client_start(struct bufferevent *plain, SSL_CTX *ctx,
    const char *sni);

#endif
