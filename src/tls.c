/*
 * tls.c: OpenSSL 3 server contexts and libevent TLS bufferevents (tls.h).
 * The context is made in the root parent before the privilege drop; the
 * bufferevents live in the engine. Peers are untrusted: only TLS 1.2 and
 * 1.3, no compression, no renegotiation, server cipher preference.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>

#include "log.h"
#include "text.h"
#include "tls.h"

/* Mozilla "intermediate" TLS 1.2 suites; TLS 1.3 keeps OpenSSL's. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"

static void
ssl_error(const char *what, const char *path, char *err, size_t errlen)
{
	char	buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	text_printf(err, errlen, "%s%s%s: %s", path ? path : "",
	    path ? ": " : "", what, buf);
}

SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_error("SSL_CTX_new", NULL, err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		ssl_error("cipher list", NULL, err, errlen);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error("cannot load certificate", cert, err, errlen);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_error("cannot load private key", key, err, errlen);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error("key does not match the certificate", key, err,
		    errlen);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"pillory",
	    7);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL *
new_ssl(SSL_CTX *ctx)
{
	SSL	*ssl = SSL_new(ctx);

	if (ssl == NULL)
		FATAL("SSL_new");
	return ssl;
}

struct bufferevent *
tls_accept(struct event_base *base, int fd, SSL_CTX *ctx)
{
	struct bufferevent	*bev;

	bev = bufferevent_openssl_socket_new(base, fd, new_ssl(ctx),
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		FATAL("bufferevent_openssl_socket_new");
	/* A peer that just drops the TCP connection is not an error worth
	 * a log line per session. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *
tls_starttls(struct bufferevent *plain, SSL_CTX *ctx)
{
	struct bufferevent	*bev;
	struct evbuffer		*in = bufferevent_get_input(plain);

	/* Whatever the client sent after STARTTLS in the clear was sent
	 * before it could know the server's answer: it may be an attacker's
	 * injection (CVE-2011-0411). Drop it. */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setcb(plain, NULL, NULL, NULL, NULL);
	bev = bufferevent_openssl_filter_new(bufferevent_get_base(plain),
	    plain, new_ssl(ctx), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		FATAL("bufferevent_openssl_filter_new");
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void
tls_describe(struct bufferevent *bev, char *out, size_t size)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(bev);

	*out = '\0';
	if (ssl == NULL)
		return;
	text_printf(out, size, "%s %s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}
