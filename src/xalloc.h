/*
 * xalloc.h: checked allocation. Running out of memory is a broken
 * invariant in the daemon (a bug, not an input): these abort with the
 * caller's file and line instead of returning NULL, so callers never test.
 */
#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void	*xalloc_malloc(size_t size, const char *file, int line);
void	*xalloc_calloc(size_t n, size_t size, const char *file, int line);
/* Grows or shrinks p to n * size bytes; the product is overflow-checked. */
void	*xalloc_reallocarray(void *p, size_t n, size_t size, const char *file,
	    int line);
char	*xalloc_strdup(const char *s, const char *file, int line);
/* At most n bytes of s, always NUL-terminated. */
char	*xalloc_strndup(const char *s, size_t n, const char *file, int line);

#define xmalloc(sz)		xalloc_malloc((sz), __FILE__, __LINE__)
#define xcalloc(n, sz)		xalloc_calloc((n), (sz), __FILE__, __LINE__)
#define xreallocarray(p, n, sz) \
	xalloc_reallocarray((p), (n), (sz), __FILE__, __LINE__)
#define xstrdup(s)		xalloc_strdup((s), __FILE__, __LINE__)
#define xstrndup(s, n)		xalloc_strndup((s), (n), __FILE__, __LINE__)

#endif
