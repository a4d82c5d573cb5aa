/*
 * store_sqlite.c: the SQLite backend of the attack log store (store.h), the
 * default for one host. One file in WAL mode: the engine's writer thread
 * inserts and purges while `pillory log`, `stats` and the publisher read
 * through their own read-only connections. synchronous=NORMAL: a commit
 * survives a crash of the process; a power cut may lose the last
 * transactions (at most the last batches), never corrupt the file.
 *
 * Runs in the engine (writer thread) and in the CLI. The records come from
 * our own engine but their strings are attacker-controlled: every value is
 * a bound parameter of a prepared statement. The only SQL text built at run
 * time is store_sqlite_query()'s, and it is assembled from constant
 * fragments.
 *
 * Schema (version in PRAGMA user_version, upgraded by
 * store_sqlite_migrate() one step at a time, each step in the same
 * transaction as its version bump):
 *   attacks(id, time_us, kind, client_ip, client_name, helo, mail_from,
 *       rcpt_to, login_user, session, reply, port)
 *       indexes (time_us), (client_ip, time_us), (kind, time_us)
 *   daily_counts(day 'YYYY-MM-DD' UTC, kind, count): never purged
 *   incidents(id AUTOINCREMENT: ids of purged incidents are never reused,
 *       so incident pages stay permanent; client_ip, client_name, first_us,
 *       last_us, count, kinds bitmask, senders, targeted)
 *       indexes (client_ip, last_us), (last_us)
 *   grants(network, user, expires_us)
 *   version 3: attacks.withdrawn (0/1); daily_withdrawn(day, kind, count),
 *       the withdrawn part of daily_counts, never purged either;
 *       logins(network: attack_login_key(), last_us)
 *   version 4: bans(network "a.b.c.d/32" or "v6/64", start_us,
 *       expires_us, level, manual): kept a while after expiry so repeat
 *       bans double
 *   version 5: attacks.node, the MX host that recorded it ([store] node)
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "attack.h"
#include "log.h"
#include "store.h"
#include "text.h"
#include "xalloc.h"

/* How long a connection waits for another one's lock. */
#define STORE_SQLITE_BUSY_MS	5000
/* Rows deleted per purge transaction, so the WAL stays small. */
#define STORE_SQLITE_PURGE_CHUNK 10000
/* Distinct (day, kind) pairs summed in memory per batch before a flush. */
#define STORE_SQLITE_DAYS_MAX	32

/* Schema steps: migrations[i] takes version i to version i + 1. */
static const char *const store_sqlite_migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE attacks ("
	"  id INTEGER PRIMARY KEY,"
	"  time_us INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  client_ip TEXT NOT NULL,"
	"  client_name TEXT NOT NULL,"
	"  helo TEXT NOT NULL,"
	"  mail_from TEXT NOT NULL,"
	"  rcpt_to TEXT NOT NULL,"
	"  login_user TEXT NOT NULL,"
	"  session TEXT NOT NULL,"
	"  reply TEXT NOT NULL,"
	"  port INTEGER NOT NULL);"
	"CREATE INDEX attacks_time ON attacks (time_us);"
	"CREATE INDEX attacks_ip_time ON attacks (client_ip, time_us);"
	"CREATE INDEX attacks_kind_time ON attacks (kind, time_us);"
	"CREATE TABLE daily_counts ("
	"  day TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY (day, kind)) WITHOUT ROWID;"
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  client_ip TEXT NOT NULL,"
	"  client_name TEXT NOT NULL,"
	"  first_us INTEGER NOT NULL,"
	"  last_us INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  kinds INTEGER NOT NULL,"
	"  senders TEXT NOT NULL,"
	"  targeted INTEGER NOT NULL);"
	"CREATE INDEX incidents_ip_last ON incidents (client_ip, last_us);"
	"CREATE INDEX incidents_last ON incidents (last_us);"
	"PRAGMA user_version = 1;",
	/* 2: POP-before-SMTP grants, keyed by address or IPv6 network. */
	"CREATE TABLE grants ("
	"  network TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  expires_us INTEGER NOT NULL) WITHOUT ROWID;"
	"PRAGMA user_version = 2;",
	/* 3: withdrawn records, their daily counts, and logins. */
	"ALTER TABLE attacks ADD COLUMN withdrawn INTEGER NOT NULL "
	"  DEFAULT 0;"
	"CREATE TABLE daily_withdrawn ("
	"  day TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY (day, kind)) WITHOUT ROWID;"
	"CREATE TABLE logins ("
	"  network TEXT PRIMARY KEY,"
	"  last_us INTEGER NOT NULL) WITHOUT ROWID;"
	"PRAGMA user_version = 3;",
	/* 4: bans of client networks (README "Defense"). */
	"CREATE TABLE bans ("
	"  network TEXT PRIMARY KEY,"
	"  start_us INTEGER NOT NULL,"
	"  expires_us INTEGER NOT NULL,"
	"  level INTEGER NOT NULL,"
	"  manual INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX bans_expires ON bans (expires_us);"
	"PRAGMA user_version = 4;",
	/* 5: the MX host that recorded each attack ([store] node). */
	("ALTER TABLE attacks ADD COLUMN node TEXT NOT NULL DEFAULT '';"
	"PRAGMA user_version = 5;"),
};
#define STORE_SQLITE_VERSION \
	((int)(sizeof(store_sqlite_migrations) / \
	    sizeof(store_sqlite_migrations[0])))

#define ATTACK_COLUMNS \
	"id, time_us, kind, client_ip, client_name, helo, mail_from, " \
	"rcpt_to, login_user, session, reply, port, withdrawn, node"

#define INCIDENT_COLUMNS \
	"id, client_ip, client_name, first_us, last_us, count, kinds, " \
	"senders, targeted"

/* What a public handle reads of attacks (struct store_filter). */
#define STORE_SQLITE_PUBLIC \
	"withdrawn = 0 AND ((1 << kind) & :kmask) != 0"

/* The statements an insert batch runs, prepared once per handle. */
enum store_sqlite_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_INSERT_ATTACK,
	STMT_ADD_DAY,
	STMT_FIND_INCIDENT,
	STMT_UPDATE_INCIDENT,
	STMT_INSERT_INCIDENT,
	STMT_GRANT_GET,
	STMT_LOGIN_NEAR,
	STMT_ADD_WITHDRAWN_DAY,
	STMT_COUNT
};

static const char *const store_sqlite_stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_INSERT_ATTACK] =
	    "INSERT INTO attacks (time_us, kind, client_ip, client_name, "
	    "helo, mail_from, rcpt_to, login_user, session, reply, port, "
	    "withdrawn, node) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[STMT_ADD_DAY] =
	    "INSERT INTO daily_counts (day, kind, count) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (day, kind) DO UPDATE SET count = count + ?3",
	[STMT_FIND_INCIDENT] =
	    "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE client_ip = ?1 "
	    "ORDER BY last_us DESC, id DESC LIMIT 1",
	[STMT_UPDATE_INCIDENT] =
	    "UPDATE incidents SET client_name = ?2, first_us = ?3, "
	    "last_us = ?4, count = ?5, kinds = ?6, senders = ?7, "
	    "targeted = ?8 WHERE id = ?1",
	[STMT_LOGIN_NEAR] =
	    "SELECT 1 FROM logins WHERE network = ?1 AND last_us >= ?2 "
	    "AND last_us <= ?3",
	[STMT_ADD_WITHDRAWN_DAY] =
	    "INSERT INTO daily_withdrawn (day, kind, count) "
	    "VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (day, kind) DO UPDATE SET count = count + ?3",
	[STMT_GRANT_GET] =
	    "SELECT user, expires_us FROM grants "
	    "WHERE network = ?1 AND expires_us > ?2",
	[STMT_INSERT_INCIDENT] =
	    "INSERT INTO incidents (client_ip, client_name, first_us, "
	    "last_us, count, kinds, senders, targeted) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};

struct store_sqlite {
	struct store	 base;		/* first: handles are struct store */
	sqlite3		*db;
	bool		 readonly;
	char		 errmsg[256];
	sqlite3_stmt	*stmt[STMT_COUNT];
};

/* Per-batch sum of one (day, kind). */
struct store_sqlite_daysum {
	char		 day[STORE_DAY_MAX];
	int		 kind;
	int64_t		 count;
};

static struct store_sqlite *
store_sqlite(struct store *st)
{
	return ((struct store_sqlite *)st);
}

static int
store_sqlite_fail(struct store_sqlite *ss, const char *what)
{
	snprintf(ss->errmsg, sizeof(ss->errmsg), "%s: %s", what,
	    sqlite3_errmsg(ss->db));
	return (-1);
}

static int
store_sqlite_fail_msg(struct store_sqlite *ss, const char *msg)
{
	snprintf(ss->errmsg, sizeof(ss->errmsg), "%s", msg);
	return (-1);
}

/* Run constant SQL (several statements, no parameters) through prepare. */
static int
store_sqlite_script(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*stmt;
	const char	*tail;
	int		 rc;

	while (*sql != '\0') {
		if (sqlite3_prepare_v2(db, sql, -1, &stmt, &tail) != SQLITE_OK)
			return (-1);
		if (stmt == NULL)	/* whitespace or a comment */
			break;
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			;
		sqlite3_finalize(stmt);
		if (rc != SQLITE_DONE)
			return (-1);
		sql = tail;
	}
	return (0);
}

/* PRAGMA user_version into *version_out. */
static int
store_sqlite_version(sqlite3 *db, int *version_out)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return (-1);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_out = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return (rc == SQLITE_ROW ? 0 : -1);
}

/*
 * Bring the schema to STORE_SQLITE_VERSION in one IMMEDIATE transaction
 * (two daemons starting at once cannot both migrate). A file written by a
 * newer pillory is refused, not downgraded.
 */
static int
store_sqlite_migrate(struct store_sqlite *ss)
{
	int	version, v;

	if (store_sqlite_script(ss->db, "BEGIN IMMEDIATE") != 0)
		return (store_sqlite_fail(ss, "migrate: begin"));
	if (store_sqlite_version(ss->db, &version) != 0) {
		store_sqlite_fail(ss, "migrate: user_version");
		goto fail;
	}
	if (version > STORE_SQLITE_VERSION) {
		snprintf(ss->errmsg, sizeof(ss->errmsg), "schema version %d "
		    "is newer than this pillory's (%d)", version,
		    STORE_SQLITE_VERSION);
		goto fail;
	}
	for (v = version; v < STORE_SQLITE_VERSION; v++) {
		if (store_sqlite_script(ss->db,
		    store_sqlite_migrations[v]) != 0) {
			snprintf(ss->errmsg, sizeof(ss->errmsg),
			    "migrate to schema version %d: %s", v + 1,
			    sqlite3_errmsg(ss->db));
			goto fail;
		}
	}
	if (store_sqlite_script(ss->db, "COMMIT") != 0) {
		store_sqlite_fail(ss, "migrate: commit");
		goto fail;
	}
	if (version != STORE_SQLITE_VERSION)
		log_debug("attack log: schema version %d -> %d", version,
		    STORE_SQLITE_VERSION);
	return (0);
fail:
	(void)store_sqlite_script(ss->db, "ROLLBACK");
	return (-1);
}

/*
 * A read-only connection to a WAL database creates PATH-wal and PATH-shm
 * when the daemon is not running. Run as root (`pillory log` by the admin)
 * they would belong to root and the daemon, running as [server] user,
 * could no longer open the store: give them the database file's owner.
 */
static void
store_sqlite_fix_owner(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	struct stat	 db, st;
	char		 side[PATH_MAX];
	size_t		 i;

	if (geteuid() != 0 || stat(path, &db) != 0)
		return;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (!text_printf(side, sizeof(side), "%s%s", path,
		    suffixes[i]))
			continue;
		if (lstat(side, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1 && (st.st_uid != db.st_uid ||
		    st.st_gid != db.st_gid) &&
		    lchown(side, db.st_uid, db.st_gid) != 0)
			log_warn("%s: chown: %s", side, strerror(errno));
	}
}

static void
store_sqlite_close(struct store *st)
{
	struct store_sqlite	*ss = store_sqlite(st);
	int			 i;

	for (i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(ss->stmt[i]);
	sqlite3_close(ss->db);
	free(ss);
}

static struct store *
store_sqlite_open(const char *path, bool readonly, char *err, size_t errlen)
{
	struct store_sqlite	*ss;
	sqlite3_stmt		*stmt = NULL;
	int			 flags, version, i;

	ss = xcalloc(1, sizeof(*ss));
	ss->base.ops = &store_sqlite_ops;
	ss->readonly = readonly;
	/* One connection per thread: no need for SQLite's own mutex. */
	flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	/* As root (the admin's `pillory log`, `grants`...) never through a
	 * link the daemon's user may have planted under state_dir. */
	if (geteuid() == 0)
		flags |= SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, &ss->db, flags, NULL) != SQLITE_OK) {
		struct stat	lst;

		if ((flags & SQLITE_OPEN_NOFOLLOW) && lstat(path, &lst) == 0 &&
		    S_ISLNK(lst.st_mode))
			store_sqlite_fail_msg(ss, "a symbolic link, not "
			    "followed as root");
		else
			store_sqlite_fail(ss, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(ss->db, 1);
	sqlite3_busy_timeout(ss->db, STORE_SQLITE_BUSY_MS);

	if (readonly) {
		if (store_sqlite_version(ss->db, &version) != 0) {
			store_sqlite_fail(ss, "read schema version");
			goto fail;
		}
		if (version != STORE_SQLITE_VERSION) {
			snprintf(ss->errmsg, sizeof(ss->errmsg), version == 0 ?
			    "not an attack log (schema version %d)" :
			    "schema version %d, this pillory reads %d (start "
			    "the daemon to migrate)", version,
			    STORE_SQLITE_VERSION);
			goto fail;
		}
		store_sqlite_fix_owner(path);
		return (&ss->base);
	}

	/* WAL: readers never block the writer, nor it them. */
	if (sqlite3_prepare_v2(ss->db, "PRAGMA journal_mode = WAL", -1,
	    &stmt, NULL) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") != 0) {
		store_sqlite_fail(ss, "journal_mode WAL");
		goto fail;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	/*
	 * The writer walks five indexes per record: 16 MB of page cache keeps
	 * their hot pages in memory under a flood, and checkpointing every
	 * 8192 pages (32 MB of WAL) instead of 1000 saves most of the
	 * checkpoint writes and syncs (about +30% records per second).
	 */
	if (store_sqlite_script(ss->db, "PRAGMA synchronous = NORMAL; "
	    "PRAGMA cache_size = -16384; "
	    "PRAGMA wal_autocheckpoint = 8192") != 0) {
		store_sqlite_fail(ss, "synchronous NORMAL");
		goto fail;
	}
	if (store_sqlite_migrate(ss) != 0)
		goto fail;
	for (i = 0; i < STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(ss->db, store_sqlite_stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &ss->stmt[i], NULL) !=
		    SQLITE_OK) {
			store_sqlite_fail(ss, "prepare");
			goto fail;
		}
	}
	return (&ss->base);
fail:
	snprintf(err, errlen, "%s: %s", path, ss->errmsg);
	sqlite3_finalize(stmt);
	store_sqlite_close(&ss->base);
	return (NULL);
}

static const char *
store_sqlite_errmsg(struct store *st)
{
	return (store_sqlite(st)->errmsg);
}

/* Step a statement that returns no row, then reset it for reuse. */
static int
store_sqlite_exec(struct store_sqlite *ss, enum store_sqlite_stmt which)
{
	sqlite3_stmt	*stmt = ss->stmt[which];
	int		 rc;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		store_sqlite_fail(ss, store_sqlite_stmt_sql[which]);
		sqlite3_reset(stmt);
		return (-1);
	}
	sqlite3_reset(stmt);
	return (0);
}

static void
bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

static void
column_text(sqlite3_stmt *stmt, int i, char *out, size_t outlen)
{
	const unsigned char	*s = sqlite3_column_text(stmt, i);

	/* Our own rows fit their fields; a longer one is cut, not fatal. */
	(void)text_copy(out, s != NULL ? (const char *)s : "", outlen);
}

static uint32_t
kind_bit(int kind)
{
	return (kind >= 0 && kind < 32 ? (uint32_t)1 << kind : 0);
}

static int
store_sqlite_flush_days_to(struct store_sqlite *ss,
    enum store_sqlite_stmt which, struct store_sqlite_daysum *days,
    size_t *ndays)
{
	sqlite3_stmt	*stmt = ss->stmt[which];
	size_t		 i;

	for (i = 0; i < *ndays; i++) {
		bind_text(stmt, 1, days[i].day);
		sqlite3_bind_int(stmt, 2, days[i].kind);
		sqlite3_bind_int64(stmt, 3, days[i].count);
		if (store_sqlite_exec(ss, which) != 0)
			return (-1);
	}
	*ndays = 0;
	return (0);
}

static int
store_sqlite_flush_days(struct store_sqlite *ss,
    struct store_sqlite_daysum *days, size_t *ndays)
{
	return (store_sqlite_flush_days_to(ss, STMT_ADD_DAY, days, ndays));
}

static int
store_sqlite_add_day_to(struct store_sqlite *ss, enum store_sqlite_stmt which,
    struct store_sqlite_daysum *days, size_t *ndays, int64_t t_us, int kind)
{
	char	day[STORE_DAY_MAX];
	size_t	i;

	store_day_of(t_us, day);
	for (i = 0; i < *ndays; i++) {
		if (days[i].kind == kind && strcmp(days[i].day, day) == 0) {
			days[i].count++;
			return (0);
		}
	}
	if (*ndays == STORE_SQLITE_DAYS_MAX &&
	    store_sqlite_flush_days_to(ss, which, days, ndays) != 0)
		return (-1);
	memcpy(days[*ndays].day, day, sizeof(day));
	days[*ndays].kind = kind;
	days[*ndays].count = 1;
	(*ndays)++;
	return (0);
}

static int
store_sqlite_add_day(struct store_sqlite *ss,
    struct store_sqlite_daysum *days, size_t *ndays, int64_t t_us, int kind)
{
	return (store_sqlite_add_day_to(ss, STMT_ADD_DAY, days, ndays, t_us,
	    kind));
}

static void
store_sqlite_bind_incident(sqlite3_stmt *stmt, const struct store_incident *in)
{
	bind_text(stmt, 2, in->client_name);
	sqlite3_bind_int64(stmt, 3, in->first_us);
	sqlite3_bind_int64(stmt, 4, in->last_us);
	sqlite3_bind_int64(stmt, 5, (int64_t)in->count);
	sqlite3_bind_int64(stmt, 6, in->kinds);
	bind_text(stmt, 7, in->senders);
	sqlite3_bind_int(stmt, 8, in->targeted);
}

static void
store_sqlite_read_incident(sqlite3_stmt *stmt, struct store_incident *in)
{
	in->id = sqlite3_column_int64(stmt, 0);
	column_text(stmt, 1, in->client_ip, sizeof(in->client_ip));
	column_text(stmt, 2, in->client_name, sizeof(in->client_name));
	in->first_us = sqlite3_column_int64(stmt, 3);
	in->last_us = sqlite3_column_int64(stmt, 4);
	in->count = (uint64_t)sqlite3_column_int64(stmt, 5);
	in->kinds = (uint32_t)sqlite3_column_int64(stmt, 6);
	column_text(stmt, 7, in->senders, sizeof(in->senders));
	in->targeted = sqlite3_column_int(stmt, 8) != 0;
}

/*
 * Fold rec into the newest incident of its address when
 * attack_incident_joins() says so, else start a new incident.
 */
static int
store_sqlite_incident(struct store_sqlite *ss, const struct attack_record *rec)
{
	sqlite3_stmt		*stmt = ss->stmt[STMT_FIND_INCIDENT];
	struct store_incident	 in;
	const char		*sender;
	enum store_sqlite_stmt	 which;
	bool			 found;
	int			 rc;

	bind_text(stmt, 1, rec->client_ip);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlite_fail(ss, "find incident");
		sqlite3_reset(stmt);
		return (-1);
	}
	found = (rc == SQLITE_ROW);
	if (found)
		store_sqlite_read_incident(stmt, &in);
	sqlite3_reset(stmt);

	if (found && attack_incident_joins(in.first_us, in.last_us,
	    rec->time_us)) {
		which = STMT_UPDATE_INCIDENT;
		if (rec->time_us < in.first_us)
			in.first_us = rec->time_us;
		if (rec->time_us > in.last_us)
			in.last_us = rec->time_us;
		in.count++;
		/* A confirmed name is worth more than "unknown". */
		if (strcmp(in.client_name, "unknown") == 0 &&
		    rec->client_name[0] != '\0')
			(void)text_copy(in.client_name, rec->client_name,
			    sizeof(in.client_name));
	} else {
		which = STMT_INSERT_INCIDENT;
		memset(&in, 0, sizeof(in));
		(void)text_copy(in.client_name, rec->client_name,
		    sizeof(in.client_name));
		in.first_us = in.last_us = rec->time_us;
		in.count = 1;
	}
	in.kinds |= kind_bit((int)rec->kind);
	in.targeted = in.targeted || attack_kind_is_targeted(rec->kind);
	if ((sender = attack_sender(rec)) != NULL)
		(void)attack_senders_add(in.senders, sizeof(in.senders),
		    sender);

	stmt = ss->stmt[which];
	if (which == STMT_UPDATE_INCIDENT)
		sqlite3_bind_int64(stmt, 1, in.id);
	else
		bind_text(stmt, 1, rec->client_ip);
	store_sqlite_bind_incident(stmt, &in);
	return (store_sqlite_exec(ss, which));
}

/* 1 when a login from rec's client is within the window of rec, 0 when
 * none is, -1 on error. */
static int
store_sqlite_login_near(struct store_sqlite *ss,
    const struct attack_record *rec)
{
	sqlite3_stmt	*stmt = ss->stmt[STMT_LOGIN_NEAR];
	char		 key[IPADDR_TEXT_MAX + 4];
	int64_t		 w = ss->base.withdraw_window_us;
	int		 rc;

	if (w <= 0 || !attack_login_key(rec->client_ip, key, sizeof(key)))
		return (0);
	bind_text(stmt, 1, key);
	sqlite3_bind_int64(stmt, 2, rec->time_us - w);
	sqlite3_bind_int64(stmt, 3, rec->time_us + w);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return (1);
	if (rc == SQLITE_DONE)
		return (0);
	return (store_sqlite_fail(ss, "login near"));
}

static int
store_sqlite_insert_one(struct store_sqlite *ss,
    const struct attack_record *rec, bool withdrawn)
{
	sqlite3_stmt	*stmt = ss->stmt[STMT_INSERT_ATTACK];

	sqlite3_bind_int64(stmt, 1, rec->time_us);
	sqlite3_bind_int(stmt, 2, (int)rec->kind);
	bind_text(stmt, 3, rec->client_ip);
	bind_text(stmt, 4, rec->client_name);
	bind_text(stmt, 5, rec->helo);
	bind_text(stmt, 6, rec->from);
	bind_text(stmt, 7, rec->to);
	bind_text(stmt, 8, rec->user);
	bind_text(stmt, 9, rec->session);
	bind_text(stmt, 10, rec->reply);
	sqlite3_bind_int(stmt, 11, rec->port);
	sqlite3_bind_int(stmt, 12, withdrawn);
	bind_text(stmt, 13, rec->node);
	if (store_sqlite_exec(ss, STMT_INSERT_ATTACK) != 0)
		return (-1);
	return (store_sqlite_incident(ss, rec));
}

static int
store_sqlite_insert_batch(struct store *st, const struct attack_record *recs,
    size_t n)
{
	struct store_sqlite		*ss = store_sqlite(st);
	struct store_sqlite_daysum	 days[STORE_SQLITE_DAYS_MAX];
	struct store_sqlite_daysum	 wdays[STORE_SQLITE_DAYS_MAX];
	size_t				 ndays = 0, nwdays = 0, i;
	int				 near;
	bool				 withdrawn;

	if (ss->readonly)
		return (store_sqlite_fail_msg(ss, "store is read-only"));
	if (n == 0)
		return (0);
	if (store_sqlite_exec(ss, STMT_BEGIN) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((near = store_sqlite_login_near(ss, &recs[i])) < 0)
			goto fail;
		withdrawn = recs[i].withdrawn || near;
		if (store_sqlite_insert_one(ss, &recs[i], withdrawn) != 0 ||
		    store_sqlite_add_day(ss, days, &ndays, recs[i].time_us,
		    (int)recs[i].kind) != 0)
			goto fail;
		if (withdrawn && store_sqlite_add_day_to(ss,
		    STMT_ADD_WITHDRAWN_DAY, wdays, &nwdays, recs[i].time_us,
		    (int)recs[i].kind) != 0)
			goto fail;
	}
	if (store_sqlite_flush_days(ss, days, &ndays) != 0 ||
	    store_sqlite_flush_days_to(ss, STMT_ADD_WITHDRAWN_DAY, wdays,
	    &nwdays) != 0 ||
	    store_sqlite_exec(ss, STMT_COMMIT) != 0)
		goto fail;
	return (0);
fail:
	/* All or nothing; keep the first error's message. */
	(void)sqlite3_step(ss->stmt[STMT_ROLLBACK]);
	sqlite3_reset(ss->stmt[STMT_ROLLBACK]);
	return (-1);
}

/* Prepare a one-off statement; -1 with the message set on failure. */
static int
store_sqlite_prepare(struct store_sqlite *ss, const char *sql,
    sqlite3_stmt **stmt_out)
{
	if (sqlite3_prepare_v2(ss->db, sql, -1, stmt_out, NULL) != SQLITE_OK) {
		*stmt_out = NULL;
		return (store_sqlite_fail(ss, "prepare"));
	}
	return (0);
}

/* Run one constant statement with one integer parameter ?1. */
static int
store_sqlite_script_bound(struct store_sqlite *ss, const char *sql,
    int64_t v)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (store_sqlite_prepare(ss, sql, &stmt) != 0)
		return (-1);
	sqlite3_bind_int64(stmt, 1, v);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, sql));
	return (0);
}

static int
store_sqlite_purge(struct store *st, int64_t before_us, uint64_t *deleted_out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*del = NULL, *inc = NULL;
	uint64_t		 deleted = 0;
	int			 changes, ret = -1;

	if (ss->readonly)
		return (store_sqlite_fail_msg(ss, "store is read-only"));
	if (store_sqlite_prepare(ss, "DELETE FROM attacks WHERE id IN "
	    "(SELECT id FROM attacks WHERE time_us < ?1 ORDER BY time_us "
	    "LIMIT ?2)", &del) != 0 ||
	    store_sqlite_prepare(ss, "DELETE FROM incidents "
	    "WHERE last_us < ?1", &inc) != 0)
		goto done;
	sqlite3_bind_int64(del, 1, before_us);
	sqlite3_bind_int(del, 2, STORE_SQLITE_PURGE_CHUNK);
	sqlite3_bind_int64(inc, 1, before_us);
	/* Chunks, each its own transaction: the WAL stays small and the
	 * lock is never held for long. daily_counts is not touched. */
	do {
		if (sqlite3_step(del) != SQLITE_DONE) {
			store_sqlite_fail(ss, "purge attacks");
			goto done;
		}
		changes = sqlite3_changes(ss->db);
		deleted += (uint64_t)changes;
		sqlite3_reset(del);
	} while (changes == STORE_SQLITE_PURGE_CHUNK);
	if (sqlite3_step(inc) != SQLITE_DONE) {
		store_sqlite_fail(ss, "purge incidents");
		goto done;
	}
	/* Logins matter only near records that are kept. */
	if (store_sqlite_script_bound(ss, "DELETE FROM logins WHERE "
	    "last_us < ?1", before_us) != 0)
		goto done;
	ret = 0;
done:
	if (deleted_out != NULL)
		*deleted_out = deleted;
	sqlite3_finalize(del);
	sqlite3_finalize(inc);
	return (ret);
}

static void
store_sqlite_read_record(sqlite3_stmt *stmt, struct attack_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->time_us = sqlite3_column_int64(stmt, 1);
	rec->kind = (enum attack_kind)sqlite3_column_int(stmt, 2);
	column_text(stmt, 3, rec->client_ip, sizeof(rec->client_ip));
	column_text(stmt, 4, rec->client_name, sizeof(rec->client_name));
	column_text(stmt, 5, rec->helo, sizeof(rec->helo));
	column_text(stmt, 6, rec->from, sizeof(rec->from));
	column_text(stmt, 7, rec->to, sizeof(rec->to));
	column_text(stmt, 8, rec->user, sizeof(rec->user));
	column_text(stmt, 9, rec->session, sizeof(rec->session));
	column_text(stmt, 10, rec->reply, sizeof(rec->reply));
	rec->port = sqlite3_column_int(stmt, 11);
	rec->withdrawn = sqlite3_column_int(stmt, 12) != 0;
	column_text(stmt, 13, rec->node, sizeof(rec->node));
}

static int
store_sqlite_query(struct store *st, const struct store_query *q,
    store_record_cb cb, void *arg)
{
	struct store_sqlite	*ss = store_sqlite(st);
	struct attack_record	 rec;
	sqlite3_stmt		*stmt = NULL;
	char			 sql[1024];
	const char		*and = " WHERE ";
	int			 rc, ret = -1;
	bool			 fits = true;

	/*
	 * Only constant fragments go into the text; every value is bound.
	 * Each filter set has an index: (time_us), (kind, time_us) or
	 * (client_ip, time_us), rowid last, so "the newest N" reads N index
	 * entries backwards instead of sorting the table.
	 */
	fits &= text_copy(sql, "SELECT " ATTACK_COLUMNS " FROM attacks",
	    sizeof(sql));
	if (q->kind >= 0) {
		fits &= text_append(sql, and, sizeof(sql));
		fits &= text_append(sql, "kind = :kind", sizeof(sql));
		and = " AND ";
	}
	if (q->client_ip != NULL) {
		fits &= text_append(sql, and, sizeof(sql));
		fits &= text_append(sql, "client_ip = :ip", sizeof(sql));
		and = " AND ";
	}
	if (q->since_us != 0) {
		fits &= text_append(sql, and, sizeof(sql));
		fits &= text_append(sql, "time_us >= :since", sizeof(sql));
		and = " AND ";
	}
	if (q->until_us != 0) {
		fits &= text_append(sql, and, sizeof(sql));
		fits &= text_append(sql, "time_us < :until", sizeof(sql));
		and = " AND ";
	}
	if (st->filter.active) {
		fits &= text_append(sql, and, sizeof(sql));
		fits &= text_append(sql, STORE_SQLITE_PUBLIC, sizeof(sql));
	}
	if (q->limit > 0) {
		char inner[1024];

		fits &= text_copy(inner, sql, sizeof(inner));
		fits &= text_printf(sql, sizeof(sql), "SELECT * FROM (%s "
		    "ORDER BY time_us DESC, id DESC LIMIT :limit) "
		    "ORDER BY time_us, id", inner);
	} else
		fits &= text_append(sql, " ORDER BY time_us, id", sizeof(sql));
	if (!fits)
		FATAL("query text does not fit");

	if (store_sqlite_prepare(ss, sql, &stmt) != 0)
		return (-1);
	if (q->kind >= 0)
		sqlite3_bind_int(stmt, sqlite3_bind_parameter_index(stmt,
		    ":kind"), q->kind);
	if (q->client_ip != NULL)
		bind_text(stmt, sqlite3_bind_parameter_index(stmt, ":ip"),
		    q->client_ip);
	if (q->since_us != 0)
		sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt,
		    ":since"), q->since_us);
	if (q->until_us != 0)
		sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt,
		    ":until"), q->until_us);
	if (q->limit > 0)
		sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt,
		    ":limit"), q->limit > INT64_MAX ? INT64_MAX :
		    (int64_t)q->limit);
	if (st->filter.active)
		sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt,
		    ":kmask"), st->filter.kinds);

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_sqlite_read_record(stmt, &rec);
		if ((ret = cb(&rec, arg)) != 0)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = store_sqlite_fail(ss, "query");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(stmt);
	return (ret);
}

static int
store_sqlite_totals(struct store *st, struct store_totals *out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	int			 kind, rc;
	int64_t			 n;

	memset(out, 0, sizeof(*out));
	/* Withdrawn counts first (negative), then all counts. */
	if (store_sqlite_prepare(ss, "SELECT kind, -SUM(count), 1 "
	    "FROM daily_withdrawn GROUP BY kind UNION ALL "
	    "SELECT kind, SUM(count), 0 FROM daily_counts GROUP BY kind",
	    &stmt) != 0)
		return (-1);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		kind = sqlite3_column_int(stmt, 0);
		n = sqlite3_column_int64(stmt, 1);
		if (!st->filter.active) {
			/* The admin sees them all; withdrawn ones apart. */
			if (sqlite3_column_int(stmt, 2) != 0) {
				out->withdrawn += (uint64_t)-n;
				continue;
			}
		} else if ((ATTACK_KIND_BIT(kind) & st->filter.kinds) == 0)
			continue;
		out->total += (uint64_t)n;
		if (kind >= 0 && kind < ATTACK_KIND_COUNT)
			out->by_kind[kind] += (uint64_t)n;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "totals"));

	if (store_sqlite_prepare(ss, st->filter.active ?
	    "SELECT COUNT(*) FROM incidents i WHERE EXISTS (SELECT 1 FROM "
	    "attacks WHERE client_ip = i.client_ip AND time_us >= i.first_us "
	    "AND time_us <= i.last_us AND " STORE_SQLITE_PUBLIC ")" :
	    "SELECT COUNT(*) FROM incidents", &stmt) != 0)
		return (-1);
	if (st->filter.active)
		sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt,
		    ":kmask"), st->filter.kinds);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		out->incidents = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return (store_sqlite_fail(ss, "count incidents"));
	return (0);
}

static int
store_sqlite_daily(struct store *st, int64_t now_us, size_t ndays,
    struct store_day *out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	char			 day[STORE_DAY_MAX];
	size_t			 i, j;
	int			 kind, rc;

	if (ndays == 0)
		return (0);
	memset(out, 0, ndays * sizeof(*out));
	for (i = 0; i < ndays; i++)
		store_day_of(now_us - (int64_t)(ndays - 1 - i) * 86400 *
		    1000000, out[i].day);
	/* The public view counts what was not withdrawn. */
	if (store_sqlite_prepare(ss, st->filter.active ?
	    "SELECT day, kind, SUM(c) FROM ("
	    "SELECT day, kind, count AS c FROM daily_counts "
	    "WHERE day >= ?1 AND day <= ?2 UNION ALL "
	    "SELECT day, kind, -count FROM daily_withdrawn "
	    "WHERE day >= ?1 AND day <= ?2) "
	    "GROUP BY day, kind ORDER BY day" :
	    "SELECT day, kind, SUM(count) "
	    "FROM daily_counts WHERE day >= ?1 AND day <= ?2 "
	    "GROUP BY day, kind ORDER BY day", &stmt) != 0)
		return (-1);
	bind_text(stmt, 1, out[0].day);
	bind_text(stmt, 2, out[ndays - 1].day);
	j = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		column_text(stmt, 0, day, sizeof(day));
		kind = sqlite3_column_int(stmt, 1);
		while (j < ndays && strcmp(out[j].day, day) < 0)
			j++;
		if (j == ndays)
			break;
		if (strcmp(out[j].day, day) != 0)
			continue;
		if (st->filter.active &&
		    (ATTACK_KIND_BIT(kind) & st->filter.kinds) == 0)
			continue;
		out[j].count += (uint64_t)sqlite3_column_int64(stmt, 2);
		if (kind >= 0 && kind < ATTACK_KIND_COUNT)
			out[j].by_kind[kind] +=
			    (uint64_t)sqlite3_column_int64(stmt, 2);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (store_sqlite_fail(ss, "daily counts"));
	return (0);
}

/*
 * Top lists. One pass over the (client_ip, time_us) index gives the count
 * per address in address order; the top addresses are kept in a small
 * sorted array, and the counts are summed per network in a hash table
 * keyed by the binary network (attack_network_key()).
 */
struct nethash_entry {
	struct attack_netkey	 key;
	bool			 used;
	uint64_t		 count;
};

struct nethash {
	struct nethash_entry	*e;
	size_t			 cap;		/* a power of two */
	size_t			 n;
};

static size_t
nethash_slot(const struct nethash *h, const struct attack_netkey *key)
{
	const uint8_t	*p = (const uint8_t *)key;
	uint64_t	 x = 1469598103934665603ULL;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < sizeof(*key); i++) {
		x ^= p[i];
		x *= 1099511628211ULL;
	}
	return ((size_t)x & (h->cap - 1));
}

static int
nethash_add(struct nethash *h, const struct attack_netkey *key,
    uint64_t count)
{
	struct nethash_entry	*old;
	size_t			 oldcap, i, s;

	if (h->n * 2 >= h->cap) {
		old = h->e;
		oldcap = h->cap;
		h->cap = oldcap == 0 ? 1024 : oldcap * 2;
		if ((h->e = calloc(h->cap, sizeof(*h->e))) == NULL) {
			h->e = old;
			h->cap = oldcap;
			return (-1);
		}
		h->n = 0;
		for (i = 0; i < oldcap; i++) {
			if (old[i].used)
				(void)nethash_add(h, &old[i].key,
				    old[i].count);
		}
		free(old);
	}
	for (s = nethash_slot(h, key);; s = (s + 1) & (h->cap - 1)) {
		if (!h->e[s].used) {
			h->e[s].used = true;
			h->e[s].key = *key;
			h->e[s].count = count;
			h->n++;
			return (0);
		}
		if (memcmp(&h->e[s].key, key, sizeof(*key)) == 0) {
			h->e[s].count += count;
			return (0);
		}
	}
}

static int
store_sqlite_top(struct store *st, struct store_top *addrs, size_t naddrs,
    size_t *naddrs_out, struct store_top *nets, size_t nnets,
    size_t *nnets_out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	struct nethash		 h = { NULL, 0, 0 };
	struct attack_netkey	 key;
	char			 ip[IPADDR_TEXT_MAX], net[STORE_NETWORK_MAX];
	uint64_t		 count;
	size_t			 i;
	int			 rc, ret = -1;

	*naddrs_out = *nnets_out = 0;
	if (store_sqlite_prepare(ss, st->filter.active ?
	    "SELECT client_ip, COUNT(*) FROM attacks WHERE "
	    STORE_SQLITE_PUBLIC " GROUP BY client_ip" :
	    "SELECT client_ip, COUNT(*) FROM attacks GROUP BY client_ip",
	    &stmt) != 0)
		return (-1);
	if (st->filter.active)
		sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt,
		    ":kmask"), st->filter.kinds);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		column_text(stmt, 0, ip, sizeof(ip));
		count = (uint64_t)sqlite3_column_int64(stmt, 1);
		store_top_insert(addrs, naddrs, naddrs_out, ip, count);
		if (nnets > 0 && attack_network_key(ip, &key) &&
		    nethash_add(&h, &key, count) != 0) {
			store_sqlite_fail_msg(ss, "top networks: out of "
			    "memory");
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_fail(ss, "top addresses");
		goto done;
	}
	for (i = 0; i < h.cap; i++) {
		if (!h.e[i].used)
			continue;
		/* Format only what could make the list. */
		if (*nnets_out == nnets && h.e[i].count < nets[nnets - 1].count)
			continue;
		if (attack_network_format(&h.e[i].key, net, sizeof(net)))
			store_top_insert(nets, nnets, nnets_out, net, h.e[i].count);
	}
	ret = 0;
done:
	free(h.e);
	sqlite3_finalize(stmt);
	return (ret);
}

/*
 * The public form of incident in (store_filter): count, kinds, senders,
 * span and name recomputed from its public records. 1 when it has some,
 * 0 when none (the incident is not shown), -1 on error.
 */
static int
store_sqlite_incident_public(struct store_sqlite *ss,
    struct store_incident *in)
{
	sqlite3_stmt		*stmt = NULL;
	struct attack_record	 rec;
	const char		*sender;
	int			 rc;

	if (store_sqlite_prepare(ss, "SELECT " ATTACK_COLUMNS " FROM attacks "
	    "WHERE client_ip = ?1 AND time_us >= ?2 AND time_us <= ?3 AND "
	    STORE_SQLITE_PUBLIC " ORDER BY time_us, id", &stmt) != 0)
		return (-1);
	bind_text(stmt, 1, in->client_ip);
	sqlite3_bind_int64(stmt, 2, in->first_us);
	sqlite3_bind_int64(stmt, 3, in->last_us);
	sqlite3_bind_int64(stmt, sqlite3_bind_parameter_index(stmt, ":kmask"),
	    ss->base.filter.kinds);
	in->count = 0;
	in->kinds = 0;
	in->targeted = false;
	in->senders[0] = '\0';
	(void)text_copy(in->client_name, "unknown", sizeof(in->client_name));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_sqlite_read_record(stmt, &rec);
		if (in->count == 0)
			in->first_us = rec.time_us;
		in->last_us = rec.time_us;
		in->count++;
		in->kinds |= kind_bit((int)rec.kind);
		in->targeted = in->targeted ||
		    attack_kind_is_targeted(rec.kind);
		if (strcmp(in->client_name, "unknown") == 0 &&
		    rec.client_name[0] != '\0')
			(void)text_copy(in->client_name, rec.client_name,
			    sizeof(in->client_name));
		if ((sender = attack_sender(&rec)) != NULL)
			(void)attack_senders_add(in->senders,
			    sizeof(in->senders), sender);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "incident records"));
	return (in->count > 0 ? 1 : 0);
}

/* Incidents a public handle looks at to find its newest public ones. */
#define STORE_SQLITE_INCIDENT_SCAN	10000

static int
store_sqlite_incidents(struct store *st, struct store_incident *out,
    size_t max, size_t *n_out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	int			 rc = SQLITE_DONE, pub;
	size_t			 scanned = 0;

	*n_out = 0;
	if (store_sqlite_prepare(ss, "SELECT " INCIDENT_COLUMNS
	    " FROM incidents ORDER BY last_us DESC, id DESC LIMIT ?1",
	    &stmt) != 0)
		return (-1);
	sqlite3_bind_int64(stmt, 1, st->filter.active ?
	    STORE_SQLITE_INCIDENT_SCAN : max > INT64_MAX ? INT64_MAX :
	    (int64_t)max);
	while (*n_out < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_sqlite_read_incident(stmt, &out[*n_out]);
		scanned++;
		if (st->filter.active) {
			if ((pub = store_sqlite_incident_public(ss,
			    &out[*n_out])) < 0) {
				sqlite3_finalize(stmt);
				return (-1);
			}
			if (pub == 0)
				continue;
		}
		(*n_out)++;
	}
	(void)scanned;
	if (*n_out < max && rc != SQLITE_DONE) {
		sqlite3_finalize(stmt);
		return (store_sqlite_fail(ss, "incidents"));
	}
	sqlite3_finalize(stmt);
	return (0);
}

static int
store_sqlite_incident_get(struct store *st, int64_t id,
    struct store_incident *out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	int			 rc;

	if (store_sqlite_prepare(ss, "SELECT " INCIDENT_COLUMNS
	    " FROM incidents WHERE id = ?1", &stmt) != 0)
		return (-1);
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		store_sqlite_read_incident(stmt, out);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW && st->filter.active) {
		int pub = store_sqlite_incident_public(ss, out);

		return (pub < 0 ? -1 : pub == 0 ? 1 : 0);
	}
	if (rc == SQLITE_ROW)
		return (0);
	if (rc == SQLITE_DONE)
		return (1);
	return (store_sqlite_fail(ss, "incident"));
}

/*
 * A login from key: remember it, then withdraw the records of key within
 * window_us of it. Records are found by time (the time_us index) and
 * matched by key here, since an IPv6 key is a /64 of many addresses.
 */
static int
store_sqlite_login(struct store *st, const char *key, int64_t time_us,
    int64_t window_us, uint64_t *withdrawn_out)
{
	struct store_sqlite		*ss = store_sqlite(st);
	struct store_sqlite_daysum	 wdays[STORE_SQLITE_DAYS_MAX];
	sqlite3_stmt			*sel = NULL, *upd = NULL, *put = NULL;
	char				 ip[IPADDR_TEXT_MAX];
	char				 rkey[IPADDR_TEXT_MAX + 4];
	size_t				 nwdays = 0;
	uint64_t			 withdrawn = 0;
	int				 rc, ret = -1;

	if (withdrawn_out != NULL)
		*withdrawn_out = 0;
	if (ss->readonly)
		return (store_sqlite_fail_msg(ss, "store is read-only"));
	if (store_sqlite_exec(ss, STMT_BEGIN) != 0)
		return (-1);
	if (store_sqlite_prepare(ss, "INSERT INTO logins (network, last_us) "
	    "VALUES (?1, ?2) ON CONFLICT (network) DO UPDATE SET last_us = "
	    "MAX(last_us, excluded.last_us)", &put) != 0 ||
	    store_sqlite_prepare(ss, "SELECT id, time_us, kind, client_ip "
	    "FROM attacks WHERE time_us >= ?1 AND time_us <= ?2 AND "
	    "withdrawn = 0", &sel) != 0 ||
	    store_sqlite_prepare(ss, "UPDATE attacks SET withdrawn = 1 "
	    "WHERE id = ?1", &upd) != 0)
		goto done;
	bind_text(put, 1, key);
	sqlite3_bind_int64(put, 2, time_us);
	if (sqlite3_step(put) != SQLITE_DONE) {
		store_sqlite_fail(ss, "login");
		goto done;
	}
	if (window_us > 0) {
		sqlite3_bind_int64(sel, 1, time_us - window_us);
		sqlite3_bind_int64(sel, 2, time_us + window_us);
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			column_text(sel, 3, ip, sizeof(ip));
			if (!attack_login_key(ip, rkey, sizeof(rkey)) ||
			    strcmp(rkey, key) != 0)
				continue;
			sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
			if (sqlite3_step(upd) != SQLITE_DONE) {
				store_sqlite_fail(ss, "withdraw");
				goto done;
			}
			sqlite3_reset(upd);
			if (store_sqlite_add_day_to(ss, STMT_ADD_WITHDRAWN_DAY,
			    wdays, &nwdays, sqlite3_column_int64(sel, 1),
			    sqlite3_column_int(sel, 2)) != 0)
				goto done;
			withdrawn++;
		}
		if (rc != SQLITE_DONE) {
			store_sqlite_fail(ss, "withdraw: select");
			goto done;
		}
	}
	if (store_sqlite_flush_days_to(ss, STMT_ADD_WITHDRAWN_DAY, wdays,
	    &nwdays) != 0 || store_sqlite_exec(ss, STMT_COMMIT) != 0)
		goto done;
	if (withdrawn_out != NULL)
		*withdrawn_out = withdrawn;
	ret = 0;
done:
	sqlite3_finalize(put);
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (ret != 0) {
		(void)sqlite3_step(ss->stmt[STMT_ROLLBACK]);
		sqlite3_reset(ss->stmt[STMT_ROLLBACK]);
	}
	return (ret);
}

static int
store_sqlite_grant_put(struct store *st, const char *network,
    const char *user, int64_t expires_us)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	int			 rc;

	if (store_sqlite_prepare(ss, "INSERT INTO grants (network, user, "
	    "expires_us) VALUES (?1, ?2, ?3) ON CONFLICT (network) DO UPDATE "
	    "SET user = excluded.user, expires_us = excluded.expires_us",
	    &stmt) != 0)
		return (-1);
	sqlite3_bind_text(stmt, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, expires_us);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "grant put"));
	/* Expired grants are dead weight: sweep them now and then. */
	if (store_sqlite_prepare(ss, "DELETE FROM grants WHERE expires_us < ?1",
	    &stmt) == 0) {
		sqlite3_bind_int64(stmt, 1, expires_us - 86400LL * 1000000);
		sqlite3_step(stmt);
		sqlite3_finalize(stmt);
	}
	return (0);
}

static int
store_sqlite_grant_get(struct store *st, const char *network, int64_t now_us,
    char *user_out, size_t userlen, int64_t *expires_out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = ss->stmt[STMT_GRANT_GET];
	bool			 own = stmt == NULL;
	int			 rc;

	/* The engine asks for every recipient that needs a licence: keep
	 * the statement prepared (read-write handles have it). */
	if (own && store_sqlite_prepare(ss, store_sqlite_stmt_sql[
	    STMT_GRANT_GET], &stmt) != 0)
		return (-1);
	sqlite3_bind_text(stmt, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now_us);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *u = sqlite3_column_text(stmt, 0);

		text_copy(user_out, u ? (const char *)u : "", userlen);
		if (expires_out != NULL)
			*expires_out = sqlite3_column_int64(stmt, 1);
	}
	if (own)
		sqlite3_finalize(stmt);
	else {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
	if (rc == SQLITE_ROW)
		return (0);
	if (rc == SQLITE_DONE)
		return (1);
	return (store_sqlite_fail(ss, "grant get"));
}

static int
store_sqlite_grant_revoke(struct store *st, const char *network,
    uint64_t *deleted_out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	int			 rc;

	if (store_sqlite_prepare(ss, "DELETE FROM grants WHERE network = ?1",
	    &stmt) != 0)
		return (-1);
	sqlite3_bind_text(stmt, 1, network, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "grant revoke"));
	*deleted_out = (uint64_t)sqlite3_changes(ss->db);
	return (0);
}

static int
store_sqlite_grant_list(struct store *st, int64_t now_us,
    store_grant_cb cb, void *arg)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	int			 rc;

	if (store_sqlite_prepare(ss, "SELECT network, user, expires_us FROM "
	    "grants WHERE expires_us > ?1 ORDER BY expires_us", &stmt) != 0)
		return (-1);
	sqlite3_bind_int64(stmt, 1, now_us);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *n = sqlite3_column_text(stmt, 0);
		const unsigned char *u = sqlite3_column_text(stmt, 1);

		if (cb(n ? (const char *)n : "", u ? (const char *)u : "",
		    sqlite3_column_int64(stmt, 2), arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "grant list"));
	return (0);
}

static int
store_sqlite_ban_put(struct store *st, const struct ban_entry *e, size_t n,
    int64_t keep_us)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	char			 net[BAN_NET_TEXT_MAX];
	size_t			 i;
	int			 rc = SQLITE_DONE;

	if (n == 0)
		return (0);
	if (store_sqlite_script(ss->db, "BEGIN IMMEDIATE") != 0)
		return (store_sqlite_fail(ss, "ban put: begin"));
	if (store_sqlite_prepare(ss, "INSERT INTO bans (network, start_us, "
	    "expires_us, level, manual) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (network) DO UPDATE SET start_us = "
	    "excluded.start_us, expires_us = excluded.expires_us, level = "
	    "excluded.level, manual = excluded.manual", &stmt) != 0)
		goto fail;
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		if (!ban_net_format(&e[i].net, net, sizeof(net)))
			continue;
		sqlite3_bind_text(stmt, 1, net, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(stmt, 2, e[i].start_us);
		sqlite3_bind_int64(stmt, 3, e[i].expires_us);
		sqlite3_bind_int64(stmt, 4, e[i].level);
		sqlite3_bind_int(stmt, 5, e[i].manual);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (rc != SQLITE_DONE) {
		store_sqlite_fail(ss, "ban put");
		goto fail;
	}
	if (store_sqlite_prepare(ss, "DELETE FROM bans WHERE expires_us < ?1",
	    &stmt) == 0) {
		sqlite3_bind_int64(stmt, 1, e[0].start_us - keep_us);
		sqlite3_step(stmt);
		sqlite3_finalize(stmt);
	}
	if (store_sqlite_script(ss->db, "COMMIT") != 0) {
		store_sqlite_fail(ss, "ban put: commit");
		goto fail;
	}
	return (0);
fail:
	(void)store_sqlite_script(ss->db, "ROLLBACK");
	return (-1);
}

static int
store_sqlite_ban_delete(struct store *st, const struct ban_net *net,
    uint64_t *deleted_out)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	char			 text[BAN_NET_TEXT_MAX];
	int			 rc;

	if (!ban_net_format(net, text, sizeof(text)))
		return (store_sqlite_fail_msg(ss, "ban delete: bad network"));
	if (store_sqlite_prepare(ss, "DELETE FROM bans WHERE network = ?1",
	    &stmt) != 0)
		return (-1);
	sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "ban delete"));
	*deleted_out = (uint64_t)sqlite3_changes(ss->db);
	return (0);
}

static int
store_sqlite_ban_list(struct store *st, int64_t since_us, store_ban_cb cb,
    void *arg)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	struct ban_entry	 e;
	const char		*why;
	int			 rc;

	if (store_sqlite_prepare(ss, "SELECT network, start_us, expires_us, "
	    "level, manual FROM bans WHERE expires_us > ?1 ORDER BY network",
	    &stmt) != 0)
		return (-1);
	sqlite3_bind_int64(stmt, 1, since_us);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *n = sqlite3_column_text(stmt, 0);

		memset(&e, 0, sizeof(e));
		/* A row another writer botched is skipped, not trusted. */
		if (n == NULL || !ban_net_parse((const char *)n, &e.net, &why))
			continue;
		e.start_us = sqlite3_column_int64(stmt, 1);
		e.expires_us = sqlite3_column_int64(stmt, 2);
		e.level = (uint32_t)sqlite3_column_int64(stmt, 3);
		e.manual = sqlite3_column_int(stmt, 4) != 0;
		if (cb(&e, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "ban list"));
	return (0);
}

/*
 * The import table is created on first use rather than by a schema step:
 * only `pillory import` needs it, and it is additive (IF NOT EXISTS).
 */
static int
store_sqlite_import_mark(struct store *st, const char *key)
{
	struct store_sqlite	*ss = store_sqlite(st);
	sqlite3_stmt		*stmt = NULL;
	int			 rc;

	if (store_sqlite_script(ss->db, "CREATE TABLE IF NOT EXISTS "
	    "imported (key TEXT PRIMARY KEY) WITHOUT ROWID") != 0)
		return (store_sqlite_fail(ss, "import table"));
	if (store_sqlite_prepare(ss, "INSERT OR IGNORE INTO imported (key) "
	    "VALUES (?1)", &stmt) != 0)
		return (-1);
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(ss, "import mark"));
	return (sqlite3_changes(ss->db) == 1 ? 0 : 1);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.errmsg = store_sqlite_errmsg,
	.insert_batch = store_sqlite_insert_batch,
	.purge = store_sqlite_purge,
	.query = store_sqlite_query,
	.totals = store_sqlite_totals,
	.daily = store_sqlite_daily,
	.top = store_sqlite_top,
	.incidents = store_sqlite_incidents,
	.incident_get = store_sqlite_incident_get,
	.grant_put = store_sqlite_grant_put,
	.grant_get = store_sqlite_grant_get,
	.grant_revoke = store_sqlite_grant_revoke,
	.grant_list = store_sqlite_grant_list,
	.login = store_sqlite_login,
	.ban_put = store_sqlite_ban_put,
	.ban_delete = store_sqlite_ban_delete,
	.ban_list = store_sqlite_ban_list,
	.import_mark = store_sqlite_import_mark,
};
