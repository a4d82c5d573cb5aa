/*
 * smtp_auth.c: STARTTLS and AUTH of the SMTP session
 * (smtp_session_int.h): RFC 3207 (everything said before the handshake
 * is forgotten) and RFC 4954 with PLAIN and LOGIN; the password is
 * checked by the auth process, never on the event loop.
 */

#include <string.h>


#include "attacklog.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "defense.h"
#include "engine.h"
#include "log.h"
#include "sasl.h"
#include "smtp_session_int.h"
#include "text.h"

void
smtp_cmd_starttls(struct smtp_session *s, struct span arg)
{
	if (!smtp_starttls_offered(s)) {
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
	smtp_txn_reset(s);
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
	smtp_record_user(s, ATTACK_AUTH_FAIL, NULL, user,
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
void
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

void
smtp_cmd_auth(struct smtp_session *s, struct span arg)
{
	const char	*sp;
	struct span	 mech, ir = { NULL, 0 };

	if (!smtp_auth_offered(s)) {
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
