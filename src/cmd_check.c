/*
 * cmd_check.c: `pillory check`. The config was already loaded (and its
 * errors printed as FILE:LINE) by main; here what it names is loaded and
 * verified too: the TLS certificate and key, state_dir, the passwd-file
 * and aliases (with their own parsers, errors as FILE:LINE), alias targets
 * and each domain's postmaster (verify.c). Every problem is printed, not
 * only the first; errors make the exit status 1, warnings do not. On
 * success the effective settings are printed.
 */
#include <stdio.h>

#include "aliases.h"
#include "asn.h"
#include "cmd.h"
#include "config.h"
#include "passwd_file.h"
#include "store.h"
#include "verify.h"

struct check_counts {
	unsigned	errors;
	unsigned	warnings;
};

static void
check_store_report(int error, const char *msg, void *arg)
{
	struct check_counts	*c = arg;

	if (error)
		c->errors++;
	else
		c->warnings++;
	fprintf(stderr, "%s\n", msg);
}

static void
check_report(enum verify_level level, const char *msg, void *arg)
{
	struct check_counts	*c = arg;

	if (level == VERIFY_ERROR)
		c->errors++;
	else
		c->warnings++;
	fprintf(stderr, "%s\n", msg);
}

int
cmd_check(const struct config *cfg, int argc, char **argv)
{
	struct passwd_db	*users = NULL;
	struct alias_db		*aliases = NULL;
	struct check_counts	 c = { 0, 0 };
	char			 err[1024];
	bool			 tables_ok = true;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: pillory [-c FILE] check\n");
		return 2;
	}
	verify_state_dir(cfg, check_report, &c);
	verify_tls(cfg, check_report, &c);
	store_check(cfg, check_store_report, &c);
	if (*cfg->passwd_file != '\0') {
		if ((users = passwd_file_load(cfg->passwd_file, err,
		    sizeof(err))) == NULL) {
			check_report(VERIFY_ERROR, err, &c);
			tables_ok = false;
		} else
			verify_passwd_mode(cfg, check_report, &c);
	}
	if (*cfg->aliases_file != '\0' &&
	    (aliases = aliases_load(cfg->aliases_file, err,
	    sizeof(err))) == NULL) {
		check_report(VERIFY_ERROR, err, &c);
		tables_ok = false;
	}
	/* The ip2asn TSV: a malformed line is FILE:LINE, like the config. */
	if (cfg->attacklog_asn_db != NULL && *cfg->attacklog_asn_db != '\0') {
		struct asn_db	*asn;

		if ((asn = asn_db_load(cfg->attacklog_asn_db, err,
		    sizeof(err))) == NULL)
			check_report(VERIFY_ERROR, err, &c);
		else {
			fprintf(stderr, "%s: %zu ranges\n",
			    cfg->attacklog_asn_db, asn_db_count(asn));
			asn_db_free(asn);
		}
	}
	/* Targets and postmaster only mean something once both tables
	 * loaded; a broken one was reported above. */
	if (tables_ok) {
		verify_alias_targets(cfg, users, aliases, check_report, &c);
		verify_postmaster(cfg, users, aliases, check_report, &c);
	}
	if (c.errors == 0)
		config_print(cfg, stdout);
	fprintf(stderr, "%s: %s (%zu users, %zu aliases, %u error%s, "
	    "%u warning%s)\n", cfg->path, c.errors ? "FAILED" : "ok",
	    users ? passwd_file_count(users) : 0,
	    aliases ? aliases_count(aliases) : 0, c.errors,
	    c.errors == 1 ? "" : "s", c.warnings, c.warnings == 1 ? "" : "s");
	passwd_file_free(users);
	aliases_free(aliases);
	return c.errors ? 1 : 0;
}

const struct cmd_entry cmd_check_entry = {
	.name = "check",
	.usage = "",
	.help = "validate the config and the files it names, print the "
	    "effective settings",
	.needs_config = true,
	.run = cmd_check,
};
