/*
 * store.c: the store's front: choose a backend by the store's location
 * (a postgresql:// or postgres:// URL names the shared PostgreSQL store of
 * several MX hosts, anything else is an SQLite file), open it, and forward
 * the store_*() calls to the backend's table (store.h).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "store.h"
#include "text.h"

const struct store_ops *
store_backend(const char *name)
{
	static const struct store_ops *const backends[] = {
		&store_sqlite_ops,
		&store_pg_ops,
	};
	size_t	i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(backends[i]->name, name) == 0)
			return (backends[i]);
	}
	return (NULL);
}

const char *
store_backend_of_url(const char *url)
{
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
		return ("postgresql");
	return ("sqlite");
}

struct store *
store_open(const char *name, const char *path, bool readonly, char *err,
    size_t errlen)
{
	const struct store_ops	*ops;

	if ((ops = store_backend(name)) == NULL) {
		snprintf(err, errlen, "unknown attack log backend \"%s\"",
		    name);
		return (NULL);
	}
	return (ops->open(path, readonly, err, errlen));
}

struct store *
store_open_url(const char *url, bool readonly, char *err, size_t errlen)
{
	return (store_open(store_backend_of_url(url), url, readonly, err,
	    errlen));
}

bool
store_db_path(const struct config *cfg, char *out, size_t outlen, char *err,
    size_t errlen)
{
	if (cfg->attacklog_db != NULL && cfg->attacklog_db[0] != '\0') {
		if (text_copy(out, cfg->attacklog_db, outlen))
			return (true);
		snprintf(err, errlen, "[attacklog] db: path too long");
		return (false);
	}
	if (cfg->state_dir == NULL || cfg->state_dir[0] == '\0') {
		snprintf(err, errlen, "attack log: neither [attacklog] db nor "
		    "[server] state_dir is set");
		return (false);
	}
	if (text_printf(out, outlen, "%s/attacklog.db", cfg->state_dir))
		return (true);
	snprintf(err, errlen, "[server] state_dir: path too long");
	return (false);
}

struct store *
store_open_config(const struct config *cfg, bool readonly, char *err,
    size_t errlen)
{
	char	path[CONFIG_PATH_MAX + 32];

	if (cfg->store_url != NULL && cfg->store_url[0] != '\0') {
		if (strcmp(store_backend_of_url(cfg->store_url), "sqlite") ==
		    0) {
			snprintf(err, errlen, "[store] url: not a postgresql:// "
			    "URI (leave it empty for SQLite)");
			return (NULL);
		}
		return (store_open_url(cfg->store_url, readonly, err, errlen));
	}
	if (!store_db_path(cfg, path, sizeof(path), err, errlen))
		return (NULL);
	return (store_open_url(path, readonly, err, errlen));
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

const char *
store_errmsg(struct store *st)
{
	return (st->ops->errmsg(st));
}

void
store_set_filter(struct store *st, const struct store_filter *f)
{
	st->filter = *f;
}

void
store_set_withdraw_window(struct store *st, int64_t window_us)
{
	st->withdraw_window_us = window_us;
}

int
store_login(struct store *st, const char *key, int64_t time_us,
    int64_t window_us, uint64_t *withdrawn_out)
{
	return (st->ops->login(st, key, time_us, window_us, withdrawn_out));
}

int
store_insert_batch(struct store *st, const struct attack_record *recs,
    size_t n)
{
	return (st->ops->insert_batch(st, recs, n));
}

int
store_purge(struct store *st, int64_t before_us, uint64_t *deleted_out)
{
	return (st->ops->purge(st, before_us, deleted_out));
}

int
store_query(struct store *st, const struct store_query *q,
    store_record_cb cb, void *arg)
{
	return (st->ops->query(st, q, cb, arg));
}

int
store_totals(struct store *st, struct store_totals *out)
{
	return (st->ops->totals(st, out));
}

int
store_daily(struct store *st, int64_t now_us, size_t ndays,
    struct store_day *out)
{
	return (st->ops->daily(st, now_us, ndays, out));
}

int
store_top(struct store *st, struct store_top *addrs, size_t naddrs,
    size_t *naddrs_out, struct store_top *nets, size_t nnets,
    size_t *nnets_out)
{
	return (st->ops->top(st, addrs, naddrs, naddrs_out, nets, nnets,
	    nnets_out));
}

int
store_incidents(struct store *st, struct store_incident *out, size_t max,
    size_t *n_out)
{
	return (st->ops->incidents(st, out, max, n_out));
}

int
store_incident_get(struct store *st, int64_t id, struct store_incident *out)
{
	return (st->ops->incident_get(st, id, out));
}

int
store_ban_put(struct store *st, const struct ban_entry *e, size_t n,
    int64_t keep_us)
{
	return (st->ops->ban_put(st, e, n, keep_us));
}

int
store_ban_delete(struct store *st, const struct ban_net *net,
    uint64_t *deleted_out)
{
	return (st->ops->ban_delete(st, net, deleted_out));
}

int
store_ban_list(struct store *st, int64_t since_us, store_ban_cb cb, void *arg)
{
	return (st->ops->ban_list(st, since_us, cb, arg));
}

int
store_grant_put(struct store *st, const char *network, const char *user,
    int64_t expires_us)
{
	return (st->ops->grant_put(st, network, user, expires_us));
}

int
store_grant_get(struct store *st, const char *network, int64_t now_us,
    char *user_out, size_t userlen, int64_t *expires_out)
{
	return (st->ops->grant_get(st, network, now_us, user_out, userlen,
	    expires_out));
}

int
store_grant_revoke(struct store *st, const char *network,
    uint64_t *deleted_out)
{
	return (st->ops->grant_revoke(st, network, deleted_out));
}

int
store_grant_list(struct store *st, int64_t now_us, store_grant_cb cb,
    void *arg)
{
	return (st->ops->grant_list(st, now_us, cb, arg));
}

uint64_t
store_generation(struct store *st)
{
	if (st == NULL || st->ops->generation == NULL)
		return (0);
	return (st->ops->generation(st));
}

bool
store_url_has_password(const char *url)
{
	const char	*auth, *at, *colon, *q;

	if (strcmp(store_backend_of_url(url), "postgresql") != 0)
		return (false);
	auth = strstr(url, "://") + 3;
	at = strchr(auth, '@');
	colon = strchr(auth, ':');
	if (at != NULL && colon != NULL && colon < at &&
	    strcspn(auth, "/?") > (size_t)(at - auth))
		return (true);
	/* libpq URI parameters: ...?password=... or &password=... */
	for (q = strchr(url, '?'); q != NULL; q = strchr(q + 1, '&')) {
		if (strncmp(q + 1, "password=", 9) == 0)
			return (true);
	}
	return (false);
}

void
store_check(const struct config *cfg,
    void (*report)(int error, const char *msg, void *arg), void *arg)
{
	struct stat	st;
	char		msg[2 * CONFIG_PATH_MAX + 200];

	if (cfg->store_url == NULL || cfg->store_url[0] == '\0')
		return;
	if (strcmp(store_backend_of_url(cfg->store_url), "postgresql") != 0) {
		report(1, "[store] url: not a postgresql:// URI (leave it "
		    "empty for SQLite)", arg);
		return;
	}
	if (store_url_has_password(cfg->store_url) &&
	    stat(cfg->path, &st) == 0 && (st.st_mode & S_IROTH)) {
		snprintf(msg, sizeof(msg), "warning: [store] url carries a "
		    "password and %s is world-readable: every local user can "
		    "read it (chmod o-r %s, or use ~/.pgpass)", cfg->path,
		    cfg->path);
		report(0, msg, arg);
	}
}

bool
store_lead(struct store *st)
{
	if (st->ops->lead == NULL)
		return (true);
	return (st->ops->lead(st));
}

void
store_on_records(struct store *st, void (*cb)(void *), void *arg)
{
	if (st != NULL && st->ops->on_records != NULL)
		st->ops->on_records(st, cb, arg);
}

bool
store_shared(const struct store *st)
{
	return (st != NULL && st->ops->on_shared != NULL);
}

void
store_on_shared(struct store *st, void (*cb)(void *), void *arg)
{
	if (st != NULL && st->ops->on_shared != NULL)
		st->ops->on_shared(st, cb, arg);
}

void
store_day_of(int64_t t_us, char *out)
{
	struct tm	tm;
	time_t		sec;
	int64_t		s = t_us / 1000000;

	if (t_us < 0 && t_us % 1000000 != 0)
		s--;
	sec = (time_t)s;
	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (strftime(out, STORE_DAY_MAX, "%Y-%m-%d", &tm) == 0)
		(void)text_copy(out, "0000-00-00", STORE_DAY_MAX);
}

void
store_top_insert(struct store_top *top, size_t max, size_t *n,
    const char *key, uint64_t count)
{
	size_t	i;

	if (max == 0)
		return;
	if (*n == max && (count < top[max - 1].count ||
	    (count == top[max - 1].count &&
	    strcmp(key, top[max - 1].key) >= 0)))
		return;
	i = (*n < max) ? (*n)++ : max - 1;
	for (; i > 0; i--) {
		if (top[i - 1].count > count || (top[i - 1].count == count &&
		    strcmp(top[i - 1].key, key) < 0))
			break;
		top[i] = top[i - 1];
	}
	(void)text_copy(top[i].key, key, sizeof(top[i].key));
	top[i].count = count;
}
