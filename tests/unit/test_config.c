/*
 * test_config.c: unit tests for config loading (src/config.c): keys that
 * moved to another section are refused with FILE:LINE and the new name;
 * an unknown key or section names the nearest known one; the key table's
 * validators; sizes and durations print as a config file writes them.
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

#include "config.h"
#include "config_keys.h"

static struct config *
load_text(const char *text, char *path, size_t pathlen, char *err,
    size_t errlen)
{
	const char	*dir = getenv("TMPDIR");
	struct config	*cfg;
	FILE		*fp;
	int		 fd;

	snprintf(path, pathlen, "%s/pillory-config-XXXXXX",
	    dir != NULL ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd != -1);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	cfg = config_load(path, err, errlen);
	unlink(path);
	return cfg;
}

static void
test_ban_keys_moved(void **state)
{
	static const char *keys[] = { "ban_after = 20", "ban_window = 10m",
	    "ban_time = 1h" };
	static const char *names[] = { "ban_after", "ban_window", "ban_time" };
	char		 text[512], path[256], err[1024], want[1024];
	struct config	*cfg;
	size_t		 i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "[server]\ndomains = a.test\n"
		    "\n# comment\n[attacklog]\nretention = 30d\n%s\n", keys[i]);
		cfg = load_text(text, path, sizeof(path), err, sizeof(err));
		assert_null(cfg);
		snprintf(want, sizeof(want), "%s:7: [attacklog] %s moved to "
		    "[defense] %s", path, names[i], names[i]);
		assert_string_equal(err, want);
	}
}

static void
test_other_unknown_keys_stay_unknown(void **state)
{
	char		 path[256], err[1024], want[1024];
	struct config	*cfg;

	(void)state;
	cfg = load_text("[server]\ndomains = a.test\n[attacklog]\n"
	    "ban_forever = yes\n", path, sizeof(path), err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:4: unknown key \"ban_forever\" in "
	    "[attacklog]", path);
	assert_string_equal(err, want);
	/* ban_after in another section is unknown; [defense] has it. */
	cfg = load_text("[server]\ndomains = a.test\nban_after = 3\n", path,
	    sizeof(path), err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:3: unknown key \"ban_after\" in "
	    "[server]; did you mean \"ban_after\" in [defense]?", path);
	assert_string_equal(err, want);
}

static void
test_key_table_has_no_ban_keys(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < config_keys_count; i++)
		assert_false(strcmp(config_keys[i].section, "attacklog") == 0 &&
		    strncmp(config_keys[i].name, "ban_", 4) == 0);
}

static void
test_attacklog_section_still_loads(void **state)
{
	char		 path[256], err[1024];
	struct config	*cfg;

	(void)state;
	cfg = load_text("[server]\ndomains = a.test\n[attacklog]\n"
	    "retention = 30d\n", path, sizeof(path), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	assert_int_equal(cfg->retention, 30 * 86400);
	config_free(cfg);
}

static void
test_distance(void **state)
{
	char	long_name[80];

	(void)state;
	assert_int_equal(config_keys_distance("", ""), 0);
	assert_int_equal(config_keys_distance("abc", "abc"), 0);
	assert_int_equal(config_keys_distance("", "abc"), 3);
	assert_int_equal(config_keys_distance("max_recipents", "max_recipients"), 1);
	assert_int_equal(config_keys_distance("smpt", "smtp"), 1);	/* swap */
	assert_int_equal(config_keys_distance("retnetion", "retention"), 1);
	assert_int_equal(config_keys_distance("kitten", "sitting"), 3);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(config_keys_distance(long_name, "a"), SIZE_MAX);
}

static void
expect_error(const char *text, const char *tail)
{
	char		 path[256], err[1024], want[1200];
	struct config	*cfg;

	cfg = load_text(text, path, sizeof(path), err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s%s", path, tail);
	assert_string_equal(err, want);
}

static void
test_did_you_mean(void **state)
{
	(void)state;
	/* Same section first. */
	expect_error("[server]\ndomains = a.test\n[smtp]\n"
	    "max_recipents = 5\n", ":4: unknown key \"max_recipents\" in "
	    "[smtp]; did you mean \"max_recipients\"?");
	/* Two edits still suggest; three do not. */
	expect_error("[server]\ndomains = a.test\n[smtp]\n"
	    "mx_recipents = 5\n", ":4: unknown key \"mx_recipents\" in "
	    "[smtp]; did you mean \"max_recipients\"?");
	expect_error("[server]\ndomains = a.test\n[smtp]\n"
	    "mx_recipnts = 5\n", ":4: unknown key \"mx_recipnts\" in [smtp]");
	/* Then every section. */
	expect_error("[server]\ndomains = a.test\n[smtp]\n"
	    "retnetion = 5d\n", ":4: unknown key \"retnetion\" in [smtp]; "
	    "did you mean \"retention\" in [attacklog]?");
	/* Sections. */
	expect_error("[server]\ndomains = a.test\n[smpt]\n",
	    ":3: unknown section [smpt]; did you mean [smtp]?");
	expect_error("[server]\ndomains = a.test\n[nosuchsection]\n",
	    ":3: unknown section [nosuchsection]");
}

static void
test_validators(void **state)
{
	size_t	i, n = 0;

	(void)state;
	for (i = 0; i < config_keys_count; i++)
		if (config_keys[i].validate != NULL)
			n++;
	assert_true(n >= 2);
	expect_error("[server]\ndomains = a.test\n[publish]\n"
	    "languages = ja, xx\n", ": [publish] languages: unknown language "
	    "\"xx\" (known: ja, en)");
	expect_error("[server]\ndomains = a.test\n[publish]\n"
	    "kinds = relay, nope\n", ": [publish] kinds: unknown kind "
	    "\"nope\"");
}

static void
test_print_as_written(void **state)
{
	char		 path[256], err[1024], *buf = NULL;
	size_t		 len = 0;
	struct config	*cfg;
	FILE		*fp;

	(void)state;
	cfg = load_text("[server]\ndomains = a.test\n[smtp]\n"
	    "max_message_size = 1536K\ncommand_timeout = 90s\n"
	    "data_timeout = 120\n[attacklog]\nretention = 2w\n", path,
	    sizeof(path), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	config_print(cfg, fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(buf, "\nmax_message_size = 1536K\n"));
	assert_non_null(strstr(buf, "\ncommand_timeout = 90s\n"));
	assert_non_null(strstr(buf, "\ndata_timeout = 2m\n"));
	assert_non_null(strstr(buf, "\nretention = 14d\n"));
	assert_non_null(strstr(buf, "\nmax_recipients = 1000\n"));
	free(buf);
	config_free(cfg);
	/* The defaults print as the key table writes them. */
	cfg = config_defaults();
	buf = NULL;
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	config_print(cfg, fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(buf, "\nmax_message_size = 25M\n"));
	assert_non_null(strstr(buf, "\npop_before_smtp = 10m\n"));
	free(buf);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ban_keys_moved),
		cmocka_unit_test(test_other_unknown_keys_stay_unknown),
		cmocka_unit_test(test_key_table_has_no_ban_keys),
		cmocka_unit_test(test_attacklog_section_still_loads),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_print_as_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
