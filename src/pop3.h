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

struct engine;
struct listener;

/*
 * Take over an accepted connection fd from listener l (LISTENER_POP3, or
 * LISTENER_POP3S with implicit_tls, which needs eng->tls); the session
 * owns and closes fd, counts itself in eng->sessions and applies the
 * per-address limit (listener_ip_acquire). PROXY headers are not read:
 * l->proxy must be false.
 */
void pop3_session_start(struct engine *eng, struct listener *l,
    evutil_socket_t fd, const struct sockaddr *peer, socklen_t len,
    bool implicit_tls);

#endif
