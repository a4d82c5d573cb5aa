/*
 * test_verify.c: unit tests for the checks `pillory check` runs beyond
 * the config's syntax (src/verify.c): postmaster without an alias, alias
 * targets that go nowhere (with FILE:LINE), state_dir and its parent,
 * unreadable or unparsable TLS files, a world-readable passwd-file.
 */

#include <sys/stat.h>
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
#include "config.h"
#include "passwd_file.h"
#include "verify.h"

#define HASH	"{SHA512-CRYPT}$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHww" \
	"Tt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
#define GOT_MAX	16

struct got {
	size_t	errors, warnings, n;
	char	msg[GOT_MAX][1024];
};

static void
collect(enum verify_level level, const char *msg, void *arg)
{
	struct got	*g = arg;

	if (level == VERIFY_ERROR)
		g->errors++;
	else
		g->warnings++;
	if (g->n < GOT_MAX)
		snprintf(g->msg[g->n++], sizeof(g->msg[0]), "%s", msg);
}

static bool
got_has(const struct got *g, const char *text)
{
	size_t	i;

	for (i = 0; i < g->n; i++)
		if (strstr(g->msg[i], text) != NULL)
			return true;
	return false;
}

struct fixture {
	char			 dir[256];
	char			 conf[320], passwd[320], aliases[320];
	struct config		*cfg;
	struct passwd_db	*users;
	struct alias_db		*aliases_db;
};

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* A config with two domains and the given passwd-file and aliases. */
static void
setup(struct fixture *f, const char *passwd, const char *aliases,
    const char *extra)
{
	const char	*tmp = getenv("TMPDIR");
	char		 text[2048], err[1024];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/pillory-verify-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->conf, sizeof(f->conf), "%s/c.conf", f->dir);
	snprintf(f->passwd, sizeof(f->passwd), "%s/passwd", f->dir);
	snprintf(f->aliases, sizeof(f->aliases), "%s/aliases", f->dir);
	write_file(f->passwd, passwd);
	write_file(f->aliases, aliases);
	snprintf(text, sizeof(text), "[server]\ndomains = a.test, b.test\n"
	    "state_dir = %s/state\n%s[users]\npasswd_file = %s\n"
	    "aliases_file = %s\n", f->dir, extra, f->passwd, f->aliases);
	write_file(f->conf, text);
	f->cfg = config_load(f->conf, err, sizeof(err));
	if (f->cfg == NULL)
		fail_msg("%s", err);
	f->users = passwd_file_load(f->passwd, err, sizeof(err));
	if (f->users == NULL)
		fail_msg("%s", err);
	f->aliases_db = aliases_load(f->aliases, err, sizeof(err));
	if (f->aliases_db == NULL)
		fail_msg("%s", err);
}

static void
teardown(struct fixture *f)
{
	char	cmd[512];

	config_free(f->cfg);
	passwd_file_free(f->users);
	aliases_free(f->aliases_db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_postmaster_missing_everywhere(void **state)
{
	struct fixture	f;
	struct got	g = { 0 };

	(void)state;
	setup(&f, "alice@a.test:" HASH "\n", "abuse: alice@a.test\n", "");
	assert_int_equal(verify_postmaster(f.cfg, f.users, f.aliases_db,
	    collect, &g), 2);
	assert_int_equal(g.warnings, 2);
	assert_true(got_has(&g, "postmaster@a.test has no alias"));
	assert_true(got_has(&g, "postmaster@b.test has no alias"));
	/* Without any table it is the same. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(verify_postmaster(f.cfg, NULL, NULL, collect, &g), 2);
	teardown(&f);
}

static void
test_postmaster_bare_alias_covers_every_domain(void **state)
{
	struct fixture	f;
	struct got	g = { 0 };

	(void)state;
	setup(&f, "alice@a.test:" HASH "\n", "postmaster: alice@a.test\n", "");
	assert_int_equal(verify_postmaster(f.cfg, f.users, f.aliases_db,
	    collect, &g), 0);
	assert_int_equal(g.n, 0);
	teardown(&f);
}

static void
test_postmaster_per_domain_alias_or_user(void **state)
{
	struct fixture	f;
	struct got	g = { 0 };

	(void)state;
	setup(&f, "alice@a.test:" HASH "\n",
	    "POSTMASTER@A.TEST: alice@a.test\n", "");
	assert_int_equal(verify_postmaster(f.cfg, f.users, f.aliases_db,
	    collect, &g), 1);
	assert_true(got_has(&g, "postmaster@b.test"));
	assert_false(got_has(&g, "postmaster@a.test"));
	teardown(&f);

	memset(&g, 0, sizeof(g));
	setup(&f, "postmaster@b.test:" HASH "\n",
	    "postmaster@a.test: postmaster@b.test\n", "");
	assert_int_equal(verify_postmaster(f.cfg, f.users, f.aliases_db,
	    collect, &g), 0);
	teardown(&f);
}

static void
test_alias_targets(void **state)
{
	struct fixture	f;
	struct got	g = { 0 };

	(void)state;
	setup(&f, "alice@a.test:" HASH "\nbob@b.test:" HASH "\n",
	    "# comment\n"
	    "postmaster: alice@a.test\n"
	    "x@a.test: alice, ghost, far@remote.test, Bob@B.test\n"
	    "team: bob\n"
	    "chain@a.test: x, postmaster, x@b.test\n"
	    "outside@remote.test: nobody@a.test\n", "");
	verify_alias_targets(f.cfg, f.users, f.aliases_db, collect, &g);
	assert_int_equal(g.errors, 0);
	/* line 3: ghost@a.test */
	assert_true(got_has(&g, ":3: warning: alias x@a.test: target "
	    "ghost@a.test is neither"));
	/* line 4: bob exists in b.test only */
	assert_true(got_has(&g, ":4: warning: alias team: target "
	    "bob@a.test"));
	assert_false(got_has(&g, "target bob@b.test"));
	/* line 5: x@b.test is neither user nor alias (x@a.test is) */
	assert_true(got_has(&g, ":5: warning: alias chain@a.test: target "
	    "x@b.test"));
	/* line 6: an outside name's target */
	assert_true(got_has(&g, ":6: warning: alias outside@remote.test: "
	    "target nobody@a.test"));
	assert_int_equal(g.warnings, 4);
	teardown(&f);
}

static void
test_state_dir(void **state)
{
	struct fixture	f;
	struct got	g = { 0 };
	char		path[400];

	(void)state;
	setup(&f, "", "", "");
	/* Missing, parent exists: fine (the server creates it). */
	assert_int_equal(verify_state_dir(f.cfg, collect, &g), 0);
	snprintf(path, sizeof(path), "%s/state", f.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(verify_state_dir(f.cfg, collect, &g), 0);
	assert_int_equal(g.n, 0);
	free(f.cfg->state_dir);
	snprintf(path, sizeof(path), "%s/no/state/", f.dir);
	f.cfg->state_dir = strdup(path);
	assert_int_equal(verify_state_dir(f.cfg, collect, &g), 1);
	assert_true(got_has(&g, "nor does its parent"));
	assert_true(got_has(&g, "/no ("));
	free(f.cfg->state_dir);
	f.cfg->state_dir = strdup(f.conf);
	assert_int_equal(verify_state_dir(f.cfg, collect, &g), 1);
	assert_true(got_has(&g, "c.conf: not a directory"));
	teardown(&f);
}

static void
test_tls_files(void **state)
{
	struct fixture	f;
	struct got	g = { 0 };
	char		extra[1024];
	const char	*tmp = getenv("TMPDIR");

	(void)state;
	/* No cert configured: nothing to check. */
	setup(&f, "", "", "");
	assert_int_equal(verify_tls(f.cfg, collect, &g), 0);
	teardown(&f);

	snprintf(extra, sizeof(extra), "[tls]\ncert = %s/nonexistent.crt\n"
	    "key = /etc/passwd\n", tmp != NULL ? tmp : "/tmp");
	setup(&f, "", "", extra);
	assert_int_equal(verify_tls(f.cfg, collect, &g), 2);
	assert_true(got_has(&g, "[tls] cert: "));
	assert_true(got_has(&g, "nonexistent.crt: No such file"));
	assert_true(got_has(&g, "[tls] key: /etc/passwd: no PEM private key"));
	teardown(&f);
}

static void
test_passwd_mode(void **state)
{
	struct fixture	f;
	struct got	g = { 0 };

	(void)state;
	setup(&f, "alice@a.test:" HASH "\n", "", "");
	assert_int_equal(chmod(f.passwd, 0640), 0);
	verify_passwd_mode(f.cfg, collect, &g);
	assert_int_equal(g.n, 0);
	assert_int_equal(chmod(f.passwd, 0644), 0);
	verify_passwd_mode(f.cfg, collect, &g);
	assert_int_equal(g.warnings, 1);
	assert_true(got_has(&g, "is world-readable"));
	teardown(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postmaster_missing_everywhere),
		cmocka_unit_test(test_postmaster_bare_alias_covers_every_domain),
		cmocka_unit_test(test_postmaster_per_domain_alias_or_user),
		cmocka_unit_test(test_alias_targets),
		cmocka_unit_test(test_state_dir),
		cmocka_unit_test(test_tls_files),
		cmocka_unit_test(test_passwd_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
