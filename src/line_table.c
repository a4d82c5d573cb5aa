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

int
line_table_read(const struct line_table *lt, FILE *fp, char *err,
    size_t errlen)
{
	char		*buf;
	const char	*why;
	size_t		 lineno = 0, len;
	int		 r, rc = -1;

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
	return (rc);
}
