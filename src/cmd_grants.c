/*
 * cmd_grants.c: `pillory grants [list | revoke IP]`: the POP-before-SMTP
 * grants in the store, read and revoked directly (the daemon looks each one
 * up when it needs it, so a revocation takes effect at once).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attack.h"
#include "cmd.h"
#include "config.h"
#include "grants.h"
#include "store.h"
#include "text.h"

static int
print_grant(const char *network, const char *user, int64_t expires_us,
    void *arg)
{
	time_t		t = (time_t)(expires_us / 1000000);
	struct tm	tm;
	char		when[64];

	(void)arg;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
	printf("%-40s %-40s %s\n", network, user, when);
	return 0;
}

int
cmd_grants(const struct config *cfg, int argc, char **argv)
{
	struct store		*st;
	struct sockaddr_storage	 ss;
	char			 err[1024], key[IPADDR_TEXT_MAX + 8];
	uint64_t		 n = 0;
	struct timespec		 ts;
	int			 rc = 1;
	bool			 list = argc == 1 ||
	    (argc == 2 && strcmp(argv[1], "list") == 0);

	memset(&ss, 0, sizeof(ss));
	if (!list && !(argc == 3 && strcmp(argv[1], "revoke") == 0)) {
		fprintf(stderr, "usage: pillory [-c FILE] grants "
		    "[list | revoke IP]\n");
		return 2;
	}
	if ((st = store_open_config(cfg, false, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory grants: %s\n", err);
		return 1;
	}
	if (list) {
		clock_gettime(CLOCK_REALTIME, &ts);
		printf("%-40s %-40s %s\n", "ADDRESS", "USER", "EXPIRES");
		if (store_grant_list(st, (int64_t)ts.tv_sec * 1000000 +
		    ts.tv_nsec / 1000, print_grant, NULL) != 0)
			fprintf(stderr, "pillory grants: %s\n",
			    st->ops->errmsg(st));
		else
			rc = 0;
		goto done;
	}
	if (!text_sockaddr(argv[2], &ss)) {
		fprintf(stderr, "pillory grants: not an address: %s\n",
		    argv[2]);
		rc = 2;
		goto done;
	}
	grants_key((struct sockaddr *)&ss,
	    (unsigned)cfg->pop_before_smtp_v6_prefix, key, sizeof(key));
	if (store_grant_revoke(st, key, &n) != 0) {
		fprintf(stderr, "pillory grants: %s\n", st->ops->errmsg(st));
		goto done;
	}
	if (n == 0) {
		fprintf(stderr, "pillory grants: no grant for %s\n", key);
		goto done;
	}
	printf("revoked %s\n", key);
	rc = 0;
done:
	store_close(st);
	return rc;
}

const struct cmd_entry cmd_grants_entry = {
	.name = "grants",
	.usage = "[list | revoke IP]",
	.help = "POP-before-SMTP relay grants: list them, or end one now",
	.needs_config = true,
	.run = cmd_grants,
};
