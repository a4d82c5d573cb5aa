/*
 * cmd_check.c: `pillory check`. The config was already loaded (and its
 * errors printed as FILE:LINE) by main; here the tables it names are loaded
 * too, and the effective settings are printed.
 */
#include <stdio.h>

#include "aliases.h"
#include "cmd.h"
#include "config.h"
#include "passwd_file.h"

int
cmd_check(const struct config *cfg, int argc, char **argv)
{
	struct passwd_db	*users = NULL;
	struct alias_db		*aliases = NULL;
	char			 err[1024];

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: pillory [-c FILE] check\n");
		return 2;
	}
	if (*cfg->passwd_file != '\0' &&
	    (users = passwd_file_load(cfg->passwd_file, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (*cfg->aliases_file != '\0' &&
	    (aliases = aliases_load(cfg->aliases_file, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		passwd_file_free(users);
		return 1;
	}
	config_print(cfg, stdout);
	fprintf(stderr, "%s: ok (%zu users, %zu aliases)\n", cfg->path,
	    users ? passwd_file_count(users) : 0,
	    aliases ? aliases_count(aliases) : 0);
	passwd_file_free(users);
	aliases_free(aliases);
	return 0;
}
