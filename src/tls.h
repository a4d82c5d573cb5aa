/*
 * tls.h: TLS for every listener, through libevent's bufferevent_openssl.
 * The server context is built as root before the privilege drop (keys may
 * be root-only); TLS 1.2 and 1.3 only.
 */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

/* Load cert (PEM chain) and key; NULL with "PATH: reason" in err. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err,
    size_t errlen);

/*
 * The same from open descriptors (read from offset 0; not closed): the
 * SIGHUP path, where the root side opened files the engine may not. cert
 * and key name the files in messages. The key's copy in memory is wiped.
 */
SSL_CTX *tls_server_ctx_fd(int cert_fd, const char *cert, int key_fd,
    const char *key, char *err, size_t errlen);

/* Implicit TLS (465, 995): a bufferevent that handshakes on fd as server. */
struct bufferevent *tls_accept(struct event_base *base, int fd,
    SSL_CTX *ctx);

/*
 * STARTTLS / STLS: wrap plain (an established bufferevent) in a TLS
 * filter. Everything already in plain's input buffer is discarded first
 * (the command-injection rule, CVE-2011-0411). The returned bufferevent
 * owns plain and frees it with itself; callbacks must be set again.
 */
struct bufferevent *tls_starttls(struct bufferevent *plain, SSL_CTX *ctx);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" of an established TLS bufferevent,
 * or "" when bev is not TLS. */
void tls_describe(struct bufferevent *bev, char *out, size_t size);

#endif
