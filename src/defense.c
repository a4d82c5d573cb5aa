/*
 * defense.c: bans and DNS blocklists in the engine (defense.h). Runs in the
 * engine's event loop; the addresses it sees come from accepted sockets or
 * parsed PROXY headers, the bans from our own store.
 *
 * Decisions are made here, in the loop, as each session hands a record to
 * the attack log: the counter (ban.c) is a small hash of recent record
 * times per network, so a flood costs a hash probe per record and the
 * store is written once per ban, not per record. A check at connect time
 * is a hash probe per prefix length in use (ban.c), never a store read.
 *
 * New bans are written to the store in one transaction per second (the
 * timer below), not one per ban: a flood makes thousands of bans and the
 * loop should not wait for the store's lock for each; a crash within that
 * second loses the newest bans from the store, not from this run.
 *
 * A one-second timer sweeps the counter, forgets bans that expired more
 * than ban_max ago (kept until then so the next ban of the network
 * doubles), and rewrites the published blocklist when the set of live
 * bans changed.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ban.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "defense.h"
#include "dns.h"
#include "engine.h"
#include "grants.h"
#include "log.h"
#include "publish.h"
#include "store.h"
#include "text.h"
#include "xalloc.h"

struct dnsbl_cache {
	char		 name[DOMAIN_MAX + 1];
	bool		 listed;
	int64_t		 expires_us;
};

struct defense {
	struct engine		*eng;
	struct ban_table	*bans;
	struct ban_table	*logins;	/* /32 or /128, expiry = keep */
	struct ban_counter	*counter;
	uint64_t		 counter_after;
	uint64_t		 counter_window;
	struct event		*timer;
	size_t			 live;		/* live bans at the last tick */
	uint64_t		 store_gen;	/* store_generation() loaded */
	bool			 dirty;		/* blocklist to rewrite */
	struct ban_entry	*pending;	/* bans not in the store yet */
	void			(*on_change)(void *);
	void			*on_change_arg;
	size_t			 npending, cappending;
	struct dnsbl_cache	*cache;		/* DEFENSE_DNSBL_CACHE_MAX */
	/* A store shared with other hosts: their bans arrive at once
	 * (the store's thread writes shared_fd), ours leave at once. */
	int			 shared_fd;
	struct event		*shared_ev;
	struct event		*flush_ev;
};

struct dnsbl_query {
	struct defense_dnsbl_req	*req;
	struct dns_req			*dns;
	char				 name[DOMAIN_MAX + 1];
	char				 zone[DOMAIN_MAX + 1];
	bool				 done;
	bool				 listed;
};

struct defense_dnsbl_req {
	struct defense		*d;
	defense_dnsbl_cb	 cb;
	void			*arg;
	size_t			 n, pending;
	struct dnsbl_query	*q;
};

static int64_t
keep_us(const struct config *cfg)
{
	return (int64_t)cfg->defense_ban_max * 1000000;
}

static int
load_cb(const struct ban_entry *e, void *arg)
{
	ban_table_put(arg, e);
	return 0;
}

/* Write the bans made since the last call. */
static void
defense_flush(struct defense *d)
{
	if (d->npending == 0)
		return;
	if (store_ban_put(d->eng->store, d->pending, d->npending,
	    keep_us(d->eng->cfg)) != 0)
		log_err("bans: store %zu bans: %s", d->npending,
		    store_errmsg(d->eng->store));
	else if (d->on_change != NULL)
		d->on_change(d->on_change_arg);
	d->npending = 0;
}

void
defense_on_change(struct defense *d, void (*cb)(void *), void *arg)
{
	d->on_change = cb;
	d->on_change_arg = arg;
}

/* Replace the table with the store's rows; -1 when the store fails. */
static int
defense_load(struct defense *d)
{
	defense_flush(d);
	ban_table_clear(d->bans);
	if (store_ban_list(d->eng->store, clock_now_us() - keep_us(d->eng->cfg),
	    load_cb, d->bans) != 0) {
		log_err("bans: %s", store_errmsg(d->eng->store));
		return -1;
	}
	d->dirty = true;
	return 0;
}

static void
defense_publish(struct defense *d)
{
	const struct config	*cfg = d->eng->cfg;
	struct ban_entry	*list;
	char			 dir[CONFIG_PATH_MAX], err[512];
	size_t			 n;

	d->dirty = false;
	if (!cfg->publish_blocklist)
		return;
	if (!publish_dir_path(cfg, dir, sizeof(dir), err, sizeof(err))) {
		log_warn("blocklist: %s", err);
		return;
	}
	list = ban_table_list(d->bans, clock_now_us(), &n);
	if (!defense_write_blocklist(dir, list, n, err, sizeof(err)))
		log_warn("blocklist: %s", err);
	free(list);
}

/* Bans another MX host made or lifted (shared store): reload from the
 * store's in-memory view, no network wait. */
static void
defense_sync_shared(struct defense *d)
{
	if (store_generation(d->eng->store) != d->store_gen) {
		d->store_gen = store_generation(d->eng->store);
		if (defense_load(d) == 0 && d->on_change != NULL)
			d->on_change(d->on_change_arg);
	}
}

/* From the store's thread: any thread may write an eventfd. */
static void
defense_shared_kick(void *arg)
{
	struct defense	*d = arg;
	uint64_t	 one = 1;

	(void)!write(d->shared_fd, &one, sizeof(one));
}

static void
defense_shared_cb(evutil_socket_t fd, short what, void *arg)
{
	struct defense	*d = arg;
	uint64_t	 n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	defense_sync_shared(d);
}

/* New bans leave for the shared store after this loop turn (a flood's
 * bans of one turn go together). */
static void
defense_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	defense_flush(arg);
}

static void
defense_tick(evutil_socket_t fd, short what, void *arg)
{
	struct defense		*d = arg;
	struct ban_entry	*list;
	int64_t			 now = clock_now_us();
	size_t			 n;

	(void)fd;
	(void)what;
	if (d->counter != NULL)
		ban_counter_expire(d->counter, now);
	ban_table_expire(d->bans, now - keep_us(d->eng->cfg));
	ban_table_expire(d->logins, now);
	defense_flush(d);
	defense_sync_shared(d);
	/* A ban ending changes the blocklist too. */
	list = ban_table_list(d->bans, now, &n);
	free(list);
	if (n != d->live)
		d->dirty = true;
	d->live = n;
	if (d->dirty)
		defense_publish(d);
}

static void
defense_control(const char *cmd, struct evbuffer *out, void *arg)
{
	struct defense	*d = arg;

	if (strcmp(cmd, DEFENSE_CONTROL_WORD " reload") != 0) {
		control_end(out, false, "unknown bans command");
		return;
	}
	if (defense_load(d) != 0) {
		control_end(out, false, "cannot read the bans");
		return;
	}
	log_info("bans: reloaded, %zu networks", ban_table_count(d->bans));
	if (d->on_change != NULL)
		d->on_change(d->on_change_arg);
	defense_publish(d);
	control_end(out, true, "%zu bans loaded", ban_table_count(d->bans));
}

struct defense *
defense_new(struct engine *eng, char *err, size_t errlen)
{
	struct defense	*d;
	struct timeval	 tv = { 1, 0 };

	d = xcalloc(1, sizeof(*d));
	d->cache = xcalloc(DEFENSE_DNSBL_CACHE_MAX,
	    sizeof(*d->cache));
	d->eng = eng;
	d->shared_fd = -1;
	d->bans = ban_table_new();
	d->logins = ban_table_new();
	if (eng->store == NULL || defense_load(d) != 0) {
		text_printf(err, errlen, "cannot load the bans");
		defense_free(d);
		return NULL;
	}
	d->timer = event_new(eng->base, -1, EV_PERSIST, defense_tick, d);
	if (d->timer == NULL)
		FATAL("event_new");
	evtimer_add(d->timer, &tv);
	if (store_shared(eng->store)) {
		if ((d->shared_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
		    -1)
			FATAL("eventfd");
		if ((d->shared_ev = event_new(eng->base, d->shared_fd,
		    EV_READ | EV_PERSIST, defense_shared_cb, d)) == NULL ||
		    (d->flush_ev = event_new(eng->base, -1, 0,
		    defense_flush_cb, d)) == NULL)
			FATAL("event_new");
		event_add(d->shared_ev, NULL);
		store_on_shared(eng->store, defense_shared_kick, d);
	}
	control_route(DEFENSE_CONTROL_WORD, defense_control, d);
	log_info("bans: %zu networks loaded", ban_table_count(d->bans));
	defense_publish(d);
	return d;
}

void
defense_free(struct defense *d)
{
	if (d == NULL)
		return;
	control_route(DEFENSE_CONTROL_WORD, NULL, NULL);
	if (d->timer != NULL)
		event_free(d->timer);
	if (d->shared_ev != NULL) {
		/* No kick runs or starts once this returns (store.h). */
		store_on_shared(d->eng->store, NULL, NULL);
		event_free(d->shared_ev);
	}
	if (d->flush_ev != NULL)
		event_free(d->flush_ev);
	if (d->shared_fd != -1)
		close(d->shared_fd);
	if (d->eng->store != NULL)
		defense_flush(d);
	free(d->pending);
	ban_table_free(d->bans);
	ban_table_free(d->logins);
	ban_counter_free(d->counter);
	free(d->cache);
	free(d);
}

static bool
is_allowed(struct defense *d, const struct sockaddr *sa, bool trusted)
{
	return trusted || config_cidrs_contain(&d->eng->cfg->defense_allow, sa);
}

const struct ban_entry *
defense_banned(struct defense *d, const struct sockaddr *sa, bool trusted)
{
	const struct ban_entry	*e;

	if ((e = ban_table_find(d->bans, sa, clock_now_us())) == NULL)
		return NULL;
	return is_allowed(d, sa, trusted) ? NULL : e;
}

static bool
kind_counts(enum attack_kind kind)
{
	switch (kind) {
	case ATTACK_RELAY:
	case ATTACK_SPOOFED_RELAY:
	case ATTACK_FORGED_LOCAL:
	case ATTACK_PROTOCOL:
	case ATTACK_BLOCKLISTED:
		return true;
	default:
		return false;
	}
}

void
defense_note(struct defense *d, const struct sockaddr *sa,
    enum attack_kind kind, bool trusted)
{
	const struct config	*cfg = d->eng->cfg;
	const struct ban_entry	*old;
	struct ban_entry	 e;
	char			 text[BAN_NET_TEXT_MAX];
	int64_t			 now = clock_now_us();
	uint32_t		 level = 1;

	if (cfg->defense_ban_after == 0 || !kind_counts(kind))
		return;
	/* A SIGHUP may have changed the thresholds: start counting anew. */
	if (d->counter == NULL || d->counter_after != cfg->defense_ban_after ||
	    d->counter_window != cfg->defense_ban_window) {
		ban_counter_free(d->counter);
		d->counter = ban_counter_new((uint32_t)cfg->defense_ban_after,
		    (int64_t)cfg->defense_ban_window * 1000000);
		d->counter_after = cfg->defense_ban_after;
		d->counter_window = cfg->defense_ban_window;
	}
	memset(&e, 0, sizeof(e));
	ban_net_of_sockaddr(sa, (unsigned)cfg->defense_ban_prefix4,
	    (unsigned)cfg->defense_ban_prefix6, &e.net);
	if (!ban_counter_hit(d->counter, &e.net, now))
		return;
	ban_net_format(&e.net, text, sizeof(text));
	/* Never banned: trusted, allow, a recent login, a live grant (the
	 * grant lookup reads the store, but only here, once per ban). */
	if (is_allowed(d, sa, trusted) ||
	    ban_table_find(d->logins, sa, now) != NULL ||
	    grants_check(d->eng, sa, NULL)) {
		log_info("bans: %s reached ban_after but is exempt", text);
		return;
	}
	if ((old = ban_table_get(d->bans, &e.net)) != NULL) {
		if (old->expires_us > now)
			return;		/* already banned */
		level = old->level < BAN_LEVEL_MAX ? old->level + 1 :
		    old->level;
	}
	e.level = level;
	e.start_us = now;
	e.expires_us = now + (int64_t)ban_duration(cfg->defense_ban_time,
	    cfg->defense_ban_max, level) * 1000000;
	ban_table_put(d->bans, &e);
	d->dirty = true;
	log_info("bans: %s banned for %llus (ban %u of this network)", text,
	    (unsigned long long)((e.expires_us - e.start_us) / 1000000),
	    level);
	if (d->npending == d->cappending) {
		d->cappending = d->cappending ? d->cappending * 2 : 64;
		d->pending = xreallocarray(d->pending, d->cappending,
		    sizeof(*d->pending));
	}
	d->pending[d->npending++] = e;
	if (d->flush_ev != NULL)
		event_active(d->flush_ev, EV_TIMEOUT, 0);
}

void
defense_login(struct defense *d, const struct sockaddr *sa)
{
	struct ban_entry	e;

	memset(&e, 0, sizeof(e));
	ban_net_of_sockaddr(sa, 32, 128, &e.net);
	e.start_us = clock_now_us();
	e.expires_us = e.start_us + (int64_t)DEFENSE_LOGIN_KEEP_S * 1000000;
	ban_table_put(d->logins, &e);
}

/* ---- DNSBL ------------------------------------------------------------ */

bool
defense_dnsbl_name(const struct sockaddr *sa, const char *zone, char *out,
    size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	struct ban_net		 n;
	char			 rev[80];
	size_t			 i, k = 0;

	ban_net_of_sockaddr(sa, 32, 128, &n);
	if (n.family == 4)
		return text_printf(out, outlen, "%u.%u.%u.%u.%s", n.addr[3],
		    n.addr[2], n.addr[1], n.addr[0], zone);
	for (i = 16; i-- > 0;) {
		rev[k++] = hex[n.addr[i] & 0xf];
		rev[k++] = '.';
		rev[k++] = hex[n.addr[i] >> 4];
		rev[k++] = '.';
	}
	rev[k] = '\0';
	return text_printf(out, outlen, "%s%s", rev, zone);
}

static struct dnsbl_cache *
cache_slot(struct defense *d, const char *name)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; name[i] != '\0'; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return &d->cache[h % DEFENSE_DNSBL_CACHE_MAX];
}

static void
dnsbl_settle(struct defense_dnsbl_req *r)
{
	const char	*zone = NULL;
	size_t		 i;

	if (r->pending > 0)
		return;
	for (i = 0; i < r->n && zone == NULL; i++)
		if (r->q[i].listed)
			zone = r->q[i].zone;
	r->cb(zone, r->arg);
	free(r->q);
	free(r);
}

static void
dnsbl_answer(enum dns_status status, const struct sockaddr_storage *addrs,
    size_t n, void *arg)
{
	struct dnsbl_query	*q = arg;
	struct defense_dnsbl_req *r = q->req;
	struct dnsbl_cache	*c;
	size_t			 i;

	q->dns = NULL;
	q->done = true;
	/* RFC 5782 2.1: a listing is an A record in 127.0.0.0/8. */
	for (i = 0; status == DNS_OK && i < n; i++)
		if (addrs[i].ss_family == AF_INET &&
		    (ntohl(((const struct sockaddr_in *)&addrs[i])->
		    sin_addr.s_addr) >> 24) == 127)
			q->listed = true;
	if (status != DNS_TEMPFAIL) {
		c = cache_slot(r->d, q->name);
		text_copy(c->name, q->name, sizeof(c->name));
		c->listed = q->listed;
		c->expires_us = clock_now_us() + DEFENSE_DNSBL_TTL * 1000000LL;
	} else
		log_info("dnsbl: %s: lookup failed; not refusing", q->name);
	r->pending--;
	dnsbl_settle(r);
}

struct defense_dnsbl_req *
defense_dnsbl(struct defense *d, const struct sockaddr *sa,
    defense_dnsbl_cb cb, void *arg)
{
	const struct domain_list	*zones = &d->eng->cfg->defense_dnsbl;
	struct defense_dnsbl_req	*r;
	struct dnsbl_cache		*c;
	size_t				 i, ask = 0;
	int64_t				 now = clock_now_us();

	if (zones->count == 0 || d->eng->dns == NULL) {
		cb(NULL, arg);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->q = xcalloc(zones->count, sizeof(*r->q));
	r->d = d;
	r->cb = cb;
	r->arg = arg;
	r->n = zones->count;
	for (i = 0; i < r->n; i++) {
		r->q[i].req = r;
		/* Copied: a SIGHUP may swap the config meanwhile. */
		text_copy(r->q[i].zone, zones->names[i],
		    sizeof(r->q[i].zone));
		if (!defense_dnsbl_name(sa, zones->names[i], r->q[i].name,
		    sizeof(r->q[i].name))) {
			r->q[i].done = true;
			continue;
		}
		c = cache_slot(d, r->q[i].name);
		if (c->expires_us > now &&
		    strcmp(c->name, r->q[i].name) == 0) {
			r->q[i].done = true;
			r->q[i].listed = c->listed;
			continue;
		}
		ask++;
	}
	r->pending = ask + 1;	/* held until every query is out */
	for (i = 0; i < r->n; i++)
		if (!r->q[i].done)
			r->q[i].dns = dns_addrs(d->eng->dns, r->q[i].name,
			    dnsbl_answer, &r->q[i]);
	/* Every answer may have come from a cache inside dns_addrs(). */
	if (--r->pending == 0) {
		dnsbl_settle(r);
		return NULL;
	}
	return r;
}

void
defense_dnsbl_cancel(struct defense_dnsbl_req *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		if (r->q[i].dns != NULL)
			dns_cancel(r->q[i].dns);
	free(r->q);
	free(r);
}

/* ---- published blocklist ---------------------------------------------- */

static bool
write_one(int dirfd, const char *dir, const char *name,
    enum ban_export_format fmt, const struct ban_entry *e, size_t n,
    char *err, size_t errlen)
{
	char	tmp[64];
	FILE	*fp;
	int	 fd;
	bool	 ok;

	text_printf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	if (fd == -1 || (fp = fdopen(fd, "w")) == NULL) {
		text_printf(err, errlen, "%s/%s: %s", dir, tmp,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return false;
	}
	ok = ban_export(fmt, e, n, fp) && fflush(fp) == 0 &&
	    fsync(fileno(fp)) == 0;
	if (fclose(fp) != 0)
		ok = false;
	if (!ok || renameat(dirfd, tmp, dirfd, name) == -1) {
		text_printf(err, errlen, "%s/%s: %s", dir, name,
		    strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return false;
	}
	return true;
}

bool
defense_write_blocklist(const char *dir, const struct ban_entry *e, size_t n,
    char *err, size_t errlen)
{
	int	dirfd;
	bool	ok;

	(void)mkdir(dir, 0755);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		text_printf(err, errlen, "%s: %s", dir, strerror(errno));
		return false;
	}
	ok = write_one(dirfd, dir, "blocklist.txt", BAN_EXPORT_PLAIN, e, n,
	    err, errlen) &&
	    write_one(dirfd, dir, "blocklist.rbldnsd", BAN_EXPORT_RBLDNSD, e,
	    n, err, errlen) &&
	    write_one(dirfd, dir, "blocklist.json", BAN_EXPORT_JSON, e, n,
	    err, errlen);
	(void)fsync(dirfd);
	close(dirfd);
	return ok;
}
