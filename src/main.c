/*
 * main.c: option parsing and the subcommand table (cmd.h). The table
 * writes --help; each entry runs in cmd_<name>.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "pillory.h"

static const struct cmd commands[] = {
	{ "serve", "", "run the server in the foreground (default)", true,
	    cmd_serve },
	{ "check", "", "validate the config and print the effective settings",
	    true, cmd_check },
	{ "log", "[--json] [--limit N] [--kind K] [--since TIME] [--mask]",
	    "print attack records, oldest first", true, cmd_log },
	{ "stats", "[--json]", "attack counts, top sources, incidents", true,
	    cmd_stats },
	{ "publish", "", "regenerate the public page now", true,
	    cmd_publish },
	{ "queue", "[list | show ID | flush | delete ID]",
	    "the outbound queue: list it, show one message, try everything "
	    "now, delete one", true, cmd_queue },
	{ "grants", "[list | revoke IP]",
	    "POP-before-SMTP relay grants: list them, or end one now", true,
	    cmd_grants },
	{ "import", "[--format auto|postfix|dovecot|journal-json] [--follow] "
	    "[--node NAME] FILE|-", "take Postfix refusals, SASL failures, "
	    "postscreen events and Dovecot logins from mail logs", true,
	    cmd_import },
	{ "passwd", "[--scheme SCHEME]",
	    "read a password on stdin, print a passwd-file hash", false,
	    cmd_passwd },
};

static void
usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: pillory [-c FILE] [COMMAND [ARGS]]\n\n"
	    "pillory %s: a mail server that never relays for strangers and "
	    "puts\nthose who try in the pillory.\n\ncommands:\n",
	    PILLORY_VERSION);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %s%s%s\n      %s\n", commands[i].name,
		    *commands[i].usage ? " " : "", commands[i].usage,
		    commands[i].help);
	fprintf(fp, "\noptions:\n"
	    "  -c FILE   config file (default $PILLORY_CONFIG or "
	    "/etc/pillory/pillory.conf)\n"
	    "  -h, --help     this text and every config key\n"
	    "  -V, --version  print the version\n\n"
	    "config keys (INI; durations s/m/h/d, sizes K/M/G, lists "
	    "comma-separated):\n");
	config_print_help(fp);
}

int
main(int argc, char **argv)
{
	const char		*path = config_default_path();
	const struct cmd	*cmd = &commands[0];
	struct config		*cfg = NULL;
	char			 err[1024];
	int			 i = 1, rc;
	size_t			 j;
	char			*def[] = { (char *)"serve", NULL };

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-V") == 0 ||
		    strcmp(argv[i], "--version") == 0) {
			printf("pillory %s\n", PILLORY_VERSION);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i < argc) {
		cmd = NULL;
		for (j = 0; j < sizeof(commands) / sizeof(commands[0]); j++)
			if (strcmp(argv[i], commands[j].name) == 0)
				cmd = &commands[j];
		if (cmd == NULL) {
			fprintf(stderr, "pillory: unknown command '%s'\n",
			    argv[i]);
			usage(stderr);
			return 2;
		}
		argc -= i;
		argv += i;
	} else {
		argc = 1;
		argv = def;
	}
	if (cmd->needs_config &&
	    (cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rc = cmd->run(cfg, argc, argv);
	/* serve owns its config (it swaps generations on SIGHUP). */
	if (cmd->run != cmd_serve)
		config_free(cfg);
	return rc;
}
