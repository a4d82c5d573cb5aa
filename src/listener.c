/*
 * listener.c: listening sockets and connection limits. Binding runs in the
 * root parent before the privilege drop; accepting runs in the engine.
 * Accepted peers are untrusted; PROXY headers are read by the session, on
 * the listeners that require them, and only then is the per-address limit
 * applied to the proxied address.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "text.h"

#define IP_BUCKETS	65536

/* Sessions per client address. IPv4-mapped IPv6 counts as IPv4; other
 * IPv6 addresses count by /64, the smallest network a site is given
 * (RFC 6177), so one /64 cannot fill max_connections by itself. */
struct ip_count {
	uint8_t		 addr[16];
	uint8_t		 family;
	uint32_t	 count;
	struct ip_count	*next;
};

static struct ip_count	*ip_table[IP_BUCKETS];

void
listener_ip_key(const struct sockaddr *sa, uint8_t addr[16], uint8_t *family)
{
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(addr, sin6->sin6_addr.s6_addr + 12, 4);
			*family = AF_INET;
			return;
		}
		memcpy(addr, sin6->sin6_addr.s6_addr, 8);
		*family = AF_INET6;
		return;
	}
	memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	*family = AF_INET;
}

static struct ip_count **
ip_find(const uint8_t addr[16], uint8_t family)
{
	uint32_t		 h = 2166136261u;
	struct ip_count		**pp;
	size_t			 i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	h ^= family;
	for (pp = &ip_table[h % IP_BUCKETS]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->family == family &&
		    memcmp((*pp)->addr, addr, 16) == 0)
			break;
	return pp;
}

bool
listener_ip_acquire(struct engine *eng, const struct sockaddr *sa)
{
	uint8_t			 addr[16], family;
	struct ip_count		**pp, *c;

	listener_ip_key(sa, addr, &family);
	pp = ip_find(addr, family);
	if ((c = *pp) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			FATAL("out of memory");
		memcpy(c->addr, addr, 16);
		c->family = family;
		*pp = c;
	}
	if (c->count >= eng->cfg->max_connections_per_ip) {
		if (c->count == 0) {
			*pp = c->next;
			free(c);
		}
		return false;
	}
	c->count++;
	return true;
}

void
listener_ip_release(const struct sockaddr *sa)
{
	uint8_t			 addr[16], family;
	struct ip_count		**pp, *c;

	listener_ip_key(sa, addr, &family);
	pp = ip_find(addr, family);
	if ((c = *pp) == NULL || c->count == 0)
		FATAL("per-address count underflow");
	if (--c->count == 0) {
		*pp = c->next;
		free(c);
	}
}

static bool
is_proxy(const struct config *cfg, const struct config_endpoint *ep)
{
	size_t	i;

	for (i = 0; i < cfg->smtp_proxy_protocol.count; i++) {
		const struct config_endpoint *p =
		    &cfg->smtp_proxy_protocol.items[i];

		if (p->len == ep->len && memcmp(&p->ss, &ep->ss, ep->len) == 0)
			return true;
	}
	return false;
}

static int
bind_one(const struct config_endpoint *ep, char *err, size_t errlen)
{
	int	fd, on = 1;

	fd = socket(ep->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ep->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&ep->ss, ep->len) == -1 ||
	    listen(fd, 1024) == -1)
		goto fail;
	return fd;
fail:
	text_printf(err, errlen, "listen %s: %s", ep->text, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int
listener_bind_all(const struct config *cfg, struct listeners *out,
    char *err, size_t errlen)
{
	const struct config_endpoints	*lists[LISTENER_ROLE_COUNT] = {
	    &cfg->smtp_listen, &cfg->smtp_submission, &cfg->smtp_smtps,
	    &cfg->pop3_listen, &cfg->pop3_pop3s };
	size_t				 i, j, total = 0;

	for (i = 0; i < LISTENER_ROLE_COUNT; i++)
		total += lists[i]->count;
	out->items = calloc(total ? total : 1, sizeof(*out->items));
	out->count = 0;
	if (out->items == NULL)
		FATAL("out of memory");
	for (i = 0; i < LISTENER_ROLE_COUNT; i++) {
		for (j = 0; j < lists[i]->count; j++) {
			const struct config_endpoint	*ep = &lists[i]->items[j];
			struct listener			*l =
			    &out->items[out->count];

			l->role = (enum listener_role)i;
			l->proxy = i < LISTENER_POP3 && is_proxy(cfg, ep);
			text_copy(l->text, ep->text, sizeof(l->text));
			memcpy(&l->ss, &ep->ss, ep->len);
			l->len = ep->len;
			l->port = ntohs(ep->ss.ss_family == AF_INET6 ?
			    ((const struct sockaddr_in6 *)&ep->ss)->sin6_port :
			    ((const struct sockaddr_in *)&ep->ss)->sin_port);
			if ((l->fd = bind_one(ep, err, errlen)) == -1)
				goto fail;
			/* Replies are small and final: do not let Nagle
			 * hold them back behind a delayed ACK (40 ms per TLS
			 * 1.3 greeting otherwise). Accepted sockets inherit
			 * it: no system call per connection. */
			(void)setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY,
			    &(int){ 1 }, sizeof(int));
			/* A proxy speaks first (its header): accept() once
			 * the header is there, so reading it takes no wait
			 * (TCP_DEFER_ACCEPT, tcp(7)). Never on the others,
			 * where the server speaks first. */
			if (l->proxy)
				(void)setsockopt(l->fd, IPPROTO_TCP,
				    TCP_DEFER_ACCEPT, &(int){ 1 }, sizeof(int));
			out->count++;
		}
	}
	return 0;
fail:
	listener_close_all(out);
	return -1;
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct listener	*l = arg;
	struct engine	*eng = l->eng;
	char		 msg[300];

	(void)evl;
	if (eng->stopping || eng->sessions >= eng->cfg->max_connections) {
		/* Over the total limit: say so in one write and hang up;
		 * no session is built for it. */
		l->def->busy(eng->cfg, msg, sizeof(msg) - 2);
		text_append(msg, "\r\n", sizeof(msg));
		(void)!write(fd, msg, strlen(msg));
		close(fd);
		return;
	}
	l->def->accept(eng, l, fd, sa, (socklen_t)len);
}

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener_pause	*p = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(p->evl);
}

void
listener_pause_init(struct listener_pause *p, struct event_base *base,
    struct evconnlistener *evl, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->evl = evl;
	text_copy(p->what, what, sizeof(p->what));
	if ((p->ev = evtimer_new(base, listener_resume, p)) == NULL)
		FATAL("evtimer_new");
}

void
listener_pause_on_error(struct listener_pause *p, int err)
{
	struct timeval	tv = { 0, LISTENER_PAUSE_MS * 1000 };
	time_t		now = time(NULL);

	p->errors++;
	if (now - p->warned >= LISTENER_WARN_S) {
		log_warn("accept on %s: %s; pausing %d ms (%lu errors)",
		    p->what, strerror(err), LISTENER_PAUSE_MS, p->errors);
		p->warned = now;
		p->errors = 0;
	}
	evconnlistener_disable(p->evl);
	evtimer_add(p->ev, &tv);
}

void
listener_pause_free(struct listener_pause *p)
{
	if (p->ev != NULL)
		event_free(p->ev);
	p->ev = NULL;
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener	*l = arg;
	int		 err = errno;

	(void)evl;
	/* EMFILE and friends: the socket stays readable; pause rather
	 * than spin. */
	listener_pause_on_error(&l->pause, err);
}

void
listener_start(struct listeners *ls, struct engine *eng,
    const struct listener_role_def roles[LISTENER_ROLE_COUNT])
{
	size_t	i;

	for (i = 0; i < ls->count; i++) {
		struct listener *l = &ls->items[i];

		l->eng = eng;
		l->def = &roles[l->role];
		if (l->def->accept == NULL)
			FATAL("listener role without an accept function");
		/* Backlog 0: the socket already listens with our backlog
		 * (-1 would make libevent listen() again with 128). */
		l->evl = evconnlistener_new(eng->base, accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE, 0, l->fd);
		if (l->evl == NULL)
			FATAL("evconnlistener_new");
		evconnlistener_set_error_cb(l->evl, accept_error_cb);
		listener_pause_init(&l->pause, eng->base, l->evl, l->text);
		log_info("listening on %s (%s%s)", l->text,
		    l->def->name, l->proxy ? ", PROXY" : "");
	}
}

void
listener_close_all(struct listeners *ls)
{
	size_t	i;

	for (i = 0; i < ls->count; i++) {
		listener_pause_free(&ls->items[i].pause);
		if (ls->items[i].evl != NULL)
			evconnlistener_free(ls->items[i].evl);
		else if (ls->items[i].fd != -1)
			close(ls->items[i].fd);
	}
	free(ls->items);
	ls->items = NULL;
	ls->count = 0;
}
