/*
 * smtp_session.c: the SMTP server state machine (RFC 5321, with RFC 1870
 * SIZE, RFC 6152 8BITMIME, RFC 2920 PIPELINING, RFC 2034 enhanced status
 * codes, RFC 3848 Received "with" keywords). Runs in the unprivileged
 * engine; every byte it reads is untrusted. This file has the session's
 * life, its command table and loop; the commands with most to do have
 * their own files beside it: MAIL and RCPT in smtp_rcpt.c, DATA and the
 * commit in smtp_data.c, STARTTLS and AUTH in smtp_auth.c, all sharing
 * smtp_session_int.h.
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

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth.h"
#include "ban.h"
#include "config.h"
#include "defense.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "smtp_banned.h"
#include "smtp_session.h"
#include "smtp_session_int.h"
#include "spool.h"
#include "text.h"
#include "xalloc.h"

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
/* Pause of a session whose attack record found the log's writer behind. */
#define SMTP_TARPIT_US		50000

static const char *const smtp_state_names[] = {
	"NEW", "GREET_PAUSE", "HELO", "IDLE", "MAIL", "RCPT", "DATA",
	"COMMIT", "SASL", "AUTHWAIT", "BANNED", "CLOSING", "NAMEWAIT",
};

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

void
smtp_enter_state(struct smtp_session *s, enum smtp_state next)
{
	s->state = conn_move(&s->conn, smtp_moves, smtp_state_names,
	    s->state, next);
}

void
smtp_record_user(struct smtp_session *s, enum attack_kind kind,
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

void
smtp_record(struct smtp_session *s, enum attack_kind kind, const char *to,
    const char *reply_text)
{
	smtp_record_user(s, kind, to, NULL, reply_text);
}

static void
smtp_txn_free(struct smtp_txn *t)
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

void
smtp_txn_reset(struct smtp_session *s)
{
	smtp_txn_free(s->txn);
	s->txn = NULL;
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
	smtp_txn_reset(s);
	free(s);
}

/* Count a client error; past max_errors the session ends (421). */
bool
smtp_error(struct smtp_session *s)
{
	if (++s->errors < conn_cfg(&s->conn)->max_errors)
		return false;
	reply(s, "421 4.7.0 %s Error: too many errors",
	    conn_cfg(&s->conn)->hostname);
	log_info("%s too many errors ip=%s", s->conn.sid, s->conn.peer_ip);
	smtp_record(s, ATTACK_PROTOCOL, NULL, "421 4.7.0 too many errors");
	conn_close(&s->conn, "too many errors");
	return true;
}

/* ---- commands ----------------------------------------------------------- */

bool
smtp_is_submission(const struct smtp_session *s)
{
	return s->conn.listener->role == LISTENER_SUBMISSION ||
	    s->conn.listener->role == LISTENER_SMTPS;
}

bool
smtp_starttls_offered(const struct smtp_session *s)
{
	return s->conn.eng->tls != NULL && !s->conn.tls;
}

/* RFC 4954 4: no plaintext passwords over an unprotected link, except
 * from trusted networks when the admin allows it. */
bool
smtp_auth_offered(const struct smtp_session *s)
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
	smtp_txn_reset(s);
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
	if (smtp_starttls_offered(s))
		reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s))
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

static void
smtp_cmd_rset(struct smtp_session *s, struct span arg)
{
	(void)arg;
	smtp_txn_reset(s);
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
		smtp_record(s, ATTACK_PROTOCOL, NULL,
		    "421 4.7.0 command flood");
	conn_close(&s->conn, "command flood");
	return true;
}

static void
smtp_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	/* The answer to each line the parser refuses. */
	static const char *const refusals[] = {
		[SMTP_PARSE_EMPTY] =
		    "500 5.5.2 Error: command not recognized",
		[SMTP_PARSE_UNKNOWN] =
		    "500 5.5.2 Error: command not recognized",
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
			smtp_record(s, ATTACK_PROTOCOL, NULL,
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

/* The greet pause is over, or the client's name is still unknown at
 * DATA. */
void
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
	    "for repeated attacks", conn_cfg(&s->conn)->hostname,
	    s->conn.peer_ip);
	log_info("%s banned ip=%s port=%d network=%s", s->conn.sid,
	    s->conn.peer_ip,
	    s->conn.listener->port, net);
	smtp_record(s, ATTACK_BANNED, NULL, text);
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
		smtp_record(s, ATTACK_PROTOCOL, NULL,
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

void
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

	reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    conn_cfg(&s->conn)->hostname);
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
	s = xcalloc(1, sizeof(*s));
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
