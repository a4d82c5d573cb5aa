/*
 * attrib.h: the attacker's network, as the 2002 log's author wrote it by
 * hand beside the lines ("kornet.net, Korea"): the registrable domain of
 * the client's forward-confirmed name (public suffix list, libpsl), and
 * the AS number, AS name and country of its address (asn.h). Computed
 * when records are shown (log, stats, the page, reports) from the
 * record's client_ip and client_name; nothing is stored, nothing guessed.
 */
#ifndef ATTRIB_H
#define ATTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asn.h"
#include "pillory.h"

struct emit;

struct attrib {
	uint32_t	 asn;				/* 0: unknown */
	char		 as_name[ASN_NAME_MAX + 1];	/* "" unknown */
	char		 country[3];			/* "" unknown */
	char		 org_domain[DOMAIN_MAX + 1];	/* "" unknown */
};

/*
 * The registrable domain ("kornet.net" for "pc1.kornet.net",
 * "example.co.jp" for "host.example.co.jp") of a forward-confirmed name,
 * into out. False (out "") for "unknown", "", a name that is itself a
 * public suffix, or one that does not fit. Thread-safe.
 */
bool attrib_org_domain(const char *name, char *out, size_t outlen);

/*
 * The attribution of a record with client_ip and client_name (FCrDNS
 * name or "unknown"), db may be NULL (no [attacklog] asn_db). Returns true
 * when anything is known. No allocation after the first call.
 */
bool attrib_of(const struct asn_db *db, const char *client_ip,
    const char *client_name, struct attrib *out);

/* True when nothing is known. */
bool attrib_is_empty(const struct attrib *a);

/*
 * One line for people: "kornet.net, AS4766 KIXS-AS-KR Korea Telecom, KR",
 * the parts that are known, joined by ", "; "" when none. Control
 * characters cannot occur (the TSV parser and DNS refuse them). False
 * when out is too small (128 + ASN_NAME_MAX + DOMAIN_MAX suffices).
 */
#define ATTRIB_TEXT_MAX		(128 + ASN_NAME_MAX + DOMAIN_MAX)
bool attrib_format(const struct attrib *a, char *out, size_t outlen);

/* The known fields as JSON members, each preceded by a comma:
 * ,"asn":4766,"as_name":"...","country":"KR","org_domain":"kornet.net" */
void attrib_emit_json(struct emit *e, const struct attrib *a);

/*
 * Add attrib_emit_json()'s members before the closing '}' of the JSON
 * object in line (NUL-terminated, linelen bytes). False when it does not
 * end in '}' or the result would not fit (line unchanged).
 */
bool attrib_json_append(const struct attrib *a, char *line, size_t linelen);

/*
 * Counting records by network (`pillory stats`): add each record's
 * attribution, then read the top AS numbers and countries. A record with
 * no AS (or no country) is not counted in that list. The AS names point
 * into the asn_db the attributions came from, which must outlive the
 * tally.
 */
struct attrib_tally;

struct attrib_top {
	uint32_t	 asn;		/* by AS; 0 for countries */
	char		 country[3];	/* by country; "" for AS */
	const char	*as_name;	/* by AS: "" when unknown */
	uint64_t	 count;
};

struct attrib_tally *attrib_tally_new(void);
void attrib_tally_add(struct attrib_tally *t, const struct asn_db *db,
    const char *client_ip);
/* The max biggest counts, largest first (ties: lower AS number or code
 * first); returns how many were written. */
size_t attrib_tally_top_as(struct attrib_tally *t, struct attrib_top *out,
    size_t max);
size_t attrib_tally_top_country(const struct attrib_tally *t,
    struct attrib_top *out, size_t max);
void attrib_tally_free(struct attrib_tally *t);

#endif
