/*
 * asn.h: which network an address belongs to, offline: the AS number,
 * the AS name and the country of the range that holds it, from the
 * iptoasn.com "ip2asn" TSV ([attacklog] asn_db). One line a range:
 *
 *	range_start TAB range_end TAB AS_number TAB country_code TAB
 *	AS_description
 *
 * IPv4 and IPv6 ranges in the same file (ip2asn-combined.tsv) or in two.
 * AS 0 ("Not routed") rows mean "no attribution": a lookup that lands in
 * one finds nothing, and attribution is never guessed from a neighbour.
 *
 * The database is built once (start-up, SIGHUP, a CLI command) into two
 * sorted arrays of disjoint ranges (IPv4 and IPv6) and one pool of AS
 * names; a lookup is a binary search with no allocation, and the database
 * is read-only afterwards, so threads may share it.
 */
#ifndef ASN_H
#define ASN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line of the TSV, without the newline. */
#define ASN_LINE_MAX		1024
/* Longest AS description, octets. */
#define ASN_NAME_MAX		255
/* Ranges at most in one database (ip2asn-combined has about 700,000). */
#define ASN_RANGES_MAX		(16u * 1024 * 1024)

/* One parsed line. Addresses are in network byte order; an IPv4 range
 * uses start[0..3] and end[0..3]. */
struct asn_entry {
	bool		 v6;
	uint8_t		 start[16];
	uint8_t		 end[16];
	uint32_t	 asn;		/* 0: not routed */
	char		 country[3];	/* ISO 3166-1 alpha-2, "" unknown */
	char		 name[ASN_NAME_MAX + 1];
};

enum asn_line {
	ASN_LINE_OK,		/* *out is filled */
	ASN_LINE_SKIP,		/* blank line or "#" comment */
	ASN_LINE_BAD,		/* *why says what is wrong */
};

/*
 * Parse one TSV line (len octets, no newline, no NUL needed). Pure.
 * Returns ASN_LINE_OK with out filled, ASN_LINE_SKIP, or ASN_LINE_BAD with
 * a static message in *why: not five tab-separated fields, an address
 * that is not IPv4/IPv6, start and end of different families or start
 * after end, an AS number that is not a decimal in 0..4294967295, a
 * country that is not two letters ("None" and "Unknown" mean none), a
 * description with control characters or invalid UTF-8 or longer than
 * ASN_NAME_MAX, a line longer than ASN_LINE_MAX.
 */
enum asn_line asn_parse_line(const char *line, size_t len,
    struct asn_entry *out, const char **why);

/* What a lookup finds. name points into the database. */
struct asn_info {
	uint32_t	 asn;
	char		 country[3];	/* "" when the TSV did not say */
	const char	*name;		/* "" when the TSV did not say */
};

struct asn_db;

/*
 * Load path. NULL with "FILE:LINE: message" (or "FILE: message") in err on
 * a malformed or over-long line, an unreadable file or more than
 * ASN_RANGES_MAX ranges. Ranges may come in any order and may overlap:
 * where they do, the one that starts later (the more specific one for
 * nested ranges) wins; for identical ranges the later line wins.
 */
struct asn_db *asn_db_load(const char *path, char *err, size_t errlen);

/* An empty database to fill with asn_db_add() and asn_db_finish() (tests,
 * the benchmark). */
struct asn_db *asn_db_new(void);
/* Add one range; false when the database already holds ASN_RANGES_MAX. */
bool asn_db_add(struct asn_db *db, const struct asn_entry *e);
/* Sort and flatten what was added; lookups need this first. */
void asn_db_finish(struct asn_db *db);

/* Disjoint ranges after flattening (both families). */
size_t asn_db_count(const struct asn_db *db);

void asn_db_free(struct asn_db *db);

/*
 * The routed range holding an address: ip as text ("192.0.2.1",
 * "2001:db8::1", "::ffff:192.0.2.1" counts as IPv4; "[v6]" tolerated).
 * True with out filled; false when db is NULL, ip is not an address, no
 * range holds it, or its range is AS 0. No allocation.
 */
bool asn_lookup(const struct asn_db *db, const char *ip,
    struct asn_info *out);

/* The same for a binary address: 4 octets when !v6, else 16. */
bool asn_lookup_addr(const struct asn_db *db, bool v6, const uint8_t *addr,
    struct asn_info *out);

#endif
