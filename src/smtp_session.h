/*
 * smtp_session.h: one SMTP server session (RFC 5321) on the engine's
 * event loop. Input is untrusted.
 */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

#include <sys/socket.h>

#include <event2/util.h>

struct engine;
struct listener;

/* Take over an accepted connection fd; the session owns and closes it. */
void smtp_session_start(struct engine *eng, struct listener *l,
    evutil_socket_t fd, const struct sockaddr *peer, socklen_t len);

#endif
