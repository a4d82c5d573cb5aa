/*
 * xalloc.c: checked allocation for every process (xalloc.h). A failure
 * aborts through log_fatal() with the caller's file:line: nothing is
 * acknowledged before it is on disk, so aborting loses nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

static void *
xalloc_check(void *p, const char *file, int line)
{
	if (p == NULL)
		log_fatal(file, line, "out of memory");
	return (p);
}

void *
xalloc_malloc(size_t size, const char *file, int line)
{
	return (xalloc_check(malloc(size == 0 ? 1 : size), file, line));
}

void *
xalloc_calloc(size_t n, size_t size, const char *file, int line)
{
	return (xalloc_check(calloc(n == 0 ? 1 : n, size == 0 ? 1 : size),
	    file, line));
}

void *
xalloc_reallocarray(void *p, size_t n, size_t size, const char *file,
    int line)
{
	if (size != 0 && n > SIZE_MAX / size)
		log_fatal(file, line, "allocation size overflows");
	return (xalloc_check(realloc(p, n * size == 0 ? 1 : n * size), file,
	    line));
}

char *
xalloc_strdup(const char *s, const char *file, int line)
{
	return (xalloc_check(strdup(s), file, line));
}

char *
xalloc_strndup(const char *s, size_t n, const char *file, int line)
{
	return (xalloc_check(strndup(s, n), file, line));
}
