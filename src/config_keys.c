/*
 * config_keys.c: every configuration key, its type, default, bounds and
 * help text. Adding a key means adding a field to struct config and one row
 * here; nothing else walks keys by hand.
 */
#include <stddef.h>

#include "config.h"
#include "config_keys.h"

#define K(sec, key, type, def, min, max, field, help) \
	{ sec, key, type, def, min, max, offsetof(struct config, field), help }
#define DAY	86400ULL
#define NOMAX	UINT64_MAX

const struct config_key config_keys[] = {
	K("server", "hostname", CONFIG_STRING, "", 0, 0, hostname,
	    "name in the greeting and Received headers (empty: the host name)"),
	K("server", "domains", CONFIG_DOMAINS, "", 0, 0, domains,
	    "local domains: mail for them is delivered here (required)"),
	K("server", "state_dir", CONFIG_PATH, "/var/lib/pillory", 0, 0,
	    state_dir, "mail, queue, attack log and published pages live here"),
	K("server", "user", CONFIG_STRING, "pillory", 0, 0, user,
	    "started as root, bind then run as this user (empty: stay)"),
	K("server", "syslog", CONFIG_BOOL, "no", 0, 0, syslog,
	    "also log to syslog (facility mail)"),

	K("smtp", "listen", CONFIG_ENDPOINTS, "0.0.0.0:25, [::]:25", 0, 0,
	    smtp_listen, "MX listeners (RFC 5321)"),
	K("smtp", "submission", CONFIG_ENDPOINTS, "", 0, 0, smtp_submission,
	    "submission listeners, AUTH required (RFC 6409, port 587)"),
	K("smtp", "smtps", CONFIG_ENDPOINTS, "", 0, 0, smtp_smtps,
	    "implicit-TLS submission listeners (RFC 8314, port 465)"),
	K("smtp", "proxy_protocol", CONFIG_ENDPOINTS, "", 0, 0,
	    smtp_proxy_protocol,
	    "listeners that require a HAProxy PROXY v1/v2 header"),
	K("smtp", "max_message_size", CONFIG_SIZE, "25M", 1024,
	    1ULL << 31, max_message_size, "largest message accepted (552)"),
	K("smtp", "max_recipients", CONFIG_UINT, "1000", 100, 100000,
	    max_recipients, "recipients per message (452 past it; RFC 5321 "
	    "4.5.3.1.8 wants at least 100)"),
	K("smtp", "max_connections", CONFIG_UINT, "2000", 1, 1000000,
	    max_connections, "sessions at once, all listeners (421)"),
	K("smtp", "max_connections_per_ip", CONFIG_UINT, "20", 1, 1000000,
	    max_connections_per_ip,
	    "sessions at once from one address, IPv6 by /64 (421)"),
	K("smtp", "reject_forged_local_sender", CONFIG_BOOL, "yes", 0, 0,
	    reject_forged_local_sender,
	    "refuse a local sender to a local user from an unproven client"),
	K("smtp", "command_timeout", CONFIG_DURATION, "5m", 1, DAY,
	    command_timeout, "idle time allowed between commands "
	    "(RFC 5321 4.5.3.2.7)"),
	K("smtp", "data_timeout", CONFIG_DURATION, "3m", 1, DAY, data_timeout,
	    "idle time allowed inside DATA (RFC 5321 4.5.3.2.6)"),
	K("smtp", "greet_pause", CONFIG_DURATION, "0s", 0, 60, greet_pause,
	    "wait this long before the greeting; a client that talks first "
	    "is dropped"),
	K("smtp", "max_errors", CONFIG_UINT, "20", 1, 100000, max_errors,
	    "syntax or protocol errors before the session is closed (421)"),
	K("smtp", "junk_command_limit", CONFIG_UINT, "100", 1, 10000000,
	    junk_command_limit, "HELO/EHLO/NOOP/RSET/VRFY/EXPN/HELP between "
	    "messages before the session is closed (421)"),
	K("smtp", "proxy_timeout", CONFIG_DURATION, "10s", 1, 300,
	    proxy_timeout, "time allowed for the PROXY header"),
	K("smtp", "trusted_plaintext_auth", CONFIG_BOOL, "no", 0, 0,
	    trusted_plaintext_auth,
	    "offer AUTH without TLS to clients in trusted_networks"),
	K("smtp", "received_auth_user", CONFIG_BOOL, "no", 0, 0,
	    received_auth_user,
	    "name the login in the Received header of authenticated mail"),

	K("tls", "cert", CONFIG_PATH, "", 0, 0, tls_cert,
	    "PEM certificate chain"),
	K("tls", "key", CONFIG_PATH, "", 0, 0, tls_key, "PEM private key"),

	K("relay", "trusted_networks", CONFIG_CIDRS, "127.0.0.1/32, ::1/128",
	    0, 0, trusted_networks,
	    "clients in these networks may relay without AUTH"),
	K("relay", "pop_before_smtp", CONFIG_DURATION, "10m", 0, DAY,
	    pop_before_smtp, "relay grant after a POP3 login (0: off)"),
	K("relay", "pop_before_smtp_prefix6", CONFIG_UINT, "128", 32, 128,
	    pop_before_smtp_v6_prefix, "IPv6 prefix length a grant covers"),

	K("pop3", "listen", CONFIG_ENDPOINTS, "", 0, 0, pop3_listen,
	    "POP3 listeners (RFC 1939, port 110)"),
	K("pop3", "pop3s", CONFIG_ENDPOINTS, "", 0, 0, pop3_pop3s,
	    "implicit-TLS POP3 listeners (port 995)"),
	K("pop3", "allow_plaintext", CONFIG_BOOL, "no", 0, 0,
	    pop3_allow_plaintext,
	    "allow USER/PASS without TLS from anywhere (trusted_networks "
	    "always may)"),
	K("pop3", "timeout", CONFIG_DURATION, "10m", 600, DAY, pop3_timeout,
	    "idle time allowed (RFC 1939 3: at least 10 minutes)"),

	K("users", "passwd_file", CONFIG_PATH, "", 0, 0, passwd_file,
	    "Dovecot-style user@domain:{SCHEME}hash file"),
	K("users", "aliases_file", CONFIG_PATH, "", 0, 0, aliases_file,
	    "address: target, target ... (bare local part: every domain)"),

	K("delivery", "relayhost", CONFIG_STRING, "", 0, 0, relayhost,
	    "send all outbound mail through host[:port] instead of MX"),
	K("delivery", "dns_servers", CONFIG_ENDPOINTS, "", 0, 0, dns_servers,
	    "DNS servers host:port (empty: /etc/resolv.conf)"),
	K("delivery", "port", CONFIG_UINT, "25", 1, 65535, delivery_port,
	    "remote SMTP port (tests only)"),
	K("delivery", "retry", CONFIG_DURATIONS, "5m, 10m, 30m, 1h, 2h, 4h",
	    0, 0, retry, "retry intervals; the last one repeats"),
	K("delivery", "max_queue_time", CONFIG_DURATION, "5d", 60, 30 * DAY,
	    max_queue_time, "bounce what is still undelivered after this"),
	K("delivery", "relayhost_auth", CONFIG_PATH, "", 0, 0, relayhost_auth,
	    "relayhost credentials, lines \"HOST USER:PASSWORD\" (HOST as "
	    "in relayhost, or *); AUTH then requires STARTTLS"),
	K("delivery", "delay_warning", CONFIG_DURATION, "4h", 0, 30 * DAY,
	    delay_warning, "tell the sender when mail is still undelivered "
	    "after this (0: never)"),
	K("delivery", "max_concurrency", CONFIG_UINT, "100", 1, 10000,
	    max_concurrency, "outbound SMTP deliveries at once"),
	K("delivery", "max_per_domain", CONFIG_UINT, "20", 1, 1000,
	    max_per_domain, "outbound deliveries at once to one destination"),

	K("attacklog", "db", CONFIG_PATH, "", 0, 0, attacklog_db,
	    "SQLite file (empty: STATE_DIR/attacklog.db)"),
	K("attacklog", "retention", CONFIG_DURATION, "365d", DAY, 3650 * DAY,
	    retention, "records older than this are purged; counts stay"),
	K("attacklog", "asn_db", CONFIG_PATH, "", 0, 0, attacklog_asn_db,
	    "iptoasn.com ip2asn TSV naming each attacker's AS and country "
	    "(empty: off)"),

	K("store", "url", CONFIG_STRING, "", 0, 0, store_url,
	    "shared store of several MX hosts: a postgresql:// URI (libpq; "
	    "sslmode applies); empty: SQLite at [attacklog] db"),
	K("store", "node", CONFIG_STRING, "", 0, 0, store_node,
	    "this host's name in attack records (empty: the host name)"),

	K("defense", "ban_after", CONFIG_UINT, "20", 0, 100000,
	    defense_ban_after, "attack records within ban_window that ban "
	    "the client's network (0: no automatic bans)"),
	K("defense", "ban_window", CONFIG_DURATION, "10m", 1, DAY,
	    defense_ban_window, "window for ban_after"),
	K("defense", "ban_time", CONFIG_DURATION, "1h", 1, 365 * DAY,
	    defense_ban_time, "how long a first ban lasts"),
	K("defense", "ban_max", CONFIG_DURATION, "7d", 1, 3650 * DAY,
	    defense_ban_max, "each repeat ban of a network doubles its time, "
	    "up to this"),
	K("defense", "ban_prefix4", CONFIG_UINT, "32", 8, 32,
	    defense_ban_prefix4, "IPv4 prefix length a ban covers"),
	K("defense", "ban_prefix6", CONFIG_UINT, "64", 16, 128,
	    defense_ban_prefix6, "IPv6 prefix length a ban covers"),
	K("defense", "dnsbl", CONFIG_DOMAINS, "", 0, 0, defense_dnsbl,
	    "DNS blocklist zones; a listed client is refused at RCPT"),
	K("defense", "allow", CONFIG_CIDRS, "", 0, 0, defense_allow,
	    "networks never banned (trusted_networks and grants never are)"),

	K("publish", "enabled", CONFIG_BOOL, "yes", 0, 0, publish_enabled,
	    "publish the attack page; no: pages say publication has ended"),
	K("publish", "dir", CONFIG_PATH, "", 0, 0, publish_dir,
	    "static site directory (empty: STATE_DIR/public)"),
	K("publish", "languages", CONFIG_WORDS, "ja, en", 0, 0,
	    publish_languages, "page languages; the first is index.html"),
	K("publish", "recent", CONFIG_UINT, "50", 1, 10000, publish_recent,
	    "attempts shown on the page"),
	K("publish", "mask_recipients", CONFIG_BOOL, "yes", 0, 0,
	    publish_mask_recipients, "show recipient local parts as ******"),
	K("publish", "http_listen", CONFIG_ENDPOINTS, "", 0, 0,
	    publish_http_listen, "built-in read-only HTTP server for the page"),
	K("publish", "blocklist", CONFIG_BOOL, "no", 0, 0, publish_blocklist,
	    "also write blocklist.txt, blocklist.rbldnsd and blocklist.json "
	    "with the current bans"),
	K("publish", "http_max_connections", CONFIG_UINT, "256", 1, 100000,
	    publish_http_max_connections,
	    "HTTP connections at once (more are closed at once)"),
	K("publish", "http_max_connections_per_ip", CONFIG_UINT, "16", 1,
	    100000, publish_http_max_connections_per_ip,
	    "HTTP connections at once from one address (IPv6: one /64)"),
	K("publish", "http_header_timeout", CONFIG_DURATION, "10s", 1, 300,
	    publish_http_header_timeout,
	    "time for a new HTTP connection to send its whole request"),
	K("publish", "delay", CONFIG_DURATION, "5s", 0, 3600, publish_delay,
	    "regenerate this long after new records"),
	K("publish", "kinds", CONFIG_WORDS, "relay, spoofed-relay, "
	    "forged-local, protocol, banned, blocklisted", 0, 0, publish_kinds,
	    "record kinds shown on the page (auth-fail is not by default)"),
	K("publish", "withdraw_window", CONFIG_DURATION, "1h", 0, 30 * DAY,
	    publish_withdraw_window, "a login from a record's address this "
	    "close before or after withdraws it from the page (0: off)"),
};

const size_t config_keys_count = sizeof(config_keys) / sizeof(config_keys[0]);
