/*
 * test_attacklog.c: cmocka unit tests for attacklog.c: kind names, the
 * site's text line (the seed's 18 attempts, masked and not), the JSON
 * form and its escaping, --since parsing, and the engine: the queue and
 * its writer thread (10,000 records from the caller's thread, all on disk
 * after close; retention purges), then `pillory log` and `pillory stats`
 * over what it wrote. Times are checked with TZ=UTC (and a +09:00 zone).
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

static void
test_kind_names(void **state)
{
	static const char *const names[] = { "relay", "spoofed-relay",
	    "forged-local", "auth-fail", "protocol", "banned", "blocklisted" };
	int	i;

	(void)state;
	for (i = 0; i < ATTACK_KIND_COUNT; i++) {
		assert_string_equal(attack_kind_name(i), names[i]);
		assert_int_equal(attack_kind_from_name(names[i]), i);
	}
	assert_int_equal(attack_kind_from_name("Relay"), -1);
	assert_int_equal(attack_kind_from_name(""), -1);
	assert_int_equal(attack_kind_from_name("spoofed"), -1);
	assert_string_equal(attack_kind_name(ATTACK_KIND_COUNT), "unknown");
	assert_true(attack_kind_is_targeted(ATTACK_SPOOFED_RELAY));
	assert_true(attack_kind_is_targeted(ATTACK_FORGED_LOCAL));
	assert_false(attack_kind_is_targeted(ATTACK_RELAY));
	assert_false(attack_kind_is_targeted(ATTACK_AUTH_FAIL));
}

static void
test_format_line_seed(void **state)
{
	struct attack_record	r = seed_record(0);
	char			line[ATTACKLOG_LINE_MAX];

	(void)state;
	set_tz("UTC");
	assert_true(attacklog_format_line(&r, false, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 06:32:50  unknown "
	    "[211.219.235.140] from=<bbbb@gabacho-net.jp> "
	    "to=<empal-victim@empal.com>");
	assert_true(attacklog_format_line(&r, true, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 06:32:50  unknown "
	    "[211.219.235.140] from=<bbbb@gabacho-net.jp> "
	    "to=<******@empal.com>");
	/* Six asterisks whatever the length; '@' inside quotes is local. */
	snprintf(r.to, sizeof(r.to), "a@empal.com");
	assert_true(attacklog_format_line(&r, true, line, sizeof(line)));
	assert_non_null(strstr(line, " to=<******@empal.com>"));
	snprintf(r.to, sizeof(r.to), "\"x@y\"@empal.com");
	assert_true(attacklog_format_line(&r, true, line, sizeof(line)));
	assert_non_null(strstr(line, " to=<******@empal.com>"));

	/* Local time: TZ applies. */
	set_tz("JST-9");
	r = seed_record(17);
	assert_true(attacklog_format_line(&r, false, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 15:34:26  unknown "
	    "[211.219.235.140] from=<abcc@gabacho-net.jp> "
	    "to=<empal-victim@empal.com>");
	/* Two-digit days have no padding space. */
	r.time_us += 10LL * 86400 * 1000000;
	assert_true(attacklog_format_line(&r, false, line, sizeof(line)));
	assert_true(strncmp(line, "Mar 18 15:34:26  unknown", 24) == 0);
	set_tz("UTC");

	/* Too small a buffer is reported, never overrun. */
	assert_false(attacklog_format_line(&r, false, line, 20));
	assert_true(strlen(line) < 20);
}

static void
test_format_line_other_kinds(void **state)
{
	struct attack_record	r;
	char			line[ATTACKLOG_LINE_MAX];

	(void)state;
	set_tz("UTC");
	memset(&r, 0, sizeof(r));
	r.time_us = SEED_US;
	r.kind = ATTACK_AUTH_FAIL;
	snprintf(r.client_ip, sizeof(r.client_ip), "192.0.2.1");
	snprintf(r.client_name, sizeof(r.client_name), "host.example.test");
	snprintf(r.user, sizeof(r.user), "bob@example.test");
	snprintf(r.reply, sizeof(r.reply), "535 5.7.8 authentication failed");
	assert_true(attacklog_format_line(&r, false, line, sizeof(line)));
	assert_string_equal(line, "Mar  8 06:32:50  host.example.test "
	    "[192.0.2.1] auth-fail user=<bob@example.test> "
	    "reply=\"535 5.7.8 authentication failed\"");
	assert_true(attacklog_format_line(&r, true, line, sizeof(line)));
	assert_non_null(strstr(line, " user=<******> "));

	memset(&r, 0, sizeof(r));
	r.time_us = SEED_US;
	r.kind = ATTACK_PROTOCOL;
	snprintf(r.client_ip, sizeof(r.client_ip), "2001:db8::5");
	snprintf(r.client_name, sizeof(r.client_name), "unknown");
	snprintf(r.helo, sizeof(r.helo), "x\x1b[2J");
	snprintf(r.reply, sizeof(r.reply), "554 5.5.2 bare LF\\");
	r.client_name[0] = '\0';
	assert_true(attacklog_format_line(&r, false, line, sizeof(line)));
	/* Control characters and '\' never reach the terminal raw; no
	 * name yet reads "unknown". */
	assert_string_equal(line, "Mar  8 06:32:50  unknown [2001:db8::5] "
	    "protocol helo=<x\\x1b[2J> reply=\"554 5.5.2 bare LF\\x5c\"");
}

static void
test_format_json(void **state)
{
	struct attack_record	r = seed_record(0);
	char			out[ATTACKLOG_JSON_MAX];

	(void)state;
	set_tz("UTC");
	r.time_us += 123456;
	assert_true(attacklog_format_json(&r, true, out, sizeof(out)));
	assert_string_equal(out, "{\"time\":\"2002-03-08T06:32:50.123456"
	    "+00:00\",\"kind\":\"spoofed-relay\",\"client_ip\":"
	    "\"211.219.235.140\",\"client_name\":\"unknown\",\"helo\":"
	    "\"gabacho-net.jp\",\"from\":\"bbbb@gabacho-net.jp\",\"to\":"
	    "\"******@empal.com\",\"port\":25,\"session\":"
	    "\"000000000000abc0\",\"reply\":\"554 5.7.1 "
	    "\\u003cempal-victim@empal.com\\u003e: Relay access denied\","
	    "\"user\":\"\"}");
	set_tz("JST-9");
	assert_true(attacklog_format_json(&r, false, out, sizeof(out)));
	assert_true(starts_with(out, "{\"time\":\"2002-03-08T15:32:50.123456"
	    "+09:00\","));
	assert_non_null(strstr(out, "\"to\":\"empal-victim@empal.com\""));
	set_tz("UTC");
	assert_false(attacklog_format_json(&r, false, out, 100));
}

/* A withdrawn record: marked at the end of its line and in its JSON. */
static void
test_format_withdrawn(void **state)
{
	struct attack_record	r = seed_record(0);
	char			out[ATTACKLOG_JSON_MAX];

	(void)state;
	set_tz("UTC");
	r.withdrawn = true;
	assert_true(attacklog_format_line(&r, true, out, sizeof(out)));
	assert_string_equal(out, "Mar  8 06:32:50  unknown [211.219.235.140] "
	    "from=<bbbb@gabacho-net.jp> to=<******@empal.com> withdrawn");
	assert_true(attacklog_format_json(&r, true, out, sizeof(out)));
	assert_non_null(strstr(out, ",\"withdrawn\":true}"));
	r.kind = ATTACK_AUTH_FAIL;
	assert_true(attacklog_format_line(&r, false, out, sizeof(out)));
	assert_true(strlen(out) > 10 &&
	    strcmp(out + strlen(out) - 10, " withdrawn") == 0);
	r.withdrawn = false;
	assert_true(attacklog_format_json(&r, true, out, sizeof(out)));
	assert_null(strstr(out, "withdrawn"));
}

static void
test_json_escape(void **state)
{
	char	out[128];

	(void)state;
	assert_true(attacklog_json_escape("a\"b\\c", out, sizeof(out)));
	assert_string_equal(out, "\"a\\\"b\\\\c\"");
	assert_true(attacklog_json_escape("\x01\n\x7f<&>", out, sizeof(out)));
	assert_string_equal(out,
	    "\"\\u0001\\u000a\\u007f\\u003c\\u0026\\u003e\"");
	/* Valid UTF-8 passes, invalid bytes become U+FFFD. */
	assert_true(attacklog_json_escape("\xe3\x82\xb9\xff\xc0\xaf.",
	    out, sizeof(out)));
	assert_string_equal(out, "\"\xe3\x82\xb9\\ufffd\\ufffd\\ufffd.\"");
	/* A truncated sequence at the end. */
	assert_true(attacklog_json_escape("x\xe3\x82", out, sizeof(out)));
	assert_string_equal(out, "\"x\\ufffd\\ufffd\"");
	assert_false(attacklog_json_escape("abcdef", out, 8));
	assert_true(attacklog_json_escape("abcde", out, 8));
}

static void
test_parse_time(void **state)
{
	const int64_t	now = SEED_US;
	int64_t		t;

	(void)state;
	set_tz("UTC");
	assert_true(attacklog_parse_time("2002-03-08T06:32:50Z", now, &t));
	assert_int_equal(t, SEED_US);
	assert_true(attacklog_parse_time("2002-03-08t06:32:50.25z", now, &t));
	assert_int_equal(t, SEED_US + 250000);
	assert_true(attacklog_parse_time("2002-03-08T15:32:50+09:00", now,
	    &t));
	assert_int_equal(t, SEED_US);
	assert_true(attacklog_parse_time("2002-03-07 21:32:50-09:00", now,
	    &t));
	assert_int_equal(t, SEED_US);
	assert_true(attacklog_parse_time("2002-03-08", now, &t));
	assert_int_equal(t, (SEED_S - (6 * 3600 + 32 * 60 + 50)) * 1000000);
	/* Without an offset: local time. */
	set_tz("JST-9");
	assert_true(attacklog_parse_time("2002-03-08T15:32:50", now, &t));
	assert_int_equal(t, SEED_US);
	assert_true(attacklog_parse_time("2002-03-08", now, &t));
	assert_int_equal(t, (SEED_S - (15 * 3600 + 32 * 60 + 50)) * 1000000);
	set_tz("UTC");

	assert_true(attacklog_parse_time("2h", now, &t));
	assert_int_equal(t, now - 7200LL * 1000000);
	assert_true(attacklog_parse_time("7d", now, &t));
	assert_int_equal(t, now - 7LL * 86400 * 1000000);
	assert_true(attacklog_parse_time("30m", now, &t));
	assert_int_equal(t, now - 1800LL * 1000000);
	assert_true(attacklog_parse_time("45s", now, &t));
	assert_true(attacklog_parse_time("1w", now, &t));
	assert_int_equal(t, now - 7LL * 86400 * 1000000);

	assert_false(attacklog_parse_time("", now, &t));
	assert_false(attacklog_parse_time("2", now, &t));
	assert_false(attacklog_parse_time("2x", now, &t));
	assert_false(attacklog_parse_time("h", now, &t));
	assert_false(attacklog_parse_time("-2h", now, &t));
	assert_false(attacklog_parse_time("2hh", now, &t));
	assert_false(attacklog_parse_time("99999999999999999999d", now, &t));
	assert_false(attacklog_parse_time("2002-02-30", now, &t));
	assert_false(attacklog_parse_time("2002-13-01", now, &t));
	assert_false(attacklog_parse_time("2002-3-8", now, &t));
	assert_false(attacklog_parse_time("2002-03-08T25:00:00Z", now, &t));
	assert_false(attacklog_parse_time("2002-03-08T06:32Z", now, &t));
	assert_false(attacklog_parse_time("2002-03-08T06:32:50+0900", now,
	    &t));
	assert_false(attacklog_parse_time("2002-03-08T06:32:50.Z", now, &t));
	assert_false(attacklog_parse_time("2002-03-08T06:32:50Zjunk", now,
	    &t));
	assert_false(attacklog_parse_time("yesterday", now, &t));
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

	st = attacklog_store_open(&f->cfg, true, err, sizeof(err));
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

	assert_true(attacklog_db_path(&f->cfg, out, sizeof(out), err,
	    sizeof(err)));
	assert_string_equal(out, f->path);
	cfg = f->cfg;
	cfg.attacklog_db = (char *)"/elsewhere/log.db";
	assert_true(attacklog_db_path(&cfg, out, sizeof(out), err,
	    sizeof(err)));
	assert_string_equal(out, "/elsewhere/log.db");
	assert_false(attacklog_db_path(&cfg, out, 8, err, sizeof(err)));
	memset(&cfg, 0, sizeof(cfg));
	assert_false(attacklog_db_path(&cfg, out, sizeof(out), err,
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

	st = attacklog_store_open(&f->cfg, true, err, sizeof(err));
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
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_format_line_seed),
		cmocka_unit_test(test_format_line_other_kinds),
		cmocka_unit_test(test_format_json),
		cmocka_unit_test(test_format_withdrawn),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_parse_time),
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
