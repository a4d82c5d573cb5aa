/*
 * proctitle.c: setproctitle for Linux. The kernel shows a process's
 * command line from the memory its argument strings occupied at exec; the
 * environment strings follow them. proctitle_init moves both to the heap,
 * leaving that area free; proctitle_set writes the title there, NUL-padded,
 * and names the thread with prctl(PR_SET_NAME) for ps -o comm. Runs in
 * every process, before any untrusted input is read.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "proctitle.h"
#include "xalloc.h"

extern char **environ;

static char	*title_area;	/* start of argv[0] as exec left it */
static size_t	 title_size;	/* contiguous bytes from title_area */

void
proctitle_init(int argc, char **argv)
{
	char	*start, *end;
	char	**env;
	size_t	 n;
	int	 i;

	if (argc < 1 || argv[0] == NULL || title_area != NULL)
		return;
	start = argv[0];
	end = argv[0] + strlen(argv[0]) + 1;
	for (i = 1; i < argc; i++) {
		if (argv[i] != end)
			break;
		end = argv[i] + strlen(argv[i]) + 1;
	}
	/* The environment counts only where it directly follows argv. */
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		;
	env = xcalloc(n + 1, sizeof(*env));
	for (n = 0; environ != NULL && environ[n] != NULL; n++) {
		if (environ[n] == end)
			end = environ[n] + strlen(environ[n]) + 1;
		env[n] = xstrdup(environ[n]);
	}
	environ = env;
	for (i = 0; i < argc; i++)
		argv[i] = xstrdup(argv[i]);
	title_area = start;
	title_size = (size_t)(end - start);
}

void
proctitle_set(const char *title)
{
	size_t	len;

	/* PR_SET_NAME keeps 15 bytes and a NUL. */
	(void)prctl(PR_SET_NAME, title, 0, 0, 0);
	if (title_area == NULL || title_size < 2)
		return;
	len = strlen(title);
	if (len > title_size - 1)
		len = title_size - 1;
	memcpy(title_area, title, len);
	memset(title_area + len, '\0', title_size - len);
}
