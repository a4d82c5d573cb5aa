/*
 * mta_session.c: the SMTP client state machine (RFC 5321) for one
 * outbound connection: greeting, EHLO with HELO fallback (3.2), STARTTLS
 * (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954, RFC 4616), then mail
 * transactions with SIZE (RFC 1870), 8BITMIME (RFC 6152) and PIPELINING
 * (RFC 2920), one per job, and QUIT. Runs in the engine; every byte the
 * server sends is untrusted and goes through the pure parser in
 * smtp_reply.c, bounded by SMTP_REPLY_MAX.
 *
 *   CONNECT --tcp--> GREETING --220--> EHLO --250--> READY
 *   EHLO --5xx--> HELO --250--> READY
 *   EHLO --250, STARTTLS offered--> STARTTLS --220--> TLS
 *   TLS --handshake--> EHLO (again, over TLS)
 *   EHLO --250, credentials--> AUTH --235--> READY          (PLAIN)
 *   EHLO --250, credentials--> AUTH_LOGIN --334--> AUTH_USER --334-->
 *       AUTH_PASS --235--> READY                          (LOGIN)
 *   READY --job--> ENVELOPE --354--> BODY --text sent--> DOT --reply--> READY
 *   ENVELOPE --MAIL or every RCPT refused--> RSET --reply--> READY
 *   READY --no job--> QUIT --221 or close--> DONE
 *   READY --no job, may idle--> IDLE --pushed job--> ENVELOPE
 *   IDLE --MTA_IDLE_TIME--> QUIT
 *   any --error, timeout, close--> DONE
 *
 * With PIPELINING, MAIL, every RCPT and DATA go out in one write and
 * their replies are matched in order; without, one command at a time.
 * Before READY a failure ends the session "not ready" and the first job
 * goes back untouched (mta.c tries the next address); from the first
 * MAIL on, every job gets results: what a broken connection leaves open
 * is a temporary failure.
 *
 * State notes. Every move goes through mta_enter_state(), which logs it
 * at debug level and aborts on a move mta_moves[] does not list (a bug);
 * DONE is final (later moves are ignored).
 *   CONNECT -> GREETING		mta_event_cb() (connected)
 *   GREETING|TLS -> EHLO		send_ehlo()
 *   EHLO -> HELO			handle_reply() (5xx, not over TLS)
 *   EHLO|STARTTLS -> STARTTLS|AUTH|AUTH_LOGIN|READY  after_ehlo(): STARTTLS
 *				only from EHLO (a refused one goes on clear)
 *   STARTTLS -> TLS		start_tls()
 *   AUTH_LOGIN -> AUTH_USER -> AUTH_PASS	handle_reply() (334)
 *   HELO|AUTH|AUTH_PASS -> READY	session_ready()
 *   READY|IDLE -> ENVELOPE	start_job() (from mta_next_job(), push_cb())
 *   READY|IDLE -> IDLE|QUIT	mta_next_job() (no job), mta_event_cb()
 *				(idle timeout), send_quit()
 *   ENVELOPE -> BODY|DOT		envelope_reply() (354; DOT when nobody
 *				was accepted)
 *   BODY -> DOT			fill_body() (the text is out)
 *   ENVELOPE|DOT -> RSET		reset_transaction()
 *   DOT|RSET -> READY		dot_reply(), handle_reply()
 *   any -> DONE			mta_finish()
 * Fields: ehlo from EHLO's reply on (zeroed by HELO); tls_active from
 * TLS's handshake on; auth_user and auth_pass until READY (wiped); job
 * from ENVELOPE to READY, or pushed while IDLE; sent, acked, accepted,
 * mail_failed, data_refused in ENVELOPE; fd and dot in BODY and DOT;
 * end_how, end_why from DONE.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>

#include <openssl/evp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "log.h"
#include "mta_session.h"
#include "smtp_reply.h"
#include "text.h"
#include "tls.h"
#include "tls_client.h"

/* Message text read from the file at a time while in BODY. */
#define MTA_BODY_CHUNK		(64 * 1024)
/* Keep at least this much queued for the socket while sending text. */
#define MTA_BODY_HIGH		(128 * 1024)
/* Credentials and the base64 of "\0user\0password". */
#define MTA_AUTH_MAX		512
#define MTA_AUTH_B64_MAX	(((MTA_AUTH_MAX * 2 + 2) / 3) * 4 + 8)

enum mta_state {
	MTA_STATE_CONNECT = 0,
	MTA_STATE_GREETING,
	MTA_STATE_EHLO,
	MTA_STATE_HELO,
	MTA_STATE_STARTTLS,
	MTA_STATE_TLS,
	MTA_STATE_AUTH,
	MTA_STATE_AUTH_LOGIN,
	MTA_STATE_AUTH_USER,
	MTA_STATE_AUTH_PASS,
	MTA_STATE_READY,
	MTA_STATE_IDLE,
	MTA_STATE_ENVELOPE,
	MTA_STATE_BODY,
	MTA_STATE_DOT,
	MTA_STATE_RSET,
	MTA_STATE_QUIT,
	MTA_STATE_DONE,
};

static const char *const mta_state_names[] = {
	"CONNECT", "GREETING", "EHLO", "HELO", "STARTTLS", "TLS", "AUTH",
	"AUTH_LOGIN", "AUTH_USER", "AUTH_PASS", "READY", "IDLE", "ENVELOPE",
	"BODY",
	"DOT", "RSET", "QUIT", "DONE",
};

/* Commands of one transaction, in the order their replies come. */
enum mta_cmd { MTA_CMD_MAIL, MTA_CMD_RCPT, MTA_CMD_DATA };

struct mta_session {
	struct event_base		*base;
	struct bufferevent		*bev;
	enum mta_state			 state;
	const struct mta_session_ops	*ops;
	void				*arg;
	char				 log_id[64];
	char				 helo[DOMAIN_MAX + 1];
	char				 host[DOMAIN_MAX + 1];
	char				 ip[IPADDR_TEXT_MAX];
	struct sockaddr_storage		 addr;
	socklen_t			 addr_len;
	SSL_CTX				*tls;
	bool				 tls_required;
	bool				 tls_active;
	char				*auth_user;
	char				*auth_pass;
	struct smtp_ehlo		 ehlo;
	unsigned			 jobs_run;	/* transactions begun */
	bool				 ready;		/* got to READY once */
	bool				 may_idle;
	struct event			*push_ev;	/* to start pushes */
	/* the current job */
	struct mta_job			*job;
	size_t				 sent;		/* commands written */
	size_t				 acked;		/* replies read */
	size_t				 accepted;	/* RCPTs with 2xx */
	bool				 mail_failed;
	bool				 data_refused;
	int				 fd;		/* message file */
	struct mta_dot			 dot;
	/* the end, reported from the loop */
	bool				 ending;
	struct event			*end_ev;
	enum mta_session_end		 end_how;
	char				 end_why[MTA_DIAG_MAX];
	bool				 end_tls_failed;
};

static void	mta_read_cb(struct bufferevent *, void *);
static void	mta_write_cb(struct bufferevent *, void *);
static void	mta_event_cb(struct bufferevent *, short, void *);
static void	mta_next_job(struct mta_session *);

#define ST(x)	(1u << MTA_STATE_##x)

/* The moves of the state notes above. */
static const uint32_t mta_moves[] = {
	[MTA_STATE_CONNECT] = ST(GREETING) | ST(DONE),
	[MTA_STATE_GREETING] = ST(EHLO) | ST(DONE),
	[MTA_STATE_EHLO] = ST(HELO) | ST(STARTTLS) | ST(AUTH) |
	    ST(AUTH_LOGIN) | ST(READY) | ST(DONE),
	[MTA_STATE_HELO] = ST(READY) | ST(DONE),
	[MTA_STATE_STARTTLS] = ST(TLS) | ST(AUTH) | ST(AUTH_LOGIN) |
	    ST(READY) | ST(DONE),
	[MTA_STATE_TLS] = ST(EHLO) | ST(DONE),
	[MTA_STATE_AUTH] = ST(READY) | ST(DONE),
	[MTA_STATE_AUTH_LOGIN] = ST(AUTH_USER) | ST(DONE),
	[MTA_STATE_AUTH_USER] = ST(AUTH_PASS) | ST(DONE),
	[MTA_STATE_AUTH_PASS] = ST(READY) | ST(DONE),
	[MTA_STATE_READY] = ST(ENVELOPE) | ST(IDLE) | ST(QUIT) | ST(DONE),
	[MTA_STATE_IDLE] = ST(ENVELOPE) | ST(IDLE) | ST(QUIT) | ST(DONE),
	[MTA_STATE_ENVELOPE] = ST(BODY) | ST(DOT) | ST(RSET) | ST(DONE),
	[MTA_STATE_BODY] = ST(DOT) | ST(DONE),
	[MTA_STATE_DOT] = ST(RSET) | ST(READY) | ST(DONE),
	[MTA_STATE_RSET] = ST(READY) | ST(DONE),
	[MTA_STATE_QUIT] = ST(DONE),
	[MTA_STATE_DONE] = 0,
};
_Static_assert(sizeof(mta_moves) / sizeof(mta_moves[0]) ==
    sizeof(mta_state_names) / sizeof(mta_state_names[0]),
    "a move row per state");

static void
mta_enter_state(struct mta_session *s, enum mta_state next)
{
	char	msg[96];

	if (s->state == MTA_STATE_DONE)
		return;
	if ((mta_moves[s->state] & (1u << next)) == 0) {
		text_printf(msg, sizeof(msg), "mta: illegal move %s -> %s",
		    mta_state_names[s->state], mta_state_names[next]);
		FATAL(msg);
	}
	log_debug("%s state %s -> %s", s->log_id, mta_state_names[s->state],
	    mta_state_names[next]);
	s->state = next;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n, size);

	if (p == NULL)
		FATAL("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		FATAL("out of memory");
	return p;
}

size_t
mta_session_dotstuff(struct mta_dot *st, const char *in, size_t len,
    char *out)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			st->mid_line = false;
			continue;
		}
		if (!st->mid_line && c == '.')
			out[o++] = '.';
		out[o++] = c;
		st->mid_line = true;
	}
	return o;
}

size_t
mta_session_dotstuff_end(struct mta_dot *st, char *out)
{
	size_t	o = 0;

	if (st->mid_line) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	st->mid_line = false;
	return o + 3;
}

/* Wait secs for the next reply (0: no reply expected, as while the text
 * goes out); writes may stall for a data block's time at most. */
static void
set_timeout(struct mta_session *s, int secs)
{
	struct timeval	r = { secs, 0 }, w = { MTA_TIMEOUT_BLOCK, 0 };

	bufferevent_set_timeouts(s->bev, secs ? &r : NULL, &w);
}

static void
wipe(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static void
close_file(struct mta_session *s)
{
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
}

void
mta_session_free(struct mta_session *s)
{
	if (s == NULL)
		return;
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->end_ev != NULL)
		event_free(s->end_ev);
	if (s->push_ev != NULL)
		event_free(s->push_ev);
	close_file(s);
	wipe(&s->auth_user);
	wipe(&s->auth_pass);
	free(s);
}

/* From the event loop: report the end, then free. */
static void
mta_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mta_session		*s = arg;
	const struct mta_session_ops	*ops = s->ops;
	void				*oarg = s->arg;
	enum mta_session_end		 how = s->end_how;
	bool				 tls_failed = s->end_tls_failed;
	char				 why[MTA_DIAG_MAX];

	(void)fd;
	(void)what;
	text_copy(why, s->end_why, sizeof(why));
	mta_session_free(s);
	ops->end(how, why, tls_failed, oarg);
}

/* Stop talking now; the end callback runs on the next loop turn. */
static void
mta_finish(struct mta_session *s, enum mta_session_end how, const char *why)
{
	if (s->ending)
		return;
	s->ending = true;
	mta_enter_state(s, MTA_STATE_DONE);
	s->end_how = how;
	text_copy(s->end_why, why ? why : "", sizeof(s->end_why));
	close_file(s);
	wipe(&s->auth_user);
	wipe(&s->auth_pass);
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	s->end_ev = evtimer_new(s->base, mta_end_cb, s);
	if (s->end_ev == NULL ||
	    event_add(s->end_ev, &(struct timeval){ 0, 0 }) == -1)
		FATAL("evtimer_new");
}

static void
send_line(struct mta_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_line(struct mta_session *s, const char *fmt, ...)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);
	va_list		 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* A recipient is decided once it has a status; one accepted by RCPT
 * waits, undecided, for the reply to the text. */
static bool
rcpt_decided(const struct mta_rcpt *r)
{
	return r->status[0] != '\0';
}

static void
set_result(struct mta_rcpt *r, enum mta_result res, const char *status,
    const char *diag)
{
	r->result = res;
	text_copy(r->status, status, sizeof(r->status));
	text_copy(r->diag, diag, sizeof(r->diag));
}

static void
result_from_reply(struct mta_rcpt *r, const struct smtp_reply *reply)
{
	r->result = reply->code / 100 == 2 ? MTA_OK :
	    reply->code / 100 == 5 ? MTA_PERM : MTA_TEMP;
	smtp_reply_status(reply, r->status);
	smtp_reply_text(reply, r->diag, sizeof(r->diag));
}

/* Give every undecided recipient of the job this result. */
static void
settle_job(struct mta_job *job, enum mta_result res, const char *status,
    const char *diag)
{
	size_t	i;

	for (i = 0; i < job->nrcpts; i++)
		if (!rcpt_decided(&job->rcpts[i]))
			set_result(&job->rcpts[i], res, status, diag);
}

/* The job is over: hand it back. */
static void
job_done(struct mta_session *s)
{
	struct mta_job	*job = s->job;

	close_file(s);
	s->job = NULL;
	text_copy(job->remote, s->host, sizeof(job->remote));
	text_copy(job->remote_ip, s->ip, sizeof(job->remote_ip));
	job->remote_port = s->addr.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&s->addr)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&s->addr)->sin_port);
	s->ops->done(job, s->arg);
}

/*
 * The connection is gone or unusable. Before the session was ready it
 * ends "not ready" and the first job goes back untouched; later the job
 * in hand (if any) gets a temporary failure for its undecided
 * recipients.
 */
static void
mta_fail(struct mta_session *s, const char *why)
{
	char	diag[MTA_DIAG_MAX];

	if (s->ending)
		return;
	log_info("%s host=%s[%s] %s", s->log_id, s->host, s->ip, why);
	if (!s->ready) {
		mta_finish(s, MTA_SESSION_NOT_READY, why);
		return;
	}
	if (s->job != NULL) {
		text_printf(diag, sizeof(diag), "lost connection with %s[%s]: "
		    "%s", s->host, s->ip, why);
		settle_job(s->job, MTA_TEMP, "4.4.2", diag);
		job_done(s);
	}
	mta_finish(s, MTA_SESSION_FINISHED, why);
}

static void
fail_reply(struct mta_session *s, const char *what,
    const struct smtp_reply *reply)
{
	char	text[MTA_DIAG_MAX], why[MTA_DIAG_MAX];

	smtp_reply_text(reply, text, sizeof(text));
	text_printf(why, sizeof(why), "%s%s", what, text);
	mta_fail(s, why);
}

/* ---------------------------------------------------------- set-up */

static void
send_ehlo(struct mta_session *s)
{
	send_line(s, "EHLO %s", s->helo);
	set_timeout(s, MTA_TIMEOUT_COMMAND);
	mta_enter_state(s, MTA_STATE_EHLO);
}

static void
start_tls(struct mta_session *s)
{
	s->bev = tls_client_start(s->bev, s->tls, s->host);
	bufferevent_setcb(s->bev, mta_read_cb, mta_write_cb, mta_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, MTA_BODY_HIGH / 2, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	set_timeout(s, MTA_TIMEOUT_COMMAND);
	mta_enter_state(s, MTA_STATE_TLS);
}

/* Send the base64 of len octets of in as one line (RFC 4954 4). */
static void
send_base64(struct mta_session *s, const char *in, size_t len)
{
	char	b64[MTA_AUTH_B64_MAX];

	if (((len + 2) / 3) * 4 + 1 > sizeof(b64))
		FATAL("base64 buffer");
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)in,
	    (int)len);
	send_line(s, "%s", b64);
	explicit_bzero(b64, sizeof(b64));
}

static void
start_auth(struct mta_session *s)
{
	char	raw[MTA_AUTH_MAX * 2 + 2];
	size_t	ul = strlen(s->auth_user), pl = strlen(s->auth_pass);

	if (ul > MTA_AUTH_MAX || pl > MTA_AUTH_MAX) {
		mta_fail(s, "AUTH: user name or password too long");
		return;
	}
	set_timeout(s, MTA_TIMEOUT_COMMAND);
	if (s->ehlo.auth_plain) {
		/* RFC 4616 2: authzid (empty) NUL authcid NUL passwd */
		raw[0] = '\0';
		memcpy(raw + 1, s->auth_user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, s->auth_pass, pl);
		evbuffer_add(bufferevent_get_output(s->bev), "AUTH PLAIN ", 11);
		send_base64(s, raw, ul + pl + 2);
		explicit_bzero(raw, sizeof(raw));
		mta_enter_state(s, MTA_STATE_AUTH);
	} else if (s->ehlo.auth_login) {
		send_line(s, "AUTH LOGIN");
		mta_enter_state(s, MTA_STATE_AUTH_LOGIN);
	} else
		mta_fail(s, "AUTH: the server offers neither PLAIN nor LOGIN");
}

/* EHLO or HELO done, TLS and AUTH as required: transactions may start. */
static void
session_ready(struct mta_session *s)
{
	s->ready = true;
	mta_enter_state(s, MTA_STATE_READY);
	log_debug("%s host=%s[%s] ready tls=%d pipelining=%d size=%llu",
	    s->log_id, s->host, s->ip, s->tls_active, s->ehlo.pipelining,
	    (unsigned long long)s->ehlo.size_max);
	mta_next_job(s);
}

static void
after_ehlo(struct mta_session *s)
{
	if (!s->tls_active && s->tls != NULL && s->ehlo.starttls) {
		send_line(s, "STARTTLS");
		set_timeout(s, MTA_TIMEOUT_COMMAND);
		mta_enter_state(s, MTA_STATE_STARTTLS);
		return;
	}
	if (!s->tls_active && s->tls_required) {
		mta_fail(s, "TLS is required, but the server does not offer "
		    "STARTTLS");
		return;
	}
	if (s->auth_user != NULL) {
		start_auth(s);
		return;
	}
	session_ready(s);
}

/* ---------------------------------------------------------- transaction */

static enum mta_cmd
command_kind(const struct mta_session *s, size_t i)
{
	if (i == 0)
		return MTA_CMD_MAIL;
	return i <= s->job->nrcpts ? MTA_CMD_RCPT : MTA_CMD_DATA;
}

/* Write command i of the transaction (0 MAIL, 1..n RCPT, n+1 DATA). */
static void
send_command(struct mta_session *s, size_t i)
{
	struct mta_job	*job = s->job;
	char		 params[64] = "";

	switch (command_kind(s, i)) {
	case MTA_CMD_MAIL:
		if (s->ehlo.size)	/* RFC 1870 6 */
			text_printf(params, sizeof(params), " SIZE=%llu",
			    (unsigned long long)job->wire_size);
		if (s->ehlo.eightbitmime && job->eightbit)
			text_append(params, " BODY=8BITMIME", sizeof(params));
		send_line(s, "MAIL FROM:<%s>%s", job->sender, params);
		set_timeout(s, MTA_TIMEOUT_MAIL);
		break;
	case MTA_CMD_RCPT:
		send_line(s, "RCPT TO:<%s>", job->rcpts[i - 1].addr);
		set_timeout(s, MTA_TIMEOUT_RCPT);
		break;
	case MTA_CMD_DATA:
		send_line(s, "DATA");
		set_timeout(s, MTA_TIMEOUT_DATA);
		break;
	}
	s->sent = i + 1;
}

/* Check the job against what the server announced; false when it was
 * finished here (a permanent failure, no transaction). */
static bool
job_fits(struct mta_session *s)
{
	struct mta_job	*job = s->job;
	char		 diag[MTA_DIAG_MAX];

	if (s->ehlo.size && s->ehlo.size_max > 0 &&
	    job->wire_size > s->ehlo.size_max) {
		/* RFC 1870 6: do not send what the server will not take. */
		text_printf(diag, sizeof(diag), "message size %llu exceeds "
		    "size limit %llu of server %s[%s]",
		    (unsigned long long)job->wire_size,
		    (unsigned long long)s->ehlo.size_max, s->host, s->ip);
		settle_job(job, MTA_PERM, "5.3.4", diag);
		return false;
	}
	if (job->eightbit && !s->ehlo.eightbitmime) {
		/* RFC 6152 3: 8-bit text only to a server that offers
		 * 8BITMIME; we do not convert, so we return it. */
		text_printf(diag, sizeof(diag), "8-bit message, but server "
		    "%s[%s] does not offer 8BITMIME", s->host, s->ip);
		settle_job(job, MTA_PERM, "5.6.3", diag);
		return false;
	}
	return true;
}

static void
start_job(struct mta_session *s)
{
	struct mta_job	*job = s->job;
	char		 diag[MTA_DIAG_MAX];
	size_t		 i, last;

	for (i = 0; i < job->nrcpts; i++)
		set_result(&job->rcpts[i], MTA_TEMP, "", "");
	if (!job_fits(s)) {
		job_done(s);
		mta_next_job(s);
		return;
	}
	if ((s->fd = open(job->path, O_RDONLY | O_CLOEXEC)) == -1) {
		text_printf(diag, sizeof(diag), "cannot open the message: %s",
		    strerror(errno));
		settle_job(job, MTA_TEMP, "4.3.0", diag);
		job_done(s);
		mta_next_job(s);
		return;
	}
	s->jobs_run++;
	s->sent = s->acked = s->accepted = 0;
	s->mail_failed = s->data_refused = false;
	memset(&s->dot, 0, sizeof(s->dot));
	mta_enter_state(s, MTA_STATE_ENVELOPE);
	/* RFC 2920 3.1: MAIL, every RCPT and DATA may go as one group. */
	last = s->ehlo.pipelining ? job->nrcpts + 1 : 0;
	for (i = 0; i <= last; i++)
		send_command(s, i);
}

static void
send_quit(struct mta_session *s)
{
	send_line(s, "QUIT");
	set_timeout(s, MTA_TIMEOUT_COMMAND);
	mta_enter_state(s, MTA_STATE_QUIT);
}

static void
mta_next_job(struct mta_session *s)
{
	bool	room = s->jobs_run < MTA_SESSION_JOBS_MAX;

	if (s->job == NULL && room)
		s->job = s->ops->next(s->arg);
	if (s->job != NULL) {
		start_job(s);
		return;
	}
	if (!room || !s->may_idle) {
		send_quit(s);
		return;
	}
	/* Keep the connection a little for the next message to come. */
	set_timeout(s, MTA_IDLE_TIME);
	mta_enter_state(s, MTA_STATE_IDLE);
	s->ops->idle(s->arg);
}

static void
push_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mta_session	*s = arg;

	(void)fd;
	(void)what;
	if (!s->ending && s->state == MTA_STATE_IDLE && s->job != NULL)
		start_job(s);
}

void
mta_session_push(struct mta_session *s, struct mta_job *job)
{
	if (s->state != MTA_STATE_IDLE || s->job != NULL || s->ending)
		FATAL("job pushed to a session that is not idle");
	s->job = job;
	if (s->push_ev == NULL &&
	    (s->push_ev = evtimer_new(s->base, push_cb, s)) == NULL)
		FATAL("evtimer_new");
	if (event_add(s->push_ev, &(struct timeval){ 0, 0 }) == -1)
		FATAL("event_add");
}

/* The transaction is dead (refused, or nobody to send to): RSET first. */
static void
reset_transaction(struct mta_session *s)
{
	job_done(s);
	send_line(s, "RSET");
	set_timeout(s, MTA_TIMEOUT_COMMAND);
	mta_enter_state(s, MTA_STATE_RSET);
}

/* Queue message text until enough waits for the socket or it ends. */
static void
fill_body(struct mta_session *s)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);
	char		 in[MTA_BODY_CHUNK], enc[2 * MTA_BODY_CHUNK];
	char		 why[128];
	ssize_t		 n;
	size_t		 m;

	while (evbuffer_get_length(out) < MTA_BODY_HIGH) {
		n = read(s->fd, in, sizeof(in));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* The text cannot be finished: the connection must
			 * go, or the server would take a cut message. */
			text_printf(why, sizeof(why), "reading the message: "
			    "%s", strerror(errno));
			mta_fail(s, why);
			return;
		}
		if (n == 0) {
			m = mta_session_dotstuff_end(&s->dot, enc);
			evbuffer_add(out, enc, m);
			close_file(s);
			set_timeout(s, MTA_TIMEOUT_DOT);
			mta_enter_state(s, MTA_STATE_DOT);
			return;
		}
		m = mta_session_dotstuff(&s->dot, in, (size_t)n, enc);
		evbuffer_add(out, enc, m);
	}
}

static void
envelope_reply(struct mta_session *s, const struct smtp_reply *reply)
{
	struct mta_job	*job = s->job;
	size_t		 i = s->acked++, j;
	bool		 ok = reply->code / 100 == 2;

	switch (command_kind(s, i)) {
	case MTA_CMD_MAIL:
		if (!ok) {
			s->mail_failed = true;
			for (j = 0; j < job->nrcpts; j++)
				result_from_reply(&job->rcpts[j], reply);
		}
		break;
	case MTA_CMD_RCPT:
		if (s->mail_failed)
			break;
		if (ok)
			s->accepted++;	/* the reply to the text decides */
		else
			result_from_reply(&job->rcpts[i - 1], reply);
		break;
	case MTA_CMD_DATA:
		if (reply->code == 354) {
			if (s->accepted == 0) {
				/* RFC 2920 3.1: DATA went with the group but
				 * nobody was accepted; end the empty text at
				 * once and ignore its reply. */
				evbuffer_add(bufferevent_get_output(s->bev),
				    ".\r\n", 3);
				s->data_refused = true;
				set_timeout(s, MTA_TIMEOUT_DOT);
				mta_enter_state(s, MTA_STATE_DOT);
				return;
			}
			set_timeout(s, 0);
			mta_enter_state(s, MTA_STATE_BODY);
			fill_body(s);
			return;
		}
		s->data_refused = true;
		for (j = 0; j < job->nrcpts && !s->mail_failed; j++) {
			if (rcpt_decided(&job->rcpts[j]))
				continue;
			if (ok)		/* 2xx is no answer to DATA */
				set_result(&job->rcpts[j], MTA_TEMP, "4.5.0",
				    "unexpected reply to DATA");
			else
				result_from_reply(&job->rcpts[j], reply);
		}
		break;
	}
	if (s->acked < s->sent)
		return;		/* more replies of the group to come */
	if (s->mail_failed || s->data_refused ||
	    (s->accepted == 0 && s->sent > job->nrcpts)) {
		reset_transaction(s);
		return;
	}
	/* Without pipelining, one command at a time. */
	send_command(s, s->sent);
}

static void
dot_reply(struct mta_session *s, const struct smtp_reply *reply)
{
	size_t	i;

	if (s->data_refused) {
		reset_transaction(s);
		return;
	}
	for (i = 0; i < s->job->nrcpts; i++)
		if (!rcpt_decided(&s->job->rcpts[i]))
			result_from_reply(&s->job->rcpts[i], reply);
	job_done(s);
	if (reply->code == 421) {
		mta_fail(s, "421 after the message");
		return;
	}
	mta_enter_state(s, MTA_STATE_READY);
	mta_next_job(s);
}

/* ---------------------------------------------------------- replies */

static void
handle_reply(struct mta_session *s, const struct smtp_reply *reply)
{
	unsigned	c = reply->code;

	switch (s->state) {
	case MTA_STATE_GREETING:
		if (c != 220)
			fail_reply(s, "greeting: ", reply);
		else
			send_ehlo(s);
		break;
	case MTA_STATE_EHLO:
		if (c == 250) {
			smtp_reply_ehlo(reply, &s->ehlo);
			after_ehlo(s);
		} else if (c / 100 == 5 && !s->tls_active) {
			/* RFC 5321 3.2: an older server; say HELO. */
			send_line(s, "HELO %s", s->helo);
			mta_enter_state(s, MTA_STATE_HELO);
		} else
			fail_reply(s, "EHLO: ", reply);
		break;
	case MTA_STATE_HELO:
		memset(&s->ehlo, 0, sizeof(s->ehlo));
		if (c != 250)
			fail_reply(s, "HELO: ", reply);
		else if (s->tls_required || s->auth_user != NULL)
			mta_fail(s, "TLS and AUTH are required, but the "
			    "server does not speak ESMTP");
		else
			session_ready(s);
		break;
	case MTA_STATE_STARTTLS:
		if (c == 220)
			start_tls(s);
		else if (s->tls_required)
			fail_reply(s, "STARTTLS: ", reply);
		else {
			/* Opportunistic: go on in the clear. */
			s->tls = NULL;
			after_ehlo(s);
		}
		break;
	case MTA_STATE_AUTH:
	case MTA_STATE_AUTH_PASS:
		/* A refused login is a configuration problem: the caller
		 * retries later rather than bounce, as Postfix does. */
		if (c != 235)
			fail_reply(s, "AUTH: ", reply);
		else {
			wipe(&s->auth_user);
			wipe(&s->auth_pass);
			session_ready(s);
		}
		break;
	case MTA_STATE_AUTH_LOGIN:
	case MTA_STATE_AUTH_USER:
		/* The LOGIN mechanism asks for the user name, then the
		 * password, each after a 334. */
		if (c != 334) {
			fail_reply(s, "AUTH LOGIN: ", reply);
			break;
		}
		if (s->state == MTA_STATE_AUTH_LOGIN) {
			send_base64(s, s->auth_user, strlen(s->auth_user));
			mta_enter_state(s, MTA_STATE_AUTH_USER);
		} else {
			send_base64(s, s->auth_pass, strlen(s->auth_pass));
			mta_enter_state(s, MTA_STATE_AUTH_PASS);
		}
		break;
	case MTA_STATE_ENVELOPE:
		envelope_reply(s, reply);
		break;
	case MTA_STATE_DOT:
		dot_reply(s, reply);
		break;
	case MTA_STATE_RSET:
		if (c != 250) {
			fail_reply(s, "RSET: ", reply);
			break;
		}
		mta_enter_state(s, MTA_STATE_READY);
		mta_next_job(s);
		break;
	case MTA_STATE_QUIT:
		mta_finish(s, MTA_SESSION_FINISHED, NULL);
		break;
	default:
		mta_fail(s, "the server spoke out of turn");
		break;
	}
}

static void
mta_read_cb(struct bufferevent *bev, void *arg)
{
	struct mta_session	*s = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct smtp_reply	 reply;
	size_t			 len;
	const char		*p;

	while (!s->ending && (len = evbuffer_get_length(in)) > 0) {
		/* While the text goes out a reply waits: a server may
		 * answer early, and is heard in DOT. */
		if (s->state == MTA_STATE_BODY) {
			if (len > SMTP_REPLY_MAX)
				mta_fail(s, "the server sent too much");
			return;
		}
		if (len > SMTP_REPLY_MAX)
			len = SMTP_REPLY_MAX;
		p = (const char *)evbuffer_pullup(in, (ssize_t)len);
		switch (smtp_reply_parse(p, len, &reply)) {
		case SMTP_REPLY_MORE:
			if (len == SMTP_REPLY_MAX)
				mta_fail(s, "reply too long");
			return;
		case SMTP_REPLY_INVALID:
			mta_fail(s, "not an SMTP reply");
			return;
		case SMTP_REPLY_OK:
			break;
		}
		/* Take the reply out first: handling it may replace the
		 * bufferevent (STARTTLS) or end the session. */
		{
			char	copy[SMTP_REPLY_MAX];
			size_t	i, used = reply.consumed;

			memcpy(copy, p, used);
			for (i = 0; i < reply.nlines; i++)
				reply.lines[i].p = copy +
				    (reply.lines[i].p - p);
			evbuffer_drain(in, used);
			handle_reply(s, &reply);
		}
		if (s->ending || s->state == MTA_STATE_TLS)
			return;
		in = bufferevent_get_input(s->bev);
	}
}

static void
mta_write_cb(struct bufferevent *bev, void *arg)
{
	struct mta_session	*s = arg;

	(void)bev;
	if (s->state != MTA_STATE_BODY)
		return;
	fill_body(s);
	/* A reply that came early is read now. */
	if (!s->ending && s->state == MTA_STATE_DOT &&
	    evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		mta_read_cb(s->bev, s);
}

static void
mta_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mta_session	*s = arg;
	char			 why[256];
	int			 err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == MTA_STATE_CONNECT) {
			mta_enter_state(s, MTA_STATE_GREETING);
			set_timeout(s, MTA_TIMEOUT_GREETING);
		} else if (s->state == MTA_STATE_TLS) {
			char desc[128];

			s->tls_active = true;
			tls_describe(s->bev, desc, sizeof(desc));
			log_info("%s host=%s[%s] tls=\"%s\"", s->log_id,
			    s->host, s->ip, desc);
			send_ehlo(s);
		}
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && s->state == MTA_STATE_IDLE &&
	    s->job == NULL) {
		/* Nobody needed the connection: say goodbye properly. */
		bufferevent_enable(s->bev, EV_READ);
		send_quit(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		text_printf(why, sizeof(why), "timeout in state %s",
		    mta_state_names[s->state]);
		mta_fail(s, why);
		return;
	}
	if (s->state == MTA_STATE_TLS) {
		s->end_tls_failed = true;
		mta_fail(s, "TLS handshake failed");
		return;
	}
	if (s->state == MTA_STATE_QUIT) {
		mta_finish(s, MTA_SESSION_FINISHED, NULL);
		return;
	}
	if (what & BEV_EVENT_EOF)
		text_printf(why, sizeof(why), "connection closed by the "
		    "server in state %s", mta_state_names[s->state]);
	else if (s->state == MTA_STATE_CONNECT)
		text_printf(why, sizeof(why), "connect: %s",
		    err ? evutil_socket_error_to_string(err) : "failed");
	else
		text_printf(why, sizeof(why), "connection error in state %s: "
		    "%s", mta_state_names[s->state],
		    err ? evutil_socket_error_to_string(err) : "unknown");
	mta_fail(s, why);
}

struct mta_session *
mta_session_start(struct event_base *base, const struct mta_session_params *p,
    struct mta_job *first, const struct mta_session_ops *ops, void *arg)
{
	struct mta_session	*s = xcalloc(1, sizeof(*s));
	struct timeval		 tv = { MTA_TIMEOUT_CONNECT, 0 };

	s->base = base;
	s->ops = ops;
	s->arg = arg;
	s->fd = -1;
	s->job = first;
	s->tls = p->tls;
	s->tls_required = p->tls_required;
	s->may_idle = p->may_idle && ops->idle != NULL;
	text_copy(s->log_id, p->log_id ? p->log_id : "mta", sizeof(s->log_id));
	text_copy(s->helo, p->helo, sizeof(s->helo));
	text_copy(s->host, p->host, sizeof(s->host));
	memcpy(&s->addr, &p->addr, sizeof(s->addr));
	s->addr_len = p->addr_len;
	if (p->auth_user != NULL) {
		s->auth_user = xstrdup(p->auth_user);
		s->auth_pass = xstrdup(p->auth_pass ? p->auth_pass : "");
	}
	if (s->addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&s->addr)->sin6_addr, s->ip,
		    sizeof(s->ip));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&s->addr)->sin_addr,
		    s->ip, sizeof(s->ip));
	s->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		FATAL("bufferevent_socket_new");
	bufferevent_setcb(s->bev, mta_read_cb, mta_write_cb, mta_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, MTA_BODY_HIGH / 2, 0);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	errno = 0;
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&s->addr,
	    (int)s->addr_len) == -1) {
		char why[256];

		text_printf(why, sizeof(why), "connect: %s",
		    strerror(errno ? errno : ECONNREFUSED));
		mta_fail(s, why);
	}
	return s;
}
