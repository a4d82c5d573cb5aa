/*
 * cmd_mailq.c: `pillory mailq`, also run when called as mailq: the
 * outbound queue, as `sendmail -bp` lists it.
 */
#include <stddef.h>

#include "cmd.h"

static int
cmd_mailq(const struct config *unused, int argc, char **argv)
{
	char	*av[] = { argv[0], (char *)"-bp", NULL };

	(void)argc;
	return (cmd_sendmail(unused, 2, av));
}

const struct cmd_entry cmd_mailq_entry = {
	.name = "mailq",
	.usage = "",
	.help = "list the outbound queue (as queue list)",
	.link_name = true,
	.run = cmd_mailq,
};
