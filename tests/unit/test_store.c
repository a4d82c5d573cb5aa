/*
 * test_store.c: cmocka unit tests for the SQLite attack log store
 * (store_sqlite.c through store.h): schema creation and migration from an
 * empty file, batch insert (all or nothing), queries with filters and
 * "the newest N, oldest first", daily counts surviving purges, incident
 * grouping (gap, targeted flag, bounded distinct senders), top addresses
 * and networks. Each test works in its own temporary directory.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "attacklog.h"
#include "store.h"
#include "store_spool.h"

#define MIN_US		(60LL * 1000000)
#define DAY_US		(86400LL * 1000000)
/* 2002-03-08T06:32:50Z, the seed's first attempt. */
#define SEED_US		(1015569170LL * 1000000)

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct store	*st;
};

static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/attacklog.db", f->dir);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 p[160];

	store_close(f->st);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return (0);
}

static struct store *
open_rw(struct fixture *f)
{
	char	err[256];

	f->st = store_open("sqlite", f->path, false, err, sizeof(err));
	if (f->st == NULL)
		fail_msg("open: %s", err);
	return (f->st);
}

static struct attack_record
rec_make(int64_t t_us, enum attack_kind kind, const char *ip,
    const char *from, const char *to)
{
	struct attack_record	r;

	memset(&r, 0, sizeof(r));
	r.time_us = t_us;
	r.kind = kind;
	snprintf(r.client_ip, sizeof(r.client_ip), "%s", ip);
	snprintf(r.client_name, sizeof(r.client_name), "unknown");
	snprintf(r.helo, sizeof(r.helo), "attacker");
	snprintf(r.from, sizeof(r.from), "%s", from);
	snprintf(r.to, sizeof(r.to), "%s", to);
	snprintf(r.session, sizeof(r.session), "00000000000000ab");
	snprintf(r.reply, sizeof(r.reply), "554 5.7.1 relay denied");
	r.port = 25;
	return (r);
}

static void
insert1(struct store *st, const struct attack_record *r)
{
	assert_int_equal(store_insert_batch(st, r, 1), 0);
}

/* Collects query results. */
struct collect {
	struct attack_record	recs[64];
	size_t			n;
	size_t			stop_after;	/* 0: never */
};

static int
collect_cb(const struct attack_record *rec, void *arg)
{
	struct collect	*c = arg;

	if (c->n < 64)
		c->recs[c->n] = *rec;
	c->n++;
	if (c->stop_after != 0 && c->n == c->stop_after)
		return (7);
	return (0);
}

static void
query(struct store *st, int kind, int64_t since, uint64_t limit,
    const char *ip, struct collect *c)
{
	struct store_query	q;

	memset(&q, 0, sizeof(q));
	q.kind = kind;
	q.since_us = since;
	q.limit = limit;
	q.client_ip = ip;
	memset(c, 0, sizeof(*c));
	assert_int_equal(store_query(st, &q, collect_cb, c), 0);
}

static int
user_version(const char *path)
{
	sqlite3		*db;
	sqlite3_stmt	*stmt;
	int		 v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1,
	    &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return (v);
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3	*db;
	char	*msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void
test_backend_by_name(void **state)
{
	char	err[128];

	(void)state;
	assert_ptr_equal(store_backend("sqlite"), &store_sqlite_ops);
	assert_ptr_equal(store_backend("postgresql"), &store_pg_ops);
	assert_null(store_open("nosuch", "/nonexistent", true, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "nosuch"));
}

/* The backend follows the store's location: a URL names PostgreSQL. */
static void
test_backend_of_url(void **state)
{
	(void)state;
	assert_string_equal(store_backend_of_url(""), "sqlite");
	assert_string_equal(store_backend_of_url("/var/lib/pillory/a.db"),
	    "sqlite");
	assert_string_equal(store_backend_of_url(
	    "postgresql://u:p@db.example/pillory?sslmode=verify-full"),
	    "postgresql");
	assert_string_equal(store_backend_of_url("postgres://db/pillory"),
	    "postgresql");
	/* Scheme names are exact: a file may be called "postgresql:x". */
	assert_string_equal(store_backend_of_url("postgresql:x"), "sqlite");
	assert_string_equal(store_backend_of_url("mysql://db/x"), "sqlite");
}

/* A password in the URI (user:pw@ or password=) is seen, and only that. */
static void
test_url_password(void **state)
{
	(void)state;
	assert_true(store_url_has_password("postgresql://u:pw@db/x"));
	assert_true(store_url_has_password(
	    "postgres://db/x?sslmode=require&password=pw"));
	assert_true(store_url_has_password("postgresql://db/x?password=pw"));
	assert_false(store_url_has_password("postgresql://u@db/x"));
	assert_false(store_url_has_password("postgresql://db:5432/x"));
	assert_false(store_url_has_password(
	    "postgresql://u@[2001:db8::1]:5432/x?sslmode=verify-full"));
	assert_false(store_url_has_password("/var/lib/pillory/u:pw@x.db"));
}

/* The spool line of a record round-trips, whatever its text. */
static void
test_spool_format(void **state)
{
	struct attack_record	 r, back;
	char			 line[STORE_SPOOL_LINE_MAX];
	const char		*why;
	size_t			 len;

	(void)state;
	r = rec_make(1015569170000000LL, ATTACK_SPOOFED_RELAY,
	    "211.219.235.140", "bbbb@gabacho-net.jp", "victim@empal.com");
	snprintf(r.node, sizeof(r.node), "mx-a");
	snprintf(r.uid, sizeof(r.uid), "mx-a:17:1");
	snprintf(r.helo, sizeof(r.helo), "tab\there\\ nl\n cr\r");
	r.withdrawn = true;
	assert_true(store_spool_format(&r, line, sizeof(line)));
	assert_true(strncmp(line, "P1\tmx-a:17:1\t1015569170000000\t1\t25\t1\t"
	    "211.219.235.140\tunknown\ttab\\there\\\\ nl\\n cr\\r\t",
	    60) == 0);
	len = strlen(line);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	assert_true(store_spool_parse(line, len - 1, &back, &why));
	assert_memory_equal(&r, &back, sizeof(r));
	/* Too small a buffer is refused, never overrun. */
	assert_false(store_spool_format(&r, line, 40));
}

/* Malformed spool lines are refused with a reason, never half-read. */
static void
test_spool_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"",
		"P1",
		"P2\tu\t1\t0\t25\t0\tip\tn\th\tf\tt\tu\ts\tr\tnode",
		"P1\tu\tx1\t0\t25\t0\tip\tn\th\tf\tt\tu\ts\tr\tnode",
		"P1\tu\t1\t99\t25\t0\tip\tn\th\tf\tt\tu\ts\tr\tnode",
		"P1\tu\t1\t0\t70000\t0\tip\tn\th\tf\tt\tu\ts\tr\tnode",
		"P1\tu\t1\t0\t25\t2\tip\tn\th\tf\tt\tu\ts\tr\tnode",
		"P1\tu\t1\t0\t25\t0\tip\tn\th\\q\tf\tt\tu\ts\tr\tnode",
		"P1\tu\t1\t0\t25\t0\tip\tn\th\tf\tt\tu\ts\tr\tnode\textra",
		"P1\tu\t1\t0\t25\t0\tip\tn\th\tf\tt\tu\ts\tr\\",
	};
	struct attack_record	 r;
	char			 longip[256];
	const char		*why;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_false(store_spool_parse(bad[i], strlen(bad[i]), &r,
		    &why));
		assert_non_null(why);
	}
	/* A field longer than the record's is refused, not cut. */
	memset(longip, '1', sizeof(longip) - 1);
	longip[sizeof(longip) - 1] = '\0';
	{
		char	line[1024];

		snprintf(line, sizeof(line), "P1\tu\t1\t0\t25\t0\t%s\tn\th"
		    "\tf\tt\tu\ts\tr\tnode", longip);
		assert_false(store_spool_parse(line, strlen(line), &r, &why));
	}
}

static int
spool_count_cb(const struct attack_record *recs, size_t n, void *arg)
{
	uint64_t	*total = arg;

	(void)recs;
	*total += n;
	return (*total > 5000 ? -1 : 0);
}

/* Append, replay, a failed replay keeps the records, a full spool refuses. */
static void
test_spool_files(void **state)
{
	struct fixture		*f = *state;
	struct store_spool	*sp;
	struct attack_record	 r[3];
	char			 dir[200], err[256], p[300];
	uint64_t		 total = 0, done;
	FILE			*fp;

	snprintf(dir, sizeof(dir), "%s/spool", f->dir);
	assert_non_null(sp = store_spool_open(dir, 4096, err, sizeof(err)));
	r[0] = rec_make(1, ATTACK_RELAY, "192.0.2.1", "a@x", "b@y");
	r[1] = rec_make(2, ATTACK_RELAY, "192.0.2.2", "a@x", "b@y");
	r[2] = rec_make(3, ATTACK_RELAY, "192.0.2.3", "a@x", "b@y");
	assert_int_equal(store_spool_append(sp, r, 3, err, sizeof(err)), 0);
	assert_true(store_spool_bytes(sp) > 0);
	/* A torn last line (a crash mid-append) is skipped. */
	snprintf(p, sizeof(p), "%s/records", dir);
	assert_non_null(fp = fopen(p, "a"));
	fputs("P1\tu\t1", fp);
	fclose(fp);
	assert_int_equal(store_spool_replay(sp, spool_count_cb, &total,
	    &done), 0);
	assert_int_equal(total, 3);
	assert_int_equal(done, 3);
	assert_int_equal(store_spool_bytes(sp), 0);
	/* Full: refused whole, with a message. */
	while (store_spool_append(sp, r, 3, err, sizeof(err)) == 0)
		;
	assert_non_null(strstr(err, "spool full"));
	/* A callback that fails leaves everything for the next replay. */
	total = 5000;
	assert_int_equal(store_spool_replay(sp, spool_count_cb, &total,
	    &done), -1);
	assert_true(store_spool_bytes(sp) > 0);
	total = 0;
	assert_int_equal(store_spool_replay(sp, spool_count_cb, &total,
	    &done), 0);
	assert_true(total > 3);
	store_spool_close(sp);
	snprintf(p, sizeof(p), "%s/records", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/replaying", dir);
	unlink(p);
	rmdir(dir);
}

/* A record keeps the node that wrote it. */
static void
test_node_round_trip(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r[2];
	struct collect		 c;

	open_rw(f);
	r[0] = rec_make(1000000, ATTACK_RELAY, "192.0.2.1", "a@x", "b@y");
	r[1] = rec_make(2000000, ATTACK_RELAY, "192.0.2.1", "a@x", "b@y");
	snprintf(r[0].node, sizeof(r[0].node), "mx1.example");
	snprintf(r[1].node, sizeof(r[1].node), "mx2.example");
	assert_int_equal(store_insert_batch(f->st, r, 2), 0);
	query(f->st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.recs[0].node, "mx1.example");
	assert_string_equal(c.recs[1].node, "mx2.example");
}

static void
test_migrate_empty_file(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	int		 fd;

	/* An empty file is a database at version 0. */
	fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	open_rw(f);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(user_version(f->path), 5);

	/* Opening again is a no-op, read-only works. */
	open_rw(f);
	store_close(f->st);
	f->st = store_open("sqlite", f->path, true, err, sizeof(err));
	assert_non_null(f->st);
}

static void
test_readonly_refuses(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r;
	char			 err[256];

	/* No file: read-only never creates one. */
	assert_null(store_open("sqlite", f->path, true, err, sizeof(err)));
	assert_int_equal(access(f->path, F_OK), -1);

	/* A database that is not an attack log. */
	raw_exec(f->path, "CREATE TABLE other (x)");
	assert_null(store_open("sqlite", f->path, true, err, sizeof(err)));
	assert_non_null(strstr(err, "not an attack log"));

	/* A newer schema is refused, not downgraded. */
	raw_exec(f->path, "PRAGMA user_version = 99");
	assert_null(store_open("sqlite", f->path, false, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(user_version(f->path), 99);

	/* Writes through a read-only handle fail cleanly. */
	raw_exec(f->path, "PRAGMA user_version = 0; DROP TABLE other");
	open_rw(f);
	store_close(f->st);
	f->st = store_open("sqlite", f->path, true, err, sizeof(err));
	assert_non_null(f->st);
	r = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.1", "a@b", "c@d");
	assert_int_equal(store_insert_batch(f->st, &r, 1), -1);
	assert_non_null(strstr(store_errmsg(f->st), "read-only"));
	assert_int_equal(store_purge(f->st, SEED_US, NULL), -1);
}

static void
test_readonly_owner(void **state)
{
	struct fixture	*f = *state;
	struct stat	 sb;
	char		 err[256], side[160];

	if (geteuid() != 0)
		skip();
	/* The daemon's store, owned by its user, daemon stopped. */
	open_rw(f);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(chown(f->path, 65534, 65534), 0);
	/* The admin runs `pillory log` as root. */
	f->st = store_open("sqlite", f->path, true, err, sizeof(err));
	assert_non_null(f->st);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	assert_int_equal(stat(side, &sb), 0);
	assert_int_equal(sb.st_uid, 65534);
	assert_int_equal(sb.st_gid, 65534);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	assert_int_equal(stat(side, &sb), 0);
	assert_int_equal(sb.st_uid, 65534);
}

static void
test_insert_query(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r[5];
	struct collect		 c;
	struct store		*st = open_rw(f);

	r[0] = rec_make(SEED_US + 0 * MIN_US, ATTACK_RELAY, "192.0.2.1",
	    "x@spam.test", "v@victim.test");
	r[1] = rec_make(SEED_US + 1 * MIN_US, ATTACK_SPOOFED_RELAY,
	    "192.0.2.2", "bbbb@gabacho-net.jp", "v@empal.com");
	r[2] = rec_make(SEED_US + 2 * MIN_US, ATTACK_AUTH_FAIL, "192.0.2.1",
	    "", "");
	snprintf(r[2].user, sizeof(r[2].user), "bob");
	r[3] = rec_make(SEED_US + 3 * MIN_US, ATTACK_RELAY, "2001:db8::1",
	    "y@spam.test", "w@victim.test");
	r[4] = rec_make(SEED_US + 4 * MIN_US, ATTACK_RELAY, "192.0.2.1",
	    "z@spam.test", "u@victim.test");
	/* Out of time order on purpose: queries sort by time. */
	assert_int_equal(store_insert_batch(st, &r[2], 3), 0);
	assert_int_equal(store_insert_batch(st, r, 2), 0);

	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.recs[0].time_us, r[0].time_us);
	assert_int_equal(c.recs[4].time_us, r[4].time_us);
	assert_string_equal(c.recs[1].from, "bbbb@gabacho-net.jp");
	assert_int_equal(c.recs[1].kind, ATTACK_SPOOFED_RELAY);
	assert_string_equal(c.recs[2].user, "bob");
	assert_string_equal(c.recs[3].client_ip, "2001:db8::1");
	assert_string_equal(c.recs[3].reply, "554 5.7.1 relay denied");
	assert_string_equal(c.recs[3].session, "00000000000000ab");
	assert_string_equal(c.recs[3].helo, "attacker");
	assert_int_equal(c.recs[3].port, 25);

	/* --limit 2: the newest two, oldest first. */
	query(st, -1, 0, 2, NULL, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.recs[0].time_us, r[3].time_us);
	assert_int_equal(c.recs[1].time_us, r[4].time_us);

	/* --kind relay --limit 2 */
	query(st, ATTACK_RELAY, 0, 2, NULL, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.recs[0].from, "y@spam.test");
	assert_string_equal(c.recs[1].from, "z@spam.test");
	query(st, ATTACK_BANNED, 0, 0, NULL, &c);
	assert_int_equal(c.n, 0);

	/* --since: inclusive. */
	query(st, -1, r[2].time_us, 0, NULL, &c);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.recs[0].kind, ATTACK_AUTH_FAIL);
	query(st, ATTACK_RELAY, r[2].time_us, 1, NULL, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.recs[0].from, "z@spam.test");

	/* By address. */
	query(st, -1, 0, 0, "192.0.2.1", &c);
	assert_int_equal(c.n, 3);

	/* A callback can stop the walk; its value comes back. */
	{
		struct store_query	q;

		memset(&q, 0, sizeof(q));
		q.kind = -1;
		memset(&c, 0, sizeof(c));
		c.stop_after = 2;
		assert_int_equal(store_query(st, &q, collect_cb, &c), 7);
		assert_int_equal(c.n, 2);
	}
}

static void
test_limit_ties(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r[3];
	struct collect		 c;
	struct store		*st = open_rw(f);
	int			 i;

	/* Same microsecond: insertion order decides. */
	for (i = 0; i < 3; i++) {
		r[i] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.1", "a@x",
		    "b@y");
		r[i].port = 100 + i;
	}
	assert_int_equal(store_insert_batch(st, r, 3), 0);
	query(st, -1, 0, 2, NULL, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.recs[0].port, 101);
	assert_int_equal(c.recs[1].port, 102);
}

static void
test_batch_all_or_nothing(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r[3];
	struct store_totals	 t;
	struct collect		 c;
	struct store		*st = open_rw(f);

	/* A trigger makes the third row fail. */
	raw_exec(f->path, "CREATE TRIGGER boom BEFORE INSERT ON attacks "
	    "WHEN NEW.client_ip = 'boom' BEGIN "
	    "SELECT RAISE(ABORT, 'boom'); END");
	r[0] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.1", "a@x", "b@y");
	r[1] = rec_make(SEED_US + 1, ATTACK_RELAY, "192.0.2.2", "a@x", "b@y");
	r[2] = rec_make(SEED_US + 2, ATTACK_RELAY, "boom", "a@x", "b@y");
	assert_int_equal(store_insert_batch(st, r, 3), -1);
	assert_non_null(strstr(store_errmsg(st), "boom"));
	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 0);
	assert_int_equal(t.incidents, 0);

	/* The handle is still usable. */
	assert_int_equal(store_insert_batch(st, r, 2), 0);
	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 2);
}

static void
test_daily_counts_survive_purge(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r[4];
	struct store_totals	 t;
	struct store_day	 days[3];
	struct store_incident	 in[4];
	struct collect		 c;
	struct store		*st = open_rw(f);
	uint64_t		 deleted;
	size_t			 n;

	/* Two days, 2 + 2 records; 2002-03-08 and 2002-03-09 (UTC). */
	r[0] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.1", "a@x", "b@y");
	r[1] = rec_make(SEED_US + 1, ATTACK_SPOOFED_RELAY, "192.0.2.1",
	    "a@gabacho-net.jp", "b@y");
	r[2] = rec_make(SEED_US + DAY_US, ATTACK_RELAY, "192.0.2.2", "a@x",
	    "b@y");
	r[3] = rec_make(SEED_US + DAY_US + 1, ATTACK_PROTOCOL, "192.0.2.3",
	    "", "");
	assert_int_equal(store_insert_batch(st, r, 4), 0);

	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 4);
	assert_int_equal(t.by_kind[ATTACK_RELAY], 2);
	assert_int_equal(t.by_kind[ATTACK_SPOOFED_RELAY], 1);
	assert_int_equal(t.by_kind[ATTACK_PROTOCOL], 1);
	assert_int_equal(t.incidents, 3);

	/* Purge everything before the second day. */
	assert_int_equal(store_purge(st, SEED_US + DAY_US, &deleted), 0);
	assert_int_equal(deleted, 2);
	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 4);
	assert_int_equal(t.by_kind[ATTACK_RELAY], 2);
	assert_int_equal(t.incidents, 2);
	assert_int_equal(store_incidents(st, in, 4, &n), 0);
	assert_int_equal(n, 2);

	/* Per day, zero days included, oldest first. */
	assert_int_equal(store_daily(st, SEED_US + 2 * DAY_US, 3, days), 0);
	assert_string_equal(days[0].day, "2002-03-08");
	assert_int_equal(days[0].count, 2);
	assert_int_equal(days[0].by_kind[ATTACK_SPOOFED_RELAY], 1);
	assert_string_equal(days[1].day, "2002-03-09");
	assert_int_equal(days[1].count, 2);
	assert_int_equal(days[1].by_kind[ATTACK_PROTOCOL], 1);
	assert_string_equal(days[2].day, "2002-03-10");
	assert_int_equal(days[2].count, 0);

	/* Purging everything leaves the counts. */
	assert_int_equal(store_purge(st, SEED_US + 10 * DAY_US, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 4);
	assert_int_equal(t.incidents, 0);
	/* New records keep adding. */
	insert1(st, &r[0]);
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 5);
}

static void
test_purge_chunks(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	*r;
	struct collect		 c;
	struct store		*st = open_rw(f);
	uint64_t		 deleted;
	int			 i, n = 25000;

	/* More than one purge chunk. */
	r = calloc((size_t)n, sizeof(*r));
	assert_non_null(r);
	for (i = 0; i < n; i++)
		r[i] = rec_make(SEED_US + i, ATTACK_RELAY, "192.0.2.1", "a@x",
		    "b@y");
	assert_int_equal(store_insert_batch(st, r, (size_t)n), 0);
	assert_int_equal(store_purge(st, SEED_US + n - 3, &deleted), 0);
	assert_int_equal(deleted, n - 3);
	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 3);
	free(r);
}

static void
test_incident_joins_pure(void **state)
{
	const int64_t	gap = ATTACK_INCIDENT_GAP_US;

	(void)state;
	assert_int_equal(gap, 30LL * 60 * 1000000);
	/* After the last record. */
	assert_true(attack_incident_joins(1000, 2000, 2000));
	assert_true(attack_incident_joins(1000, 2000, 2000 + gap - 1));
	assert_false(attack_incident_joins(1000, 2000, 2000 + gap));
	assert_false(attack_incident_joins(1000, 2000, 2000 + 10 * gap));
	/* Inside, and late arrivals just before the start. */
	assert_true(attack_incident_joins(1000, 2000, 1500));
	assert_true(attack_incident_joins(gap, gap + 5, 1));
	assert_false(attack_incident_joins(gap, gap + 5, 0));
}

static void
test_senders_pure(void **state)
{
	char	list[ATTACK_SENDERS_LEN] = "";
	char	small[16] = "";
	char	s[32];
	int	i;

	(void)state;
	assert_true(attack_senders_add(list, sizeof(list), "a@x"));
	assert_false(attack_senders_add(list, sizeof(list), "a@x"));
	assert_true(attack_senders_add(list, sizeof(list), "ab@x"));
	assert_false(attack_senders_add(list, sizeof(list), "ab@x"));
	/* A prefix of an entry is a different sender. */
	assert_true(attack_senders_add(list, sizeof(list), "b@x"));
	assert_true(attack_senders_add(list, sizeof(list), ""));
	assert_true(attack_senders_add(list, sizeof(list), "\"a,b\"@x"));
	assert_string_equal(list, "a@x,ab@x,b@x,<>,\"a;b\"@x");
	for (i = 0; i < 30; i++) {
		snprintf(s, sizeof(s), "s%d@x", i);
		(void)attack_senders_add(list, sizeof(list), s);
	}
	/* 20 at most: the 5 above and s0..s14. */
	assert_non_null(strstr(list, ",s14@x"));
	assert_null(strstr(list, "s15@x"));

	/* Bounded in bytes too. */
	assert_true(attack_senders_add(small, sizeof(small), "abcdef@x"));
	assert_false(attack_senders_add(small, sizeof(small), "ghijkl@x"));
	assert_true(attack_senders_add(small, sizeof(small), "g@x"));
	assert_string_equal(small, "abcdef@x,g@x");
}

static void
test_incidents_grouping(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r;
	struct store_incident	 in[8], one;
	struct store		*st = open_rw(f);
	size_t			 n;
	int			 i;
	char			 from[64];

	/* 192.0.2.1: three records, 29m59s apart: one incident. */
	r = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.1", "a@spam.test",
	    "v@victim.test");
	insert1(st, &r);
	r.time_us += ATTACK_INCIDENT_GAP_US - 1000000;
	insert1(st, &r);
	r.time_us += ATTACK_INCIDENT_GAP_US - 1000000;
	r.kind = ATTACK_SPOOFED_RELAY;
	snprintf(r.from, sizeof(r.from), "bbbb@gabacho-net.jp");
	insert1(st, &r);
	/* Exactly 30 minutes later: a new incident. */
	r.time_us += ATTACK_INCIDENT_GAP_US;
	r.kind = ATTACK_RELAY;
	snprintf(r.from, sizeof(r.from), "c@spam.test");
	insert1(st, &r);
	/* Another address at the same time: its own incident. */
	r = rec_make(SEED_US + MIN_US, ATTACK_AUTH_FAIL, "192.0.2.9", "", "");
	insert1(st, &r);

	assert_int_equal(store_incidents(st, in, 8, &n), 0);
	assert_int_equal(n, 3);
	/* Newest first. */
	assert_string_equal(in[0].client_ip, "192.0.2.1");
	assert_int_equal(in[0].count, 1);
	assert_false(in[0].targeted);
	assert_string_equal(in[0].senders, "c@spam.test");

	assert_string_equal(in[1].client_ip, "192.0.2.1");
	assert_int_equal(in[1].count, 3);
	assert_true(in[1].targeted);
	assert_int_equal(in[1].first_us, SEED_US);
	assert_int_equal(in[1].last_us,
	    SEED_US + 2 * (ATTACK_INCIDENT_GAP_US - 1000000));
	assert_int_equal(in[1].kinds, (1u << ATTACK_RELAY) |
	    (1u << ATTACK_SPOOFED_RELAY));
	assert_string_equal(in[1].senders, "a@spam.test,bbbb@gabacho-net.jp");
	assert_string_equal(in[1].client_name, "unknown");

	assert_string_equal(in[2].client_ip, "192.0.2.9");
	assert_int_equal(in[2].kinds, 1u << ATTACK_AUTH_FAIL);
	assert_string_equal(in[2].senders, "");
	assert_false(in[2].targeted);

	/* Incident ids are stable. */
	assert_int_equal(store_incident_get(st, in[1].id, &one), 0);
	assert_int_equal(one.count, 3);
	assert_int_equal(store_incident_get(st, 999999, &one), 1);

	/* Senders stay distinct and bounded within one incident. */
	r = rec_make(SEED_US + 10 * ATTACK_INCIDENT_GAP_US,
	    ATTACK_FORGED_LOCAL, "198.51.100.7", "", "user@gabacho-net.jp");
	for (i = 0; i < 30; i++) {
		snprintf(from, sizeof(from), "s%d@gabacho-net.jp", i % 25);
		snprintf(r.from, sizeof(r.from), "%s", from);
		r.time_us += 1000000;
		insert1(st, &r);
	}
	assert_int_equal(store_incidents(st, in, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(in[0].client_ip, "198.51.100.7");
	assert_int_equal(in[0].count, 30);
	assert_true(in[0].targeted);
	{
		size_t	commas = 0;
		char	*p;

		for (p = in[0].senders; *p != '\0'; p++)
			commas += (*p == ',');
		assert_int_equal(commas + 1, ATTACK_SENDERS_MAX);
	}
	assert_non_null(strstr(in[0].senders, "s0@gabacho-net.jp,"));
	assert_null(strstr(in[0].senders, "s20@"));
}

static void
test_incident_ids_not_reused(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r;
	struct store_incident	 in[2];
	struct store		*st = open_rw(f);
	size_t			 n;
	int64_t			 first;

	r = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.1", "a@x", "b@y");
	insert1(st, &r);
	assert_int_equal(store_incidents(st, in, 2, &n), 0);
	first = in[0].id;
	assert_int_equal(store_purge(st, SEED_US + 1, NULL), 0);
	insert1(st, &r);
	assert_int_equal(store_incidents(st, in, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_true(in[0].id > first);
}

static void
test_top(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r[10];
	struct store_top	 addrs[2], nets[3];
	size_t			 na, nn;
	struct store		*st = open_rw(f);
	int			 i = 0;

	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.7", "a@x", "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.7", "a@x", "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.7", "a@x", "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.8", "a@x", "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "192.0.2.9", "a@x", "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "::ffff:192.0.2.10", "a@x",
	    "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "2001:db8:1:2::1", "a@x",
	    "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "2001:db8:1:3::1", "a@x",
	    "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "2001:db8:1:3::1", "a@x",
	    "b@y");
	r[i++] = rec_make(SEED_US, ATTACK_RELAY, "203.0.113.5", "a@x", "b@y");
	assert_int_equal(store_insert_batch(st, r, (size_t)i), 0);

	assert_int_equal(store_top(st, addrs, 2, &na, nets, 3, &nn), 0);
	assert_int_equal(na, 2);
	assert_string_equal(addrs[0].key, "192.0.2.7");
	assert_int_equal(addrs[0].count, 3);
	assert_string_equal(addrs[1].key, "2001:db8:1:3::1");
	assert_int_equal(addrs[1].count, 2);
	assert_int_equal(nn, 3);
	assert_string_equal(nets[0].key, "192.0.2.0/24");
	assert_int_equal(nets[0].count, 6);
	assert_string_equal(nets[1].key, "2001:db8:1::/48");
	assert_int_equal(nets[1].count, 3);
	assert_string_equal(nets[2].key, "203.0.113.0/24");
	assert_int_equal(nets[2].count, 1);

	/* Empty lists are fine. */
	assert_int_equal(store_top(st, NULL, 0, &na, NULL, 0, &nn), 0);
	assert_int_equal(na, 0);
	assert_int_equal(nn, 0);
}

static void
test_network_of(void **state)
{
	char	out[STORE_NETWORK_MAX];

	(void)state;
	assert_true(attack_network_of("211.219.235.140", out,
	    sizeof(out)));
	assert_string_equal(out, "211.219.235.0/24");
	assert_true(attack_network_of("::ffff:10.1.2.3", out, sizeof(out)));
	assert_string_equal(out, "10.1.2.0/24");
	assert_true(attack_network_of("2001:db8:abcd:12::1", out,
	    sizeof(out)));
	assert_string_equal(out, "2001:db8:abcd::/48");
	assert_true(attack_network_of("[fe80::1%eth0]", out, sizeof(out)));
	assert_string_equal(out, "fe80::/48");
	assert_false(attack_network_of("unknown", out, sizeof(out)));
	assert_false(attack_network_of("1.2.3.4", out, 8));
}

static int
count_grant(const char *network, const char *user, int64_t expires_us,
    void *arg)
{
	(void)network;
	(void)user;
	(void)expires_us;
	(*(int *)arg)++;
	return 0;
}

/* POP-before-SMTP grants: put renews, expiry is exact, revoke ends one. */
static void
test_grants(void **state)
{
	struct fixture	*f = *state;
	char		 user[64];
	int64_t		 exp;
	uint64_t	 n = 0;
	int		 count = 0;

	open_rw(f);
	assert_int_equal(f->st->ops->grant_get(f->st, "192.0.2.7", SEED_US,
	    user, sizeof(user), &exp), 1);
	assert_int_equal(f->st->ops->grant_put(f->st, "192.0.2.7",
	    "alice@example.test", SEED_US + 600000000LL), 0);
	assert_int_equal(f->st->ops->grant_get(f->st, "192.0.2.7", SEED_US,
	    user, sizeof(user), &exp), 0);
	assert_string_equal(user, "alice@example.test");
	assert_true(exp == SEED_US + 600000000LL);
	/* expires exactly */
	assert_int_equal(f->st->ops->grant_get(f->st, "192.0.2.7",
	    SEED_US + 600000000LL, user, sizeof(user), NULL), 1);
	/* another address has nothing */
	assert_int_equal(f->st->ops->grant_get(f->st, "192.0.2.8", SEED_US,
	    user, sizeof(user), NULL), 1);
	/* renewal by another user */
	assert_int_equal(f->st->ops->grant_put(f->st, "192.0.2.7",
	    "bob@example.test", SEED_US + 900000000LL), 0);
	assert_int_equal(f->st->ops->grant_get(f->st, "192.0.2.7",
	    SEED_US + 700000000LL, user, sizeof(user), NULL), 0);
	assert_string_equal(user, "bob@example.test");
	assert_int_equal(f->st->ops->grant_list(f->st, SEED_US, count_grant,
	    &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(f->st->ops->grant_revoke(f->st, "192.0.2.7", &n), 0);
	assert_true(n == 1);
	assert_int_equal(f->st->ops->grant_get(f->st, "192.0.2.7", SEED_US,
	    user, sizeof(user), NULL), 1);
}

/*
 * Withdrawal: a login withdraws the records of its address (IPv6: /64)
 * within the window before it, and records inserted after it within the
 * window are withdrawn at once; others stay. The public view drops them
 * from every read; the admin view keeps them, marked.
 */
static void
test_withdraw(void **state)
{
	struct fixture		*f = *state;
	struct store		*st = open_rw(f);
	struct attack_record	 r[6];
	struct collect		 c;
	struct store_totals	 t;
	struct store_day	 days[2];
	struct store_incident	 in[8];
	struct store_top	 addrs[8], nets[8];
	size_t			 n, na, nn;
	uint64_t		 w = 0;
	int64_t			 now = SEED_US + 5 * DAY_US;
	int64_t			 win = 60 * MIN_US;

	store_set_withdraw_window(st, win);
	r[0] = rec_make(now - 30 * MIN_US, ATTACK_SPOOFED_RELAY, "192.0.2.1",
	    "bob@example.test", "x@remote.test");
	r[1] = rec_make(now - 90 * MIN_US, ATTACK_SPOOFED_RELAY, "192.0.2.1",
	    "bob@example.test", "y@remote.test");	/* outside */
	r[2] = rec_make(now - 10 * MIN_US, ATTACK_RELAY, "2001:db8:1:2::7",
	    "a@b.test", "c@d.test");
	r[3] = rec_make(now - 10 * MIN_US, ATTACK_RELAY, "2001:db8:1:3::7",
	    "a@b.test", "c@d.test");			/* another /64 */
	r[4] = rec_make(now - 5 * MIN_US, ATTACK_SPOOFED_RELAY, "203.0.113.9",
	    "bbbb@example.test", "z@empal.test");	/* an attacker */
	assert_int_equal(store_insert_batch(st, r, 5), 0);

	assert_int_equal(store_login(st, "192.0.2.1", now, win, &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(store_login(st, "2001:db8:1:2::/64", now, win, &w),
	    0);
	assert_int_equal(w, 1);
	/* After the login, within the window: withdrawn on insert. */
	r[5] = rec_make(now + 20 * MIN_US, ATTACK_RELAY, "192.0.2.1",
	    "bob@example.test", "late@remote.test");
	insert1(st, &r[5]);

	/* Admin view: all six, three marked. */
	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 6);
	n = 0;
	for (size_t i = 0; i < c.n; i++)
		n += c.recs[i].withdrawn;
	assert_int_equal(n, 3);
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 6);
	assert_int_equal(t.withdrawn, 3);

	/* Public view: published kinds, nothing withdrawn. */
	store_set_filter(st, &(struct store_filter){ .active = true,
	    .kinds = ATTACK_KIND_BIT(ATTACK_RELAY) |
	    ATTACK_KIND_BIT(ATTACK_SPOOFED_RELAY) });
	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 3);
	for (size_t i = 0; i < c.n; i++)
		assert_false(c.recs[i].withdrawn);
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 3);
	assert_int_equal(t.by_kind[ATTACK_SPOOFED_RELAY], 2);
	assert_int_equal(t.by_kind[ATTACK_RELAY], 1);
	assert_int_equal(store_daily(st, now + 20 * MIN_US, 2, days), 0);
	assert_int_equal(days[0].count + days[1].count, 3);
	assert_int_equal(store_top(st, addrs, 8, &na, nets, 8, &nn), 0);
	assert_int_equal(na, 3);
	for (size_t i = 0; i < na; i++)
		assert_string_not_equal(addrs[i].key, "2001:db8:1:2::7");
	assert_int_equal(store_incidents(st, in, 8, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(in[i].client_ip, "2001:db8:1:2::7");
		if (strcmp(in[i].client_ip, "192.0.2.1") == 0) {
			/* Only the old record is left of that burst. */
			assert_int_equal(in[i].count, 1);
			assert_int_equal(in[i].last_us, r[1].time_us);
		}
	}
	/* An incident of withdrawn records only is not found. */
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.incidents, 3);

	/* A kind left out of the mask is not shown. */
	store_set_filter(st, &(struct store_filter){ .active = true,
	    .kinds = ATTACK_KIND_BIT(ATTACK_RELAY) });
	query(st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.recs[0].client_ip, "2001:db8:1:3::7");
}

/* A version 2 file (wave 1) gains the withdrawn column, none set. */
static void
test_migrate_v2(void **state)
{
	struct fixture		*f = *state;
	struct collect		 c;

	raw_exec(f->path, "CREATE TABLE attacks (id INTEGER PRIMARY KEY, "
	    "time_us INTEGER NOT NULL, kind INTEGER NOT NULL, client_ip TEXT "
	    "NOT NULL, client_name TEXT NOT NULL, helo TEXT NOT NULL, "
	    "mail_from TEXT NOT NULL, rcpt_to TEXT NOT NULL, login_user TEXT "
	    "NOT NULL, session TEXT NOT NULL, reply TEXT NOT NULL, port "
	    "INTEGER NOT NULL);"
	    "CREATE TABLE daily_counts (day TEXT NOT NULL, kind INTEGER NOT "
	    "NULL, count INTEGER NOT NULL, PRIMARY KEY (day, kind)) WITHOUT "
	    "ROWID;"
	    "CREATE TABLE incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, "
	    "client_ip TEXT NOT NULL, client_name TEXT NOT NULL, first_us "
	    "INTEGER NOT NULL, last_us INTEGER NOT NULL, count INTEGER NOT "
	    "NULL, kinds INTEGER NOT NULL, senders TEXT NOT NULL, targeted "
	    "INTEGER NOT NULL);"
	    "CREATE TABLE grants (network TEXT PRIMARY KEY, user TEXT NOT "
	    "NULL, expires_us INTEGER NOT NULL) WITHOUT ROWID;"
	    "INSERT INTO attacks VALUES (1, 1015569170000000, 1, "
	    "'211.219.235.140', 'unknown', 'x', 'bbbb@gabacho-net.jp', "
	    "'a@empal.com', '', 's', 'r', 25);"
	    "PRAGMA user_version = 2;");
	open_rw(f);
	assert_int_equal(user_version(f->path), 5);
	query(f->st, -1, 0, 0, NULL, &c);
	assert_int_equal(c.n, 1);
	assert_false(c.recs[0].withdrawn);
	assert_string_equal(c.recs[0].from, "bbbb@gabacho-net.jp");
	/* Version 5: records from before it name no node. */
	assert_string_equal(c.recs[0].node, "");
}

/* The key a login proves: IPv4 as is, IPv6 by /64. */
static void
test_login_key(void **state)
{
	char	k[IPADDR_TEXT_MAX + 4];

	(void)state;
	assert_true(attack_login_key("192.0.2.1", k, sizeof(k)));
	assert_string_equal(k, "192.0.2.1");
	assert_true(attack_login_key("::ffff:192.0.2.1", k, sizeof(k)));
	assert_string_equal(k, "192.0.2.1");
	assert_true(attack_login_key("[2001:db8:1:2:aa::1]", k,
	    sizeof(k)));
	assert_string_equal(k, "2001:db8:1:2::/64");
	assert_true(attack_login_key("fe80::1%eth0", k, sizeof(k)));
	assert_string_equal(k, "fe80::/64");
	assert_false(attack_login_key("not-an-ip", k, sizeof(k)));
	assert_false(attack_login_key("[::1", k, sizeof(k)));
	assert_false(attack_login_key("2001:db8::1", k, 8));
}

/* [publish] kinds: names to a mask; an unknown name is refused. */
static void
test_kinds_mask(void **state)
{
	static char	 k1[] = "relay", k2[] = "auth-fail";
	static char	 k3[] = "blocklisted", k4[] = "spam";
	char		*ok[] = { k1, k2, k3 };
	char		*bad[] = { k1, k4 };
	const char	*which = NULL;
	uint32_t	 m;

	(void)state;
	assert_true(attack_kinds_mask(ok, 3, &m, &which));
	assert_int_equal(m, ATTACK_KIND_BIT(ATTACK_RELAY) |
	    ATTACK_KIND_BIT(ATTACK_AUTH_FAIL) |
	    ATTACK_KIND_BIT(ATTACK_BLOCKLISTED));
	assert_false(attack_kinds_mask(bad, 2, &m, &which));
	assert_string_equal(which, "spam");
	assert_true(attack_kinds_mask(NULL, 0, &m, &which));
	assert_int_equal(m, 0);
}

static int
collect_ban(const struct ban_entry *e, void *arg)
{
	struct ban_entry	*out = arg;
	size_t			 i;

	for (i = 0; out[i].level != 0; i++)
		;
	out[i] = *e;
	return (0);
}

/* Bans: a batch in one transaction, listing by end time, upsert, delete,
 * and the sweep of rows long expired. */
static void
test_bans(void **state)
{
	struct fixture		*f = *state;
	struct ban_entry	 e[3], got[8];
	const char		*why;
	uint64_t		 n = 0;

	open_rw(f);
	memset(e, 0, sizeof(e));
	assert_true(ban_net_parse("192.0.2.0/24", &e[0].net, &why));
	assert_true(ban_net_parse("2001:db8::/64", &e[1].net, &why));
	assert_true(ban_net_parse("198.51.100.1", &e[2].net, &why));
	e[0].start_us = e[1].start_us = e[2].start_us = SEED_US;
	e[0].expires_us = SEED_US + 100;
	e[1].expires_us = SEED_US + 200;
	e[2].expires_us = SEED_US + 300;
	e[0].level = 1;
	e[1].level = 2;
	e[2].level = 3;
	e[2].manual = true;
	assert_int_equal(store_ban_put(f->st, e, 3, 1000), 0);
	memset(got, 0, sizeof(got));
	assert_int_equal(store_ban_list(f->st, SEED_US + 150, collect_ban,
	    got), 0);
	assert_int_equal(got[2].level, 0);
	assert_true(ban_net_equal(&got[0].net, &e[2].net) ||
	    ban_net_equal(&got[1].net, &e[2].net));
	assert_true(got[0].manual != got[1].manual);
	/* Upsert: the same network gets the new end and level. */
	e[0].expires_us = SEED_US + 500;
	e[0].level = 2;
	assert_int_equal(store_ban_put(f->st, e, 1, 1000), 0);
	memset(got, 0, sizeof(got));
	assert_int_equal(store_ban_list(f->st, SEED_US + 400, collect_ban,
	    got), 0);
	assert_int_equal(got[0].level, 2);
	assert_int_equal(got[1].level, 0);
	assert_int_equal(store_ban_delete(f->st, &e[0].net, &n), 0);
	assert_true(n == 1);
	assert_int_equal(store_ban_delete(f->st, &e[0].net, &n), 0);
	assert_true(n == 0);
	/* A later put sweeps rows that ended more than keep_us before. */
	e[0].start_us = SEED_US + 10000;
	e[0].expires_us = SEED_US + 20000;
	assert_int_equal(store_ban_put(f->st, e, 1, 1000), 0);
	memset(got, 0, sizeof(got));
	assert_int_equal(store_ban_list(f->st, 0, collect_ban, got), 0);
	assert_int_equal(got[0].level, 2);
	assert_true(ban_net_equal(&got[0].net, &e[0].net));
	assert_int_equal(got[1].level, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_by_name),
		cmocka_unit_test(test_backend_of_url),
		cmocka_unit_test(test_url_password),
		cmocka_unit_test(test_spool_format),
		cmocka_unit_test(test_spool_parse_refuses),
		cmocka_unit_test_setup_teardown(test_spool_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_empty_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_readonly_owner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_insert_query, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit_ties, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_all_or_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_daily_counts_survive_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_chunks, setup,
		    teardown),
		cmocka_unit_test(test_incident_joins_pure),
		cmocka_unit_test(test_senders_pure),
		cmocka_unit_test_setup_teardown(test_incidents_grouping,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_incident_ids_not_reused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_top, setup, teardown),
		cmocka_unit_test(test_network_of),
		cmocka_unit_test_setup_teardown(test_grants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withdraw, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup,
		    teardown),
		cmocka_unit_test(test_login_key),
		cmocka_unit_test(test_kinds_mask),
		cmocka_unit_test_setup_teardown(test_bans, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
