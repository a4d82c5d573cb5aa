/*
 * fuzz_aliases.c: libFuzzer target for the aliases file. First the line
 * parser (aliases_parse_line in src/aliases.c) on the whole input; then,
 * for inputs of a few lines, the loader and expansion on the input as a
 * file, to look for loops, blow-ups and limit mistakes.
 */

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Only small files go through load and expand; parsing sees everything. */
#define FUZZ_FILE_MAX	8192

struct fuzz_emits {
	int	count;
};

static bool
fuzz_is_local(const char *domain, void *arg)
{
	(void)arg;
	return (strcmp(domain, "example.org") == 0 ||
	    strcmp(domain, "example.net") == 0);
}

static void
fuzz_emit(const char *addr, void *arg)
{
	struct fuzz_emits	*e = arg;

	if (strchr(addr, '@') == NULL)
		abort();
	e->count++;
}

static void
fuzz_file(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"a@example.org", "b@example.net", "root@example.org",
		"postmaster@example.net",
	};
	static int		 fd = -1;
	struct alias_db		*db;
	struct fuzz_emits	 e;
	char			 path[64], err[512];
	size_t			 i;
	int			 r;

	if (fd == -1 && (fd = memfd_create("fuzz_aliases", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((db = aliases_load(path, err, sizeof(err))) == NULL)
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		e.count = 0;
		r = aliases_expand(db, keys[i], fuzz_is_local, fuzz_emit, &e);
		if (r != -1 && (r != e.count || r < 1 ||
		    r > ALIAS_TARGETS_MAX))
			abort();
	}
	aliases_free(db);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span	 name, targets;
	const char	*why = NULL;
	char		*line;
	int		 r;

	if ((line = malloc(size == 0 ? 1 : size)) == NULL)
		return (0);
	memcpy(line, data, size);
	r = aliases_parse_line(line, size, &name, &targets, &why);
	switch (r) {
	case 0:
		if (name.p != line || name.len == 0 || targets.len == 0 ||
		    targets.p < line || targets.p + targets.len > line + size)
			abort();
		break;
	case 1:
		break;
	case -1:
		if (why == NULL || *why == '\0')
			abort();
		break;
	default:
		abort();
	}
	free(line);

	if (size <= FUZZ_FILE_MAX)
		fuzz_file(data, size);
	return (0);
}
