/*
 * listener.h: the listening sockets. The parent binds them as root
 * (listener_bind_all), the engine accepts on them (listener_start),
 * enforces the connection limits and hands each connection to its
 * protocol's session. Per-address counts are kept here.
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <sys/socket.h>

#include "pillory.h"

struct engine;
struct config;

enum listener_role {
	LISTENER_MX = 0,	/* [smtp] listen */
	LISTENER_SUBMISSION,	/* [smtp] submission */
	LISTENER_SMTPS,		/* [smtp] smtps */
	LISTENER_POP3,		/* [pop3] listen */
	LISTENER_POP3S,		/* [pop3] pop3s */
	LISTENER_ROLE_COUNT
};

struct listener {
	enum listener_role	 role;
	bool			 proxy;		/* PROXY header required */
	int			 fd;
	int			 port;
	char			 text[IPADDR_TEXT_MAX + 8];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct evconnlistener	*evl;
	struct engine		*eng;
};

struct listeners {
	struct listener	*items;
	size_t		 count;
};

/* Bind every listener of cfg; on error print the cause and return -1. */
int listener_bind_all(const struct config *cfg, struct listeners *out,
    char *err, size_t errlen);
/* Start accepting on the engine's loop. */
void listener_start(struct listeners *ls, struct engine *eng);
/* Stop accepting and close the sockets. */
void listener_close_all(struct listeners *ls);
const char *listener_role_name(enum listener_role role);

/* Count one more session from sa; false when it is over the per-address
 * limit (the caller answers 421 and closes without calling release). */
bool listener_ip_acquire(struct engine *eng, const struct sockaddr *sa);
void listener_ip_release(const struct sockaddr *sa);

#endif
