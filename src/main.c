/*
 * main.c: option parsing and the subcommand table: the entries that each
 * cmd_<name>.c exports (cmd.h). The table dispatches and writes --help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "proctitle.h"
#include "pillory.h"

static const struct cmd_entry *const commands[] = {
	&cmd_serve_entry,
	&cmd_check_entry,
	&cmd_log_entry,
	&cmd_stats_entry,
	&cmd_publish_entry,
	&cmd_queue_entry,
	&cmd_grants_entry,
	&cmd_bans_entry,
	&cmd_report_entry,
	&cmd_import_entry,
	&cmd_passwd_entry,
	/* The Unix mail interface; also run when called by these names. */
	&cmd_sendmail_entry,
	&cmd_mailq_entry,
	&cmd_newaliases_entry,
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: pillory [-c FILE] [COMMAND [ARGS]]\n\n"
	    "pillory %s: a mail server that never relays for strangers and "
	    "puts\nthose who try in the pillory.\n\ncommands:\n",
	    PILLORY_VERSION);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %s%s%s\n      %s\n", commands[i]->name,
		    *commands[i]->usage ? " " : "", commands[i]->usage,
		    commands[i]->help);
	fprintf(fp, "\noptions:\n"
	    "  -c FILE   config file (default $PILLORY_CONFIG or "
	    "/etc/pillory/pillory.conf)\n"
	    "  -h, --help     this text and every config key\n"
	    "  -V, --version  print the version\n\n"
	    "config keys (INI; durations s/m/h/d/w, sizes K/M/G, lists "
	    "comma-separated):\n");
	config_print_help(fp);
}

int
main(int argc, char **argv)
{
	const char		*path = config_default_path();
	const struct cmd_entry	*cmd = commands[0];
	struct config		*cfg = NULL;
	char			 err[1024];
	int			 i = 1, rc;
	size_t			 j;
	char			*def[] = { (char *)"serve", NULL };
	const char		*self;

	proctitle_init(argc, argv);
	/* Called as sendmail, mailq or newaliases (links to us): that
	 * command, with every argument its own. */
	self = argc > 0 && strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
	    argc > 0 ? argv[0] : "pillory";
	for (j = 0; j < NCOMMANDS; j++)
		if (commands[j]->link_name &&
		    strcmp(self, commands[j]->name) == 0)
			return commands[j]->run(NULL, argc, argv);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
			/* For the commands that load the config themselves
			 * (sendmail, mailq, newaliases). */
			setenv("PILLORY_CONFIG", path, 1);
		}
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
		for (j = 0; j < NCOMMANDS; j++)
			if (strcmp(argv[i], commands[j]->name) == 0)
				cmd = commands[j];
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
	if (!cmd->owns_config)
		config_free(cfg);
	return rc;
}
