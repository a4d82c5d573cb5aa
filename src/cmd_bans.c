/*
 * cmd_bans.c: `pillory bans [list | add NET [DURATION] | remove NET]
 * [--json]` and `pillory bans export --format plain|rbldnsd|nft [-o FILE]`.
 * Bans are read and written in the store directly; after a change the
 * running daemon is told over its control socket ("bans reload") so that
 * it takes effect at once. Arguments come from the operator and are
 * parsed with bounds (ban_net_parse(), ban_parse_duration()).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attack.h"
#include "ban.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "defense.h"
#include "store.h"
#include "text.h"
#include "xalloc.h"

#define BANS_USAGE \
	"usage: pillory [-c FILE] bans [list | add NET [DURATION] | " \
	"remove NET] [--json]\n" \
	"       pillory [-c FILE] bans export --format plain|rbldnsd|nft " \
	"[-o FILE]\n"

struct bans_list {
	struct ban_entry	*items;
	size_t			 n, cap;
};


static int
collect(const struct ban_entry *e, void *arg)
{
	struct bans_list	*l = arg;
	struct ban_entry	*p;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		p = xreallocarray(l->items, l->cap, sizeof(*p));
		l->items = p;
	}
	l->items[l->n++] = *e;
	return 0;
}

/* Tell the daemon; a daemon that is not running reads the store when it
 * starts, so that is a note, not an error. */
static void
notify_daemon(const struct config *cfg)
{
	char	path[CONFIG_PATH_MAX + 32], msg[256];

	text_printf(path, sizeof(path), "%s/%s", cfg->state_dir,
	    CONTROL_SOCKET);
	if (control_request(path, DEFENSE_CONTROL_WORD " reload", NULL, NULL,
	    msg, sizeof(msg)) != 0)
		fprintf(stderr, "pillory bans: the daemon was not told (%s); "
		    "it reads the bans when it starts\n", msg);
}

static void
print_list(const struct bans_list *l, bool json)
{
	char		net[BAN_NET_TEXT_MAX], until[40];
	size_t		i;

	if (json) {
		ban_export(BAN_EXPORT_JSON, l->items, l->n, stdout);
		return;
	}
	printf("%-44s %-26s %5s %s\n", "NETWORK", "UNTIL", "BAN", "BY");
	for (i = 0; i < l->n; i++) {
		if (!ban_net_format(&l->items[i].net, net, sizeof(net)) ||
		    !attack_format_time(l->items[i].expires_us, false, until,
		    sizeof(until)))
			continue;
		printf("%-44s %-26s %5u %s\n", net, until, l->items[i].level,
		    l->items[i].manual ? "operator" : "pillory");
	}
}

static int
export_to(enum ban_export_format fmt, const struct bans_list *l,
    const char *out)
{
	char	tmp[CONFIG_PATH_MAX + 32];
	FILE	*fp;
	bool	 ok;

	if (out == NULL)
		return ban_export(fmt, l->items, l->n, stdout) &&
		    fflush(stdout) == 0 ? 0 : 1;
	/* Replace FILE whole, so a loader never reads half of it. */
	if (!text_printf(tmp, sizeof(tmp), "%s.%ld.tmp", out,
	    (long)getpid()) || (fp = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "pillory bans: %s: %s\n", out, strerror(errno));
		return 1;
	}
	ok = ban_export(fmt, l->items, l->n, fp) && fflush(fp) == 0 &&
	    fsync(fileno(fp)) == 0;
	ok = fclose(fp) == 0 && ok;
	if (!ok || rename(tmp, out) == -1) {
		fprintf(stderr, "pillory bans: %s: %s\n", out, strerror(errno));
		unlink(tmp);
		return 1;
	}
	return 0;
}

int
cmd_bans(const struct config *cfg, int argc, char **argv)
{
	struct store		*st;
	struct bans_list	 l = { NULL, 0, 0 };
	struct ban_entry	 e;
	enum ban_export_format	 fmt = BAN_EXPORT_PLAIN;
	const char		*args[4], *why, *format = NULL, *out = NULL;
	char			 err[1024], net[BAN_NET_TEXT_MAX];
	uint64_t		 secs, n = 0;
	size_t			 nargs = 0;
	bool			 json = false;
	int			 i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (nargs < 4 && argv[i][0] != '-')
			args[nargs++] = argv[i];
		else
			goto usage;
	}
	if (nargs == 0)
		args[nargs++] = "list";
	if ((strcmp(args[0], "list") == 0 && nargs != 1) ||
	    (strcmp(args[0], "add") == 0 && (nargs < 2 || nargs > 3)) ||
	    (strcmp(args[0], "remove") == 0 && nargs != 2) ||
	    (strcmp(args[0], "export") == 0 && nargs != 1) ||
	    ((format != NULL || out != NULL) &&
	    strcmp(args[0], "export") != 0))
		goto usage;
	if (strcmp(args[0], "export") == 0 && (format == NULL ||
	    !ban_export_format_parse(format, &fmt) || fmt == BAN_EXPORT_JSON)) {
		fprintf(stderr, "pillory bans: export needs --format plain, "
		    "rbldnsd or nft\n");
		return 2;
	}
	memset(&e, 0, sizeof(e));
	if (nargs >= 2 && !ban_net_parse(args[1], &e.net, &why)) {
		fprintf(stderr, "pillory bans: %s: %s\n", args[1], why);
		return 2;
	}
	secs = cfg->defense_ban_time;
	if (nargs == 3 && !ban_parse_duration(args[2], &secs)) {
		fprintf(stderr, "pillory bans: %s: expected a duration such as "
		    "30m, 2h or 7d\n", args[2]);
		return 2;
	}
	if ((st = store_open_config(cfg, false, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory bans: %s\n", err);
		return 1;
	}
	ban_net_format(&e.net, net, sizeof(net));
	if (strcmp(args[0], "add") == 0) {
		e.start_us = clock_now_us();
		e.expires_us = e.start_us + (int64_t)secs * 1000000;
		e.level = 1;
		e.manual = true;
		if (store_ban_put(st, &e, 1, (int64_t)cfg->defense_ban_max *
		    1000000) != 0)
			goto store_fail;
		printf("banned %s for %llus\n", net, (unsigned long long)secs);
		notify_daemon(cfg);
		rc = 0;
	} else if (strcmp(args[0], "remove") == 0) {
		if (store_ban_delete(st, &e.net, &n) != 0)
			goto store_fail;
		if (n == 0) {
			fprintf(stderr, "pillory bans: no ban for %s\n", net);
			goto done;
		}
		printf("removed %s\n", net);
		notify_daemon(cfg);
		rc = 0;
	} else if (strcmp(args[0], "list") == 0 ||
	    strcmp(args[0], "export") == 0) {
		if (store_ban_list(st, clock_now_us(), collect, &l) != 0)
			goto store_fail;
		if (strcmp(args[0], "list") == 0) {
			print_list(&l, json);
			rc = 0;
		} else
			rc = export_to(fmt, &l, out);
	} else {
		store_close(st);
		goto usage;
	}
	goto done;
store_fail:
	fprintf(stderr, "pillory bans: %s\n", store_errmsg(st));
done:
	free(l.items);
	store_close(st);
	return rc;
usage:
	fprintf(stderr, BANS_USAGE);
	return 2;
}

const struct cmd_entry cmd_bans_entry = {
	.name = "bans",
	.usage = "[list | add NET [DURATION] | remove NET] [--json] | "
	    "export --format plain|rbldnsd|nft [-o FILE]",
	.help = "bans of client networks: list, add or remove one (the daemon "
	    "applies it at once), export a blocklist",
	.needs_config = true,
	.run = cmd_bans,
};
