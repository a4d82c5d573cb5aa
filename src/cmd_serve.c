/*
 * cmd_serve.c: `pillory serve`, the default command: the daemon in the
 * foreground (serve.c has the parent and the engine). It keeps the
 * config it is given, since a SIGHUP swaps generations.
 */
#include "cmd.h"
#include "serve.h"

static int
cmd_serve(const struct config *cfg, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return (serve_run((struct config *)cfg));
}

const struct cmd_entry cmd_serve_entry = {
	.name = "serve",
	.usage = "",
	.help = "run the server in the foreground (default)",
	.needs_config = true,
	.owns_config = true,
	.run = cmd_serve,
};
