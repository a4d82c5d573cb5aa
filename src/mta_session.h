/*
 * mta_session.h: one outbound SMTP connection (RFC 5321 client side), run
 * by mta.c for a destination. It carries one or more jobs (a message and
 * the recipients it has at that destination), one mail transaction each,
 * and reports per recipient: accepted (250), temporary (4xx, or the
 * connection broke), permanent (5xx).
 */
#ifndef MTA_SESSION_H
#define MTA_SESSION_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "pillory.h"
#include "smtp_reply.h"

struct event_base;
struct mta_session;

/* Diagnostic text kept per recipient ("550 5.1.1 No such user"). */
#define MTA_DIAG_MAX		512

/*
 * RFC 5321 4.5.3.2 timeouts, in seconds: 4.5.3.2.1 greeting, .2 MAIL,
 * .3 RCPT, .4 DATA initiation, .5 each data block, .6 DATA termination.
 * The connect timeout and the one for other commands (EHLO, STARTTLS,
 * AUTH, RSET, QUIT) are ours.
 */
#define MTA_TIMEOUT_CONNECT	30
#define MTA_TIMEOUT_GREETING	300
#define MTA_TIMEOUT_MAIL	300
#define MTA_TIMEOUT_RCPT	300
#define MTA_TIMEOUT_DATA	120
#define MTA_TIMEOUT_BLOCK	180
#define MTA_TIMEOUT_DOT		600
#define MTA_TIMEOUT_COMMAND	300
/* Transactions on one connection before it is closed and a new one made. */
#define MTA_SESSION_JOBS_MAX	1000
/* An idle connection waits this long for another job before QUIT (as
 * Postfix's smtp_connection_cache_time_limit). */
#define MTA_IDLE_TIME		2

enum mta_result {
	MTA_TEMP = 0,		/* try again later */
	MTA_OK,			/* the remote server took it */
	MTA_PERM,		/* give up: bounce */
};

struct mta_rcpt {
	const char		*addr;		/* owned by the job's owner */
	enum mta_result		 result;
	char			 status[SMTP_REPLY_STATUS_MAX];	/* RFC 3463 */
	char			 diag[MTA_DIAG_MAX];
};

/* One message for one destination. The owner (queue.c) fills the input
 * fields; the session fills results, remote and remote_ip. */
struct mta_job {
	const char		*id;		/* queue id, for logs */
	const char		*sender;	/* "" for <> */
	const char		*path;		/* message file, LF line ends */
	uint64_t		 wire_size;	/* octets with CRLF */
	bool			 eightbit;	/* has octets >= 0x80 */
	struct mta_rcpt		*rcpts;
	size_t			 nrcpts;
	char			 remote[DOMAIN_MAX + 1];	/* MX name */
	char			 remote_ip[IPADDR_TEXT_MAX];
	unsigned		 remote_port;	/* 0: no connection */
};

/* How a session ended, for its end callback. */
enum mta_session_end {
	/* Never got to a mail transaction: no connection, a refused
	 * greeting, EHLO/HELO, STARTTLS or AUTH failed. The first job is
	 * untouched and handed back to try elsewhere. */
	MTA_SESSION_NOT_READY = 0,
	/* Every job handed to the session was completed through done(). */
	MTA_SESSION_FINISHED,
};

struct mta_session_params {
	const char		*helo;		/* our host name for EHLO */
	const char		*host;		/* remote name: logs, SNI */
	struct sockaddr_storage	 addr;		/* with port */
	socklen_t		 addr_len;
	SSL_CTX			*tls;		/* NULL: never STARTTLS */
	bool			 tls_required;	/* no STARTTLS: not ready */
	const char		*auth_user;	/* NULL: no AUTH */
	const char		*auth_pass;
	const char		*log_id;	/* prefix of log lines */
	bool			 may_idle;	/* wait MTA_IDLE_TIME for a
						 * job instead of QUIT */
};

struct mta_session_ops {
	/* The next job for this connection, or NULL to say QUIT. */
	struct mta_job	*(*next)(void *arg);
	/* A job is finished: every recipient has its result. */
	void		 (*done)(struct mta_job *job, void *arg);
	/* next gave nothing and the session (with may_idle) now waits for
	 * mta_session_push() until MTA_IDLE_TIME has passed. */
	void		 (*idle)(void *arg);
	/*
	 * The session is over and freed. For MTA_SESSION_NOT_READY, why
	 * says what went wrong (a reply or a local reason) and tls_failed
	 * that the STARTTLS handshake broke (try the address again without
	 * TLS). The session must not be used after this.
	 */
	void		 (*end)(enum mta_session_end how, const char *why,
	    bool tls_failed, void *arg);
};

/*
 * Connect to p->addr and run first, then whatever ops->next hands out,
 * up to MTA_SESSION_JOBS_MAX jobs. Strings in p are copied. All
 * callbacks come later from the event loop, never from inside this call.
 * Returns the session; it frees itself after ops->end.
 */
struct mta_session *mta_session_start(struct event_base *base,
    const struct mta_session_params *p, struct mta_job *first,
    const struct mta_session_ops *ops, void *arg);

/* Close at once without callbacks (shutdown); the job in progress keeps
 * whatever results it had. NULL is ignored. */
void mta_session_free(struct mta_session *s);

/* Give an idle session (after ops->idle, before ops->end) a job; it
 * starts from the event loop, not from inside this call. */
void mta_session_push(struct mta_session *s, struct mta_job *job);

/*
 * DATA encoding (RFC 5321 4.5.2): message text stored with LF line ends
 * becomes CRLF, and a line that starts with '.' gets one more. CR octets
 * in the input are dropped (the store never has them; this keeps a bare
 * CR off the wire). The state carries line starts across calls.
 */
struct mta_dot {
	bool	mid_line;	/* the last octet written was not a LF */
};

/* Encode len octets of in into out, which holds at least 2 * len.
 * Returns the octets written. */
size_t mta_session_dotstuff(struct mta_dot *st, const char *in, size_t len,
    char *out);

/* The end of DATA: CRLF if the text did not end a line, then ".CRLF".
 * out holds at least 5. Returns the octets written. */
size_t mta_session_dotstuff_end(struct mta_dot *st, char *out);

#endif
