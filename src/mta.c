/*
 * mta.c: delivery to one destination (mta.h). Runs in the engine on the
 * event loop. DNS answers and everything a remote server says are
 * untrusted; the relayhost setting and its credentials file are trusted
 * configuration.
 *
 * RFC 5321 5.1: look up the MX records of the domain; without any
 * (NODATA) the domain itself is the only host (the implicit MX); a null
 * MX (RFC 7505 3) means the domain takes no mail: a permanent failure.
 * Hosts are tried in preference order (equal ones shuffled by dns.c), and
 * each host's addresses in turn, IPv4 then IPv6, until a server is ready
 * for a transaction, at most MTA_CONNECT_MAX of them. If our own name is
 * among the MX hosts, it and every host not more preferred are dropped
 * (5.1, "the SMTP client ... MUST NOT" loop); an address that is one of
 * our SMTP listeners is skipped, and so is the unspecified address
 * (0.0.0.0 or ::, which reaches this host). An IPv4-mapped IPv6 address
 * (RFC 4291 2.5.5.2) is its IPv4 address, for this test and for the
 * connection. When nothing is left the mail "loops back to myself"
 * (permanent, on the first try). A relayhost "host:port" is looked up like
 * a domain, "[host]:port" by address only, as Postfix does.
 *
 *   MX --answer--> ADDRS --addresses--> SESSION --ready, jobs run--> DONE
 *   SESSION --not ready--> SESSION (next address) | ADDRS (next host)
 *   ADDRS --no address--> ADDRS (next host)
 *   MX | ADDRS | SESSION --nothing left--> DONE (first job failed)
 *
 * mta_enter_state() logs every transition at debug level.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "engine.h"
#include "log.h"
#include "mta.h"
#include "text.h"
#include "tls_client.h"
#include "xalloc.h"

/* Largest relayhost credentials file read. */
#define MTA_AUTH_FILE_MAX	65536
#define MTA_CRED_MAX		512

enum mta_state {
	MTA_ST_MX = 0,
	MTA_ST_ADDRS,
	MTA_ST_SESSION,
	MTA_ST_DONE,
};

static const char *const mta_st_names[] = { "MX", "ADDRS", "SESSION",
    "DONE" };

struct mta_ctx {
	struct engine		*eng;
	SSL_CTX			*tls;
	struct sockaddr_storage	*local;		/* interface addresses */
	size_t			 nlocal;
};

struct mta_host {
	char		name[DOMAIN_MAX + 1];
	unsigned	pref;
};

struct mta {
	struct mta_ctx		*ctx;
	enum mta_state		 state;
	char			 log_id[SESSION_ID_MAX];
	char			 dest[DOMAIN_MAX + 16];
	bool			 relay;
	char			 auth_user[MTA_CRED_MAX];
	char			 auth_pass[MTA_CRED_MAX];
	bool			 has_auth;
	unsigned		 port;
	struct mta_host		 hosts[DNS_MX_MAX];
	size_t			 nhosts, hi;
	struct sockaddr_storage	 addrs[DNS_ADDRS_MAX];
	size_t			 naddrs, ai;
	unsigned		 tries;
	unsigned		 self_skipped;
	bool			 tls_off;	/* this address, once more */
	struct dns_req		*req;
	struct mta_session	*session;
	struct mta_job		*first;		/* until a session runs it */
	const struct mta_ops	*ops;
	void			*arg;
	/* the outcome, reported from the loop */
	struct event		*end_ev;
	enum mta_result		 result;
	char			 status[SMTP_REPLY_STATUS_MAX];
	char			 why[MTA_DIAG_MAX];
};

static void	next_host(struct mta *);
static void	try_address(struct mta *);

static void
mta_enter_state(struct mta *m, enum mta_state next)
{
	log_debug("%s mta state %s -> %s", m->log_id, mta_st_names[m->state],
	    mta_st_names[next]);
	m->state = next;
}

/* ------------------------------------------------------------ context */

struct mta_ctx *
mta_ctx_new(struct engine *eng, char *err, size_t errlen)
{
	struct mta_ctx	*ctx = xcalloc(1, sizeof(*ctx));
	struct ifaddrs	*ifa, *i;
	size_t		 n = 0;

	ctx->eng = eng;
	if ((ctx->tls = tls_client_ctx(err, errlen)) == NULL) {
		free(ctx);
		return NULL;
	}
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL; i = i->ifa_next)
			n++;
		ctx->local = xcalloc(n + 1, sizeof(*ctx->local));
		for (i = ifa; i != NULL; i = i->ifa_next) {
			if (i->ifa_addr == NULL)
				continue;
			if (i->ifa_addr->sa_family == AF_INET)
				memcpy(&ctx->local[ctx->nlocal++], i->ifa_addr,
				    sizeof(struct sockaddr_in));
			else if (i->ifa_addr->sa_family == AF_INET6)
				memcpy(&ctx->local[ctx->nlocal++], i->ifa_addr,
				    sizeof(struct sockaddr_in6));
		}
		freeifaddrs(ifa);
	} else
		log_warn("mta: getifaddrs: %s; loop detection by address "
		    "covers the listeners' own addresses only",
		    strerror(errno));
	return ctx;
}

void
mta_ctx_free(struct mta_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->tls);
	free(ctx->local);
	free(ctx);
}

/* ------------------------------------------------------------ pure parts */

void
mta_addr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&sin6, ss, sizeof(sin6));
	if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = sin6.sin6_port;
	memcpy(&sin->sin_addr, sin6.sin6_addr.s6_addr + 12, 4);
}

bool
mta_addr_is_unspecified(const struct sockaddr_storage *ss)
{
	static const uint8_t	zero[16];

	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		    0;
	return ss->ss_family == AF_INET6 &&
	    memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, zero,
	    16) == 0;
}

/* An IPv4 or IPv6 literal into ss (port 0); false if it is neither. */
bool
mta_parse_relayhost(const char *text, char *host_out, unsigned *port_out,
    bool *mx_out, unsigned default_port)
{
	const char		*end, *colon = NULL;
	struct sockaddr_storage	 ss;
	unsigned long		 port;
	char			*ep;
	bool			 bracket = text[0] == '[';

	if (bracket) {
		if ((end = strchr(text, ']')) == NULL)
			return false;
		if (!text_copy_span(host_out, DOMAIN_MAX + 1, text + 1,
		    (size_t)(end - text - 1)))
			return false;
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1] != '\0')
			return false;
	} else {
		colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return false;	/* IPv6 needs brackets */
		if (!text_copy_span(host_out, DOMAIN_MAX + 1, text,
		    colon ? (size_t)(colon - text) : strlen(text)))
			return false;
	}
	if (host_out[0] == '\0' || strchr(host_out, ' ') != NULL)
		return false;
	*port_out = default_port;
	if (colon != NULL) {
		errno = 0;
		port = strtoul(colon + 1, &ep, 10);
		if (colon[1] < '0' || colon[1] > '9' || *ep != '\0' ||
		    errno != 0 || port == 0 || port > 65535)
			return false;
		*port_out = (unsigned)port;
	}
	*mx_out = !bracket && !text_sockaddr(host_out, &ss);
	return true;
}

int
mta_parse_auth(const char *text, size_t len, const char *relayhost,
    char *user_out, char *pass_out, size_t size)
{
	char		 bare[DOMAIN_MAX + 1];
	unsigned	 port;
	bool		 mx;
	size_t		 pos = 0;

	if (!mta_parse_relayhost(relayhost, bare, &port, &mx, 25))
		text_copy(bare, relayhost, sizeof(bare));
	while (pos < len) {
		const char	*line = text + pos, *nl, *sp, *colon;
		size_t		 llen, hlen, i = 0;

		nl = memchr(line, '\n', len - pos);
		llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		while (i < llen && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == llen || line[i] == '#')
			continue;
		line += i;
		llen -= i;
		for (hlen = 0; hlen < llen && line[hlen] != ' ' &&
		    line[hlen] != '\t'; hlen++)
			;
		if (hlen == llen)
			return -1;
		sp = line + hlen;
		while (sp < line + llen && (*sp == ' ' || *sp == '\t'))
			sp++;
		colon = memchr(sp, ':', (size_t)(line + llen - sp));
		if (colon == NULL || colon == sp)
			return -1;
		if (!(hlen == 1 && line[0] == '*') &&
		    !text_span_ieq(line, hlen, relayhost) &&
		    !text_span_ieq(line, hlen, bare))
			continue;
		if (!text_copy_span(user_out, size, sp, (size_t)(colon - sp)) ||
		    !text_copy_span(pass_out, size, colon + 1,
		    (size_t)(line + llen - colon - 1)))
			return -1;
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ the end */

static void
mta_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mta		*m = arg;
	const struct mta_ops	*ops = m->ops;
	void			*oarg = m->arg;
	struct mta_job		*first = m->first;
	enum mta_result		 result = m->result;
	char			 status[SMTP_REPLY_STATUS_MAX];
	char			 why[MTA_DIAG_MAX];
	size_t			 i;

	(void)fd;
	(void)what;
	text_copy(status, m->status, sizeof(status));
	text_copy(why, m->why, sizeof(why));
	m->first = NULL;
	mta_free(m);
	if (first != NULL) {
		for (i = 0; i < first->nrcpts; i++) {
			first->rcpts[i].result = result;
			text_copy(first->rcpts[i].status, status,
			    sizeof(first->rcpts[i].status));
			text_copy(first->rcpts[i].diag, why,
			    sizeof(first->rcpts[i].diag));
		}
		first->remote[0] = '\0';
		first->remote_ip[0] = '\0';
		first->remote_port = 0;
		ops->done(first, oarg);
	}
	ops->end(first != NULL ? result : MTA_OK, status, why, oarg);
}

/* Finish: result MTA_OK once a session ran the first job; otherwise
 * the first job fails with status and why. */
static void
mta_finish(struct mta *m, enum mta_result result, const char *status,
    const char *why)
{
	if (m->state == MTA_ST_DONE)
		return;
	mta_enter_state(m, MTA_ST_DONE);
	m->result = result;
	text_copy(m->status, status, sizeof(m->status));
	text_copy(m->why, why, sizeof(m->why));
	if (result != MTA_OK)
		log_info("%s dest=%s %s: %s", m->log_id, m->dest,
		    result == MTA_PERM ? "failed" : "deferred", why);
	m->end_ev = evtimer_new(m->ctx->eng->base, mta_end_cb, m);
	if (m->end_ev == NULL ||
	    event_add(m->end_ev, &(struct timeval){ 0, 0 }) == -1)
		FATAL("evtimer_new");
}

void
mta_free(struct mta *m)
{
	if (m == NULL)
		return;
	if (m->req != NULL)
		dns_cancel(m->req);
	mta_session_free(m->session);
	if (m->end_ev != NULL)
		event_free(m->end_ev);
	explicit_bzero(m->auth_pass, sizeof(m->auth_pass));
	free(m);
}

/* Every host and address is used up. */
static void
give_up(struct mta *m)
{
	char	why[MTA_DIAG_MAX];

	if (m->tries == 0 && m->self_skipped > 0) {
		text_printf(why, sizeof(why), "mail for %s loops back to "
		    "myself", m->dest);
		mta_finish(m, MTA_PERM, "5.4.6", why);
		return;
	}
	if (m->why[0] == '\0')
		text_printf(m->why, sizeof(m->why), "no usable address for %s",
		    m->dest);
	text_copy(why, m->why, sizeof(why));
	mta_finish(m, MTA_TEMP, m->status[0] ? m->status : "4.4.1", why);
}

/* ------------------------------------------------------------ loops */

static bool
name_is_me(const struct mta *m, const char *name)
{
	const char	*me = m->ctx->eng->cfg->hostname;
	size_t		 n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	return strlen(me) == n && text_span_ieq(name, n, me);
}

static bool
addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static bool
addr_is_any(const struct sockaddr_storage *a)
{
	return mta_addr_is_unspecified(a);
}

static unsigned
addr_port(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

static const char *
addr_text(const struct sockaddr_storage *a, char *out, size_t size)
{
	const void	*p = a->ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)a)->sin_addr;

	if (inet_ntop(a->ss_family, p, out, (socklen_t)size) == NULL)
		text_copy(out, "?", size);
	return out;
}

/* Is a one of this host's addresses? All of 127/8 is. */
static bool
addr_is_local(const struct mta_ctx *ctx, const struct sockaddr_storage *a)
{
	size_t	i;

	if (a->ss_family == AF_INET &&
	    (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) ==
	    127)
		return true;
	for (i = 0; i < ctx->nlocal; i++)
		if (addr_equal(&ctx->local[i], a))
			return true;
	return false;
}

static bool
endpoints_hold(const struct mta *m, const struct config_endpoints *eps,
    const struct sockaddr_storage *a)
{
	size_t	i;

	for (i = 0; i < eps->count; i++) {
		const struct sockaddr_storage *ep = &eps->items[i].ss;

		if (addr_port(ep) != addr_port(a))
			continue;
		if (addr_equal(ep, a))
			return true;
		/* A wildcard listener is every local address; [::] takes
		 * IPv4 too unless it is v6-only. */
		if (addr_is_any(ep) && (ep->ss_family == a->ss_family ||
		    ep->ss_family == AF_INET6) && addr_is_local(m->ctx, a))
			return true;
	}
	return false;
}

/* Would a connection to a (with its port) reach one of our listeners? */
static bool
addr_is_me(const struct mta *m, const struct sockaddr_storage *a)
{
	const struct config	*cfg = m->ctx->eng->cfg;

	/* 0.0.0.0 and :: as a destination are this host (Linux connects
	 * them to the loopback); never a remote server. */
	if (mta_addr_is_unspecified(a))
		return true;
	return endpoints_hold(m, &cfg->smtp_listen, a) ||
	    endpoints_hold(m, &cfg->smtp_submission, a) ||
	    endpoints_hold(m, &cfg->smtp_smtps, a);
}

/* ------------------------------------------------------------ sessions */

static struct mta_job *
session_next(void *arg)
{
	struct mta	*m = arg;

	return m->ops->next(m->arg);
}

static void
session_done(struct mta_job *job, void *arg)
{
	struct mta	*m = arg;

	if (job == m->first)
		m->first = NULL;
	m->ops->done(job, m->arg);
}

static void
session_idle(void *arg)
{
	struct mta	*m = arg;

	m->ops->idle(m->arg);
}

void
mta_push(struct mta *m, struct mta_job *job)
{
	if (m->session == NULL)
		FATAL("job pushed to a delivery without a session");
	mta_session_push(m->session, job);
}

static void
session_end(enum mta_session_end how, const char *why, bool tls_failed,
    void *arg)
{
	struct mta	*m = arg;
	char		 ip[IPADDR_TEXT_MAX];

	m->session = NULL;
	if (how == MTA_SESSION_FINISHED || m->first == NULL) {
		mta_finish(m, MTA_OK, "", "");
		return;
	}
	text_printf(m->why, sizeof(m->why), "host %s[%s]: %s",
	    m->hosts[m->hi].name, addr_text(&m->addrs[m->ai], ip, sizeof(ip)),
	    why);
	text_copy(m->status, "4.4.1", sizeof(m->status));
	if (tls_failed && !m->has_auth && !m->tls_off) {
		/* RFC 7435: a broken handshake must not stop the mail;
		 * once more in the clear. */
		m->tls_off = true;
		try_address(m);
		return;
	}
	m->tls_off = false;
	m->ai++;
	try_address(m);
}

static const struct mta_session_ops mta_session_ops = {
	session_next, session_done, session_idle, session_end,
};

/* Try addrs[ai], skipping our own; on to the next host after the last. */
static void
try_address(struct mta *m)
{
	struct mta_session_params	 p;
	const struct config		*cfg = m->ctx->eng->cfg;
	char				 ip[INET6_ADDRSTRLEN];

	for (; m->ai < m->naddrs; m->ai++) {
		if (m->tries >= MTA_CONNECT_MAX) {
			give_up(m);
			return;
		}
		mta_addr_unmap(&m->addrs[m->ai]);
		if (addr_is_me(m, &m->addrs[m->ai])) {
			log_info("%s dest=%s host %s: address %s is one of "
			    "our listeners or this host; skipped", m->log_id,
			    m->dest, m->hosts[m->hi].name, addr_text(
			    &m->addrs[m->ai], ip, sizeof(ip)));
			m->self_skipped++;
			continue;
		}
		memset(&p, 0, sizeof(p));
		p.helo = cfg->hostname;
		p.host = m->hosts[m->hi].name;
		memcpy(&p.addr, &m->addrs[m->ai], sizeof(p.addr));
		p.addr_len = p.addr.ss_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		p.tls = m->tls_off ? NULL : m->ctx->tls;
		p.tls_required = m->has_auth;
		p.auth_user = m->has_auth ? m->auth_user : NULL;
		p.auth_pass = m->has_auth ? m->auth_pass : NULL;
		p.log_id = m->log_id;
		p.may_idle = m->ops->idle != NULL;
		m->tries++;
		mta_enter_state(m, MTA_ST_SESSION);
		m->session = mta_session_start(m->ctx->eng->base, &p, m->first,
		    &mta_session_ops, m);
		return;
	}
	m->hi++;
	next_host(m);
}

/* ------------------------------------------------------------ DNS */

static void
set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static void
addrs_cb(enum dns_status status, const struct sockaddr_storage *addrs,
    size_t n, void *arg)
{
	struct mta	*m = arg;
	size_t		 i;

	m->req = NULL;
	if (status != DNS_OK) {
		text_printf(m->why, sizeof(m->why), "host %s: %s",
		    m->hosts[m->hi].name, status == DNS_TEMPFAIL ?
		    "address look-up failed" : "no address (A or AAAA)");
		text_copy(m->status, status == DNS_TEMPFAIL ? "4.4.3" :
		    "4.4.4", sizeof(m->status));
		m->hi++;
		next_host(m);
		return;
	}
	m->naddrs = n < DNS_ADDRS_MAX ? n : DNS_ADDRS_MAX;
	for (i = 0; i < m->naddrs; i++) {
		memcpy(&m->addrs[i], &addrs[i], sizeof(m->addrs[i]));
		set_port(&m->addrs[i], m->port);
	}
	m->ai = 0;
	try_address(m);
}

static void
next_host(struct mta *m)
{
	struct dns_req	*req;

	if (m->state == MTA_ST_DONE)
		return;
	if (m->hi >= m->nhosts) {
		give_up(m);
		return;
	}
	mta_enter_state(m, MTA_ST_ADDRS);
	m->naddrs = m->ai = 0;
	if (text_sockaddr(m->hosts[m->hi].name, &m->addrs[0])) {
		set_port(&m->addrs[0], m->port);
		m->naddrs = 1;
		try_address(m);
		return;
	}
	req = dns_addrs(m->ctx->eng->dns, m->hosts[m->hi].name, addrs_cb, m);
	if (req != NULL)	/* NULL: the callback has run already */
		m->req = req;
}

static void
mx_cb(enum dns_status status, const struct dns_mx *mx, size_t n, void *arg)
{
	struct mta	*m = arg;
	char		 why[MTA_DIAG_MAX];
	size_t		 i, j;
	unsigned	 cut = ~0u;

	m->req = NULL;
	switch (status) {
	case DNS_OK:
		for (i = 0; i < n; i++) {
			if (mx[i].host[0] == '\0') {
				/* RFC 7505 3: a null MX; 556 5.1.10 */
				text_printf(why, sizeof(why), "%s does not "
				    "accept mail (null MX, RFC 7505)",
				    m->hosts[0].name);
				mta_finish(m, m->relay ? MTA_TEMP : MTA_PERM,
				    m->relay ? "4.1.10" : "5.1.10", why);
				return;
			}
			if (name_is_me(m, mx[i].host) && mx[i].pref < cut)
				cut = mx[i].pref;
		}
		for (i = j = 0; i < n && j < DNS_MX_MAX; i++) {
			if (mx[i].pref >= cut)
				continue;
			text_copy(m->hosts[j].name, mx[i].host,
			    sizeof(m->hosts[j].name));
			m->hosts[j++].pref = mx[i].pref;
		}
		if (j == 0) {
			/* RFC 5321 5.1: we are the best MX ourselves. */
			text_printf(why, sizeof(why), "mail for %s loops back "
			    "to myself", m->dest);
			mta_finish(m, MTA_PERM, "5.4.6", why);
			return;
		}
		m->nhosts = j;
		break;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the implicit MX is the name. */
		m->nhosts = 1;
		m->hosts[0].pref = 0;
		if (name_is_me(m, m->hosts[0].name)) {
			text_printf(why, sizeof(why), "mail for %s loops back "
			    "to myself", m->dest);
			mta_finish(m, MTA_PERM, "5.4.6", why);
			return;
		}
		break;
	case DNS_NXDOMAIN:
		text_printf(why, sizeof(why), "host or domain name not "
		    "found: %s (NXDOMAIN)", m->hosts[0].name);
		mta_finish(m, m->relay ? MTA_TEMP : MTA_PERM,
		    m->relay ? "4.4.4" : "5.1.2", why);
		return;
	case DNS_TEMPFAIL:
	default:
		text_printf(why, sizeof(why), "MX look-up of %s failed "
		    "(SERVFAIL or timeout)", m->hosts[0].name);
		mta_finish(m, MTA_TEMP, "4.4.3", why);
		return;
	}
	m->hi = 0;
	next_host(m);
}

/* ------------------------------------------------------------ start */

/* Read the relayhost's credentials; false (with m->why) on failure. */
static bool
load_auth(struct mta *m, const char *path)
{
	char		*buf = NULL;
	struct stat	 st;
	ssize_t		 n;
	int		 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 || st.st_size > MTA_AUTH_FILE_MAX) {
		text_printf(m->why, sizeof(m->why), "relayhost credentials "
		    "%s: %s", path, fd == -1 ? strerror(errno) : "too big");
		if (fd != -1)
			close(fd);
		return false;
	}
	if (st.st_mode & 077)
		log_warn("%s: relayhost credentials readable by others",
		    path);
	buf = xmalloc((size_t)st.st_size + 1);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	rc = n < 0 ? -1 : mta_parse_auth(buf, (size_t)n, m->dest, m->auth_user,
	    m->auth_pass, sizeof(m->auth_user));
	explicit_bzero(buf, (size_t)st.st_size + 1);
	free(buf);
	if (rc == -1) {
		text_printf(m->why, sizeof(m->why), "relayhost credentials "
		    "%s: cannot read or parse", path);
		return false;
	}
	m->has_auth = rc == 1;
	return true;
}

struct mta *
mta_start(struct mta_ctx *ctx, const struct mta_dest *dest,
    struct mta_job *first, const struct mta_ops *ops, void *arg)
{
	struct mta		*m = xcalloc(1, sizeof(*m));
	const struct config	*cfg = ctx->eng->cfg;
	struct dns_req		*req;
	char			 lit[DOMAIN_MAX + 1];
	bool			 mx = true;
	size_t			 len;

	m->ctx = ctx;
	m->first = first;
	m->ops = ops;
	m->arg = arg;
	m->relay = dest->relay;
	m->port = (unsigned)cfg->delivery_port;
	text_printf(m->log_id, sizeof(m->log_id), "%016llx",
	    (unsigned long long)++ctx->eng->next_session_id);
	text_copy(m->dest, dest->name, sizeof(m->dest));
	m->nhosts = 1;
	mta_enter_state(m, MTA_ST_MX);
	log_debug("%s mta dest=%s relay=%d", m->log_id, m->dest, m->relay);
	if (m->relay) {
		if (!mta_parse_relayhost(dest->name, m->hosts[0].name, &m->port,
		    &mx, (unsigned)cfg->delivery_port)) {
			mta_finish(m, MTA_TEMP, "4.3.5", "bad relayhost "
			    "setting");
			return m;
		}
		if (dest->auth_file != NULL && dest->auth_file[0] != '\0' &&
		    !load_auth(m, dest->auth_file)) {
			mta_finish(m, MTA_TEMP, "4.3.5", m->why);
			return m;
		}
	} else if (dest->name[0] == '[') {
		/* RFC 5321 4.1.3 address literal: [1.2.3.4], [IPv6:...] */
		len = strlen(dest->name);
		if (len < 3 || dest->name[len - 1] != ']' ||
		    !text_copy_span(lit, sizeof(lit), dest->name + 1,
		    len - 2)) {
			mta_finish(m, MTA_PERM, "5.1.2", "bad address literal");
			return m;
		}
		text_copy(m->hosts[0].name, strncasecmp(lit, "IPv6:", 5) == 0 ?
		    lit + 5 : lit, sizeof(m->hosts[0].name));
		mx = false;
	} else
		text_copy(m->hosts[0].name, dest->name,
		    sizeof(m->hosts[0].name));
	if (!mx) {
		next_host(m);
		return m;
	}
	req = dns_mx(ctx->eng->dns, m->hosts[0].name, mx_cb, m);
	if (req != NULL)	/* NULL: the callback has run already */
		m->req = req;
	return m;
}
