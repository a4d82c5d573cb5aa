/*
 * cmd.h: the subcommand table. main.c walks it to dispatch and to print
 * --help; each subcommand lives in cmd_<name>.c.
 */
#ifndef CMD_H
#define CMD_H

#include <stdbool.h>

struct config;

struct cmd {
	const char	*name;
	const char	*usage;		/* arguments after the name */
	const char	*help;		/* one line */
	bool		 needs_config;	/* load -c FILE before running */
	/* argv[0] is the subcommand name; returns the exit status. */
	int		(*run)(const struct config *cfg, int argc, char **argv);
};

int cmd_serve(const struct config *, int, char **);
int cmd_check(const struct config *, int, char **);
int cmd_log(const struct config *, int, char **);
int cmd_stats(const struct config *, int, char **);
int cmd_passwd(const struct config *, int, char **);
int cmd_publish(const struct config *, int, char **);
int cmd_grants(const struct config *, int, char **);
int cmd_queue(const struct config *, int, char **);
int cmd_sendmail(const struct config *, int, char **);
int cmd_mailq(const struct config *, int, char **);
int cmd_newaliases(const struct config *, int, char **);
int cmd_bans(const struct config *, int, char **);
int cmd_report(const struct config *, int, char **);
int cmd_import(const struct config *, int, char **);

#endif
