/*
 * Unit tests for the publisher (src/publish.c): the public form of a
 * record (masking, login names and sessions dropped), and whole
 * generations into a scratch directory from a scratch SQLite store:
 * both languages, escaping of attacker text, the rolling window, incident
 * pages that stay, unchanged pages left alone, enabled = no.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attacklog.h"
#include "config.h"
#include "publish.h"
#include "store.h"
#include "text.h"

struct fixture {
	char		 dir[64];
	char		 db[128];
	char		 site[128];
	struct config	*cfg;
};

static void
set_string(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
	assert_non_null(*field);
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void)text_copy(f->dir, "/tmp/test_publish.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	(void)text_printf(f->db, sizeof(f->db), "%s/attacklog.db", f->dir);
	(void)text_printf(f->site, sizeof(f->site), "%s/site", f->dir);
	f->cfg = config_defaults();
	assert_non_null(f->cfg);
	set_string(&f->cfg->hostname, "mx.example.test");
	set_string(&f->cfg->state_dir, f->dir);
	set_string(&f->cfg->attacklog_db, f->db);
	set_string(&f->cfg->publish_dir, f->site);
	setenv("TZ", "JST-9", 1);
	tzset();
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[256];

	config_free(f->cfg);
	(void)text_printf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return (0);
}

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static struct attack_record
record(int64_t t_us, enum attack_kind kind, const char *ip, const char *from,
    const char *to)
{
	struct attack_record	r;

	memset(&r, 0, sizeof(r));
	r.time_us = t_us;
	r.kind = kind;
	(void)text_copy(r.client_ip, ip, sizeof(r.client_ip));
	(void)text_copy(r.client_name, "unknown", sizeof(r.client_name));
	(void)text_copy(r.helo, "<b>helo</b>", sizeof(r.helo));
	(void)text_copy(r.from, from, sizeof(r.from));
	(void)text_copy(r.to, to, sizeof(r.to));
	(void)text_copy(r.session, "0123456789abcdef", sizeof(r.session));
	(void)text_copy(r.reply, "554 5.7.1 Relay access denied",
	    sizeof(r.reply));
	r.port = 25;
	return (r);
}

static void
insert(struct fixture *f, const struct attack_record *recs, size_t n)
{
	struct store	*st;
	char		 err[256];

	st = store_open("sqlite", f->db, false, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	assert_int_equal(store_insert_batch(st, recs, n), 0);
	store_close(st);
}

/* The whole file f->site/name, NUL-terminated (freed by the caller). */
static char *
slurp(struct fixture *f, const char *name)
{
	char	 path[256], *buf;
	FILE	*fp;
	long	 n;

	(void)text_printf(path, sizeof(path), "%s/%s", f->site, name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("%s: missing", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return (buf);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t		 n = 0;
	const char	*p;

	for (p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return (n);
}

/* Lines inside <pre id="log">. */
static size_t
log_lines(const char *page)
{
	const char	*p = strstr(page, "<pre id=\"log\">"), *end;
	size_t		 n = 0;

	if (p == NULL)
		return (0);
	end = strstr(p, "</pre>");
	assert_non_null(end);
	for (; p < end; p++)
		if (*p == '\n')
			n++;
	return (n);
}

static void
generate(struct fixture *f, struct publish_result *res)
{
	char	err[1024];

	if (publish_run(f->cfg, res, err, sizeof(err)) != 0)
		fail_msg("publish_run: %s", err);
}

static void
test_public_record(void **state)
{
	struct attack_record	r, p;
	char			line[ATTACK_LINE_MAX];

	(void)state;
	setenv("TZ", "JST-9", 1);
	tzset();
	r = record(1015536770LL * 1000000, ATTACK_SPOOFED_RELAY,
	    "211.219.235.140", "bbbb@gabacho-net.jp", "victim@empal.com");
	(void)text_copy(r.user, "alice", sizeof(r.user));
	publish_public_record(&r, true, &p);
	assert_string_equal(p.to, "******@empal.com");
	assert_string_equal(p.user, "");
	assert_string_equal(p.session, "");
	assert_string_equal(p.from, "bbbb@gabacho-net.jp");
	assert_string_equal(p.client_ip, "211.219.235.140");
	assert_true(attack_format_line(&p, true, line, sizeof(line)));
	/* The seed's line, masked. */
	assert_string_equal(line, "Mar  8 06:32:50  unknown [211.219.235.140] "
	    "from=<bbbb@gabacho-net.jp> to=<******@empal.com>");

	/* Unmasked: the recipient stays, the login name still goes. */
	publish_public_record(&r, false, &p);
	assert_string_equal(p.to, "victim@empal.com");
	assert_string_equal(p.user, "");

	/* The last '@' splits: a quoted local part with '@' is masked. */
	(void)text_copy(r.to, "\"a@b\"@evil.example", sizeof(r.to));
	publish_public_record(&r, true, &p);
	assert_string_equal(p.to, "******@evil.example");
	(void)text_copy(r.to, "postmaster", sizeof(r.to));
	publish_public_record(&r, true, &p);
	assert_string_equal(p.to, "******");
	r.to[0] = '\0';
	publish_public_record(&r, true, &p);
	assert_string_equal(p.to, "");

	/* Our own user, the recipient of a forged-local attempt: masked
	 * even with mask_recipients = no. */
	r.kind = ATTACK_FORGED_LOCAL;
	(void)text_copy(r.to, "alice@example.test", sizeof(r.to));
	publish_public_record(&r, false, &p);
	assert_string_equal(p.to, "******@example.test");
}

static void
test_auth_fail_user_never_published(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r;
	struct publish_result	 res;
	const char		*files[] = { "index.html", "index.ja.html",
	    "index.en.html", "attacks.json", "feed.atom", "feed.en.atom" };
	char			*s;
	size_t			 i;

	r = record(now_us() - 1000000, ATTACK_AUTH_FAIL, "192.0.2.7", "",
	    "");
	(void)text_copy(r.user, "secretlogin@example.test", sizeof(r.user));
	insert(f, &r, 1);
	f->cfg->publish_mask_recipients = false;
	generate(f, &res);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		s = slurp(f, files[i]);
		assert_null(strstr(s, "secretlogin"));
		assert_null(strstr(s, "0123456789abcdef"));	/* session */
		free(s);
	}
	/* Not a published kind by default ([publish] kinds). */
	s = slurp(f, "index.en.html");
	assert_null(strstr(s, "[192.0.2.7] auth-fail"));
	free(s);

	/* Listed, it is shown, still without the login name. */
	config_free(f->cfg);
	f->cfg = config_defaults();
	assert_non_null(f->cfg);
	set_string(&f->cfg->hostname, "mx.example.test");
	set_string(&f->cfg->state_dir, f->dir);
	set_string(&f->cfg->attacklog_db, f->db);
	set_string(&f->cfg->publish_dir, f->site);
	free(f->cfg->publish_kinds.items[0]);
	f->cfg->publish_kinds.items[0] = strdup("auth-fail");
	assert_non_null(f->cfg->publish_kinds.items[0]);
	generate(f, &res);
	s = slurp(f, "index.en.html");
	assert_non_null(strstr(s, "[192.0.2.7] auth-fail"));
	assert_null(strstr(s, "user="));
	assert_null(strstr(s, "secretlogin"));
	free(s);
}

/*
 * Withdrawn records leave the page and its counts; our users' and aliases'
 * addresses are masked as sender and recipient whatever mask_recipients
 * says; a forged unknown local part (the 2002 attack) stays as it is.
 */
static void
test_privacy(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r[4];
	struct publish_result	 res;
	char			 path[256];
	char			*s;
	FILE			*fp;
	int64_t			 t = now_us() - 60LL * 1000000;

	(void)text_printf(path, sizeof(path), "%s/passwd", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("bob@example.test:{SHA256-CRYPT}$5$saltsalt$0IyaXrmV7.sGNS6"
	    "tirgqHLqX/G.FBvgkYA.lpPdS5sA\n", fp);
	fclose(fp);
	set_string(&f->cfg->passwd_file, path);
	(void)text_printf(path, sizeof(path), "%s/aliases", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("sales: bob\n", fp);
	fclose(fp);
	set_string(&f->cfg->aliases_file, path);
	f->cfg->publish_mask_recipients = false;
	free(f->cfg->domains.names);	/* the default: empty */
	f->cfg->domains.names = calloc(1, sizeof(char *));
	assert_non_null(f->cfg->domains.names);
	f->cfg->domains.names[0] = strdup("example.test");
	f->cfg->domains.count = 1;

	r[0] = record(t, ATTACK_SPOOFED_RELAY, "203.0.113.5",
	    "bbbb@example.test", "x@empal.com");
	r[1] = record(t + 1, ATTACK_SPOOFED_RELAY, "203.0.113.6",
	    "bob@example.test", "friend@remote.example");
	r[2] = record(t + 2, ATTACK_FORGED_LOCAL, "203.0.113.7",
	    "sales@example.test", "Postmaster@example.test");
	r[3] = record(t + 3, ATTACK_SPOOFED_RELAY, "203.0.113.8",
	    "withdrawnsender@example.test", "gone@remote.example");
	r[3].withdrawn = true;
	insert(f, r, 4);
	generate(f, &res);
	s = slurp(f, "index.en.html");
	assert_non_null(strstr(s, "from=&lt;bbbb@example.test&gt; "
	    "to=&lt;x@empal.com&gt;"));
	assert_null(strstr(s, "bob@"));
	assert_null(strstr(s, "sales@"));
	assert_null(strstr(s, "Postmaster@"));
	assert_non_null(strstr(s, "******@example.test"));
	assert_null(strstr(s, "withdrawnsender"));
	assert_null(strstr(s, "203.0.113.8"));
	free(s);
	s = slurp(f, "attacks.json");
	assert_null(strstr(s, "bob@"));
	assert_null(strstr(s, "withdrawnsender"));
	/* Counts: three published, the withdrawn one not counted. */
	assert_non_null(strstr(s, "\"total\":3"));
	free(s);
	s = slurp(f, "feed.atom");
	assert_null(strstr(s, "bob@"));
	assert_null(strstr(s, "withdrawnsender"));
	free(s);
}

static void
test_generation(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 recs[10];
	struct publish_result	 res;
	int64_t			 t = now_us() - 3600LL * 1000000;
	char			*ja, *en, *idx, *json, *feed, *inc, name[64];
	size_t			 i;

	for (i = 0; i < 8; i++)
		recs[i] = record(t + (int64_t)i * 5000000,
		    ATTACK_SPOOFED_RELAY, "211.219.235.140",
		    "bbbb@gabacho-net.jp", "victim@empal.com");
	recs[8] = record(t + 60000000, ATTACK_RELAY, "198.51.100.9",
	    "\"<script>alert(1)</script>\"@evil.example",
	    "x'y\"z@remote.example");
	recs[9] = record(t + 61000000, ATTACK_PROTOCOL, "198.51.100.9", "",
	    "");
	(void)text_copy(recs[9].helo, "<b>bold</b>\x01", sizeof(recs[9].helo));
	insert(f, recs, 10);
	f->cfg->publish_recent = 5;
	generate(f, &res);
	/* 3 index pages, 3 feeds, 1 JSON, 2 incidents x 2 languages. */
	assert_int_equal(res.files, 11);
	assert_int_equal(res.written, 11);

	ja = slurp(f, "index.ja.html");
	en = slurp(f, "index.en.html");
	idx = slurp(f, "index.html");
	assert_string_equal(idx, ja);		/* ja is the first language */
	assert_non_null(strstr(ja, "<html lang=\"ja\">"));
	assert_non_null(strstr(en, "<html lang=\"en\">"));
	assert_non_null(strstr(ja, "スパム中継攻撃記録"));
	assert_non_null(strstr(ja, "href=\"index.en.html\""));
	assert_non_null(strstr(en, "href=\"index.ja.html\""));
	/* Counts: 10 in all, the rolling window shows 5. */
	assert_non_null(strstr(en, "id=\"total\">10<"));
	assert_non_null(strstr(en, "id=\"kind-spoofed-relay\">8<"));
	assert_int_equal(log_lines(en), 5);
	assert_int_equal(log_lines(ja), 5);
	/* Masked recipients, escaped attacker text, no markup from it. */
	assert_non_null(strstr(en, "to=&lt;******@remote.example&gt;"));
	assert_null(strstr(en, "x&#39;y"));
	assert_null(strstr(en, "<script"));
	assert_null(strstr(en, "<b>"));
	assert_non_null(strstr(en, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(en, "helo=&lt;&lt;b&gt;bold&lt;/b&gt;\\x01&gt;"));
	assert_null(strstr(en, "victim@"));
	/* The chart: inline SVG with a text alternative. */
	assert_non_null(strstr(en, "<svg class=\"chart\""));
	assert_non_null(strstr(en, "<desc>10 attempts in the 90 days"));
	assert_int_equal(count(en, "<script"), 0);

	json = slurp(f, "attacks.json");
	assert_null(strchr(json, '<'));
	assert_non_null(strstr(json, "\"total\":10"));
	assert_non_null(strstr(json, "\\u003cscript\\u003e"));
	assert_null(strstr(json, "victim@"));
	feed = slurp(f, "feed.en.atom");
	assert_non_null(strstr(feed, "<feed xmlns=\"http://www.w3.org/2005/"
	    "Atom\" xml:lang=\"en\">"));
	assert_int_equal(count(feed, "<entry>"), 2);
	assert_null(strstr(feed, "<script"));

	/* Both incidents have pages in both languages. */
	assert_non_null(strstr(en, "href=\"incidents/1.en.html\""));
	inc = slurp(f, "incidents/1.ja.html");
	assert_non_null(strstr(inc, "id=\"attempts\">8<"));
	assert_non_null(strstr(inc, "当サイトのドメイン名を差出人にかたった"));
	assert_int_equal(log_lines(inc), 8);
	free(inc);
	inc = slurp(f, "incidents/2.en.html");
	assert_null(strstr(inc, "<script"));
	assert_non_null(strstr(inc, "href=\"../index.en.html\""));
	free(inc);
	free(ja);
	free(en);
	free(idx);
	free(json);
	free(feed);

	/* Nothing new: incident pages and feeds are left alone. */
	generate(f, &res);
	assert_int_equal(res.files, 11);
	assert_int_equal(res.written, 4);	/* 3 index pages + JSON */
	(void)text_printf(name, sizeof(name), "incidents/.1.ja.html.%ld.tmp",
	    (long)getpid());
	{
		struct stat	sb;
		char		path[256];

		(void)text_printf(path, sizeof(path), "%s/%s", f->site, name);
		assert_int_not_equal(stat(path, &sb), 0);
	}
}

static void
test_disabled(void **state)
{
	struct fixture		*f = *state;
	struct attack_record	 r;
	struct publish_result	 res;
	const char		*files[] = { "index.html", "index.ja.html",
	    "index.en.html", "attacks.json", "feed.atom", "feed.ja.atom",
	    "feed.en.atom", "incidents/1.ja.html", "incidents/1.en.html" };
	char			*s;
	size_t			 i;

	r = record(now_us() - 1000000, ATTACK_RELAY, "203.0.113.66",
	    "spam@evil.example", "x@remote.example");
	insert(f, &r, 1);
	generate(f, &res);
	s = slurp(f, "incidents/1.en.html");
	if (strstr(s, "203.0.113.66") == NULL)
		fail_msg("%s", s);
	free(s);

	f->cfg->publish_enabled = false;
	generate(f, &res);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		s = slurp(f, files[i]);
		if (strstr(s, "203.0.113.66") != NULL ||
		    strstr(s, "evil.example") != NULL)
			fail_msg("%s: %s", files[i], s);
		if (strstr(files[i], "en.") != NULL)
			assert_non_null(strstr(s, "Publication of the network "
			    "attack log has ended."));
		else
			assert_non_null(strstr(s, "ネットワーク攻撃記録の公表は"
			    "とりやめました。"));
		free(s);
	}
	/* Idempotent: nothing left to change but the feeds' time. */
	generate(f, &res);
	assert_true(res.written <= 3);
}

static void
test_bad_language(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];

	set_string(&f->cfg->publish_languages.items[1], "fr");
	assert_int_equal(publish_run(f->cfg, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown language \"fr\""));
}

static void
test_single_language_and_empty_store(void **state)
{
	struct fixture		*f = *state;
	struct publish_result	 res;
	struct attack_record	 r;
	char			*s;

	/* An empty store (created by the writer, no records yet). */
	r = record(now_us(), ATTACK_RELAY, "192.0.2.1", "a@b", "c@d");
	insert(f, &r, 0);
	free(f->cfg->publish_languages.items[0]);
	f->cfg->publish_languages.items[0] =
	    f->cfg->publish_languages.items[1];
	f->cfg->publish_languages.count = 1;
	generate(f, &res);
	s = slurp(f, "index.html");
	assert_non_null(strstr(s, "<html lang=\"en\">"));
	assert_non_null(strstr(s, "Nothing recorded yet."));
	assert_non_null(strstr(s, "No attempts in the 90 days"));
	assert_null(strstr(s, "<nav"));
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_record),
		cmocka_unit_test_setup_teardown(test_privacy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_auth_fail_user_never_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_language, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_single_language_and_empty_store, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
