/*
 * line_table.c: bounded reading of line tables (line_table.h). The file
 * is trusted but may be wrong: every refusal names FILE:LINE, and a line
 * longer than the bound is an error, never cut.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line_table.h"
#include "text.h"
#include "xalloc.h"

void *
line_table_add(const struct line_table_entries *te, void **entries,
    size_t *count, size_t *cap)
{
	char	*slot;

	if (*count == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		*entries = xreallocarray(*entries, *cap, te->size);
	}
	slot = (char *)*entries + *count * te->size;
	memset(slot, 0, te->size);
	(*count)++;
	return (slot);
}

static const char *
entry_key(const struct line_table_entries *te, const void *e)
{
	const char	*key;

	memcpy(&key, (const char *)e + te->key_off, sizeof(key));
	return (key);
}

static size_t
entry_line(const struct line_table_entries *te, const void *e)
{
	size_t	line;

	memcpy(&line, (const char *)e + te->line_off, sizeof(line));
	return (line);
}

static int
entry_cmp(const void *a, const void *b, void *arg)
{
	const struct line_table_entries	*te = arg;
	size_t				 la, lb;
	int				 r;

	if ((r = strcmp(entry_key(te, a), entry_key(te, b))) != 0)
		return (r);
	la = entry_line(te, a);
	lb = entry_line(te, b);
	return (la < lb ? -1 : la > lb);
}

int
line_table_sort(const struct line_table_entries *te, void *entries,
    size_t count, const char *path, char *err, size_t errlen)
{
	const char	*prev, *cur;
	size_t		 i;

	if (count == 0)
		return (0);
	qsort_r(entries, count, te->size, entry_cmp, (void *)te);
	for (i = 1; i < count; i++) {
		prev = (const char *)entries + (i - 1) * te->size;
		cur = (const char *)entries + i * te->size;
		if (strcmp(entry_key(te, prev), entry_key(te, cur)) == 0) {
			snprintf(err, errlen, "%s:%zu: duplicate %s %s (first "
			    "on line %zu)", path, entry_line(te, cur),
			    te->what, entry_key(te, cur),
			    entry_line(te, prev));
			return (-1);
		}
	}
	return (0);
}

int
line_table_read(const struct line_table *lt, FILE *fp, char *err,
    size_t errlen)
{
	char		*buf;
	const char	*why;
	size_t		 lineno = 0, len;
	int		 r, rc = -1;
	FILE		*opened = NULL;

	if (fp == NULL &&
	    (fp = opened = fopen(lt->path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", lt->path, strerror(errno));
		return (-1);
	}
	buf = xmalloc(lt->max);
	for (;;) {
		r = text_read_line(fp, buf, lt->max, &len);
		if (r == 0)
			break;
		lineno++;
		if (r == -1) {
			snprintf(err, errlen, "%s:%zu: line longer than %zu "
			    "octets", lt->path, lineno, lt->max);
			goto done;
		}
		if (r == -2) {
			snprintf(err, errlen, "%s:%zu: %s", lt->path, lineno,
			    strerror(errno));
			goto done;
		}
		why = "invalid line";
		if (lt->line(lt->arg, buf, len, lineno, &why) == -1) {
			snprintf(err, errlen, "%s:%zu: %s", lt->path, lineno,
			    why);
			goto done;
		}
	}
	rc = 0;
done:
	if (lt->wipe)
		explicit_bzero(buf, lt->max);
	free(buf);
	if (opened != NULL)
		fclose(opened);
	return (rc);
}
