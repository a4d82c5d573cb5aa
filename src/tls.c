/*
 * tls.c: OpenSSL 3 server contexts and libevent TLS bufferevents (tls.h).
 * The context is made in the root parent before the privilege drop; the
 * bufferevents live in the engine. Peers are untrusted: only TLS 1.2 and
 * 1.3, no compression, no renegotiation, server cipher preference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>

#include "log.h"
#include "text.h"
#include "tls.h"

/* Largest certificate chain or key file read on SIGHUP. */
#define TLS_FILE_MAX	(1024 * 1024)

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

/* A server context with our protocol settings and no certificate yet. */
static SSL_CTX *
server_ctx_new(char *err, size_t errlen)
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
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The key is in: check it against the certificate, finish ctx. */
static SSL_CTX *
server_ctx_finish(SSL_CTX *ctx, const char *key, char *err, size_t errlen)
{
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error("key does not match the certificate", key, err,
		    errlen);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"pillory",
	    7);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = server_ctx_new(err, errlen)) == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error("cannot load certificate", cert, err, errlen);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_error("cannot load private key", key, err, errlen);
		goto fail;
	}
	return server_ctx_finish(ctx, key, err, errlen);
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The whole of fd (from offset 0, at most TLS_FILE_MAX octets) in a memory
 * BIO; NULL with "PATH: reason" in err. *buf_out is the buffer to wipe
 * and free after the BIO.
 */
static BIO *
read_fd(int fd, const char *path, char **buf_out, size_t *len_out,
    char *err, size_t errlen)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;
	BIO	*bio;

	*buf_out = NULL;
	if ((buf = malloc(TLS_FILE_MAX)) == NULL)
		FATAL("out of memory");
	for (;;) {
		n = pread(fd, buf + len, TLS_FILE_MAX - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			text_printf(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == TLS_FILE_MAX) {
			text_printf(err, errlen, "%s: larger than %d octets",
			    path, TLS_FILE_MAX);
			goto fail;
		}
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		FATAL("BIO_new_mem_buf");
	*buf_out = buf;
	*len_out = len;
	return bio;
fail:
	explicit_bzero(buf, len);
	free(buf);
	return NULL;
}

static void
free_read(BIO *bio, char *buf, size_t len)
{
	BIO_free(bio);
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
}

SSL_CTX *
tls_server_ctx_fd(int cert_fd, const char *cert, int key_fd, const char *key,
    char *err, size_t errlen)
{
	SSL_CTX		*ctx;
	BIO		*cb = NULL, *kb = NULL;
	char		*cbuf = NULL, *kbuf = NULL;
	size_t		 clen = 0, klen = 0;
	X509		*x;
	EVP_PKEY	*pkey;
	unsigned long	 e;

	ERR_clear_error();
	if ((ctx = server_ctx_new(err, errlen)) == NULL)
		return NULL;
	if ((cb = read_fd(cert_fd, cert, &cbuf, &clen, err, errlen)) == NULL ||
	    (kb = read_fd(key_fd, key, &kbuf, &klen, err, errlen)) == NULL)
		goto fail;
	/* As SSL_CTX_use_certificate_chain_file: the leaf, then its chain. */
	if ((x = PEM_read_bio_X509_AUX(cb, NULL, NULL, NULL)) == NULL) {
		ssl_error("cannot load certificate", cert, err, errlen);
		goto fail;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		ssl_error("cannot load certificate", cert, err, errlen);
		goto fail;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ssl_error("cannot load certificate chain", cert, err,
			    errlen);
			goto fail;
		}
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_clear_error();	/* the end of the chain */
	else if (e != 0) {
		ssl_error("cannot load certificate chain", cert, err, errlen);
		goto fail;
	}
	if ((pkey = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL) {
		ssl_error("cannot load private key", key, err, errlen);
		goto fail;
	}
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), pkey) != 1) {
		EVP_PKEY_free(pkey);
		ssl_error("key does not match the certificate", key, err,
		    errlen);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		EVP_PKEY_free(pkey);
		ssl_error("cannot load private key", key, err, errlen);
		goto fail;
	}
	EVP_PKEY_free(pkey);
	free_read(cb, cbuf, clen);
	free_read(kb, kbuf, klen);
	return server_ctx_finish(ctx, key, err, errlen);
fail:
	if (cb != NULL)
		free_read(cb, cbuf, clen);
	if (kb != NULL)
		free_read(kb, kbuf, klen);
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
