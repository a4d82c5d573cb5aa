/*
 * asn.c: the ip2asn TSV parser and the address -> AS lookup (asn.h).
 *
 * Runs in the CLI (log, stats, report, check) and in the engine's
 * publisher; the database is built on the event loop at start-up and on
 * SIGHUP and is read-only afterwards. The TSV is configuration chosen by
 * the admin, but it is downloaded from outside: every line is checked
 * (bounded, five fields, real addresses, UTF-8 names) and a bad one is a
 * FILE:LINE error, never a silent skip. The line parser is pure and has
 * its own fuzz target (tests/fuzz/fuzz_asn.c).
 *
 * Building: every range is kept as two 128-bit integers (IPv4 in the low
 * 32 bits), then each family is sorted by start (wider first on equal
 * starts) and flattened with a stack into disjoint pieces where the range
 * that starts later wins: for nested ranges that is the most specific one.
 * IPv4 starts are a plain uint32_t array (4 MB per million ranges), so a
 * lookup's binary search touches little memory; ends and values are in
 * arrays beside it and read once per lookup.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asn.h"
#include "emit.h"
#include "line_table.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

typedef unsigned __int128 asn_u128;

#define ASN_U128_MAX	(~(asn_u128)0)

/* One range as added, before flattening. */
struct asn_raw {
	asn_u128	 start;
	asn_u128	 end;
	uint32_t	 asn;
	uint32_t	 name;		/* offset into names */
	uint32_t	 seq;		/* order of addition */
	char		 cc[2];
	bool		 v6;
};

/* What a piece of address space maps to. */
struct asn_val {
	uint32_t	 asn;
	uint32_t	 name;
	char		 cc[2];
};

struct asn_db {
	/* While building: */
	struct asn_raw	*raw;
	size_t		 nraw;
	size_t		 capraw;
	uint32_t	*hash_asn;	/* asn + 1; 0: empty slot */
	uint32_t	*hash_name;
	size_t		 hashcap;
	size_t		 hashn;
	/* AS names, NUL-terminated, offset 0 is "". */
	char		*names;
	size_t		 nnames;
	size_t		 capnames;
	/* After asn_db_finish(): */
	uint32_t	*v4_start;
	uint32_t	*v4_end;
	struct asn_val	*v4_val;
	size_t		 n4;
	asn_u128	*v6_start;
	asn_u128	*v6_end;
	struct asn_val	*v6_val;
	size_t		 n6;
	size_t		 cap4;
	size_t		 cap6;
};

/*
 * The line parser.
 */

/* Copy a field to a NUL-terminated buffer and parse it as an address. */
static bool
asn_parse_addr(const char *p, size_t len, bool *v6_out, uint8_t *addr_out)
{
	char	buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return (false);
	memcpy(buf, p, len);
	buf[len] = '\0';
	memset(addr_out, 0, 16);
	if (inet_pton(AF_INET, buf, addr_out) == 1) {
		*v6_out = false;
		return (true);
	}
	if (inet_pton(AF_INET6, buf, addr_out) == 1) {
		*v6_out = true;
		return (true);
	}
	return (false);
}

enum asn_line
asn_parse_line(const char *line, size_t len, struct asn_entry *out,
    const char **why)
{
	const char	*f[5];
	size_t		 flen[5];
	const char	*p, *end, *tab;
	uint64_t	 n;
	uint32_t	 cp;
	size_t		 i, k, step;
	bool		 v6e;
	uint8_t		 e[16];

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (len > ASN_LINE_MAX) {
		*why = "line longer than 1024 octets";
		return (ASN_LINE_BAD);
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len || line[i] == '#')
		return (ASN_LINE_SKIP);

	/* Four tabs; the description is the rest. */
	p = line;
	end = line + len;
	for (k = 0; k < 4; k++) {
		if ((tab = memchr(p, '\t', (size_t)(end - p))) == NULL) {
			*why = "expected five tab-separated fields: "
			    "range_start range_end AS_number country_code "
			    "AS_description";
			return (ASN_LINE_BAD);
		}
		f[k] = p;
		flen[k] = (size_t)(tab - p);
		p = tab + 1;
	}
	f[4] = p;
	flen[4] = (size_t)(end - p);

	if (!asn_parse_addr(f[0], flen[0], &out->v6, out->start)) {
		*why = "range_start is not an IPv4 or IPv6 address";
		return (ASN_LINE_BAD);
	}
	if (!asn_parse_addr(f[1], flen[1], &v6e, e)) {
		*why = "range_end is not an IPv4 or IPv6 address";
		return (ASN_LINE_BAD);
	}
	if (v6e != out->v6) {
		*why = "range_start and range_end are of different families";
		return (ASN_LINE_BAD);
	}
	memcpy(out->end, e, 16);
	if (memcmp(out->start, out->end, out->v6 ? 16 : 4) > 0) {
		*why = "range_start is after range_end";
		return (ASN_LINE_BAD);
	}

	n = 0;
	if (flen[2] == 0 || flen[2] > 10)
		goto bad_asn;
	for (i = 0; i < flen[2]; i++) {
		if (f[2][i] < '0' || f[2][i] > '9')
			goto bad_asn;
		n = n * 10 + (uint64_t)(f[2][i] - '0');
	}
	if (n > UINT32_MAX)
		goto bad_asn;
	out->asn = (uint32_t)n;

	if (flen[3] == 2 &&
	    ((f[3][0] >= 'A' && f[3][0] <= 'Z') ||
	    (f[3][0] >= 'a' && f[3][0] <= 'z')) &&
	    ((f[3][1] >= 'A' && f[3][1] <= 'Z') ||
	    (f[3][1] >= 'a' && f[3][1] <= 'z'))) {
		out->country[0] = (char)(f[3][0] & ~0x20);
		out->country[1] = (char)(f[3][1] & ~0x20);
	} else if (!(flen[3] == 0 || text_span_ieq(f[3], flen[3], "None") ||
	    text_span_ieq(f[3], flen[3], "Unknown"))) {
		*why = "country_code is not two letters (or None, Unknown)";
		return (ASN_LINE_BAD);
	}

	if (flen[4] > ASN_NAME_MAX) {
		*why = "AS_description longer than 255 octets";
		return (ASN_LINE_BAD);
	}
	for (i = 0; i < flen[4]; i += step) {
		if ((unsigned char)f[4][i] < 0x20 || f[4][i] == 0x7f) {
			*why = "AS_description contains a control character "
			    "(or a sixth field)";
			return (ASN_LINE_BAD);
		}
		step = 1;
		if ((unsigned char)f[4][i] >= 0x80 &&
		    (step = emit_utf8_decode((const unsigned char *)f[4] + i,
		    flen[4] - i, &cp)) == 0) {
			*why = "AS_description is not valid UTF-8";
			return (ASN_LINE_BAD);
		}
	}
	memcpy(out->name, f[4], flen[4]);
	out->name[flen[4]] = '\0';
	return (ASN_LINE_OK);
bad_asn:
	*why = "AS_number is not a decimal number in 0..4294967295";
	return (ASN_LINE_BAD);
}

/*
 * Building.
 */

struct asn_db *
asn_db_new(void)
{
	struct asn_db	*db;

	db = xcalloc(1, sizeof(*db));
	db->capnames = 4096;
	db->names = xmalloc(db->capnames);
	db->names[0] = '\0';
	db->nnames = 1;
	return (db);
}

static uint32_t
asn_name_append(struct asn_db *db, const char *name)
{
	size_t	 len = strlen(name) + 1, off;
	char	*p;

	while (db->nnames + len > db->capnames) {
		p = xreallocarray(db->names, db->capnames * 2, 1);
		db->names = p;
		db->capnames *= 2;
	}
	off = db->nnames;
	memcpy(db->names + off, name, len);
	db->nnames += len;
	if (db->nnames > UINT32_MAX)
		FATAL("AS name pool over 4 GB");
	return ((uint32_t)off);
}

static void
asn_hash_grow(struct asn_db *db)
{
	uint32_t	*ka, *kn;
	size_t		 ncap = db->hashcap == 0 ? 1024 : db->hashcap * 2;
	size_t		 i, h;

	ka = xcalloc(ncap, sizeof(*ka));
	kn = xcalloc(ncap, sizeof(*kn));
	for (i = 0; i < db->hashcap; i++) {
		if (db->hash_asn[i] == 0)
			continue;
		for (h = (db->hash_asn[i] * 2654435761u) & (ncap - 1);
		    ka[h] != 0; h = (h + 1) & (ncap - 1))
			;
		ka[h] = db->hash_asn[i];
		kn[h] = db->hash_name[i];
	}
	free(db->hash_asn);
	free(db->hash_name);
	db->hash_asn = ka;
	db->hash_name = kn;
	db->hashcap = ncap;
}

/* The offset of name in the pool: each AS's name is stored once (ip2asn
 * repeats it on every range of the AS). */
static uint32_t
asn_name_of(struct asn_db *db, uint32_t asn, const char *name)
{
	uint32_t	key = asn + 1;
	size_t		h;

	if (*name == '\0')
		return (0);
	if (key == 0)		/* AS 4294967295: not worth a slot */
		return (asn_name_append(db, name));
	if ((db->hashn + 1) * 2 > db->hashcap)
		asn_hash_grow(db);
	for (h = (key * 2654435761u) & (db->hashcap - 1);
	    db->hash_asn[h] != 0; h = (h + 1) & (db->hashcap - 1)) {
		if (db->hash_asn[h] != key)
			continue;
		if (strcmp(db->names + db->hash_name[h], name) != 0)
			db->hash_name[h] = asn_name_append(db, name);
		return (db->hash_name[h]);
	}
	db->hash_asn[h] = key;
	db->hash_name[h] = asn_name_append(db, name);
	db->hashn++;
	return (db->hash_name[h]);
}

static asn_u128
asn_u128_of(bool v6, const uint8_t *a)
{
	asn_u128	v = 0;
	size_t		i;

	for (i = 0; i < (v6 ? 16u : 4u); i++)
		v = (v << 8) | a[i];
	return (v);
}

bool
asn_db_add(struct asn_db *db, const struct asn_entry *e)
{
	struct asn_raw	*r;
	size_t		 ncap;

	if (db->nraw >= ASN_RANGES_MAX)
		return (false);
	if (db->nraw == db->capraw) {
		ncap = db->capraw == 0 ? 1024 : db->capraw * 2;
		r = xreallocarray(db->raw, ncap, sizeof(*r));
		db->raw = r;
		db->capraw = ncap;
	}
	r = &db->raw[db->nraw];
	memset(r, 0, sizeof(*r));
	r->v6 = e->v6;
	r->start = asn_u128_of(e->v6, e->start);
	r->end = asn_u128_of(e->v6, e->end);
	r->asn = e->asn;
	r->cc[0] = e->country[0];
	r->cc[1] = e->country[0] != '\0' ? e->country[1] : '\0';
	r->name = asn_name_of(db, e->asn, e->name);
	r->seq = (uint32_t)db->nraw;
	db->nraw++;
	return (true);
}

/* Family, then start ascending, then end descending (wider first), then
 * order of addition: the stack walk lets the later one win. */
static int
asn_raw_cmp(const void *a, const void *b)
{
	const struct asn_raw	*x = a, *y = b;

	if (x->v6 != y->v6)
		return (x->v6 ? 1 : -1);
	if (x->start != y->start)
		return (x->start < y->start ? -1 : 1);
	if (x->end != y->end)
		return (x->end > y->end ? -1 : 1);
	return (x->seq < y->seq ? -1 : (x->seq > y->seq));
}

/* Append the piece [start, end] -> r to its family's table, merged with
 * the previous piece when they touch and say the same. */
static void
asn_emit(struct asn_db *db, bool v6, asn_u128 start, asn_u128 end,
    const struct asn_raw *r)
{
	struct asn_val	 v, *pv;
	size_t		 n = v6 ? db->n6 : db->n4;

	v.asn = r->asn;
	v.name = r->name;
	v.cc[0] = r->cc[0];
	v.cc[1] = r->cc[1];
	if (n > 0) {
		pv = v6 ? &db->v6_val[n - 1] : &db->v4_val[n - 1];
		if (pv->asn == v.asn && pv->name == v.name &&
		    pv->cc[0] == v.cc[0] && pv->cc[1] == v.cc[1] &&
		    (v6 ? db->v6_end[n - 1] : (asn_u128)db->v4_end[n - 1]) +
		    1 == start) {
			if (v6)
				db->v6_end[n - 1] = end;
			else
				db->v4_end[n - 1] = (uint32_t)end;
			return;
		}
	}
	/* Pieces never outnumber twice the ranges; capacity was set so. */
	if (v6) {
		if (n == db->cap6)
			FATAL("asn: piece table overflow");
		db->v6_start[n] = start;
		db->v6_end[n] = end;
		db->v6_val[n] = v;
		db->n6++;
	} else {
		if (n == db->cap4)
			FATAL("asn: piece table overflow");
		db->v4_start[n] = (uint32_t)start;
		db->v4_end[n] = (uint32_t)end;
		db->v4_val[n] = v;
		db->n4++;
	}
}

/*
 * Flatten the sorted ranges raw[0..n) of one family. The stack holds the
 * ranges open at cur, the latest-starting on top; before a range starts,
 * what lies between cur and its start goes to the ranges on the stack.
 */
static void
asn_flatten(struct asn_db *db, const struct asn_raw *raw, size_t n,
    bool v6)
{
	const struct asn_raw	**stack, *t;
	size_t			  sp = 0, i;
	asn_u128		  cur = 0, e;

	if (n == 0)
		return;
	stack = xcalloc(n, sizeof(*stack));
	for (i = 0; i < n; i++) {
		while (sp > 0 && cur < raw[i].start) {
			t = stack[sp - 1];
			if (t->end < cur) {
				sp--;
				continue;
			}
			e = t->end < raw[i].start ? t->end : raw[i].start - 1;
			asn_emit(db, v6, cur, e, t);
			cur = e + 1;
		}
		stack[sp++] = &raw[i];
		cur = raw[i].start;
	}
	while (sp > 0) {
		t = stack[--sp];
		if (t->end < cur)
			continue;
		asn_emit(db, v6, cur, t->end, t);
		if (t->end == ASN_U128_MAX)
			break;
		cur = t->end + 1;
	}
	free(stack);
}

/* Give back what the 2n + 1 worst case did not use. */
static void
asn_shrink(void **p, size_t n, size_t size)
{
	void	*q;

	if (n > 0 && (q = reallocarray(*p, n, size)) != NULL)
		*p = q;
}

void
asn_db_finish(struct asn_db *db)
{
	size_t	n4 = 0;

	if (db->nraw > 0)
		qsort(db->raw, db->nraw, sizeof(*db->raw), asn_raw_cmp);
	while (n4 < db->nraw && !db->raw[n4].v6)
		n4++;
	free(db->v4_start);
	free(db->v4_end);
	free(db->v4_val);
	free(db->v6_start);
	free(db->v6_end);
	free(db->v6_val);
	/* A range splits another in at most two: 2n + 1 pieces. */
	db->cap4 = 2 * n4 + 1;
	db->cap6 = 2 * (db->nraw - n4) + 1;
	db->n4 = db->n6 = 0;
	db->v4_start = xcalloc(db->cap4, sizeof(*db->v4_start));
	db->v4_end = xcalloc(db->cap4, sizeof(*db->v4_end));
	db->v4_val = xcalloc(db->cap4, sizeof(*db->v4_val));
	db->v6_start = xcalloc(db->cap6, sizeof(*db->v6_start));
	db->v6_end = xcalloc(db->cap6, sizeof(*db->v6_end));
	db->v6_val = xcalloc(db->cap6, sizeof(*db->v6_val));
	asn_flatten(db, db->raw, n4, false);
	asn_flatten(db, db->raw + n4, db->nraw - n4, true);
	asn_shrink((void **)&db->v4_start, db->n4, sizeof(*db->v4_start));
	asn_shrink((void **)&db->v4_end, db->n4, sizeof(*db->v4_end));
	asn_shrink((void **)&db->v4_val, db->n4, sizeof(*db->v4_val));
	asn_shrink((void **)&db->v6_start, db->n6, sizeof(*db->v6_start));
	asn_shrink((void **)&db->v6_end, db->n6, sizeof(*db->v6_end));
	asn_shrink((void **)&db->v6_val, db->n6, sizeof(*db->v6_val));
	db->cap4 = db->n4;
	db->cap6 = db->n6;
	/* The ranges are no longer needed: only the pieces are searched. */
	free(db->raw);
	db->raw = NULL;
	db->nraw = db->capraw = 0;
	free(db->hash_asn);
	free(db->hash_name);
	db->hash_asn = db->hash_name = NULL;
	db->hashcap = db->hashn = 0;
}

size_t
asn_db_count(const struct asn_db *db)
{
	return (db == NULL ? 0 : db->n4 + db->n6);
}

void
asn_db_free(struct asn_db *db)
{
	if (db == NULL)
		return;
	free(db->raw);
	free(db->hash_asn);
	free(db->hash_name);
	free(db->names);
	free(db->v4_start);
	free(db->v4_end);
	free(db->v4_val);
	free(db->v6_start);
	free(db->v6_end);
	free(db->v6_val);
	free(db);
}

/* The refusal past ASN_RANGES_MAX, as static text (line_table.h). */
#define ASN_TOO_MANY	"more than 16777216 ranges"
_Static_assert(ASN_RANGES_MAX == 16777216u, "ASN_TOO_MANY names the limit");

/* One line of the file (line_table.h): parse and add. */
static int
asn_load_line(void *arg, const char *line, size_t len, size_t lineno,
    const char **why)
{
	struct asn_db		*db = arg;
	struct asn_entry	 e;

	(void)lineno;
	switch (asn_parse_line(line, len, &e, why)) {
	case ASN_LINE_SKIP:
		return (1);
	case ASN_LINE_BAD:
		return (-1);
	case ASN_LINE_OK:
		break;
	}
	if (!asn_db_add(db, &e)) {
		*why = ASN_TOO_MANY;
		return (-1);
	}
	return (0);
}

struct asn_db *
asn_db_load(const char *path, char *err, size_t errlen)
{
	struct asn_db		*db;
	struct line_table	 lt = { .path = path, .max = ASN_LINE_MAX,
				    .line = asn_load_line };
	FILE			*fp;
	int			 rc;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	db = asn_db_new();
	lt.arg = db;
	rc = line_table_read(&lt, fp, err, errlen);
	fclose(fp);
	if (rc == -1) {
		asn_db_free(db);
		return (NULL);
	}
	asn_db_finish(db);
	return (db);
}

/*
 * Lookups.
 */

static bool
asn_found(const struct asn_db *db, const struct asn_val *v,
    struct asn_info *out)
{
	if (v->asn == 0)
		return (false);
	out->asn = v->asn;
	out->country[0] = v->cc[0];
	out->country[1] = v->cc[1];
	out->country[2] = '\0';
	out->name = db->names + v->name;
	return (true);
}

bool
asn_lookup_addr(const struct asn_db *db, bool v6, const uint8_t *addr,
    struct asn_info *out)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	asn_u128		 a;
	uint32_t		 a4;
	size_t			 lo, hi, mid;

	memset(out, 0, sizeof(*out));
	out->name = "";
	if (db == NULL)
		return (false);
	if (v6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		v6 = false;
		addr += 12;
	}
	if (!v6) {
		a4 = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
		    (uint32_t)addr[2] << 8 | addr[3];
		/* The first piece starting after a4; the one before it. */
		lo = 0;
		hi = db->n4;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (db->v4_start[mid] <= a4)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0 || db->v4_end[lo - 1] < a4)
			return (false);
		return (asn_found(db, &db->v4_val[lo - 1], out));
	}
	a = asn_u128_of(true, addr);
	lo = 0;
	hi = db->n6;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (db->v6_start[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || db->v6_end[lo - 1] < a)
		return (false);
	return (asn_found(db, &db->v6_val[lo - 1], out));
}

bool
asn_lookup(const struct asn_db *db, const char *ip, struct asn_info *out)
{
	char	 buf[INET6_ADDRSTRLEN + 1];
	uint8_t	 addr[16];
	size_t	 len;
	char	*pct;

	memset(out, 0, sizeof(*out));
	out->name = "";
	if (db == NULL || ip == NULL)
		return (false);
	if (*ip == '[')
		ip++;
	len = strcspn(ip, "]");
	if (!text_copy_span(buf, sizeof(buf), ip, len))
		return (false);
	if ((pct = strchr(buf, '%')) != NULL)
		*pct = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		return (asn_lookup_addr(db, false, addr, out));
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return (asn_lookup_addr(db, true, addr, out));
	return (false);
}
