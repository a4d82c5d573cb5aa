/*
 * tls_client.c: OpenSSL 3 client context and STARTTLS bufferevents for
 * outbound SMTP (tls_client.h). Runs in the engine; the peer is an
 * untrusted remote server. RFC 3207 (STARTTLS), RFC 7435 (opportunistic
 * security), RFC 6066 3 (server name indication).
 */
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include <string.h>

#include "log.h"
#include "pillory.h"
#include "text.h"
#include "tls_client.h"

SSL_CTX *
tls_client_ctx(char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	char	 buf[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		text_printf(err, errlen, "SSL_CTX_new: %s", buf);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Opportunistic: an unverifiable certificate still beats clear
	 * text (RFC 7435 3). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* RFC 6066 3: a host name, not an address literal. */
static bool
sni_is_hostname(const char *s)
{
	unsigned char	addr[16];
	size_t		len = strlen(s);

	if (len == 0 || len > DOMAIN_MAX || strchr(s, '.') == NULL)
		return false;
	return inet_pton(AF_INET, s, addr) != 1 &&
	    inet_pton(AF_INET6, s, addr) != 1 && s[0] != '[';
}

struct bufferevent *
tls_client_start(struct bufferevent *plain, SSL_CTX *ctx, const char *sni)
{
	struct bufferevent	*bev;
	struct evbuffer		*in = bufferevent_get_input(plain);
	SSL			*ssl;

	/* Anything the server sent after its 220 came before TLS and may
	 * be an injection (the client side of CVE-2011-0411). */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setcb(plain, NULL, NULL, NULL, NULL);
	if ((ssl = SSL_new(ctx)) == NULL)
		FATAL("SSL_new");
	if (sni != NULL && sni_is_hostname(sni))
		SSL_set_tlsext_host_name(ssl, sni);
	bev = bufferevent_openssl_filter_new(bufferevent_get_base(plain),
	    plain, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		FATAL("bufferevent_openssl_filter_new");
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}
