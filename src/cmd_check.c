/*
 * cmd_check.c: `pillory check`. The config was already loaded (and its
 * errors printed as FILE:LINE) by main; here the tables it names are loaded
 * too, and the effective settings are printed.
 */
#include <stdio.h>

#include "aliases.h"
#include "asn.h"
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
	/* The ip2asn TSV: a malformed line is FILE:LINE, like the config. */
	if (cfg->attacklog_asn_db != NULL && *cfg->attacklog_asn_db != '\0') {
		struct asn_db	*asn;

		if ((asn = asn_db_load(cfg->attacklog_asn_db, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			passwd_file_free(users);
			aliases_free(aliases);
			return 1;
		}
		fprintf(stderr, "%s: %zu ranges\n", cfg->attacklog_asn_db,
		    asn_db_count(asn));
		asn_db_free(asn);
	}
	config_print(cfg, stdout);
	fprintf(stderr, "%s: ok (%zu users, %zu aliases)\n", cfg->path,
	    users ? passwd_file_count(users) : 0,
	    aliases ? aliases_count(aliases) : 0);
	passwd_file_free(users);
	aliases_free(aliases);
	return 0;
}
