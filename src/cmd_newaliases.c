/*
 * cmd_newaliases.c: `pillory newaliases`, also run when called as
 * newaliases: the running daemon reloads its config and aliases, as
 * `sendmail -bi` asks it.
 */
#include <stddef.h>

#include "cmd.h"

static int
cmd_newaliases(const struct config *unused, int argc, char **argv)
{
	char	*av[] = { argv[0], (char *)"-bi", NULL };

	(void)argc;
	return (cmd_sendmail(unused, 2, av));
}

const struct cmd_entry cmd_newaliases_entry = {
	.name = "newaliases",
	.usage = "",
	.help = "make the running daemon reload its config and aliases",
	.link_name = true,
	.run = cmd_newaliases,
};
