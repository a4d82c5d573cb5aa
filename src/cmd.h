/*
 * cmd.h: the subcommands. Each lives in cmd_<name>.c and exports its
 * entry, cmd_<name>_entry; main.c lists the entries in a table that
 * dispatches and writes --help.
 */
#ifndef CMD_H
#define CMD_H

#include <stdbool.h>

struct config;

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* arguments after the name */
	const char	*help;		/* one line */
	bool		 needs_config;	/* load -c FILE before running */
	bool		 owns_config;	/* run keeps cfg: main does not free */
	bool		 link_name;	/* also run when called by its name */
	/* argv[0] is the subcommand name; returns the exit status. */
	int		(*run)(const struct config *cfg, int argc, char **argv);
};

extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_log_entry;
extern const struct cmd_entry cmd_stats_entry;
extern const struct cmd_entry cmd_publish_entry;
extern const struct cmd_entry cmd_queue_entry;
extern const struct cmd_entry cmd_grants_entry;
extern const struct cmd_entry cmd_bans_entry;
extern const struct cmd_entry cmd_report_entry;
extern const struct cmd_entry cmd_import_entry;
extern const struct cmd_entry cmd_passwd_entry;
extern const struct cmd_entry cmd_sendmail_entry;
extern const struct cmd_entry cmd_mailq_entry;
extern const struct cmd_entry cmd_newaliases_entry;

int cmd_check(const struct config *, int, char **);
int cmd_log(const struct config *, int, char **);
int cmd_stats(const struct config *, int, char **);
int cmd_passwd(const struct config *, int, char **);
int cmd_publish(const struct config *, int, char **);
int cmd_grants(const struct config *, int, char **);
int cmd_queue(const struct config *, int, char **);
int cmd_sendmail(const struct config *, int, char **);
int cmd_bans(const struct config *, int, char **);
int cmd_report(const struct config *, int, char **);
int cmd_import(const struct config *, int, char **);

#endif
