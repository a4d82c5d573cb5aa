/*
 * attacklog.h: the engine's side of the attack log. Sessions hand one record
 * per refused attempt to attacklog_record(); records are queued in memory
 * and written in batches by a writer thread, so the event loop never waits
 * on the disk. Readers (pillory log / stats) go through store.h.
 */
#ifndef ATTACKLOG_H
#define ATTACKLOG_H

#include <sys/socket.h>
#include <time.h>

#include "pillory.h"

#define ATTACK_REPLY_MAX	128

struct attack_record {
	int64_t			 time_us;	/* microseconds since the epoch */
	enum attack_kind	 kind;
	char			 client_ip[IPADDR_TEXT_MAX];
	char			 client_name[DOMAIN_MAX + 1]; /* FCrDNS or "unknown" */
	char			 helo[HELO_MAX + 1];
	char			 from[ADDRESS_MAX + 1];
	char			 to[ADDRESS_MAX + 1];
	char			 user[ADDRESS_MAX + 1]; /* auth-fail login; never published */
	char			 session[SESSION_ID_MAX];
	char			 reply[ATTACK_REPLY_MAX];
	int			 port;		/* listener port */
};

/* Name of a kind as in the interface contract ("spoofed-relay"). */
const char *attack_kind_name(enum attack_kind kind);
/* Inverse of attack_kind_name; -1 when unknown. */
int attack_kind_from_name(const char *name);

#endif
