/*
 * store_pg.c: the PostgreSQL backend of the attack log store (store.h), for
 * several MX hosts sharing one store (README "Several MX hosts:
 * PostgreSQL"). The same operations as store_sqlite.c on the same data:
 * records carry the node that wrote them, incidents join records from all
 * nodes with attack_incident_joins(), daily counts are never purged.
 *
 * The location is a libpq connection URI (postgresql://...), passed to
 * libpq as it is: sslmode, sslrootcert and the other URI parameters apply
 * (TLS to the server is libpq's).
 *
 * Every value is a parameter ($1, $2 ...) of a statement, never pasted into
 * SQL; the look-ups are prepared once per connection, and an insert batch
 * sends its records as array parameters (a handful of statements per
 * batch, see below). The only SQL text built at run time is
 * store_pg_query()'s and the daily counts', from constant fragments.
 *
 * Files: this one (connection, schema, grants, bans, logins, purge, the
 * backend table), store_pg_batch.c (insert batches), store_pg_read.c
 * (reads), store_pg_view.c (the view of grants and bans), sharing
 * store_pg_int.h.
 *
 * Threads: the attack log writer and the engine's event loop each have
 * their own handle; the engine's handle also runs a listener thread with
 * a connection of its own (struct pg_view: grants and bans in memory, kept
 * by LISTEN/NOTIFY). A lost connection is retried at most once a second.
 *
 * Schema (version in schema_version, upgraded by store_pg_migrate() one
 * step at a time, each step in the transaction of its version bump, under
 * an advisory lock so that two hosts starting at once migrate once):
 *   version 1: attacks, daily_counts, daily_withdrawn, incidents, grants,
 *       logins, bans, as in the SQLite store's version 4
 *   version 2: attacks.node, the MX host that recorded it
 *   version 3: attacks.uid, unique: a record replayed from the spool
 *       (store_spool.h) is stored once
 *   version 4: imported(key), the hashed log lines `pillory import` took
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "attack.h"
#include "ban.h"
#include "log.h"
#include "store.h"
#include "store_pg_int.h"
#include "text.h"
#include "xalloc.h"

static bool store_pg_ready(struct store_pg *sp);

/* Advisory lock key of the schema migration ("pill" in ASCII). */
#define STORE_PG_MIGRATE_LOCK	"1886958700"
/* Advisory lock key of the page writer ("pilp"). */
#define STORE_PG_PAGE_LOCK	"1886958704"

static const char *const store_pg_migrations[] = {
	/* 1: the SQLite store's schema version 4, in PostgreSQL types. */
	"CREATE TABLE attacks ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  time_us BIGINT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  client_ip TEXT NOT NULL,"
	"  client_name TEXT NOT NULL,"
	"  helo TEXT NOT NULL,"
	"  mail_from TEXT NOT NULL,"
	"  rcpt_to TEXT NOT NULL,"
	"  login_user TEXT NOT NULL,"
	"  session TEXT NOT NULL,"
	"  reply TEXT NOT NULL,"
	"  port INTEGER NOT NULL,"
	"  withdrawn INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX attacks_time ON attacks (time_us);"
	"CREATE INDEX attacks_ip_time ON attacks (client_ip, time_us);"
	"CREATE INDEX attacks_kind_time ON attacks (kind, time_us);"
	"CREATE TABLE daily_counts ("
	"  day TEXT NOT NULL, kind INTEGER NOT NULL, count BIGINT NOT NULL,"
	"  PRIMARY KEY (day, kind));"
	"CREATE TABLE daily_withdrawn ("
	"  day TEXT NOT NULL, kind INTEGER NOT NULL, count BIGINT NOT NULL,"
	"  PRIMARY KEY (day, kind));"
	"CREATE TABLE incidents ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  client_ip TEXT NOT NULL,"
	"  client_name TEXT NOT NULL,"
	"  first_us BIGINT NOT NULL,"
	"  last_us BIGINT NOT NULL,"
	"  count BIGINT NOT NULL,"
	"  kinds BIGINT NOT NULL,"
	"  senders TEXT NOT NULL,"
	"  targeted INTEGER NOT NULL);"
	"CREATE INDEX incidents_ip_last ON incidents (client_ip, last_us);"
	"CREATE INDEX incidents_last ON incidents (last_us);"
	"CREATE TABLE grants ("
	"  network TEXT PRIMARY KEY, login_user TEXT NOT NULL,"
	"  expires_us BIGINT NOT NULL);"
	"CREATE TABLE logins ("
	"  network TEXT PRIMARY KEY, last_us BIGINT NOT NULL);"
	"CREATE TABLE bans ("
	"  network TEXT PRIMARY KEY, start_us BIGINT NOT NULL,"
	"  expires_us BIGINT NOT NULL, level BIGINT NOT NULL,"
	"  manual INTEGER NOT NULL);"
	"CREATE INDEX bans_expires ON bans (expires_us);",
	/* 2: the MX host that recorded each attack ([store] node). */
	"ALTER TABLE attacks ADD COLUMN node TEXT NOT NULL DEFAULT '';",
	/* 3: a unique id per record, so that a replayed spool adds nothing. */
	("ALTER TABLE attacks ADD COLUMN uid TEXT;"
	"CREATE UNIQUE INDEX attacks_uid ON attacks (uid);"),
	/* 4: the log lines `pillory import` took, so a line counts once. */
	"CREATE TABLE imported (key TEXT PRIMARY KEY);",
};
#define STORE_PG_VERSION \
	((int)(sizeof(store_pg_migrations) / sizeof(store_pg_migrations[0])))

enum store_pg_stmt {
	PG_ADD_WITHDRAWN_DAY,
	PG_GRANT_GET,
	PG_STMT_COUNT
};

static const struct {
	const char	*name;
	int		 nparams;
	const char	*sql;
} store_pg_stmts[PG_STMT_COUNT] = {
	[PG_ADD_WITHDRAWN_DAY] = { "add_wday", 3,
	    "INSERT INTO daily_withdrawn (day, kind, count) "
	    "VALUES ($1, $2, $3) ON CONFLICT (day, kind) DO UPDATE SET "
	    "count = daily_withdrawn.count + excluded.count" },
	[PG_GRANT_GET] = { "grant_get", 2,
	    "SELECT login_user, expires_us FROM grants "
	    "WHERE network = $1 AND expires_us > $2" },
};

int
store_pg_fail(struct store_pg *sp, const char *what)
{
	const char	*m = PQerrorMessage(sp->conn);
	size_t		 len;

	snprintf(sp->errmsg, sizeof(sp->errmsg), "%s: %s", what,
	    m != NULL && *m != '\0' ? m : "failed");
	/* libpq's messages end with a newline and may hold more: one
	 * log line. */
	for (len = 0; sp->errmsg[len] != '\0'; len++) {
		if (sp->errmsg[len] == '\n' || sp->errmsg[len] == '\t')
			sp->errmsg[len] = ' ';
	}
	len = strlen(sp->errmsg);
	while (len > 0 && sp->errmsg[len - 1] == ' ')
		sp->errmsg[--len] = '\0';
	while (len > 0 && (sp->errmsg[len - 1] == '\n' ||
	    sp->errmsg[len - 1] == '\r'))
		sp->errmsg[--len] = '\0';
	return (-1);
}

int
store_pg_fail_msg(struct store_pg *sp, const char *msg)
{
	snprintf(sp->errmsg, sizeof(sp->errmsg), "%s", msg);
	return (-1);
}

/*
 * Run sql (or the prepared statement which, when >= 0) with n text
 * parameters. The result when its status is ok (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), else NULL with the message set.
 */
PGresult *
store_pg_run(struct store_pg *sp, int which, const char *sql, int n,
    const char *const *vals)
{
	PGresult	*res;
	ExecStatusType	 s;

	if (!store_pg_ready(sp))
		return (NULL);
	if (which >= 0 && sp->prepared)
		res = PQexecPrepared(sp->conn, store_pg_stmts[which].name, n,
		    vals, NULL, NULL, 0);
	else
		res = PQexecParams(sp->conn, which >= 0 ?
		    store_pg_stmts[which].sql : sql, n, NULL, vals, NULL, NULL,
		    0);
	s = PQresultStatus(res);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return (res);
	snprintf(sp->errmsg, sizeof(sp->errmsg), "%s",
	    PQresultErrorMessage(res));
	sp->errmsg[strcspn(sp->errmsg, "\r\n")] = '\0';
	PQclear(res);
	return (NULL);
}

/* Run sql with n parameters for its effect; 0 or -1. */
int
store_pg_do(struct store_pg *sp, int which, const char *sql, int n,
    const char *const *vals)
{
	PGresult	*res;

	if ((res = store_pg_run(sp, which, sql, n, vals)) == NULL)
		return (-1);
	PQclear(res);
	return (0);
}

/* Run constant SQL, several statements and no parameters; 0 or -1. */
int
store_pg_script(struct store_pg *sp, const char *sql)
{
	PGresult	*res;
	ExecStatusType	 s;

	if (!store_pg_ready(sp))
		return (-1);
	res = PQexec(sp->conn, sql);
	s = PQresultStatus(res);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		PQclear(res);
		return (0);
	}
	snprintf(sp->errmsg, sizeof(sp->errmsg), "%s",
	    PQresultErrorMessage(res));
	sp->errmsg[strcspn(sp->errmsg, "\r\n")] = '\0';
	PQclear(res);
	return (-1);
}

int64_t
store_pg_get_i64(const PGresult *res, int row, int col)
{
	const char	*s = PQgetvalue(res, row, col);

	return (s != NULL ? strtoll(s, NULL, 10) : 0);
}

void
store_pg_get_text(const PGresult *res, int row, int col, char *out,
    size_t outlen)
{
	const char	*s = PQgetvalue(res, row, col);

	/* Rows written by any host are cut to our fields, never overrun. */
	(void)text_copy(out, s != NULL ? s : "", outlen);
	if (s != NULL && strlen(s) >= outlen && outlen > 0)
		out[outlen - 1] = '\0';
}

static void
pg_cut(char *out, const char *s, size_t outlen)
{
	size_t	n = strnlen(s, outlen - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

static int
store_pg_version(struct store_pg *sp, int *version_out)
{
	PGresult	*res;

	*version_out = 0;
	if ((res = store_pg_run(sp, -1, "SELECT to_regclass('schema_version') "
	    "IS NOT NULL", 0, NULL)) == NULL)
		return (-1);
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return (0);
	}
	PQclear(res);
	if ((res = store_pg_run(sp, -1, "SELECT COALESCE(MAX(version), 0) "
	    "FROM schema_version", 0, NULL)) == NULL)
		return (-1);
	*version_out = (int)store_pg_get_i64(res, 0, 0);
	PQclear(res);
	return (0);
}

/* Bring the schema to STORE_PG_VERSION, one step per transaction. */
static int
store_pg_migrate(struct store_pg *sp)
{
	struct pg_num	 num;
	const char	*v[1];
	int		 version, from;

	if (store_pg_do(sp, -1, "SELECT pg_advisory_lock("
	    STORE_PG_MIGRATE_LOCK ")", 0, NULL) != 0)
		return (-1);
	if (store_pg_do(sp, -1, "SET client_min_messages = warning", 0,
	    NULL) != 0 ||
	    store_pg_do(sp, -1, "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version INTEGER NOT NULL)", 0, NULL) != 0 ||
	    store_pg_version(sp, &version) != 0)
		goto fail;
	if (version > STORE_PG_VERSION) {
		snprintf(sp->errmsg, sizeof(sp->errmsg), "schema version %d "
		    "is newer than this pillory's %d", version,
		    STORE_PG_VERSION);
		goto fail;
	}
	from = version;
	for (; version < STORE_PG_VERSION; version++) {
		v[0] = pg_i64(&num, version + 1);
		if (store_pg_do(sp, -1, "BEGIN", 0, NULL) != 0)
			goto fail;
		if (store_pg_script(sp, store_pg_migrations[version]) != 0 ||
		    store_pg_do(sp, -1, "DELETE FROM schema_version", 0,
		    NULL) != 0 ||
		    store_pg_do(sp, -1, "INSERT INTO schema_version (version) "
		    "VALUES ($1)", 1, v) != 0 ||
		    store_pg_do(sp, -1, "COMMIT", 0, NULL) != 0) {
			char	msg[sizeof(sp->errmsg)];

			memcpy(msg, sp->errmsg, sizeof(msg));
			(void)store_pg_do(sp, -1, "ROLLBACK", 0, NULL);
			(void)text_printf(sp->errmsg, sizeof(sp->errmsg),
			    "migrate to schema version %d: %.200s",
			    version + 1, msg);
			goto fail;
		}
	}
	if (from != STORE_PG_VERSION)
		log_info("store: schema version %d -> %d", from,
		    STORE_PG_VERSION);
	(void)store_pg_do(sp, -1, "SELECT pg_advisory_unlock("
	    STORE_PG_MIGRATE_LOCK ")", 0, NULL);
	return (0);
fail:
	(void)store_pg_do(sp, -1, "SELECT pg_advisory_unlock("
	    STORE_PG_MIGRATE_LOCK ")", 0, NULL);
	return (-1);
}


static void
store_pg_close(struct store *st)
{
	struct store_pg	*sp = store_pg(st);

	store_pg_view_stop(sp->view);
	PQfinish(sp->conn);
	free(sp->url);
	free(sp);
}

/* The URI without its password, for messages. */
static void
store_pg_safe_url(const char *url, char *out, size_t outlen)
{
	const char	*scheme, *at, *colon;

	pg_cut(out, url, outlen);
	if ((scheme = strstr(url, "://")) == NULL)
		return;
	scheme += 3;
	at = strchr(scheme, '@');
	colon = strchr(scheme, ':');
	if (at == NULL || colon == NULL || colon > at)
		return;
	(void)text_printf(out, outlen, "%.*s:***%s", (int)(colon - url), url,
	    at);
}

/* Prepare the hot statements on the connection; 0 or -1. */
static int
store_pg_prepare_all(struct store_pg *sp)
{
	PGresult	*res;
	int		 i;

	sp->prepared = false;
	for (i = 0; i < PG_STMT_COUNT; i++) {
		res = PQprepare(sp->conn, store_pg_stmts[i].name,
		    store_pg_stmts[i].sql, store_pg_stmts[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(sp->errmsg, sizeof(sp->errmsg), "prepare: %s",
			    PQresultErrorMessage(res));
			sp->errmsg[strcspn(sp->errmsg, "\r\n")] = '\0';
			PQclear(res);
			return (-1);
		}
		PQclear(res);
	}
	sp->prepared = true;
	return (0);
}

int64_t
store_pg_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/*
 * True when the connection is up, reconnecting first when it was lost
 * (PostgreSQL restarted): at most once per STORE_PG_RESET_US, so that
 * callers fail fast while it is down.
 */
static int store_pg_migrate(struct store_pg *sp);

static bool
store_pg_ready(struct store_pg *sp)
{
	int64_t	now;

	if (PQstatus(sp->conn) == CONNECTION_OK && !sp->need_setup)
		return (true);
	now = store_pg_mono_us();
	if (now < sp->next_reset_us) {
		store_pg_fail_msg(sp, "store unreachable (reconnecting)");
		return (false);
	}
	sp->next_reset_us = now + STORE_PG_RESET_US;
	if (PQstatus(sp->conn) != CONNECTION_OK) {
		PQreset(sp->conn);
		/* Session locks went with the old connection. */
		sp->leading = false;
		if (PQstatus(sp->conn) != CONNECTION_OK) {
			store_pg_fail(sp, "store unreachable");
			return (false);
		}
	}
	if (sp->need_setup) {
		/* Opened while it was down: migrate now (the schema step
		 * runs through here again, connected and set up). */
		sp->need_setup = false;
		if (!sp->readonly && store_pg_migrate(sp) != 0) {
			sp->need_setup = true;
			return (false);
		}
	}
	if (store_pg_prepare_all(sp) != 0)
		return (false);
	log_info("store: connected");
	return (true);
}

static struct store *
store_pg_open(const char *url, bool readonly, char *err, size_t errlen)
{
	struct store_pg	*sp;
	char		 safe[256];
	int		 version;

	sp = xcalloc(1, sizeof(*sp));
	sp->base.ops = &store_pg_ops;
	sp->readonly = readonly;
	sp->url = xstrdup(url);
	store_pg_safe_url(url, safe, sizeof(safe));
	sp->conn = store_pg_connect(url, "5");
	if (sp->conn == NULL)
		FATAL("out of memory");
	if (PQstatus(sp->conn) != CONNECTION_OK) {
		store_pg_fail(sp, "store unreachable");
		if (readonly)
			goto fail;
		/*
		 * A writer (the daemon) starts anyway: mail must not wait for
		 * the database. Records go to the spool, look-ups find the
		 * grants and bans empty until it answers; then the schema is
		 * migrated and everything flows (store_pg_ready()).
		 */
		log_warn("store: %s: %s (trying again every second)", safe,
		    sp->errmsg);
		sp->need_setup = true;
		sp->next_reset_us = store_pg_mono_us() + STORE_PG_RESET_US;
		return (&sp->base);
	}
	if (readonly) {
		if (store_pg_version(sp, &version) != 0)
			goto fail;
		if (version != STORE_PG_VERSION) {
			snprintf(sp->errmsg, sizeof(sp->errmsg), version == 0 ?
			    "no attack log here (schema version %d)" :
			    "schema version %d, this pillory reads %d (start "
			    "the daemon to migrate)", version,
			    STORE_PG_VERSION);
			goto fail;
		}
	} else if (store_pg_migrate(sp) != 0)
		goto fail;
	if (store_pg_prepare_all(sp) != 0)
		goto fail;
	return (&sp->base);
fail:
	snprintf(err, errlen, "%s: %s", safe, sp->errmsg);
	store_pg_close(&sp->base);
	return (NULL);
}

static const char *
store_pg_errmsg(struct store *st)
{
	return (store_pg(st)->errmsg);
}

static int
store_pg_add_day(struct store_pg *sp, int which, int64_t t_us, int kind)
{
	char		 day[STORE_DAY_MAX];
	struct pg_num	 k;
	const char	*v[3];

	store_day_of(t_us, day);
	v[0] = day;
	v[1] = pg_i64(&k, kind);
	v[2] = "1";
	return (store_pg_do(sp, which, NULL, 3, v));
}

void
store_pg_read_incident(const PGresult *res, int row,
    struct store_incident *in)
{
	memset(in, 0, sizeof(*in));
	in->id = store_pg_get_i64(res, row, 0);
	store_pg_get_text(res, row, 1, in->client_ip, sizeof(in->client_ip));
	store_pg_get_text(res, row, 2, in->client_name, sizeof(in->client_name));
	in->first_us = store_pg_get_i64(res, row, 3);
	in->last_us = store_pg_get_i64(res, row, 4);
	in->count = (uint64_t)store_pg_get_i64(res, row, 5);
	in->kinds = (uint32_t)store_pg_get_i64(res, row, 6);
	store_pg_get_text(res, row, 7, in->senders, sizeof(in->senders));
	in->targeted = store_pg_get_i64(res, row, 8) != 0;
}

static int
store_pg_purge(struct store *st, int64_t before_us, uint64_t *deleted_out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 b;
	const char	*v[1];
	PGresult	*res;

	if (deleted_out != NULL)
		*deleted_out = 0;
	if (sp->readonly)
		return (store_pg_fail_msg(sp, "store is read-only"));
	v[0] = pg_i64(&b, before_us);
	if ((res = store_pg_run(sp, -1, "DELETE FROM attacks WHERE "
	    "time_us < $1", 1, v)) == NULL)
		return (-1);
	if (deleted_out != NULL)
		*deleted_out = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (store_pg_do(sp, -1, "DELETE FROM incidents WHERE last_us < $1", 1,
	    v) != 0 ||
	    store_pg_do(sp, -1, "DELETE FROM logins WHERE last_us < $1", 1,
	    v) != 0)
		return (-1);
	return (0);
}

static int
store_pg_login(struct store *st, const char *key, int64_t time_us,
    int64_t window_us, uint64_t *withdrawn_out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 t, a, b, id;
	const char	*v[3];
	char		 ip[IPADDR_TEXT_MAX], rkey[IPADDR_TEXT_MAX + 4];
	PGresult	*res = NULL;
	uint64_t	 withdrawn = 0;
	int		 row;

	if (withdrawn_out != NULL)
		*withdrawn_out = 0;
	if (sp->readonly)
		return (store_pg_fail_msg(sp, "store is read-only"));
	if (store_pg_do(sp, -1, "BEGIN", 0, NULL) != 0)
		return (-1);
	v[0] = key;
	v[1] = pg_i64(&t, time_us);
	if (store_pg_do(sp, -1, "INSERT INTO logins (network, last_us) "
	    "VALUES ($1, $2) ON CONFLICT (network) DO UPDATE SET last_us = "
	    "GREATEST(logins.last_us, excluded.last_us)", 2, v) != 0)
		goto fail;
	if (window_us > 0) {
		v[0] = pg_i64(&a, time_us - window_us);
		v[1] = pg_i64(&b, time_us + window_us);
		if ((res = store_pg_run(sp, -1, "SELECT id, time_us, kind, "
		    "client_ip FROM attacks WHERE time_us >= $1 AND "
		    "time_us <= $2 AND withdrawn = 0", 2, v)) == NULL)
			goto fail;
		for (row = 0; row < PQntuples(res); row++) {
			store_pg_get_text(res, row, 3, ip, sizeof(ip));
			if (!attack_login_key(ip, rkey, sizeof(rkey)) ||
			    strcmp(rkey, key) != 0)
				continue;
			v[0] = pg_i64(&id, store_pg_get_i64(res, row, 0));
			if (store_pg_do(sp, -1, "UPDATE attacks SET "
			    "withdrawn = 1 WHERE id = $1", 1, v) != 0 ||
			    store_pg_add_day(sp, PG_ADD_WITHDRAWN_DAY,
			    store_pg_get_i64(res, row, 1),
			    (int)store_pg_get_i64(res, row, 2)) != 0)
				goto fail;
			withdrawn++;
		}
		PQclear(res);
		res = NULL;
	}
	if (store_pg_do(sp, -1, "COMMIT", 0, NULL) != 0)
		goto fail;
	if (withdrawn_out != NULL)
		*withdrawn_out = withdrawn;
	return (0);
fail:
	PQclear(res);
	(void)store_pg_script(sp, "ROLLBACK");
	return (-1);
}

/* Tell every host's view that grants or bans changed. */
static void
store_pg_notify(struct store_pg *sp)
{
	(void)store_pg_do(sp, -1, "NOTIFY " STORE_PG_CHANNEL, 0, NULL);
}

static int
store_pg_grant_put(struct store *st, const char *network, const char *user,
    int64_t expires_us)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 e, old;
	const char	*v[3];

	/* The engine's handle never waits on the network: the view takes
	 * the grant now, its thread stores it (store.h, generation). */
	if (sp->view != NULL && !sp->readonly) {
		store_pg_view_queue_grant(sp->view, network, user, expires_us);
		return (0);
	}
	v[0] = network;
	v[1] = user;
	v[2] = pg_i64(&e, expires_us);
	if (store_pg_do(sp, -1, "INSERT INTO grants (network, login_user, "
	    "expires_us) VALUES ($1, $2, $3) ON CONFLICT (network) DO UPDATE "
	    "SET login_user = excluded.login_user, expires_us = "
	    "excluded.expires_us", 3, v) != 0)
		return (-1);
	store_pg_view_grant_set(sp->view, network, user, expires_us);
	store_pg_notify(sp);
	/* Expired grants are dead weight: sweep them now and then. */
	v[0] = pg_i64(&old, expires_us - 86400LL * 1000000);
	(void)store_pg_do(sp, -1, "DELETE FROM grants WHERE expires_us < $1",
	    1, v);
	return (0);
}

static int
store_pg_grant_get(struct store *st, const char *network, int64_t now_us,
    char *user_out, size_t userlen, int64_t *expires_out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 n;
	const char	*v[2];
	PGresult	*res;
	int		 rc = 1;

	if (sp->view != NULL) {
		struct pg_grant	 key, *g;
		bool		 synced;

		memset(&key, 0, sizeof(key));
		(void)text_copy(key.network, network, sizeof(key.network));
		pthread_mutex_lock(&sp->view->mu);
		synced = sp->view->synced;
		g = sp->view->ngrants == 0 ? NULL : bsearch(&key,
		    sp->view->grants, sp->view->ngrants, sizeof(*g),
		    store_pg_view_grant_cmp);
		if (g != NULL && g->expires_us > now_us) {
			(void)text_copy(user_out, g->user, userlen);
			if (expires_out != NULL)
				*expires_out = g->expires_us;
		}
		pthread_mutex_unlock(&sp->view->mu);
		/* Before the first load: no proof, no relay, and no wait. */
		return (synced && g != NULL && g->expires_us > now_us ? 0 : 1);
	}
	v[0] = network;
	v[1] = pg_i64(&n, now_us);
	if ((res = store_pg_run(sp, PG_GRANT_GET, NULL, 2, v)) == NULL)
		return (sp->view != NULL ? 1 : -1);	/* as for bans */
	if (PQntuples(res) > 0) {
		store_pg_get_text(res, 0, 0, user_out, userlen);
		if (expires_out != NULL)
			*expires_out = store_pg_get_i64(res, 0, 1);
		rc = 0;
	}
	PQclear(res);
	return (rc);
}

static int
store_pg_grant_revoke(struct store *st, const char *network,
    uint64_t *deleted_out)
{
	struct store_pg	*sp = store_pg(st);
	const char	*v[1] = { network };
	PGresult	*res;

	if ((res = store_pg_run(sp, -1, "DELETE FROM grants WHERE "
	    "network = $1", 1, v)) == NULL)
		return (-1);
	*deleted_out = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	store_pg_view_grant_set(sp->view, network, "", 0);
	store_pg_notify(sp);
	return (0);
}

/* 0 when key is new and now remembered, 1 when it was there (store.h). */
static int
store_pg_import_mark(struct store *st, const char *key)
{
	struct store_pg	*sp = store_pg(st);
	const char	*v[1] = { key };
	PGresult	*res;
	int		 rc;

	if ((res = store_pg_run(sp, -1, "INSERT INTO imported (key) VALUES "
	    "($1) ON CONFLICT (key) DO NOTHING", 1, v)) == NULL)
		return (-1);
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : 1;
	PQclear(res);
	return (rc);
}

static int
store_pg_grant_list(struct store *st, int64_t now_us, store_grant_cb cb,
    void *arg)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 n;
	const char	*v[1];
	PGresult	*res;
	int		 row;

	v[0] = pg_i64(&n, now_us);
	if ((res = store_pg_run(sp, -1, "SELECT network, login_user, "
	    "expires_us FROM grants WHERE expires_us > $1 ORDER BY "
	    "expires_us", 1, v)) == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res); row++) {
		if (cb(PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
		    store_pg_get_i64(res, row, 2), arg) != 0)
			break;
	}
	PQclear(res);
	return (0);
}

static int
store_pg_ban_put(struct store *st, const struct ban_entry *e, size_t n,
    int64_t keep_us)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 s, x, l, k;
	char		 net[BAN_NET_TEXT_MAX];
	const char	*v[5];
	size_t		 i;

	if (n == 0)
		return (0);
	if (sp->view != NULL && !sp->readonly) {
		store_pg_view_queue_bans(sp->view, e, n, keep_us);
		return (0);
	}
	if (store_pg_do(sp, -1, "BEGIN", 0, NULL) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if (!ban_net_format(&e[i].net, net, sizeof(net)))
			continue;
		v[0] = net;
		v[1] = pg_i64(&s, e[i].start_us);
		v[2] = pg_i64(&x, e[i].expires_us);
		v[3] = pg_i64(&l, e[i].level);
		v[4] = e[i].manual ? "1" : "0";
		if (store_pg_do(sp, -1, "INSERT INTO bans (network, start_us, "
		    "expires_us, level, manual) VALUES ($1, $2, $3, $4, $5) "
		    "ON CONFLICT (network) DO UPDATE SET start_us = "
		    "excluded.start_us, expires_us = excluded.expires_us, "
		    "level = excluded.level, manual = excluded.manual", 5,
		    v) != 0)
			goto fail;
	}
	v[0] = pg_i64(&k, e[0].start_us - keep_us);
	/* NOTIFY in the transaction: delivered at COMMIT, never before. */
	if (store_pg_do(sp, -1, "DELETE FROM bans WHERE expires_us < $1", 1,
	    v) != 0 || store_pg_do(sp, -1, "NOTIFY " STORE_PG_CHANNEL, 0,
	    NULL) != 0 || store_pg_do(sp, -1, "COMMIT", 0, NULL) != 0)
		goto fail;
	return (0);
fail:
	(void)store_pg_script(sp, "ROLLBACK");
	return (-1);
}

static int
store_pg_ban_delete(struct store *st, const struct ban_net *net,
    uint64_t *deleted_out)
{
	struct store_pg	*sp = store_pg(st);
	char		 text[BAN_NET_TEXT_MAX];
	const char	*v[1] = { text };
	PGresult	*res;

	if (!ban_net_format(net, text, sizeof(text)))
		return (store_pg_fail_msg(sp, "ban delete: bad network"));
	if ((res = store_pg_run(sp, -1, "DELETE FROM bans WHERE network = $1",
	    1, v)) == NULL)
		return (-1);
	*deleted_out = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	store_pg_notify(sp);
	return (0);
}

static int
store_pg_ban_list(struct store *st, int64_t since_us, store_ban_cb cb,
    void *arg)
{
	struct store_pg		*sp = store_pg(st);
	struct ban_entry	 e;
	struct pg_num		 n;
	const char		*v[1], *why;
	PGresult		*res;
	int			 row;

	if (sp->view != NULL) {
		struct ban_entry	*copy = NULL;
		size_t			 i, nb = 0;
		bool			 synced;

		pthread_mutex_lock(&sp->view->mu);
		synced = sp->view->synced;
		if (synced && sp->view->nbans > 0) {
			copy = xcalloc(sp->view->nbans, sizeof(*copy));
			for (i = 0; i < sp->view->nbans; i++) {
				if (sp->view->bans[i].expires_us > since_us)
					copy[nb++] = sp->view->bans[i];
			}
		}
		pthread_mutex_unlock(&sp->view->mu);
		/* Before the first load the last known state is no bans;
		 * the load announces itself (on_shared). */
		for (i = 0; i < nb; i++) {
			if (cb(&copy[i], arg) != 0)
				break;
		}
		free(copy);
		return (0);
	}
	v[0] = pg_i64(&n, since_us);
	if ((res = store_pg_run(sp, -1, "SELECT network, start_us, "
	    "expires_us, level, manual FROM bans WHERE expires_us > $1 "
	    "ORDER BY network", 1, v)) == NULL)
		/* The engine's view before its first load: the last known
		 * state is no bans, and the view fills in when it can. */
		return (sp->view != NULL ? 0 : -1);
	for (row = 0; row < PQntuples(res); row++) {
		memset(&e, 0, sizeof(e));
		/* A row another writer botched is skipped, not trusted. */
		if (!ban_net_parse(PQgetvalue(res, row, 0), &e.net, &why))
			continue;
		e.start_us = store_pg_get_i64(res, row, 1);
		e.expires_us = store_pg_get_i64(res, row, 2);
		e.level = (uint32_t)store_pg_get_i64(res, row, 3);
		e.manual = store_pg_get_i64(res, row, 4) != 0;
		if (cb(&e, arg) != 0)
			break;
	}
	PQclear(res);
	return (0);
}

static bool
store_pg_lead(struct store *st)
{
	struct store_pg	*sp = store_pg(st);
	PGresult	*res;

	if (sp->leading && PQstatus(sp->conn) == CONNECTION_OK)
		return (true);
	sp->leading = false;
	if ((res = store_pg_run(sp, -1, "SELECT pg_try_advisory_lock("
	    STORE_PG_PAGE_LOCK ")", 0, NULL)) == NULL)
		return (false);
	sp->leading = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (sp->leading)
		log_info("publish: this host writes the page");
	return (sp->leading);
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.open = store_pg_open,
	.close = store_pg_close,
	.errmsg = store_pg_errmsg,
	.insert_batch = store_pg_insert_batch,
	.purge = store_pg_purge,
	.query = store_pg_query,
	.totals = store_pg_totals,
	.daily = store_pg_daily,
	.top = store_pg_top,
	.incidents = store_pg_incidents,
	.incident_get = store_pg_incident_get,
	.grant_put = store_pg_grant_put,
	.grant_get = store_pg_grant_get,
	.grant_revoke = store_pg_grant_revoke,
	.import_mark = store_pg_import_mark,
	.grant_list = store_pg_grant_list,
	.login = store_pg_login,
	.ban_put = store_pg_ban_put,
	.ban_delete = store_pg_ban_delete,
	.ban_list = store_pg_ban_list,
	.generation = store_pg_generation,
	.lead = store_pg_lead,
	.on_records = store_pg_on_records,
	.on_shared = store_pg_on_shared,
};
