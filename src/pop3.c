/*
 * pop3.c: the POP3 server state machine (RFC 1939, with RFC 2449 CAPA,
 * RESP-CODES, AUTH-RESP-CODE and PIPELINING, RFC 2595 STLS, RFC 5034
 * AUTH PLAIN). Runs in the unprivileged engine; every byte it reads is
 * untrusted. Passwords go to the auth process (auth.h); a successful
 * login grants the client address POP-before-SMTP relay (grants.h).
 *
 *   AUTHORIZATION --USER, PASS / AUTH PLAIN with response--> AUTHWAIT
 *   AUTHORIZATION --AUTH PLAIN--> SASL --response--> AUTHWAIT
 *   SASL --"*", bad response--> AUTHORIZATION
 *   AUTHWAIT --ok, mailbox locked for us--> TRANSACTION
 *   AUTHWAIT --failed, mailbox in use, auth unavailable--> AUTHORIZATION
 *   TRANSACTION --RETR, TOP, LIST, UIDL--> SENDING --".\r\n"--> TRANSACTION
 *   TRANSACTION --QUIT--> UPDATE --deletions applied--> CLOSING
 *   AUTHORIZATION --QUIT--> CLOSING
 *   any --timeout, error limit, 3 failed logins, blocked address,
 *         peer gone--> CLOSING
 *
 * STLS keeps AUTHORIZATION but replaces the bufferevent (input already
 * buffered is discarded: CVE-2011-0411).
 *
 * State notes. Every move goes through pop3_enter_state(), which logs it
 * at debug level and aborts on a move pop3_moves[] does not list (a bug).
 * CLOSING is final: a handler that goes on after a nested close (the peer
 * vanished during a write) cannot leave it; its move is ignored.
 *   AUTHORIZATION -> AUTHWAIT	pop3_login() (USER/PASS, AUTH PLAIN with
 *				an initial response)
 *   AUTHORIZATION -> SASL		pop3_cmd_auth() without initial response
 *   AUTHORIZATION -> AUTHORIZATION	pop3_login() without an auth process,
 *				pop3_auth_plain() on a bad response
 *   SASL -> AUTHWAIT|AUTHORIZATION	pop3_sasl_line(), pop3_auth_plain(),
 *				pop3_line_step() (response too long)
 *   AUTHWAIT -> TRANSACTION	pop3_login_ok() (mailbox locked)
 *   AUTHWAIT -> AUTHORIZATION	pop3_login_ok(), pop3_auth_done()
 *   TRANSACTION -> SENDING	start_sending()
 *   SENDING -> TRANSACTION	pop3_send_step() (".\r\n" queued)
 *   TRANSACTION -> UPDATE	pop3_cmd_quit()
 *   any -> CLOSING		pop3_closing(), from conn_close()
 * Fields: user is USER's argument in AUTHORIZATION, the user from
 * AUTHWAIT on; auth_req and method in AUTHWAIT; mb from TRANSACTION to
 * UPDATE (released at CLOSING); send, reader (RETR, TOP) and send_next
 * (listings) in SENDING; logged_in from TRANSACTION on.
 *
 * Line discipline as in smtp_session.c: a line ends only at CRLF; a bare
 * CR or LF, NUL or 8-bit octet in a command is an error; an over-long
 * line gets one "-ERR" and its rest is discarded. Deletions only happen in
 * UPDATE: a connection that ends without QUIT changes nothing (RFC 1939
 * 6). Output is bounded: a message or a listing is produced as the socket
 * takes it (POP3_OUTPUT_HIGH), and pipelined commands wait while output
 * is backed up. Passwords and SASL responses are wiped after use and
 * never logged.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "attacklog.h"
#include "attacklog_hold.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "dns.h"
#include "engine.h"
#include "grants.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "mailbox.h"
#include "pop3.h"
#include "pop3_parse.h"
#include "sasl.h"
#include "spool.h"
#include "text.h"
#include "tls.h"
#include "xalloc.h"

/* Input held before we stop reading (pipelined commands wait here). */
#define POP3_INPUT_HIGH_WATER	(64 * 1024)
/* Output queued before a message or listing pauses, and pipelined
 * commands wait; production resumes below POP3_OUTPUT_LOW. */
#define POP3_OUTPUT_HIGH	(256 * 1024)
#define POP3_OUTPUT_LOW		(64 * 1024)
/* Bad commands before the session is closed. */
#define POP3_ERRORS_MAX		10
/* Failed logins in one session before it is closed. */
#define POP3_AUTH_FAILURES_MAX	3
#define POP3_PATH_MAX		4096
/* RFC 2449 4: a response line is at most 512 octets with CRLF. */
#define POP3_REPLY_MAX		510
/* Listing lines gathered per write (one TLS record at most). */
#define POP3_LIST_BATCH		16384

#define POP3_GREETING		"+OK pillory POP3 ready"
#define POP3_ERR_PLAINTEXT	"-ERR [AUTH] Plaintext authentication " \
				"disallowed on non-secure connections"
#define POP3_ERR_AUTH_FAILED	"-ERR [AUTH] Authentication failed."

enum pop3_state {
	POP3_STATE_AUTHORIZATION = 0,
	POP3_STATE_SASL,
	POP3_STATE_AUTHWAIT,
	POP3_STATE_TRANSACTION,
	POP3_STATE_SENDING,
	POP3_STATE_UPDATE,
	POP3_STATE_CLOSING,
};

static const char *const pop3_state_names[] = {
	"AUTHORIZATION", "SASL", "AUTHWAIT", "TRANSACTION", "SENDING",
	"UPDATE", "CLOSING",
};

#define ST(x)	(1u << POP3_STATE_##x)

/* What SENDING is producing. */
enum pop3_send {
	POP3_SEND_MESSAGE,	/* RETR, TOP: s->reader */
	POP3_SEND_LIST,		/* LIST without argument */
	POP3_SEND_UIDL,		/* UIDL without argument */
};

struct pop3_session {
	struct conn		 conn;		/* peer, socket, name, close */
	enum pop3_state		 state;
	bool			 logged_in;
	/* Re-entrancy: libevent may call our callbacks from inside an
	 * evbuffer_add (bufferevent_openssl writes at once); in_process
	 * keeps pop3_process() from nesting. The session is never freed
	 * under our feet: conn.h frees it from a timer. */
	bool			 in_process;
	unsigned		 errors;
	unsigned		 auth_failures;
	/* USER's argument, then the user logging in or logged in. */
	char			 user[AUTH_USER_MAX + 1];
	const char		*method;	/* "USER", "PLAIN": for logs */
	struct auth_req		*auth_req;
	struct mailbox		*mb;
	/* SENDING */
	enum pop3_send		 send;
	struct mailbox_reader	*reader;
	unsigned		 send_next;	/* next message of a listing */
	/* counters for the disconnect line */
	unsigned		 retrieved;
	unsigned		 deleted;
};

static void pop3_process(struct pop3_session *);

/* The moves of the state notes above. */
static const uint32_t pop3_moves[] = {
	[POP3_STATE_AUTHORIZATION] = ST(AUTHORIZATION) | ST(SASL) |
	    ST(AUTHWAIT) | ST(CLOSING),
	[POP3_STATE_SASL] = ST(AUTHORIZATION) | ST(AUTHWAIT) | ST(CLOSING),
	[POP3_STATE_AUTHWAIT] = ST(AUTHORIZATION) | ST(TRANSACTION) |
	    ST(CLOSING),
	[POP3_STATE_TRANSACTION] = ST(SENDING) | ST(UPDATE) | ST(CLOSING),
	[POP3_STATE_SENDING] = ST(TRANSACTION) | ST(CLOSING),
	[POP3_STATE_UPDATE] = ST(CLOSING),
	[POP3_STATE_CLOSING] = 0,
};
CONN_MOVES_MATCH(pop3_moves, pop3_state_names);

static void
pop3_enter_state(struct pop3_session *s, enum pop3_state next)
{
	s->state = conn_move(&s->conn, pop3_moves, pop3_state_names,
	    s->state, next);
}

/* One reply line and its CRLF, in one write (conn.h). */
#define reply(s, ...)	conn_reply(&(s)->conn, __VA_ARGS__)

static void
record_attack(struct pop3_session *s, enum attack_kind kind,
    const char *user, const char *reply_text)
{
	struct attack_record	 rec;

	/* Our own users' slips are refused, never recorded as attacks. */
	if (kind == ATTACK_PROTOCOL && (s->conn.trusted || s->logged_in))
		return;
	conn_record_init(&s->conn, &rec, kind, reply_text);
	if (user != NULL)
		text_copy(rec.user, user, sizeof(rec.user));
	/* A trusted client's mistyped password is never published. */
	rec.withdrawn = s->conn.trusted;
	(void)conn_record_put(&s->conn, &rec);
}

/* ---- closing ---------------------------------------------------------- */

/* The connection is gone (conn.h): the last of the session. */
static void
pop3_free(void *arg)
{
	struct pop3_session	*s = arg;

	log_info("%s disconnect ip=%s user=%s retrieved=%u deleted=%u "
	    "errors=%u", s->conn.sid, s->conn.peer_ip,
	    s->logged_in ? s->user : "-", s->retrieved, s->deleted,
	    s->errors);
	if (s->auth_req != NULL)
		auth_cancel(s->auth_req);
	mailbox_reader_close(s->reader);
	mailbox_close(s->mb);
	explicit_bzero(s->user, sizeof(s->user));
	free(s);
}

/*
 * conn_close() began (conn.h). The mailbox is released now, not after the
 * last reply has left, so that a client that reconnects right after QUIT
 * finds it free.
 */
static void
pop3_closing(void *arg)
{
	struct pop3_session	*s = arg;

	pop3_enter_state(s, POP3_STATE_CLOSING);
	mailbox_reader_close(s->reader);
	s->reader = NULL;
	mailbox_close(s->mb);
	s->mb = NULL;
}

/* Count a bad command; past POP3_ERRORS_MAX the session ends. */
static bool
pop3_error(struct pop3_session *s)
{
	if (++s->errors < POP3_ERRORS_MAX)
		return false;
	reply(s, "-ERR Too many bad commands, closing connection.");
	log_info("%s too many errors ip=%s", s->conn.sid, s->conn.peer_ip);
	record_attack(s, ATTACK_PROTOCOL, NULL,
	    "-ERR Too many bad commands");
	conn_close(&s->conn, "too many errors");
	return true;
}

/* ---- policy ----------------------------------------------------------- */

/* RFC 2595 2.1 and Dovecot's disable_plaintext_auth: passwords in the
 * clear only over TLS, from trusted networks, or when allowed. */
static bool
plaintext_allowed(const struct pop3_session *s)
{
	return s->conn.tls || s->conn.trusted ||
	    conn_cfg(&s->conn)->pop3_allow_plaintext;
}

static bool
stls_offered(const struct pop3_session *s)
{
	return s->conn.eng->tls != NULL && !s->conn.tls;
}

/* RFC 2449 6: one capability per line; the CAPA command walks this. */
struct pop3_capa {
	const char	*text;
	bool		(*when)(const struct pop3_session *); /* NULL: always */
};

static const struct pop3_capa pop3_capas[] = {
	{ "TOP", NULL },			/* RFC 2449 6.1 */
	{ "UIDL", NULL },			/* RFC 2449 6.2 */
	{ "USER", plaintext_allowed },		/* RFC 2449 6.3 */
	{ "SASL PLAIN", plaintext_allowed },	/* RFC 5034 5 */
	{ "STLS", stls_offered },		/* RFC 2595 4 */
	{ "RESP-CODES", NULL },			/* RFC 2449 6.4 */
	{ "AUTH-RESP-CODE", NULL },		/* RFC 3206 */
	{ "PIPELINING", NULL },			/* RFC 2449 6.6 */
	{ "IMPLEMENTATION pillory", NULL },	/* RFC 2449 6.9 */
};

/* ---- login ------------------------------------------------------------- */

/* The Maildir of s->user: STATE_DIR/mail/DOMAIN/USER (spool.c). */
static bool
mailbox_path(const struct pop3_session *s, char *out, size_t size)
{
	const char	*at = strrchr(s->user, '@');
	char		 local[AUTH_USER_MAX + 1];

	if (at == NULL || !text_copy_span(local, sizeof(local), s->user,
	    (size_t)(at - s->user)))
		return false;
	if (!spool_name_is_safe(local) || !spool_name_is_safe(at + 1))
		return false;
	return text_printf(out, size, "%s/mail/%s/%s",
	    conn_cfg(&s->conn)->state_dir, at + 1, local);
}

/* The password was right: lock the mailbox, grant relay, greet. */
static void
pop3_login_ok(struct pop3_session *s)
{
	char		path[POP3_PATH_MAX];
	size_t		count;
	uint64_t	octets;

	if (!mailbox_path(s, path, sizeof(path))) {
		log_warn("%s login ip=%s user=%s: no usable mailbox name",
		    s->conn.sid, s->conn.peer_ip, s->user);
		reply(s, "-ERR [SYS/PERM] Mailbox unavailable.");
		goto back;
	}
	if (mailbox_open(path, &s->mb) == -1) {
		if (errno == EBUSY) {
			log_info("%s login ip=%s user=%s: mailbox in use",
			    s->conn.sid, s->conn.peer_ip, s->user);
			/* RFC 2449 8.1.1 */
			reply(s, "-ERR [IN-USE] mailbox locked");
		} else {
			log_warn("%s login ip=%s user=%s: open %s: %s",
			    s->conn.sid,
			    s->conn.peer_ip, s->user, path, strerror(errno));
			reply(s, "-ERR [SYS/TEMP] Unable to open the "
			    "mailbox.");
		}
		goto back;
	}
	grants_add(s->conn.eng, conn_sa(&s->conn), s->user);
	/* A login proves the address: its records leave the page. */
	attacklog_login(s->conn.eng->alog, s->conn.peer_ip, clock_now_us());
	mailbox_stat(s->mb, &count, &octets);
	log_info("%s login ip=%s user=%s method=%s messages=%zu octets=%llu%s"
	    "%s", s->conn.sid, s->conn.peer_ip, s->user, s->method, count,
	    (unsigned long long)octets, s->conn.tls ? " tls=" : "",
	    s->conn.tls ? s->conn.tls_info : "");
	s->logged_in = true;
	pop3_enter_state(s, POP3_STATE_TRANSACTION);
	reply(s, "+OK Logged in.");
	return;
back:
	s->user[0] = '\0';
	pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
}

static void
pop3_auth_done(enum auth_result result, void *arg)
{
	struct pop3_session	*s = arg;
	char			 b[ADDRESS_MAX * 4 + 1];

	s->auth_req = NULL;
	switch (result) {
	case AUTH_OK:
		pop3_login_ok(s);
		break;
	case AUTH_FAIL:
		reply(s, POP3_ERR_AUTH_FAILED);
		log_info("%s auth failed ip=%s user=%s method=%s", s->conn.sid,
		    s->conn.peer_ip, log_sanitize(s->user, b, sizeof(b)),
		    s->method);
		record_attack(s, ATTACK_AUTH_FAIL, s->user,
		    POP3_ERR_AUTH_FAILED);
		s->user[0] = '\0';
		pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
		if (++s->auth_failures >= POP3_AUTH_FAILURES_MAX) {
			log_info("%s too many failed logins ip=%s", s->conn.sid,
			    s->conn.peer_ip);
			conn_close(&s->conn, "too many failed logins");
		}
		break;
	case AUTH_TEMPFAIL:
		reply(s, "-ERR [SYS/TEMP] Temporary authentication failure.");
		log_warn("%s auth unavailable ip=%s", s->conn.sid,
		    s->conn.peer_ip);
		s->user[0] = '\0';
		pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
		break;
	}
	pop3_process(s);
}

/*
 * Hand user and password to the auth process; the caller wipes the
 * password. An address blocked after too many failures is refused
 * without asking (auth.h).
 */
static void
pop3_login(struct pop3_session *s, const char *method, const char *user,
    const char *password)
{
	if (auth_is_blocked(s->conn.eng->auth, conn_sa(&s->conn))) {
		reply(s, "-ERR [SYS/TEMP] too many failures, try later");
		log_info("%s auth blocked ip=%s", s->conn.sid, s->conn.peer_ip);
		conn_close(&s->conn, "auth blocked");
		return;
	}
	if (s->conn.eng->auth == NULL) {
		reply(s, "-ERR [SYS/TEMP] Authentication unavailable.");
		s->user[0] = '\0';
		pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
		return;
	}
	text_copy(s->user, user, sizeof(s->user));
	text_lower(s->user);
	s->method = method;
	pop3_enter_state(s, POP3_STATE_AUTHWAIT);
	s->auth_req = auth_verify(s->conn.eng->auth, s->user, password,
	    conn_sa(&s->conn),
	    pop3_auth_done, s);
}

/* An RFC 4616 PLAIN response, initial or continuation. */
static void
pop3_auth_plain(struct pop3_session *s, const char *b64, size_t len)
{
	char	user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];

	if (sasl_plain_decode(b64, len, user, pass) == -1) {
		reply(s, "-ERR [AUTH] Invalid PLAIN response.");
		pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
		if (s->conn.eng->auth != NULL)
			auth_note_failure(s->conn.eng->auth, conn_sa(&s->conn));
		pop3_error(s);
		return;
	}
	pop3_login(s, "PLAIN", user, pass);
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(user, sizeof(user));
}

/* One line in SASL: the client's PLAIN response (RFC 5034 4). */
static void
pop3_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	bool	cancel;

	if (pop3_parse_sasl_line(line, len, &cancel) != POP3_PARSE_OK) {
		reply(s, "-ERR [AUTH] Invalid SASL response.");
		pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
		pop3_error(s);
		return;
	}
	if (cancel) {
		/* RFC 5034 4: "*" cancels; the AUTH command fails. */
		reply(s, "-ERR Authentication aborted.");
		pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
		return;
	}
	pop3_auth_plain(s, line, len);
}

/* ---- AUTHORIZATION commands -------------------------------------------- */

static void
pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	char	text[POP3_REPLY_MAX] = "+OK Capability list follows";
	size_t	i;

	(void)cmd;
	for (i = 0; i < sizeof(pop3_capas) / sizeof(pop3_capas[0]); i++) {
		if (pop3_capas[i].when != NULL && !pop3_capas[i].when(s))
			continue;
		text_append(text, "\r\n", sizeof(text));
		text_append(text, pop3_capas[i].text, sizeof(text));
	}
	text_append(text, "\r\n.", sizeof(text));
	reply(s, "%s", text);
}

static void
pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	if (!stls_offered(s)) {
		reply(s, s->conn.tls ? "-ERR TLS already active." :
		    "-ERR TLS not available.");
		pop3_error(s);
		return;
	}
	reply(s, "+OK Begin TLS negotiation");
	/* RFC 2595 4: forget USER, and the commands the client pipelined
	 * behind STLS (tls_starttls drops them: CVE-2011-0411). */
	conn_starttls(&s->conn);
	s->user[0] = '\0';
}

static void
pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!plaintext_allowed(s)) {
		reply(s, POP3_ERR_PLAINTEXT);
		pop3_error(s);
		return;
	}
	text_copy_span(s->user, sizeof(s->user), cmd->args[0].p,
	    cmd->args[0].len);
	text_lower(s->user);
	/* RFC 1939 7: the same answer whether the user exists or not. */
	reply(s, "+OK");
}

static void
pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	char	pass[AUTH_PASSWORD_MAX + 1];
	char	user[AUTH_USER_MAX + 1];

	if (!plaintext_allowed(s)) {
		reply(s, POP3_ERR_PLAINTEXT);
		pop3_error(s);
		return;
	}
	if (s->user[0] == '\0') {
		reply(s, "-ERR No username given.");
		pop3_error(s);
		return;
	}
	text_copy_span(pass, sizeof(pass), cmd->args[0].p, cmd->args[0].len);
	text_copy(user, s->user, sizeof(user));
	pop3_login(s, "USER", user, pass);
	explicit_bzero(pass, sizeof(pass));
}

static void
pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct span	ir;

	if (cmd->nargs == 0) {
		/* The RFC 1734 listing some clients still ask for. */
		reply(s, "+OK");
		if (plaintext_allowed(s))
			reply(s, "PLAIN");
		reply(s, ".");
		return;
	}
	if (!text_span_ieq(cmd->args[0].p, cmd->args[0].len, "PLAIN")) {
		reply(s, "-ERR [AUTH] Unsupported authentication mechanism.");
		pop3_error(s);
		return;
	}
	if (!plaintext_allowed(s)) {
		reply(s, POP3_ERR_PLAINTEXT);
		pop3_error(s);
		return;
	}
	if (cmd->nargs == 1) {
		/* RFC 5034 4: an empty challenge. */
		pop3_enter_state(s, POP3_STATE_SASL);
		reply(s, "+ ");
		return;
	}
	ir = cmd->args[1];
	/* RFC 5034 4: "=" is an empty initial response. */
	if (ir.len == 1 && ir.p[0] == '=')
		ir.len = 0;
	pop3_auth_plain(s, ir.p, ir.len);
}

static void
pop3_cmd_apop(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	/* APOP needs the password in the clear on the server side; the
	 * passwd-file holds crypt(3) hashes. Not advertised (no timestamp
	 * in the greeting, RFC 1939 7). */
	reply(s, "-ERR [AUTH] APOP not supported.");
	pop3_error(s);
}

static void
pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t		before, after;
	uint64_t	octets;

	(void)cmd;
	if (s->mb == NULL) {
		reply(s, "+OK Logging out.");
		conn_close(&s->conn, "quit");
		return;
	}
	/* RFC 1939 6: the UPDATE state. */
	pop3_enter_state(s, POP3_STATE_UPDATE);
	before = mailbox_count(s->mb);
	mailbox_stat(s->mb, &after, &octets);
	s->deleted = (unsigned)(before - after);
	if (mailbox_commit(s->mb) == 0)
		reply(s, "+OK Logging out.");
	else {
		log_warn("%s quit ip=%s user=%s: some deletions failed",
		    s->conn.sid, s->conn.peer_ip, s->user);
		reply(s, "-ERR [SYS/TEMP] Some deleted messages not removed.");
	}
	conn_close(&s->conn, "quit");
}

/* ---- TRANSACTION commands ---------------------------------------------- */

/* The message an argument names; replies and returns false if none. */
static bool
message_arg(struct pop3_session *s, struct span arg, unsigned *n_out)
{
	if (!pop3_parse_number(arg, false, n_out)) {
		reply(s, "-ERR Invalid message number.");
		pop3_error(s);
		return false;
	}
	if (*n_out <= mailbox_count(s->mb) && !mailbox_exists(s->mb, *n_out)) {
		reply(s, "-ERR Message %u already deleted.", *n_out);
		return false;
	}
	if (!mailbox_exists(s->mb, *n_out)) {
		reply(s, "-ERR No such message.");
		return false;
	}
	return true;
}

/* Start producing a multi-line response in SENDING. */
static void
start_sending(struct pop3_session *s, enum pop3_send what)
{
	s->send = what;
	s->send_next = 1;
	/* No commands (and no idle timeout) while the response goes out;
	 * the write timeout still catches a client that stops reading. */
	bufferevent_disable(s->conn.bev, EV_READ);
	pop3_enter_state(s, POP3_STATE_SENDING);
}

static void
pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t		count;
	uint64_t	octets;

	(void)cmd;
	mailbox_stat(s->mb, &count, &octets);
	reply(s, "+OK %zu %llu", count, (unsigned long long)octets);
}

static void
pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t		count;
	uint64_t	octets;
	unsigned	n;

	if (cmd->nargs == 1) {
		if (message_arg(s, cmd->args[0], &n))
			reply(s, "+OK %u %llu", n,
			    (unsigned long long)mailbox_size(s->mb, n));
		return;
	}
	mailbox_stat(s->mb, &count, &octets);
	reply(s, "+OK %zu messages (%llu octets)", count,
	    (unsigned long long)octets);
	start_sending(s, POP3_SEND_LIST);
}

static void
pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd)
{
	unsigned	n;

	if (cmd->nargs == 1) {
		if (message_arg(s, cmd->args[0], &n))
			reply(s, "+OK %u %s", n, mailbox_uid(s->mb, n));
		return;
	}
	reply(s, "+OK");
	start_sending(s, POP3_SEND_UIDL);
}

static void
send_message(struct pop3_session *s, unsigned n, bool top, unsigned lines)
{
	if ((s->reader = mailbox_reader_open(s->mb, n, top, lines)) == NULL) {
		log_warn("%s %s %u user=%s: %s", s->conn.sid,
		    top ? "top" : "retr",
		    n, s->user, strerror(errno));
		reply(s, "-ERR [SYS/TEMP] Message %u is not available.", n);
		return;
	}
	if (top)
		reply(s, "+OK");
	else {
		reply(s, "+OK %llu octets",
		    (unsigned long long)mailbox_size(s->mb, n));
		s->retrieved++;
	}
	start_sending(s, POP3_SEND_MESSAGE);
}

static void
pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	unsigned	n;

	if (message_arg(s, cmd->args[0], &n))
		send_message(s, n, false, 0);
}

static void
pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd)
{
	unsigned	n, lines;

	if (!message_arg(s, cmd->args[0], &n))
		return;
	if (!pop3_parse_number(cmd->args[1], true, &lines)) {
		reply(s, "-ERR Invalid number of lines.");
		pop3_error(s);
		return;
	}
	send_message(s, n, true, lines);
}

static void
pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	unsigned	n;

	if (!message_arg(s, cmd->args[0], &n))
		return;
	mailbox_delete(s->mb, n);
	reply(s, "+OK Message %u deleted.", n);
}

static void
pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	reply(s, "+OK");
}

static void
pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t		count;
	uint64_t	octets;

	(void)cmd;
	mailbox_reset(s->mb);
	mailbox_stat(s->mb, &count, &octets);
	reply(s, "+OK maildrop has %zu messages (%llu octets)", count,
	    (unsigned long long)octets);
}

/* ---- dispatch ----------------------------------------------------------- */

struct pop3_command_desc {
	enum pop3_verb	 verb;
	unsigned	 states;	/* where the command is allowed */
	const char	*syntax;	/* "-ERR Syntax: ..." on SYNTAX */
	void		(*run)(struct pop3_session *,
			    const struct pop3_command *);
};

#define ST_AUTH		ST(AUTHORIZATION)
#define ST_TRANS	ST(TRANSACTION)

/* Every verb pop3_parse.c knows, in RFC 1939 order. */
static const struct pop3_command_desc pop3_commands[] = {
	{ POP3_VERB_USER, ST_AUTH, "USER name", pop3_cmd_user },
	{ POP3_VERB_PASS, ST_AUTH, "PASS string", pop3_cmd_pass },
	{ POP3_VERB_AUTH, ST_AUTH, "AUTH mechanism [initial-response]",
	    pop3_cmd_auth },
	{ POP3_VERB_APOP, ST_AUTH, "APOP name digest", pop3_cmd_apop },
	{ POP3_VERB_STLS, ST_AUTH, "STLS", pop3_cmd_stls },
	{ POP3_VERB_CAPA, ST_AUTH | ST_TRANS, "CAPA", pop3_cmd_capa },
	{ POP3_VERB_QUIT, ST_AUTH | ST_TRANS, "QUIT", pop3_cmd_quit },
	{ POP3_VERB_STAT, ST_TRANS, "STAT", pop3_cmd_stat },
	{ POP3_VERB_LIST, ST_TRANS, "LIST [msg]", pop3_cmd_list },
	{ POP3_VERB_RETR, ST_TRANS, "RETR msg", pop3_cmd_retr },
	{ POP3_VERB_DELE, ST_TRANS, "DELE msg", pop3_cmd_dele },
	{ POP3_VERB_NOOP, ST_TRANS, "NOOP", pop3_cmd_noop },
	{ POP3_VERB_RSET, ST_TRANS, "RSET", pop3_cmd_rset },
	{ POP3_VERB_TOP, ST_TRANS, "TOP msg n", pop3_cmd_top },
	{ POP3_VERB_UIDL, ST_TRANS, "UIDL [msg]", pop3_cmd_uidl },
};

static const struct pop3_command_desc *
command_desc(enum pop3_verb verb)
{
	size_t	i;

	for (i = 0; i < sizeof(pop3_commands) / sizeof(pop3_commands[0]); i++)
		if (pop3_commands[i].verb == verb)
			return &pop3_commands[i];
	FATAL("parsed verb missing from the command table");
}

static void
pop3_dispatch(struct pop3_session *s, const char *line, size_t len)
{
	/* The answer to each line the parser refuses. */
	static const char *const refusals[] = {
		[POP3_PARSE_EMPTY] = "-ERR Unknown command.",
		[POP3_PARSE_UNKNOWN] = "-ERR Unknown command.",
		[POP3_PARSE_NUL] = "-ERR NUL character in command.",
		[POP3_PARSE_BARE_EOL] = "-ERR Bare CR or LF in command.",
		[POP3_PARSE_8BIT] = "-ERR 8-bit character in command.",
		[POP3_PARSE_TOO_LONG] = "-ERR Line too long.",
		[POP3_PARSE_ARG_TOO_LONG] = "-ERR Argument too long.",
		[POP3_PARSE_SYNTAX] = "-ERR Syntax:",
	};
	struct pop3_command		 cmd;
	const struct pop3_command_desc	*d;
	enum pop3_parse_result		 r;

	if ((r = pop3_parse_command(line, len, &cmd)) != POP3_PARSE_OK) {
		if ((size_t)r >= sizeof(refusals) / sizeof(refusals[0]) ||
		    refusals[r] == NULL)
			FATAL("parse result without a refusal");
		if (r == POP3_PARSE_SYNTAX)
			reply(s, "%s %s", refusals[r],
			    command_desc(cmd.verb)->syntax);
		else
			reply(s, "%s", refusals[r]);
		if (r == POP3_PARSE_BARE_EOL)
			log_info("%s bare CR/LF in command ip=%s",
			    s->conn.sid, s->conn.peer_ip);
		pop3_error(s);
		return;
	}
	d = command_desc(cmd.verb);
	log_debug("%s command %s", s->conn.sid, pop3_verb_name(cmd.verb));
	if ((d->states & (1u << s->state)) == 0) {
		reply(s, s->state == POP3_STATE_AUTHORIZATION ?
		    "-ERR Not logged in." :
		    "-ERR Command not valid in this state.");
		pop3_error(s);
		return;
	}
	d->run(s, &cmd);
}

/* ---- input and output --------------------------------------------------- */

/* Take one line; false when more input is needed (or the session ends). */
static bool
pop3_line_step(struct pop3_session *s)
{
	char	line[POP3_LINE_MAX + 1];
	size_t	len;

	switch (conn_take_line(&s->conn, POP3_LINE_MAX, line, &len)) {
	case LINE_MORE:
	case LINE_SKIPPED:	/* conn_take_line() goes past them */
		return false;
	case LINE_TOO_LONG:
		reply(s, "-ERR Line too long.");
		/* An over-long SASL response fails the AUTH. */
		if (s->state == POP3_STATE_SASL)
			pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
		return !pop3_error(s);
	case LINE_READY:
		break;
	}
	if (s->state == POP3_STATE_SASL)
		pop3_sasl_line(s, line, len);
	else
		pop3_dispatch(s, line, len);
	/* It may have held a password. */
	explicit_bzero(line, len + 2);
	return true;
}

/* Up to POP3_LIST_BATCH octets of LIST or UIDL lines in one add; the
 * terminator after the last. */
static void
list_batch(struct pop3_session *s, struct evbuffer *out, size_t count)
{
	char		buf[POP3_LIST_BATCH];
	size_t		len = 0;
	unsigned	n;
	int		w;

	while (s->send_next <= count &&
	    len + MAILBOX_UID_MAX + 32 < sizeof(buf)) {
		n = s->send_next++;
		if (!mailbox_exists(s->mb, n))
			continue;
		if (s->send == POP3_SEND_LIST)
			w = snprintf(buf + len, sizeof(buf) - len, "%u %llu\r\n",
			    n, (unsigned long long)mailbox_size(s->mb, n));
		else
			w = snprintf(buf + len, sizeof(buf) - len, "%u %s\r\n",
			    n, mailbox_uid(s->mb, n));
		if (w < 0 || (size_t)w >= sizeof(buf) - len)
			FATAL("listing line does not fit");
		len += (size_t)w;
	}
	if (s->send_next > count) {
		memcpy(buf + len, ".\r\n", 3);
		len += 3;
	}
	evbuffer_add(out, buf, len);
}

/* Produce a multi-line response; true when it is complete. */
static bool
pop3_send_step(struct pop3_session *s)
{
	struct evbuffer	*out = bufferevent_get_output(s->conn.bev);
	size_t		 count = mailbox_count(s->mb);
	int		 rc;

	if (evbuffer_get_length(out) >= POP3_OUTPUT_HIGH)
		return false;	/* the write callback resumes */
	switch (s->send) {
	case POP3_SEND_MESSAGE:
		rc = mailbox_reader_fill(s->reader, out, POP3_OUTPUT_HIGH);
		if (rc == 1)
			return false;
		mailbox_reader_close(s->reader);
		s->reader = NULL;
		if (rc == -1) {
			/* The "+OK" is out: the only honest end is to cut
			 * the connection (RFC 1939 has no way back). */
			log_warn("%s read error user=%s: %s", s->conn.sid,
			    s->user,
			    strerror(errno));
			conn_close(&s->conn, "message read error");
			return false;
		}
		break;
	case POP3_SEND_LIST:
	case POP3_SEND_UIDL:
		/* At least one batch: an empty listing is just ".". */
		do
			list_batch(s, out, count);
		while (s->send_next <= count &&
		    evbuffer_get_length(out) < POP3_OUTPUT_HIGH);
		if (s->send_next <= count)
			return false;
		break;
	}
	pop3_enter_state(s, POP3_STATE_TRANSACTION);
	bufferevent_enable(s->conn.bev, EV_READ);
	return true;
}

/* Run the state machine over what is buffered. A call from inside a
 * call (a callback fired by a write) returns at once: the outer loop
 * goes on. */
static void
pop3_process(struct pop3_session *s)
{
	bool	more = true;

	if (s->in_process)
		return;
	s->in_process = true;
	while (more && !s->conn.dead) {
		switch (s->state) {
		case POP3_STATE_SENDING:
			more = pop3_send_step(s);
			break;
		case POP3_STATE_AUTHORIZATION:
		case POP3_STATE_SASL:
		case POP3_STATE_TRANSACTION:
			/* Pipelined commands wait while output is backed
			 * up (RFC 2449 6.6 lets us). */
			if (evbuffer_get_length(bufferevent_get_output(
			    s->conn.bev)) >= POP3_OUTPUT_HIGH) {
				/* Reading off too until the write callback:
				 * a TLS bufferevent keeps calling back with
				 * input it cannot pass on, and spins. */
				bufferevent_disable(s->conn.bev, EV_READ);
				more = false;
				break;
			}
			more = pop3_line_step(s);
			break;
		case POP3_STATE_AUTHWAIT:
		case POP3_STATE_UPDATE:
		case POP3_STATE_CLOSING:
			more = false;
			break;
		}
	}
	s->in_process = false;
}

static void
pop3_input(void *arg)
{
	pop3_process(arg);
}

/* Output fell to POP3_OUTPUT_LOW: produce more, or take waiting
 * commands. */
static void
pop3_output_low(void *arg)
{
	struct pop3_session	*s = arg;

	if (s->state == POP3_STATE_AUTHORIZATION ||
	    s->state == POP3_STATE_SASL || s->state == POP3_STATE_TRANSACTION)
		bufferevent_enable(s->conn.bev, EV_READ);
	pop3_process(s);
}

static void
pop3_timeout(void *arg)
{
	struct pop3_session	*s = arg;

	log_info("%s timeout ip=%s state=%s", s->conn.sid, s->conn.peer_ip,
	    pop3_state_names[s->state]);
	reply(s, "-ERR Disconnected for inactivity.");
}

static const struct conn_proto pop3_proto = {
	.name = "pop3",
	.input_high = POP3_INPUT_HIGH_WATER,
	.output_low = POP3_OUTPUT_LOW,
	/* After STLS the TLS filter moves our output into the socket's
	 * bufferevent at once: without this bound a RETR would read the
	 * whole file. */
	.under_output_high = POP3_OUTPUT_HIGH,
	.reply_max = POP3_REPLY_MAX,
	.input = pop3_input,
	.output_low_cb = pop3_output_low,
	.timeout = pop3_timeout,
	.closing = pop3_closing,
	.name_cb = NULL,	/* only attack records want it */
	.free = pop3_free,
};

/* conn_start_fn (conn.h). */
static void
pop3_session_start(struct engine *eng, struct listener *l,
    evutil_socket_t fd, const struct conn_peer *peer)
{
	struct pop3_session	*s;

	if (l->proxy)
		FATAL("PROXY protocol on a POP3 listener");
	s = xcalloc(1, sizeof(*s));
	s->method = "-";
	/* RFC 1939 3: at least 10 minutes of inactivity (config.c keeps
	 * [pop3] timeout there or above). */
	conn_init(&s->conn, &pop3_proto, s, eng, l, fd, peer,
	    (int)eng->cfg->pop3_timeout, (int)eng->cfg->pop3_timeout);
	if (!conn_admit(&s->conn)) {
		reply(s, "-ERR [SYS/TEMP] Too many connections from your "
		    "address.");
		conn_close(&s->conn, "per-address limit");
		return;
	}
	conn_log_connect(&s->conn);
	conn_lookup_name(&s->conn);
	reply(s, POP3_GREETING);
}

void
pop3_session_accept(struct engine *eng, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	conn_accept(eng, l, fd, sa, len, pop3_session_start);
}

void
pop3_session_busy(const struct config *cfg, char *out, size_t size)
{
	(void)cfg;
	text_copy(out, "-ERR [SYS/TEMP] too many connections; try again "
	    "later", size);
}
