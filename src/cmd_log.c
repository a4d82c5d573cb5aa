/*
 * cmd_log.c: `pillory log`, the attack log on the terminal, newest last.
 *
 * Runs in the CLI process, as the admin. Opens the store read-only, so it
 * works while the daemon writes (WAL). Its arguments come from the admin;
 * the records it prints are attacker-controlled text and go out through
 * attack_format_line() (control characters escaped) or
 * attack_format_json() (JSON-escaped), one record per line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asn.h"
#include "attack.h"
#include "attrib.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "store.h"
#include "text.h"

enum log_opt {
	LOG_OPT_JSON,
	LOG_OPT_LIMIT,
	LOG_OPT_KIND,
	LOG_OPT_SINCE,
	LOG_OPT_MASK,
	LOG_OPT_HELP,
	LOG_OPT_COUNT
};

/* The options; the usage text is written from this table. */
static const struct log_option {
	const char	*name;
	const char	*arg;		/* NULL: a flag */
	const char	*help;
} log_options[LOG_OPT_COUNT] = {
	[LOG_OPT_JSON] = { "json", NULL,
	    "one JSON object per line instead of the text line" },
	[LOG_OPT_LIMIT] = { "limit", "N", "only the newest N records" },
	[LOG_OPT_KIND] = { "kind", "K", "only records of kind K" },
	[LOG_OPT_SINCE] = { "since", "TIME",
	    "only records since TIME: RFC 3339, YYYY-MM-DD or a duration "
	    "ago (30m, 2h, 7d)" },
	[LOG_OPT_MASK] = { "mask", NULL,
	    "mask recipient local parts as " ATTACK_MASK },
	[LOG_OPT_HELP] = { "help", NULL, "this text" },
};

struct log_args {
	bool			 json;
	bool			 mask;
	struct store_query	 q;
	struct asn_db		*asn;		/* [attacklog] asn_db, or NULL */
};

static void
log_usage(FILE *fp)
{
	const struct log_option	*o;
	char			 left[32];
	int			 i;

	fprintf(fp, "usage: pillory log");
	for (i = 0; i < LOG_OPT_COUNT; i++) {
		o = &log_options[i];
		if (i == LOG_OPT_HELP)
			continue;
		if (o->arg != NULL)
			fprintf(fp, " [--%s %s]", o->name, o->arg);
		else
			fprintf(fp, " [--%s]", o->name);
	}
	fprintf(fp, "\n");
	for (i = 0; i < LOG_OPT_COUNT; i++) {
		o = &log_options[i];
		snprintf(left, sizeof(left), "--%s%s%s", o->name,
		    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
		fprintf(fp, "  %-16s %s\n", left, o->help);
	}
	fprintf(fp, "  kinds:");
	for (i = 0; i < ATTACK_KIND_COUNT; i++)
		fprintf(fp, " %s", attack_kind_name((enum attack_kind)i));
	fprintf(fp, "\n");
}

/*
 * Apply one option and its argument (NULL for flags). Returns 0, or the
 * exit status after printing why to stderr.
 */
static int
log_apply(struct log_args *a, enum log_opt opt, const char *val)
{
	unsigned long long	 n;
	char			*end;
	int			 kind;

	switch (opt) {
	case LOG_OPT_JSON:
		a->json = true;
		break;
	case LOG_OPT_MASK:
		a->mask = true;
		break;
	case LOG_OPT_LIMIT:
		errno = 0;
		n = strtoull(val, &end, 10);
		if (val[0] < '0' || val[0] > '9' || *end != '\0' ||
		    errno != 0 || n == 0) {
			fprintf(stderr, "pillory log: --limit: \"%s\" is not a "
			    "positive number\n", val);
			return (2);
		}
		a->q.limit = n;
		break;
	case LOG_OPT_KIND:
		if ((kind = attack_kind_from_name(val)) < 0) {
			fprintf(stderr, "pillory log: --kind: unknown kind "
			    "\"%s\"\n", val);
			log_usage(stderr);
			return (2);
		}
		a->q.kind = kind;
		break;
	case LOG_OPT_SINCE:
		if (!attack_parse_time(val, clock_now_us(), &a->q.since_us)) {
			fprintf(stderr, "pillory log: --since: \"%s\" is not "
			    "RFC 3339, YYYY-MM-DD or a duration (2h, 7d)\n",
			    val);
			return (2);
		}
		/* 0 means "no bound" to the store; the epoch itself is in. */
		if (a->q.since_us == 0)
			a->q.since_us = -1;
		break;
	case LOG_OPT_HELP:
	case LOG_OPT_COUNT:
		break;
	}
	return (0);
}

/* Parse argv (argv[0] is "log"). Returns -1 to go on, else an exit status. */
static int
log_parse(struct log_args *a, int argc, char **argv)
{
	const struct log_option	*o;
	const char		*arg, *val, *eq;
	size_t			 nlen;
	int			 i, j, rc;

	memset(a, 0, sizeof(*a));
	a->q.kind = -1;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "-h") == 0)
			arg = "--help";
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
			goto usage;
		arg += 2;
		eq = strchr(arg, '=');
		nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		for (j = 0; j < LOG_OPT_COUNT; j++) {
			o = &log_options[j];
			if (strlen(o->name) == nlen &&
			    memcmp(o->name, arg, nlen) == 0)
				break;
		}
		if (j == LOG_OPT_COUNT)
			goto usage;
		if (j == LOG_OPT_HELP) {
			log_usage(stdout);
			return (0);
		}
		val = NULL;
		if (o->arg != NULL) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				goto usage;
		} else if (eq != NULL)
			goto usage;
		if ((rc = log_apply(a, (enum log_opt)j, val)) != 0)
			return (rc);
	}
	return (-1);
usage:
	fprintf(stderr, "pillory log: bad argument \"%s\"\n", argv[i]);
	log_usage(stderr);
	return (2);
}

/*
 * The record's network (README, "Attribution and abuse reports"): JSON
 * gets asn, as_name, country and org_domain when known; the text line,
 * when [attacklog] asn_db is set, keeps the 2002 format and appends
 * "  (kornet.net, AS4766 NAME, KR)".
 */
static void
log_attrib(const struct log_args *a, const struct attack_record *rec,
    char *line, size_t linelen)
{
	struct attrib	at;
	char		text[ATTRIB_TEXT_MAX];

	if (!attrib_of(a->asn, rec->client_ip, rec->client_name, &at))
		return;
	if (a->json) {
		(void)attrib_json_append(&at, line, linelen);
		return;
	}
	if (a->asn != NULL && attrib_format(&at, text, sizeof(text)) &&
	    strlen(line) + strlen(text) + 5 <= linelen) {
		(void)text_append(line, "  (", linelen);
		(void)text_append(line, text, linelen);
		(void)text_append(line, ")", linelen);
	}
}

static int
log_print(const struct attack_record *rec, void *arg)
{
	const struct log_args	*a = arg;
	char			 line[ATTACK_JSON_MAX];
	bool			 ok;

	if (a->json)
		ok = attack_format_json(rec, a->mask, line, sizeof(line));
	else
		ok = attack_format_line(rec, a->mask, line, sizeof(line));
	/* The buffer holds the longest record; anything else is a bug. */
	if (!ok) {
		fprintf(stderr, "pillory log: record at %lld does not "
		    "format\n", (long long)rec->time_us);
		return (0);
	}
	log_attrib(a, rec, line, sizeof(line));
	fputs(line, stdout);
	putc('\n', stdout);
	return (ferror(stdout) ? 1 : 0);
}

/*
 * `pillory log [--json] [--limit N] [--kind K] [--since TIME] [--mask]`.
 * Prints the matching records oldest first (with --limit, the newest N).
 * Returns 0, 1 when the store cannot be read or stdout fails, 2 on bad
 * arguments (with the usage on stderr).
 */
int
cmd_log(const struct config *cfg, int argc, char **argv)
{
	struct log_args	 a;
	struct store	*st;
	char		 err[512];
	int		 rc;

	if ((rc = log_parse(&a, argc, argv)) >= 0)
		return (rc);
	if (cfg->attacklog_asn_db != NULL && *cfg->attacklog_asn_db != '\0' &&
	    (a.asn = asn_db_load(cfg->attacklog_asn_db, err,
	    sizeof(err))) == NULL)
		/* The records still print; only their AS is unknown. */
		fprintf(stderr, "pillory log: warning: %s; no AS "
		    "attribution\n", err);
	if ((st = store_open_config(cfg, true, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory log: %s\n", err);
		asn_db_free(a.asn);
		return (1);
	}
	rc = store_query(st, &a.q, log_print, &a);
	if (rc < 0)
		fprintf(stderr, "pillory log: %s\n", store_errmsg(st));
	store_close(st);
	asn_db_free(a.asn);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pillory log: stdout: %s\n", strerror(errno));
		return (1);
	}
	return (rc == 0 ? 0 : 1);
}

const struct cmd_entry cmd_log_entry = {
	.name = "log",
	.usage = "[--json] [--limit N] [--kind K] [--since TIME] [--mask]",
	.help = "print attack records, oldest first",
	.needs_config = true,
	.run = cmd_log,
};
