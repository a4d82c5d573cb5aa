/*
 * config_keys.c: every configuration key, its type, default, bounds, help
 * text and optional validator, one designated-initialiser row per key;
 * and the lookups behind "did you mean" (config_keys_suggest_key()).
 * Adding a key means adding a field to struct config and one row here;
 * nothing else walks keys by hand.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attacklog.h"
#include "config.h"
#include "config_keys.h"
#include "i18n.h"
#include "policy_parse.h"
#include "text.h"

/* The old positional row, still accepted: K(section, name, type, def,
 * minimum, maximum, field, help). */
#define K(sec, key, typ, dflt, lo, hi, field, text) \
	{ .section = (sec), .name = (key), .type = (typ), .def = (dflt), \
	  .minimum = (lo), .maximum = (hi), \
	  .offset = offsetof(struct config, field), .help = (text) }
#define DAY	86400ULL
#define NOMAX	UINT64_MAX

/* [publish] languages: at least one, each known to i18n.c. */
static const char *
config_keys_languages(const struct config_key *k, const void *field,
    char *msg, size_t msglen)
{
	const struct config_strings	*sl = field;
	size_t				 i;

	(void)k;
	if (sl->count == 0)
		return ("at least one language is required");
	for (i = 0; i < sl->count; i++) {
		if (i18n_find(sl->items[i]) != NULL)
			continue;
		text_printf(msg, msglen, "unknown language \"%s\" "
		    "(known: ja, en)", sl->items[i]);
		return (msg);
	}
	return (NULL);
}

/* [publish] kinds: names of attack record kinds. */
static const char *
config_keys_kinds(const struct config_key *k, const void *field, char *msg,
    size_t msglen)
{
	const struct config_strings	*sl = field;
	const char			*bad = "";
	uint32_t			 mask;

	(void)k;
	if (attack_kinds_mask(sl->items, sl->count, &mask, &bad))
		return (NULL);
	text_printf(msg, msglen, "unknown kind \"%s\"", bad);
	return (msg);
}

/* [policy] listen: host:port, [v6]:port or unix:/path items. */
static const char *
config_keys_policy_listen(const struct config_key *k, const void *field,
    char *msg, size_t msglen)
{
	char *const			*text = field;
	static struct policy_listen_item items[CONFIG_LIST_MAX];
	size_t				 n;

	(void)k;
	if (*text == NULL || **text == '\0')
		return (NULL);
	/* Config loading is single-threaded: the item table may be static
	 * (it is too large for the stack of a validator). */
	if (policy_listen_parse(*text, items, CONFIG_LIST_MAX, &n, msg,
	    msglen))
		return (NULL);
	return (msg);
}

const struct config_key config_keys[] = {
	{ .section = "server", .name = "hostname",
	  .type = CONFIG_STRING, .def = "",
	  .offset = offsetof(struct config, hostname),
	  .help = "name in the greeting and Received headers (empty: the "
	    "host name)" },
	{ .section = "server", .name = "domains",
	  .type = CONFIG_DOMAINS, .def = "",
	  .offset = offsetof(struct config, domains),
	  .help = "local domains: mail for them is delivered here "
	    "(required)" },
	{ .section = "server", .name = "state_dir",
	  .type = CONFIG_PATH, .def = "/var/lib/pillory",
	  .offset = offsetof(struct config, state_dir),
	  .help = "mail, queue, attack log and published pages live here" },
	{ .section = "server", .name = "user",
	  .type = CONFIG_STRING, .def = "pillory",
	  .offset = offsetof(struct config, user),
	  .help = "started as root, bind then run as this user (empty: "
	    "stay)" },
	{ .section = "server", .name = "syslog",
	  .type = CONFIG_BOOL, .def = "no",
	  .offset = offsetof(struct config, syslog),
	  .help = "also log to syslog (facility mail)" },

	{ .section = "smtp", .name = "listen",
	  .type = CONFIG_ENDPOINTS, .def = "0.0.0.0:25, [::]:25",
	  .offset = offsetof(struct config, smtp_listen),
	  .help = "MX listeners (RFC 5321)" },
	{ .section = "smtp", .name = "submission",
	  .type = CONFIG_ENDPOINTS, .def = "",
	  .offset = offsetof(struct config, smtp_submission),
	  .help = "submission listeners, AUTH required (RFC 6409, port "
	    "587)" },
	{ .section = "smtp", .name = "smtps",
	  .type = CONFIG_ENDPOINTS, .def = "",
	  .offset = offsetof(struct config, smtp_smtps),
	  .help = "implicit-TLS submission listeners (RFC 8314, port 465)" },
	{ .section = "smtp", .name = "proxy_protocol",
	  .type = CONFIG_ENDPOINTS, .def = "",
	  .offset = offsetof(struct config, smtp_proxy_protocol),
	  .help = "listeners that require a HAProxy PROXY v1/v2 header" },
	{ .section = "smtp", .name = "max_message_size",
	  .type = CONFIG_SIZE, .def = "25M",
	  .minimum = 1024, .maximum = 1ULL << 31,
	  .offset = offsetof(struct config, max_message_size),
	  .help = "largest message accepted (552)" },
	{ .section = "smtp", .name = "max_recipients",
	  .type = CONFIG_UINT, .def = "1000",
	  .minimum = 100, .maximum = 100000,
	  .offset = offsetof(struct config, max_recipients),
	  .help = "recipients per message (452 past it; RFC 5321 "
	    "4.5.3.1.8 wants at least 100)" },
	{ .section = "smtp", .name = "max_connections",
	  .type = CONFIG_UINT, .def = "2000",
	  .minimum = 1, .maximum = 1000000,
	  .offset = offsetof(struct config, max_connections),
	  .help = "sessions at once, all listeners (421)" },
	{ .section = "smtp", .name = "max_connections_per_ip",
	  .type = CONFIG_UINT, .def = "20",
	  .minimum = 1, .maximum = 1000000,
	  .offset = offsetof(struct config, max_connections_per_ip),
	  .help = "sessions at once from one address, IPv6 by /64 (421)" },
	{ .section = "smtp", .name = "reject_forged_local_sender",
	  .type = CONFIG_BOOL, .def = "yes",
	  .offset = offsetof(struct config, reject_forged_local_sender),
	  .help = "refuse a local sender to a local user from an unproven "
	    "client" },
	{ .section = "smtp", .name = "command_timeout",
	  .type = CONFIG_DURATION, .def = "5m",
	  .minimum = 1, .maximum = DAY,
	  .offset = offsetof(struct config, command_timeout),
	  .help = "idle time allowed between commands (RFC 5321 4.5.3.2.7)" },
	{ .section = "smtp", .name = "data_timeout",
	  .type = CONFIG_DURATION, .def = "3m",
	  .minimum = 1, .maximum = DAY,
	  .offset = offsetof(struct config, data_timeout),
	  .help = "idle time allowed inside DATA (RFC 5321 4.5.3.2.6)" },
	{ .section = "smtp", .name = "greet_pause",
	  .type = CONFIG_DURATION, .def = "0s",
	  .minimum = 0, .maximum = 60,
	  .offset = offsetof(struct config, greet_pause),
	  .help = "wait this long before the greeting; a client that "
	    "talks first is dropped" },
	{ .section = "smtp", .name = "max_errors",
	  .type = CONFIG_UINT, .def = "20",
	  .minimum = 1, .maximum = 100000,
	  .offset = offsetof(struct config, max_errors),
	  .help = "syntax or protocol errors before the session is closed "
	    "(421)" },
	{ .section = "smtp", .name = "junk_command_limit",
	  .type = CONFIG_UINT, .def = "100",
	  .minimum = 1, .maximum = 10000000,
	  .offset = offsetof(struct config, junk_command_limit),
	  .help = "HELO/EHLO/NOOP/RSET/VRFY/EXPN/HELP between messages "
	    "before the session is closed (421)" },
	{ .section = "smtp", .name = "proxy_timeout",
	  .type = CONFIG_DURATION, .def = "10s",
	  .minimum = 1, .maximum = 300,
	  .offset = offsetof(struct config, proxy_timeout),
	  .help = "time allowed for the PROXY header" },
	{ .section = "smtp", .name = "trusted_plaintext_auth",
	  .type = CONFIG_BOOL, .def = "no",
	  .offset = offsetof(struct config, trusted_plaintext_auth),
	  .help = "offer AUTH without TLS to clients in trusted_networks" },
	{ .section = "smtp", .name = "received_auth_user",
	  .type = CONFIG_BOOL, .def = "no",
	  .offset = offsetof(struct config, received_auth_user),
	  .help = "name the login in the Received header of authenticated "
	    "mail" },

	{ .section = "tls", .name = "cert",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, tls_cert),
	  .help = "PEM certificate chain" },
	{ .section = "tls", .name = "key",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, tls_key),
	  .help = "PEM private key" },

	{ .section = "relay", .name = "trusted_networks",
	  .type = CONFIG_CIDRS, .def = "127.0.0.1/32, ::1/128",
	  .offset = offsetof(struct config, trusted_networks),
	  .help = "clients in these networks may relay without AUTH" },
	{ .section = "relay", .name = "pop_before_smtp",
	  .type = CONFIG_DURATION, .def = "10m",
	  .minimum = 0, .maximum = DAY,
	  .offset = offsetof(struct config, pop_before_smtp),
	  .help = "relay grant after a POP3 login (0: off)" },
	{ .section = "relay", .name = "pop_before_smtp_prefix6",
	  .type = CONFIG_UINT, .def = "128",
	  .minimum = 32, .maximum = 128,
	  .offset = offsetof(struct config, pop_before_smtp_v6_prefix),
	  .help = "IPv6 prefix length a grant covers" },

	{ .section = "pop3", .name = "listen",
	  .type = CONFIG_ENDPOINTS, .def = "",
	  .offset = offsetof(struct config, pop3_listen),
	  .help = "POP3 listeners (RFC 1939, port 110)" },
	{ .section = "pop3", .name = "pop3s",
	  .type = CONFIG_ENDPOINTS, .def = "",
	  .offset = offsetof(struct config, pop3_pop3s),
	  .help = "implicit-TLS POP3 listeners (port 995)" },
	{ .section = "pop3", .name = "allow_plaintext",
	  .type = CONFIG_BOOL, .def = "no",
	  .offset = offsetof(struct config, pop3_allow_plaintext),
	  .help = "allow USER/PASS without TLS from anywhere "
	    "(trusted_networks always may)" },
	{ .section = "pop3", .name = "timeout",
	  .type = CONFIG_DURATION, .def = "10m",
	  .minimum = 600, .maximum = DAY,
	  .offset = offsetof(struct config, pop3_timeout),
	  .help = "idle time allowed (RFC 1939 3: at least 10 minutes)" },

	{ .section = "users", .name = "passwd_file",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, passwd_file),
	  .help = "Dovecot-style user@domain:{SCHEME}hash file" },
	{ .section = "users", .name = "aliases_file",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, aliases_file),
	  .help = "address: target, target ... (bare local part: every "
	    "domain)" },

	{ .section = "delivery", .name = "relayhost",
	  .type = CONFIG_STRING, .def = "",
	  .offset = offsetof(struct config, relayhost),
	  .help = "send all outbound mail through host[:port] instead of "
	    "MX" },
	{ .section = "delivery", .name = "dns_servers",
	  .type = CONFIG_ENDPOINTS, .def = "",
	  .offset = offsetof(struct config, dns_servers),
	  .help = "DNS servers host:port (empty: /etc/resolv.conf)" },
	{ .section = "delivery", .name = "port",
	  .type = CONFIG_UINT, .def = "25",
	  .minimum = 1, .maximum = 65535,
	  .offset = offsetof(struct config, delivery_port),
	  .help = "remote SMTP port (tests only)" },
	{ .section = "delivery", .name = "retry",
	  .type = CONFIG_DURATIONS, .def = "5m, 10m, 30m, 1h, 2h, 4h",
	  .offset = offsetof(struct config, retry),
	  .help = "retry intervals; the last one repeats" },
	{ .section = "delivery", .name = "max_queue_time",
	  .type = CONFIG_DURATION, .def = "5d",
	  .minimum = 60, .maximum = 30 * DAY,
	  .offset = offsetof(struct config, max_queue_time),
	  .help = "bounce what is still undelivered after this" },
	{ .section = "delivery", .name = "relayhost_auth",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, relayhost_auth),
	  .help = "relayhost credentials, lines \"HOST USER:PASSWORD\" "
	    "(HOST as in relayhost, or *); AUTH then requires STARTTLS" },
	{ .section = "delivery", .name = "delay_warning",
	  .type = CONFIG_DURATION, .def = "4h",
	  .minimum = 0, .maximum = 30 * DAY,
	  .offset = offsetof(struct config, delay_warning),
	  .help = "tell the sender when mail is still undelivered after "
	    "this (0: never)" },
	{ .section = "delivery", .name = "max_concurrency",
	  .type = CONFIG_UINT, .def = "100",
	  .minimum = 1, .maximum = 10000,
	  .offset = offsetof(struct config, max_concurrency),
	  .help = "outbound SMTP deliveries at once" },
	{ .section = "delivery", .name = "max_per_domain",
	  .type = CONFIG_UINT, .def = "20",
	  .minimum = 1, .maximum = 1000,
	  .offset = offsetof(struct config, max_per_domain),
	  .help = "outbound deliveries at once to one destination" },
	{ .section = "delivery", .name = "srs_secret",
	  .type = CONFIG_STRING, .def = "",
	  .offset = offsetof(struct config, srs_secret),
	  .help = "SRS key: alias forwards to outside addresses get an SRS0= "
	    "envelope sender, and bounces to it are checked and returned "
	    "(empty: no SRS; e.g. openssl rand -base64 24)" },

	{ .section = "attacklog", .name = "db",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, attacklog_db),
	  .help = "SQLite file (empty: STATE_DIR/attacklog.db)" },
	{ .section = "attacklog", .name = "retention",
	  .type = CONFIG_DURATION, .def = "365d",
	  .minimum = DAY, .maximum = 3650 * DAY,
	  .offset = offsetof(struct config, retention),
	  .help = "records older than this are purged; counts stay" },
	{ .section = "attacklog", .name = "asn_db",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, attacklog_asn_db),
	  .help = "iptoasn.com ip2asn TSV naming each attacker's AS and "
	    "country (empty: off)" },

	{ .section = "store", .name = "url",
	  .type = CONFIG_STRING, .def = "",
	  .offset = offsetof(struct config, store_url),
	  .help = "shared store of several MX hosts: a postgresql:// URI "
	    "(libpq; sslmode applies); empty: SQLite at [attacklog] db" },
	{ .section = "store", .name = "node",
	  .type = CONFIG_STRING, .def = "",
	  .offset = offsetof(struct config, store_node),
	  .help = "this host's name in attack records (empty: the host "
	    "name)" },

	{ .section = "defense", .name = "ban_after",
	  .type = CONFIG_UINT, .def = "20",
	  .minimum = 0, .maximum = 100000,
	  .offset = offsetof(struct config, defense_ban_after),
	  .help = "attack records within ban_window that ban the client's "
	    "network (0: no automatic bans)" },
	{ .section = "defense", .name = "ban_window",
	  .type = CONFIG_DURATION, .def = "10m",
	  .minimum = 1, .maximum = DAY,
	  .offset = offsetof(struct config, defense_ban_window),
	  .help = "window for ban_after" },
	{ .section = "defense", .name = "ban_time",
	  .type = CONFIG_DURATION, .def = "1h",
	  .minimum = 1, .maximum = 365 * DAY,
	  .offset = offsetof(struct config, defense_ban_time),
	  .help = "how long a first ban lasts" },
	{ .section = "defense", .name = "ban_max",
	  .type = CONFIG_DURATION, .def = "7d",
	  .minimum = 1, .maximum = 3650 * DAY,
	  .offset = offsetof(struct config, defense_ban_max),
	  .help = "each repeat ban of a network doubles its time, up to "
	    "this" },
	{ .section = "defense", .name = "ban_prefix4",
	  .type = CONFIG_UINT, .def = "32",
	  .minimum = 8, .maximum = 32,
	  .offset = offsetof(struct config, defense_ban_prefix4),
	  .help = "IPv4 prefix length a ban covers" },
	{ .section = "defense", .name = "ban_prefix6",
	  .type = CONFIG_UINT, .def = "64",
	  .minimum = 16, .maximum = 128,
	  .offset = offsetof(struct config, defense_ban_prefix6),
	  .help = "IPv6 prefix length a ban covers" },
	{ .section = "defense", .name = "dnsbl",
	  .type = CONFIG_DOMAINS, .def = "",
	  .offset = offsetof(struct config, defense_dnsbl),
	  .help = "DNS blocklist zones; a listed client is refused at RCPT" },
	{ .section = "defense", .name = "allow",
	  .type = CONFIG_CIDRS, .def = "",
	  .offset = offsetof(struct config, defense_allow),
	  .help = "networks never banned (trusted_networks and grants "
	    "never are)" },

	{ .section = "publish", .name = "enabled",
	  .type = CONFIG_BOOL, .def = "yes",
	  .offset = offsetof(struct config, publish_enabled),
	  .help = "publish the attack page; no: pages say publication has "
	    "ended" },
	{ .section = "publish", .name = "dir",
	  .type = CONFIG_PATH, .def = "",
	  .offset = offsetof(struct config, publish_dir),
	  .help = "static site directory (empty: STATE_DIR/public)" },
	{ .section = "publish", .name = "languages",
	  .type = CONFIG_WORDS, .def = "ja, en",
	  .offset = offsetof(struct config, publish_languages),
	  .validate = config_keys_languages,
	  .help = "page languages; the first is index.html" },
	{ .section = "publish", .name = "recent",
	  .type = CONFIG_UINT, .def = "50",
	  .minimum = 1, .maximum = 10000,
	  .offset = offsetof(struct config, publish_recent),
	  .help = "attempts shown on the page" },
	{ .section = "publish", .name = "mask_recipients",
	  .type = CONFIG_BOOL, .def = "yes",
	  .offset = offsetof(struct config, publish_mask_recipients),
	  .help = "show recipient local parts as ******" },
	{ .section = "publish", .name = "http_listen",
	  .type = CONFIG_ENDPOINTS, .def = "",
	  .offset = offsetof(struct config, publish_http_listen),
	  .help = "built-in read-only HTTP server for the page" },
	{ .section = "publish", .name = "blocklist",
	  .type = CONFIG_BOOL, .def = "no",
	  .offset = offsetof(struct config, publish_blocklist),
	  .help = "also write blocklist.txt, blocklist.rbldnsd and "
	    "blocklist.json with the current bans" },
	{ .section = "publish", .name = "http_max_connections",
	  .type = CONFIG_UINT, .def = "256",
	  .minimum = 1, .maximum = 100000,
	  .offset = offsetof(struct config, publish_http_max_connections),
	  .help = "HTTP connections at once (more are closed at once)" },
	{ .section = "publish", .name = "http_max_connections_per_ip",
	  .type = CONFIG_UINT, .def = "16",
	  .minimum = 1, .maximum = 100000,
	  .offset = offsetof(struct config,
	      publish_http_max_connections_per_ip),
	  .help = "HTTP connections at once from one address (IPv6: one "
	    "/64)" },
	{ .section = "publish", .name = "http_header_timeout",
	  .type = CONFIG_DURATION, .def = "10s",
	  .minimum = 1, .maximum = 300,
	  .offset = offsetof(struct config, publish_http_header_timeout),
	  .help = "time for a new HTTP connection to send its whole "
	    "request" },
	{ .section = "publish", .name = "delay",
	  .type = CONFIG_DURATION, .def = "5s",
	  .minimum = 0, .maximum = 3600,
	  .offset = offsetof(struct config, publish_delay),
	  .help = "regenerate this long after new records" },
	{ .section = "publish", .name = "kinds",
	  .type = CONFIG_WORDS,
	  .def = "relay, spoofed-relay, forged-local, protocol, banned, "
	    "blocklisted",
	  .offset = offsetof(struct config, publish_kinds),
	  .validate = config_keys_kinds,
	  .help = "record kinds shown on the page (auth-fail is not by "
	    "default)" },
	{ .section = "publish", .name = "withdraw_window",
	  .type = CONFIG_DURATION, .def = "1h",
	  .minimum = 0, .maximum = 30 * DAY,
	  .offset = offsetof(struct config, publish_withdraw_window),
	  .help = "a login from a record's address this close before or "
	    "after withdraws it from the page (0: off)" },

	{ .section = "policy", .name = "listen",
	  .type = CONFIG_STRING, .def = "",
	  .offset = offsetof(struct config, policy_listen),
	  .validate = config_keys_policy_listen,
	  .help = "Postfix policy service listeners: host:port or unix:/path, "
	    "comma-separated (empty: off)" },
	{ .section = "policy", .name = "default_domains",
	  .type = CONFIG_DOMAINS, .def = "",
	  .offset = offsetof(struct config, policy_default_domains),
	  .help = "a sender in these domains makes a relay attempt "
	    "spoofed-relay (empty: [server] domains)" },
};

const size_t config_keys_count = sizeof(config_keys) / sizeof(config_keys[0]);

/*
 * Damerau-Levenshtein distance (optimal string alignment: insertions,
 * deletions, substitutions and swaps of neighbours) of two key or section
 * names; names longer than CONFIG_KEYS_NAME_MAX are "far" (SIZE_MAX).
 */
size_t
config_keys_distance(const char *a, const char *b)
{
	size_t	d[CONFIG_KEYS_NAME_MAX + 1][CONFIG_KEYS_NAME_MAX + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j, v;

	if (la > CONFIG_KEYS_NAME_MAX || lb > CONFIG_KEYS_NAME_MAX)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return (d[la][lb]);
}

/*
 * The known key nearest to name: first among the keys of section, then
 * among all keys; NULL when none is within CONFIG_KEYS_SUGGEST_MAX. The
 * first in table order wins a tie.
 */
const struct config_key *
config_keys_suggest_key(const char *section, const char *name)
{
	const struct config_key	*best = NULL;
	size_t			 i, d, bestd = CONFIG_KEYS_SUGGEST_MAX + 1;
	int			 pass;

	for (pass = 0; pass < 2 && best == NULL; pass++) {
		for (i = 0; i < config_keys_count; i++) {
			if (pass == 0 &&
			    strcmp(config_keys[i].section, section) != 0)
				continue;
			d = config_keys_distance(name, config_keys[i].name);
			if (d < bestd) {
				bestd = d;
				best = &config_keys[i];
			}
		}
	}
	return (best);
}

/* The known section nearest to name, or NULL. */
const char *
config_keys_suggest_section(const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = CONFIG_KEYS_SUGGEST_MAX + 1;

	for (i = 0; i < config_keys_count; i++) {
		d = config_keys_distance(name, config_keys[i].section);
		if (d < bestd) {
			bestd = d;
			best = config_keys[i].section;
		}
	}
	return (best);
}
