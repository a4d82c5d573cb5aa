/*
 * test_aliases.c: unit tests for the aliases file and alias expansion
 * (src/aliases.c): the line parser, loading with FILE:LINE errors, and
 * expansion with bare local parts, loops, self references and limits.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aliases.h"

#define GOT_KEEP	32

/* What emit() was called with. */
struct got {
	size_t	count;
	char	addr[GOT_KEEP][ADDRESS_MAX + 1];
};

static bool
test_is_local(const char *domain, void *arg)
{
	(void)arg;
	return (strcmp(domain, "example.org") == 0 ||
	    strcmp(domain, "example.net") == 0);
}

static void
test_emit(const char *addr, void *arg)
{
	struct got	*got = arg;

	if (got->count < GOT_KEEP)
		snprintf(got->addr[got->count], sizeof(got->addr[0]), "%s",
		    addr);
	got->count++;
}

static void
write_temp(char *path_out, size_t size, const char *text)
{
	const char	*dir = getenv("TMPDIR");
	size_t		 len = strlen(text);
	int		 fd;

	snprintf(path_out, size, "%s/pillory-aliases-XXXXXX",
	    dir != NULL ? dir : "/tmp");
	fd = mkstemp(path_out);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static struct alias_db *
load_text(const char *text, char *err, size_t errlen, char *path,
    size_t pathlen)
{
	struct alias_db	*db;

	write_temp(path, pathlen, text);
	db = aliases_load(path, err, errlen);
	unlink(path);
	return (db);
}

static struct alias_db *
load_ok(const char *text)
{
	struct alias_db	*db;
	char		 err[512], path[256];

	if ((db = load_text(text, err, sizeof(err), path, sizeof(path))) ==
	    NULL)
		fail_msg("%s", err);
	return (db);
}

/*
 * Expand key and compare with the NULL-terminated list of wanted
 * addresses, in order.
 */
static void
assert_expands(const struct alias_db *db, const char *key,
    const char *const *want)
{
	struct got	got;
	size_t		i, n = 0;
	int		r;

	memset(&got, 0, sizeof(got));
	while (want[n] != NULL)
		n++;
	r = aliases_expand(db, key, test_is_local, test_emit, &got);
	if (r != (int)n || got.count != n)
		fail_msg("%s: returned %d, emitted %zu, want %zu", key, r,
		    got.count, n);
	for (i = 0; i < n; i++) {
		if (strcmp(got.addr[i], want[i]) != 0)
			fail_msg("%s: #%zu is %s, want %s", key, i,
			    got.addr[i], want[i]);
	}
}

static int
parse(const char *line, struct span *name, struct span *targets,
    const char **why)
{
	return (aliases_parse_line(line, strlen(line), name, targets, why));
}

static void
assert_span(struct span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void
test_parse_good(void **state)
{
	struct span	 name, targets;
	const char	*why = NULL;

	(void)state;
	assert_int_equal(parse("postmaster: root", &name, &targets, &why), 0);
	assert_span(name, "postmaster");
	assert_span(targets, "root");

	assert_int_equal(parse("Sales@Example.ORG:\talice , carol@example.net,"
	    "bob  ", &name, &targets, &why), 0);
	assert_span(name, "Sales@Example.ORG");
	assert_span(targets, "alice , carol@example.net,bob");

	assert_int_equal(parse("a:b", &name, &targets, &why), 0);
	assert_span(targets, "b");
	assert_int_equal(parse("first.last+tag: o'brien@example.org",
	    &name, &targets, &why), 0);
	assert_int_equal(parse("x: y # not a comment, a target", &name,
	    &targets, &why), -1);
}

static void
test_parse_skip(void **state)
{
	static const char *const skip[] = {
		"", " ", "\t", "#", "# root: alice", "  # indented",
	};
	struct span	 name, targets;
	const char	*why = NULL;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		assert_int_equal(parse(skip[i], &name, &targets, &why), 1);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*line;
		const char	*why;
	} bad[] = {
		{ "root", "missing ':' after alias name" },
		{ ": alice", "empty alias name" },
		{ "root:", "empty target list" },
		{ "root: \t ", "empty target list" },
		{ "root: alice,,bob", "empty target" },
		{ "root: alice,", "empty target" },
		{ "root: , alice", "empty target" },
		{ "root: |/usr/bin/procmail",
		    "pipe and file targets are not supported" },
		{ "root: /var/mail/root",
		    "pipe and file targets are not supported" },
		{ "root: :include:/etc/mail/staff",
		    ":include: is not supported" },
		{ " alice", "line starts with white space (continuation "
		    "lines are not supported)" },
		{ "\troot: alice", "line starts with white space "
		    "(continuation lines are not supported)" },
		{ "post master: root", "bad character in alias name" },
		{ "root : alice", "bad character in alias name" },
		{ "root: alice bob", "bad character in target" },
		{ "\"root\": alice", "quoted local parts are not supported" },
		{ "root: \"a b\"@example.org",
		    "quoted local parts are not supported" },
		{ "root@: alice", "alias name has an empty domain" },
		{ "@example.org: alice", "alias name has an empty local part" },
		{ "root: alice@", "target has an empty domain" },
		{ "root: @example.org", "target has an empty local part" },
		{ "root: alice@[192.0.2.1]",
		    "bad character in target domain" },
		{ "root: alice@example.org@example.net",
		    "bad character in target domain" },
		{ "root: a<b", "bad character in target" },
		{ "root: alice\r", "control character in line" },
		{ "root: al\xc3\xaf" "ce", "non-ASCII octet in line" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaa: alice", "alias name local part too long" },
	};
	struct span	 name, targets;
	const char	*why;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (parse(bad[i].line, &name, &targets, &why) != -1)
			fail_msg("accepted: \"%s\"", bad[i].line);
		assert_non_null(why);
		if (strcmp(why, bad[i].why) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].line,
			    why, bad[i].why);
	}
}

static void
test_parse_limits(void **state)
{
	struct span	 name, targets;
	const char	*why = NULL;
	char		*line;
	size_t		 i;

	(void)state;
	assert_int_equal(aliases_parse_line("root: a\0b", 9, &name, &targets,
	    &why), -1);
	assert_string_equal(why, "control character in line");

	/* "root: a,a,a,...": exactly the maximum, then one octet more. */
	line = malloc(ALIASES_LINE_MAX + 2);
	assert_non_null(line);
	memcpy(line, "root: ", 6);
	for (i = 6; i < ALIASES_LINE_MAX + 1; i++)
		line[i] = (i % 2 == 0) ? 'a' : ',';
	line[ALIASES_LINE_MAX - 1] = 'a';
	assert_int_equal(aliases_parse_line(line, ALIASES_LINE_MAX, &name,
	    &targets, &why), 0);
	assert_int_equal(aliases_parse_line(line, ALIASES_LINE_MAX + 1, &name,
	    &targets, &why), -1);
	assert_string_equal(why, "line too long");
	free(line);
}

static void
test_load(void **state)
{
	struct alias_db	*db;

	(void)state;
	db = load_ok(
	    "# aliases\n"
	    "\n"
	    "Postmaster: Root\n"
	    "root: alice@Example.org, bob\r\n"
	    "sales@example.org: carol");	/* no final newline */
	assert_int_equal(aliases_count(db), 3);
	assert_true(aliases_has(db, "postmaster@example.org"));
	assert_true(aliases_has(db, "postmaster@example.net"));
	assert_true(aliases_has(db, "root@anything.test"));
	assert_true(aliases_has(db, "sales@example.org"));
	assert_false(aliases_has(db, "sales@example.net"));
	assert_false(aliases_has(db, "alice@example.org"));
	assert_false(aliases_has(db, "Postmaster@example.org"));
	assert_true(aliases_has(db, "postmaster"));
	assert_false(aliases_has(db, NULL));

	/* Targets are lower-cased too. */
	assert_expands(db, "postmaster@example.net", (const char *const[]){
	    "alice@example.org", "bob@example.net", NULL });
	aliases_free(db);
	aliases_free(NULL);
}

static void
test_load_errors(void **state)
{
	struct alias_db	*db;
	char		 err[512], want[512], path[256], *text;
	size_t		 off, i;

	(void)state;
	db = load_text(
	    "postmaster: root\n"
	    "# fine\n"
	    "root alice\n",
	    err, sizeof(err), path, sizeof(path));
	assert_null(db);
	snprintf(want, sizeof(want), "%s:3: missing ':' after alias name",
	    path);
	assert_string_equal(err, want);

	db = load_text("a: b\nc:\n", err, sizeof(err), path, sizeof(path));
	assert_null(db);
	snprintf(want, sizeof(want), "%s:2: empty target list", path);
	assert_string_equal(err, want);

	db = load_text(
	    "postmaster: root\n"
	    "abuse: root\n"
	    "PostMaster: alice\n",
	    err, sizeof(err), path, sizeof(path));
	assert_null(db);
	snprintf(want, sizeof(want), "%s:3: duplicate alias postmaster "
	    "(first on line 1)", path);
	assert_string_equal(err, want);

	/* A bare name and a full address are different entries. */
	db = load_ok("postmaster: root\npostmaster@example.org: alice\n");
	assert_int_equal(aliases_count(db), 2);
	aliases_free(db);

	/* Too long on line 2, even though it would parse. */
	text = malloc(ALIASES_LINE_MAX + 64);
	assert_non_null(text);
	off = (size_t)snprintf(text, 64, "a: b\nroot: ");
	for (i = 0; i < ALIASES_LINE_MAX; i++)
		text[off + i] = 'x';
	memcpy(text + off + ALIASES_LINE_MAX, "\n", 2);
	db = load_text(text, err, sizeof(err), path, sizeof(path));
	free(text);
	assert_null(db);
	snprintf(want, sizeof(want), "%s:2: line longer than %d octets", path,
	    ALIASES_LINE_MAX);
	assert_string_equal(err, want);

	db = aliases_load("/nonexistent/pillory-aliases", err, sizeof(err));
	assert_null(db);
	assert_string_equal(err,
	    "/nonexistent/pillory-aliases: No such file or directory");
}

static void
test_expand_plain(void **state)
{
	struct alias_db	*db;
	struct got	 got;

	(void)state;
	db = load_ok(
	    "postmaster: root\n"
	    "root: alice@example.org, bob\n"
	    "list: alice, bob, team, bob@example.org\n"
	    "team: alice, carol, friend@remote.test\n"
	    "friend@remote.test: never\n");

	/* No entry: the address itself. */
	assert_expands(db, "alice@example.org", (const char *const[]){
	    "alice@example.org", NULL });
	assert_expands(db, "postmaster@example.org", (const char *const[]){
	    "alice@example.org", "bob@example.org", NULL });
	/* Duplicates are emitted once; remote targets are not expanded. */
	assert_expands(db, "list@example.org", (const char *const[]){
	    "alice@example.org", "bob@example.org", "carol@example.org",
	    "friend@remote.test", NULL });

	/* Without is_local every target with a domain is final. */
	memset(&got, 0, sizeof(got));
	assert_int_equal(aliases_expand(db, "root@example.org", NULL,
	    test_emit, &got), 2);

	/* Malformed keys. */
	assert_int_equal(aliases_expand(db, "root", test_is_local, test_emit,
	    &got), -1);
	assert_int_equal(aliases_expand(db, "@example.org", test_is_local,
	    test_emit, &got), -1);
	assert_int_equal(aliases_expand(db, "root@", test_is_local,
	    test_emit, &got), -1);

	/* No database: everybody is themselves. */
	assert_expands(NULL, "root@example.org", (const char *const[]){
	    "root@example.org", NULL });
	aliases_free(db);
}

static void
test_expand_domains(void **state)
{
	struct alias_db	*db;

	(void)state;
	db = load_ok(
	    "postmaster: root\n"
	    "root: admin@example.org, hostmaster\n"
	    "info@example.org: sales\n"
	    "info: help\n"
	    "sales@example.org: carol@example.net\n");

	/* A bare target takes the domain of the address being expanded. */
	assert_expands(db, "postmaster@example.org", (const char *const[]){
	    "admin@example.org", "hostmaster@example.org", NULL });
	assert_expands(db, "postmaster@example.net", (const char *const[]){
	    "admin@example.org", "hostmaster@example.net", NULL });
	/* A full-address entry wins over the bare one. */
	assert_expands(db, "info@example.org", (const char *const[]){
	    "carol@example.net", NULL });
	assert_expands(db, "info@example.net", (const char *const[]){
	    "help@example.net", NULL });
	/* sales@example.net has no entry of its own. */
	assert_expands(db, "sales@example.net", (const char *const[]){
	    "sales@example.net", NULL });
	aliases_free(db);
}

static void
test_expand_loops(void **state)
{
	struct alias_db	*db;

	(void)state;
	db = load_ok(
	    "alice: alice, alice@archive.test\n"
	    "a: b\n"
	    "b: c\n"
	    "c: a\n"
	    "x: y, x@remote.test\n"
	    "y: x, y@remote.test\n"
	    "p@example.org: q@example.net\n"
	    "q@example.net: p@example.org, q@example.net\n");

	/* Self reference: deliver to the address and the copies. */
	assert_expands(db, "alice@example.org", (const char *const[]){
	    "alice@example.org", "alice@archive.test", NULL });
	/* A cycle comes back to where it started. */
	assert_expands(db, "a@example.org", (const char *const[]){
	    "a@example.org", NULL });
	assert_expands(db, "b@example.net", (const char *const[]){
	    "b@example.net", NULL });
	assert_expands(db, "x@example.org", (const char *const[]){
	    "x@example.org", "y@remote.test", "x@remote.test", NULL });
	/* Across domains. */
	assert_expands(db, "p@example.org", (const char *const[]){
	    "p@example.org", "q@example.net", NULL });
	/* p's only target is q: q is all there is. */
	assert_expands(db, "q@example.net", (const char *const[]){
	    "q@example.net", NULL });
	aliases_free(db);
}

static void
test_expand_depth(void **state)
{
	struct alias_db	*db;
	struct got	 got;
	char		 text[1024];
	size_t		 off = 0, i;

	(void)state;
	/* l0 -> l1 -> ... -> l8: ALIAS_DEPTH_MAX expansions, then l8. */
	for (i = 0; i < ALIAS_DEPTH_MAX; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "l%zu: l%zu\n", i, i + 1);
	db = load_ok(text);
	assert_expands(db, "l0@example.org", (const char *const[]){
	    "l8@example.org", NULL });
	assert_expands(db, "l1@example.org", (const char *const[]){
	    "l8@example.org", NULL });
	aliases_free(db);

	/* One more level is refused. */
	snprintf(text + off, sizeof(text) - off, "l%d: l%d\n",
	    ALIAS_DEPTH_MAX, ALIAS_DEPTH_MAX + 1);
	db = load_ok(text);
	memset(&got, 0, sizeof(got));
	assert_int_equal(aliases_expand(db, "l0@example.org", test_is_local,
	    test_emit, &got), -1);
	assert_expands(db, "l1@example.org", (const char *const[]){
	    "l9@example.org", NULL });
	aliases_free(db);
}

/*
 * "all" expands to groups g0..g9 of 100 members each: ALIAS_TARGETS_MAX
 * addresses when extra is NULL, one more with it.
 */
static struct alias_db *
load_big(const char *extra)
{
	struct alias_db	*db;
	char		*text;
	size_t		 size = 64 * 1024, off = 0, g, m;

	text = malloc(size);
	assert_non_null(text);
	off += (size_t)snprintf(text + off, size - off, "all: g0");
	for (g = 1; g < 10; g++)
		off += (size_t)snprintf(text + off, size - off, ", g%zu", g);
	if (extra != NULL)
		off += (size_t)snprintf(text + off, size - off, ", %s", extra);
	off += (size_t)snprintf(text + off, size - off, "\n");
	for (g = 0; g < 10; g++) {
		off += (size_t)snprintf(text + off, size - off, "g%zu: m%zu_0",
		    g, g);
		for (m = 1; m < 100; m++)
			off += (size_t)snprintf(text + off, size - off,
			    ",m%zu_%zu", g, m);
		off += (size_t)snprintf(text + off, size - off, "\n");
	}
	assert_true(off < size);
	db = load_ok(text);
	free(text);
	return (db);
}

static void
test_expand_limits(void **state)
{
	struct alias_db	*db;
	struct got	 got;
	char		 text[4096];
	size_t		 off = 0, i;

	(void)state;
	assert_int_equal(ALIAS_TARGETS_MAX, 1000);
	db = load_big(NULL);
	memset(&got, 0, sizeof(got));
	assert_int_equal(aliases_expand(db, "all@example.org", test_is_local,
	    test_emit, &got), ALIAS_TARGETS_MAX);
	assert_int_equal(got.count, ALIAS_TARGETS_MAX);
	assert_string_equal(got.addr[0], "m0_0@example.org");
	aliases_free(db);

	/* A duplicate does not count ... */
	db = load_big("m3_7");
	memset(&got, 0, sizeof(got));
	assert_int_equal(aliases_expand(db, "all@example.org", test_is_local,
	    test_emit, &got), ALIAS_TARGETS_MAX);
	aliases_free(db);

	/* ... a new address does. */
	db = load_big("someone@remote.test");
	memset(&got, 0, sizeof(got));
	assert_int_equal(aliases_expand(db, "all@example.org", test_is_local,
	    test_emit, &got), -1);
	aliases_free(db);

	/*
	 * A diamond lattice: d0 -> {d1a, d1b} -> d2 -> {d3a, d3b} -> ...;
	 * each address is expanded once, so this is quick and small.
	 */
	for (i = 0; i < ALIAS_DEPTH_MAX / 2; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "d%zu: d%zua, d%zub, leaf%zu\n"
		    "d%zua: d%zu\nd%zub: d%zu\n",
		    i * 2, i * 2 + 1, i * 2 + 1, i, i * 2 + 1, i * 2 + 2,
		    i * 2 + 1, i * 2 + 2);
	db = load_ok(text);
	memset(&got, 0, sizeof(got));
	assert_int_equal(aliases_expand(db, "d0@example.org", test_is_local,
	    test_emit, &got), ALIAS_DEPTH_MAX / 2 + 1);
	aliases_free(db);
}

/* The SIGHUP path reads an aliases file the root side opened. */
static void
test_load_fp(void **state)
{
	static const char	 text[] = "Sales: Alice, bob@example.net\n";
	struct alias_db		*db;
	char			 err[512];
	FILE			*fp;

	(void)state;
	fp = fmemopen((void *)text, sizeof(text) - 1, "r");
	assert_non_null(fp);
	db = aliases_load_fp(fp, "mem-aliases", err, sizeof(err));
	fclose(fp);
	if (db == NULL)
		fail_msg("%s", err);
	assert_int_equal(aliases_count(db), 1);
	assert_true(aliases_has(db, "sales@example.org"));
	aliases_free(db);
	fp = fmemopen((void *)"x: |/bin/sh\n", 12, "r");
	assert_non_null(fp);
	db = aliases_load_fp(fp, "mem-aliases", err, sizeof(err));
	fclose(fp);
	assert_null(db);
	assert_non_null(strstr(err, "mem-aliases:1:"));
}

static int	owner_arg;

/* is_local must get the caller's own argument back. */
static bool
owner_is_local(const char *domain, void *arg)
{
	assert_ptr_equal(arg, &owner_arg);
	return (test_is_local(domain, NULL));
}

static bool
owned(const struct alias_db *db, const char *key, const char *user)
{
	return (aliases_sender_owned(db, key, user, owner_is_local,
	    &owner_arg));
}

/* Sender ownership holds only inside the local domains. */
static void
test_sender_owned(void **state)
{
	struct alias_db	*db;

	(void)state;
	db = load_ok("postmaster: alice@example.org\n"
	    "sales@example.org: team\n"
	    "team: alice, bob@example.net\n"
	    "ext@example.org: carol@gmail.com\n"
	    "paypal.com-lookalike: alice@example.org\n");
	/* Her own address, with or without aliases. */
	assert_true(owned(db, "alice@example.org", "alice@example.org"));
	assert_true(owned(NULL, "alice@example.org", "alice@example.org"));
	assert_false(owned(NULL, "bob@example.net", "alice@example.org"));
	/* A bare local part applies to every local domain... */
	assert_true(owned(db, "postmaster@example.org", "alice@example.org"));
	assert_true(owned(db, "postmaster@example.net", "alice@example.org"));
	/* ...and never to anybody else's. */
	assert_false(owned(db, "postmaster@gmail.com", "alice@example.org"));
	assert_false(owned(db, "postmaster@example.org.evil",
	    "alice@example.org"));
	assert_false(owned(db, "team@paypal.com", "alice@example.org"));
	/* Chains: sales -> team -> alice (bare target in the key's domain). */
	assert_true(owned(db, "sales@example.org", "alice@example.org"));
	assert_true(owned(db, "sales@example.org", "bob@example.net"));
	assert_false(owned(db, "sales@example.org", "carol@gmail.com"));
	/* A foreign target owns nothing of ours either... */
	assert_true(owned(db, "ext@example.org", "carol@gmail.com"));
	/* ...but an alias of bob's is not alice's. */
	assert_false(owned(db, "team@example.net", "carol@gmail.com"));
	/* Malformed keys and empty users own nothing. */
	assert_false(owned(db, "postmaster", "alice@example.org"));
	assert_false(owned(db, "postmaster@", "alice@example.org"));
	assert_false(owned(db, "@example.org", "alice@example.org"));
	assert_false(owned(db, "postmaster@example.org", ""));
	assert_false(owned(db, NULL, "alice@example.org"));
	aliases_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_skip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_expand_plain),
		cmocka_unit_test(test_expand_domains),
		cmocka_unit_test(test_expand_loops),
		cmocka_unit_test(test_expand_depth),
		cmocka_unit_test(test_expand_limits),
		cmocka_unit_test(test_sender_owned),
		cmocka_unit_test(test_load_fp),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
