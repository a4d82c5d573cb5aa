/*
 * policyd.c: the Postfix SMTPD access policy service, on the engine's
 * libevent loop. Postfix (SMTPD_POLICY_README) connects over TCP or a unix
 * socket, sends a request as name=value lines ended by an empty line and
 * waits for "action=...\n\n"; it keeps the connection for further requests
 * and closes it itself when idle, so the service never closes one first
 * unless the peer breaks the framing beyond repair. Input is from Postfix
 * (trusted) but carries client-controlled values: every line is bounded
 * (policy_parse.c) and a request that broke a bound still gets DUNNO.
 *
 * Replies are LF only: a CR would make Postfix wait for the end of the
 * reply, time out and use its default action.
 *
 * Connection states:
 *
 *	   accept
 *	     |
 *	     v       line too long        LF found
 *	  READING -------------------> SKIPPING ------+
 *	   |  ^  \                                     |
 *	   |  |   +<-----------------------------------+
 *	   |  | empty line: answer, reset request
 *	   |  +--+
 *	   | EOF / error / stop
 *	   v
 *	 CLOSED (freed)
 *
 * READING: req holds the attributes so far; SKIPPING: the rest of an
 * over-long line is thrown away up to its LF (req.bad is set, so the
 * request is answered DUNNO at its empty line).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "attacklog.h"
#include "config.h"
#include "conn.h"
#include "defense.h"
#include "engine.h"
#include "grants.h"
#include "listener.h"
#include "log.h"
#include "policyd.h"
#include "text.h"

/* Answers waiting for a peer that does not read: beyond this, stop
 * reading its requests until it has taken them. */
#define POLICYD_OUTPUT_MAX	65536

enum policyd_state {
	POLICYD_READING,
	POLICYD_SKIPPING,
};

struct policyd;

struct policyd_conn {
	struct conn		 conn;	/* socket, close (conn.h) */
	struct policyd		*pd;
	enum policyd_state	 state;
	struct policy_request	 req;
	struct policyd_conn	*prev, *next;
};

/* A policy socket; the listener part is what conn.h reads (port,
 * role). */
struct policyd_listener {
	struct listener		 l;
	struct policyd		*pd;
	struct evconnlistener	*evl;
	char			 name[POLICY_UNIX_PATH_MAX + 8];
};

static const struct listener_role_def policyd_role = {
	.name = "policy",
};

struct policyd {
	struct engine		*eng;
	struct policyd_listener	 ls[CONFIG_LIST_MAX];
	size_t			 nls;
	struct policyd_conn	*conns;
	uint64_t		 next_id;
};

static const char *const policyd_state_names[] = {
	[POLICYD_READING] = "READING",
	[POLICYD_SKIPPING] = "SKIPPING",
};

static void
policyd_enter_state(struct policyd_conn *c, enum policyd_state new)
{
	log_debug("%s %s -> %s", c->conn.sid, policyd_state_names[c->state],
	    policyd_state_names[new]);
	c->state = new;
}

static int
policyd_bind_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!text_copy(sun.sun_path, path, sizeof(sun.sun_path))) {
		snprintf(err, errlen, "[policy] listen: %s: path too long",
		    path);
		return -1;
	}
	/* A socket left by an earlier run is replaced; anything else at
	 * the path is somebody's file and is left alone. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "[policy] listen: %s exists "
			    "and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 || listen(fd, 1024) == -1) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "[policy] listen: %s: %s", path,
	    strerror(errno));
	return -1;
}

static int
policyd_bind_tcp(const char *text, char *err, size_t errlen)
{
	struct config_endpoint	ep;
	int			fd;

	if (!config_parse_endpoint(text, &ep)) {
		snprintf(err, errlen, "[policy] listen: %s: expected "
		    "host:port", text);
		return -1;
	}
	if ((fd = socket(ep.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (ep.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 },
		    sizeof(int));
	if (bind(fd, (struct sockaddr *)&ep.ss, ep.len) == -1 ||
	    listen(fd, 1024) == -1) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "[policy] listen: %s: %s", text,
	    strerror(errno));
	return -1;
}

int
policyd_bind(const struct config *cfg, struct policyd_sockets *out,
    char *err, size_t errlen)
{
	struct policy_listen_item	*items;
	size_t				 n, i;

	memset(out, 0, sizeof(*out));
	if (*cfg->policy_listen == '\0')
		return 0;
	if ((items = calloc(CONFIG_LIST_MAX, sizeof(*items))) == NULL)
		FATAL("out of memory");
	if (!policy_listen_parse(cfg->policy_listen, items, CONFIG_LIST_MAX,
	    &n, err, errlen))
		goto fail;
	for (i = 0; i < n; i++) {
		int fd;

		if (items[i].is_unix) {
			fd = policyd_bind_unix(items[i].path, err, errlen);
			text_printf(out->names[out->count],
			    sizeof(out->names[0]), "unix:%s", items[i].path);
			out->ports[out->count] = 0;
		} else {
			struct config_endpoint ep;

			fd = policyd_bind_tcp(items[i].endpoint, err, errlen);
			text_copy(out->names[out->count], items[i].endpoint,
			    sizeof(out->names[0]));
			config_parse_endpoint(items[i].endpoint, &ep);
			out->ports[out->count] = ntohs(
			    ep.ss.ss_family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&ep.ss)->sin6_port :
			    ((struct sockaddr_in *)&ep.ss)->sin_port);
		}
		if (fd == -1)
			goto fail;
		out->fds[out->count++] = fd;
	}
	free(items);
	return 0;
fail:
	free(items);
	policyd_sockets_close(out);
	return -1;
}

void
policyd_sockets_close(struct policyd_sockets *socks)
{
	size_t	i;

	for (i = 0; i < socks->count; i++)
		if (socks->fds[i] != -1)
			close(socks->fds[i]);
	socks->count = 0;
}

enum policy_verdict
policy_decide(const struct policy_request *req, bool has_grant, bool banned)
{
	if (req->bad || strcmp(req->request, "smtpd_access_policy") != 0)
		return POLICY_DUNNO;
	/* Placed before reject_unauth_destination, the RCPT stage sees
	 * exactly the recipients Postfix would refuse to relay. */
	if (strcmp(req->protocol_state, "RCPT") != 0)
		return POLICY_DUNNO;
	if (*req->client_address == '\0')
		return POLICY_DUNNO;
	if (has_grant)
		return POLICY_OK;
	if (banned)
		return POLICY_REJECT;
	return POLICY_RECORD;
}

/*
 * Bans ([defense]): a banned client gets "action=REJECT" before any
 * record. The client Postfix names is checked like one of our own SMTP
 * clients (trusted networks and `allow` are never banned).
 */
static bool
policyd_is_banned(struct engine *eng, const struct sockaddr *sa)
{
	if (eng->defense == NULL)
		return false;
	return defense_banned(eng->defense, sa,
	    config_cidrs_contain(&eng->cfg->trusted_networks, sa)) != NULL;
}

static const struct domain_list *
policyd_domains(const struct config *cfg)
{
	return cfg->policy_default_domains.count > 0 ?
	    &cfg->policy_default_domains : &cfg->domains;
}

static void
policyd_record(struct policyd_conn *c, const struct sockaddr *sa)
{
	struct engine		*eng = c->pd->eng;
	const struct policy_request *req = &c->req;
	struct attack_record	 rec;
	struct timespec		 ts;
	char			 dom[DOMAIN_MAX + 2];
	uint32_t		 port;
	const char		*rest;

	memset(&rec, 0, sizeof(rec));
	clock_gettime(CLOCK_REALTIME, &ts);
	rec.time_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	rec.kind = policy_sender_domain(req->sender, dom, sizeof(dom)) &&
	    addr_domain_is_local(policyd_domains(eng->cfg), dom) ?
	    ATTACK_SPOOFED_RELAY : ATTACK_RELAY;
	text_copy(rec.client_ip, req->client_address, sizeof(rec.client_ip));
	/* Postfix's client_name is already forward-confirmed ("unknown"
	 * otherwise); reverse_client_name is not, so it never names. */
	text_copy(rec.client_name, *req->client_name ? req->client_name :
	    "unknown", sizeof(rec.client_name));
	text_copy(rec.helo, req->helo_name, sizeof(rec.helo));
	text_copy(rec.from, req->sender, sizeof(rec.from));
	text_copy(rec.to, req->recipient, sizeof(rec.to));
	text_printf(rec.session, sizeof(rec.session), "pf%s",
	    *req->queue_id ? req->queue_id : "NOQUEUE");
	port = 0;
	if (*req->server_port != '\0') {
		rest = req->server_port;
		while (*rest >= '0' && *rest <= '9' && port < 65536)
			port = port * 10 + (uint32_t)(*rest++ - '0');
		if (*rest != '\0' || port > 65535)
			port = 0;
	}
	rec.port = (int)port;
	attacklog_record(eng->alog, &rec);
	/* Postfix's refusals count toward bans as our own would. */
	if (eng->defense != NULL)
		defense_note(eng->defense, sa, rec.kind,
		    config_cidrs_contain(&eng->cfg->trusted_networks, sa));
	log_info("%s relay attempt kind=%s client=%s[%s] from=<%s> "
	    "to=<%s>", c->conn.sid, attack_kind_name(rec.kind),
	    rec.client_name, rec.client_ip, rec.from, rec.to);
}

/* Answer the complete request in c->req. */
static void
policyd_answer(struct policyd_conn *c)
{
	struct engine		*eng = c->pd->eng;
	struct sockaddr_storage	 ss;
	bool			 addr_ok, grant = false, banned = false;
	const char		*reply = "action=DUNNO\n\n";

	addr_ok = text_sockaddr(c->req.client_address, &ss);
	if (addr_ok && !c->req.bad &&
	    strcmp(c->req.protocol_state, "RCPT") == 0) {
		grant = grants_check(eng, (struct sockaddr *)&ss, NULL);
		banned = !grant && policyd_is_banned(eng,
		    (struct sockaddr *)&ss);
	}
	if (c->req.bad)
		log_warn("%s malformed request (%zu lines): DUNNO",
		    c->conn.sid, c->req.lines);
	switch (policy_decide(&c->req, grant && addr_ok, banned)) {
	case POLICY_OK:
		reply = "action=OK\n\n";
		log_info("%s grant for %s: OK",
		    c->conn.sid, c->req.client_address);
		break;
	case POLICY_REJECT:
		reply = "action=REJECT 5.7.1 banned for relay attempts\n\n";
		log_info("%s banned client %s: REJECT",
		    c->conn.sid, c->req.client_address);
		break;
	case POLICY_RECORD:
		if (addr_ok)
			policyd_record(c, (struct sockaddr *)&ss);
		break;
	case POLICY_DUNNO:
		break;
	}
	evbuffer_add(bufferevent_get_output(c->conn.bev), reply, strlen(reply));
	policy_request_init(&c->req);
}

/* The connection is gone (conn.h). */
static void
policyd_conn_free(void *arg)
{
	struct policyd_conn	*c = arg;

	log_debug("%s closed", c->conn.sid);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->pd->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

static void
policyd_read(void *arg)
{
	struct policyd_conn	*c = arg;
	struct bufferevent	*bev = c->conn.bev;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	char			 line[POLICY_LINE_MAX + 1];
	size_t			 len;

	for (;;) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    POLICYD_OUTPUT_MAX) {
			/* policyd_drained() resumes once the peer has read. */
			bufferevent_disable(bev, EV_READ);
			return;
		}
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (c->state == POLICYD_SKIPPING) {
			if (eol.pos == -1) {
				evbuffer_drain(in, evbuffer_get_length(in));
				return;
			}
			evbuffer_drain(in, (size_t)eol.pos + 1);
			c->req.bytes += (size_t)eol.pos + 1;
			policyd_enter_state(c, POLICYD_READING);
			continue;
		}
		if (eol.pos == -1) {
			/* Check the ceiling before taking a line: no LF within
			 * the limit is an over-long line. */
			if (evbuffer_get_length(in) > POLICY_LINE_MAX) {
				c->req.bad = true;
				c->req.bytes += evbuffer_get_length(in);
				evbuffer_drain(in, evbuffer_get_length(in));
				policyd_enter_state(c, POLICYD_SKIPPING);
			}
			return;
		}
		len = (size_t)eol.pos;
		if (len > POLICY_LINE_MAX) {
			evbuffer_drain(in, len + 1);
			c->req.bad = true;
			c->req.bytes += len + 1;
			continue;
		}
		evbuffer_remove(in, line, len + 1);
		if (policy_parse_line(&c->req, line, len) == POLICY_LINE_END)
			policyd_answer(c);
	}
}

/* Everything written: take the requests left while the peer was slow. */
static void
policyd_drained(void *arg)
{
	struct policyd_conn	*c = arg;

	if (!(bufferevent_get_enabled(c->conn.bev) & EV_READ)) {
		bufferevent_enable(c->conn.bev, EV_READ);
		policyd_read(c);
	}
}

/* Postfix ends the connection; the service never does (conn.h closes
 * it on EOF or error). */
static void
policyd_closing(void *arg)
{
	(void)arg;
}

/* No limits but the answers' (POLICYD_OUTPUT_MAX) and no timeout: Postfix
 * keeps its connection and closes it when idle. */
static const struct conn_proto policyd_proto = {
	.name = "policy",
	.input = policyd_read,
	.output_low_cb = policyd_drained,
	.closing = policyd_closing,
	.free = policyd_conn_free,
};

static void
policyd_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct policyd_listener	*pl = arg;
	struct policyd		*pd = pl->pd;
	struct policyd_conn	*c;
	struct conn_peer	 peer;

	(void)evl;
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
		    sizeof(int));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		FATAL("out of memory");
	memset(&peer, 0, sizeof(peer));
	text_printf(peer.sid, sizeof(peer.sid), "policy%llu",
	    (unsigned long long)++pd->next_id);
	if ((size_t)len > sizeof(peer.ss))
		FATAL("peer address too long");
	memcpy(&peer.ss, sa, (size_t)len);
	peer.len = (socklen_t)len;
	c->pd = pd;
	c->state = POLICYD_READING;
	conn_init(&c->conn, &policyd_proto, c, pd->eng, &pl->l, fd, &peer,
	    0, 0);
	c->next = pd->conns;
	if (pd->conns != NULL)
		pd->conns->prev = c;
	pd->conns = c;
	log_debug("%s connected on %s", c->conn.sid, pl->name);
}

static void
policyd_accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct policyd_listener	*l = arg;

	(void)evl;
	log_warn("accept on policy %s: %s", l->name, strerror(errno));
}

struct policyd *
policyd_start(struct engine *eng, struct policyd_sockets *socks)
{
	struct policyd	*pd;
	size_t		 i;

	if (socks->count == 0)
		return NULL;
	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		FATAL("out of memory");
	pd->eng = eng;
	for (i = 0; i < socks->count; i++) {
		struct policyd_listener *l = &pd->ls[pd->nls];

		l->pd = pd;
		l->l.role = LISTENER_POLICY;
		l->l.def = &policyd_role;
		l->l.fd = -1;
		l->l.eng = eng;
		l->l.port = socks->ports[i];
		text_copy(l->name, socks->names[i], sizeof(l->name));
		l->evl = evconnlistener_new(eng->base, policyd_accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE, 0, socks->fds[i]);
		if (l->evl == NULL)
			FATAL("evconnlistener_new");
		evconnlistener_set_error_cb(l->evl, policyd_accept_error_cb);
		socks->fds[i] = -1;
		pd->nls++;
		log_info("listening on %s (policy)", l->name);
	}
	socks->count = 0;
	return pd;
}

void
policyd_free(struct policyd *pd)
{
	size_t	i;

	if (pd == NULL)
		return;
	for (i = 0; i < pd->nls; i++)
		evconnlistener_free(pd->ls[i].evl);
	while (pd->conns != NULL)
		conn_destroy(&pd->conns->conn);
	free(pd);
}
