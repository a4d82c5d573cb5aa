/*
 * config_keys.h: the one table of configuration keys. config.c walks it to
 * parse, default, validate (each row's validator), print and free;
 * `pillory --help-config` and the README's key list are printed from it.
 */
#ifndef CONFIG_KEYS_H
#define CONFIG_KEYS_H

#include <stddef.h>
#include <stdint.h>

enum config_type {
	CONFIG_STRING,		/* free text, no list */
	CONFIG_PATH,		/* a file or directory path; must be absolute */
	CONFIG_BOOL,		/* yes/no/true/false/on/off/1/0 */
	CONFIG_UINT,		/* decimal integer */
	CONFIG_SIZE,		/* integer with K/M/G suffix (1024-based) */
	CONFIG_DURATION,	/* integer with s/m/h/d/w suffix, in seconds */
	CONFIG_DOMAINS,		/* list of domain names, lower-cased */
	CONFIG_ENDPOINTS,	/* list of host:port / [v6]:port */
	CONFIG_CIDRS,		/* list of IPv4/IPv6 networks */
	CONFIG_WORDS,		/* list of simple words */
	CONFIG_DURATIONS,	/* list of durations */
};

struct config_key {
	const char		*section;
	const char		*name;
	enum config_type	 type;
	const char		*def;	/* default, in config syntax */
	uint64_t		 minimum; /* bounds (UINT/SIZE/DURATION) */
	uint64_t		 maximum;
	size_t			 offset; /* into struct config */
	const char		*help;
	/*
	 * Optional check of the parsed value (field points into struct
	 * config), run after the whole file is read: NULL when fine, else
	 * the reason (static, or written into msg).
	 */
	const char		*(*validate)(const struct config_key *k,
				    const void *field, char *msg,
				    size_t msglen);
};

extern const struct config_key config_keys[];
extern const size_t config_keys_count;

/* Names longer than this are never near another (config_keys_distance). */
#define CONFIG_KEYS_NAME_MAX	64
/* "Did you mean": suggestions are at most this many edits away. */
#define CONFIG_KEYS_SUGGEST_MAX	2

/*
 * Edit distance of two names: insertions, deletions, substitutions and
 * swaps of neighbours count 1 (Damerau-Levenshtein, optimal string
 * alignment). SIZE_MAX when either is longer than CONFIG_KEYS_NAME_MAX.
 */
size_t config_keys_distance(const char *a, const char *b);

/*
 * The known key nearest to name: first among the keys of section, then
 * among all keys; NULL when none is within CONFIG_KEYS_SUGGEST_MAX. The
 * first in table order wins a tie.
 */
const struct config_key *config_keys_suggest_key(const char *section,
    const char *name);

/* The known section nearest to name, or NULL. */
const char *config_keys_suggest_section(const char *name);

#endif
