/*
 * store.h: the attack log's storage interface. A backend is a small table
 * of functions (struct store_ops) chosen by the store's location
 * (store.c): "sqlite" (store_sqlite.c, a file: the default for one host)
 * and "postgresql" (store_pg.c, a postgresql:// URI: several MX hosts
 * sharing one log, grants and bans). Callers only see struct store and
 * the store_*() wrappers below. The record and its vocabulary are
 * attack.h's; nothing here depends on the attack log's writer.
 *
 * Writers: the engine's attack log writer thread (attacklog.c), the only
 * thread that inserts and purges. Readers: `pillory log`, `pillory stats`,
 * the publisher; each opens its own handle, read-only where it can, and
 * reads while the daemon writes. A handle is used by one thread at a time.
 *
 * Input is trusted in the sense that records come from our own engine, but
 * every string field is attacker-controlled text: backends bind it as a
 * parameter, never paste it into SQL.
 *
 * What a backend keeps:
 * - attacks: one row per record, purged after `retention`;
 * - daily counts per UTC day and kind, incremented on insert and never
 *   purged, so totals keep growing after old records are gone;
 * - incidents: bursts from one client address, maintained at insert time
 *   with attack_incident_joins() (a gap under 30 minutes joins the
 *   newest incident of that address), purged with the attacks.
 *
 * - withdrawn records (struct attack_record): a login from the client's
 *   address (IPv6: its /64) within the handle's withdraw window before or
 *   after a record withdraws it, at insert time (logins seen before) or
 *   at login time (records seen before); their daily counts are kept
 *   apart, so that both the admin's totals and the public ones survive
 *   the purge.
 *
 * A handle shows everything (the admin's view: `pillory log`, `stats`)
 * until store_set_filter() gives it the public view: only records of the
 * kinds in the mask that are not withdrawn, in every read (query, totals,
 * daily, top, incidents).
 *
 * The numeric values of enum attack_kind (pillory.h) are stored on disk
 * (attacks.kind, daily_counts.kind, the incidents.kinds bitmask): new kinds
 * are appended, existing values never change.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "attack.h"
#include "ban.h"

/* A YYYY-MM-DD day and its NUL. */
#define STORE_DAY_MAX		11
/* "2001:db8:1234::/48" and friends. */
#define STORE_NETWORK_MAX	(IPADDR_TEXT_MAX + 4)

struct store;

/* Filters for store_query(); zero the struct, then set what applies. */
struct store_query {
	int		 kind;		/* enum attack_kind, or -1 for any */
	int64_t		 since_us;	/* time_us >= since_us; 0: no bound */
	int64_t		 until_us;	/* time_us < until_us; 0: no bound */
	const char	*client_ip;	/* exact address, or NULL */
	uint64_t	 limit;		/* the newest limit records; 0: all */
};

/* Totals from the daily counts (they survive purges). */
struct store_totals {
	uint64_t	 total;
	uint64_t	 by_kind[ATTACK_KIND_COUNT];
	uint64_t	 incidents;	/* incidents currently kept */
	uint64_t	 withdrawn;	/* of total (admin view; 0 if public) */
};

/* What a public handle shows (store_set_filter()). */
struct store_filter {
	bool		 active;	/* false: everything (admin view) */
	uint32_t	 kinds;		/* ATTACK_KIND_BIT() mask */
};

/* One UTC day. */
struct store_day {
	char		 day[STORE_DAY_MAX];	/* YYYY-MM-DD */
	uint64_t	 count;
	uint64_t	 by_kind[ATTACK_KIND_COUNT];
};

/* One entry of a top list: an address or a /24 (IPv4) or /48 (IPv6). */
struct store_top {
	char		 key[STORE_NETWORK_MAX];
	uint64_t	 count;
};

struct store_incident {
	int64_t		 id;		/* stable: ids are never reused */
	char		 client_ip[IPADDR_TEXT_MAX];
	char		 client_name[DOMAIN_MAX + 1];
	int64_t		 first_us;
	int64_t		 last_us;
	uint64_t	 count;
	uint32_t	 kinds;		/* bit (1 << enum attack_kind) */
	bool		 targeted;	/* spoofed-relay or forged-local seen */
	char		 senders[ATTACK_SENDERS_LEN]; /* "a@x,b@y" */
};

/*
 * Called once per record, oldest first; rec is valid only during the
 * call. Return 0 to go on, anything else to stop (store_query() then
 * returns that value).
 */
typedef int (*store_grant_cb)(const char *network, const char *user,
    int64_t expires_us, void *arg);
typedef int (*store_record_cb)(const struct attack_record *rec, void *arg);
/* Called once per ban row; e is valid only during the call. */
typedef int (*store_ban_cb)(const struct ban_entry *e, void *arg);

/*
 * The backend table. Every operation returns 0 on success and -1 on error,
 * with a message from errmsg(); none of them aborts on bad data.
 */
struct store_ops {
	const char	*name;
	/*
	 * Open (creating and migrating the schema unless readonly) the store
	 * at path. NULL with a message in err on failure.
	 */
	struct store	*(*open)(const char *path, bool readonly, char *err,
			    size_t errlen);
	void		 (*close)(struct store *st);
	/* Message for the last failed operation on st. */
	const char	*(*errmsg)(struct store *st);
	/* Insert n records in one transaction: all or nothing. */
	int		 (*insert_batch)(struct store *st,
			    const struct attack_record *recs, size_t n);
	/*
	 * Delete attacks with time_us < before_us and incidents whose last_us
	 * is before it; daily counts stay. *deleted_out (may be NULL) gets
	 * the number of attack rows removed.
	 */
	int		 (*purge)(struct store *st, int64_t before_us,
			    uint64_t *deleted_out);
	/* Matching records, the newest q->limit of them, oldest first. */
	int		 (*query)(struct store *st, const struct store_query *q,
			    store_record_cb cb, void *arg);
	int		 (*totals)(struct store *st, struct store_totals *out);
	/*
	 * Counts for the ndays UTC days ending with the day of now_us,
	 * oldest first, zero days included: out has ndays entries.
	 */
	int		 (*daily)(struct store *st, int64_t now_us,
			    size_t ndays, struct store_day *out);
	/*
	 * Top client addresses and top networks over the records kept, by
	 * count (ties: lower key first). Fills up to naddrs / nnets entries
	 * and sets the *_out counts. Either list may have size 0.
	 */
	int		 (*top)(struct store *st, struct store_top *addrs,
			    size_t naddrs, size_t *naddrs_out,
			    struct store_top *nets, size_t nnets,
			    size_t *nnets_out);
	/* The newest incidents (by last_us), newest first, up to max. */
	int		 (*incidents)(struct store *st,
			    struct store_incident *out, size_t max,
			    size_t *n_out);
	/* One incident by id; 1 when there is no such incident. */
	int		 (*incident_get)(struct store *st, int64_t id,
			    struct store_incident *out);
	/* POP-before-SMTP grants, keyed by address or IPv6 network text. */
	int		 (*grant_put)(struct store *st, const char *network,
			    const char *user, int64_t expires_us);
	/* 0 and the user when a grant is live at now_us; 1 when none. */
	int		 (*grant_get)(struct store *st, const char *network,
			    int64_t now_us, char *user_out, size_t userlen,
			    int64_t *expires_out);
	int		 (*grant_revoke)(struct store *st, const char *network,
			    uint64_t *deleted_out);
	/* Live grants, soonest expiry first; cb returns non-zero to stop. */
	int		 (*grant_list)(struct store *st, int64_t now_us,
			    store_grant_cb cb, void *arg);
	/*
	 * A login from key (attack_login_key()) at time_us: remember it
	 * (later inserts within window_us of it are withdrawn) and withdraw
	 * the records of key within window_us before or after it.
	 * *withdrawn_out (may be NULL) gets how many were withdrawn now.
	 */
	int		 (*login)(struct store *st, const char *key,
			    int64_t time_us, int64_t window_us,
			    uint64_t *withdrawn_out);
	/*
	 * Bans (README "Defense: bans and blocklists"), one row per network.
	 * Rows stay after they expire, so that the next ban of the network
	 * knows its level; ban_put() sweeps rows that expired more than
	 * keep_us ago. The n entries are written in one transaction.
	 */
	int		 (*ban_put)(struct store *st, const struct ban_entry *e,
			    size_t n, int64_t keep_us);
	/* *deleted_out: 1 when the row existed, else 0. */
	int		 (*ban_delete)(struct store *st,
			    const struct ban_net *net, uint64_t *deleted_out);
	/* Rows with expires_us > since_us (0: all rows), by network. */
	int		 (*ban_list)(struct store *st, int64_t since_us,
			    store_ban_cb cb, void *arg);
	/*
	 * `pillory import`'s memory of the log lines it took: 0 when key (a
	 * hash of the normalised line) was new and is now remembered, 1 when
	 * it was already there, -1 on error.
	 */
	int		 (*import_mark)(struct store *st, const char *key);
	/*
	 * Optional (NULL: a store only this host writes). A counter that
	 * moves whenever grants or bans changed in the shared store, by any
	 * host; never blocks. The first call starts st's in-memory view of
	 * grants and bans: from then on grant_get() and ban_list() on st
	 * answer from memory (the last known state while the store is
	 * unreachable) and never wait on the network, and grant_put() and
	 * ban_put() on st change that view at once and leave the write (and
	 * its notification of the other hosts) to the view's thread, kept
	 * until the store takes it.
	 */
	uint64_t	 (*generation)(struct store *st);
	/*
	 * Optional (NULL: always true). True when st's host is the one that
	 * writes the public page: a lock held while st's connection lives,
	 * so that another host takes over when this one stops.
	 */
	bool		 (*lead)(struct store *st);
	/*
	 * Optional (NULL: only this host writes records). Call cb(arg) from
	 * another thread whenever any host committed records (the page's
	 * trigger); cb must be cheap and thread-safe. cb NULL detaches: no
	 * call is running or starts after it returns.
	 */
	void		 (*on_records)(struct store *st, void (*cb)(void *),
			    void *arg);
	/*
	 * Optional. As on_records, for a change of the shared grants or
	 * bans by any host (generation() moved): the engine reloads its
	 * bans at once rather than at its next tick.
	 */
	void		 (*on_shared)(struct store *st, void (*cb)(void *),
			    void *arg);
};

/* Every handle starts with this; backends embed it first. */
struct store {
	const struct store_ops	*ops;
	struct store_filter	 filter;	/* reads; see above */
	int64_t			 withdraw_window_us; /* inserts; 0: none */
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

struct config;

/* The backend called name ("sqlite", "postgresql"); NULL when none is. */
const struct store_ops *store_backend(const char *name);

/*
 * The backend for a store location: "postgresql" for a postgresql:// or
 * postgres:// URL, else "sqlite" (a file path). Pure.
 */
const char *store_backend_of_url(const char *url);

/*
 * Open the store at path with the backend called name. NULL with a message
 * in err when the backend is unknown or the store cannot be opened; the
 * caller closes the result with store_close().
 */
struct store *store_open(const char *name, const char *path, bool readonly,
    char *err, size_t errlen);

/* Open the store at url with the backend store_backend_of_url() names. */
struct store *store_open_url(const char *url, bool readonly, char *err,
    size_t errlen);

/*
 * The SQLite store file for cfg: cfg->attacklog_db when set, else
 * STATE_DIR/attacklog.db. False (with a message in err) when neither is
 * set or the path does not fit in outlen.
 */
bool store_db_path(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen);

/*
 * Open the store for cfg with its backend; `pillory log`, `stats` and the
 * publisher open it readonly. NULL with a message in err on failure.
 */
struct store *store_open_config(const struct config *cfg, bool readonly,
    char *err, size_t errlen);

/*
 * True when url is a URI with a password in it ("scheme://user:pw@host")
 * or a "password=" parameter. Pure.
 */
bool store_url_has_password(const char *url);

/*
 * `pillory check` of [store]: url names PostgreSQL when set; a password in
 * it wants a config file that is not world-readable (a warning).
 */
struct config;
void store_check(const struct config *cfg,
    void (*report)(int error, const char *msg, void *arg), void *arg);

/* Close st (NULL is fine); finishes nothing in flight, frees everything. */
void store_close(struct store *st);
/* Message for the last failed operation on st. */
const char *store_errmsg(struct store *st);
/* Give st the public view (or, with f->active false, the admin's). */
void store_set_filter(struct store *st, const struct store_filter *f);
/* Inserts on st look for a login this close to each record. */
void store_set_withdraw_window(struct store *st, int64_t window_us);

/* See struct store_ops; these forward to the backend. */
int store_login(struct store *st, const char *key, int64_t time_us,
    int64_t window_us, uint64_t *withdrawn_out);
int store_insert_batch(struct store *st, const struct attack_record *recs,
    size_t n);
int store_purge(struct store *st, int64_t before_us, uint64_t *deleted_out);
int store_query(struct store *st, const struct store_query *q,
    store_record_cb cb, void *arg);
int store_totals(struct store *st, struct store_totals *out);
int store_daily(struct store *st, int64_t now_us, size_t ndays,
    struct store_day *out);
int store_top(struct store *st, struct store_top *addrs, size_t naddrs,
    size_t *naddrs_out, struct store_top *nets, size_t nnets,
    size_t *nnets_out);
int store_incidents(struct store *st, struct store_incident *out, size_t max,
    size_t *n_out);
int store_incident_get(struct store *st, int64_t id,
    struct store_incident *out);
int store_ban_put(struct store *st, const struct ban_entry *e, size_t n,
    int64_t keep_us);
int store_ban_delete(struct store *st, const struct ban_net *net,
    uint64_t *deleted_out);
int store_ban_list(struct store *st, int64_t since_us, store_ban_cb cb,
    void *arg);
/* See store_ops.on_records; nothing for a backend without one. */
void store_on_records(struct store *st, void (*cb)(void *), void *arg);
/* True when other hosts share st (it has store_ops.on_shared). */
bool store_shared(const struct store *st);
/* See store_ops.on_shared; nothing for a backend without one. */
void store_on_shared(struct store *st, void (*cb)(void *), void *arg);

/* For the backends. The UTC day of t_us as YYYY-MM-DD into out
 * (STORE_DAY_MAX bytes). */
void store_day_of(int64_t t_us, char *out);
/* Insert (key, count) into a top list of *n entries out of max, sorted by
 * count, ties by key. */
void store_top_insert(struct store_top *top, size_t max, size_t *n,
    const char *key, uint64_t count);
/* See store_ops.lead; true for a backend without one. */
bool store_lead(struct store *st);
/* See store_ops.generation; 0 for a backend without one. */
uint64_t store_generation(struct store *st);
int store_grant_put(struct store *st, const char *network, const char *user,
    int64_t expires_us);
int store_grant_get(struct store *st, const char *network, int64_t now_us,
    char *user_out, size_t userlen, int64_t *expires_out);
int store_grant_revoke(struct store *st, const char *network,
    uint64_t *deleted_out);
int store_grant_list(struct store *st, int64_t now_us, store_grant_cb cb,
    void *arg);

#endif
