/*
 * dns.c: asynchronous DNS on the engine's libevent loop, with c-ares
 * 1.18.1. Runs in the unprivileged engine process. Its input is untrusted:
 * answers come off the network. c-ares parses the messages; PTR names are
 * checked here to be plain host names before anyone sees them.
 *
 * c-ares integration: through ARES_OPT_SOCK_STATE_CB c-ares says which of
 * its sockets to watch for reading or writing; each gets one persistent
 * libevent event that calls ares_process_fd(). One timer, re-armed from
 * ares_timeout() each time control comes back out of c-ares, drives
 * retries and timeouts. No query is ever waited for.
 *
 * Re-entrancy. c-ares calls our query callbacks from inside ares_query(),
 * ares_process_fd() and ares_destroy(); they call the user's callbacks,
 * which may cancel requests, start new ones or free the resolver. Hence:
 * - a request is reference-counted: one reference per c-ares query in
 *   flight plus one held by the function starting it. dns_cancel() only
 *   marks it done (c-ares 1.18 cannot cancel one query); the reference of
 *   the last query to come back frees it;
 * - every way into c-ares counts dns->depth; dns_free() while depth > 0
 *   only marks the resolver closing, and the outermost exit destroys it.
 *
 * FCrDNS, "iprev" in RFC 8601 2.7.3: PTR (RFC 1035 3.5, RFC 3596 2.5),
 * then A or AAAA of each PTR name. Host names as in RFC 1123 2.1. MX
 * ordering and the implicit MX as in RFC 5321 5.1; null MX in RFC 7505.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <ares.h>
#include <event2/event.h>

#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "log.h"
#include "xalloc.h"

/* "7.0.0.0. ... .d.f.ip6.arpa": 32 nibbles and dots, then ip6.arpa. */
#define DNS_QNAME_PTR_MAX	(32 * 2 + sizeof("ip6.arpa"))
/* RFC 1035 2.3.4: 255 octets on the wire, 253 in text without root dot. */
#define DNS_HOSTNAME_MAX	253
#define DNS_LABEL_MAX		63
/* Address records read from one answer; the rest are ignored. */
#define DNS_ADDRTTL_MAX		32
/* Longest wait per try that dns_new() accepts. */
#define DNS_TIMEOUT_MS_MAX	60000

/* One socket c-ares asked us to watch. */
struct dns_sock {
	LIST_ENTRY(dns_sock)	 entry;
	struct dns		*dns;
	struct event		*ev;
	ares_socket_t		 fd;
};

/* An address as cache key; no padding, so memcmp() compares it. */
struct dns_key {
	uint8_t	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];	/* first 4 octets for AF_INET */
};

/*
 * key comes first: the tree holds &key and compares keys. name is "" for
 * an answer of "unknown". expires is in CLOCK_MONOTONIC seconds.
 */
struct dns_cache_entry {
	struct dns_key			 key;
	TAILQ_ENTRY(dns_cache_entry)	 entry;
	time_t				 expires;
	char				 name[DNS_HOSTNAME_MAX + 1];
};

TAILQ_HEAD(dns_cache_fifo, dns_cache_entry);

struct dns {
	struct event_base	*base;
	ares_channel		 channel;
	struct event		*timer;
	LIST_HEAD(, dns_sock)	 socks;
	void			*cache_root;	/* tsearch(3) tree of entries */
	struct dns_cache_fifo	 cache_fifo;	/* oldest insertion first */
	size_t			 cache_count;
	unsigned		 depth;		/* nesting inside c-ares */
	bool			 closing;	/* dns_free() was called */
	bool			 library;	/* ares_library_init() done */
};

/* The A/AAAA query for one PTR name; the c-ares argument of that query. */
struct dns_ptr_name {
	struct dns_req	*req;
	char		 name[DNS_HOSTNAME_MAX + 1];
};

/* The A or the AAAA query of dns_addrs(). */
struct dns_addr_query {
	struct dns_req		*req;
	int			 family;
	enum dns_status		 status;
	size_t			 n;
	struct sockaddr_storage	 ss[DNS_ADDRS_MAX / 2];
};

struct dns_req {
	struct dns		*dns;
	unsigned		 refs;	/* queries in flight, +1 starting */
	bool			 done;	/* answered or cancelled */
	void			*arg;
	union {
		dns_name_cb	 name;
		dns_mx_cb	 mx;
		dns_addrs_cb	 addrs;
	} cb;
	union {
		struct {
			struct dns_key		key;
			struct dns_ptr_name	names[DNS_PTR_NAMES_MAX];
			unsigned		pending; /* +1 while starting */
			bool			tempfail;
			uint32_t		ptr_ttl;
		} fc;
		struct {
			struct dns_mx		mx[DNS_MX_MAX];
		} mx;
		struct {
			struct dns_addr_query	q[2];	/* A, AAAA */
			unsigned		pending; /* +1 while starting */
			struct sockaddr_storage	all[DNS_ADDRS_MAX];
		} ad;
	} u;
};

static void	dns_destroy(struct dns *);

static time_t
dns_now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		FATAL("clock_gettime");
	return ts.tv_sec;
}

/*
 * Entering and leaving c-ares. Leaving the outermost level either finishes
 * a deferred dns_free() or re-arms the timer for c-ares' next timeout.
 */
static void
dns_enter(struct dns *dns)
{
	if (dns->closing)
		FATAL("dns used after dns_free");
	dns->depth++;
}

static void
dns_leave(struct dns *dns)
{
	struct timeval	 tv, *tvp;

	if (--dns->depth > 0)
		return;
	if (dns->closing) {
		dns_destroy(dns);
		return;
	}
	tvp = ares_timeout(dns->channel, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(dns->timer);
	else if (evtimer_add(dns->timer, tvp) == -1)
		FATAL("evtimer_add");
}

static void
dns_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock	*s = arg;
	struct dns	*dns = s->dns;

	/* s may be freed inside: c-ares closes sockets it is done with. */
	dns_enter(dns);
	ares_process_fd(dns->channel,
	    (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_leave(dns);
}

static void
dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns	*dns = arg;

	(void)fd;
	(void)what;
	dns_enter(dns);
	ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_leave(dns);
}

/* ARES_OPT_SOCK_STATE_CB: watch fd for what c-ares wants, or forget it. */
static void
dns_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns	*dns = data;
	struct dns_sock	*s;
	short		 what;

	LIST_FOREACH(s, &dns->socks, entry) {
		if (s->fd == fd)
			break;
	}
	if (s != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable) {
		if (s != NULL) {
			LIST_REMOVE(s, entry);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->dns = dns;
		s->fd = fd;
		LIST_INSERT_HEAD(&dns->socks, s, entry);
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0);
	if ((s->ev = event_new(dns->base, fd, what, dns_sock_cb, s)) == NULL ||
	    event_add(s->ev, NULL) == -1)
		FATAL("event_new");
}

/*
 * The FCrDNS cache: a tsearch(3) tree for look-ups (balanced, so no
 * hash to flood with chosen addresses) and a FIFO for eviction.
 */
static int
dns_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct dns_key));
}

static void
dns_cache_remove(struct dns *dns, struct dns_cache_entry *e)
{
	if (tdelete(&e->key, &dns->cache_root, dns_key_cmp) == NULL)
		FATAL("cache entry not in tree");
	TAILQ_REMOVE(&dns->cache_fifo, e, entry);
	dns->cache_count--;
	free(e);
}

static struct dns_cache_entry *
dns_cache_get(struct dns *dns, const struct dns_key *key)
{
	struct dns_cache_entry	*e;
	void			*node;

	if ((node = tfind(key, &dns->cache_root, dns_key_cmp)) == NULL)
		return NULL;
	e = *(struct dns_cache_entry **)node;
	if (e->expires > dns_now())
		return e;
	dns_cache_remove(dns, e);
	return NULL;
}

/* Remember name (NULL: unknown) for key during ttl seconds. */
static void
dns_cache_put(struct dns *dns, const struct dns_key *key, const char *name,
    uint32_t ttl)
{
	struct dns_cache_entry	*e;
	void			*node;
	int			 len;

	if (ttl == 0)
		return;
	if ((node = tfind(key, &dns->cache_root, dns_key_cmp)) != NULL) {
		e = *(struct dns_cache_entry **)node;
		TAILQ_REMOVE(&dns->cache_fifo, e, entry);
	} else {
		if (dns->cache_count >= DNS_CACHE_MAX)
			dns_cache_remove(dns, TAILQ_FIRST(&dns->cache_fifo));
		e = xcalloc(1, sizeof(*e));
		e->key = *key;
		if (tsearch(&e->key, &dns->cache_root, dns_key_cmp) == NULL)
			FATAL("out of memory");
		dns->cache_count++;
	}
	TAILQ_INSERT_TAIL(&dns->cache_fifo, e, entry);
	e->expires = dns_now() + (time_t)ttl;
	len = snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	if (len < 0 || (size_t)len >= sizeof(e->name))
		FATAL("cached name too long");
}

static void
dns_cache_free_entry(void *p)
{
	free(p);
}

/*
 * Requests. The starter holds one reference; dns_req_query() adds one per
 * query and the query's callback drops it when done with the request.
 */
static struct dns_req *
dns_req_new(struct dns *dns, void *arg)
{
	struct dns_req	*req;

	req = xcalloc(1, sizeof(*req));
	req->dns = dns;
	req->arg = arg;
	req->refs = 1;
	return req;
}

static void
dns_req_unref(struct dns_req *req)
{
	if (req->refs == 0)
		FATAL("request reference count");
	if (--req->refs == 0)
		free(req);
}

/* Send one query for req; cb may run before this returns. */
static void
dns_req_query(struct dns_req *req, const char *name, int type,
    ares_callback cb, void *cbarg)
{
	req->refs++;
	ares_query(req->dns->channel, name, C_IN, type, cb, cbarg);
}

/*
 * The starter lets go. Returns the handle, or NULL when the request is
 * already over (its callback ran) or about to be destroyed with the
 * resolver (dns_free() was called from a callback during the start).
 */
static struct dns_req *
dns_req_started(struct dns_req *req)
{
	bool	 live = !req->done && !req->dns->closing;

	dns_req_unref(req);
	return live ? req : NULL;
}

static enum dns_status
dns_status_from_ares(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		return DNS_NXDOMAIN;
	default:
		return DNS_TEMPFAIL;
	}
}

/*
 * RFC 1123 2.1 host name, as PTR data must be to be worth anything here:
 * letters, digits and hyphens in labels of 1 to 63 octets, joined by
 * dots, 253 octets in all. c-ares escapes anything else with a backslash,
 * which fails here too.
 */
static bool
dns_name_is_hostname(const char *s)
{
	size_t	 i, label = 0;
	char	 c;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= DNS_HOSTNAME_MAX)
			return false;
		c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (++label > DNS_LABEL_MAX)
			return false;
	}
	return label > 0;
}

/* Skip a possibly compressed name at *off (RFC 1035 4.1.4). */
static bool
dns_skip_name(const unsigned char *buf, size_t len, size_t *off)
{
	size_t	 o = *off;

	for (;;) {
		if (o >= len)
			return false;
		if (buf[o] == 0) {
			*off = o + 1;
			return true;
		}
		if ((buf[o] & 0xc0) == 0xc0) {
			if (len - o < 2)
				return false;
			*off = o + 2;
			return true;
		}
		if ((buf[o] & 0xc0) != 0)
			return false;
		o += 1 + (size_t)buf[o];
	}
}

/*
 * The smallest TTL in the answer section, at most ttl. c-ares 1.18 has no
 * TTL for PTR answers, so walk the message (RFC 1035 4.1) ourselves; on a
 * malformed message keep what was found so far.
 */
static uint32_t
dns_answer_min_ttl(const unsigned char *abuf, int alen, uint32_t ttl)
{
	size_t		 len, off = 12;
	unsigned	 qd, an;
	uint32_t	 rr_ttl;
	size_t		 rdlen;

	if (abuf == NULL || alen < 12)
		return ttl;
	len = (size_t)alen;
	qd = (unsigned)abuf[4] << 8 | abuf[5];
	an = (unsigned)abuf[6] << 8 | abuf[7];
	for (; qd > 0; qd--) {
		if (!dns_skip_name(abuf, len, &off) || len - off < 4)
			return ttl;
		off += 4;
	}
	for (; an > 0; an--) {
		if (!dns_skip_name(abuf, len, &off) || len - off < 10)
			return ttl;
		rr_ttl = (uint32_t)abuf[off + 4] << 24 |
		    (uint32_t)abuf[off + 5] << 16 |
		    (uint32_t)abuf[off + 6] << 8 | abuf[off + 7];
		rdlen = (size_t)abuf[off + 8] << 8 | abuf[off + 9];
		off += 10;
		if (len - off < rdlen)
			return ttl;
		off += rdlen;
		/* RFC 2181 8: a TTL with the top bit set counts as zero. */
		if (rr_ttl > INT32_MAX)
			rr_ttl = 0;
		if (rr_ttl < ttl)
			ttl = rr_ttl;
	}
	return ttl;
}

/* The address of sa, v4-mapped IPv6 as IPv4; false for other families. */
static bool
dns_key_from_sa(const struct sockaddr *sa, struct dns_key *key_out)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(key_out, 0, sizeof(*key_out));
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		key_out->family = AF_INET;
		memcpy(key_out->addr, &sin->sin_addr, 4);
		return true;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			key_out->family = AF_INET;
			memcpy(key_out->addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			key_out->family = AF_INET6;
			memcpy(key_out->addr, &sin6->sin6_addr, 16);
		}
		return true;
	default:
		return false;
	}
}

/* The PTR query name: RFC 1035 3.5 in-addr.arpa, RFC 3596 2.5 ip6.arpa. */
static void
dns_ptr_qname(const struct dns_key *key, char *qname_out, size_t size)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	int			 i, len;

	if (key->family == AF_INET) {
		len = snprintf(qname_out, size, "%u.%u.%u.%u.in-addr.arpa",
		    key->addr[3], key->addr[2], key->addr[1], key->addr[0]);
		if (len < 0 || (size_t)len >= size)
			FATAL("PTR name buffer");
		return;
	}
	if (size < DNS_QNAME_PTR_MAX)
		FATAL("PTR name buffer");
	for (i = 15; i >= 0; i--) {
		qname_out[o++] = hex[key->addr[i] & 0x0f];
		qname_out[o++] = '.';
		qname_out[o++] = hex[key->addr[i] >> 4];
		qname_out[o++] = '.';
	}
	memcpy(qname_out + o, "ip6.arpa", sizeof("ip6.arpa"));
}

/* Answer an FCrDNS request once: cache, then call back (unless cancelled). */
static void
dns_fcrdns_finish(struct dns_req *req, const char *name, uint32_t ttl)
{
	if (req->done)
		return;
	req->done = true;
	if (req->dns->closing)
		return;
	dns_cache_put(req->dns, &req->u.fc.key, name, ttl);
	req->cb.name(name != NULL ? name : "unknown", req->arg);
}

/* One address query came back without a match; was it the last? */
static void
dns_fcrdns_settle(struct dns_req *req)
{
	if (req->done || --req->u.fc.pending > 0)
		return;
	dns_fcrdns_finish(req, NULL,
	    req->u.fc.tempfail ? DNS_TEMPFAIL_TTL : DNS_NEGATIVE_TTL);
}

static void
dns_fcrdns_addr_reply(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	struct dns_ptr_name	*pn = arg;
	struct dns_req		*req = pn->req;
	struct dns_key		*key = &req->u.fc.key;
	struct ares_addrttl	 a4[DNS_ADDRTTL_MAX];
	struct ares_addr6ttl	 a6[DNS_ADDRTTL_MAX];
	int			 i, n = DNS_ADDRTTL_MAX, ttl = -1;

	(void)timeouts;
	if (req->done || req->dns->closing)
		goto out;
	if (status == ARES_SUCCESS && key->family == AF_INET) {
		status = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
		for (i = 0; status == ARES_SUCCESS && i < n; i++) {
			if (memcmp(&a4[i].ipaddr, key->addr, 4) == 0) {
				ttl = a4[i].ttl;
				break;
			}
		}
	} else if (status == ARES_SUCCESS) {
		status = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
		for (i = 0; status == ARES_SUCCESS && i < n; i++) {
			if (memcmp(&a6[i].ip6addr, key->addr, 16) == 0) {
				ttl = a6[i].ttl;
				break;
			}
		}
	}
	if (ttl >= 0) {
		if ((uint32_t)ttl < req->u.fc.ptr_ttl)
			req->u.fc.ptr_ttl = (uint32_t)ttl;
		dns_fcrdns_finish(req, pn->name, req->u.fc.ptr_ttl);
		goto out;
	}
	if (dns_status_from_ares(status) == DNS_TEMPFAIL)
		req->u.fc.tempfail = true;
	dns_fcrdns_settle(req);
out:
	dns_req_unref(req);
}

/* Add cand to the names of req if it is a new, valid host name. */
static void
dns_fcrdns_add_name(struct dns_req *req, size_t *n, const char *cand)
{
	char	*dst;
	size_t	 k;

	if (*n >= DNS_PTR_NAMES_MAX || cand == NULL ||
	    !dns_name_is_hostname(cand))
		return;
	dst = req->u.fc.names[*n].name;
	for (k = 0; cand[k] != '\0'; k++) {
		dst[k] = (cand[k] >= 'A' && cand[k] <= 'Z') ?
		    (char)(cand[k] - 'A' + 'a') : cand[k];
	}
	dst[k] = '\0';
	for (k = 0; k < *n; k++) {
		if (strcmp(req->u.fc.names[k].name, dst) == 0)
			return;
	}
	req->u.fc.names[(*n)++].req = req;
}

/*
 * Copy the usable PTR names of he into req: valid host names, lower-case,
 * each once, at most DNS_PTR_NAMES_MAX. c-ares 1.18 lists every PTR name
 * in h_aliases (in answer order) and repeats one of them in h_name.
 */
static size_t
dns_fcrdns_names(struct dns_req *req, const struct hostent *he)
{
	size_t	 i, n = 0;

	for (i = 0; he->h_aliases != NULL && he->h_aliases[i] != NULL; i++)
		dns_fcrdns_add_name(req, &n, he->h_aliases[i]);
	dns_fcrdns_add_name(req, &n, he->h_name);
	return n;
}

static void
dns_fcrdns_ptr_reply(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	struct dns_req	*req = arg;
	struct dns_key	*key = &req->u.fc.key;
	struct hostent	*he = NULL;
	size_t		 i, n;
	int		 type;

	(void)timeouts;
	if (req->done || req->dns->closing)
		goto out;
	if (status == ARES_SUCCESS)
		status = ares_parse_ptr_reply(abuf, alen, key->addr,
		    key->family == AF_INET ? 4 : 16, key->family, &he);
	if (status != ARES_SUCCESS) {
		dns_fcrdns_finish(req, NULL,
		    dns_status_from_ares(status) == DNS_TEMPFAIL ?
		    DNS_TEMPFAIL_TTL : DNS_NEGATIVE_TTL);
		goto out;
	}
	req->u.fc.ptr_ttl = dns_answer_min_ttl(abuf, alen, DNS_TTL_MAX);
	if ((n = dns_fcrdns_names(req, he)) == 0) {
		dns_fcrdns_finish(req, NULL, DNS_NEGATIVE_TTL);
		goto out;
	}
	type = key->family == AF_INET ? T_A : T_AAAA;
	req->u.fc.pending = 1;
	for (i = 0; i < n && !req->done; i++) {
		req->u.fc.pending++;
		dns_req_query(req, req->u.fc.names[i].name, type,
		    dns_fcrdns_addr_reply, &req->u.fc.names[i]);
	}
	dns_fcrdns_settle(req);
out:
	if (he != NULL)
		ares_free_hostent(he);
	dns_req_unref(req);
}

/*
 * FCrDNS of sa; see dns.h. A cache hit or an unusable family is answered
 * before returning NULL; otherwise the PTR query is in flight and the
 * handle lives until its callback or dns_cancel().
 */
struct dns_req *
dns_fcrdns(struct dns *dns, const struct sockaddr *sa, dns_name_cb cb,
    void *arg)
{
	struct dns_cache_entry	*e;
	struct dns_req		*req, *ret;
	struct dns_key		 key;
	char			 qname[DNS_QNAME_PTR_MAX];
	char			 name[DNS_HOSTNAME_MAX + 1];

	dns_enter(dns);
	if (!dns_key_from_sa(sa, &key)) {
		cb("unknown", arg);
		dns_leave(dns);
		return NULL;
	}
	if ((e = dns_cache_get(dns, &key)) != NULL) {
		/* A copy: cb may start look-ups that evict e. */
		memcpy(name, e->name, sizeof(name));
		cb(name[0] != '\0' ? name : "unknown", arg);
		dns_leave(dns);
		return NULL;
	}
	req = dns_req_new(dns, arg);
	req->cb.name = cb;
	req->u.fc.key = key;
	dns_ptr_qname(&key, qname, sizeof(qname));
	dns_req_query(req, qname, T_PTR, dns_fcrdns_ptr_reply, req);
	ret = dns_req_started(req);
	dns_leave(dns);
	return ret;
}

/* Sort MX records by preference, shuffled within one (RFC 5321 5.1). */
static void
dns_mx_sort(struct dns_mx *mx, size_t n)
{
	struct dns_mx	 t;
	size_t		 i, j;

	for (i = n; i > 1; i--) {
		j = arc4random_uniform((uint32_t)i);
		t = mx[i - 1];
		mx[i - 1] = mx[j];
		mx[j] = t;
	}
	/* Insertion sort is stable, so the shuffle survives among equals. */
	for (i = 1; i < n; i++) {
		t = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > t.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = t;
	}
}

static void
dns_mx_reply(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_req		*req = arg;
	struct ares_mx_reply	*list = NULL, *r;
	enum dns_status		 st;
	size_t			 n = 0;
	int			 len;

	(void)timeouts;
	if (req->done || req->dns->closing)
		goto out;
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &list);
	st = dns_status_from_ares(status);
	for (r = list; st == DNS_OK && r != NULL && n < DNS_MX_MAX;
	    r = r->next) {
		len = snprintf(req->u.mx.mx[n].host,
		    sizeof(req->u.mx.mx[n].host), "%s",
		    r->host != NULL ? r->host : "");
		if (len < 0 || (size_t)len >= sizeof(req->u.mx.mx[n].host))
			continue;
		req->u.mx.mx[n++].pref = r->priority;
	}
	/* MX records that all failed to fit are not "no MX" (RFC 5321 5.1). */
	if (st == DNS_OK && n == 0)
		st = DNS_TEMPFAIL;
	if (st != DNS_OK)
		n = 0;
	dns_mx_sort(req->u.mx.mx, n);
	req->done = true;
	req->cb.mx(st, n > 0 ? req->u.mx.mx : NULL, n, req->arg);
out:
	if (list != NULL)
		ares_free_data(list);
	dns_req_unref(req);
}

/* MX of domain; see dns.h. NULL once cb has been called. */
struct dns_req *
dns_mx(struct dns *dns, const char *domain, dns_mx_cb cb, void *arg)
{
	struct dns_req	*req, *ret;

	dns_enter(dns);
	req = dns_req_new(dns, arg);
	req->cb.mx = cb;
	dns_req_query(req, domain, T_MX, dns_mx_reply, req);
	ret = dns_req_started(req);
	dns_leave(dns);
	return ret;
}

/* One of the two address queries is over; was it the last? */
static void
dns_addrs_settle(struct dns_req *req)
{
	struct dns_addr_query	*q4 = &req->u.ad.q[0], *q6 = &req->u.ad.q[1];
	enum dns_status		 st;
	size_t			 n = 0, i, k;

	if (req->done || --req->u.ad.pending > 0)
		return;
	for (i = 0; i < 2; i++) {
		for (k = 0; k < req->u.ad.q[i].n; k++)
			req->u.ad.all[n++] = req->u.ad.q[i].ss[k];
	}
	if (n > 0)
		st = DNS_OK;
	else if (q4->status == DNS_TEMPFAIL || q6->status == DNS_TEMPFAIL)
		st = DNS_TEMPFAIL;
	else if (q4->status == DNS_NXDOMAIN && q6->status == DNS_NXDOMAIN)
		st = DNS_NXDOMAIN;
	else
		st = DNS_NODATA;
	req->done = true;
	req->cb.addrs(st, n > 0 ? req->u.ad.all : NULL, n, req->arg);
}

static void
dns_addrs_reply(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_addr_query	*q = arg;
	struct dns_req		*req = q->req;
	struct ares_addrttl	 a4[DNS_ADDRS_MAX / 2];
	struct ares_addr6ttl	 a6[DNS_ADDRS_MAX / 2];
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	int			 i, n = DNS_ADDRS_MAX / 2;

	(void)timeouts;
	if (req->done || req->dns->closing)
		goto out;
	if (status == ARES_SUCCESS && q->family == AF_INET)
		status = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
	else if (status == ARES_SUCCESS)
		status = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	for (i = 0; status == ARES_SUCCESS && i < n; i++) {
		memset(&q->ss[i], 0, sizeof(q->ss[i]));
		if (q->family == AF_INET) {
			sin = (struct sockaddr_in *)(void *)&q->ss[i];
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, &a4[i].ipaddr, 4);
		} else {
			sin6 = (struct sockaddr_in6 *)(void *)&q->ss[i];
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, &a6[i].ip6addr, 16);
		}
		q->n++;
	}
	q->status = dns_status_from_ares(status);
	if (q->status == DNS_OK && q->n == 0)
		q->status = DNS_NODATA;
	dns_addrs_settle(req);
out:
	dns_req_unref(req);
}

/* A and AAAA of host, in parallel; see dns.h. NULL once cb was called. */
struct dns_req *
dns_addrs(struct dns *dns, const char *host, dns_addrs_cb cb, void *arg)
{
	struct dns_req	*req, *ret;
	size_t		 i;

	dns_enter(dns);
	req = dns_req_new(dns, arg);
	req->cb.addrs = cb;
	req->u.ad.pending = 1;
	for (i = 0; i < 2; i++) {
		req->u.ad.q[i].req = req;
		req->u.ad.q[i].family = i == 0 ? AF_INET : AF_INET6;
		req->u.ad.pending++;
		dns_req_query(req, host, i == 0 ? T_A : T_AAAA,
		    dns_addrs_reply, &req->u.ad.q[i]);
	}
	dns_addrs_settle(req);
	ret = dns_req_started(req);
	dns_leave(dns);
	return ret;
}

/* Never call back for req; its memory goes with its last query. */
void
dns_cancel(struct dns_req *req)
{
	/* The queries in flight hold references; the last one frees req. */
	if (req != NULL)
		req->done = true;
}

/*
 * A resolver on base; see dns.h. Reads /etc/resolv.conf (c-ares does,
 * once, here), then replaces its servers with servers if given. NULL with
 * err filled on failure.
 */
struct dns *
dns_new(struct event_base *base, const char *servers, unsigned timeout_ms,
    char *err, size_t errlen)
{
	struct ares_options	 opts;
	struct dns		*dns;
	int			 rc;

	if (timeout_ms > DNS_TIMEOUT_MS_MAX) {
		snprintf(err, errlen, "dns timeout %u ms is over %d ms",
		    timeout_ms, DNS_TIMEOUT_MS_MAX);
		return NULL;
	}
	if ((dns = calloc(1, sizeof(*dns))) == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return NULL;
	}
	dns->base = base;
	LIST_INIT(&dns->socks);
	TAILQ_INIT(&dns->cache_fifo);
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		goto fail;
	}
	dns->library = true;
	if ((dns->timer = evtimer_new(base, dns_timer_cb, dns)) == NULL) {
		snprintf(err, errlen, "dns: cannot create timer");
		goto fail;
	}
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = dns_sock_state_cb;
	opts.sock_state_cb_data = dns;
	opts.timeout = timeout_ms > 0 ? (int)timeout_ms :
	    DNS_TIMEOUT_MS_DEFAULT;
	opts.tries = 2;
	rc = ares_init_options(&dns->channel, &opts,
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		goto fail;
	}
	if (servers != NULL && servers[0] != '\0' &&
	    (rc = ares_set_servers_ports_csv(dns->channel, servers)) !=
	    ARES_SUCCESS) {
		snprintf(err, errlen, "dns servers \"%s\": %s", servers,
		    ares_strerror(rc));
		ares_destroy(dns->channel);
		goto fail;
	}
	return dns;
fail:
	if (dns->timer != NULL)
		event_free(dns->timer);
	if (dns->library)
		ares_library_cleanup();
	free(dns);
	return NULL;
}

/* Tear down at depth 0; requests in flight are freed by EDESTRUCTION. */
static void
dns_destroy(struct dns *dns)
{
	struct dns_sock	*s;

	dns->closing = true;
	ares_destroy(dns->channel);
	while ((s = LIST_FIRST(&dns->socks)) != NULL) {
		LIST_REMOVE(s, entry);
		if (s->ev != NULL)
			event_free(s->ev);
		free(s);
	}
	event_free(dns->timer);
	tdestroy(dns->cache_root, dns_cache_free_entry);
	free(dns);
	ares_library_cleanup();
}

/* Destroy dns now, or when control leaves c-ares; no callback follows. */
void
dns_free(struct dns *dns)
{
	if (dns == NULL)
		return;
	dns->closing = true;
	if (dns->depth == 0)
		dns_destroy(dns);
}
