/*
 * cmd_publish.c: `pillory publish`, regenerate the public page now (the
 * daemon does it by itself a few seconds after new records; this is for
 * cron, for a changed config, and for the tests). Runs in the CLI
 * process; reads the attack log read-only while the daemon writes.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "publish.h"

static void
publish_usage(FILE *fp)
{
	fprintf(fp, "usage: pillory publish [-q]\n"
	    "  regenerate the public attack page in [publish] dir\n"
	    "  -q  print nothing on success\n");
}

/*
 * `pillory publish [-q]`. Returns 0 when the site was written, 1 when it
 * could not be (message on stderr), 2 on bad arguments.
 */
int
cmd_publish(const struct config *cfg, int argc, char **argv)
{
	struct publish_result	res;
	char			err[1024];
	bool			quiet = false;
	int			i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0 ||
		    strcmp(argv[i], "--quiet") == 0)
			quiet = true;
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			publish_usage(stdout);
			return (0);
		} else {
			fprintf(stderr, "pillory publish: bad argument "
			    "\"%s\"\n", argv[i]);
			publish_usage(stderr);
			return (2);
		}
	}
	if (publish_run(cfg, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "pillory publish: %s\n", err);
		return (1);
	}
	if (!quiet)
		printf("published %s: %zu files, %zu changed, %lld ms%s\n",
		    cfg->publish_dir != NULL && cfg->publish_dir[0] != '\0' ?
		    cfg->publish_dir : "STATE_DIR/public", res.files,
		    res.written, (long long)(res.elapsed_us / 1000),
		    cfg->publish_enabled ? "" : " (publication ended)");
	return (0);
}

const struct cmd_entry cmd_publish_entry = {
	.name = "publish",
	.usage = "",
	.help = "regenerate the public page now",
	.needs_config = true,
	.run = cmd_publish,
};
