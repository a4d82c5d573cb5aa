/*
 * ban.c: networks, the ban table, the per-network attack counter and the
 * blocklist export formats (ban.h). Pure and single-threaded: the engine
 * uses it from its event loop, the CLI from its one thread. Network text
 * is parsed with bounds; nothing here trusts its length.
 *
 * The table is an open-addressing hash keyed by (family, prefix, masked
 * address). A lookup masks the client address once per prefix length in
 * use (counted per family in by_prefix[]) and probes the hash, longest
 * prefix first: O(prefix lengths in use), independent of the number of
 * bans. Deletion uses backward shift, so there are no tombstones.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "ban.h"
#include "clock.h"
#include "log.h"
#include "text.h"

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size)) == NULL)
		FATAL("out of memory");
	return p;
}

static unsigned
family_bits(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

static void
mask_addr(uint8_t addr[16], unsigned prefix, unsigned width)
{
	unsigned	i;

	for (i = 0; i < width / 8; i++) {
		if (prefix >= (i + 1) * 8)
			continue;
		if (prefix <= i * 8)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff00u >> (prefix - i * 8));
	}
}

bool
ban_net_parse(const char *text, struct ban_net *out, const char **why_out)
{
	char		 buf[BAN_NET_TEXT_MAX];
	char		*slash;
	uint8_t		 copy[16];
	unsigned long	 prefix;
	size_t		 len, i;

	*why_out = "not a network";
	memset(out, 0, sizeof(*out));
	len = strnlen(text, sizeof(buf));
	if (len == 0 || len >= sizeof(buf)) {
		*why_out = len == 0 ? "empty network" : "network too long";
		return false;
	}
	memcpy(buf, text, len + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		if (memcmp(out->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff",
		    12) == 0) {
			memmove(out->addr, out->addr + 12, 4);
			memset(out->addr + 4, 0, 12);
			out->family = 4;
		}
	} else
		return false;
	prefix = family_bits(out->family);
	if (slash != NULL) {
		if (*slash == '\0' || strlen(slash) > 3)
			return (*why_out = "bad prefix length", false);
		for (i = 0, prefix = 0; slash[i] != '\0'; i++) {
			if (slash[i] < '0' || slash[i] > '9')
				return (*why_out = "bad prefix length", false);
			prefix = prefix * 10 + (unsigned long)(slash[i] - '0');
		}
		if (prefix > family_bits(out->family))
			return (*why_out = "prefix longer than the address",
			    false);
	}
	out->prefix = (uint8_t)prefix;
	memcpy(copy, out->addr, 16);
	mask_addr(out->addr, out->prefix, family_bits(out->family));
	if (memcmp(copy, out->addr, 16) != 0)
		return (*why_out = "host bits set below the prefix", false);
	*why_out = NULL;
	return true;
}

bool
ban_net_format(const struct ban_net *net, char *out, size_t outlen)
{
	char	ip[INET6_ADDRSTRLEN];

	if (inet_ntop(net->family == 4 ? AF_INET : AF_INET6, net->addr, ip,
	    sizeof(ip)) == NULL)
		return false;
	return text_printf(out, outlen, "%s/%u", ip, net->prefix);
}

static void
addr_of_sockaddr(const struct sockaddr *sa, uint8_t *family, uint8_t a[16])
{
	memset(a, 0, 16);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(a, s6->sin6_addr.s6_addr + 12, 4);
			*family = 4;
		} else {
			memcpy(a, s6->sin6_addr.s6_addr, 16);
			*family = 6;
		}
		return;
	}
	memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	*family = 4;
}

void
ban_net_of_sockaddr(const struct sockaddr *sa, unsigned prefix4,
    unsigned prefix6, struct ban_net *out)
{
	memset(out, 0, sizeof(*out));
	addr_of_sockaddr(sa, &out->family, out->addr);
	out->prefix = (uint8_t)(out->family == 4 ? (prefix4 > 32 ? 32 :
	    prefix4) : (prefix6 > 128 ? 128 : prefix6));
	mask_addr(out->addr, out->prefix, family_bits(out->family));
}

bool
ban_net_equal(const struct ban_net *a, const struct ban_net *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	    memcmp(a->addr, b->addr, 16) == 0;
}

bool
ban_net_contains(const struct ban_net *net, const struct sockaddr *sa)
{
	struct ban_net	n;

	ban_net_of_sockaddr(sa, net->prefix, net->prefix, &n);
	return ban_net_equal(net, &n);
}

uint64_t
ban_duration(uint64_t base_s, uint64_t max_s, uint32_t level)
{
	uint64_t	d = base_s;
	uint32_t	i;

	for (i = 1; i < level && i < BAN_LEVEL_MAX && d < max_s; i++)
		d *= 2;
	return d < max_s ? d : max_s;
}

bool
ban_parse_duration(const char *s, uint64_t *out)
{
	uint64_t	v;

	/* Zero is no ban, and ten years is forever. */
	if (!clock_parse_duration(s, false, 3650ULL * 86400, &v) || v == 0)
		return false;
	*out = v;
	return true;
}

/* ---- hash of networks (shared by the table and the counter) ------------ */

static uint32_t
net_hash(const struct ban_net *n)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < 16; i++)
		h = (h ^ n->addr[i]) * 16777619u;
	h = (h ^ n->family) * 16777619u;
	h = (h ^ n->prefix) * 16777619u;
	return h;
}

/* ---- the ban table --------------------------------------------------- */

struct ban_slot {
	bool			used;
	struct ban_entry	e;
};

struct ban_table {
	struct ban_slot	*slots;
	size_t		 cap;		/* power of two */
	size_t		 n;
	uint32_t	 by_prefix[2][129];	/* [v6][prefix] entries */
};

struct ban_table *
ban_table_new(void)
{
	struct ban_table	*t = xcalloc(1, sizeof(*t));

	t->cap = 64;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	return t;
}

void
ban_table_free(struct ban_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

static size_t
table_probe(const struct ban_table *t, const struct ban_net *net)
{
	size_t	i = net_hash(net) & (t->cap - 1);

	while (t->slots[i].used && !ban_net_equal(&t->slots[i].e.net, net))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static void
table_grow(struct ban_table *t)
{
	struct ban_slot	*old = t->slots;
	size_t		 oldcap = t->cap, i;

	t->cap *= 2;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	for (i = 0; i < oldcap; i++)
		if (old[i].used)
			t->slots[table_probe(t, &old[i].e.net)] = old[i];
	free(old);
}

void
ban_table_put(struct ban_table *t, const struct ban_entry *e)
{
	size_t	i;

	if ((t->n + 1) * 4 > t->cap * 3)
		table_grow(t);
	i = table_probe(t, &e->net);
	if (!t->slots[i].used) {
		t->n++;
		t->by_prefix[e->net.family == 6][e->net.prefix]++;
	}
	t->slots[i].used = true;
	t->slots[i].e = *e;
}

static void
table_delete_at(struct ban_table *t, size_t i)
{
	size_t	j, k;

	t->by_prefix[t->slots[i].e.net.family == 6]
	    [t->slots[i].e.net.prefix]--;
	t->slots[i].used = false;
	t->n--;
	/* Backward shift: pull later members of the cluster into the hole
	 * when their home slot does not lie between the hole and them. */
	for (j = (i + 1) & (t->cap - 1); t->slots[j].used;
	    j = (j + 1) & (t->cap - 1)) {
		k = net_hash(&t->slots[j].e.net) & (t->cap - 1);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			t->slots[i] = t->slots[j];
			t->slots[j].used = false;
			i = j;
		}
	}
}

bool
ban_table_remove(struct ban_table *t, const struct ban_net *net)
{
	size_t	i = table_probe(t, net);

	if (!t->slots[i].used)
		return false;
	table_delete_at(t, i);
	return true;
}

void
ban_table_clear(struct ban_table *t)
{
	memset(t->slots, 0, t->cap * sizeof(*t->slots));
	memset(t->by_prefix, 0, sizeof(t->by_prefix));
	t->n = 0;
}

const struct ban_entry *
ban_table_get(const struct ban_table *t, const struct ban_net *net)
{
	size_t	i = table_probe(t, net);

	return t->slots[i].used ? &t->slots[i].e : NULL;
}

const struct ban_entry *
ban_table_find(const struct ban_table *t, const struct sockaddr *sa,
    int64_t now_us)
{
	struct ban_net		 n;
	const struct ban_entry	*e;
	uint8_t			 family, addr[16];
	int			 p;

	if (t->n == 0)
		return NULL;
	addr_of_sockaddr(sa, &family, addr);
	for (p = (int)family_bits(family); p >= 0; p--) {
		if (t->by_prefix[family == 6][p] == 0)
			continue;
		n.family = family;
		n.prefix = (uint8_t)p;
		memcpy(n.addr, addr, 16);
		mask_addr(n.addr, (unsigned)p, family_bits(family));
		e = ban_table_get(t, &n);
		if (e != NULL && e->expires_us > now_us)
			return e;
	}
	return NULL;
}

size_t
ban_table_expire(struct ban_table *t, int64_t now_us)
{
	struct ban_slot	*old = t->slots;
	size_t		 i, gone = 0;

	for (i = 0; i < t->cap; i++)
		gone += old[i].used && old[i].e.expires_us <= now_us;
	if (gone == 0)
		return 0;
	/* Rebuild from the live entries: simpler than shifting in place. */
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	t->n = 0;
	memset(t->by_prefix, 0, sizeof(t->by_prefix));
	for (i = 0; i < t->cap; i++)
		if (old[i].used && old[i].e.expires_us > now_us)
			ban_table_put(t, &old[i].e);
	free(old);
	return gone;
}

size_t
ban_table_count(const struct ban_table *t)
{
	return t->n;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct ban_entry	*x = a, *y = b;
	int			 c;

	if (x->net.family != y->net.family)
		return x->net.family < y->net.family ? -1 : 1;
	if ((c = memcmp(x->net.addr, y->net.addr, 16)) != 0)
		return c;
	return (int)x->net.prefix - (int)y->net.prefix;
}

struct ban_entry *
ban_table_list(const struct ban_table *t, int64_t now_us, size_t *n_out)
{
	struct ban_entry	*out = xcalloc(t->n, sizeof(*out));
	size_t			 i, n = 0;

	for (i = 0; i < t->cap; i++)
		if (t->slots[i].used && t->slots[i].e.expires_us > now_us)
			out[n++] = t->slots[i].e;
	qsort(out, n, sizeof(*out), entry_cmp);
	*n_out = n;
	return out;
}

/* ---- the counter ----------------------------------------------------- */

struct ban_count {
	struct ban_net	 net;
	int64_t		*times;		/* ring of `after` times */
	uint32_t	 head;		/* next write */
	uint32_t	 n;		/* times kept */
	int64_t		 last_us;
	struct ban_count *next;
};

#define BAN_COUNTER_BUCKETS	4096

struct ban_counter {
	uint32_t		 after;
	int64_t			 window_us;
	size_t			 n;
	struct ban_count	*buckets[BAN_COUNTER_BUCKETS];
};

struct ban_counter *
ban_counter_new(uint32_t after, int64_t window_us)
{
	struct ban_counter	*c = xcalloc(1, sizeof(*c));

	c->after = after ? after : 1;
	c->window_us = window_us > 0 ? window_us : 1;
	return c;
}

static void
count_free(struct ban_count *k)
{
	free(k->times);
	free(k);
}

void
ban_counter_free(struct ban_counter *c)
{
	struct ban_count	*k, *next;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < BAN_COUNTER_BUCKETS; i++)
		for (k = c->buckets[i]; k != NULL; k = next) {
			next = k->next;
			count_free(k);
		}
	free(c);
}

bool
ban_counter_hit(struct ban_counter *c, const struct ban_net *net,
    int64_t now_us)
{
	struct ban_count	**pp, *k;
	uint32_t		 oldest;

	pp = &c->buckets[net_hash(net) % BAN_COUNTER_BUCKETS];
	for (; (k = *pp) != NULL; pp = &k->next)
		if (ban_net_equal(&k->net, net))
			break;
	if (k == NULL) {
		k = xcalloc(1, sizeof(*k));
		k->net = *net;
		k->times = xcalloc(c->after, sizeof(*k->times));
		k->next = c->buckets[net_hash(net) % BAN_COUNTER_BUCKETS];
		c->buckets[net_hash(net) % BAN_COUNTER_BUCKETS] = k;
		c->n++;
	}
	k->times[k->head] = now_us;
	k->head = (k->head + 1) % c->after;
	if (k->n < c->after)
		k->n++;
	k->last_us = now_us;
	if (k->n < c->after)
		return false;
	/* The ring is full: its oldest time is at head. */
	oldest = k->head;
	if (now_us - k->times[oldest] >= c->window_us)
		return false;
	k->n = 0;
	k->head = 0;
	return true;
}

size_t
ban_counter_expire(struct ban_counter *c, int64_t now_us)
{
	struct ban_count	**pp, *k;
	size_t			 i, gone = 0;

	for (i = 0; i < BAN_COUNTER_BUCKETS; i++) {
		pp = &c->buckets[i];
		while ((k = *pp) != NULL) {
			if (now_us - k->last_us >= c->window_us) {
				*pp = k->next;
				count_free(k);
				c->n--;
				gone++;
			} else
				pp = &k->next;
		}
	}
	return gone;
}

size_t
ban_counter_count(const struct ban_counter *c)
{
	return c->n;
}

/* ---- export ---------------------------------------------------------- */

bool
ban_export_format_parse(const char *name, enum ban_export_format *out)
{
	static const struct {
		const char		*name;
		enum ban_export_format	 fmt;
	} names[] = {
		{ "plain", BAN_EXPORT_PLAIN },
		{ "rbldnsd", BAN_EXPORT_RBLDNSD },
		{ "nft", BAN_EXPORT_NFT },
		{ "json", BAN_EXPORT_JSON },
	};
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, name) == 0) {
			*out = names[i].fmt;
			return true;
		}
	return false;
}

static void
export_set(FILE *fp, const struct ban_entry *e, size_t n, uint8_t family)
{
	char	text[BAN_NET_TEXT_MAX];
	size_t	i;
	bool	first = true;

	for (i = 0; i < n; i++) {
		if (e[i].net.family != family ||
		    !ban_net_format(&e[i].net, text, sizeof(text)))
			continue;
		fprintf(fp, "%s\n\t\t\t%s", first ? "" : ",", text);
		first = false;
	}
}

static bool
has_family(const struct ban_entry *e, size_t n, uint8_t family)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (e[i].net.family == family)
			return true;
	return false;
}

/* nftables: interval sets refuse overlapping elements, so a network
 * inside another one listed is left out (the sort puts the shorter
 * prefix of an equal address first; containment needs a scan). */
static size_t
export_nft_dedup(const struct ban_entry *in, size_t n, struct ban_entry *out)
{
	struct sockaddr_storage	 ss;
	size_t			 i, j, m = 0;
	bool			 inside;

	for (i = 0; i < n; i++) {
		memset(&ss, 0, sizeof(ss));
		if (in[i].net.family == 4) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, in[i].net.addr, 4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, in[i].net.addr, 16);
		}
		inside = false;
		for (j = 0; j < n && !inside; j++)
			inside = j != i &&
			    in[j].net.family == in[i].net.family &&
			    (in[j].net.prefix < in[i].net.prefix ||
			    (in[j].net.prefix == in[i].net.prefix && j < i)) &&
			    ban_net_contains(&in[j].net,
			    (struct sockaddr *)&ss);
		if (!inside)
			out[m++] = in[i];
	}
	return m;
}

bool
ban_export(enum ban_export_format fmt, const struct ban_entry *e, size_t n,
    FILE *fp)
{
	char			 text[BAN_NET_TEXT_MAX], t1[40], t2[40];
	struct ban_entry	*d;
	size_t			 i, m;

	switch (fmt) {
	case BAN_EXPORT_PLAIN:
		for (i = 0; i < n; i++)
			if (ban_net_format(&e[i].net, text, sizeof(text)))
				fprintf(fp, "%s\n", text);
		break;
	case BAN_EXPORT_RBLDNSD:
		/* One file, two datasets: rbldnsd's "combined" type, loaded
		 * as ZONE:combined:FILE. An address in a listed network
		 * answers 127.0.0.2 with the TXT below. */
		fprintf(fp, "# pillory blocklist: %zu networks\n", n);
		fprintf(fp, "$DATASET ip4set @\n"
		    ":127.0.0.2:Listed by pillory: attacks from $\n");
		for (i = 0; i < n; i++)
			if (e[i].net.family == 4 &&
			    ban_net_format(&e[i].net, text, sizeof(text)))
				fprintf(fp, "%s\n", text);
		fprintf(fp, "$DATASET ip6trie @\n"
		    ":127.0.0.2:Listed by pillory: attacks from this "
		    "network\n");
		for (i = 0; i < n; i++)
			if (e[i].net.family == 6 &&
			    ban_net_format(&e[i].net, text, sizeof(text)))
				fprintf(fp, "%s\n", text);
		break;
	case BAN_EXPORT_NFT:
		d = xcalloc(n, sizeof(*d));
		m = export_nft_dedup(e, n, d);
		fprintf(fp, "#!/usr/sbin/nft -f\n"
		    "# pillory blocklist: %zu networks\n"
		    "table inet pillory\n"
		    "delete table inet pillory\n"
		    "table inet pillory {\n"
		    "\tset banned4 {\n"
		    "\t\ttype ipv4_addr\n"
		    "\t\tflags interval\n", m);
		if (has_family(d, m, 4)) {
			fprintf(fp, "\t\telements = {");
			export_set(fp, d, m, 4);
			fprintf(fp, "\n\t\t}\n");
		}
		fprintf(fp, "\t}\n"
		    "\tset banned6 {\n"
		    "\t\ttype ipv6_addr\n"
		    "\t\tflags interval\n");
		if (has_family(d, m, 6)) {
			fprintf(fp, "\t\telements = {");
			export_set(fp, d, m, 6);
			fprintf(fp, "\n\t\t}\n");
		}
		fprintf(fp, "\t}\n"
		    "\tchain input {\n"
		    "\t\ttype filter hook input priority filter; "
		    "policy accept;\n"
		    "\t\tip saddr @banned4 tcp dport { 25, 465, 587 } drop\n"
		    "\t\tip6 saddr @banned6 tcp dport { 25, 465, 587 } drop\n"
		    "\t}\n"
		    "}\n");
		free(d);
		break;
	case BAN_EXPORT_JSON:
		fprintf(fp, "{\"count\":%zu,\"bans\":[", n);
		for (i = 0; i < n; i++) {
			if (!ban_net_format(&e[i].net, text, sizeof(text)) ||
			    !attack_format_time(e[i].start_us, false, t1,
			    sizeof(t1)) ||
			    !attack_format_time(e[i].expires_us, false, t2,
			    sizeof(t2)))
				continue;
			fprintf(fp, "%s\n{\"network\":\"%s\",\"start\":\"%s\","
			    "\"expires\":\"%s\",\"manual\":%s}",
			    i ? "," : "", text, t1, t2,
			    e[i].manual ? "true" : "false");
		}
		fprintf(fp, "\n]}\n");
		break;
	}
	return !ferror(fp);
}
