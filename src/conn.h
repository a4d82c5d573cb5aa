/*
 * conn.h: what every protocol session on the engine's loop shares, once
 * (the SMTP server, POP3): the accepted socket and its bufferevent, plain
 * or TLS; the peer address and its text, read from a PROXY header where
 * the listener asks for one; the per-address count; the client's name and
 * its look-up, which attack records wait for; the first fields of an
 * attack record; one reply writer; and one close protocol.
 *
 * A session embeds a struct conn and hands it a struct conn_proto with
 * its callbacks and limits; every callback gets the session (owner).
 *
 * Close protocol. conn_close() stops reading and calls proto->closing
 * once; the session is then freed (proto->free) from a timer, never
 * inside the caller's stack, when its last reply has left (ours and, after
 * STARTTLS, the socket's output under the TLS filter), when the peer is
 * gone, or after the write timeout. While something outside holds the
 * session (conn_hold: the spool's commit callback), a close cuts the
 * connection at once and the free waits for conn_release().
 */
#ifndef CONN_H
#define CONN_H

#include <sys/socket.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "line_input.h"

#include "attack.h"
#include "pillory.h"

struct attack_record;
struct attacklog_hold;
struct bufferevent;
struct engine;
struct event;
struct listener;

/* The longest reply line a session writes, without its CRLF; longer is a
 * bug (every reply is built from bounded parts). */
#define CONN_REPLY_MAX	1000

struct conn_proto {
	const char	*name;		/* "smtp", "pop3": for bugs */
	size_t		 input_high;	/* stop reading at this much input */
	size_t		 output_low;	/* output_low() below this */
	size_t		 under_output_high; /* the TLS filter's socket */
	size_t		 reply_max;	/* <= CONN_REPLY_MAX */
	void		(*input)(void *owner);
	void		(*output_low_cb)(void *owner);
	/* Idle timeout of an open session: say so (NULL: silently). */
	void		(*timeout)(void *owner);
	/* conn_close() began: enter the closing state, let go of what
	 * others wait for (a mailbox lock). Called once. */
	void		(*closing)(void *owner);
	/* The client's name is known (NULL: not wanted). */
	void		(*name_cb)(void *owner, const char *name);
	/* Last call: log the session's end and free it. */
	void		(*free)(void *owner);
};

/* Where a connection comes from, once any PROXY header is read. */
struct conn_peer {
	char			 sid[SESSION_ID_MAX];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	bool			 proxy_unknown;	/* PROXY UNKNOWN or v2 LOCAL */
	bool			 early_talk;	/* bytes came behind the header */
};

struct conn {
	char			 sid[SESSION_ID_MAX];
	struct engine		*eng;
	struct listener		*listener;
	const struct conn_proto	*proto;
	void			*owner;
	struct bufferevent	*bev;
	struct sockaddr_storage	 peer;
	socklen_t		 peer_len;
	char			 peer_ip[IPADDR_TEXT_MAX];
	char			 client_name[DOMAIN_MAX + 1];
	struct attacklog_hold	*hold;		/* name look-up, held records */
	bool			 proxy_unknown;
	bool			 early_talk;	/* see struct conn_peer */
	bool			 ip_counted;
	bool			 trusted;	/* [smtp] trusted_networks */
	bool			 tls;		/* TLS is up (or starting) */
	char			 tls_info[96];	/* "TLSv1.3 CIPHER" */
	bool			 dead;		/* the peer is gone */
	bool			 skip_line;	/* discarding an over-long line */
	bool			 closing;
	unsigned		 holds;
	int			 read_timeout;	/* seconds */
	int			 write_timeout;	/* and the longest linger */
	struct event		*linger;
	unsigned		 linger_ticks;
};

/*
 * The session start a listener's accept function hands to conn_accept():
 * called with the peer once known (after the PROXY header where the
 * listener wants one); it owns fd from then on.
 */
typedef void (*conn_start_fn)(struct engine *eng, struct listener *l,
    evutil_socket_t fd, const struct conn_peer *peer);

/*
 * An accepted connection on l: read the PROXY header first when l->proxy
 * (with plain reads and one event, before any bufferevent exists; bounded
 * by [smtp] proxy_timeout), then call start. Owns fd.
 */
void conn_accept(struct engine *eng, struct listener *l, evutil_socket_t fd,
    const struct sockaddr *sa, socklen_t len, conn_start_fn start);

/*
 * Make c the connection of owner on fd: counts the engine's session,
 * builds the bufferevent (TLS from the first byte on an implicit-TLS
 * listener), sets proto's limits and the timeouts (seconds) and turns
 * reading on. Never fails (out of memory aborts).
 */
void conn_init(struct conn *c, const struct conn_proto *proto, void *owner,
    struct engine *eng, struct listener *l, evutil_socket_t fd,
    const struct conn_peer *peer, int read_timeout, int write_timeout);

/*
 * Count the client against [smtp] max_connections_per_ip and decide
 * whether it is trusted; false when it is over the limit (the caller
 * answers and closes).
 */
bool conn_admit(struct conn *c);

/* One "connect" log line for the session. */
void conn_log_connect(const struct conn *c);

/* Start the client's name look-up; records wait for it. */
void conn_lookup_name(struct conn *c);

/* Queue one reply line and its CRLF (one write: one TLS record). */
void conn_reply(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void conn_vreply(struct conn *c, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Octets not yet handed to the kernel, ours and the TLS filter's. */
size_t conn_output_pending(const struct conn *c);

/* RFC 3207 / RFC 2595: replace the bufferevent by a TLS one; input
 * already buffered is dropped (CVE-2011-0411). */
void conn_starttls(struct conn *c);

/* Set c's limits, callbacks and timeouts on its bufferevent again (after
 * a phase with its own timeouts). */
void conn_setup(struct conn *c);

/* The fields of an attack record this connection knows: time, kind,
 * client, session, port, reply. */
void conn_record_init(const struct conn *c, struct attack_record *rec,
    enum attack_kind kind, const char *reply_text);
/* Hand rec to the attack log (through the name look-up's hold); true
 * when the writer is behind and the client should be slowed down. */
bool conn_record_put(struct conn *c, const struct attack_record *rec);

/*
 * The next command line of at most max octets into line (max + 1 bytes,
 * no CRLF), *len its length: LINE_READY, LINE_MORE (wait for input) or
 * LINE_TOO_LONG once per over-long line, whose rest is dropped as it
 * comes.
 */
enum line_result conn_take_line(struct conn *c, size_t max, char *line,
    size_t *len);

/* Stop reading and free the session once its last reply is out. */
void conn_close(struct conn *c, const char *why);

/*
 * A session moves from state cur to next; returns the state it is in
 * after. moves has a bit per allowed next state for each state; a state
 * with none is final and ignores later moves (a late callback after the
 * close began). Otherwise the move is logged at debug level, or aborts
 * when moves[cur] lacks next, a bug. names has a name per state.
 */
unsigned conn_move(const struct conn *c, const uint32_t *moves,
    const char *const *names, unsigned cur, unsigned next);
/* A move table has a row per state name. */
#define CONN_MOVES_MATCH(moves, names)					\
	_Static_assert(sizeof(moves) / sizeof((moves)[0]) ==		\
	    sizeof(names) / sizeof((names)[0]), "a move row per state")

/* The configuration the session runs under, and the client's address. */
const struct config *conn_cfg(const struct conn *c);
const struct sockaddr *conn_sa(const struct conn *c);

/* Free c and its session now, whatever is pending: shutdown only. */
void conn_destroy(struct conn *c);

/* Something outside will call the session back; see the close protocol.
 * conn_release() returns true when it freed the session. */
void conn_hold(struct conn *c);
bool conn_release(struct conn *c);

#endif
