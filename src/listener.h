/*
 * listener.h: the listening sockets. The parent binds them as root
 * (listener_bind_all), the engine accepts on them (listener_start),
 * enforces the total connection limit and hands each connection to the
 * accept function of its role, from a table the caller (serve.c) hands
 * in: this file knows no protocol. Per-address counts are kept here.
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <sys/socket.h>

#include <stdint.h>
#include <time.h>

#include "pillory.h"

struct engine;
struct config;
struct listener;
struct event;
struct event_base;
struct evconnlistener;

/*
 * An accept error (EMFILE, ENFILE, ENOBUFS, ENOMEM, ...) leaves the
 * listening socket readable: retrying at once would spin the loop and
 * the log. Instead accepting pauses for LISTENER_PAUSE_MS (as nginx
 * does), the connections wait in the backlog, and one warning is logged
 * per LISTENER_WARN_S at most.
 */
#define LISTENER_PAUSE_MS	100
#define LISTENER_WARN_S		10

struct listener_pause {
	struct evconnlistener	*evl;
	struct event		*ev;
	time_t			 warned;
	unsigned long		 errors;	/* since the last warning */
	char			 what[IPADDR_TEXT_MAX + 16];
};

enum listener_role {
	LISTENER_MX = 0,	/* [smtp] listen */
	LISTENER_SUBMISSION,	/* [smtp] submission */
	LISTENER_SMTPS,		/* [smtp] smtps */
	LISTENER_POP3,		/* [pop3] listen */
	LISTENER_POP3S,		/* [pop3] pop3s */
	LISTENER_ROLE_COUNT,	/* the roles listener_bind_all() binds */
	LISTENER_POLICY = LISTENER_ROLE_COUNT,	/* [policy] listen: policyd.c */
};

/* What a role does with its connections; serve.c has the table. */
struct listener_role_def {
	const char	*name;		/* in log lines: "mx", "pop3s" */
	bool		 implicit_tls;	/* TLS from the first byte */
	/* The one line (without CRLF) that refuses a connection over
	 * [smtp] max_connections. */
	void		(*busy)(const struct config *cfg, char *out,
			    size_t size);
	/* Take over fd; the role's session owns and closes it. */
	void		(*accept)(struct engine *eng, struct listener *l,
			    int fd, const struct sockaddr *sa, socklen_t len);
};

struct listener {
	enum listener_role	 role;
	const struct listener_role_def *def;
	bool			 proxy;		/* PROXY header required */
	int			 fd;
	int			 port;
	char			 text[IPADDR_TEXT_MAX + 8];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct evconnlistener	*evl;
	struct engine		*eng;
	struct listener_pause	 pause;
};

struct listeners {
	struct listener	*items;
	size_t		 count;
};

/* Bind every listener of cfg; on error print the cause and return -1. */
int listener_bind_all(const struct config *cfg, struct listeners *out,
    char *err, size_t errlen);
/* Start accepting on the engine's loop; roles[r] serves role r. */
void listener_start(struct listeners *ls, struct engine *eng,
    const struct listener_role_def roles[LISTENER_ROLE_COUNT]);
/* Stop accepting and close the sockets. */
void listener_close_all(struct listeners *ls);

/* Count one more session from sa; false when it is over the per-address
 * limit (the caller answers 421 and closes without calling release). */
bool listener_ip_acquire(struct engine *eng, const struct sockaddr *sa);
void listener_ip_release(const struct sockaddr *sa);

/*
 * The key a client address is counted under for per-address limits:
 * IPv4 (also when v4-mapped in IPv6) as its 4 octets, IPv6 as its /64
 * (the rest zero). *family_out is AF_INET or AF_INET6. Pure.
 */
void listener_ip_key(const struct sockaddr *sa, uint8_t addr_out[16],
    uint8_t *family_out);

/* Prepare p for evl (what names it in the log); see listener_pause. */
void listener_pause_init(struct listener_pause *p, struct event_base *base,
    struct evconnlistener *evl, const char *what);
/* Accepting on p's listener failed with err: pause it. */
void listener_pause_on_error(struct listener_pause *p, int err);
/* Free p's timer (p itself is the caller's). */
void listener_pause_free(struct listener_pause *p);

#endif
