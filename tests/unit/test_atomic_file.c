/*
 * Unit tests for the atomic-file writer (src/atomic_file.c): a file is
 * replaced whole, the temp name is gone afterwards, modes, a planted
 * symlink at the temp name is never written through (ATOMIC_FILE_FRESH),
 * and a failure names its step and leaves the old file.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "atomic_file.h"

static char	dir[256];
static int	dirfd = -1;

static int
setup(void **state)
{
	const char	*t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pillory-af-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return (-1);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	return (dirfd == -1 ? -1 : 0);
}

static int
teardown(void **state)
{
	char	cmd[300];

	(void)state;
	close(dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

static char *
slurp(const char *name)
{
	static char	buf[256];
	ssize_t		n;
	int		fd = openat(dirfd, name, O_RDONLY);

	if (fd == -1)
		return (NULL);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return (buf);
}

static void
test_replace(void **state)
{
	struct atomic_file	af = { .dirfd = dirfd, .tmp = ".f.tmp",
				    .name = "f", .mode = 0640,
				    .flags = ATOMIC_FILE_CHMOD |
				    ATOMIC_FILE_DIRSYNC };
	struct stat		sb;

	(void)state;
	assert_int_equal(atomic_file_write(&af, "one\n", 4, NULL), 0);
	assert_string_equal(slurp("f"), "one\n");
	assert_int_equal(atomic_file_write(&af, "two", 3, NULL), 0);
	assert_string_equal(slurp("f"), "two");
	assert_null(slurp(".f.tmp"));
	assert_int_equal(fstatat(dirfd, "f", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	/* Empty contents are a file too. */
	assert_int_equal(atomic_file_write(&af, "", 0, NULL), 0);
	assert_string_equal(slurp("f"), "");
}

static void
test_paths(void **state)
{
	char			tmp[300], path[300];
	struct atomic_file	af = { .dirfd = AT_FDCWD, .tmp = tmp,
				    .name = path, .mode = 0600 };

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/g.tmp", dir);
	snprintf(path, sizeof(path), "%s/g", dir);
	assert_int_equal(atomic_file_write(&af, "x", 1, NULL), 0);
	assert_string_equal(slurp("g"), "x");
	assert_null(slurp("g.tmp"));
}

static void
test_fresh_never_follows(void **state)
{
	struct atomic_file	af = { .dirfd = dirfd, .tmp = ".h.tmp",
				    .name = "h", .mode = 0644,
				    .flags = ATOMIC_FILE_FRESH };

	(void)state;
	assert_int_equal(atomic_file_write(&af, "old", 3, NULL), 0);
	/* A link planted at the temp name is removed, not written to. */
	assert_int_equal(symlinkat("victim", dirfd, ".h.tmp"), 0);
	assert_int_equal(atomic_file_write(&af, "new", 3, NULL), 0);
	assert_string_equal(slurp("h"), "new");
	assert_null(slurp("victim"));
}

static void
test_failure_names_step(void **state)
{
	struct atomic_file	af = { .dirfd = dirfd, .tmp = "no/such/tmp",
				    .name = "k", .mode = 0644 };
	const char		*step = NULL;

	(void)state;
	assert_int_equal(atomic_file_write(&af, "x", 1, &step), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(step, "create");
	/* rename onto a directory fails: the temp is removed. */
	assert_int_equal(mkdirat(dirfd, "d", 0755), 0);
	af.tmp = ".d.tmp";
	af.name = "d";
	assert_int_equal(atomic_file_write(&af, "x", 1, &step), -1);
	assert_string_equal(step, "write");
	assert_null(slurp(".d.tmp"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_fresh_never_follows),
		cmocka_unit_test(test_failure_names_step),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
