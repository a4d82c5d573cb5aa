/*
 * fuzz_passwd_file.c: libFuzzer target for the passwd-file line parser
 * (passwd_file_parse_line in src/passwd_file.c). Checks that the spans it
 * returns lie inside the line and have the shape the loader relies on.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "passwd_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
span_inside(struct span s, const char *line, size_t len)
{
	return (s.p >= line && s.p + s.len <= line + len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span	 user, scheme, hash;
	const char	*why = NULL;
	char		*line;
	int		 r;

	if ((line = malloc(size == 0 ? 1 : size)) == NULL)
		return (0);
	memcpy(line, data, size);

	r = passwd_file_parse_line(line, size, &user, &scheme, &hash, &why);
	switch (r) {
	case 0:
		if (size > PASSWD_FILE_LINE_MAX)
			abort();
		if (!span_inside(user, line, size) ||
		    !span_inside(hash, line, size))
			abort();
		if (user.len == 0 || memchr(user.p, '@', user.len) == NULL)
			abort();
		if (hash.len == 0 || scheme.len == 0)
			abort();
		if (memchr(hash.p, ':', hash.len) != NULL)
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
	return (0);
}
