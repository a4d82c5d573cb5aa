/*
 * attrib.c: a record's network (attrib.h). The public suffix list comes
 * from libpsl: the newest of its built-in list and the Debian
 * publicsuffix package's file, loaded once per process. Runs in the CLI
 * and in the publisher thread; the inputs (client names, AS names) are
 * attacker- or outside-controlled text, so the JSON form goes through the
 * escaping emitter.
 */
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "emit.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

static pthread_once_t	 attrib_psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t	*attrib_psl;

static void
attrib_psl_init(void)
{
	/* psl_latest() picks the newer of the built-in list and the
	 * distribution's file; without either, the built-in one. */
	if ((attrib_psl = psl_latest(NULL)) == NULL)
		attrib_psl = psl_builtin();
}

bool
attrib_org_domain(const char *name, char *out, size_t outlen)
{
	char		 low[DOMAIN_MAX + 2];
	const char	*reg;
	size_t		 len;

	if (outlen > 0)
		out[0] = '\0';
	if (name == NULL || *name == '\0' || strcmp(name, "unknown") == 0)
		return (false);
	if (!text_copy(low, name, sizeof(low)))
		return (false);
	text_lower(low);
	len = strlen(low);
	if (len > 0 && low[len - 1] == '.')
		low[len - 1] = '\0';
	/* A name needs a dot to have a registrable part; an address
	 * literal is not a name. */
	if (strchr(low, '.') == NULL || strchr(low, ':') != NULL ||
	    strspn(low, "0123456789.") == strlen(low))
		return (false);
	pthread_once(&attrib_psl_once, attrib_psl_init);
	if (attrib_psl == NULL ||
	    (reg = psl_registrable_domain(attrib_psl, low)) == NULL)
		return (false);
	if (!text_copy(out, reg, outlen)) {
		out[0] = '\0';
		return (false);
	}
	return (true);
}

bool
attrib_of(const struct asn_db *db, const char *client_ip,
    const char *client_name, struct attrib *out)
{
	struct asn_info	info;

	memset(out, 0, sizeof(*out));
	(void)attrib_org_domain(client_name, out->org_domain,
	    sizeof(out->org_domain));
	if (asn_lookup(db, client_ip, &info)) {
		out->asn = info.asn;
		(void)text_copy(out->as_name, info.name, sizeof(out->as_name));
		(void)text_copy(out->country, info.country,
		    sizeof(out->country));
	}
	return (!attrib_is_empty(out));
}

bool
attrib_is_empty(const struct attrib *a)
{
	return (a->asn == 0 && a->country[0] == '\0' &&
	    a->org_domain[0] == '\0');
}

bool
attrib_format(const struct attrib *a, char *out, size_t outlen)
{
	char	as[32];

	if (outlen == 0)
		return (false);
	out[0] = '\0';
	if (a->org_domain[0] != '\0' && !text_append(out, a->org_domain,
	    outlen))
		return (false);
	if (a->asn != 0) {
		(void)text_printf(as, sizeof(as), "AS%u", (unsigned)a->asn);
		if ((out[0] != '\0' && !text_append(out, ", ", outlen)) ||
		    !text_append(out, as, outlen))
			return (false);
		if (a->as_name[0] != '\0' && (!text_append(out, " ", outlen) ||
		    !text_append(out, a->as_name, outlen)))
			return (false);
	}
	if (a->country[0] != '\0' &&
	    ((out[0] != '\0' && !text_append(out, ", ", outlen)) ||
	    !text_append(out, a->country, outlen)))
		return (false);
	return (true);
}

void
attrib_emit_json(struct emit *e, const struct attrib *a)
{
	if (a->asn != 0) {
		emit_raw(e, ",\"asn\":");
		emit_u64(e, a->asn);
		if (a->as_name[0] != '\0') {
			emit_raw(e, ",\"as_name\":");
			emit_json(e, a->as_name);
		}
	}
	if (a->country[0] != '\0') {
		emit_raw(e, ",\"country\":");
		emit_json(e, a->country);
	}
	if (a->org_domain[0] != '\0') {
		emit_raw(e, ",\"org_domain\":");
		emit_json(e, a->org_domain);
	}
}

bool
attrib_json_append(const struct attrib *a, char *line, size_t linelen)
{
	struct emit	e;
	size_t		len = strlen(line);
	bool		ok;

	if (len == 0 || line[len - 1] != '}')
		return (false);
	emit_init(&e);
	attrib_emit_json(&e, a);
	if (e.len == 0) {
		emit_free(&e);
		return (true);
	}
	ok = len + e.len < linelen;
	if (ok) {
		memcpy(line + len - 1, e.buf, e.len);
		line[len - 1 + e.len] = '}';
		line[len + e.len] = '\0';
	}
	emit_free(&e);
	return (ok);
}

/*
 * Tallies.
 */

struct attrib_tally_as {
	uint32_t	 asn;
	const char	*name;
};

struct attrib_tally {
	struct attrib_tally_as	*as;
	size_t			 nas;
	size_t			 capas;
	uint64_t		 cc[26 * 26];
};

struct attrib_tally *
attrib_tally_new(void)
{
	struct attrib_tally	*t;

	t = xcalloc(1, sizeof(*t));
	return (t);
}

void
attrib_tally_add(struct attrib_tally *t, const struct asn_db *db,
    const char *client_ip)
{
	struct attrib_tally_as	*p;
	struct asn_info		 info;
	size_t			 ncap;

	if (!asn_lookup(db, client_ip, &info))
		return;
	if (t->nas == t->capas) {
		ncap = t->capas == 0 ? 1024 : t->capas * 2;
		p = xreallocarray(t->as, ncap, sizeof(*p));
		t->as = p;
		t->capas = ncap;
	}
	t->as[t->nas].asn = info.asn;
	t->as[t->nas].name = info.name;
	t->nas++;
	if (info.country[0] >= 'A' && info.country[0] <= 'Z' &&
	    info.country[1] >= 'A' && info.country[1] <= 'Z')
		t->cc[(info.country[0] - 'A') * 26 + (info.country[1] - 'A')]++;
}

static int
attrib_as_cmp(const void *a, const void *b)
{
	const struct attrib_tally_as	*x = a, *y = b;

	return (x->asn < y->asn ? -1 : x->asn > y->asn);
}

static int
attrib_top_cmp(const void *a, const void *b)
{
	const struct attrib_top	*x = a, *y = b;

	if (x->count != y->count)
		return (x->count > y->count ? -1 : 1);
	if (x->asn != y->asn)
		return (x->asn < y->asn ? -1 : 1);
	return (strcmp(x->country, y->country));
}

/* Keep the max largest of n candidates in out (sorted), n <= max + 1. */
static void
attrib_top_insert(struct attrib_top *out, size_t *n, size_t max,
    const struct attrib_top *c)
{
	if (max == 0)
		return;
	if (*n == max) {
		if (attrib_top_cmp(c, &out[max - 1]) >= 0)
			return;
		(*n)--;
	}
	out[(*n)++] = *c;
	qsort(out, *n, sizeof(*out), attrib_top_cmp);
}

size_t
attrib_tally_top_as(struct attrib_tally *t, struct attrib_top *out,
    size_t max)
{
	struct attrib_top	c;
	size_t			i, j, n = 0;

	if (t->nas == 0)
		return (0);
	qsort(t->as, t->nas, sizeof(*t->as), attrib_as_cmp);
	for (i = 0; i < t->nas; i = j) {
		for (j = i; j < t->nas && t->as[j].asn == t->as[i].asn; j++)
			;
		memset(&c, 0, sizeof(c));
		c.asn = t->as[i].asn;
		c.as_name = t->as[j - 1].name;
		c.count = j - i;
		attrib_top_insert(out, &n, max, &c);
	}
	return (n);
}

size_t
attrib_tally_top_country(const struct attrib_tally *t,
    struct attrib_top *out, size_t max)
{
	struct attrib_top	c;
	size_t			i, n = 0;

	for (i = 0; i < 26 * 26; i++) {
		if (t->cc[i] == 0)
			continue;
		memset(&c, 0, sizeof(c));
		c.country[0] = (char)('A' + i / 26);
		c.country[1] = (char)('A' + i % 26);
		c.as_name = "";
		c.count = t->cc[i];
		attrib_top_insert(out, &n, max, &c);
	}
	return (n);
}

void
attrib_tally_free(struct attrib_tally *t)
{
	if (t == NULL)
		return;
	free(t->as);
	free(t);
}
