/*
 * attack.h: the attack vocabulary at the bottom of the tree: the record
 * every refused attempt becomes, its kinds, the incident rule, network and
 * login keys, and the line and JSON forms of a record. Pure; shared by the
 * store backends, the attack log writer, the sessions, the CLI and the
 * publisher.
 */
#ifndef ATTACK_H
#define ATTACK_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pillory.h"

#define ATTACK_REPLY_MAX	128
/* A host's name in its records ([store] node), with NUL. */
#define ATTACK_NODE_MAX		64
/* A record's unique id ("node:start:sequence"), with NUL. */
#define ATTACK_UID_MAX		96

struct attack_record {
	int64_t			 time_us;	/* microseconds since the epoch */
	enum attack_kind	 kind;
	char			 client_ip[IPADDR_TEXT_MAX];
	char			 client_name[DOMAIN_MAX + 1]; /* FCrDNS or "unknown" */
	char			 helo[HELO_MAX + 1];
	char			 from[ADDRESS_MAX + 1];
	char			 to[ADDRESS_MAX + 1];
	char			 user[ADDRESS_MAX + 1]; /* auth-fail login; never published */
	char			 session[SESSION_ID_MAX];
	char			 reply[ATTACK_REPLY_MAX];
	int			 port;		/* listener port */
	/*
	 * Kept for the admin, never published: set at record time for a
	 * trusted network or an authenticated session, and by the store when
	 * the client proves itself by a login within [publish]
	 * withdraw_window before or after the record.
	 */
	bool			 withdrawn;
	/* The MX host that recorded it ([store] node); "" in old records. */
	char			 node[ATTACK_NODE_MAX];
	/* Unique over all nodes and restarts; a shared store keeps each
	 * uid once, so a replayed record is not stored twice. */
	char			 uid[ATTACK_UID_MAX];
};

/* Name of a kind as in the interface contract ("spoofed-relay"). */
const char *attack_kind_name(enum attack_kind kind);
/* Inverse of attack_kind_name; -1 when unknown. */
int attack_kind_from_name(const char *name);

/* Bit of a kind in a kinds mask ([publish] kinds); 0 when out of range. */
#define ATTACK_KIND_BIT(k) \
	((int)(k) >= 0 && (int)(k) < 32 ? (uint32_t)1 << (int)(k) : 0)

/*
 * The mask of a kinds list ([publish] kinds: "relay", "auth-fail", ...).
 * False with the offending name in *bad_out when a name is no kind.
 */
bool attack_kinds_mask(char *const *names, size_t n, uint32_t *mask_out,
    const char **bad_out);

/*
 * The key a login proves and a record is withdrawn by: the IPv4 address
 * (a v4-mapped IPv6 address counts as IPv4), or the /64 of an IPv6 address
 * ("2001:db8:1:2::/64"). "[v6]" and a "%zone" are tolerated. False when ip
 * is not an address or out (outlen bytes; IPADDR_TEXT_MAX + 4 suffice) is
 * too small.
 */
bool attack_login_key(const char *ip, char *out, size_t outlen);

/* A burst ends after this much silence from its client address. */
#define ATTACK_INCIDENT_GAP_US	(30LL * 60 * 1000000)
/* An incident keeps at most this many distinct senders ... */
#define ATTACK_SENDERS_MAX		20
/* ... in a comma-separated list of at most this many bytes with NUL. */
#define ATTACK_SENDERS_LEN		1024
/* Longest text line / JSON object of one record, with NUL. */
#define ATTACK_LINE_MAX		8192
#define ATTACK_JSON_MAX		16384
/* What a masked recipient local part becomes. */
#define ATTACK_MASK			"******"

/* True for the kinds that claim one of our domains as the sender
 * (spoofed-relay, forged-local): the incident is "targeted". */
bool attack_kind_is_targeted(enum attack_kind kind);

/*
 * True when a record at t_us belongs to the incident that spans
 * [first_us, last_us]: it falls less than ATTACK_INCIDENT_GAP_US after
 * last_us (or inside the incident, or less than the gap before its start,
 * for records that arrive out of order). 30 minutes of silence or more
 * starts a new incident.
 */
bool attack_incident_joins(int64_t first_us, int64_t last_us,
    int64_t t_us);

/*
 * Add sender to the comma-separated list in list (listlen bytes, NUL
 * included) unless it is already there, the list holds
 * ATTACK_SENDERS_MAX senders, or it would not fit. An empty sender is
 * written "<>"; commas inside a sender become ';' so that the list stays
 * splittable. Returns true when the list changed.
 */
bool attack_senders_add(char *list, size_t listlen, const char *sender);

/*
 * The sender rec adds to its incident's list, or NULL when it has none:
 * the relay kinds always have one ("" is the null sender), the others
 * only when they reached MAIL FROM.
 */
const char *attack_sender(const struct attack_record *rec);

/* A client network in binary: the /24 of IPv4 (v4-mapped IPv6 counts as
 * IPv4) or the /48 of IPv6, host bits zero. Compare with memcmp. */
struct attack_netkey {
	uint8_t		v6;		/* 0: IPv4, addr[0..2] used */
	uint8_t		addr[16];
};

/*
 * The network of a textual address ("[v6]" and a "%zone" are tolerated).
 * False when ip is not an address.
 */
bool attack_network_key(const char *ip, struct attack_netkey *key_out);

/* "a.b.c.0/24" or "2001:db8:1::/48"; false when out is too small. */
bool attack_network_format(const struct attack_netkey *key, char *out,
    size_t outlen);

/* attack_network_key() then attack_network_format(). */
bool attack_network_of(const char *ip, char *out, size_t outlen);

/*
 * The site's log line for rec, in local time (TZ applies), no newline:
 *   "Mar  8 06:32:50  unknown [211.219.235.140] from=<a@b> to=<c@d>"
 * for relay, spoofed-relay and forged-local: strftime "%b %e %H:%M:%S",
 * two spaces, the client name, " [address] ", "from=<..> to=<..>". Other
 * kinds put the kind name where from/to would be, then the fields that
 * apply, each only when set:
 *   "... [1.2.3.4] auth-fail user=<bob> reply="535 5.7.8 ...""
 *   "... [1.2.3.4] protocol helo=<x> reply="554 5.5.2 bare LF""
 * i.e. KIND [helo=<H>] [from=<F>] [to=<T>] [user=<U>] [reply="R"].
 * With mask the recipient's local part becomes ATTACK_MASK and a login
 * user is masked whole. Control characters, DEL and backslash in fields
 * are written \xHH so a line stays one line on a terminal. Returns false
 * when out (outlen bytes; ATTACK_LINE_MAX always suffices) is too small.
 */
bool attack_format_line(const struct attack_record *rec, bool mask,
    char *out, size_t outlen);

/*
 * rec as one JSON object (no newline) with time (RFC 3339, local offset,
 * microseconds), kind, client_ip, client_name, helo, from, to, port,
 * session, reply and user, and node when the record has one; mask as for
 * attack_format_line(). Strings are escaped by attack_json_escape().
 * False when out (outlen bytes; ATTACK_JSON_MAX always suffices) is too
 * small.
 */
bool attack_format_json(const struct attack_record *rec, bool mask,
    char *out, size_t outlen);

/*
 * s as a quoted JSON string into out, by emit.c's escaper (emit.h, RFC
 * 8259 7): '"' and '\' escaped, LF, CR and TAB as \n, \r, \t, other
 * control characters, '<', '>', '&' and the apostrophe as \u00XX (safe
 * inside HTML), U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
 * False when out is too small (6 bytes per input byte plus 3 always
 * suffice).
 */
bool attack_json_escape(const char *s, char *out, size_t outlen);

/*
 * RFC 3339 time of t_us in local time with its offset
 * ("2024-03-08T06:32:50.000000+09:00"); with_us false drops the fraction.
 * False when out is too small (40 bytes suffice).
 */
bool attack_format_time(int64_t t_us, bool with_us, char *out,
    size_t outlen);

/*
 * Parse a --since argument into microseconds since the epoch: RFC 3339
 * ("2024-03-08T06:32:50Z", "...+09:00", optional fraction; without an
 * offset: local time), "YYYY-MM-DD" (local midnight), or a duration
 * "N" followed by s, m, h, d or w meaning that long before now_us.
 * Returns false on anything else.
 */
bool attack_parse_time(const char *s, int64_t now_us, int64_t *us_out);

#endif
