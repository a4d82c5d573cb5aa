/*
 * test_attacklog.c: cmocka unit tests for attacklog.c, the engine: the
 * queue and its writer thread (10,000 records from the caller's thread,
 * all on disk after close; retention purges), then `pillory log` and
 * `pillory stats` over what it wrote. Times are checked with TZ=UTC (and a +09:00 zone).
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attacklog.h"
#include "cmd.h"
#include "config.h"
#include "store.h"

/* 2002-03-08T06:32:50Z, the seed's first attempt. */
#define SEED_S		1015569170LL
#define SEED_US		(SEED_S * 1000000)

/* The seed's attack: seconds after SEED_S and the sender's local part. */
static const struct {
	int		 off;
	const char	*local;
} seed[18] = {
	{ 0, "bbbb" }, { 5, "good" }, { 11, "abc" }, { 17, "aabb" },
	{ 22, "aacd" }, { 28, "abcd" }, { 34, "hello" }, { 39, "day" },
	{ 46, "baby" }, { 51, "cccc" }, { 57, "cat" }, { 63, "andy" },
	{ 68, "aaab" }, { 74, "aaac" }, { 79, "aaad" }, { 85, "aabb" },
	{ 91, "aabc" }, { 96, "abcc" },
};

/* The seed post's lines, exactly (recipient masked as published). */
static const char seed_masked[] =
    "Mar  8 06:32:50  unknown [211.219.235.140] from=<bbbb@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:32:55  unknown [211.219.235.140] from=<good@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:01  unknown [211.219.235.140] from=<abc@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:07  unknown [211.219.235.140] from=<aabb@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:12  unknown [211.219.235.140] from=<aacd@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:18  unknown [211.219.235.140] from=<abcd@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:24  unknown [211.219.235.140] from=<hello@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:29  unknown [211.219.235.140] from=<day@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:36  unknown [211.219.235.140] from=<baby@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:41  unknown [211.219.235.140] from=<cccc@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:47  unknown [211.219.235.140] from=<cat@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:53  unknown [211.219.235.140] from=<andy@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:33:58  unknown [211.219.235.140] from=<aaab@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:04  unknown [211.219.235.140] from=<aaac@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:09  unknown [211.219.235.140] from=<aaad@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:15  unknown [211.219.235.140] from=<aabb@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:21  unknown [211.219.235.140] from=<aabc@gabacho-net.jp> to=<******@empal.com>\n"
    "Mar  8 06:34:26  unknown [211.219.235.140] from=<abcc@gabacho-net.jp> to=<******@empal.com>\n";

static bool
starts_with(const char *s, const char *prefix)
{
	return (strncmp(s, prefix, strlen(prefix)) == 0);
}

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static struct attack_record
seed_record(int i)
{
	struct attack_record	r;

	memset(&r, 0, sizeof(r));
	r.time_us = (SEED_S + seed[i].off) * 1000000;
	r.kind = ATTACK_SPOOFED_RELAY;
	snprintf(r.client_ip, sizeof(r.client_ip), "211.219.235.140");
	snprintf(r.client_name, sizeof(r.client_name), "unknown");
	snprintf(r.helo, sizeof(r.helo), "gabacho-net.jp");
	snprintf(r.from, sizeof(r.from), "%s@gabacho-net.jp", seed[i].local);
	snprintf(r.to, sizeof(r.to), "empal-victim@empal.com");
	snprintf(r.session, sizeof(r.session), "%016x", 0xabc0 + i);
	snprintf(r.reply, sizeof(r.reply), "554 5.7.1 <empal-victim@empal.com>:"
	    " Relay access denied");
	r.port = 25;
	return (r);
}


/*
 * Engine tests: a config built by hand, as the brief of the CLI allows
 * (no config loader), in a temporary state_dir.
 */
struct fixture {
	char		dir[64];
	char		path[128];
	struct config	cfg;
	char		err[4096];	/* stderr of run_cmd() */
};

static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_attacklog.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/attacklog.db", f->dir);
	f->cfg.state_dir = f->dir;
	set_tz("UTC");
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 p[160];

	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s/out", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/err", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/other.db", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return (0);
}

static struct attacklog *
engine_open(struct fixture *f)
{
	struct attacklog	*al;
	char			 err[256];

	if ((al = attacklog_open(&f->cfg, err, sizeof(err))) == NULL)
		fail_msg("attacklog_open: %s", err);
	return (al);
}

static int
count_cb(const struct attack_record *rec, void *arg)
{
	uint64_t	*n = arg;

	(void)rec;
	(*n)++;
	return (0);
}

static uint64_t
stored(struct fixture *f)
{
	struct store		*st;
	struct store_query	 q;
	char			 err[256];
	uint64_t		 n = 0;

	st = store_open_config(&f->cfg, true, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	memset(&q, 0, sizeof(q));
	q.kind = -1;
	assert_int_equal(store_query(st, &q, count_cb, &n), 0);
	store_close(st);
	return (n);
}

static double
since_s(const struct timespec *t0)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
}

static void
test_db_path(void **state)
{
	struct fixture	*f = *state;
	struct config	 cfg;
	char		 out[256], err[128];

	assert_true(store_db_path(&f->cfg, out, sizeof(out), err,
	    sizeof(err)));
	assert_string_equal(out, f->path);
	cfg = f->cfg;
	cfg.attacklog_db = (char *)"/elsewhere/log.db";
	assert_true(store_db_path(&cfg, out, sizeof(out), err,
	    sizeof(err)));
	assert_string_equal(out, "/elsewhere/log.db");
	assert_false(store_db_path(&cfg, out, 8, err, sizeof(err)));
	memset(&cfg, 0, sizeof(cfg));
	assert_false(store_db_path(&cfg, out, sizeof(out), err,
	    sizeof(err)));
	assert_null(attacklog_open(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "state_dir"));
}

static void
test_engine_10000(void **state)
{
	struct fixture			*f = *state;
	struct attacklog		*al;
	struct attack_record		 r;
	struct attacklog_counters	 c;
	struct timespec			 t0;
	double				 took;
	int				 i;

	al = engine_open(f);
	r = seed_record(0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 10000; i++) {
		r.time_us = SEED_US + i;
		r.port = i;
		attacklog_record(al, &r);
	}
	took = since_s(&t0);
	/* A memcpy under a mutex each: far below a millisecond apiece, even
	 * under the sanitizers. */
	assert_true(took < 1.0);
	attacklog_counters(al, &c);
	assert_int_equal(c.recorded, 10000);
	assert_int_equal(c.dropped, 0);
	attacklog_close(al);
	assert_int_equal(stored(f), 10000);

	/* NULL is the "no attack log" engine. */
	attacklog_record(NULL, &r);
	attacklog_close(NULL);
}

static void
test_engine_flood(void **state)
{
	struct fixture			*f = *state;
	struct attacklog		*al;
	struct attack_record		 r = seed_record(0);
	struct attacklog_counters	 c;
	struct timespec			 t0;
	int				 i, n = 150000;

	/* More than the queue holds, as fast as the caller can: every
	 * record is either dropped or written, never both, never twice. */
	al = engine_open(f);
	for (i = 0; i < n; i++) {
		r.time_us = SEED_US + i;
		attacklog_record(al, &r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		attacklog_counters(al, &c);
	} while (c.written < c.recorded && since_s(&t0) < 60.0);
	attacklog_close(al);
	assert_int_equal(c.recorded + c.dropped, n);
	assert_int_equal(c.written, c.recorded);
	assert_true(c.recorded >= ATTACKLOG_QUEUE_MAX);
	assert_int_equal(stored(f), c.written);
}

static void
test_engine_counters_after_close(void **state)
{
	struct fixture			*f = *state;
	struct attacklog		*al;
	struct attack_record		 r = seed_record(0);
	struct attacklog_counters	 c;
	struct timespec			 t0;
	int				 i;

	al = engine_open(f);
	for (i = 0; i < 100; i++)
		attacklog_record(al, &r);
	/* The writer catches up without a close. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		attacklog_counters(al, &c);
	} while (c.written < 100 && since_s(&t0) < 10.0);
	assert_int_equal(c.written, 100);
	assert_int_equal(stored(f), 100);
	attacklog_close(al);
}

static void
test_engine_retention(void **state)
{
	struct fixture			*f = *state;
	struct attacklog		*al;
	struct attack_record		 r = seed_record(0);
	struct attacklog_counters	 c;
	struct store_totals		 t;
	struct store			*st;
	struct timespec			 t0, now;
	char				 err[256];

	/* Two old records and one of today. */
	al = engine_open(f);
	attacklog_record(al, &r);
	attacklog_record(al, &r);
	clock_gettime(CLOCK_REALTIME, &now);
	r.time_us = (int64_t)now.tv_sec * 1000000;
	attacklog_record(al, &r);
	attacklog_close(al);
	assert_int_equal(stored(f), 3);

	/* With a retention of a day, the writer purges at start. */
	f->cfg.retention = 86400;
	al = engine_open(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		attacklog_counters(al, &c);
	} while (c.purged < 2 && since_s(&t0) < 10.0);
	assert_int_equal(c.purged, 2);
	attacklog_close(al);
	assert_int_equal(stored(f), 1);

	st = store_open_config(&f->cfg, true, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_totals(st, &t), 0);
	assert_int_equal(t.total, 3);
	store_close(st);
}

/* Run a subcommand on argv (NULL-terminated) with stdout in f->dir/out
 * and stderr in f->dir/err; returns its exit status, stdout in buf and
 * stderr in f->err. */
static int
run_cmd(struct fixture *f, int (*cmd)(const struct config *, int, char **),
    const char *const *argv_in, char *buf, size_t buflen)
{
	char	*argv[16];
	char	 path[160];
	int	 fd, efd, saved, saved_err, rc, argc, i;
	ssize_t	 n;

	for (argc = 0; argv_in[argc] != NULL; argc++) {
		assert_true(argc < 15);
		argv[argc] = strdup(argv_in[argc]);
	}
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "%s/out", f->dir);
	fflush(stdout);
	fflush(stderr);
	saved = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	snprintf(path, sizeof(path), "%s/err", f->dir);
	efd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && saved_err >= 0 && fd >= 0 && efd >= 0);
	dup2(fd, STDOUT_FILENO);
	dup2(efd, STDERR_FILENO);
	rc = cmd(&f->cfg, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved);
	close(saved_err);
	n = pread(fd, buf, buflen - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	n = pread(efd, f->err, sizeof(f->err) - 1, 0);
	close(efd);
	f->err[n > 0 ? n : 0] = '\0';
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return (rc);
}

#define ARGV(...)	((const char *const[]){ __VA_ARGS__, NULL })

/* The last n lines of s. */
static const char *
last_lines(const char *s, int n)
{
	const char	*p = s + strlen(s);

	/* Skip the final newline, then n newlines back. */
	if (p > s)
		p--;
	while (p > s) {
		if (p[-1] == '\n' && --n == 0)
			break;
		p--;
	}
	return (p);
}

static void
record_seed(struct fixture *f)
{
	struct attacklog	*al;
	struct attack_record	 r;
	int			 i;

	al = engine_open(f);
	for (i = 0; i < 18; i++) {
		r = seed_record(i);
		attacklog_record(al, &r);
	}
	attacklog_close(al);
}

static void
test_cmd_log_seed(void **state)
{
	struct fixture	*f = *state;
	static char	 out[65536];
	char		*p;
	int		 lines;

	record_seed(f);
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--mask"), out,
	    sizeof(out)), 0);
	assert_string_equal(out, seed_masked);

	assert_int_equal(run_cmd(f, cmd_log, ARGV("log"), out, sizeof(out)),
	    0);
	assert_true(starts_with(out, "Mar  8 06:32:50  unknown "
	    "[211.219.235.140] from=<bbbb@gabacho-net.jp> "
	    "to=<empal-victim@empal.com>\n"));

	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--json", "--kind",
	    "spoofed-relay"), out, sizeof(out)), 0);
	lines = 0;
	for (p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 18);
	assert_true(starts_with(out, "{\"time\":\"2002-03-08T06:32:50.000000"
	    "+00:00\",\"kind\":\"spoofed-relay\",\"client_ip\":"
	    "\"211.219.235.140\",\"client_name\":\"unknown\",\"helo\":"
	    "\"gabacho-net.jp\",\"from\":\"bbbb@gabacho-net.jp\",\"to\":"
	    "\"empal-victim@empal.com\",\"port\":25,"));

	/* The newest two, oldest first. */
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--limit=2",
	    "--mask"), out, sizeof(out)), 0);
	assert_string_equal(out, last_lines(seed_masked, 2));
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--since",
	    "2002-03-08T06:34:15Z", "--mask"), out, sizeof(out)), 0);
	assert_string_equal(out, last_lines(seed_masked, 3));
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--kind", "relay"),
	    out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_cmd_log_bad_args(void **state)
{
	struct fixture	*f = *state;
	static char	 out[4096];

	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--kind", "nosuch"),
	    out, sizeof(out)), 2);
	assert_true(starts_with(f->err, "pillory log: --kind: unknown kind "
	    "\"nosuch\"\nusage: pillory log "));
	assert_non_null(strstr(f->err, "kinds: relay spoofed-relay "
	    "forged-local auth-fail protocol banned blocklisted\n"));
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--limit", "x"),
	    out, sizeof(out)), 2);
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--limit", "0"),
	    out, sizeof(out)), 2);
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--limit", "-3"),
	    out, sizeof(out)), 2);
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--limit"),
	    out, sizeof(out)), 2);
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--since",
	    "tomorrow"), out, sizeof(out)), 2);
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--frob"),
	    out, sizeof(out)), 2);
	assert_true(starts_with(f->err, "pillory log: bad argument "
	    "\"--frob\"\nusage: "));
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "json"),
	    out, sizeof(out)), 2);
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--json=yes"),
	    out, sizeof(out)), 2);
	assert_string_equal(out, "");
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log", "--help"),
	    out, sizeof(out)), 0);
	assert_non_null(strstr(out, "usage: pillory log [--json] [--limit N]"
	    " [--kind K] [--since TIME] [--mask]\n"));
	assert_int_equal(run_cmd(f, cmd_stats, ARGV("stats", "--frob"),
	    out, sizeof(out)), 2);
	/* No attack log yet: an error, and nothing is created. */
	assert_int_equal(run_cmd(f, cmd_log, ARGV("log"), out, sizeof(out)),
	    1);
	assert_int_equal(run_cmd(f, cmd_stats, ARGV("stats"), out,
	    sizeof(out)), 1);
	assert_true(starts_with(f->err, "pillory stats: "));
	assert_non_null(strstr(f->err, "attacklog.db"));
	assert_int_equal(access(f->path, F_OK), -1);
}

/* The number after "  NAME" at the start of a line of out. */
static unsigned long long
stats_value(const char *out, const char *name)
{
	char		 key[64];
	const char	*p;

	snprintf(key, sizeof(key), "\n  %s ", name);
	if ((p = strstr(out, key)) == NULL)
		fail_msg("no line for %s", name);
	return (strtoull(p + strlen(key), NULL, 10));
}

static void
test_cmd_stats(void **state)
{
	struct fixture	*f = *state;
	static char	 out[65536];
	const char	*p;
	int		 n;

	record_seed(f);
	assert_int_equal(run_cmd(f, cmd_stats, ARGV("stats"), out,
	    sizeof(out)), 0);
	assert_true(starts_with(out, "detections: 18\n"));
	assert_int_equal(stats_value(out, "spoofed-relay"), 18);
	assert_int_equal(stats_value(out, "relay"), 0);
	assert_int_equal(stats_value(out, "211.219.235.140"), 18);
	assert_int_equal(stats_value(out, "211.219.235.0/24"), 18);
	assert_non_null(strstr(out, "\nincidents: 1, the 1 most recent:\n"));
	assert_non_null(strstr(out, " unknown [211.219.235.140] 2002-03-08 "
	    "06:32:50 .. 2002-03-08 06:34:26, 18 attempts, targeted\n"));
	assert_non_null(strstr(out, "      kinds: spoofed-relay\n"));
	assert_non_null(strstr(out, "senders: bbbb@gabacho-net.jp,"
	    "good@gabacho-net.jp,abc@gabacho-net.jp,aabb@gabacho-net.jp,"));

	assert_int_equal(run_cmd(f, cmd_stats, ARGV("stats", "--json"), out,
	    sizeof(out)), 0);
	assert_true(starts_with(out, "{\"total\":18,\"by_kind\":{\"relay\":0,"
	    "\"spoofed-relay\":18,"));
	assert_non_null(strstr(out, "\"top_addresses\":[{\"address\":"
	    "\"211.219.235.140\",\"count\":18}]"));
	assert_non_null(strstr(out, "\"top_networks\":[{\"network\":"
	    "\"211.219.235.0/24\",\"count\":18}]"));
	assert_non_null(strstr(out, "\"first\":\"2002-03-08T06:32:50+00:00\","
	    "\"last\":\"2002-03-08T06:34:26+00:00\",\"count\":18,"
	    "\"kinds\":[\"spoofed-relay\"],\"targeted\":true,"
	    "\"senders\":[\"bbbb@gabacho-net.jp\",\"good@gabacho-net.jp\""));
	assert_non_null(strstr(out, "\"abcc@gabacho-net.jp\"]}]}}\n"));
	/* aabb comes twice in the seed: 17 distinct senders. */
	n = 0;
	for (p = strstr(out, "\"senders\""); *p != ']'; p++)
		n += (*p == '@');
	assert_int_equal(n, 17);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_db_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_10000, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_engine_flood, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_engine_counters_after_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_retention, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cmd_log_seed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cmd_log_bad_args, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cmd_stats, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
