/*
 * defense.h: bans and DNS blocklists in the engine (README "Defense: bans
 * and blocklists"). Runs in the engine's event loop only. It keeps the ban
 * table in memory (loaded from the store at start, reloaded when `pillory
 * bans add/remove` says so over the control socket), counts attack records
 * per network as sessions write them, bans a network when ban_after of its
 * records fall within ban_window, and rewrites the published blocklist
 * files when the bans change.
 */
#ifndef DEFENSE_H
#define DEFENSE_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>

#include "pillory.h"

struct engine;
struct defense;
struct ban_entry;
struct dns_req;

/* The control socket's word for this module: "bans reload". */
#define DEFENSE_CONTROL_WORD	"bans"
/* How long a successful login keeps its address from being banned. */
#define DEFENSE_LOGIN_KEEP_S	86400
/* DNSBL answers are kept this long (seconds). */
#define DEFENSE_DNSBL_TTL	300
#define DEFENSE_DNSBL_CACHE_MAX	10000

/*
 * Load the bans from eng->store and start the cleanup timer. NULL with a
 * message in err when the store cannot be read (a start-up error).
 */
struct defense *defense_new(struct engine *eng, char *err, size_t errlen);
void defense_free(struct defense *d);	/* NULL is fine */

/*
 * The live ban covering sa, or NULL. Trusted and `allow` addresses are
 * never banned, whatever the table says. No store access: a hash probe
 * per prefix length in use.
 */
const struct ban_entry *defense_banned(struct defense *d,
    const struct sockaddr *sa, bool trusted);

/*
 * Count one attack record of kind from sa (called where the session hands
 * the record to the attack log). Kinds that do not count (auth-fail,
 * banned) are ignored. May ban sa's network and write the ban to the
 * store.
 */
void defense_note(struct defense *d, const struct sockaddr *sa,
    enum attack_kind kind, bool trusted);

/* Call cb(arg) after the bans in the store change (the publisher's
 * trigger: the page lists them). */
void defense_on_change(struct defense *d, void (*cb)(void *), void *arg);

/* A user logged in from sa: it is not banned for DEFENSE_LOGIN_KEEP_S. */
void defense_login(struct defense *d, const struct sockaddr *sa);

/*
 * DNSBL: look sa up in every [defense] dnsbl zone. cb(zone, arg) runs once
 * when the answers are in: zone is the first zone that lists sa, or NULL
 * (not listed, or every lookup failed: failures never refuse mail). It may
 * run before defense_dnsbl() returns (cached answers). Returns a handle for
 * defense_dnsbl_cancel() while the answer is pending, else NULL.
 */
typedef void (*defense_dnsbl_cb)(const char *zone, void *arg);
struct defense_dnsbl_req;
struct defense_dnsbl_req *defense_dnsbl(struct defense *d,
    const struct sockaddr *sa, defense_dnsbl_cb cb, void *arg);
void defense_dnsbl_cancel(struct defense_dnsbl_req *req);

/*
 * The DNS name to look sa up under zone: reversed octets (IPv4) or
 * nibbles (IPv6) then the zone. False when out is too small.
 */
bool defense_dnsbl_name(const struct sockaddr *sa, const char *zone,
    char *out, size_t outlen);

/*
 * Write blocklist.txt, blocklist.rbldnsd and blocklist.json for the n
 * bans into dir (each atomically: temp, fsync, rename, fsync of dir).
 * False with a message in err on failure.
 */
bool defense_write_blocklist(const char *dir, const struct ban_entry *e,
    size_t n, char *err, size_t errlen);

#endif
