/*
 * ban.h: bans of client networks (README "Defense: bans and blocklists").
 * Pure: no I/O but the export writers, which format into a FILE the caller
 * owns. The engine keeps one ban table (checked for every new SMTP client)
 * and one counter (fed with every attack record it writes); the store
 * keeps the bans across restarts, the CLI edits them there.
 *
 * Input: network text comes from the operator (CLI) or from the store and
 * is parsed with bounds; addresses come from accepted sockets or PROXY
 * headers (already parsed).
 */
#ifndef BAN_H
#define BAN_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" and its NUL. */
#define BAN_NET_TEXT_MAX	48
/* Repeat level past which doubling stops mattering (2^40 s > ban_max). */
#define BAN_LEVEL_MAX		40

/* A network: family 4 or 6, prefix length, address with host bits zero.
 * IPv4-mapped IPv6 addresses are IPv4. Compare with ban_net_equal(). */
struct ban_net {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		prefix;		/* 0..32 or 0..128 */
	uint8_t		addr[16];	/* IPv4 in addr[0..3] */
};

struct ban_entry {
	struct ban_net	net;
	int64_t		start_us;
	int64_t		expires_us;	/* banned while now < expires_us */
	uint32_t	level;		/* 1: first ban, 2: first repeat ... */
	bool		manual;		/* added by the operator */
};

/*
 * Parse "1.2.3.4", "1.2.3.0/24", "2001:db8::/64" or "2001:db8::1" (a bare
 * address is a /32 or /128) into out. Host bits set below the prefix are
 * an error, as are a prefix past the family's width, spaces, a zone, and
 * text longer than BAN_NET_TEXT_MAX - 1. Returns false with a reason in
 * *why_out (a static string) on any error.
 */
bool ban_net_parse(const char *text, struct ban_net *out, const char **why_out);

/* "1.2.3.4/32" or "2001:db8::/64" (always with the prefix); false when
 * outlen is too small (BAN_NET_TEXT_MAX always suffices). */
bool ban_net_format(const struct ban_net *net, char *out, size_t outlen);

/* The network of sa (AF_INET or AF_INET6) masked to prefix4 / prefix6. */
void ban_net_of_sockaddr(const struct sockaddr *sa, unsigned prefix4,
    unsigned prefix6, struct ban_net *out);

bool ban_net_equal(const struct ban_net *a, const struct ban_net *b);

/* True when sa lies inside net. */
bool ban_net_contains(const struct ban_net *net, const struct sockaddr *sa);

/*
 * Length of ban number level (1 = first) of a network: base_s doubled
 * (level - 1) times, never more than max_s (nor less than base_s when
 * base_s > max_s: then max_s wins). Seconds.
 */
uint64_t ban_duration(uint64_t base_s, uint64_t max_s, uint32_t level);

/*
 * Parse "90", "90s", "30m", "2h", "7d" or "1w" (at most 10 years) into
 * seconds; false on anything else, zero included.
 */
bool ban_parse_duration(const char *s, uint64_t *out);

/*
 * The ban table: bans keyed by network, looked up by client address with
 * one hash probe per prefix length in use (a handful: the configured
 * ban_prefix4/6 plus any length the operator added), so a check costs
 * O(number of prefix lengths), never O(bans).
 */
struct ban_table;

struct ban_table *ban_table_new(void);
void ban_table_free(struct ban_table *t);	/* NULL is fine */
/* Insert e, or replace the entry for the same network. */
void ban_table_put(struct ban_table *t, const struct ban_entry *e);
/* Remove the entry for net; false when there was none. */
bool ban_table_remove(struct ban_table *t, const struct ban_net *net);
/* Remove every entry. */
void ban_table_clear(struct ban_table *t);
/* The entry for exactly net (live or not), or NULL. Valid until the next
 * change to t. */
const struct ban_entry *ban_table_get(const struct ban_table *t,
    const struct ban_net *net);
/*
 * The live ban (expires_us > now_us) covering sa, the longest prefix
 * first; NULL when none. Valid until the next change to t.
 */
const struct ban_entry *ban_table_find(const struct ban_table *t,
    const struct sockaddr *sa, int64_t now_us);
/* Remove entries with expires_us <= now_us; returns how many went. */
size_t ban_table_expire(struct ban_table *t, int64_t now_us);
/* Number of entries (live or not yet expired by ban_table_expire()). */
size_t ban_table_count(const struct ban_table *t);
/*
 * The live entries at now_us, copied into a new array sorted by family,
 * address and prefix; *n_out gets their number. The caller frees it.
 */
struct ban_entry *ban_table_list(const struct ban_table *t, int64_t now_us,
    size_t *n_out);

/*
 * Attack counts per network: ban_counter_hit() remembers the time of each
 * record of a network and says when `after` of them fall within `window_us`
 * (a sliding window, exact: each network keeps its last `after` times in a
 * ring). Networks quiet for a whole window are dropped by
 * ban_counter_expire().
 */
struct ban_counter;

/* after >= 1; window_us >= 1. */
struct ban_counter *ban_counter_new(uint32_t after, int64_t window_us);
void ban_counter_free(struct ban_counter *c);	/* NULL is fine */
/*
 * Count one record of net at now_us; true when it is the after-th within
 * the window (the network's count then starts again from zero).
 */
bool ban_counter_hit(struct ban_counter *c, const struct ban_net *net,
    int64_t now_us);
/* Forget networks whose newest record is older than the window. */
size_t ban_counter_expire(struct ban_counter *c, int64_t now_us);
size_t ban_counter_count(const struct ban_counter *c);

enum ban_export_format {
	BAN_EXPORT_PLAIN,	/* one CIDR a line */
	BAN_EXPORT_RBLDNSD,	/* rbldnsd "combined": ip4set + ip6trie */
	BAN_EXPORT_NFT,		/* nftables table inet pillory */
	BAN_EXPORT_JSON,	/* {"bans": [{network, start, expires}]} */
};

/* "plain", "rbldnsd", "nft", "json" -> format; false when unknown. */
bool ban_export_format_parse(const char *name, enum ban_export_format *out);

/*
 * Write the n entries (sorted as ban_table_list() leaves them) in fmt to
 * fp. Returns false when a write fails.
 */
bool ban_export(enum ban_export_format fmt, const struct ban_entry *e,
    size_t n, FILE *fp);

#endif
