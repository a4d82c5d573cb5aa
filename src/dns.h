/*
 * dns.h: asynchronous DNS for the engine's libevent loop (c-ares 1.18).
 * Forward-confirmed reverse DNS of SMTP/POP3 clients, and the MX and
 * address look-ups of outbound delivery. Nothing here ever blocks.
 *
 * Every look-up takes a callback and returns a request handle. A handle is
 * valid until its callback has been called or it has been given to
 * dns_cancel(), whichever comes first. When the answer is known at once (a
 * cache hit, an unusable argument, a query c-ares refuses to send) the
 * callback is called before the look-up function returns, and it returns
 * NULL. A callback may free whatever owns its arg, start new look-ups,
 * cancel other requests and call dns_free().
 */
#ifndef DNS_H
#define DNS_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>

#include "pillory.h"

struct event_base;
struct dns;
struct dns_req;

/* Default wait for one answer, per try; each server is tried twice. */
#define DNS_TIMEOUT_MS_DEFAULT	2000
/* FCrDNS: PTR names whose addresses are looked up. */
#define DNS_PTR_NAMES_MAX	4
/* FCrDNS cache: entries kept, and how long answers stay. */
#define DNS_CACHE_MAX		10000
#define DNS_TTL_MAX		3600	/* positive: min(record TTLs, this) */
#define DNS_NEGATIVE_TTL	300	/* no PTR, no match, invalid name */
#define DNS_TEMPFAIL_TTL	60	/* SERVFAIL, timeout, refused */
/* The most MX records and addresses handed to a callback. */
#define DNS_MX_MAX		16
#define DNS_ADDRS_MAX		16	/* at most half of them per family */

/* Outcome of an MX or address look-up. */
enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN,		/* the name does not exist (RFC 1035 RCODE 3) */
	DNS_NODATA,		/* it exists but has no record of the type */
	DNS_TEMPFAIL,		/* SERVFAIL, timeout, refused, bad answer */
};

/*
 * Start a resolver on base. servers is NULL or "" for the servers of
 * /etc/resolv.conf, or a list "host:port,..." of IP literals ("1.2.3.4:53",
 * "[::1]:5353"; the port may be left out). timeout_ms is the wait per try,
 * 0 for DNS_TIMEOUT_MS_DEFAULT, at most 60000. /etc/resolv.conf is read
 * here, once (so before any chroot). Returns NULL with a message in err
 * when c-ares cannot start or servers does not parse. Free with dns_free().
 */
struct dns *dns_new(struct event_base *base, const char *servers,
    unsigned timeout_ms, char *err, size_t errlen);

/*
 * Stop the resolver and free it with its cache. Pending callbacks are never
 * called, and every request handle becomes invalid: do not pass them to
 * dns_cancel() afterwards. Called from inside a dns callback, the memory
 * is released once that callback has returned. dns must not be used
 * again. NULL is ignored.
 */
void dns_free(struct dns *dns);

/* The confirmed host name, lower-case, or "unknown"; valid during the call. */
typedef void (*dns_name_cb)(const char *name, void *arg);

/*
 * Forward-confirmed reverse DNS of sa (AF_INET or AF_INET6; a v4-mapped
 * IPv6 address counts as IPv4; the port is ignored): look up the PTR names
 * of the address, then the A (IPv4) or AAAA (IPv6) records of the first
 * DNS_PTR_NAMES_MAX of them that are valid host names (letters, digits,
 * hyphens and dots, at most 253 octets), all at once. The answer is the
 * name whose address records, first among those that do, contain sa's
 * address; otherwise, and on NXDOMAIN, SERVFAIL or timeout, "unknown".
 * Answers are cached (see DNS_*_TTL; a positive one for the smallest TTL
 * of the PTR and address records used). Any other address family is
 * "unknown" at once, not cached. Returns a handle, or NULL after cb.
 */
struct dns_req *dns_fcrdns(struct dns *dns, const struct sockaddr *sa,
    dns_name_cb cb, void *arg);

/* One MX record; host is empty for a null MX ("." in RFC 7505). */
struct dns_mx {
	char		host[DOMAIN_MAX + 1];
	unsigned	pref;
};

/*
 * MX answer: status DNS_OK with n >= 1 records sorted by preference,
 * equal preferences in random order (RFC 5321 5.1); otherwise n is 0.
 * DNS_NODATA means the domain has no MX and the caller falls back to its
 * A/AAAA records (RFC 5321 5.1). mx is valid during the call only.
 */
typedef void (*dns_mx_cb)(enum dns_status status, const struct dns_mx *mx,
    size_t n, void *arg);

/* Look up the MX records of domain. Returns a handle, or NULL after cb. */
struct dns_req *dns_mx(struct dns *dns, const char *domain, dns_mx_cb cb,
    void *arg);

/*
 * Address answer: status DNS_OK with n >= 1 addresses (port 0), IPv4 first,
 * then IPv6; otherwise n is 0. DNS_NXDOMAIN only when both look-ups said
 * so; DNS_TEMPFAIL when either failed and no address was found. addrs is
 * valid during the call only.
 */
typedef void (*dns_addrs_cb)(enum dns_status status,
    const struct sockaddr_storage *addrs, size_t n, void *arg);

/*
 * Look up the A and AAAA records of host (both at once). Returns a handle,
 * or NULL after cb.
 */
struct dns_req *dns_addrs(struct dns *dns, const char *host, dns_addrs_cb cb,
    void *arg);

/*
 * The caller no longer wants the answer (its session closed): the callback
 * of req will never be called. Safe from inside any dns callback. req must
 * be a handle whose callback has not been called yet; NULL is ignored.
 */
void dns_cancel(struct dns_req *req);

#endif
