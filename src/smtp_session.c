/*
 * smtp_session.c: the SMTP server state machine (RFC 5321, with RFC 1870
 * SIZE, RFC 6152 8BITMIME, RFC 2920 PIPELINING, RFC 2034 enhanced status
 * codes, RFC 3848 Received "with" keywords). Runs in the unprivileged
 * engine; every byte it reads is untrusted.
 *
 *   (conn) NEW --> [GREET_PAUSE] --quiet--> HELO --HELO/EHLO--> IDLE
 *   IDLE --MAIL--> MAIL --RCPT ok--> RCPT --DATA--> DATA --"."--> COMMIT
 *   RCPT --DATA, client name not known yet--> NAMEWAIT --name|timeout--> DATA
 *   COMMIT --durable--> IDLE            RSET/HELO/EHLO: MAIL|RCPT -> IDLE
 *   IDLE --AUTH--> [SASL --line-->] AUTHWAIT --answer--> IDLE
 *   HELO|IDLE --STARTTLS, handshake--> HELO (everything before is forgotten)
 *   any --QUIT, error limit, timeout, early talk, peer gone--> CLOSING
 *   NEW --client banned, 554 greeting--> BANNED --QUIT--> CLOSING
 *
 * (conn) is the connection layer (conn.h): it reads any PROXY header and
 * hands over the client's address. GREET_PAUSE only when greet_pause > 0.
 * BANNED (implicit-TLS listeners only: smtp_banned.c answers the others)
 * answers only QUIT (221); anything else gets 503 and counts as an error.
 *
 * State notes. Every move goes through smtp_enter_state(), which logs it
 * at debug level and aborts on a move smtp_moves[] does not list (a bug:
 * nothing is acknowledged before it is on disk). CLOSING is final: a
 * late callback's move out of it is ignored.
 *   NEW -> GREET_PAUSE, HELO	smtp_client_known(), smtp_greet()
 *   NEW -> BANNED		smtp_refuse_banned()
 *   HELO|IDLE|MAIL|RCPT -> IDLE	smtp_cmd_helo_common(), smtp_cmd_rset()
 *   IDLE -> MAIL		smtp_cmd_mail()
 *   MAIL|RCPT -> RCPT		smtp_cmd_rcpt() (a recipient accepted)
 *   RCPT -> NAMEWAIT|DATA|IDLE	smtp_cmd_data() (IDLE: no spool file)
 *   NAMEWAIT -> DATA		smtp_data_start() from smtp_name_cb() or
 *				smtp_timer_cb()
 *   DATA -> COMMIT|IDLE		smtp_data_end() (IDLE: message refused)
 *   COMMIT -> IDLE		smtp_commit_done()
 *   IDLE -> SASL|AUTHWAIT	smtp_cmd_auth(), smtp_auth_check()
 *   SASL -> AUTHWAIT|IDLE	smtp_sasl_line(), auth_plain()
 *   AUTHWAIT -> IDLE		smtp_auth_done()
 *   HELO|IDLE -> HELO		smtp_cmd_starttls()
 *   any -> CLOSING		smtp_closing(), from conn_close()
 * Fields: txn from MAIL to the end of COMMIT (txn->msg from NAMEWAIT);
 * helo, esmtp from IDLE on (STARTTLS clears them); timer armed only in
 * GREET_PAUSE and NAMEWAIT; sasl in SASL; auth_req in AUTHWAIT;
 * auth_user from AUTHWAIT on when authenticated; dnsbl_req from the
 * greeting until its answer; conn.hold (the name) from the greeting on.
 *
 * Line discipline (RFC 5321 2.3.8): a line ends only at CRLF. A bare
 * CR or LF inside a command makes it invalid; inside DATA it poisons the
 * message, which is refused at the end (SMTP smuggling, CVE-2023-51764).
 * Over-long lines get exactly one reply and their rest is discarded.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "addr.h"
#include "aliases.h"
#include "attacklog.h"
#include "attacklog_hold.h"
#include "auth.h"
#include "ban.h"
#include "clock.h"
#include "config.h"
#include "defense.h"
#include "dns.h"
#include "engine.h"
#include "grants.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "passwd_file.h"
#include "proxy_proto.h"
#include "relay.h"
#include "sasl.h"
#include "smtp_banned.h"
#include "smtp_parse.h"
#include "smtp_session.h"
#include "spool.h"
#include "srs.h"
#include "text.h"
#include "tls.h"

/* Input we hold before we stop reading from the socket (pipelining and
 * data are processed as they come; this bounds what waits meanwhile). */
#define SMTP_INPUT_HIGH_WATER	(256 * 1024)
/* Replies queued before we stop taking commands (a client that pipelines
 * without reading); commands are taken again once the output has drained
 * to SMTP_OUTPUT_LOW. Input then backs up to SMTP_INPUT_HIGH_WATER and
 * reading stops, so a session holds at most about the sum of the two, and
 * the write timeout ends a client that never reads. */
#define SMTP_OUTPUT_HIGH	(64 * 1024)
#define SMTP_OUTPUT_LOW		(16 * 1024)
#define SMTP_WRITE_TIMEOUT	60
/* The longest DATA waits for the client's name (the Received header
 * names it); c-ares gives up well before (dns.h). */
#define SMTP_NAME_WAIT_S	15
/* Pause of a session whose attack record found the log's writer behind. */
#define SMTP_TARPIT_US		50000

enum smtp_state {
	SMTP_STATE_NEW = 0,	/* admitting the client */
	SMTP_STATE_GREET_PAUSE,
	SMTP_STATE_HELO,
	SMTP_STATE_IDLE,
	SMTP_STATE_MAIL,
	SMTP_STATE_RCPT,
	SMTP_STATE_DATA,
	SMTP_STATE_COMMIT,
	SMTP_STATE_SASL,	/* reading an AUTH continuation line */
	SMTP_STATE_AUTHWAIT,	/* the auth process is checking */
	SMTP_STATE_BANNED,	/* refused at the greeting; QUIT only */
	SMTP_STATE_CLOSING,
	SMTP_STATE_NAMEWAIT,	/* DATA waits for the client's name */
};

static const char *const smtp_state_names[] = {
	"NEW", "GREET_PAUSE", "HELO", "IDLE", "MAIL", "RCPT", "DATA",
	"COMMIT", "SASL", "AUTHWAIT", "BANNED", "CLOSING", "NAMEWAIT",
};

#define ST(x)	(1u << SMTP_STATE_##x)
#define ST_SESSION	(ST(HELO) | ST(IDLE) | ST(MAIL) | ST(RCPT))

/* One accepted recipient and where it goes. */
struct smtp_rcpt {
	char	addr[ADDRESS_MAX + 1];
};

/* What the DATA phase found; the message is refused at "." if any. */
struct smtp_data {
	uint64_t	octets;
	unsigned	hops;
	bool		in_headers;
	bool		in_long_line;
	bool		long_line;
	bool		bare_eol;
	bool		nul;
	bool		too_big;
};

/* The mail transaction: exists from MAIL to the end of DATA or RSET. */
struct smtp_txn {
	struct smtp_path	 from;
	char			 from_text[ADDRESS_MAX + 1];
	bool			 sender_local;
	struct smtp_rcpt	*rcpts;
	size_t			 nrcpts, cap;
	struct spool_msg	*msg;	/* during DATA; then the spool's */
	/* delivery targets collected at RCPT time */
	char			**mailboxes;	/* "domain/user" */
	size_t			 nmailboxes, mbcap;
	char			**remotes;
	size_t			 nremotes, rmcap;
	bool			 forwarded;	/* an alias sends outside */
	struct smtp_data	 data;
};

struct smtp_session {
	struct conn		 conn;		/* peer, socket, name, close */
	enum smtp_state		 state;
	bool			 esmtp;
	bool			 authenticated;
	char			 auth_user[ADDRESS_MAX + 1];
	struct auth_req		*auth_req;
	enum { SASL_PLAIN, SASL_LOGIN_USER, SASL_LOGIN_PASS } sasl;
	char			 helo[HELO_MAX + 1];
	unsigned		 errors;
	unsigned		 junk;		/* non-mail commands (see junk) */
	bool			 out_held;	/* waiting for output to drain */
	bool			 read_paused;	/* EV_READ off while stuck */
	bool			 in_process;
	unsigned		 messages;
	struct event		*timer;		/* greet pause, name wait */
	struct event		*tarpit_timer;	/* reading paused */
	bool			 tarpit;
	struct smtp_txn		*txn;
	/* DNSBL ([defense] dnsbl): pending request, the zone that lists
	 * the client once known, and whether RCPT waits for the answer. */
	struct defense_dnsbl_req *dnsbl_req;
	char			 dnsbl_zone[DOMAIN_MAX + 1];
	bool			 dnsbl_wait;
	bool			 banned;	/* refused at the greeting */
};

static void smtp_process(struct smtp_session *);
static void smtp_data_start(struct smtp_session *);
static void smtp_timer_cb(evutil_socket_t, short, void *);
static void smtp_greet(struct smtp_session *);

/* The moves of the state notes above. */
static const uint32_t smtp_moves[] = {
	[SMTP_STATE_NEW] = ST(GREET_PAUSE) | ST(HELO) | ST(BANNED) |
	    ST(CLOSING),
	[SMTP_STATE_GREET_PAUSE] = ST(HELO) | ST(CLOSING),
	[SMTP_STATE_HELO] = ST(HELO) | ST(IDLE) | ST(CLOSING),
	[SMTP_STATE_IDLE] = ST(HELO) | ST(IDLE) | ST(MAIL) | ST(SASL) |
	    ST(AUTHWAIT) | ST(CLOSING),
	[SMTP_STATE_MAIL] = ST(IDLE) | ST(RCPT) | ST(CLOSING),
	[SMTP_STATE_RCPT] = ST(IDLE) | ST(RCPT) | ST(NAMEWAIT) | ST(DATA) |
	    ST(CLOSING),
	[SMTP_STATE_DATA] = ST(IDLE) | ST(COMMIT) | ST(CLOSING),
	[SMTP_STATE_COMMIT] = ST(IDLE) | ST(CLOSING),
	[SMTP_STATE_SASL] = ST(IDLE) | ST(AUTHWAIT) | ST(CLOSING),
	[SMTP_STATE_AUTHWAIT] = ST(IDLE) | ST(CLOSING),
	[SMTP_STATE_BANNED] = ST(CLOSING),
	[SMTP_STATE_CLOSING] = 0,
	[SMTP_STATE_NAMEWAIT] = ST(DATA) | ST(CLOSING),
};
CONN_MOVES_MATCH(smtp_moves, smtp_state_names);

static void
smtp_enter_state(struct smtp_session *s, enum smtp_state next)
{
	s->state = conn_move(&s->conn, smtp_moves, smtp_state_names,
	    s->state, next);
}

/* One reply line and its CRLF, in one write (conn.h). */
#define reply(s, ...)	conn_reply(&(s)->conn, __VA_ARGS__)

static void
record_attack_user(struct smtp_session *s, enum attack_kind kind,
    const char *to, const char *user, const char *reply_text)
{
	struct attack_record	 rec;

	if (s->conn.eng->alog == NULL)
		return;
	/* A trusted or authenticated client's slip (a bare LF from a
	 * broken mailer) is refused, but it is no attack. */
	if (kind == ATTACK_PROTOCOL && (s->conn.trusted || s->authenticated)) {
		log_info("%s not recorded: %s from a %s client", s->conn.sid,
		    reply_text, s->authenticated ? "authenticated" :
		    "trusted");
		return;
	}
	conn_record_init(&s->conn, &rec, kind, reply_text);
	text_copy(rec.helo, s->helo, sizeof(rec.helo));
	if (s->txn != NULL)
		text_copy(rec.from, s->txn->from_text, sizeof(rec.from));
	if (to != NULL)
		text_copy(rec.to, to, sizeof(rec.to));
	if (user != NULL)
		text_copy(rec.user, user, sizeof(rec.user));
	/* Our own users are never published (README, the public page). */
	rec.withdrawn = s->conn.trusted || s->authenticated;
	/* Past the backlog mark the writer is behind: slow this client so
	 * that a flood is recorded rather than dropped. */
	if (conn_record_put(&s->conn, &rec))
		s->tarpit = true;
	if (s->conn.eng->defense != NULL)
		defense_note(s->conn.eng->defense,
		    conn_sa(&s->conn), kind,
		    s->conn.trusted || s->authenticated);
}

static void
record_attack(struct smtp_session *s, enum attack_kind kind, const char *to,
    const char *reply_text)
{
	record_attack_user(s, kind, to, NULL, reply_text);
}

static void
txn_free(struct smtp_txn *t)
{
	size_t	i;

	if (t == NULL)
		return;
	if (t->msg != NULL)
		spool_msg_abort(t->msg);
	for (i = 0; i < t->nmailboxes; i++)
		free(t->mailboxes[i]);
	for (i = 0; i < t->nremotes; i++)
		free(t->remotes[i]);
	free(t->mailboxes);
	free(t->remotes);
	free(t->rcpts);
	free(t);
}

static void
txn_reset(struct smtp_session *s)
{
	txn_free(s->txn);
	s->txn = NULL;
}

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	p = realloc(p, *cap * size);
	if (p == NULL)
		FATAL("out of memory");
	return p;
}

static bool
str_in(char **list, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* A mailbox is stored as "domain/user", NUL, then the address the client
 * gave (orig_to in the delivery log line); str_in compares the first part. */
static void
add_mailbox(struct smtp_txn *t, const char *domain, const char *user,
    const char *orig)
{
	char	key[DOMAIN_MAX + LOCAL_PART_MAX + 2];
	char	*dup;
	size_t	 klen, olen = strlen(orig);

	text_printf(key, sizeof(key), "%s/%s", domain, user);
	if (str_in(t->mailboxes, t->nmailboxes, key))
		return;
	t->mailboxes = grow(t->mailboxes, &t->mbcap, t->nmailboxes,
	    sizeof(char *));
	klen = strlen(key);
	if ((dup = malloc(klen + olen + 2)) == NULL)
		FATAL("out of memory");
	memcpy(dup, key, klen + 1);
	memcpy(dup + klen + 1, orig, olen + 1);
	t->mailboxes[t->nmailboxes++] = dup;
}

static void
add_remote(struct smtp_txn *t, const char *addr)
{
	char	*dup;

	if (str_in(t->remotes, t->nremotes, addr))
		return;
	t->remotes = grow(t->remotes, &t->rmcap, t->nremotes, sizeof(char *));
	if ((dup = strdup(addr)) == NULL)
		FATAL("out of memory");
	t->remotes[t->nremotes++] = dup;
}

/* ---- closing ---------------------------------------------------------- */

/* conn_close() began (conn.h). */
static void
smtp_closing(void *arg)
{
	struct smtp_session	*s = arg;

	smtp_enter_state(s, SMTP_STATE_CLOSING);
}

/* The connection is gone (conn.h): the last of the session. */
static void
smtp_free(void *arg)
{
	struct smtp_session	*s = arg;

	if (!s->banned)
		log_info("%s disconnect ip=%s messages=%u errors=%u",
		    s->conn.sid, s->conn.peer_ip, s->messages, s->errors);
	defense_dnsbl_cancel(s->dnsbl_req);
	if (s->auth_req != NULL)
		auth_cancel(s->auth_req);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->tarpit_timer != NULL)
		event_free(s->tarpit_timer);
	txn_reset(s);
	free(s);
}

/* Count a client error; past max_errors the session ends (421). */
static bool
smtp_error(struct smtp_session *s)
{
	if (++s->errors < conn_cfg(&s->conn)->max_errors)
		return false;
	reply(s, "421 4.7.0 %s Error: too many errors", conn_cfg(&s->conn)->hostname);
	log_info("%s too many errors ip=%s", s->conn.sid, s->conn.peer_ip);
	record_attack(s, ATTACK_PROTOCOL, NULL, "421 4.7.0 too many errors");
	conn_close(&s->conn, "too many errors");
	return true;
}

/* ---- commands ----------------------------------------------------------- */

static bool
is_submission(const struct smtp_session *s)
{
	return s->conn.listener->role == LISTENER_SUBMISSION ||
	    s->conn.listener->role == LISTENER_SMTPS;
}

static bool
starttls_offered(const struct smtp_session *s)
{
	return s->conn.eng->tls != NULL && !s->conn.tls;
}

/* RFC 4954 4: no plaintext passwords over an unprotected link, except
 * from trusted networks when the admin allows it. */
static bool
auth_offered(const struct smtp_session *s)
{
	return s->conn.eng->auth != NULL && (s->conn.tls ||
	    (s->conn.trusted && conn_cfg(&s->conn)->trusted_plaintext_auth));
}

static void
smtp_cmd_helo_common(struct smtp_session *s, struct span arg, bool esmtp)
{
	const struct config	*cfg = conn_cfg(&s->conn);

	if (!smtp_parse_helo(arg, s->helo)) {
		s->helo[0] = '\0';
		reply(s, "501 5.5.4 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		smtp_error(s);
		return;
	}
	txn_reset(s);
	s->esmtp = esmtp;
	smtp_enter_state(s, SMTP_STATE_IDLE);
	if (!esmtp) {
		reply(s, "250 %s", cfg->hostname);
		return;
	}
	reply(s, "250-%s Hello %s [%s]", cfg->hostname, s->conn.client_name,
	    s->conn.peer_ip);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %llu", (unsigned long long)cfg->max_message_size);
	reply(s, "250-8BITMIME");
	if (starttls_offered(s))
		reply(s, "250-STARTTLS");
	if (auth_offered(s))
		reply(s, "250-AUTH PLAIN LOGIN");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

static void
smtp_cmd_helo(struct smtp_session *s, struct span arg)
{
	smtp_cmd_helo_common(s, arg, false);
}

static void
smtp_cmd_ehlo(struct smtp_session *s, struct span arg)
{
	smtp_cmd_helo_common(s, arg, true);
}

static bool
owner_is_local(const char *domain, void *arg)
{
	const struct smtp_session	*s = arg;

	return addr_domain_is_local(&conn_cfg(&s->conn)->domains, domain);
}

/* RFC 6409 6.1: a logged-in user may send as their own address, or as an
 * alias in a local domain that delivers to them; nobody else's. */
static bool
sender_owned(const struct smtp_session *s, const char *local,
    const char *domain)
{
	char	key[ADDRESS_MAX + 1];

	if (!addr_lookup_key(local, domain, key))
		return false;
	return aliases_sender_owned(s->conn.eng->aliases, key, s->auth_user,
	    owner_is_local, (void *)s);
}

static void
smtp_cmd_mail(struct smtp_session *s, struct span arg)
{
	const struct config	*cfg = conn_cfg(&s->conn);
	struct smtp_txn		*t;
	struct smtp_mail_params	 params;
	struct smtp_path	 path;
	char			 buf[ADDRESS_MAX * 4 + 1];
	char			 addr[ADDRESS_MAX + 1];

	switch (smtp_parse_mail(arg, &path, &params)) {
	case SMTP_PATH_OK:
		break;
	case SMTP_PATH_BAD_PARAM:
		reply(s, "555 5.5.4 Unsupported or malformed MAIL parameter");
		smtp_error(s);
		return;
	case SMTP_PATH_LOCAL_TOO_LONG:
	case SMTP_PATH_DOMAIN_TOO_LONG:
	case SMTP_PATH_NO_DOMAIN:
		reply(s, "553 5.1.7 Sender address rejected: bad address "
		    "syntax");
		smtp_error(s);
		return;
	default:
		reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		smtp_error(s);
		return;
	}
	if (params.has_size && params.size > cfg->max_message_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (is_submission(s) && !s->authenticated) {
		/* RFC 6409 4.3 and 8314: submission is for logged-in users. */
		if (!s->conn.tls)
			reply(s, "530 5.7.0 Must issue a STARTTLS command "
			    "first");
		else
			reply(s, "530 5.7.0 Authentication required");
		smtp_error(s);
		return;
	}
	if (s->authenticated && !path.is_null &&
	    !sender_owned(s, path.local, path.domain)) {
		smtp_path_format(&path, addr);
		reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned "
		    "by user %s", addr, s->auth_user);
		log_info("%s sender mismatch user=%s from=<%s>", s->conn.sid,
		    s->auth_user, log_sanitize(addr, buf, sizeof(buf)));
		smtp_error(s);
		return;
	}
	if (path.domain_is_literal) {
		/* Nothing legitimate sends from an address literal; and it
		 * can never be one of our domains. Accept it (RFC 5321
		 * 4.1.3 allows it), it only classifies. */
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		FATAL("out of memory");
	t->from = path;
	smtp_path_format(&path, t->from_text);
	t->sender_local = !path.is_null &&
	    addr_domain_is_local(&cfg->domains, path.domain);
	s->txn = t;
	smtp_enter_state(s, SMTP_STATE_MAIL);
	log_debug("%s mail from=<%s>", s->conn.sid,
	    log_sanitize(t->from_text, buf, sizeof(buf)));
	reply(s, "250 2.1.0 Ok");
}

struct expand_ctx {
	struct smtp_session	*s;
	struct smtp_txn		*t;
	size_t			 delivered;
	bool			 alias;	/* addresses come from an alias */
	const char		*orig;	/* the recipient as given */
};

static bool
domain_is_local_cb(const char *domain, void *arg)
{
	struct expand_ctx	*x = arg;

	return addr_domain_is_local(&conn_cfg(&x->s->conn)->domains, domain);
}

/* One final address of an alias expansion (or the address itself). */
static void
expand_emit(const char *addr, void *arg)
{
	struct expand_ctx	*x = arg;
	const struct config	*cfg = conn_cfg(&x->s->conn);
	const char		*at = strrchr(addr, '@');
	char			 local[LOCAL_PART_MAX + 1];

	if (at == NULL)
		return;
	if (!addr_domain_is_local(&cfg->domains, at + 1)) {
		add_remote(x->t, addr);
		x->t->forwarded |= x->alias;
		x->delivered++;
		return;
	}
	if (!text_copy_span(local, sizeof(local), addr, (size_t)(at - addr)))
		return;
	if ((x->s->conn.eng->users != NULL &&
	    passwd_file_has_user(x->s->conn.eng->users, addr)) ||
	    strcmp(local, "postmaster") == 0) {
		if (!spool_name_is_safe(local))
			return;
		add_mailbox(x->t, at + 1, local, x->orig);
		x->delivered++;
		return;
	}
	/* A plain unknown recipient is the caller's 550; only a broken alias
	 * is the admin's business. */
	if (x->alias)
		log_warn("%s alias target <%s> is neither a user nor remote",
		    x->s->conn.sid, addr);
}

/* Resolve a local recipient into mailboxes and forwards; false if none.
 * orig names the recipient in delivery log lines (NULL: the address). */
static bool
resolve_local_as(struct smtp_session *s, const char *local,
    const char *domain, const char *orig)
{
	struct expand_ctx	 x = { s, s->txn, 0, false, NULL };
	char			 key[ADDRESS_MAX + 1];
	int			 n;

	if (!addr_lookup_key(local, domain, key))
		return false;
	x.orig = orig != NULL ? orig : key;
	if (s->conn.eng->aliases != NULL && aliases_has(s->conn.eng->aliases,
	    key)) {
		x.alias = true;
		n = aliases_expand(s->conn.eng->aliases, key,
		    domain_is_local_cb,
		    expand_emit, &x);
		if (n < 0)
			log_warn("%s alias expansion of <%s> over its limits",
			    s->conn.sid, key);
		return x.delivered > 0;
	}
	expand_emit(key, &x);
	return x.delivered > 0;
}

static bool
resolve_local(struct smtp_session *s, const char *local, const char *domain)
{
	return resolve_local_as(s, local, domain, NULL);
}

/*
 * RCPT to an SRS address in our domain: a bounce to a forward we made goes
 * to the original sender (a mailbox here, or back out through the queue);
 * a forged, expired or unknown one gets 550. False after the reply.
 */
static bool
srs_rcpt(struct smtp_session *s, const struct smtp_path *path,
    const char *addr)
{
	enum srs_result	 r;
	char		 orig[ADDRESS_MAX + 1], local[LOCAL_PART_MAX + 1];
	char		 b1[ADDRESS_MAX * 4 + 1], b2[ADDRESS_MAX * 4 + 1];
	const char	*at;

	r = srs_reverse_rcpt(conn_cfg(&s->conn), time(NULL), path->local, orig,
	    sizeof(orig));
	if (r == SRS_OK && (at = strrchr(orig, '@')) != NULL) {
		if (!addr_domain_is_local(&conn_cfg(&s->conn)->domains, at + 1)) {
			add_remote(s->txn, orig);
			goto ok;
		}
		if (text_copy_span(local, sizeof(local), orig,
		    (size_t)(at - orig)) &&
		    resolve_local_as(s, local, at + 1, addr))
			goto ok;
	}
	reply(s, "550 5.1.1 <%s>: Recipient address rejected: %s", addr,
	    r == SRS_OK ? "User unknown" : r == SRS_EXPIRED ?
	    "SRS address expired" : "invalid SRS address");
	log_info("%s reject: RCPT from %s[%s]: 550 5.1.1 <%s>: Recipient "
	    "address rejected: SRS %s; from=<%s> to=<%s>", s->conn.sid,
	    s->conn.client_name, s->conn.peer_ip,
	    log_sanitize(addr, b1, sizeof(b1)), srs_result_name(r),
	    log_sanitize(s->txn->from_text, b2, sizeof(b2)), b1);
	smtp_error(s);
	return false;
ok:
	log_info("%s srs to=<%s> orig_to=<%s>", s->conn.sid,
	    log_sanitize(orig, b2, sizeof(b2)),
	    log_sanitize(addr, b1, sizeof(b1)));
	return true;
}

static void
smtp_cmd_rcpt(struct smtp_session *s, struct span arg)
{
	const struct config	*cfg = conn_cfg(&s->conn);
	struct smtp_txn		*t = s->txn;
	struct smtp_path	 path;
	struct relay_input	 in;
	struct relay_decision	 d;
	char			 addr[ADDRESS_MAX + 1];
	char			 b1[ADDRESS_MAX * 4 + 1], b2[ADDRESS_MAX * 4 + 1];
	char			 b3[HELO_MAX * 4 + 1], text[256];
	char			 grant_user[ADDRESS_MAX + 1] = "";

	if (t->nrcpts >= cfg->max_recipients) {
		/* RFC 5321 4.5.3.1.10: 452, the client sends the rest in
		 * another transaction. */
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	switch (smtp_parse_rcpt(arg, &path)) {
	case SMTP_PATH_OK:
		break;
	case SMTP_PATH_BAD_PARAM:
		reply(s, "555 5.5.4 Unsupported RCPT parameter");
		smtp_error(s);
		return;
	case SMTP_PATH_LOCAL_TOO_LONG:
	case SMTP_PATH_DOMAIN_TOO_LONG:
	case SMTP_PATH_NO_DOMAIN:
		reply(s, "553 5.1.3 Recipient address rejected: bad address "
		    "syntax");
		smtp_error(s);
		return;
	default:
		reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		smtp_error(s);
		return;
	}
	if (path.is_bare_postmaster) {
		/* RFC 5321 4.1.1.3: <Postmaster> means ours, any domain. */
		text_copy(path.local, "postmaster", sizeof(path.local));
		text_copy(path.domain, cfg->domains.names[0],
		    sizeof(path.domain));
	}
	smtp_path_format(&path, addr);

	memset(&in, 0, sizeof(in));
	in.client_trusted = s->conn.trusted;
	in.client_authenticated = s->authenticated;
	in.sender_null = t->from.is_null;
	in.sender_local = t->sender_local;
	in.rcpt_literal = path.domain_is_literal;
	in.rcpt_local_domain = !path.domain_is_literal &&
	    addr_domain_is_local(&cfg->domains, path.domain);
	in.rcpt_routing = addr_local_has_routing(&path);
	in.reject_forged_local_sender = cfg->reject_forged_local_sender;
	/* The grant lookup reads the store: only when it can matter. */
	if (!in.client_trusted && !in.client_authenticated &&
	    !s->conn.proxy_unknown &&
	    (!in.rcpt_local_domain || in.sender_local || in.rcpt_routing))
		in.client_pop_grant = grants_check(s->conn.eng,
		    conn_sa(&s->conn), grant_user);
	d = relay_decide(&in);

	/* [defense] dnsbl: for relay and local mail alike, so the attempt
	 * is recorded with its envelope; proven clients are never refused. */
	if (s->dnsbl_zone[0] != '\0' && !in.client_trusted &&
	    !in.client_authenticated && !in.client_pop_grant &&
	    !grants_check(s->conn.eng, conn_sa(&s->conn),
	    NULL)) {
		text_printf(text, sizeof(text), "554 5.7.1 Service "
		    "unavailable; client [%s] blocked using %s",
		    s->conn.peer_ip,
		    s->dnsbl_zone);
		reply(s, "%s", text);
		log_info("%s reject: RCPT from %s[%s]: %s; from=<%s> "
		    "to=<%s> dnsbl=%s", s->conn.sid, s->conn.client_name,
		    s->conn.peer_ip,
		    text, log_sanitize(t->from_text, b2, sizeof(b2)),
		    log_sanitize(addr, b1, sizeof(b1)), s->dnsbl_zone);
		record_attack(s, ATTACK_BLOCKLISTED, addr, text);
		smtp_error(s);
		return;
	}
	switch (d.verdict) {
	case RELAY_DELIVER_LOCAL:
		if (srs_is_srs(path.local, strlen(path.local))) {
			if (!srs_rcpt(s, &path, addr))
				return;
			break;
		}
		if (in.rcpt_routing ||
		    !resolve_local(s, path.local, path.domain)) {
			/* Refused at RCPT, so we never bounce to a forged
			 * sender later (no backscatter). */
			text_printf(text, sizeof(text),
			    "550 5.1.1 Recipient address rejected: "
			    "User unknown");
			reply(s, "550 5.1.1 <%s>: Recipient address rejected: "
			    "User unknown", addr);
			log_sanitize(addr, b1, sizeof(b1));
			log_info("%s reject: RCPT from %s[%s]: 550 5.1.1 <%s>: "
			    "Recipient address rejected: User unknown; "
			    "helo=<%s> from=<%s> to=<%s>", s->conn.sid,
			    s->conn.client_name, s->conn.peer_ip, b1,
			    log_sanitize(s->helo, b3, sizeof(b3)),
			    log_sanitize(t->from_text, b2, sizeof(b2)), b1);
			smtp_error(s);
			return;
		}
		break;
	case RELAY_ALLOW:
		add_remote(t, addr);
		log_info("%s relay ip=%s to=<%s> licence=%s%s%s", s->conn.sid,
		    s->conn.peer_ip, log_sanitize(addr, b1, sizeof(b1)),
		    s->conn.trusted ? "trusted-network" : s->authenticated ?
		    "auth" : "pop-before-smtp",
		    s->authenticated ? " user=" : in.client_pop_grant &&
		    !s->conn.trusted ? " grant-user=" : "",
		    s->authenticated ? s->auth_user : in.client_pop_grant &&
		    !s->conn.trusted ? grant_user : "");
		break;
	case RELAY_DENY:
	case RELAY_DENY_LITERAL:
		text_printf(text, sizeof(text), "554 5.7.1 Relay access denied");
		reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
		goto refused;
	case RELAY_DENY_FORGED_LOCAL:
		text_printf(text, sizeof(text), "550 5.7.1 Sender address "
		    "rejected: local sender from an unauthenticated client");
		reply(s, "550 5.7.1 <%s>: Sender address rejected: local "
		    "sender from an unauthenticated client", t->from_text);
		goto refused;
	}
	t->rcpts = grow(t->rcpts, &t->cap, t->nrcpts, sizeof(*t->rcpts));
	text_copy(t->rcpts[t->nrcpts++].addr, addr, ADDRESS_MAX + 1);
	smtp_enter_state(s, SMTP_STATE_RCPT);
	reply(s, "250 2.1.5 Ok");
	return;

refused:
	/* Postfix's wording first (what the client was told), then the
	 * fields. */
	log_info("%s reject: RCPT from %s[%s]: %s; helo=<%s> from=<%s> "
	    "to=<%s> verdict=%s%s%s", s->conn.sid, s->conn.client_name,
	    s->conn.peer_ip, text, log_sanitize(s->helo, b3, sizeof(b3)),
	    log_sanitize(t->from_text, b1, sizeof(b1)),
	    log_sanitize(addr, b2, sizeof(b2)),
	    relay_verdict_name(d.verdict), d.is_attack ? " attack=" : "",
	    d.is_attack ? attack_kind_name(d.kind) : "");
	if (d.is_attack)
		record_attack(s, d.kind, addr, text);
	smtp_error(s);
}

static void
write_received(struct smtp_session *s, struct spool_msg *msg)
{
	const struct config	*cfg = conn_cfg(&s->conn);
	char			 line[SMTP_TEXT_LINE_MAX];
	char			 date[64], b1[HELO_MAX * 4 + 1];
	time_t			 now = time(NULL);
	struct tm		 tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	text_printf(line, sizeof(line), "Received: from %s (%s [%s])",
	    log_sanitize(s->helo, b1, sizeof(b1)), s->conn.client_name,
	    s->conn.peer_ip);
	spool_msg_line(msg, line, strlen(line));
	if (s->conn.tls && *s->conn.tls_info != '\0') {
		char *sp = strchr(s->conn.tls_info, ' ');

		text_printf(line, sizeof(line), "\t(using %.*s with cipher %s)",
		    sp ? (int)(sp - s->conn.tls_info) : 0, s->conn.tls_info,
		    sp ? sp + 1 : s->conn.tls_info);
		spool_msg_line(msg, line, strlen(line));
	}
	if (s->authenticated && cfg->received_auth_user) {
		text_printf(line, sizeof(line), "\t(Authenticated sender: %s)",
		    s->auth_user);
		spool_msg_line(msg, line, strlen(line));
	}
	/* RFC 3848 with-protocol types. */
	text_printf(line, sizeof(line), "\tby %s (pillory) with %s%s%s id %s",
	    cfg->hostname, s->esmtp ? "ESMTP" : "SMTP",
	    s->esmtp && s->conn.tls ? "S" : "",
	    s->esmtp && s->authenticated ? "A" : "", spool_msg_id(msg));
	spool_msg_line(msg, line, strlen(line));
	if (s->txn->nrcpts == 1)
		text_printf(line, sizeof(line), "\tfor <%s>; %s",
		    s->txn->rcpts[0].addr, date);
	else
		text_printf(line, sizeof(line), "\t; %s", date);
	spool_msg_line(msg, line, strlen(line));
}

static void
smtp_cmd_data(struct smtp_session *s, struct span arg)
{
	struct smtp_txn	*t = s->txn;

	if (arg.len != 0) {
		reply(s, "501 5.5.4 Syntax: DATA");
		smtp_error(s);
		return;
	}
	if ((t->msg = spool_msg_new(s->conn.eng->spool)) == NULL) {
		reply(s, "451 4.3.0 Error: queue file write error");
		txn_reset(s);
		smtp_enter_state(s, SMTP_STATE_IDLE);
		return;
	}
	spool_msg_set_sender(t->msg, t->from_text);
	if (s->conn.hold != NULL && attacklog_hold_name(s->conn.hold) == NULL) {
		/* The Received header names the client: wait for the
		 * look-up (bounded); the client waits for 354 anyway (RFC
		 * 2920 3.1). */
		struct timeval tv = { SMTP_NAME_WAIT_S, 0 };

		smtp_enter_state(s, SMTP_STATE_NAMEWAIT);
		if (s->timer == NULL)
			s->timer = evtimer_new(s->conn.eng->base,
			    smtp_timer_cb, s);
		evtimer_add(s->timer, &tv);
		return;
	}
	smtp_data_start(s);
}

/* Received header, 354: DATA begins (the client's name is known or the
 * wait for it is over). */
static void
smtp_data_start(struct smtp_session *s)
{
	struct smtp_txn	*t = s->txn;

	memset(&t->data, 0, sizeof(t->data));
	t->data.in_headers = true;
	write_received(s, t->msg);
	smtp_enter_state(s, SMTP_STATE_DATA);
	bufferevent_set_timeouts(s->conn.bev, &(struct timeval){
	    (time_t)conn_cfg(&s->conn)->data_timeout, 0 },
	    &(struct timeval){ SMTP_WRITE_TIMEOUT, 0 });
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
smtp_cmd_rset(struct smtp_session *s, struct span arg)
{
	(void)arg;
	txn_reset(s);
	if (s->state != SMTP_STATE_HELO)
		smtp_enter_state(s, SMTP_STATE_IDLE);
	reply(s, "250 2.0.0 Ok");
}

static void
smtp_cmd_noop(struct smtp_session *s, struct span arg)
{
	(void)arg;
	reply(s, "250 2.0.0 Ok");
}

static void
smtp_cmd_quit(struct smtp_session *s, struct span arg)
{
	(void)arg;
	reply(s, "221 2.0.0 Bye");
	conn_close(&s->conn, "quit");
}

static void
smtp_cmd_vrfy(struct smtp_session *s, struct span arg)
{
	if (arg.len == 0) {
		reply(s, "501 5.5.4 Syntax: VRFY address");
		smtp_error(s);
		return;
	}
	/* RFC 5321 3.5.3: 252 rather than help harvesters. */
	reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and "
	    "attempt delivery");
}

static void
smtp_cmd_not_implemented(struct smtp_session *s, struct span arg)
{
	(void)arg;
	reply(s, "502 5.5.1 Error: command not implemented");
	smtp_error(s);
}

static void
smtp_cmd_starttls(struct smtp_session *s, struct span arg)
{
	if (!starttls_offered(s)) {
		reply(s, s->conn.tls ? "503 5.5.1 Error: TLS already active" :
		    "502 5.5.1 Error: command not implemented");
		smtp_error(s);
		return;
	}
	if (arg.len != 0) {
		reply(s, "501 5.5.4 Syntax: STARTTLS");
		smtp_error(s);
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	/* RFC 3207 4.2: forget everything learnt before, including any
	 * commands the client pipelined behind STARTTLS (tls_starttls drops
	 * them: CVE-2011-0411). */
	conn_starttls(&s->conn);
	txn_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	smtp_enter_state(s, SMTP_STATE_HELO);
}

static void smtp_auth_check(struct smtp_session *, const char *,
    const char *);

static void
auth_failed_reply(struct smtp_session *s, const char *user)
{
	char	b[ADDRESS_MAX * 4 + 1];

	reply(s, "535 5.7.8 Error: authentication failed");
	log_info("%s auth failed ip=%s user=%s", s->conn.sid, s->conn.peer_ip,
	    log_sanitize(user, b, sizeof(b)));
	record_attack_user(s, ATTACK_AUTH_FAIL, NULL, user,
	    "535 5.7.8 authentication failed");
}

static void
smtp_auth_done(enum auth_result result, void *arg)
{
	struct smtp_session	*s = arg;

	s->auth_req = NULL;
	smtp_enter_state(s, SMTP_STATE_IDLE);
	switch (result) {
	case AUTH_OK:
		s->authenticated = true;
		/* A login proves the address: its records leave the page. */
		attacklog_login(s->conn.eng->alog, s->conn.peer_ip,
		    clock_now_us());
		if (s->conn.eng->defense != NULL)
			defense_login(s->conn.eng->defense,
			    conn_sa(&s->conn));
		log_info("%s auth ok ip=%s user=%s%s%s", s->conn.sid,
		    s->conn.peer_ip,
		    s->auth_user, s->conn.tls ? " tls=" : "", s->conn.tls_info);
		reply(s, "235 2.7.0 Authentication successful");
		break;
	case AUTH_FAIL:
		auth_failed_reply(s, s->auth_user);
		s->auth_user[0] = '\0';
		if (smtp_error(s))
			return;
		break;
	case AUTH_TEMPFAIL:
		s->auth_user[0] = '\0';
		reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	}
	smtp_process(s);
}

/* Hand user and password to the auth process; the password is wiped by
 * the caller. */
static void
smtp_auth_check(struct smtp_session *s, const char *user,
    const char *password)
{
	text_copy(s->auth_user, user, sizeof(s->auth_user));
	text_lower(s->auth_user);
	smtp_enter_state(s, SMTP_STATE_AUTHWAIT);
	s->auth_req = auth_verify(s->conn.eng->auth, s->auth_user, password,
	    conn_sa(&s->conn), smtp_auth_done, s);
}

/* A PLAIN response (initial or continuation). */
static void
auth_plain(struct smtp_session *s, const char *b64, size_t len)
{
	char	user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];

	if (sasl_plain_decode(b64, len, user, pass) == -1) {
		reply(s, "501 5.5.2 Error: invalid PLAIN response");
		smtp_enter_state(s, SMTP_STATE_IDLE);
		auth_note_failure(s->conn.eng->auth,
		    conn_sa(&s->conn));
		smtp_error(s);
		return;
	}
	smtp_auth_check(s, user, pass);
	explicit_bzero(pass, sizeof(pass));
}

static int
decode_text(const char *b64, size_t len, char *out, size_t size)
{
	int	n = sasl_base64_decode(b64, len, (uint8_t *)out, size - 1);

	if (n < 0 || memchr(out, '\0', (size_t)n) != NULL) {
		explicit_bzero(out, size);
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/* One line in SMTP_STATE_SASL: a continuation of PLAIN or LOGIN. */
static void
smtp_sasl_line(struct smtp_session *s, const char *line, size_t len)
{
	char	pass[AUTH_PASSWORD_MAX + 1];

	if (len == 1 && line[0] == '*') {
		reply(s, "501 5.0.0 Authentication aborted");
		s->auth_user[0] = '\0';
		smtp_enter_state(s, SMTP_STATE_IDLE);
		return;
	}
	switch (s->sasl) {
	case SASL_PLAIN:
		auth_plain(s, line, len);
		return;
	case SASL_LOGIN_USER:
		if (decode_text(line, len, s->auth_user,
		    sizeof(s->auth_user)) == -1)
			break;
		s->sasl = SASL_LOGIN_PASS;
		reply(s, "334 UGFzc3dvcmQ6");	/* "Password:" */
		return;
	case SASL_LOGIN_PASS:
		if (decode_text(line, len, pass, sizeof(pass)) == -1)
			break;
		smtp_auth_check(s, s->auth_user, pass);
		explicit_bzero(pass, sizeof(pass));
		return;
	}
	reply(s, "501 5.5.2 Error: invalid base64 data");
	s->auth_user[0] = '\0';
	smtp_enter_state(s, SMTP_STATE_IDLE);
	smtp_error(s);
}

static void
smtp_cmd_auth(struct smtp_session *s, struct span arg)
{
	const char	*sp;
	struct span	 mech, ir = { NULL, 0 };

	if (!auth_offered(s)) {
		if (s->conn.eng->tls != NULL && !s->conn.tls)
			reply(s, "538 5.7.11 Encryption required for "
			    "requested authentication mechanism");
		else
			reply(s, "502 5.5.1 Error: authentication not "
			    "enabled");
		smtp_error(s);
		return;
	}
	if (s->authenticated) {
		reply(s, "503 5.5.1 Error: already authenticated");
		smtp_error(s);
		return;
	}
	if (auth_is_blocked(s->conn.eng->auth,
	    conn_sa(&s->conn))) {
		reply(s, "421 4.7.0 %s Error: too many authentication "
		    "failures; try again later", conn_cfg(&s->conn)->hostname);
		conn_close(&s->conn, "auth blocked");
		return;
	}
	mech = arg;
	if ((sp = memchr(arg.p, ' ', arg.len)) != NULL) {
		mech.len = (size_t)(sp - arg.p);
		ir.p = sp + 1;
		ir.len = arg.len - mech.len - 1;
	}
	if (text_span_ieq(mech.p, mech.len, "PLAIN")) {
		s->sasl = SASL_PLAIN;
		if (ir.p == NULL) {
			smtp_enter_state(s, SMTP_STATE_SASL);
			reply(s, "334 ");
			return;
		}
		/* RFC 4954 4: "=" is an empty initial response. */
		if (ir.len == 1 && ir.p[0] == '=')
			ir.len = 0;
		auth_plain(s, ir.p, ir.len);
		return;
	}
	if (text_span_ieq(mech.p, mech.len, "LOGIN")) {
		smtp_enter_state(s, SMTP_STATE_SASL);
		if (ir.p == NULL) {
			s->sasl = SASL_LOGIN_USER;
			reply(s, "334 VXNlcm5hbWU6");	/* "Username:" */
			return;
		}
		s->sasl = SASL_LOGIN_USER;
		smtp_sasl_line(s, ir.p, ir.len);
		return;
	}
	reply(s, "504 5.5.4 Error: unsupported authentication mechanism");
	smtp_error(s);
}

static void smtp_cmd_help(struct smtp_session *, struct span);

struct smtp_command_desc {
	enum smtp_verb	 verb;
	unsigned	 states;	/* where the command is in sequence */
	const char	*out_of_sequence; /* reply otherwise */
	void		(*run)(struct smtp_session *, struct span);
	bool		 advertised;	/* listed by HELP */
};

static const struct smtp_command_desc smtp_commands[] = {
	{ SMTP_VERB_EHLO, ST_SESSION, NULL, smtp_cmd_ehlo, true },
	{ SMTP_VERB_HELO, ST_SESSION, NULL, smtp_cmd_helo, true },
	{ SMTP_VERB_MAIL, ST(IDLE),
	    NULL, smtp_cmd_mail, true },
	{ SMTP_VERB_RCPT, ST(MAIL) | ST(RCPT),
	    "503 5.5.1 Error: need MAIL command", smtp_cmd_rcpt, true },
	{ SMTP_VERB_DATA, ST(RCPT),
	    NULL, smtp_cmd_data, true },
	{ SMTP_VERB_RSET, ST_SESSION, NULL, smtp_cmd_rset, true },
	{ SMTP_VERB_NOOP, ST_SESSION, NULL, smtp_cmd_noop, true },
	{ SMTP_VERB_QUIT, ST_SESSION | ST(BANNED), NULL, smtp_cmd_quit, true },
	{ SMTP_VERB_VRFY, ST_SESSION, NULL, smtp_cmd_vrfy, true },
	{ SMTP_VERB_HELP, ST_SESSION, NULL, smtp_cmd_help, true },
	{ SMTP_VERB_EXPN, ST_SESSION, NULL, smtp_cmd_not_implemented, false },
	{ SMTP_VERB_STARTTLS, ST(HELO) | ST(IDLE),
	    "503 5.5.1 Error: STARTTLS inside a mail transaction",
	    smtp_cmd_starttls, true },
	{ SMTP_VERB_AUTH, ST(IDLE),
	    "503 5.5.1 Error: AUTH not allowed now", smtp_cmd_auth, true },
	{ SMTP_VERB_BDAT, ST_SESSION, NULL, smtp_cmd_not_implemented, false },
};

static void
smtp_cmd_help(struct smtp_session *s, struct span arg)
{
	char	list[256] = "";
	size_t	i;

	(void)arg;
	for (i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++) {
		if (!smtp_commands[i].advertised)
			continue;
		text_append(list, " ", sizeof(list));
		text_append(list, smtp_verb_name(smtp_commands[i].verb),
		    sizeof(list));
	}
	reply(s, "214 2.0.0 Commands:%s", list);
}

/* Reply for a command that is valid but not now. */
static const char *
out_of_sequence(const struct smtp_session *s,
    const struct smtp_command_desc *d)
{
	if (s->state == SMTP_STATE_BANNED)
		return "503 5.7.1 Error: banned; only QUIT is accepted";
	if (s->state == SMTP_STATE_HELO && d->verb != SMTP_VERB_RCPT &&
	    d->verb != SMTP_VERB_DATA)
		return "503 5.5.1 Error: send HELO/EHLO first";
	switch (d->verb) {
	case SMTP_VERB_MAIL:
		return "503 5.5.1 Error: nested MAIL command";
	case SMTP_VERB_DATA:
		return s->state == SMTP_STATE_MAIL ?
		    "554 5.5.1 Error: no valid recipients" :
		    "503 5.5.1 Error: need RCPT command";
	default:
		return d->out_of_sequence != NULL ? d->out_of_sequence :
		    "503 5.5.1 Error: bad sequence of commands";
	}
}

/*
 * Commands that move no mail (HELO, EHLO, NOOP, RSET, VRFY, EXPN, HELP)
 * count toward [smtp] junk_command_limit, as Postfix's
 * smtpd_junk_command_limit does: past it the session ends with 421, so an
 * endless trickle of them ends too. A queued message starts the count
 * again. True when the session was closed.
 */
static bool
smtp_junk(struct smtp_session *s, enum smtp_verb verb)
{
	switch (verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
	case SMTP_VERB_NOOP:
	case SMTP_VERB_RSET:
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
	case SMTP_VERB_HELP:
		break;
	default:
		return false;
	}
	if (++s->junk <= conn_cfg(&s->conn)->junk_command_limit)
		return false;
	reply(s, "421 4.7.0 %s Error: too many commands without mail",
	    conn_cfg(&s->conn)->hostname);
	log_info("%s command flood ip=%s commands=%u", s->conn.sid,
	    s->conn.peer_ip,
	    s->junk);
	if (!s->conn.trusted && !s->authenticated)
		record_attack(s, ATTACK_PROTOCOL, NULL,
		    "421 4.7.0 command flood");
	conn_close(&s->conn, "command flood");
	return true;
}

static void
smtp_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	/* The answer to each line the parser refuses. */
	static const char *const refusals[] = {
		[SMTP_PARSE_EMPTY] = "500 5.5.2 Error: command not recognized",
		[SMTP_PARSE_UNKNOWN] = "500 5.5.2 Error: command not recognized",
		[SMTP_PARSE_NUL] = "500 5.5.2 Error: NUL character in command",
		[SMTP_PARSE_BARE_EOL] =
		    "500 5.5.2 Error: bare <CR> or <LF> in command",
		[SMTP_PARSE_8BIT] =
		    "500 5.5.2 Error: 8-bit character in command",
		[SMTP_PARSE_TOO_LONG] = "500 5.5.2 Error: line too long",
	};
	struct smtp_command			 cmd;
	const struct smtp_command_desc		*d = NULL;
	enum smtp_parse_result			 r;
	size_t					 i;

	if ((r = smtp_parse_command(line, len, &cmd)) != SMTP_PARSE_OK) {
		if ((size_t)r >= sizeof(refusals) / sizeof(refusals[0]) ||
		    refusals[r] == NULL)
			FATAL("parse result without a refusal");
		reply(s, "%s", refusals[r]);
		/* A bare CR or LF is how SMTP smuggling begins. */
		if (r == SMTP_PARSE_BARE_EOL) {
			log_info("%s bare CR/LF in command ip=%s",
			    s->conn.sid, s->conn.peer_ip);
			record_attack(s, ATTACK_PROTOCOL, NULL,
			    "500 5.5.2 bare CR or LF in command");
		}
		smtp_error(s);
		return;
	}
	for (i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++)
		if (smtp_commands[i].verb == cmd.verb)
			d = &smtp_commands[i];
	if (d == NULL)
		FATAL("parsed verb missing from the command table");
	if (smtp_junk(s, d->verb))
		return;
	if ((d->states & (1u << s->state)) == 0) {
		reply(s, "%s", out_of_sequence(s, d));
		smtp_error(s);
		return;
	}
	d->run(s, cmd.arg);
}

/* ---- input ---------------------------------------------------------------- */

static void
drain(struct evbuffer *in, size_t n)
{
	evbuffer_drain(in, n);
}

/* True when the next input line is an RCPT command (ASCII, any case). */
static bool
smtp_next_is_rcpt(struct smtp_session *s)
{
	struct evbuffer	*in = bufferevent_get_input(s->conn.bev);
	unsigned char	*p;

	if ((s->state != SMTP_STATE_MAIL && s->state != SMTP_STATE_RCPT) ||
	    evbuffer_get_length(in) < 4 ||
	    (p = evbuffer_pullup(in, 4)) == NULL)
		return false;
	return strncasecmp((const char *)p, "RCPT", 4) == 0;
}

/* Take one command line; false when more input is needed. */
static bool
smtp_command_step(struct smtp_session *s)
{
	char	line[SMTP_LINE_MAX + 1];
	size_t	len;

	if (s->dnsbl_req != NULL && smtp_next_is_rcpt(s)) {
		/* The DNSBL answer decides this RCPT: wait for it (bounded
		 * by the DNS timeout); reading goes on when it comes. */
		s->dnsbl_wait = true;
		return false;
	}
	switch (conn_take_line(&s->conn, SMTP_LINE_MAX, line, &len)) {
	case LINE_MORE:
	case LINE_SKIPPED:	/* conn_take_line() goes past them */
		return false;
	case LINE_TOO_LONG:
		reply(s, "500 5.5.2 Error: line too long");
		return !smtp_error(s);
	case LINE_READY:
		break;
	}
	if (s->state == SMTP_STATE_SASL)
		smtp_sasl_line(s, line, len);
	else
		smtp_dispatch(s, line, len);
	/* It may have held a password. */
	explicit_bzero(line, len + 2);
	return true;
}

static void smtp_commit_done(int, void *);

/* The final "." arrived: refuse a poisoned message or commit it. */
static void
smtp_data_end(struct smtp_session *s)
{
	struct smtp_txn		*t = s->txn;
	struct smtp_data	*d = &t->data;
	const char		*refusal = NULL;
	size_t			 i;
	char			 srs[ADDRESS_MAX + 1];
	char			 b[ADDRESS_MAX * 4 + 1];

	bufferevent_set_timeouts(s->conn.bev, &(struct timeval){
	    (time_t)conn_cfg(&s->conn)->command_timeout, 0 },
	    &(struct timeval){ SMTP_WRITE_TIMEOUT, 0 });
	if (d->bare_eol) {
		refusal = "554 5.6.0 Error: message contains bare <CR> or "
		    "<LF> (RFC 5321 2.3.8); not accepted";
		record_attack(s, ATTACK_PROTOCOL,
		    t->nrcpts ? t->rcpts[0].addr : NULL,
		    "554 5.6.0 bare CR or LF in message (smuggling)");
	} else if (d->nul)
		refusal = "554 5.6.0 Error: message contains NUL characters";
	else if (d->too_big)
		refusal = "552 5.3.4 Error: message size exceeds fixed limit";
	else if (d->long_line)
		refusal = "554 5.6.0 Error: message line longer than 998 "
		    "characters (RFC 5321 4.5.3.1.6)";
	else if (d->hops > RECEIVED_HOPS_MAX)
		refusal = "554 5.4.6 Error: too many hops (mail loop?)";
	if (refusal != NULL) {
		reply(s, "%s", refusal);
		log_info("%s refused ip=%s id=%s reply=\"%s\"", s->conn.sid,
		    s->conn.peer_ip, spool_msg_id(t->msg), refusal);
		txn_reset(s);
		smtp_enter_state(s, SMTP_STATE_IDLE);
		return;
	}
	for (i = 0; i < t->nmailboxes; i++) {
		char *slash = strchr(t->mailboxes[i], '/');

		*slash = '\0';
		spool_msg_add_mailbox_orig(t->msg, t->mailboxes[i],
		    slash + 1, slash + 1 + strlen(slash + 1) + 1);
		*slash = '/';
	}
	for (i = 0; i < t->nremotes; i++)
		spool_msg_add_remote(t->msg, t->remotes[i]);
	if (t->forwarded && srs_forward_sender(conn_cfg(&s->conn), time(NULL),
	    t->from_text, srs, sizeof(srs))) {
		spool_msg_set_queue_sender(t->msg, srs);
		log_info("%s srs id=%s from=<%s> queue_from=<%s>", s->conn.sid,
		    spool_msg_id(t->msg),
		    log_sanitize(t->from_text, b, sizeof(b)), srs);
	}
	smtp_enter_state(s, SMTP_STATE_COMMIT);
	/* The spool calls us back: a close meanwhile waits for it. */
	conn_hold(&s->conn);
	spool_msg_commit(t->msg, smtp_commit_done, s);
}

static void
smtp_commit_done(int status, void *arg)
{
	struct smtp_session	*s = arg;
	struct smtp_txn		*t = s->txn;
	char			 b[ADDRESS_MAX * 4 + 1];

	if (status == 0) {
		s->messages++;
		s->junk = 0;
		log_info("%s queued id=%s ip=%s from=<%s> rcpts=%zu "
		    "mailboxes=%zu remote=%zu size=%llu", s->conn.sid,
		    spool_msg_id(t->msg), s->conn.peer_ip,
		    log_sanitize(t->from_text, b, sizeof(b)), t->nrcpts,
		    t->nmailboxes, t->nremotes,
		    (unsigned long long)t->data.octets);
		reply(s, "250 2.0.0 Ok: queued as %s", spool_msg_id(t->msg));
	} else
		reply(s, "451 4.3.0 Error: local error in processing; "
		    "try again later");
	t->msg = NULL;	/* the spool freed it */
	txn_reset(s);
	if (conn_release(&s->conn) || s->conn.closing)
		return;
	smtp_enter_state(s, SMTP_STATE_IDLE);
	smtp_process(s);
}

static void
data_line(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_data	*d = &s->txn->data;
	const struct config	*cfg = conn_cfg(&s->conn);

	/* RFC 5321 4.5.2: a leading dot was doubled by the client. */
	if (len > 0 && line[0] == '.') {
		line++;
		len--;
	}
	if (memchr(line, '\r', len) != NULL || memchr(line, '\n', len) != NULL)
		d->bare_eol = true;
	if (memchr(line, '\0', len) != NULL)
		d->nul = true;
	if (d->in_headers) {
		if (len == 0)
			d->in_headers = false;
		else if (len >= 9 && strncasecmp(line, "Received:", 9) == 0)
			d->hops++;
	}
	d->octets += len + 2;
	if (d->octets > cfg->max_message_size)
		d->too_big = true;
	if (d->bare_eol || d->nul || d->too_big || d->long_line)
		return;		/* refused at the end; stop writing */
	spool_msg_line(s->txn->msg, line, len);
}

/* Consume DATA lines; false when more input is needed. */
static bool
smtp_data_step(struct smtp_session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->conn.bev);
	struct smtp_data	*d = &s->txn->data;
	struct evbuffer_ptr	 eol;
	size_t			 eol_len, avail, len;
	char			 line[SMTP_TEXT_LINE_MAX + 1];

	for (;;) {
		avail = evbuffer_get_length(in);
		if (avail == 0)
			return false;
		eol = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_CRLF_STRICT);
		if (eol.pos == -1) {
			if (avail > SMTP_TEXT_LINE_MAX) {
				d->long_line = true;
				d->in_long_line = true;
				d->octets += avail - 1;
				drain(in, avail - 1);
			}
			return false;
		}
		len = (size_t)eol.pos;
		if (d->in_long_line) {
			/* The end of a line we already refused. */
			d->in_long_line = false;
			d->octets += len + 2;
			drain(in, len + 2);
			continue;
		}
		if (len + 2 > SMTP_TEXT_LINE_MAX) {
			d->long_line = true;
			d->octets += len + 2;
			drain(in, len + 2);
			continue;
		}
		evbuffer_remove(in, line, len + 2);
		if (len == 1 && line[0] == '.') {
			smtp_data_end(s);
			return true;
		}
		data_line(s, line, len);
	}
}

/* The greet pause is over, or the client's name is still unknown at
 * DATA. */
static void
smtp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session	*s = arg;

	(void)fd;
	(void)what;
	if (s->state == SMTP_STATE_GREET_PAUSE)
		smtp_greet(s);
	if (s->state == SMTP_STATE_NAMEWAIT) {
		log_info("%s client name still unknown at DATA ip=%s",
		    s->conn.sid, s->conn.peer_ip);
		smtp_data_start(s);
		smtp_process(s);
	}
}

/* The client's name is known (conn.h). */
static void
smtp_name_cb(void *arg, const char *name)
{
	struct smtp_session	*s = arg;

	(void)name;
	if (s->state == SMTP_STATE_NAMEWAIT) {
		evtimer_del(s->timer);
		smtp_data_start(s);
		smtp_process(s);
	}
}

static void
dnsbl_done(const char *zone, void *arg)
{
	struct smtp_session	*s = arg;

	s->dnsbl_req = NULL;
	if (zone != NULL) {
		text_copy(s->dnsbl_zone, zone, sizeof(s->dnsbl_zone));
		log_info("%s dnsbl ip=%s listed by %s", s->conn.sid,
		    s->conn.peer_ip, zone);
	}
	if (s->dnsbl_wait) {
		s->dnsbl_wait = false;
		smtp_process(s);
	}
}

/* A banned client: 554 instead of the greeting, one record, QUIT only.
 * On plaintext listeners smtp_banned.c answers it before any session. */
static bool
smtp_refuse_banned(struct smtp_session *s)
{
	const struct ban_entry	*b;
	char			 net[BAN_NET_TEXT_MAX], text[ATTACK_REPLY_MAX];

	if (s->conn.eng->defense == NULL ||
	    (b = defense_banned(s->conn.eng->defense,
	    conn_sa(&s->conn), s->conn.trusted)) == NULL)
		return false;
	ban_net_format(&b->net, net, sizeof(net));
	text_printf(text, sizeof(text), "554 5.7.1 Service unavailable; "
	    "client [%s] is banned", s->conn.peer_ip);
	s->banned = true;
	smtp_enter_state(s, SMTP_STATE_BANNED);
	reply(s, "554 5.7.1 %s Service unavailable; client [%s] is banned "
	    "for repeated attacks", conn_cfg(&s->conn)->hostname, s->conn.peer_ip);
	log_info("%s banned ip=%s port=%d network=%s", s->conn.sid,
	    s->conn.peer_ip,
	    s->conn.listener->port, net);
	record_attack(s, ATTACK_BANNED, NULL, text);
	return true;
}

/* The client's address is known (socket or PROXY): limits, name, greet. */
static void
smtp_client_known(struct smtp_session *s)
{
	const struct config	*cfg = conn_cfg(&s->conn);
	struct timeval		 tv = { 0, 0 };

	if (!conn_admit(&s->conn)) {
		reply(s, "421 4.7.0 %s Error: too many connections from your "
		    "address", cfg->hostname);
		conn_close(&s->conn, "per-address limit");
		return;
	}
	/* A banned client gets one log line, not three: a botnet's
	 * reconnects should not cost more than their refusal. */
	if (smtp_refuse_banned(s))
		return;
	conn_log_connect(&s->conn);
	if (!s->conn.trusted && s->conn.eng->defense != NULL)
		s->dnsbl_req = defense_dnsbl(s->conn.eng->defense,
		    conn_sa(&s->conn), dnsbl_done, s);
	conn_lookup_name(&s->conn);
	if (cfg->greet_pause > 0) {
		smtp_enter_state(s, SMTP_STATE_GREET_PAUSE);
		if (s->timer == NULL &&
		    (s->timer = evtimer_new(s->conn.eng->base, smtp_timer_cb,
		    s)) == NULL)
			FATAL("evtimer_new");
		tv.tv_sec = (time_t)cfg->greet_pause;
		evtimer_add(s->timer, &tv);
		return;
	}
	smtp_greet(s);
}

static void
smtp_greet(struct smtp_session *s)
{
	struct evbuffer	*in = bufferevent_get_input(s->conn.bev);

	if (evbuffer_get_length(in) > 0 || s->conn.early_talk) {
		/* RFC 5321 4.3.1: the client waits for the greeting. A
		 * client that talks first is a spam engine in a hurry. */
		reply(s, "554 5.5.1 %s Error: talking before the greeting",
		    conn_cfg(&s->conn)->hostname);
		log_info("%s early talker ip=%s", s->conn.sid, s->conn.peer_ip);
		record_attack(s, ATTACK_PROTOCOL, NULL,
		    "554 5.5.1 talking before the greeting");
		conn_close(&s->conn, "early talker");
		return;
	}
	smtp_enter_state(s, SMTP_STATE_HELO);
	reply(s, "220 %s ESMTP pillory", conn_cfg(&s->conn)->hostname);
}

static void
smtp_tarpit_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session	*s = arg;

	(void)fd;
	(void)what;
	if (s->state == SMTP_STATE_CLOSING || s->conn.dead)
		return;
	bufferevent_enable(s->conn.bev, EV_READ);
	smtp_process(s);
}

static void
smtp_process(struct smtp_session *s)
{
	bool		more = true;
	struct timeval	tv = { 0, SMTP_TARPIT_US };

	if (s->tarpit_timer != NULL && evtimer_pending(s->tarpit_timer, NULL))
		return;
	/* A callback fired by a write inside the loop below returns at
	 * once: the outer loop goes on. */
	if (s->in_process)
		return;
	s->in_process = true;
	if (s->read_paused && !s->conn.dead && s->state != SMTP_STATE_CLOSING) {
		s->read_paused = false;
		bufferevent_enable(s->conn.bev, EV_READ);
	}
	while (more && !s->conn.dead && !s->tarpit) {
		if (s->state != SMTP_STATE_CLOSING && evbuffer_get_length(
		    bufferevent_get_output(s->conn.bev)) >= SMTP_OUTPUT_HIGH) {
			/* The client does not read its replies: take no
			 * more commands until they drain (smtp_write_cb). */
			s->out_held = true;
			break;
		}
		switch (s->state) {
		case SMTP_STATE_NEW:
		case SMTP_STATE_GREET_PAUSE:
		case SMTP_STATE_COMMIT:
		case SMTP_STATE_AUTHWAIT:
		case SMTP_STATE_CLOSING:
		case SMTP_STATE_NAMEWAIT:
			more = false;
			break;
		case SMTP_STATE_DATA:
			more = smtp_data_step(s);
			break;
		default:
			more = smtp_command_step(s);
			break;
		}
	}
	/* Replies backed up, or a full input buffer while we wait (commit,
	 * auth): stop reading until smtp_process() runs again. The input
	 * watermark alone would do for a plain socket, but a TLS
	 * bufferevent keeps calling back with the input it cannot pass on,
	 * and spins. */
	if (!s->conn.dead && s->state != SMTP_STATE_CLOSING && (s->out_held ||
	    evbuffer_get_length(bufferevent_get_input(s->conn.bev)) >=
	    SMTP_INPUT_HIGH_WATER)) {
		s->read_paused = true;
		bufferevent_disable(s->conn.bev, EV_READ);
	}
	s->in_process = false;
	if (s->tarpit && !s->conn.dead && s->state != SMTP_STATE_CLOSING) {
		s->tarpit = false;
		if (s->tarpit_timer == NULL &&
		    (s->tarpit_timer = evtimer_new(s->conn.eng->base,
		    smtp_tarpit_done, s)) == NULL)
			FATAL("evtimer_new");
		bufferevent_disable(s->conn.bev, EV_READ);
		evtimer_add(s->tarpit_timer, &tv);
	}
}

static void
smtp_input(void *arg)
{
	smtp_process(arg);
}

/* Output fell to SMTP_OUTPUT_LOW: take the commands that waited. */
static void
smtp_output_low(void *arg)
{
	struct smtp_session	*s = arg;

	if (!s->out_held)
		return;
	s->out_held = false;
	smtp_process(s);
}

static void
smtp_timeout(void *arg)
{
	struct smtp_session	*s = arg;

	reply(s, "421 4.4.2 %s Error: timeout exceeded", conn_cfg(&s->conn)->hostname);
	log_info("%s timeout ip=%s state=%s", s->conn.sid, s->conn.peer_ip,
	    smtp_state_names[s->state]);
}

static const struct conn_proto smtp_proto = {
	.name = "smtp",
	.input_high = SMTP_INPUT_HIGH_WATER,
	.output_low = SMTP_OUTPUT_LOW,
	/* After STARTTLS the filter would move our output into the
	 * socket's bufferevent without limit; bound that one too. */
	.under_output_high = SMTP_OUTPUT_HIGH,
	.reply_max = CONN_REPLY_MAX,
	.input = smtp_input,
	.output_low_cb = smtp_output_low,
	.timeout = smtp_timeout,
	.closing = smtp_closing,
	.name_cb = smtp_name_cb,
	.free = smtp_free,
};

/* conn_start_fn (conn.h): the client's address is known. */
static void
smtp_session_start(struct engine *eng, struct listener *l,
    evutil_socket_t fd, const struct conn_peer *peer)
{
	struct smtp_session	*s;

	/* A banned client on a plaintext listener costs no session. */
	if (smtp_banned_take(eng, l, fd, peer))
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		FATAL("out of memory");
	conn_init(&s->conn, &smtp_proto, s, eng, l, fd, peer,
	    (int)eng->cfg->command_timeout, SMTP_WRITE_TIMEOUT);
	smtp_client_known(s);
}

void
smtp_session_accept(struct engine *eng, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	conn_accept(eng, l, fd, sa, len, smtp_session_start);
}

void
smtp_session_busy(const struct config *cfg, char *out, size_t size)
{
	text_printf(out, size, "421 4.7.0 %s Error: too many connections; "
	    "try again later", cfg->hostname);
}
