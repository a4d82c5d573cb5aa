/*
 * line_table.h: the one loader of line tables (the aliases file, the
 * passwd-file): bounded line reading with "FILE:LINE: reason" errors.
 * What a line means is the caller's pure parser; blank and comment lines
 * are its to skip.
 */
#ifndef LINE_TABLE_H
#define LINE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * One line (len octets, not NUL-terminated, without its LF or CRLF)
 * numbered lineno from 1: 0 taken, 1 skipped (blank, comment), -1
 * refused with the reason in *why (static text).
 */
typedef int (*line_table_line_fn)(void *arg, const char *line, size_t len,
    size_t lineno, const char **why);

struct line_table {
	const char		*path;	/* for messages */
	size_t			 max;	/* longest line, octets without LF */
	bool			 wipe;	/* the lines hold secrets: zero them */
	line_table_line_fn	 line;
	void			*arg;
};

/*
 * Read fp to its end through lt->line; with fp NULL, open lt->path and
 * read that (a file that cannot be opened: "PATH: reason"). Returns 0,
 * or -1 with
 * "PATH:LINE: reason" in err: a line longer than lt->max ("line longer
 * than MAX octets"), a read error, or the reason the line was refused.
 */
int line_table_read(const struct line_table *lt, FILE *fp, char *err,
    size_t errlen);

/*
 * The entries a table's lines became: an array of size-octet entries,
 * each with a NUL-terminated key (a char * at key_off) and the line it
 * came from (a size_t at line_off).
 */
struct line_table_entries {
	const char	*what;		/* "alias", "user": for messages */
	size_t		 size;
	size_t		 key_off;
	size_t		 line_off;
};

/*
 * A zeroed entry at the end of *entries (of *count, room for *cap),
 * growing the array when full; *count is one more.
 */
void *line_table_add(const struct line_table_entries *te, void **entries,
    size_t *count, size_t *cap);

/*
 * Sort count entries by key (then line) and refuse a key seen twice.
 * Returns 0, or -1 with "PATH:LINE: duplicate WHAT KEY (first on line
 * N)" in err.
 */
int line_table_sort(const struct line_table_entries *te, void *entries,
    size_t count, const char *path, char *err, size_t errlen);

#endif
