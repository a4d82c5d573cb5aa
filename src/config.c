/*
 * config.c: a small bounded INI reader and the typed value parsers behind
 * config_keys.c. Runs in the parent at start-up and on SIGHUP, and in the
 * command-line tools; its input (the config file) is trusted but may be
 * wrong, so every error names FILE:LINE.
 *
 * We do not use libinih: Debian's build cuts lines longer than about 200
 * bytes silently and gives no line number, and a cut trusted_networks line
 * would change relay policy.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "config_keys.h"
#include "text.h"
#include "xalloc.h"

#define FIELD(cfg, key) ((void *)((char *)(cfg) + (key)->offset))

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Split a comma-separated list in place; empty items are an error. */
static int
split_list(char *value, char **items, size_t max, size_t *count_out,
    const char **why)
{
	size_t	 n = 0;
	char	*p = value, *comma;

	*count_out = 0;
	if (*trim(value) == '\0')
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		if (n == max) {
			*why = "too many list items";
			return -1;
		}
		items[n] = trim(p);
		if (*items[n] == '\0') {
			*why = "empty list item";
			return -1;
		}
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*count_out = n;
	return 0;
}

static bool
parse_uint(const char *s, uint64_t *out, const char **rest)
{
	uint64_t	v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	*rest = s;
	return true;
}

static bool
scale(uint64_t v, uint64_t mul, uint64_t *out)
{
	if (mul != 0 && v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

static bool
parse_size(const char *s, uint64_t *out)
{
	const char	*rest;
	uint64_t	 v, mul = 1;

	if (!parse_uint(s, &v, &rest))
		return false;
	switch (*rest) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		break;
	case 'g': case 'G':
		mul = 1024 * 1024 * 1024;
		break;
	default:
		return false;
	}
	if (*rest != '\0' && rest[1] != '\0')
		return false;
	return scale(v, mul, out);
}

static bool
parse_duration(const char *s, uint64_t *out)
{
	return clock_parse_duration(s, false, UINT64_MAX, out);
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t	i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool
domain_is_valid(const char *d)
{
	size_t	len = strlen(d), label = 0, i;

	if (len == 0 || len > DOMAIN_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && !(c == '-' && label > 0))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && d[len - 1] != '-';
}

bool
config_parse_endpoint(const char *text, struct config_endpoint *ep_out)
{
	char			 host[IPADDR_TEXT_MAX];
	const char		*colon, *hs, *he;
	uint64_t		 port;
	const char		*rest;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ep_out->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ep_out->ss;

	memset(ep_out, 0, sizeof(*ep_out));
	if (!text_copy(ep_out->text, text, sizeof(ep_out->text)))
		return false;
	if (text[0] == '[') {
		he = strchr(text, ']');
		if (he == NULL || he[1] != ':')
			return false;
		hs = text + 1;
		colon = he + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || memchr(text, ':', (size_t)(colon - text)))
			return false;
		hs = text;
		he = colon;
	}
	if (!parse_uint(colon + 1, &port, &rest) || *rest != '\0' ||
	    port == 0 || port > 65535)
		return false;
	if (!text_copy_span(host, sizeof(host), hs, (size_t)(he - hs)))
		return false;
	if (text[0] == '[') {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return false;
		ep_out->len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (strcmp(host, "*") == 0)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (strcmp(host, "localhost") == 0)
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return false;
		ep_out->len = sizeof(*sin);
	}
	return true;
}

static bool
parse_cidr(const char *text, struct config_cidr *out)
{
	char		 addr[IPADDR_TEXT_MAX];
	const char	*slash = strchr(text, '/'), *rest;
	uint64_t	 prefix;
	size_t		 alen = slash ? (size_t)(slash - text) : strlen(text);
	size_t		 i, bytes;

	memset(out, 0, sizeof(*out));
	if (!text_copy_span(addr, sizeof(addr), text, alen))
		return false;
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else
		return false;
	if (slash != NULL) {
		/* "/08" is a typo for something; refuse to guess. */
		if ((slash[1] == '0' && slash[2] != '\0') ||
		    !parse_uint(slash + 1, &prefix, &rest) || *rest != '\0' ||
		    prefix > (uint64_t)out->prefix)
			return false;
		out->prefix = (int)prefix;
	}
	/* Host bits set ("10.0.0.1/8") are a typo we refuse to guess at. */
	bytes = out->family == AF_INET ? 4 : 16;
	for (i = 0; i < bytes; i++) {
		int	keep = out->prefix - (int)i * 8;
		uint8_t	mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));

		if (out->addr[i] & (uint8_t)~mask)
			return false;
	}
	return true;
}

static bool
cidr_match(const struct config_cidr *c, int family, const uint8_t *addr)
{
	int	full = c->prefix / 8, bits = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, addr, (size_t)full) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((c->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - bits)))
	    == 0;
}

bool
config_cidrs_contain(const struct config_cidrs *cidrs,
    const struct sockaddr *sa)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const uint8_t		*addr;
	int			 family = sa->sa_family;
	size_t			 i;

	if (family == AF_INET)
		addr = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	else if (family == AF_INET6) {
		addr = (const uint8_t *)
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			addr += 12;
			family = AF_INET;
		}
	} else
		return false;
	for (i = 0; i < cidrs->count; i++)
		if (cidr_match(&cidrs->items[i], family, addr))
			return true;
	return false;
}

/* Set one key from its text; returns NULL or a static error message. */
static const char *
set_value(struct config *cfg, const struct config_key *key, char *value)
{
	void		*field = FIELD(cfg, key);
	char		*items[CONFIG_LIST_MAX];
	size_t		 n = 0, i;
	const char	*why = NULL;
	uint64_t	 v;
	const char	*rest;

	switch (key->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		if (key->type == CONFIG_PATH && *value != '\0' && *value != '/')
			return "must be an absolute path";
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return NULL;
	case CONFIG_BOOL:
		if (!parse_bool(value, (bool *)field))
			return "expected yes or no";
		return NULL;
	case CONFIG_UINT:
		if (!parse_uint(value, &v, &rest) || *rest != '\0')
			return "expected a number";
		goto bounds;
	case CONFIG_SIZE:
		if (!parse_size(value, &v))
			return "expected a size such as 512K, 25M or 1G";
		goto bounds;
	case CONFIG_DURATION:
		if (!parse_duration(value, &v))
			return "expected a duration such as 30s, 5m, 2h or 7d";
		goto bounds;
	default:
		break;
	}

	if (split_list(value, items, CONFIG_LIST_MAX, &n, &why) == -1)
		return why;
	switch (key->type) {
	case CONFIG_DOMAINS: {
		struct domain_list *dl = field;

		for (i = 0; i < dl->count; i++)
			free(dl->names[i]);
		free(dl->names);
		dl->names = xcalloc(n ? n : 1, sizeof(char *));
		dl->count = 0;
		for (i = 0; i < n; i++) {
			text_lower(items[i]);
			if (!domain_is_valid(items[i]))
				return "not a valid domain name";
			dl->names[dl->count++] = xstrdup(items[i]);
		}
		return NULL;
	}
	case CONFIG_ENDPOINTS: {
		struct config_endpoints *el = field;

		free(el->items);
		el->count = 0;
		el->items = xcalloc(n ? n : 1, sizeof(*el->items));
		for (i = 0; i < n; i++)
			if (!config_parse_endpoint(items[i], &el->items[i]))
				return "expected host:port or [v6]:port";
		el->count = n;
		return NULL;
	}
	case CONFIG_CIDRS: {
		struct config_cidrs *cl = field;

		free(cl->items);
		cl->count = 0;
		cl->items = xcalloc(n ? n : 1, sizeof(*cl->items));
		for (i = 0; i < n; i++)
			if (!parse_cidr(items[i], &cl->items[i]))
				return "expected an address or network "
				    "such as 192.0.2.0/24 or 2001:db8::/32 "
				    "(host bits clear)";
		cl->count = n;
		return NULL;
	}
	case CONFIG_WORDS: {
		struct config_strings *sl = field;

		for (i = 0; i < sl->count; i++)
			free(sl->items[i]);
		free(sl->items);
		sl->items = xcalloc(n ? n : 1, sizeof(char *));
		sl->count = 0;
		for (i = 0; i < n; i++) {
			const char *c;

			for (c = items[i]; *c; c++)
				if (!isalnum((unsigned char)*c) && *c != '-' &&
				    *c != '_')
					return "expected simple words";
			sl->items[sl->count++] = xstrdup(items[i]);
		}
		return NULL;
	}
	case CONFIG_DURATIONS: {
		struct config_durations *dl = field;

		free(dl->items);
		dl->count = 0;
		dl->items = xcalloc(n ? n : 1, sizeof(uint64_t));
		for (i = 0; i < n; i++)
			if (!parse_duration(items[i], &dl->items[i]))
				return "expected durations such as 5m, 1h";
		dl->count = n;
		return NULL;
	}
	default:
		abort();
	}

bounds:
	if (v < key->minimum || v > key->maximum)
		return "value out of range";
	*(uint64_t *)field = v;
	return NULL;
}

static const struct config_key *
find_key(const char *section, const char *name, bool *section_known)
{
	size_t	i;

	*section_known = false;
	for (i = 0; i < config_keys_count; i++) {
		if (strcmp(config_keys[i].section, section) != 0)
			continue;
		*section_known = true;
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

/* Keys that moved to another section: a config that still has them is
 * refused with the new name rather than "unknown key". */
static const struct {
	const char	*section, *name, *new_section, *new_name;
} moved_keys[] = {
	{ "attacklog", "ban_after", "defense", "ban_after" },
	{ "attacklog", "ban_window", "defense", "ban_window" },
	{ "attacklog", "ban_time", "defense", "ban_time" },
};

static const char *
moved_key(const char *section, const char *name)
{
	/* Config loading is single-threaded (see config_finish). */
	static char	msg[160];
	size_t		i;

	for (i = 0; i < sizeof(moved_keys) / sizeof(moved_keys[0]); i++) {
		if (strcmp(moved_keys[i].section, section) != 0 ||
		    strcmp(moved_keys[i].name, name) != 0)
			continue;
		text_printf(msg, sizeof(msg), "[%s] %s moved to [%s] %s",
		    section, name, moved_keys[i].new_section,
		    moved_keys[i].new_name);
		return msg;
	}
	return NULL;
}

/* "unknown key ..." with the nearest known key, into msg. */
static const char *
config_unknown_key(const char *section, const char *name, char *msg,
    size_t msglen)
{
	const struct config_key	*k = config_keys_suggest_key(section, name);

	if (k == NULL)
		text_printf(msg, msglen, "unknown key \"%s\" in [%s]", name,
		    section);
	else if (strcmp(k->section, section) == 0)
		text_printf(msg, msglen, "unknown key \"%s\" in [%s]; did you "
		    "mean \"%s\"?", name, section, k->name);
	else
		text_printf(msg, msglen, "unknown key \"%s\" in [%s]; did you "
		    "mean \"%s\" in [%s]?", name, section, k->name,
		    k->section);
	return msg;
}

/* "unknown section ..." with the nearest known section, into msg. */
static const char *
config_unknown_section(const char *name, char *msg, size_t msglen)
{
	const char	*near = config_keys_suggest_section(name);

	if (near == NULL)
		text_printf(msg, msglen, "unknown section [%s]", name);
	else
		text_printf(msg, msglen, "unknown section [%s]; did you mean "
		    "[%s]?", name, near);
	return msg;
}

static struct config *
config_new(void)
{
	struct config	*cfg = xcalloc(1, sizeof(*cfg));
	size_t		 i;
	char		 buf[CONFIG_LINE_MAX];

	for (i = 0; i < config_keys_count; i++) {
		if (!text_copy(buf, config_keys[i].def, sizeof(buf)) ||
		    set_value(cfg, &config_keys[i], buf) != NULL)
			abort();	/* a bad default is a bug */
	}
	return cfg;
}

struct config *
config_defaults(void)
{
	return config_new();
}

static bool
endpoint_listed(const struct config_endpoints *list,
    const struct config_endpoint *ep)
{
	size_t	i;

	for (i = 0; i < list->count; i++)
		if (list->items[i].len == ep->len &&
		    memcmp(&list->items[i].ss, &ep->ss, ep->len) == 0)
			return true;
	return false;
}

/* Checks across keys, after the whole file is read. */
static const char *
config_finish(struct config *cfg)
{
	size_t	i;
	char	host[DOMAIN_MAX + 1];

	if (cfg->domains.count == 0)
		return "[server] domains: at least one local domain is required";
	if (*cfg->hostname == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			return "[server] hostname: not set and gethostname failed";
		host[sizeof(host) - 1] = '\0';
		free(cfg->hostname);
		cfg->hostname = xstrdup(host);
	}
	if (*cfg->state_dir == '\0')
		return "[server] state_dir: must be set";
	for (i = 0; i < cfg->smtp_proxy_protocol.count; i++) {
		const struct config_endpoint *ep =
		    &cfg->smtp_proxy_protocol.items[i];

		if (endpoint_listed(&cfg->smtp_smtps, ep))
			return "[smtp] proxy_protocol: not supported on smtps "
			    "listeners (terminate TLS at the proxy or use "
			    "submission)";
		if (!endpoint_listed(&cfg->smtp_listen, ep) &&
		    !endpoint_listed(&cfg->smtp_submission, ep))
			return "[smtp] proxy_protocol: names an address that "
			    "is not an SMTP listener";
	}
	if ((*cfg->tls_cert == '\0') != (*cfg->tls_key == '\0'))
		return "[tls] cert and key must be set together";
	if (*cfg->tls_cert == '\0' && (cfg->smtp_submission.count > 0 ||
	    cfg->smtp_smtps.count > 0 || cfg->pop3_pop3s.count > 0))
		return "[tls] cert and key are required for submission, smtps "
		    "and pop3s listeners";
	if (cfg->retry.count == 0)
		return "[delivery] retry: at least one interval is required";
	for (i = 0; i < config_keys_count; i++) {
		/* Config loading is single-threaded: a static message is
		 * fine and keeps config_finish's simple contract. */
		static char	 msg[256], why[192];
		const char	*bad;

		if (config_keys[i].validate == NULL ||
		    (bad = config_keys[i].validate(&config_keys[i],
		    FIELD(cfg, &config_keys[i]), why, sizeof(why))) == NULL)
			continue;
		text_printf(msg, sizeof(msg), "[%s] %s: %s",
		    config_keys[i].section, config_keys[i].name, bad);
		return msg;
	}
	return NULL;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	struct config	*cfg;

	if ((fp = fopen(path, "re")) == NULL) {
		text_printf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	cfg = config_load_fp(fp, path, err, errlen);
	fclose(fp);
	return cfg;
}

struct config *
config_load_fp(FILE *fp, const char *path, char *err, size_t errlen)
{
	struct config		*cfg;
	char			*line = NULL, *p, *eq, *key, *value;
	size_t			 cap = 0;
	ssize_t			 len;
	unsigned		 lineno = 0;
	char			 section[64] = "";
	bool			 section_known;
	const struct config_key	*k;
	const char		*why;
	uint8_t			 seen[256] = { 0 };
	char			 msg[CONFIG_LINE_MAX + 128];

	cfg = config_new();
	text_copy(cfg->path, path, sizeof(cfg->path));
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if ((size_t)len > CONFIG_LINE_MAX) {
			why = "line too long (limit 4096 octets)";
			goto bad;
		}
		if (memchr(line, '\0', (size_t)len) != NULL) {
			why = "NUL byte in line";
			goto bad;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		p = trim(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (end == NULL || end[1] != '\0') {
				why = "malformed section header";
				goto bad;
			}
			*end = '\0';
			if (!text_copy(section, trim(p + 1), sizeof(section))) {
				why = "unknown section";
				goto bad;
			}
			find_key(section, "", &section_known);
			if (!section_known) {
				why = config_unknown_section(section, msg,
				    sizeof(msg));
				goto bad;
			}
			continue;
		}
		if ((eq = strchr(p, '=')) == NULL) {
			why = "expected key = value";
			goto bad;
		}
		*eq = '\0';
		key = trim(p);
		value = trim(eq + 1);
		if (*section == '\0') {
			why = "key outside a section";
			goto bad;
		}
		if ((k = find_key(section, key, &section_known)) == NULL) {
			if ((why = moved_key(section, key)) == NULL)
				why = config_unknown_key(section, key, msg,
				    sizeof(msg));
			goto bad;
		}
		if (seen[k - config_keys]++) {
			why = "key given twice";
			goto bad;
		}
		if ((why = set_value(cfg, k, value)) != NULL)
			goto bad;
	}
	if (ferror(fp)) {
		text_printf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((why = config_finish(cfg)) != NULL) {
		text_printf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	free(line);
	return cfg;
bad:
	text_printf(err, errlen, "%s:%u: %s", path, lineno, why);
fail:
	free(line);
	config_free(cfg);
	return NULL;
}

void
config_free(struct config *cfg)
{
	size_t	i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < config_keys_count; i++) {
		void *field = FIELD(cfg, &config_keys[i]);

		switch (config_keys[i].type) {
		case CONFIG_STRING:
		case CONFIG_PATH:
			free(*(char **)field);
			break;
		case CONFIG_DOMAINS: {
			struct domain_list *dl = field;

			for (j = 0; j < dl->count; j++)
				free(dl->names[j]);
			free(dl->names);
			break;
		}
		case CONFIG_WORDS: {
			struct config_strings *sl = field;

			for (j = 0; j < sl->count; j++)
				free(sl->items[j]);
			free(sl->items);
			break;
		}
		case CONFIG_ENDPOINTS:
			free(((struct config_endpoints *)field)->items);
			break;
		case CONFIG_CIDRS:
			free(((struct config_cidrs *)field)->items);
			break;
		case CONFIG_DURATIONS:
			free(((struct config_durations *)field)->items);
			break;
		default:
			break;
		}
	}
	free(cfg);
}

static void
print_duration(FILE *fp, uint64_t s)
{
	if (s != 0 && s % 86400 == 0)
		fprintf(fp, "%llud", (unsigned long long)(s / 86400));
	else if (s != 0 && s % 3600 == 0)
		fprintf(fp, "%lluh", (unsigned long long)(s / 3600));
	else if (s != 0 && s % 60 == 0)
		fprintf(fp, "%llum", (unsigned long long)(s / 60));
	else
		fprintf(fp, "%llus", (unsigned long long)s);
}

/* A size in the largest 1024-based unit that is exact, as written. */
static void
print_size(FILE *fp, uint64_t v)
{
	if (v != 0 && v % (1024ULL * 1024 * 1024) == 0)
		fprintf(fp, "%lluG", (unsigned long long)(v >> 30));
	else if (v != 0 && v % (1024ULL * 1024) == 0)
		fprintf(fp, "%lluM", (unsigned long long)(v >> 20));
	else if (v != 0 && v % 1024 == 0)
		fprintf(fp, "%lluK", (unsigned long long)(v >> 10));
	else
		fprintf(fp, "%llu", (unsigned long long)v);
}

static void
print_value(FILE *fp, const struct config *cfg, const struct config_key *k)
{
	const void	*field = FIELD(cfg, k);
	size_t		 i;
	char		 addr[IPADDR_TEXT_MAX];

	/* A key (srs_secret) is not for pasting into a question. */
	if (k->type == CONFIG_STRING && strstr(k->name, "secret") != NULL &&
	    **(char *const *)field != '\0') {
		fputs("(set, not shown)", fp);
		return;
	}
	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		fputs(*(char *const *)field, fp);
		break;
	case CONFIG_BOOL:
		fputs(*(const bool *)field ? "yes" : "no", fp);
		break;
	case CONFIG_UINT:
		fprintf(fp, "%llu",
		    (unsigned long long)*(const uint64_t *)field);
		break;
	case CONFIG_SIZE:
		print_size(fp, *(const uint64_t *)field);
		break;
	case CONFIG_DURATION:
		print_duration(fp, *(const uint64_t *)field);
		break;
	case CONFIG_DOMAINS: {
		const struct domain_list *dl = field;

		for (i = 0; i < dl->count; i++)
			fprintf(fp, "%s%s", i ? ", " : "", dl->names[i]);
		break;
	}
	case CONFIG_WORDS: {
		const struct config_strings *sl = field;

		for (i = 0; i < sl->count; i++)
			fprintf(fp, "%s%s", i ? ", " : "", sl->items[i]);
		break;
	}
	case CONFIG_ENDPOINTS: {
		const struct config_endpoints *el = field;

		for (i = 0; i < el->count; i++)
			fprintf(fp, "%s%s", i ? ", " : "", el->items[i].text);
		break;
	}
	case CONFIG_CIDRS: {
		const struct config_cidrs *cl = field;

		for (i = 0; i < cl->count; i++) {
			inet_ntop(cl->items[i].family, cl->items[i].addr, addr,
			    sizeof(addr));
			fprintf(fp, "%s%s/%d", i ? ", " : "", addr,
			    cl->items[i].prefix);
		}
		break;
	}
	case CONFIG_DURATIONS: {
		const struct config_durations *dl = field;

		for (i = 0; i < dl->count; i++) {
			if (i)
				fputs(", ", fp);
			print_duration(fp, dl->items[i]);
		}
		break;
	}
	}
}

void
config_print(const struct config *cfg, FILE *fp)
{
	size_t		 i;
	const char	*section = "";

	for (i = 0; i < config_keys_count; i++) {
		if (strcmp(section, config_keys[i].section) != 0) {
			section = config_keys[i].section;
			fprintf(fp, "%s[%s]\n", i ? "\n" : "", section);
		}
		fprintf(fp, "%s = ", config_keys[i].name);
		print_value(fp, cfg, &config_keys[i]);
		fputc('\n', fp);
	}
}

void
config_print_help(FILE *fp)
{
	size_t		 i;
	const char	*section = "";

	for (i = 0; i < config_keys_count; i++) {
		if (strcmp(section, config_keys[i].section) != 0) {
			section = config_keys[i].section;
			fprintf(fp, "[%s]\n", section);
		}
		fprintf(fp, "  %-27s %s\n  %-27s default: %s\n",
		    config_keys[i].name, config_keys[i].help, "",
		    *config_keys[i].def ? config_keys[i].def : "(empty)");
	}
}

const char *
config_default_path(void)
{
	const char	*env = getenv("PILLORY_CONFIG");

	return env != NULL && *env != '\0' ? env : "/etc/pillory/pillory.conf";
}
