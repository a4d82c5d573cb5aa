/*
 * policyd.h: the Postfix SMTPD access policy service ([policy] listen).
 * Postfix asks it, from smtpd_relay_restrictions just before
 * reject_unauth_destination, about every recipient that would be relayed;
 * it answers from pillory's relay decision and records the attempt.
 * Binding runs in the root parent; serving runs on the engine's loop.
 */
#ifndef POLICYD_H
#define POLICYD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "policy_parse.h"

struct engine;
struct policyd;

/* Listening sockets of [policy] listen, bound before the privilege drop. */
struct policyd_sockets {
	int	fds[CONFIG_LIST_MAX];
	char	names[CONFIG_LIST_MAX][POLICY_UNIX_PATH_MAX + 8];
	int	ports[CONFIG_LIST_MAX];		/* 0 for unix sockets */
	size_t	count;
};

/*
 * Bind every [policy] listen item. A unix socket replaces a stale socket
 * at its path (never another kind of file) and is made mode 0666 so that
 * Postfix's smtpd, running as its own user, can connect: keep it in a
 * directory only Postfix can enter (its queue's private/). -1 with err
 * set on failure; the fds bound so far are closed.
 */
int policyd_bind(const struct config *cfg, struct policyd_sockets *out,
    char *err, size_t errlen);

/* Close sockets that were bound but never started (fork children). */
void policyd_sockets_close(struct policyd_sockets *socks);

/* Start serving socks on eng's loop; takes ownership of the fds. */
struct policyd *policyd_start(struct engine *eng,
    struct policyd_sockets *socks);

/* Stop accepting and close every connection; NULL is fine. */
void policyd_free(struct policyd *pd);

/* The answer policyd gives, and why. */
enum policy_verdict {
	POLICY_DUNNO,		/* no opinion: Postfix goes on */
	POLICY_OK,		/* live POP-before-SMTP grant: relay */
	POLICY_RECORD,		/* relay attempt: record it, answer DUNNO */
	POLICY_REJECT,		/* banned client (see policyd_is_banned) */
};

/*
 * The decision for one complete request: DUNNO for anything but a valid
 * request at protocol_state RCPT; OK when has_grant; REJECT when banned;
 * else RECORD. Pure.
 */
enum policy_verdict policy_decide(const struct policy_request *req,
    bool has_grant, bool banned);

#endif
