/*
 * smtp_banned.c: the refusal of a banned client without a session
 * (smtp_banned.h). RFC 5321 3.1: a server that will not serve a client
 * may answer 554 instead of the greeting, and then waits for QUIT,
 * answering anything else with 503.
 *
 *   (banned) --554 sent--> WAIT --"QUIT"--> 221, closed
 *   WAIT --other line--> 503 (max_errors of them: 421, closed)
 *   WAIT --timeout--> 421, closed
 *   WAIT --EOF, error, line too long--> closed
 *
 * No bufferevent, no output buffer: a reply the socket does not take at
 * once ends the connection (a bot that does not read gets no memory).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "attack.h"
#include "attacklog.h"
#include "ban.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "defense.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "smtp_banned.h"
#include "text.h"
#include "xalloc.h"

/* A command line of RFC 5321 4.5.3.1.4, with its CRLF. */
#define BANNED_LINE_MAX	512

struct smtp_banned {
	struct engine		*eng;
	evutil_socket_t		 fd;
	struct event		*ev;
	struct sockaddr_storage	 peer;
	char			 sid[SESSION_ID_MAX];
	char			 peer_ip[IPADDR_TEXT_MAX];
	unsigned		 errors;
	size_t			 have;
	char			 buf[BANNED_LINE_MAX];
};

static void
banned_free(struct smtp_banned *b)
{
	if (b->ev != NULL)
		event_free(b->ev);
	close(b->fd);
	listener_ip_release((struct sockaddr *)&b->peer);
	b->eng->sessions--;
	free(b);
}

/*
 * One reply, written at once or not at all; false ends the connection.
 * The last reply before the close is corked (MSG_MORE): the close sends
 * it with the FIN in one segment, one packet fewer for both ends.
 */
static bool
banned_send(struct smtp_banned *b, bool last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool
banned_send(struct smtp_banned *b, bool last, const char *fmt, ...)
{
	char	line[CONN_REPLY_MAX + 2];
	va_list	ap;
	size_t	n;

	int	w;

	va_start(ap, fmt);
	w = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(line) - 2)
		FATAL("banned reply too long");
	n = (size_t)w;
	line[n++] = '\r';
	line[n++] = '\n';
	return send(b->fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT |
	    (last ? MSG_MORE : 0)) == (ssize_t)n;
}

/* Answer the complete lines in buf; false when the connection ends. */
static bool
banned_lines(struct smtp_banned *b)
{
	const struct config	*cfg = b->eng->cfg;
	char			*lf;
	size_t			 len;

	while ((lf = memchr(b->buf, '\n', b->have)) != NULL) {
		len = (size_t)(lf - b->buf);
		if (len > 0 && b->buf[len - 1] == '\r')
			len--;
		if (len == 4 && strncasecmp(b->buf, "QUIT", 4) == 0) {
			(void)banned_send(b, true, "221 2.0.0 Bye");
			return false;
		}
		if (++b->errors >= cfg->max_errors) {
			(void)banned_send(b, true, "421 4.7.0 %s Error: too "
			    "many errors", cfg->hostname);
			return false;
		}
		if (!banned_send(b, false, "503 5.7.1 Error: banned; only "
		    "QUIT is accepted"))
			return false;
		len = (size_t)(lf - b->buf) + 1;
		memmove(b->buf, b->buf + len, b->have - len);
		b->have -= len;
	}
	/* A line longer than any command: nothing to answer. */
	return b->have < sizeof(b->buf);
}

/* Read what came; false when the connection ends. */
static bool
banned_read(struct smtp_banned *b)
{
	ssize_t	n;

	for (;;) {
		n = recv(b->fd, b->buf + b->have, sizeof(b->buf) - b->have, 0);
		if (n > 0) {
			b->have += (size_t)n;
			if (!banned_lines(b))
				return false;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		return n == -1 && errno == EAGAIN;
	}
}

static void
banned_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_banned	*b = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		(void)banned_send(b, true, "421 4.4.2 %s Error: timeout "
		    "exceeded", b->eng->cfg->hostname);
		banned_free(b);
		return;
	}
	if (!banned_read(b))
		banned_free(b);
}

bool
smtp_banned_take(struct engine *eng, struct listener *l, evutil_socket_t fd,
    const struct conn_peer *peer)
{
	const struct config	*cfg = eng->cfg;
	const struct sockaddr	*sa = (const struct sockaddr *)&peer->ss;
	const struct ban_entry	*e;
	struct smtp_banned	*b;
	struct attack_record	 rec;
	struct timeval		 tv = { (time_t)cfg->command_timeout, 0 };
	char			 net[BAN_NET_TEXT_MAX];
	bool			 trusted;

	if (eng->defense == NULL || l->def->implicit_tls)
		return false;
	/* As conn_admit(): the client behind PROXY UNKNOWN is nobody. */
	trusted = !peer->proxy_unknown &&
	    config_cidrs_contain(&cfg->trusted_networks, sa);
	if ((e = defense_banned(eng->defense, sa, trusted)) == NULL)
		return false;
	/* Over the limit: the session answers 421 as for anyone. */
	if (!listener_ip_acquire(eng, sa))
		return false;
	b = xcalloc(1, sizeof(*b));
	b->eng = eng;
	b->fd = fd;
	memcpy(&b->peer, &peer->ss, peer->len);
	text_copy(b->sid, peer->sid, sizeof(b->sid));
	text_ip(sa, b->peer_ip, sizeof(b->peer_ip));
	eng->sessions++;
	ban_net_format(&e->net, net, sizeof(net));
	log_info("%s banned ip=%s port=%d network=%s", b->sid, b->peer_ip,
	    l->port, net);
	if (eng->alog != NULL) {
		memset(&rec, 0, sizeof(rec));
		rec.time_us = clock_now_us();
		rec.kind = ATTACK_BANNED;
		text_copy(rec.client_ip, b->peer_ip, sizeof(rec.client_ip));
		text_copy(rec.client_name, "unknown", sizeof(rec.client_name));
		text_copy(rec.session, b->sid, sizeof(rec.session));
		text_printf(rec.reply, sizeof(rec.reply), "554 5.7.1 Service "
		    "unavailable; client [%s] is banned", b->peer_ip);
		rec.port = l->port;
		(void)attacklog_record(eng->alog, &rec);
	}
	/* What a client said before the greeting is answered now; a client
	 * that waited has said nothing yet: no read until the loop says. */
	if (!banned_send(b, false, "554 5.7.1 %s Service unavailable; "
	    "client [%s] is banned for repeated attacks", cfg->hostname,
	    b->peer_ip) ||
	    (peer->early_talk && !banned_read(b))) {
		banned_free(b);
		return true;
	}
	if ((b->ev = event_new(eng->base, fd, EV_READ | EV_PERSIST, banned_cb,
	    b)) == NULL)
		FATAL("event_new");
	event_add(b->ev, &tv);
	return true;
}
