/*
 * gen_conf_keys.c: build-time generator of the key list of pillory.conf(5).
 * It walks the same table the config parser uses (config_keys.c) and
 * prints one roff paragraph per key, grouped by section, so the manual can
 * never drift from the parser. Not installed; run by the Makefile.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config_keys.h"

/* Print text escaped for roff: backslashes, hyphens (as minus signs, so
 * options and paths copy and paste), and a leading dot or quote. */
static void
roff(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static const char *
type_name(enum config_type t)
{
	switch (t) {
	case CONFIG_STRING:
		return "text";
	case CONFIG_PATH:
		return "absolute path";
	case CONFIG_BOOL:
		return "yes or no";
	case CONFIG_UINT:
		return "integer";
	case CONFIG_SIZE:
		return "size (K, M, G)";
	case CONFIG_DURATION:
		return "duration (s, m, h, d, w)";
	case CONFIG_DOMAINS:
		return "list of domains";
	case CONFIG_ENDPOINTS:
		return "list of host:port or [v6]:port";
	case CONFIG_CIDRS:
		return "list of networks";
	case CONFIG_WORDS:
		return "list of words";
	case CONFIG_DURATIONS:
		return "list of durations";
	}
	return "value";
}

int
main(void)
{
	const char	*section = "";
	size_t		 i;

	for (i = 0; i < config_keys_count; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(k->section, section) != 0) {
			section = k->section;
			printf(".SS [");
			roff(section);
			printf("]\n");
		}
		printf(".TP\n.B ");
		roff(k->name);
		printf("\n");
		roff(k->help);
		printf(".\n.br\nType: ");
		roff(type_name(k->type));
		if (k->type == CONFIG_UINT &&
		    (k->minimum != 0 || k->maximum != 0))
			printf(", from %" PRIu64 " to %" PRIu64, k->minimum,
			    k->maximum);
		printf(". Default: ");
		if (*k->def == '\0')
			printf("empty");
		else {
			printf("\\fB");
			roff(k->def);
			printf("\\fR");
		}
		printf(".\n");
	}
	return 0;
}
