/*
 * smtp_session_int.h: what the four parts of the SMTP session share, and
 * nothing else includes: smtp_session.c (the connection, the state
 * machine, the command loop), smtp_rcpt.c (MAIL and RCPT), smtp_data.c
 * (DATA and the commit) and smtp_auth.c (STARTTLS and AUTH). The state
 * diagram and its notes are at the top of smtp_session.c.
 */
#ifndef SMTP_SESSION_INT_H
#define SMTP_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "attack.h"
#include "conn.h"
#include "smtp_parse.h"

#define SMTP_WRITE_TIMEOUT	60
/* The longest DATA waits for the client's name (the Received header
 * names it); c-ares gives up well before (dns.h). */
#define SMTP_NAME_WAIT_S	15

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

/* One reply line and its CRLF, in one write (conn.h). */
#define reply(s, ...)	conn_reply(&(s)->conn, __VA_ARGS__)

/* smtp_session.c */
void smtp_enter_state(struct smtp_session *s, enum smtp_state next);
/* An attack record of this session (user: the AUTH name tried). */
void smtp_record_user(struct smtp_session *s, enum attack_kind kind,
    const char *to, const char *user, const char *reply_text);
void smtp_record(struct smtp_session *s, enum attack_kind kind,
    const char *to, const char *reply_text);
void smtp_txn_reset(struct smtp_session *s);
/* Count a client error; true when that ended the session. */
bool smtp_error(struct smtp_session *s);
/* Take the input that waits, as far as the state allows. */
void smtp_process(struct smtp_session *s);
bool smtp_is_submission(const struct smtp_session *s);
bool smtp_starttls_offered(const struct smtp_session *s);
bool smtp_auth_offered(const struct smtp_session *s);
/* The greet pause is over, or the client's name is still unknown at
 * DATA (the session's timer). */
void smtp_timer_cb(evutil_socket_t fd, short what, void *arg);

/* smtp_rcpt.c */
void smtp_cmd_mail(struct smtp_session *s, struct span arg);
void smtp_cmd_rcpt(struct smtp_session *s, struct span arg);

/* smtp_data.c */
void smtp_cmd_data(struct smtp_session *s, struct span arg);
/* NAMEWAIT is over: open the spool file and answer 354. */
void smtp_data_start(struct smtp_session *s);
/* Take message lines; false when more input is needed. */
bool smtp_data_step(struct smtp_session *s);

/* smtp_auth.c */
void smtp_cmd_starttls(struct smtp_session *s, struct span arg);
void smtp_cmd_auth(struct smtp_session *s, struct span arg);
/* A line of an AUTH exchange (SASL state). */
void smtp_sasl_line(struct smtp_session *s, const char *line, size_t len);

#endif
