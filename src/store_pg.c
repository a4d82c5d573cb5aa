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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "attack.h"
#include "ban.h"
#include "emit.h"
#include "log.h"
#include "store.h"
#include "text.h"
#include "xalloc.h"

/* Incidents a public handle looks at to find its newest public ones. */
#define STORE_PG_INCIDENT_SCAN	10000
/* Advisory lock key of the schema migration ("pill" in ASCII). */
#define STORE_PG_MIGRATE_LOCK	"1886958700"
/* Advisory lock key of the page writer ("pilp"). */
#define STORE_PG_PAGE_LOCK	"1886958704"
/* Advisory lock key of the incident writers ("pilt"). */
#define STORE_PG_INCIDENT_LOCK	"1886958708"

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
};
#define STORE_PG_VERSION \
	((int)(sizeof(store_pg_migrations) / sizeof(store_pg_migrations[0])))

#define PG_ATTACK_COLUMNS \
	"id, time_us, kind, client_ip, client_name, helo, mail_from, " \
	"rcpt_to, login_user, session, reply, port, withdrawn, node"

#define PG_INCIDENT_COLUMNS \
	"id, client_ip, client_name, first_us, last_us, count, kinds, " \
	"senders, targeted"

/* What a public handle reads of attacks; $1 is the kinds mask. */
#define PG_PUBLIC "withdrawn = 0 AND ((1::bigint << kind) & $1) <> 0"

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

/* The NOTIFY channel of grant and ban changes. */
#define STORE_PG_CHANNEL	"pillory_shared"
/* The NOTIFY channel of committed records (the page's trigger). */
#define STORE_PG_RECORDS	"pillory_records"
/* The view's listener reconnects this often while the store is down. */
#define STORE_PG_RETRY_MS	500

struct pg_grant {
	char		 network[IPADDR_TEXT_MAX + 8];
	char		 user[ADDRESS_MAX + 1];
	int64_t		 expires_us;
};

/*
 * The in-memory view of the shared grants and bans (store.h, generation):
 * a listener thread with its own connection LISTENs on STORE_PG_CHANNEL
 * and reloads both tables after each notification and after each
 * (re)connection, since NOTIFY is not durable. Look-ups read the arrays
 * under mu and never wait on the network.
 */
struct pg_view {
	char		*url;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	int		 wake[2];	/* pipe: closing the write end stops */
	/* Under mu: */
	bool		 synced;	/* loaded at least once */
	uint64_t	 gen;
	struct pg_grant	*grants;
	size_t		 ngrants;
	struct ban_entry *bans;
	size_t		 nbans;
	void		(*on_records)(void *);
	void		*on_records_arg;
};

struct store_pg {
	struct store	 base;		/* first: handles are struct store */
	PGconn		*conn;
	bool		 readonly;
	bool		 prepared;
	char		 errmsg[256];
	char		*url;
	struct pg_view	*view;		/* started by generation() */
	int64_t		 next_reset_us;	/* monotonic: next reconnection */
	bool		 leading;	/* holds STORE_PG_PAGE_LOCK */
	bool		 need_setup;	/* opened while unreachable */
};

/* A lost connection is retried at most this often. */
#define STORE_PG_RESET_US	(1000LL * 1000)

static bool store_pg_ready(struct store_pg *sp);

/* Decimal text of an integer parameter. */
struct pg_num {
	char	s[24];
};

static const char *
pg_i64(struct pg_num *n, int64_t v)
{
	snprintf(n->s, sizeof(n->s), "%" PRId64, v);
	return (n->s);
}

static struct store_pg *
store_pg(struct store *st)
{
	return ((struct store_pg *)st);
}

static int
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

static int
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
static PGresult *
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
static int
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
static int
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

static int64_t
pg_get_i64(const PGresult *res, int row, int col)
{
	const char	*s = PQgetvalue(res, row, col);

	return (s != NULL ? strtoll(s, NULL, 10) : 0);
}

static void
pg_get_text(const PGresult *res, int row, int col, char *out, size_t outlen)
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
	*version_out = (int)pg_get_i64(res, 0, 0);
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

static void store_pg_view_stop(struct pg_view *v);
static PGconn *store_pg_connect(const char *url, const char *timeout);

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

static int64_t
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

/* UTC day of t_us as YYYY-MM-DD. */
static void
store_pg_day_of(int64_t t_us, char *out)
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

static int
store_pg_add_day(struct store_pg *sp, int which, int64_t t_us, int kind)
{
	char		 day[STORE_DAY_MAX];
	struct pg_num	 k;
	const char	*v[3];

	store_pg_day_of(t_us, day);
	v[0] = day;
	v[1] = pg_i64(&k, kind);
	v[2] = "1";
	return (store_pg_do(sp, which, NULL, 3, v));
}

static void
store_pg_read_incident(const PGresult *res, int row,
    struct store_incident *in)
{
	memset(in, 0, sizeof(*in));
	in->id = pg_get_i64(res, row, 0);
	pg_get_text(res, row, 1, in->client_ip, sizeof(in->client_ip));
	pg_get_text(res, row, 2, in->client_name, sizeof(in->client_name));
	in->first_us = pg_get_i64(res, row, 3);
	in->last_us = pg_get_i64(res, row, 4);
	in->count = (uint64_t)pg_get_i64(res, row, 5);
	in->kinds = (uint32_t)pg_get_i64(res, row, 6);
	pg_get_text(res, row, 7, in->senders, sizeof(in->senders));
	in->targeted = pg_get_i64(res, row, 8) != 0;
}

/* Sender list entry for rec, or NULL when its kind has no envelope. */
static const char *
store_pg_sender(const struct attack_record *rec)
{
	switch (rec->kind) {
	case ATTACK_RELAY:
	case ATTACK_SPOOFED_RELAY:
	case ATTACK_FORGED_LOCAL:
		return (rec->from);
	default:
		return (rec->from[0] != '\0' ? rec->from : NULL);
	}
}

/*
 * Batches. One insert batch is a handful of statements whatever its size:
 * the records go in as arrays (unnest), the incidents they touch are read
 * at once, folded in memory with attack_incident_joins() exactly as one
 * record after the other would, and written back as arrays.
 */

/* A growing text buffer for array literals. */
struct pg_buf {
	char	*p;
	size_t	 len, cap;
};

static void
pg_buf_add(struct pg_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * Append s as one element of an array literal: quoted, '"' and '\'
 * escaped, and valid UTF-8 (the database's encoding refuses anything
 * else): an invalid byte becomes U+FFFD. Attacker text never breaks a
 * batch.
 */
static void
pg_buf_elem(struct pg_buf *b, const char *s, bool first)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 n = strlen(s), i, vl;
	uint32_t		 cp;

	pg_buf_add(b, first ? "\"" : ",\"", first ? 1 : 2);
	for (i = 0; i < n; i += vl) {
		if (u[i] == '"' || u[i] == '\\') {
			pg_buf_add(b, "\\", 1);
			pg_buf_add(b, s + i, 1);
			vl = 1;
		} else if ((vl = emit_utf8_decode(u + i, n - i, &cp)) == 0) {
			pg_buf_add(b, "\xef\xbf\xbd", 3);
			vl = 1;
		} else
			pg_buf_add(b, s + i, vl);
	}
	pg_buf_add(b, "\"", 1);
}

static void
pg_buf_num(struct pg_buf *b, int64_t v, bool first)
{
	char	num[24];
	int	len;

	len = snprintf(num, sizeof(num), "%s%" PRId64, first ? "" : ",", v);
	pg_buf_add(b, num, (size_t)len);
}

/* Array literals, one per column of a statement. */
struct pg_cols {
	struct pg_buf	*c;
	size_t		 n;
	bool		 first;
};

static void
pg_cols_init(struct pg_cols *cols, size_t n)
{
	size_t	i;

	cols->c = xcalloc(n, sizeof(*cols->c));
	cols->n = n;
	cols->first = true;
	for (i = 0; i < n; i++)
		pg_buf_add(&cols->c[i], "{", 1);
}

static void
pg_cols_end(struct pg_cols *cols, const char **vals)
{
	size_t	i;

	for (i = 0; i < cols->n; i++) {
		pg_buf_add(&cols->c[i], "}", 1);
		vals[i] = cols->c[i].p;
	}
}

static void
pg_cols_free(struct pg_cols *cols)
{
	size_t	i;

	for (i = 0; i < cols->n; i++)
		free(cols->c[i].p);
	free(cols->c);
}

/* Per-batch state of one client address. */
struct pg_ipstate {
	const char		*ip;	/* points into the batch */
	bool			 have;	/* inc is an incident (read or new) */
	bool			 dirty;
	struct store_incident	 inc;	/* id 0: not in the table yet */
	int64_t			 login_us;	/* newest login; INT64_MIN */
	char			 key[IPADDR_TEXT_MAX + 4];
};

static int
pg_ipstate_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct pg_ipstate *)a)->ip,
	    ((const struct pg_ipstate *)b)->ip));
}

static struct pg_ipstate *
pg_ipstate_find(struct pg_ipstate *ips, size_t n, const char *ip)
{
	struct pg_ipstate	key;

	key.ip = ip;
	return (bsearch(&key, ips, n, sizeof(*ips), pg_ipstate_cmp));
}

static int
pg_cstr_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* Per-batch sum of one (day, kind). */
struct pg_daysum {
	char		 day[STORE_DAY_MAX];
	int		 kind;
	int64_t		 count;
};

static void
pg_daysum_add(struct pg_daysum *d, size_t *n, size_t max, int64_t t_us,
    int kind)
{
	char	day[STORE_DAY_MAX];
	size_t	i;

	store_pg_day_of(t_us, day);
	for (i = 0; i < *n; i++) {
		if (d[i].kind == kind && strcmp(d[i].day, day) == 0) {
			d[i].count++;
			return;
		}
	}
	if (*n == max)
		return;		/* cannot happen: max is the batch size */
	memcpy(d[*n].day, day, sizeof(day));
	d[*n].kind = kind;
	d[*n].count = 1;
	(*n)++;
}

static int
pg_daysum_write(struct store_pg *sp, const char *table,
    const struct pg_daysum *d, size_t n)
{
	struct pg_cols	 cols;
	const char	*vals[3];
	char		 sql[256];
	size_t		 i;
	int		 rc;

	if (n == 0)
		return (0);
	pg_cols_init(&cols, 3);
	for (i = 0; i < n; i++) {
		pg_buf_elem(&cols.c[0], d[i].day, i == 0);
		pg_buf_num(&cols.c[1], d[i].kind, i == 0);
		pg_buf_num(&cols.c[2], d[i].count, i == 0);
	}
	pg_cols_end(&cols, vals);
	(void)text_printf(sql, sizeof(sql), "INSERT INTO %s (day, kind, "
	    "count) SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) "
	    "ON CONFLICT (day, kind) DO UPDATE SET count = %s.count + "
	    "excluded.count", table, table);
	rc = store_pg_do(sp, -1, sql, 3, vals);
	pg_cols_free(&cols);
	return (rc);
}

/* Newest login of each address's key (the withdraw window's test). */
static int
pg_batch_logins(struct store_pg *sp, struct pg_ipstate *ips, size_t nips)
{
	struct pg_cols	 cols;
	const char	*vals[1];
	char		 key[IPADDR_TEXT_MAX + 4];
	PGresult	*res;
	size_t		 i, k = 0;
	int		 row;

	pg_cols_init(&cols, 1);
	for (i = 0; i < nips; i++) {
		ips[i].login_us = INT64_MIN;
		if (attack_login_key(ips[i].ip, ips[i].key,
		    sizeof(ips[i].key)))
			pg_buf_elem(&cols.c[0], ips[i].key, k++ == 0);
	}
	pg_cols_end(&cols, vals);
	res = k == 0 ? NULL : store_pg_run(sp, -1, "SELECT network, last_us "
	    "FROM logins WHERE network = ANY($1::text[])", 1, vals);
	pg_cols_free(&cols);
	if (k == 0)
		return (0);
	if (res == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res); row++) {
		pg_get_text(res, row, 0, key, sizeof(key));
		for (i = 0; i < nips; i++) {
			if (strcmp(ips[i].key, key) == 0)
				ips[i].login_us = pg_get_i64(res, row, 1);
		}
	}
	PQclear(res);
	return (0);
}

/* The newest incident of each address, read at once. */
static int
pg_batch_incidents(struct store_pg *sp, struct pg_ipstate *ips, size_t nips)
{
	struct pg_cols		 cols;
	struct store_incident	 in;
	struct pg_ipstate	*st;
	const char		*vals[1];
	PGresult		*res;
	size_t			 i;
	int			 row;

	pg_cols_init(&cols, 1);
	for (i = 0; i < nips; i++)
		pg_buf_elem(&cols.c[0], ips[i].ip, i == 0);
	pg_cols_end(&cols, vals);
	res = store_pg_run(sp, -1, "SELECT DISTINCT ON (client_ip) "
	    PG_INCIDENT_COLUMNS " FROM incidents WHERE client_ip = "
	    "ANY($1::text[]) ORDER BY client_ip, last_us DESC, id DESC", 1,
	    vals);
	pg_cols_free(&cols);
	if (res == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res); row++) {
		store_pg_read_incident(res, row, &in);
		if ((st = pg_ipstate_find(ips, nips, in.client_ip)) != NULL) {
			st->inc = in;
			st->have = true;
		}
	}
	PQclear(res);
	return (0);
}

/* Queue st's incident for writing: updates and inserts apart. */
static void
pg_incident_out(const struct pg_ipstate *st, struct pg_cols *upd,
    struct pg_cols *ins, size_t *nupd, size_t *nins)
{
	const struct store_incident	*in = &st->inc;
	struct pg_cols			*c = in->id > 0 ? upd : ins;
	bool				 first = (in->id > 0 ? *nupd : *nins)
					    == 0;

	if (in->id > 0)
		pg_buf_num(&c->c[0], in->id, first);
	else
		pg_buf_elem(&c->c[0], st->ip, first);
	pg_buf_elem(&c->c[1], in->client_name, first);
	pg_buf_num(&c->c[2], in->first_us, first);
	pg_buf_num(&c->c[3], in->last_us, first);
	pg_buf_num(&c->c[4], (int64_t)in->count, first);
	pg_buf_num(&c->c[5], in->kinds, first);
	pg_buf_elem(&c->c[6], in->senders, first);
	pg_buf_num(&c->c[7], in->targeted ? 1 : 0, first);
	if (in->id > 0)
		(*nupd)++;
	else
		(*nins)++;
}

static int
store_pg_insert_batch(struct store *st, const struct attack_record *recs,
    size_t n)
{
	struct store_pg		*sp = store_pg(st);
	struct pg_ipstate	*ips = NULL, *ps;
	struct pg_daysum	*days = NULL, *wdays = NULL;
	struct pg_cols		 a, upd, ins;
	const char		*av[14], *uv[8], *iv[8], **fresh = NULL;
	char			(*uids)[ATTACK_UID_MAX] = NULL;
	bool			*withdrawn = NULL;
	PGresult		*res = NULL;
	size_t			 i, nips = 0, nfresh = 0, ndays = 0, nwdays = 0;
	size_t			 nupd = 0, nins = 0;
	int64_t			 w = sp->base.withdraw_window_us;
	const char		*sender, *uid, *cp;
	int			 row, ret = -1;
	bool			 open_cols = false;

	if (sp->readonly)
		return (store_pg_fail_msg(sp, "store is read-only"));
	if (n == 0)
		return (0);
	/* Every record needs a uid to be told apart in RETURNING. */
	uids = xcalloc(n, sizeof(*uids));
	for (i = 0; i < n; i++) {
		if (recs[i].uid[0] != '\0')
			(void)text_copy(uids[i], recs[i].uid, sizeof(uids[i]));
		else
			(void)text_printf(uids[i], sizeof(uids[i]),
			    "%s:batch:%" PRId64 ":%d:%zu", recs[i].node,
			    store_pg_mono_us(), (int)getpid(), i);
	}
	/* The batch's addresses, sorted and distinct. */
	ips = xcalloc(n, sizeof(*ips));
	for (i = 0; i < n; i++)
		ips[i].ip = recs[i].client_ip;
	qsort(ips, n, sizeof(*ips), pg_ipstate_cmp);
	for (i = 0; i < n; i++) {
		if (nips == 0 || strcmp(ips[nips - 1].ip, ips[i].ip) != 0)
			ips[nips++] = ips[i];
	}

	/*
	 * Incidents join records from every node: one writer at a time
	 * folds its batch into them, or two hosts would each start an
	 * incident for the same burst. The lock ends with the transaction.
	 */
	if (store_pg_do(sp, -1, "BEGIN", 0, NULL) != 0)
		goto done;
	if (store_pg_do(sp, -1, "SELECT pg_advisory_xact_lock("
	    STORE_PG_INCIDENT_LOCK ")", 0, NULL) != 0)
		goto fail;
	if (w > 0 && pg_batch_logins(sp, ips, nips) != 0)
		goto fail;

	withdrawn = xcalloc(n, sizeof(*withdrawn));
	pg_cols_init(&a, 14);
	open_cols = true;
	for (i = 0; i < n; i++) {
		const struct attack_record *r = &recs[i];

		ps = pg_ipstate_find(ips, nips, r->client_ip);
		withdrawn[i] = r->withdrawn || (w > 0 && ps != NULL &&
		    ps->login_us != INT64_MIN &&
		    ps->login_us >= r->time_us - w &&
		    ps->login_us <= r->time_us + w);
		pg_buf_num(&a.c[0], r->time_us, i == 0);
		pg_buf_num(&a.c[1], (int64_t)r->kind, i == 0);
		pg_buf_elem(&a.c[2], r->client_ip, i == 0);
		pg_buf_elem(&a.c[3], r->client_name, i == 0);
		pg_buf_elem(&a.c[4], r->helo, i == 0);
		pg_buf_elem(&a.c[5], r->from, i == 0);
		pg_buf_elem(&a.c[6], r->to, i == 0);
		pg_buf_elem(&a.c[7], r->user, i == 0);
		pg_buf_elem(&a.c[8], r->session, i == 0);
		pg_buf_elem(&a.c[9], r->reply, i == 0);
		pg_buf_num(&a.c[10], r->port, i == 0);
		pg_buf_num(&a.c[11], withdrawn[i] ? 1 : 0, i == 0);
		pg_buf_elem(&a.c[12], r->node, i == 0);
		pg_buf_elem(&a.c[13], uids[i], i == 0);
	}
	pg_cols_end(&a, av);
	if ((res = store_pg_run(sp, -1, "INSERT INTO attacks (time_us, kind, "
	    "client_ip, client_name, helo, mail_from, rcpt_to, login_user, "
	    "session, reply, port, withdrawn, node, uid) SELECT * FROM "
	    "unnest($1::bigint[], $2::int[], $3::text[], $4::text[], "
	    "$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
	    "$10::text[], $11::int[], $12::int[], $13::text[], $14::text[]) "
	    "ON CONFLICT (uid) DO NOTHING RETURNING uid", 14, av)) == NULL)
		goto fail;
	/* What RETURNING names is new; a uid seen before is a replay. */
	fresh = xcalloc((size_t)PQntuples(res) + 1, sizeof(*fresh));
	for (row = 0; row < PQntuples(res); row++)
		fresh[nfresh++] = PQgetvalue(res, row, 0);
	qsort(fresh, nfresh, sizeof(*fresh), pg_cstr_cmp);
	if (nfresh > 0 && pg_batch_incidents(sp, ips, nips) != 0)
		goto fail;

	days = xcalloc(n, sizeof(*days));
	wdays = xcalloc(n, sizeof(*wdays));
	for (i = 0; i < n; i++) {
		const struct attack_record *r = &recs[i];
		struct store_incident *in;

		uid = uids[i];
		cp = uid;
		if (bsearch(&cp, fresh, nfresh, sizeof(*fresh),
		    pg_cstr_cmp) == NULL)
			continue;
		pg_daysum_add(days, &ndays, n, r->time_us, (int)r->kind);
		if (withdrawn[i])
			pg_daysum_add(wdays, &nwdays, n, r->time_us,
			    (int)r->kind);
		ps = pg_ipstate_find(ips, nips, r->client_ip);
		in = &ps->inc;
		if (ps->have && attack_incident_joins(in->first_us,
		    in->last_us, r->time_us)) {
			if (r->time_us < in->first_us)
				in->first_us = r->time_us;
			if (r->time_us > in->last_us)
				in->last_us = r->time_us;
			in->count++;
			if (strcmp(in->client_name, "unknown") == 0 &&
			    r->client_name[0] != '\0')
				(void)text_copy(in->client_name,
				    r->client_name, sizeof(in->client_name));
		} else {
			/* A new incident; the one before is done. */
			if (ps->have && ps->dirty) {
				if (nupd + nins == 0) {
					pg_cols_init(&upd, 8);
					pg_cols_init(&ins, 8);
				}
				pg_incident_out(ps, &upd, &ins, &nupd, &nins);
			}
			memset(in, 0, sizeof(*in));
			(void)text_copy(in->client_name, r->client_name,
			    sizeof(in->client_name));
			in->first_us = in->last_us = r->time_us;
			in->count = 1;
			ps->have = true;
		}
		ps->dirty = true;
		in->kinds |= ATTACK_KIND_BIT(r->kind);
		in->targeted = in->targeted ||
		    attack_kind_is_targeted(r->kind);
		sender = r->from;
		if (r->kind == ATTACK_RELAY || r->kind == ATTACK_SPOOFED_RELAY ||
		    r->kind == ATTACK_FORGED_LOCAL || r->from[0] != '\0')
			(void)attack_senders_add(in->senders,
			    sizeof(in->senders), sender);
	}
	for (i = 0; i < nips; i++) {
		if (!ips[i].dirty)
			continue;
		if (nupd + nins == 0) {
			pg_cols_init(&upd, 8);
			pg_cols_init(&ins, 8);
		}
		pg_incident_out(&ips[i], &upd, &ins, &nupd, &nins);
	}
	if (nupd + nins > 0) {
		pg_cols_end(&upd, uv);
		pg_cols_end(&ins, iv);
		if ((nupd > 0 && store_pg_do(sp, -1, "UPDATE incidents SET "
		    "client_name = u.cn, first_us = u.f, last_us = u.l, "
		    "count = u.c, kinds = u.k, senders = u.s, targeted = u.t "
		    "FROM unnest($1::bigint[], $2::text[], $3::bigint[], "
		    "$4::bigint[], $5::bigint[], $6::bigint[], $7::text[], "
		    "$8::int[]) AS u(id, cn, f, l, c, k, s, t) "
		    "WHERE incidents.id = u.id", 8, uv) != 0) ||
		    (nins > 0 && store_pg_do(sp, -1, "INSERT INTO incidents "
		    "(client_ip, client_name, first_us, last_us, count, kinds, "
		    "senders, targeted) SELECT * FROM unnest($1::text[], "
		    "$2::text[], $3::bigint[], $4::bigint[], $5::bigint[], "
		    "$6::bigint[], $7::text[], $8::int[]) "
		    "ORDER BY 3", 8, iv) != 0)) {
			pg_cols_free(&upd);
			pg_cols_free(&ins);
			goto fail;
		}
		pg_cols_free(&upd);
		pg_cols_free(&ins);
	}
	/* Every host's page writer learns of them at COMMIT. */
	if (pg_daysum_write(sp, "daily_counts", days, ndays) != 0 ||
	    pg_daysum_write(sp, "daily_withdrawn", wdays, nwdays) != 0 ||
	    (nfresh > 0 && store_pg_do(sp, -1, "NOTIFY " STORE_PG_RECORDS, 0,
	    NULL) != 0) ||
	    store_pg_do(sp, -1, "COMMIT", 0, NULL) != 0)
		goto fail;
	ret = 0;
	goto done;
fail:
	{
		char	msg[sizeof(sp->errmsg)];

		memcpy(msg, sp->errmsg, sizeof(msg));
		(void)store_pg_script(sp, "ROLLBACK");
		memcpy(sp->errmsg, msg, sizeof(msg));
	}
done:
	if (open_cols)
		pg_cols_free(&a);
	PQclear(res);
	free(fresh);
	free(days);
	free(wdays);
	free(withdrawn);
	free(ips);
	free(uids);
	return (ret);
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

static void
store_pg_read_record(const PGresult *res, int row, struct attack_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->time_us = pg_get_i64(res, row, 1);
	rec->kind = (enum attack_kind)pg_get_i64(res, row, 2);
	pg_get_text(res, row, 3, rec->client_ip, sizeof(rec->client_ip));
	pg_get_text(res, row, 4, rec->client_name, sizeof(rec->client_name));
	pg_get_text(res, row, 5, rec->helo, sizeof(rec->helo));
	pg_get_text(res, row, 6, rec->from, sizeof(rec->from));
	pg_get_text(res, row, 7, rec->to, sizeof(rec->to));
	pg_get_text(res, row, 8, rec->user, sizeof(rec->user));
	pg_get_text(res, row, 9, rec->session, sizeof(rec->session));
	pg_get_text(res, row, 10, rec->reply, sizeof(rec->reply));
	rec->port = (int)pg_get_i64(res, row, 11);
	rec->withdrawn = pg_get_i64(res, row, 12) != 0;
	pg_get_text(res, row, 13, rec->node, sizeof(rec->node));
}

/* Append " AND cond" (or " WHERE cond") with the next parameter number. */
static bool
pg_where(char *sql, size_t len, const char **and, const char *cond, int *np)
{
	char	frag[128];

	(*np)++;
	if (!text_printf(frag, sizeof(frag), "%s%s $%d", *and, cond, *np))
		return (false);
	*and = " AND ";
	return (text_append(sql, frag, len));
}

static int
store_pg_query(struct store *st, const struct store_query *q,
    store_record_cb cb, void *arg)
{
	struct store_pg		*sp = store_pg(st);
	struct attack_record	 rec;
	struct pg_num		 num[5];
	const char		*v[6], *and = " WHERE ";
	char			 sql[1024], inner[1024];
	PGresult		*res;
	int			 np = 0, i, rows, ret = 0;
	bool			 fits = true;

	fits &= text_copy(sql, "SELECT " PG_ATTACK_COLUMNS " FROM attacks",
	    sizeof(sql));
	if (st->filter.active) {
		v[np] = pg_i64(&num[0], st->filter.kinds);
		np++;
		fits &= text_append(sql, " WHERE " PG_PUBLIC, sizeof(sql));
		and = " AND ";
	}
	if (q->kind >= 0) {
		v[np] = pg_i64(&num[1], q->kind);
		fits &= pg_where(sql, sizeof(sql), &and, "kind =", &np);
	}
	if (q->client_ip != NULL) {
		v[np] = q->client_ip;
		fits &= pg_where(sql, sizeof(sql), &and, "client_ip =", &np);
	}
	if (q->since_us != 0) {
		v[np] = pg_i64(&num[2], q->since_us);
		fits &= pg_where(sql, sizeof(sql), &and, "time_us >=", &np);
	}
	if (q->until_us != 0) {
		v[np] = pg_i64(&num[3], q->until_us);
		fits &= pg_where(sql, sizeof(sql), &and, "time_us <", &np);
	}
	if (q->limit > 0) {
		v[np] = pg_i64(&num[4], q->limit > INT64_MAX ? INT64_MAX :
		    (int64_t)q->limit);
		np++;
		fits &= text_copy(inner, sql, sizeof(inner));
		fits &= text_printf(sql, sizeof(sql), "SELECT * FROM (%s "
		    "ORDER BY time_us DESC, id DESC LIMIT $%d) AS newest "
		    "ORDER BY time_us, id", inner, np);
	} else
		fits &= text_append(sql, " ORDER BY time_us, id", sizeof(sql));
	if (!fits)
		FATAL("query text does not fit");
	if ((res = store_pg_run(sp, -1, sql, np, v)) == NULL)
		return (-1);
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		store_pg_read_record(res, i, &rec);
		if ((ret = cb(&rec, arg)) != 0)
			break;
	}
	PQclear(res);
	return (ret);
}

static int
store_pg_totals(struct store *st, struct store_totals *out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 m;
	const char	*v[1];
	PGresult	*res;
	int		 i, kind;
	int64_t		 n;

	memset(out, 0, sizeof(*out));
	if ((res = store_pg_run(sp, -1, "SELECT kind, -SUM(count), 1 "
	    "FROM daily_withdrawn GROUP BY kind UNION ALL "
	    "SELECT kind, SUM(count), 0 FROM daily_counts GROUP BY kind", 0,
	    NULL)) == NULL)
		return (-1);
	for (i = 0; i < PQntuples(res); i++) {
		kind = (int)pg_get_i64(res, i, 0);
		n = pg_get_i64(res, i, 1);
		if (!st->filter.active) {
			if (pg_get_i64(res, i, 2) != 0) {
				out->withdrawn += (uint64_t)-n;
				continue;
			}
		} else if ((ATTACK_KIND_BIT(kind) & st->filter.kinds) == 0)
			continue;
		out->total += (uint64_t)n;
		if (kind >= 0 && kind < ATTACK_KIND_COUNT)
			out->by_kind[kind] += (uint64_t)n;
	}
	PQclear(res);
	v[0] = pg_i64(&m, st->filter.kinds);
	if ((res = store_pg_run(sp, -1, st->filter.active ?
	    "SELECT COUNT(*) FROM incidents i WHERE EXISTS (SELECT 1 FROM "
	    "attacks WHERE client_ip = i.client_ip AND time_us >= i.first_us "
	    "AND time_us <= i.last_us AND " PG_PUBLIC ")" :
	    "SELECT COUNT(*) FROM incidents", st->filter.active ? 1 : 0,
	    v)) == NULL)
		return (-1);
	out->incidents = (uint64_t)pg_get_i64(res, 0, 0);
	PQclear(res);
	return (0);
}

static int
store_pg_daily(struct store *st, int64_t now_us, size_t ndays,
    struct store_day *out)
{
	struct store_pg	*sp = store_pg(st);
	const char	*v[2];
	char		 day[STORE_DAY_MAX];
	PGresult	*res;
	size_t		 i, j;
	int		 row, kind;
	uint64_t	 c;

	if (ndays == 0)
		return (0);
	memset(out, 0, ndays * sizeof(*out));
	for (i = 0; i < ndays; i++)
		store_pg_day_of(now_us - (int64_t)(ndays - 1 - i) * 86400 *
		    1000000, out[i].day);
	v[0] = out[0].day;
	v[1] = out[ndays - 1].day;
	if ((res = store_pg_run(sp, -1, st->filter.active ?
	    "SELECT day, kind, SUM(c) FROM ("
	    "SELECT day, kind, count AS c FROM daily_counts "
	    "WHERE day >= $1 AND day <= $2 UNION ALL "
	    "SELECT day, kind, -count FROM daily_withdrawn "
	    "WHERE day >= $1 AND day <= $2) AS d "
	    "GROUP BY day, kind ORDER BY day" :
	    "SELECT day, kind, SUM(count) FROM daily_counts "
	    "WHERE day >= $1 AND day <= $2 GROUP BY day, kind ORDER BY day",
	    2, v)) == NULL)
		return (-1);
	j = 0;
	for (row = 0; row < PQntuples(res); row++) {
		pg_get_text(res, row, 0, day, sizeof(day));
		kind = (int)pg_get_i64(res, row, 1);
		while (j < ndays && strcmp(out[j].day, day) < 0)
			j++;
		if (j == ndays)
			break;
		if (strcmp(out[j].day, day) != 0)
			continue;
		if (st->filter.active &&
		    (ATTACK_KIND_BIT(kind) & st->filter.kinds) == 0)
			continue;
		c = (uint64_t)pg_get_i64(res, row, 2);
		out[j].count += c;
		if (kind >= 0 && kind < ATTACK_KIND_COUNT)
			out[j].by_kind[kind] += c;
	}
	PQclear(res);
	return (0);
}

/* Insert (key, count) into a top list sorted by count, ties by key. */
static void
store_pg_top_insert(struct store_top *top, size_t max, size_t *n,
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

struct pg_netcount {
	char		net[STORE_NETWORK_MAX];
	uint64_t	count;
};

static int
pg_netcount_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct pg_netcount *)a)->net,
	    ((const struct pg_netcount *)b)->net));
}

static int
store_pg_top(struct store *st, struct store_top *addrs, size_t naddrs,
    size_t *naddrs_out, struct store_top *nets, size_t nnets,
    size_t *nnets_out)
{
	struct store_pg		*sp = store_pg(st);
	struct pg_netcount	*nc;
	struct pg_num		 m;
	const char		*v[1];
	char			 ip[IPADDR_TEXT_MAX];
	PGresult		*res;
	size_t			 nn = 0, i, j;
	int			 row, rows;
	uint64_t		 count;

	*naddrs_out = *nnets_out = 0;
	v[0] = pg_i64(&m, st->filter.kinds);
	if ((res = store_pg_run(sp, -1, st->filter.active ?
	    "SELECT client_ip, COUNT(*) FROM attacks WHERE " PG_PUBLIC
	    " GROUP BY client_ip" :
	    "SELECT client_ip, COUNT(*) FROM attacks GROUP BY client_ip",
	    st->filter.active ? 1 : 0, v)) == NULL)
		return (-1);
	rows = PQntuples(res);
	nc = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*nc));
	for (row = 0; row < rows; row++) {
		pg_get_text(res, row, 0, ip, sizeof(ip));
		count = (uint64_t)pg_get_i64(res, row, 1);
		store_pg_top_insert(addrs, naddrs, naddrs_out, ip, count);
		if (nnets > 0 && attack_network_of(ip, nc[nn].net,
		    sizeof(nc[nn].net)))
			nc[nn++].count = count;
	}
	PQclear(res);
	/* Sum per network: sort by network, then fold equal neighbours. */
	qsort(nc, nn, sizeof(*nc), pg_netcount_cmp);
	for (i = 0; i < nn; i = j) {
		count = 0;
		for (j = i; j < nn && strcmp(nc[j].net, nc[i].net) == 0; j++)
			count += nc[j].count;
		store_pg_top_insert(nets, nnets, nnets_out, nc[i].net, count);
	}
	free(nc);
	return (0);
}

/*
 * The public form of incident in: recomputed from its public records. 1
 * when it has some, 0 when none, -1 on error.
 */
static int
store_pg_incident_public(struct store_pg *sp, struct store_incident *in)
{
	struct attack_record	 rec;
	struct pg_num		 m, a, b;
	const char		*v[4], *sender;
	PGresult		*res;
	int			 row;

	v[0] = pg_i64(&m, sp->base.filter.kinds);
	v[1] = in->client_ip;
	v[2] = pg_i64(&a, in->first_us);
	v[3] = pg_i64(&b, in->last_us);
	if ((res = store_pg_run(sp, -1, "SELECT " PG_ATTACK_COLUMNS
	    " FROM attacks WHERE " PG_PUBLIC " AND client_ip = $2 AND "
	    "time_us >= $3 AND time_us <= $4 ORDER BY time_us, id", 4,
	    v)) == NULL)
		return (-1);
	in->count = 0;
	in->kinds = 0;
	in->targeted = false;
	in->senders[0] = '\0';
	(void)text_copy(in->client_name, "unknown", sizeof(in->client_name));
	for (row = 0; row < PQntuples(res); row++) {
		store_pg_read_record(res, row, &rec);
		if (in->count == 0)
			in->first_us = rec.time_us;
		in->last_us = rec.time_us;
		in->count++;
		in->kinds |= ATTACK_KIND_BIT(rec.kind);
		in->targeted = in->targeted ||
		    attack_kind_is_targeted(rec.kind);
		if (strcmp(in->client_name, "unknown") == 0 &&
		    rec.client_name[0] != '\0')
			(void)text_copy(in->client_name, rec.client_name,
			    sizeof(in->client_name));
		if ((sender = store_pg_sender(&rec)) != NULL)
			(void)attack_senders_add(in->senders,
			    sizeof(in->senders), sender);
	}
	PQclear(res);
	return (in->count > 0 ? 1 : 0);
}

static int
store_pg_incidents(struct store *st, struct store_incident *out, size_t max,
    size_t *n_out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 l;
	const char	*v[1];
	PGresult	*res;
	int		 row, pub;

	*n_out = 0;
	v[0] = pg_i64(&l, st->filter.active ? STORE_PG_INCIDENT_SCAN :
	    max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if ((res = store_pg_run(sp, -1, "SELECT " PG_INCIDENT_COLUMNS
	    " FROM incidents ORDER BY last_us DESC, id DESC LIMIT $1", 1,
	    v)) == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res) && *n_out < max; row++) {
		store_pg_read_incident(res, row, &out[*n_out]);
		if (st->filter.active) {
			if ((pub = store_pg_incident_public(sp,
			    &out[*n_out])) < 0) {
				PQclear(res);
				return (-1);
			}
			if (pub == 0)
				continue;
		}
		(*n_out)++;
	}
	PQclear(res);
	return (0);
}

static int
store_pg_incident_get(struct store *st, int64_t id,
    struct store_incident *out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 n;
	const char	*v[1];
	PGresult	*res;
	int		 pub;

	v[0] = pg_i64(&n, id);
	if ((res = store_pg_run(sp, -1, "SELECT " PG_INCIDENT_COLUMNS
	    " FROM incidents WHERE id = $1", 1, v)) == NULL)
		return (-1);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (1);
	}
	store_pg_read_incident(res, 0, out);
	PQclear(res);
	if (st->filter.active) {
		pub = store_pg_incident_public(sp, out);
		return (pub < 0 ? -1 : pub == 0 ? 1 : 0);
	}
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
			pg_get_text(res, row, 3, ip, sizeof(ip));
			if (!attack_login_key(ip, rkey, sizeof(rkey)) ||
			    strcmp(rkey, key) != 0)
				continue;
			v[0] = pg_i64(&id, pg_get_i64(res, row, 0));
			if (store_pg_do(sp, -1, "UPDATE attacks SET "
			    "withdrawn = 1 WHERE id = $1", 1, v) != 0 ||
			    store_pg_add_day(sp, PG_ADD_WITHDRAWN_DAY,
			    pg_get_i64(res, row, 1),
			    (int)pg_get_i64(res, row, 2)) != 0)
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

/*
 * The view of grants and bans (struct pg_view).
 */

/* Connect to url, waiting at most timeout seconds unless it says more. */
static PGconn *
store_pg_connect(const char *url, const char *timeout)
{
	const char *const	 keys[] = { "connect_timeout", "dbname", NULL };
	const char		*vals[] = { timeout, url, NULL };

	return (PQconnectdbParams(keys, vals, 1));
}

static int
pg_view_grant_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct pg_grant *)a)->network,
	    ((const struct pg_grant *)b)->network));
}

/* Reload both tables through conn; 0 or -1 (the old view stays). */
static int
pg_view_sync(struct pg_view *v, PGconn *conn)
{
	struct pg_grant		*g = NULL;
	struct ban_entry	*b = NULL;
	PGresult		*rg, *rb;
	const char		*why;
	size_t			 ng = 0, nb = 0;
	int			 i, rows;

	rg = PQexec(conn, "SELECT network, login_user, expires_us FROM "
	    "grants");
	rb = PQexec(conn, "SELECT network, start_us, expires_us, level, "
	    "manual FROM bans");
	if (PQresultStatus(rg) != PGRES_TUPLES_OK ||
	    PQresultStatus(rb) != PGRES_TUPLES_OK) {
		PQclear(rg);
		PQclear(rb);
		return (-1);
	}
	rows = PQntuples(rg);
	g = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*g));
	for (i = 0; i < rows; i++) {
		pg_get_text(rg, i, 0, g[ng].network, sizeof(g[ng].network));
		pg_get_text(rg, i, 1, g[ng].user, sizeof(g[ng].user));
		g[ng].expires_us = pg_get_i64(rg, i, 2);
		ng++;
	}
	qsort(g, ng, sizeof(*g), pg_view_grant_cmp);
	rows = PQntuples(rb);
	b = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*b));
	for (i = 0; i < rows; i++) {
		if (!ban_net_parse(PQgetvalue(rb, i, 0), &b[nb].net, &why))
			continue;
		b[nb].start_us = pg_get_i64(rb, i, 1);
		b[nb].expires_us = pg_get_i64(rb, i, 2);
		b[nb].level = (uint32_t)pg_get_i64(rb, i, 3);
		b[nb].manual = pg_get_i64(rb, i, 4) != 0;
		nb++;
	}
	PQclear(rg);
	PQclear(rb);
	pthread_mutex_lock(&v->mu);
	free(v->grants);
	free(v->bans);
	v->grants = g;
	v->ngrants = ng;
	v->bans = b;
	v->nbans = nb;
	v->synced = true;
	v->gen++;
	pthread_mutex_unlock(&v->mu);
	return (0);
}

/* Wait up to ms for fd (or -1) to be readable; false when told to stop. */
static bool
pg_view_wait(struct pg_view *v, int fd, int ms)
{
	struct pollfd	pfd[2];
	char		c;

	pfd[0].fd = v->wake[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = fd;
	pfd[1].events = POLLIN;
	if (poll(pfd, fd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR)
		return (false);
	/* The write end closed: EOF. */
	return (!(pfd[0].revents & (POLLIN | POLLHUP)) ||
	    read(v->wake[0], &c, 1) > 0);
}

static void *
pg_view_main(void *arg)
{
	struct pg_view	*v = arg;
	PGconn		*conn = NULL;
	PGnotify	*n;
	PGresult	*res;
	bool		 changed, records, was_down = false;

	for (;;) {
		if (conn == NULL) {
			conn = store_pg_connect(v->url, "2");
			res = NULL;
			if (PQstatus(conn) != CONNECTION_OK ||
			    PQresultStatus(res = PQexec(conn, "LISTEN "
			    STORE_PG_CHANNEL "; LISTEN " STORE_PG_RECORDS)) !=
			    PGRES_COMMAND_OK ||
			    pg_view_sync(v, conn) != 0) {
				PQclear(res);
				if (!was_down) {
					char	m[256];
					size_t	i;

					(void)text_copy(m, PQerrorMessage(conn),
					    sizeof(m));
					for (i = 0; m[i] != '\0'; i++) {
						if (m[i] == '\n' || m[i] == '\t')
							m[i] = ' ';
					}
					log_warn("store: shared view: %s; "
					    "using the last known grants and "
					    "bans", m);
				}
				was_down = true;
				PQfinish(conn);
				conn = NULL;
				if (!pg_view_wait(v, -1, STORE_PG_RETRY_MS))
					break;
				continue;
			}
			PQclear(res);
			if (was_down)
				log_info("store: shared view: reconnected, "
				    "grants and bans reloaded");
			was_down = false;
		}
		if (!pg_view_wait(v, PQsocket(conn), 1000))
			break;
		if (PQconsumeInput(conn) == 0 ||
		    PQstatus(conn) != CONNECTION_OK) {
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		changed = records = false;
		while ((n = PQnotifies(conn)) != NULL) {
			if (strcmp(n->relname, STORE_PG_RECORDS) == 0)
				records = true;
			else
				changed = true;
			PQfreemem(n);
		}
		if (records) {
			pthread_mutex_lock(&v->mu);
			if (v->on_records != NULL)
				v->on_records(v->on_records_arg);
			pthread_mutex_unlock(&v->mu);
		}
		if (changed && pg_view_sync(v, conn) != 0) {
			PQfinish(conn);
			conn = NULL;
		}
	}
	PQfinish(conn);
	return (NULL);
}

static struct pg_view *
store_pg_view_start(const char *url)
{
	struct pg_view	*v;
	sigset_t	 all, old;
	int		 rc;

	v = xcalloc(1, sizeof(*v));
	v->url = xstrdup(url);
	if (pipe2(v->wake, O_CLOEXEC) != 0)
		FATAL("pipe2");
	if (pthread_mutex_init(&v->mu, NULL) != 0)
		FATAL("pthread_mutex_init");
	/* Signals are the event loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&v->thread, NULL, pg_view_main, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		FATAL("pthread_create");
	return (v);
}

static void
store_pg_view_stop(struct pg_view *v)
{
	if (v == NULL)
		return;
	close(v->wake[1]);
	pthread_join(v->thread, NULL);
	close(v->wake[0]);
	pthread_mutex_destroy(&v->mu);
	free(v->grants);
	free(v->bans);
	free(v->url);
	free(v);
}

/* Put or drop one grant in the view at once (ours; others come by NOTIFY). */
static void
pg_view_grant_set(struct pg_view *v, const char *network, const char *user,
    int64_t expires_us)
{
	struct pg_grant	 key, *g, *grown;

	if (v == NULL)
		return;
	memset(&key, 0, sizeof(key));
	(void)text_copy(key.network, network, sizeof(key.network));
	pthread_mutex_lock(&v->mu);
	g = v->ngrants == 0 ? NULL : bsearch(&key, v->grants, v->ngrants,
	    sizeof(*g), pg_view_grant_cmp);
	if (g != NULL) {
		(void)text_copy(g->user, user, sizeof(g->user));
		g->expires_us = expires_us;
	} else if (expires_us > 0) {
		grown = xreallocarray(v->grants, v->ngrants + 1,
		    sizeof(*grown));
		v->grants = grown;
		(void)text_copy(key.user, user, sizeof(key.user));
		key.expires_us = expires_us;
		grown[v->ngrants++] = key;
		qsort(v->grants, v->ngrants, sizeof(*grown),
		    pg_view_grant_cmp);
	}
	pthread_mutex_unlock(&v->mu);
}

static uint64_t
store_pg_generation(struct store *st)
{
	struct store_pg	*sp = store_pg(st);
	uint64_t	 gen;

	if (sp->view == NULL)
		sp->view = store_pg_view_start(sp->url);
	pthread_mutex_lock(&sp->view->mu);
	gen = sp->view->gen;
	pthread_mutex_unlock(&sp->view->mu);
	return (gen);
}

static void
store_pg_on_records(struct store *st, void (*cb)(void *), void *arg)
{
	struct store_pg	*sp = store_pg(st);

	if (sp->view == NULL) {
		if (cb == NULL)
			return;
		sp->view = store_pg_view_start(sp->url);
	}
	pthread_mutex_lock(&sp->view->mu);
	sp->view->on_records = cb;
	sp->view->on_records_arg = arg;
	pthread_mutex_unlock(&sp->view->mu);
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

	v[0] = network;
	v[1] = user;
	v[2] = pg_i64(&e, expires_us);
	if (store_pg_do(sp, -1, "INSERT INTO grants (network, login_user, "
	    "expires_us) VALUES ($1, $2, $3) ON CONFLICT (network) DO UPDATE "
	    "SET login_user = excluded.login_user, expires_us = "
	    "excluded.expires_us", 3, v) != 0)
		return (-1);
	pg_view_grant_set(sp->view, network, user, expires_us);
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
		    pg_view_grant_cmp);
		if (g != NULL && g->expires_us > now_us) {
			(void)text_copy(user_out, g->user, userlen);
			if (expires_out != NULL)
				*expires_out = g->expires_us;
		}
		pthread_mutex_unlock(&sp->view->mu);
		if (synced)
			return (g != NULL && g->expires_us > now_us ? 0 : 1);
	}
	v[0] = network;
	v[1] = pg_i64(&n, now_us);
	if ((res = store_pg_run(sp, PG_GRANT_GET, NULL, 2, v)) == NULL)
		return (sp->view != NULL ? 1 : -1);	/* as for bans */
	if (PQntuples(res) > 0) {
		pg_get_text(res, 0, 0, user_out, userlen);
		if (expires_out != NULL)
			*expires_out = pg_get_i64(res, 0, 1);
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
	pg_view_grant_set(sp->view, network, "", 0);
	store_pg_notify(sp);
	return (0);
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
		    pg_get_i64(res, row, 2), arg) != 0)
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
		if (synced) {
			for (i = 0; i < nb; i++) {
				if (cb(&copy[i], arg) != 0)
					break;
			}
			free(copy);
			return (0);
		}
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
		e.start_us = pg_get_i64(res, row, 1);
		e.expires_us = pg_get_i64(res, row, 2);
		e.level = (uint32_t)pg_get_i64(res, row, 3);
		e.manual = pg_get_i64(res, row, 4) != 0;
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
	.grant_list = store_pg_grant_list,
	.login = store_pg_login,
	.ban_put = store_pg_ban_put,
	.ban_delete = store_pg_ban_delete,
	.ban_list = store_pg_ban_list,
	.generation = store_pg_generation,
	.lead = store_pg_lead,
	.on_records = store_pg_on_records,
};
