/*
 * smtp_banned.h: a banned client on a plaintext SMTP listener is answered
 * without a session: the 554 greeting, one "banned" record, then QUIT
 * (221) and nothing else (503), with plain reads and writes on one event.
 * A botnet's reconnects cost a few system calls each (README, "Defense").
 */
#ifndef SMTP_BANNED_H
#define SMTP_BANNED_H

#include <stdbool.h>

#include <event2/util.h>

struct conn_peer;
struct engine;
struct listener;

/*
 * When peer is banned ([defense], never a trusted or allowed one) and
 * within the per-address limit, answer it here and return true: fd is
 * then ours. False: the caller runs the session as usual. Implicit-TLS
 * listeners are the session's (its 554 must go inside TLS).
 */
bool smtp_banned_take(struct engine *eng, struct listener *l,
    evutil_socket_t fd, const struct conn_peer *peer);

#endif
