/*
 * config.h: the immutable configuration of one daemon generation. Loaded by
 * config_load() from an INI file whose keys are all described in one table
 * (config_keys.c); a reload builds a new struct and swaps it in whole.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <sys/socket.h>
#include <stdio.h>

#include "pillory.h"
#include "addr.h"

/* INI lines longer than this are an error, never a silent cut. */
#define CONFIG_LINE_MAX		4096
#define CONFIG_LIST_MAX		256
#define CONFIG_PATH_MAX		1024

/* One "host:port" or "[v6]:port" endpoint. */
struct config_endpoint {
	char			 text[IPADDR_TEXT_MAX + 8];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

struct config_endpoints {
	struct config_endpoint	*items;
	size_t			 count;
};

/* An IPv4 or IPv6 network; IPv4 is stored as IPv4, not v4-mapped. */
struct config_cidr {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];
	int	prefix;
};

struct config_cidrs {
	struct config_cidr	*items;
	size_t			 count;
};

struct config_strings {
	char	**items;
	size_t	  count;
};

struct config_durations {
	uint64_t	*items;	/* seconds */
	size_t		 count;
};

struct config {
	char			 path[CONFIG_PATH_MAX];
	/* [server] */
	char			*hostname;
	struct domain_list	 domains;
	char			*state_dir;
	char			*user;
	bool			 syslog;
	/* [smtp] */
	struct config_endpoints	 smtp_listen;
	struct config_endpoints	 smtp_submission;
	struct config_endpoints	 smtp_smtps;
	struct config_endpoints	 smtp_proxy_protocol;
	uint64_t		 max_message_size;
	uint64_t		 max_recipients;
	uint64_t		 max_connections;
	uint64_t		 max_connections_per_ip;
	bool			 reject_forged_local_sender;
	uint64_t		 command_timeout;
	uint64_t		 data_timeout;
	uint64_t		 greet_pause;
	uint64_t		 max_errors;
	uint64_t		 proxy_timeout;
	uint64_t		 junk_command_limit;
	bool			 trusted_plaintext_auth;
	bool			 received_auth_user;
	/* [tls] */
	char			*tls_cert;
	char			*tls_key;
	/* [relay] */
	struct config_cidrs	 trusted_networks;
	uint64_t		 pop_before_smtp;
	uint64_t		 pop_before_smtp_v6_prefix;
	/* [pop3] */
	struct config_endpoints	 pop3_listen;
	struct config_endpoints	 pop3_pop3s;
	bool			 pop3_allow_plaintext;
	uint64_t		 pop3_timeout;
	/* [users] */
	char			*passwd_file;
	char			*aliases_file;
	/* [delivery] */
	char			*relayhost;
	struct config_endpoints	 dns_servers;
	uint64_t		 delivery_port;
	struct config_durations	 retry;
	uint64_t		 max_queue_time;
	char			*relayhost_auth;
	uint64_t		 delay_warning;
	char			*srs_secret;	/* empty: no SRS */
	uint64_t		 max_concurrency;
	uint64_t		 max_per_domain;
	/* [attacklog] */
	char			*attacklog_db;
	uint64_t		 retention;
	/* [store] */
	char			*store_url;
	char			*store_node;
	/* [defense] */
	uint64_t		 defense_ban_after;
	uint64_t		 defense_ban_window;
	uint64_t		 defense_ban_time;
	uint64_t		 defense_ban_max;
	uint64_t		 defense_ban_prefix4;
	uint64_t		 defense_ban_prefix6;
	struct domain_list	 defense_dnsbl;
	struct config_cidrs	 defense_allow;
	char			*attacklog_asn_db;
	/* [publish] */
	bool			 publish_enabled;
	char			*publish_dir;
	struct config_strings	 publish_languages;
	uint64_t		 publish_recent;
	bool			 publish_mask_recipients;
	struct config_endpoints	 publish_http_listen;
	uint64_t		 publish_http_max_connections;
	uint64_t		 publish_http_max_connections_per_ip;
	uint64_t		 publish_http_header_timeout;
	uint64_t		 publish_delay;
	struct config_strings	 publish_kinds;
	uint64_t		 publish_withdraw_window;
	bool			 publish_blocklist;
	/* [policy] */
	char			*policy_listen;	/* see policy_listen_parse() */
	struct domain_list	 policy_default_domains;
};

/*
 * Load path into a new config. On error returns NULL and writes
 * "FILE:LINE: message" (or "FILE: message") into err. The caller frees the
 * result with config_free().
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/* The same from an open stream (read to its end, not closed); path names
 * the config in cfg->path and in messages. */
struct config *config_load_fp(FILE *fp, const char *path, char *err,
    size_t errlen);

/* A config with every key at its default (for tools and tests). */
struct config *config_defaults(void);

void config_free(struct config *cfg);

/* Print every key with its effective value, one "[section] key = value"
 * per line, in table order; sizes and durations in the largest unit that
 * is exact (25M, 10m), as a config file writes them. */
void config_print(const struct config *cfg, FILE *fp);

/* Print the key table (section, key, default, help) for --help and docs. */
void config_print_help(FILE *fp);

/* True when sa falls inside one of the networks (v4-mapped v6 counts as
 * IPv4). */
bool config_cidrs_contain(const struct config_cidrs *cidrs,
    const struct sockaddr *sa);

/* Parse "host:port" / "[v6]:port" into ep_out; false on error. */
bool config_parse_endpoint(const char *text, struct config_endpoint *ep_out);

/* Default config path: $PILLORY_CONFIG or /etc/pillory/pillory.conf. */
const char *config_default_path(void);

#endif
