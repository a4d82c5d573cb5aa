/*
 * smtp_data.c: DATA of the SMTP session (smtp_session_int.h): the
 * Received header, the message lines into the spool (bounded, a bare CR
 * or LF poisons the message: SMTP smuggling), and the commit whose 250
 * is sent only once the message is on disk and fsynced.
 */

#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "attacklog_hold.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "smtp_session_int.h"
#include "spool.h"
#include "srs.h"
#include "text.h"

static void smtp_commit_done(int, void *);

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

void
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
		smtp_txn_reset(s);
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
void
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
		smtp_record(s, ATTACK_PROTOCOL,
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
		smtp_txn_reset(s);
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
	smtp_txn_reset(s);
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
bool
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
				evbuffer_drain(in, avail - 1);
			}
			return false;
		}
		len = (size_t)eol.pos;
		if (d->in_long_line) {
			/* The end of a line we already refused. */
			d->in_long_line = false;
			d->octets += len + 2;
			evbuffer_drain(in, len + 2);
			continue;
		}
		if (len + 2 > SMTP_TEXT_LINE_MAX) {
			d->long_line = true;
			d->octets += len + 2;
			evbuffer_drain(in, len + 2);
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
