/*
 * test_config.c: unit tests for config loading (src/config.c) where this
 * branch changed it: keys that moved to another section are refused with
 * FILE:LINE and the new name, and no longer appear in the key table.
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
	snprintf(want, sizeof(want), "%s:4: unknown key", path);
	assert_string_equal(err, want);
	/* ban_after in another section is just unknown. */
	cfg = load_text("[server]\ndomains = a.test\nban_after = 3\n", path,
	    sizeof(path), err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:3: unknown key", path);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ban_keys_moved),
		cmocka_unit_test(test_other_unknown_keys_stay_unknown),
		cmocka_unit_test(test_key_table_has_no_ban_keys),
		cmocka_unit_test(test_attacklog_section_still_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
