/*
 * main.c: option parsing and the subcommand table (cmd.h). The table
 * writes --help; each entry runs in cmd_<name>.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "proctitle.h"
#include "pillory.h"

static const struct cmd commands[] = {
	{ "serve", "", "run the server in the foreground (default)", true,
	    cmd_serve },
	{ "check", "", "validate the config and the files it names, print the "
	    "effective settings",
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
	{ "bans", "[list | add NET [DURATION] | remove NET] [--json] | "
	    "export --format plain|rbldnsd|nft [-o FILE]",
	    "bans of client networks: list, add or remove one (the daemon "
	    "applies it at once), export a blocklist", true, cmd_bans },
	{ "report", "INCIDENT [--to ADDR] [--send]",
	    "an abuse report (RFC 5965) on one incident: print it, or queue "
	    "it", true, cmd_report },
	{ "import", "[--format auto|postfix|dovecot|journal-json] [--follow] "
	    "[--node NAME] FILE|-", "take Postfix refusals, SASL failures, "
	    "postscreen events and Dovecot logins from mail logs", true,
	    cmd_import },
	{ "passwd", "[--scheme SCHEME]",
	    "read a password on stdin, print a passwd-file hash", false,
	    cmd_passwd },
	/* The Unix mail interface; also run when called by these names. */
	{ "sendmail", "[-t] [-i] [-f ADDR] [-F NAME] [RECIPIENT ...]",
	    "send the message on stdin through the running daemon", false,
	    cmd_sendmail },
	{ "mailq", "", "list the outbound queue (as queue list)", false,
	    cmd_mailq },
	{ "newaliases", "", "make the running daemon reload its config and "
	    "aliases", false, cmd_newaliases },
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
	    "config keys (INI; durations s/m/h/d/w, sizes K/M/G, lists "
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
	const char		*self;

	proctitle_init(argc, argv);
	/* Called as sendmail, mailq or newaliases (links to us): that
	 * command, with every argument its own. */
	self = argc > 0 && strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
	    argc > 0 ? argv[0] : "pillory";
	for (j = 0; j < sizeof(commands) / sizeof(commands[0]); j++)
		if ((commands[j].run == cmd_sendmail ||
		    commands[j].run == cmd_mailq ||
		    commands[j].run == cmd_newaliases) &&
		    strcmp(self, commands[j].name) == 0)
			return commands[j].run(NULL, argc, argv);
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
