/*
 * pop3.h: one POP3 server session (RFC 1939, RFC 2449 CAPA, RFC 2595
 * STLS, RFC 5034 AUTH) on the engine's event loop, over the Maildirs the
 * SMTP side delivers to. Input is untrusted. A successful login grants
 * its client address POP-before-SMTP relay (grants.h).
 */
#ifndef POP3_H
#define POP3_H

#include <sys/socket.h>
#include <stdbool.h>

#include <event2/util.h>

struct config;
struct engine;
struct listener;

/*
 * A listener's accept function (listener.h), for LISTENER_POP3 and
 * LISTENER_POP3S (implicit TLS, which needs eng->tls): the session owns
 * and closes fd, counts itself in eng->sessions and applies the
 * per-address limit (conn.h). PROXY headers are not read: l->proxy must be
 * false.
 */
void pop3_session_accept(struct engine *eng, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t len);

/* The line refusing a connection over max_connections (listener.h). */
void pop3_session_busy(const struct config *cfg, char *out, size_t size);

#endif
