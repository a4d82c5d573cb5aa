/*
 * smtp_session.h: one SMTP server session (RFC 5321) on the engine's
 * event loop. Input is untrusted.
 */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

#include <sys/socket.h>

#include <event2/util.h>

struct config;
struct engine;
struct listener;

/* A listener's accept function (listener.h): take over fd, read any
 * PROXY header (conn.h), then run the session; it owns and closes fd. */
void smtp_session_accept(struct engine *eng, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t len);

/* The line refusing a connection over max_connections (listener.h). */
void smtp_session_busy(const struct config *cfg, char *out, size_t size);

#endif
