/*
 * conn.c: the connection under every protocol session (conn.h). Runs on
 * the engine's event loop; everything the peer sends is untrusted.
 *
 *   (accept) --listener wants PROXY--> PREFACE --header--> start()
 *   (accept) --no PROXY--> start()
 *   start() --conn_init--> OPEN --conn_close--> CLOSING --drained|dead|
 *       write timeout--> (freed)
 *
 * PREFACE owns only the socket and one event: a client that never sends
 * its header costs no bufferevent, and the session starts with the peer
 * the header names. In OPEN the session runs its protocol; CLOSING reads
 * nothing more and lingers until the last reply has left.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
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
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "proxy_proto.h"
#include "text.h"
#include "tls.h"
#include "xalloc.h"

/* While closing: how often to look whether the last reply has left (the
 * socket's bufferevent under a TLS filter says nothing when drained). */
#define CONN_LINGER_TICK_US	10000

/* ---- PREFACE: the PROXY header ----------------------------------------- */

struct conn_preface {
	struct engine		*eng;
	struct listener		*l;
	conn_start_fn		 start;
	evutil_socket_t		 fd;
	struct event		*ev;
	int64_t			 deadline_us;	/* clock_mono_us() */
	struct conn_peer	 peer;
	char			 peer_ip[IPADDR_TEXT_MAX];
	uint8_t			 buf[PROXY_V2_MAX];
	size_t			 have;		/* header octets taken */
};

static void
preface_free(struct conn_preface *p, bool close_fd)
{
	if (close_fd)
		close(p->fd);
	event_free(p->ev);
	p->eng->sessions--;
	free(p);
}

/* Wait for more of the header until the deadline set at accept. */
static void
preface_wait(struct conn_preface *p)
{
	struct timeval	tv = { 0, 0 };
	int64_t		left = p->deadline_us - clock_mono_us();

	if (left > 0) {
		tv.tv_sec = (time_t)(left / 1000000);
		tv.tv_usec = (suseconds_t)(left % 1000000);
	}
	event_add(p->ev, &tv);
}

/*
 * Take the header and not one octet more: on a TLS listener the
 * ClientHello behind it must stay in the socket for the TLS bufferevent.
 * So look first (MSG_PEEK), then take what belongs to the header: all of
 * it while it is incomplete (a valid prefix is all header), else up to
 * its end.
 */
static void
preface_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_preface	*p = arg;
	struct proxy_info	 info;
	size_t			 room = sizeof(p->buf) - p->have, take;
	enum proxy_result	 r;
	ssize_t			 n;

	if (what & EV_TIMEOUT) {
		log_info("%s PROXY header timeout ip=%s", p->peer.sid,
		    p->peer_ip);
		preface_free(p, true);
		return;
	}
	n = recv(fd, p->buf + p->have, room, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		preface_wait(p);
		return;
	}
	if (n <= 0) {
		log_info("%s disconnect ip=%s before the PROXY header (%s)",
		    p->peer.sid, p->peer_ip, n == 0 ? "eof" : "error");
		preface_free(p, true);
		return;
	}
	r = proxy_proto_parse(p->buf, p->have + (size_t)n, &info);
	if (r == PROXY_INVALID || (r == PROXY_NEED_MORE && (size_t)n == room) ||
	    (r == PROXY_OK && info.consumed < p->have))
		goto invalid;	/* not a header, or longer than any */
	take = r == PROXY_OK ? info.consumed - p->have : (size_t)n;
	/* The octets are there: they were just seen. */
	if (recv(fd, p->buf + p->have, take, 0) != (ssize_t)take) {
		log_info("%s PROXY header read failed ip=%s", p->peer.sid,
		    p->peer_ip);
		preface_free(p, true);
		return;
	}
	p->have += take;
	if (r == PROXY_NEED_MORE) {
		preface_wait(p);
		return;
	}
	/* The client did not wait for our greeting. */
	p->peer.early_talk = (size_t)n > take;
	if (!info.use_real) {
		memcpy(&p->peer.ss, &info.src, info.src_len);
		p->peer.len = info.src_len;
	} else
		p->peer.proxy_unknown = true;
	p->start(p->eng, p->l, p->fd, &p->peer);
	preface_free(p, false);
	return;
invalid:
	log_info("%s invalid PROXY header from %s", p->peer.sid, p->peer_ip);
	preface_free(p, true);
}

void
conn_accept(struct engine *eng, struct listener *l, evutil_socket_t fd,
    const struct sockaddr *sa, socklen_t len, conn_start_fn start)
{
	struct conn_preface	*p;
	struct conn_peer	 peer;

	if (len > sizeof(peer.ss))
		FATAL("peer address too long");
	memset(&peer, 0, sizeof(peer));
	text_printf(peer.sid, sizeof(peer.sid), "%016llx",
	    (unsigned long long)++eng->next_session_id);
	memcpy(&peer.ss, sa, len);
	peer.len = len;
	if (!l->proxy) {
		start(eng, l, fd, &peer);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->eng = eng;
	p->l = l;
	p->start = start;
	p->fd = fd;
	p->peer = peer;
	text_ip(sa, p->peer_ip, sizeof(p->peer_ip));
	/* It counts toward max_connections like the session it becomes. */
	eng->sessions++;
	p->deadline_us = clock_mono_us() +
	    (int64_t)eng->cfg->proxy_timeout * 1000000;
	if ((p->ev = event_new(eng->base, fd, EV_READ, preface_cb, p)) == NULL)
		FATAL("event_new");
	/* The header is usually there already (TCP_DEFER_ACCEPT on PROXY
	 * listeners): read it now rather than after a turn of the loop. */
	preface_cb(fd, EV_READ, p);
}

/* ---- OPEN ---------------------------------------------------------------- */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	c->proto->input(c->owner);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	c->proto->output_low_cb(c->owner);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		tls_describe(c->bev, c->tls_info, sizeof(c->tls_info));
		log_info("%s tls ip=%s %s", c->sid, c->peer_ip, c->tls_info);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (!c->closing && c->proto->timeout != NULL)
			c->proto->timeout(c->owner);
		/* libevent turned off the direction that timed out; a
		 * client that does not read is not waited for. */
		c->dead = c->closing || (what & BEV_EVENT_WRITING) != 0;
		conn_close(c, "timeout");
		return;
	}
	/* EOF or error: nobody is listening any more. */
	c->dead = true;
	conn_close(c, (what & BEV_EVENT_EOF) ? "eof" : "error");
}

void
conn_setup(struct conn *c)
{
	struct timeval		 rd = { (time_t)c->read_timeout, 0 };
	struct timeval		 wr = { (time_t)c->write_timeout, 0 };
	struct bufferevent	*under;

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, c->proto->input_high);
	bufferevent_setwatermark(c->bev, EV_WRITE, c->proto->output_low, 0);
	/* After STARTTLS the TLS filter moves our output into the socket's
	 * bufferevent at once and without limit unless that one has a high
	 * watermark. */
	if ((under = bufferevent_get_underlying(c->bev)) != NULL)
		bufferevent_setwatermark(under, EV_WRITE, 0,
		    c->proto->under_output_high);
	/* 0: no timeout (the policy service waits on Postfix). */
	bufferevent_set_timeouts(c->bev, c->read_timeout > 0 ? &rd : NULL,
	    c->write_timeout > 0 ? &wr : NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
conn_init(struct conn *c, const struct conn_proto *proto, void *owner,
    struct engine *eng, struct listener *l, evutil_socket_t fd,
    const struct conn_peer *peer, int read_timeout, int write_timeout)
{
	if (proto->reply_max > CONN_REPLY_MAX)
		FATAL("conn_proto reply_max over CONN_REPLY_MAX");
	c->proto = proto;
	c->owner = owner;
	c->eng = eng;
	c->listener = l;
	c->read_timeout = read_timeout;
	c->write_timeout = write_timeout;
	eng->sessions++;
	text_copy(c->sid, peer->sid, sizeof(c->sid));
	memcpy(&c->peer, &peer->ss, peer->len);
	c->peer_len = peer->len;
	c->proxy_unknown = peer->proxy_unknown;
	c->early_talk = peer->early_talk;
	text_ip((struct sockaddr *)&c->peer, c->peer_ip, sizeof(c->peer_ip));
	text_copy(c->client_name, "unknown", sizeof(c->client_name));
	if (l->def->implicit_tls) {
		/* RFC 8314: TLS from the first byte. */
		if (eng->tls == NULL)
			FATAL("implicit TLS without a TLS context");
		c->bev = tls_accept(eng->base, fd, eng->tls);
		c->tls = true;
	} else
		c->bev = bufferevent_socket_new(eng->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		FATAL("bufferevent_socket_new");
	conn_setup(c);
}

bool
conn_admit(struct conn *c)
{
	const struct config	*cfg = c->eng->cfg;

	if (!listener_ip_acquire(c->eng, (struct sockaddr *)&c->peer)) {
		log_info("%s refused ip=%s: too many connections from it",
		    c->sid, c->peer_ip);
		return false;
	}
	c->ip_counted = true;
	/* After PROXY UNKNOWN (or v2 LOCAL) the address is the proxy's own:
	 * it counts toward the limits, but the client behind it is nobody
	 * we know, so never a trusted network. */
	c->trusted = !c->proxy_unknown &&
	    config_cidrs_contain(&cfg->trusted_networks,
	    (struct sockaddr *)&c->peer);
	return true;
}

void
conn_log_connect(const struct conn *c)
{
	const struct listener	*l = c->listener;

	log_info("%s connect ip=%s port=%d listener=%s%s%s%s", c->sid,
	    c->peer_ip, l->port, l->def->name,
	    c->proxy_unknown ? " proxy=unknown" : l->proxy ? " proxy=yes" : "",
	    l->def->implicit_tls ? " tls=yes" : "",
	    c->trusted ? " trusted=yes" : "");
}

static void
conn_name_cb(const char *name, void *arg)
{
	struct conn	*c = arg;

	text_copy(c->client_name, name, sizeof(c->client_name));
	log_debug("%s client name %s", c->sid, name);
	if (c->proto->name_cb != NULL)
		c->proto->name_cb(c->owner, name);
}

void
conn_lookup_name(struct conn *c)
{
	/* The name arrives while the greeting goes out; until then (and on
	 * any failure) the client is "unknown". */
	c->hold = attacklog_hold_new(c->eng->alog, c->eng->dns,
	    (struct sockaddr *)&c->peer, conn_name_cb, c);
}

void
conn_vreply(struct conn *c, const char *fmt, va_list ap)
{
	char	line[CONN_REPLY_MAX + 2];
	int	n;

	if (c->dead || c->bev == NULL)
		return;
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0 || (size_t)n > c->proto->reply_max)
		FATAL("reply longer than the protocol's reply_max");
	line[n++] = '\r';
	line[n++] = '\n';
	evbuffer_add(bufferevent_get_output(c->bev), line, (size_t)n);
}

void
conn_reply(struct conn *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conn_vreply(c, fmt, ap);
	va_end(ap);
}

size_t
conn_output_pending(const struct conn *c)
{
	struct bufferevent	*under;
	size_t			 n;

	if (c->bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(c->bev));
	if ((under = bufferevent_get_underlying(c->bev)) != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

void
conn_starttls(struct conn *c)
{
	c->bev = tls_starttls(c->bev, c->eng->tls);
	c->tls = true;
	conn_setup(c);
}

void
conn_record_init(const struct conn *c, struct attack_record *rec,
    enum attack_kind kind, const char *reply_text)
{
	memset(rec, 0, sizeof(*rec));
	rec->time_us = clock_now_us();
	rec->kind = kind;
	text_copy(rec->client_ip, c->peer_ip, sizeof(rec->client_ip));
	text_copy(rec->client_name, c->client_name, sizeof(rec->client_name));
	text_copy(rec->session, c->sid, sizeof(rec->session));
	text_copy(rec->reply, reply_text, sizeof(rec->reply));
	rec->port = c->listener->port;
}

bool
conn_record_put(struct conn *c, const struct attack_record *rec)
{
	if (c->eng->alog == NULL)
		return false;
	/* The record waits for the client's name, the session does not. */
	if (c->hold != NULL)
		return attacklog_hold_record(c->hold, rec);
	return attacklog_record(c->eng->alog, rec);
}

/* ---- CLOSING ------------------------------------------------------------- */

static void
conn_free(struct conn *c)
{
	attacklog_hold_release(c->hold);
	c->hold = NULL;
	if (c->linger != NULL)
		event_free(c->linger);
	c->linger = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->ip_counted)
		listener_ip_release((struct sockaddr *)&c->peer);
	c->ip_counted = false;
	c->eng->sessions--;
	c->proto->free(c->owner);
}

/* Runs from its own timer, never inside the session's code, so no caller
 * ever touches a freed session. */
static void
conn_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv = { 0, CONN_LINGER_TICK_US };
	uint64_t	 max;

	(void)fd;
	(void)what;
	max = (uint64_t)c->write_timeout * (1000000 / CONN_LINGER_TICK_US);
	if (!c->dead && c->bev != NULL && ++c->linger_ticks < max &&
	    conn_output_pending(c) > 0) {
		evtimer_add(c->linger, &tv);
		return;
	}
	conn_free(c);
}

/* After the close: a timeout or the peer's end only mark it gone. */
static void
conn_closed_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	(void)what;
	c->dead = true;
}

void
conn_close(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	log_debug("%s closing: %s", c->sid, why);
	c->closing = true;
	c->proto->closing(c->owner);
	if (c->holds > 0) {
		/* Someone will call the session back: cut the line now,
		 * free at conn_release(). */
		c->dead = true;
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	if (c->bev != NULL) {
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setcb(c->bev, NULL, NULL, conn_closed_event_cb, c);
		/* A read timeout left writing on; a write timeout marked
		 * the peer dead. The last words still go. */
		bufferevent_enable(c->bev, EV_WRITE);
	}
	if ((c->linger = evtimer_new(c->eng->base, conn_linger_cb, c)) == NULL)
		FATAL("evtimer_new");
	event_active(c->linger, EV_TIMEOUT, 0);
}

void
conn_hold(struct conn *c)
{
	c->holds++;
}

bool
conn_release(struct conn *c)
{
	if (c->holds == 0)
		FATAL("conn_release without conn_hold");
	if (--c->holds > 0 || !c->closing)
		return false;
	conn_free(c);
	return true;
}

unsigned
conn_move(const struct conn *c, const uint32_t *moves,
    const char *const *names, unsigned cur, unsigned next)
{
	char	msg[128];

	if (moves[cur] == 0)
		return cur;
	if ((moves[cur] & (1u << next)) == 0) {
		text_printf(msg, sizeof(msg), "%s: illegal move %s -> %s",
		    c->proto->name, names[cur], names[next]);
		FATAL(msg);
	}
	log_debug("%s state %s -> %s", c->sid, names[cur], names[next]);
	return next;
}

enum line_result
conn_take_line(struct conn *c, size_t max, char *line, size_t *len)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	enum line_result	 r;

	while ((r = line_input_take(in, max, &c->skip_line, line, len)) ==
	    LINE_SKIPPED)
		;
	return r;
}

const struct config *
conn_cfg(const struct conn *c)
{
	return c->eng->cfg;
}

const struct sockaddr *
conn_sa(const struct conn *c)
{
	return (const struct sockaddr *)&c->peer;
}

void
conn_destroy(struct conn *c)
{
	conn_free(c);
}
