/*
 * aliases.c: the aliases file and alias expansion. The file is a subset of
 * the sendmail/Postfix aliases(5) format:
 *
 *	# comment
 *	postmaster: root
 *	root: alice@example.org, bob
 *	sales@example.org: alice, carol@example.net
 *
 * A name is "local@domain" (that address only) or a bare local part (that
 * local part in every local domain). A target is an address, local or
 * remote, or a bare local part (same domain as the address being
 * expanded). Pipes, files, :include:, quoted local parts and continuation
 * lines are not supported and are load errors, not silently dropped.
 *
 * The file is trusted configuration, loaded at start-up; the recipients
 * handed to aliases_expand() come from the network, so expansion is
 * bounded in depth (ALIAS_DEPTH_MAX) and breadth (ALIAS_TARGETS_MAX) and
 * never expands the same address twice. Pure apart from aliases_load().
 */

#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "log.h"
#include "text.h"
#include "line_table.h"
#include "xalloc.h"

struct alias_entry {
	char	*name;		/* lower-case, bare local part or address */
	char	*targets;	/* ntargets NUL-terminated strings in a row */
	size_t	 ntargets;
	size_t	 line;		/* in the file, for duplicate errors */
};

struct alias_db {
	struct alias_entry	*entries;	/* sorted by name */
	size_t			 count;
	size_t			 cap;
};

static const struct line_table_entries alias_entries = {
	.what = "alias",
	.size = sizeof(struct alias_entry),
	.key_off = offsetof(struct alias_entry, name),
	.line_off = offsetof(struct alias_entry, line),
};

/* Addresses met during one expansion. */
#define ALIAS_SEEN_EMITTED	0x1
#define ALIAS_SEEN_EXPANDED	0x2

struct alias_seen {
	char	*addr;
	int	 flags;
};

struct alias_expansion {
	const struct alias_db	*db;
	bool			(*is_local)(const char *, void *);
	void			(*emit)(const char *, void *);
	void			*arg;
	/* The chain being expanded, for loops and self references. */
	char			 stack[ALIAS_DEPTH_MAX][ADDRESS_MAX + 1];
	size_t			 depth;
	/* Open-addressing set, power-of-two size, at most half full. */
	struct alias_seen	*seen;
	size_t			 seen_cap;
	size_t			 seen_count;
	size_t			 emitted;
	size_t			 expanded;
};

static bool
is_space(char c)
{
	return (c == ' ' || c == '\t');
}

/* RFC 5322 3.2.3 atext, plus '.' for dot-atoms. */
static bool
is_local_char(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (true);
	return (c != '\0' && strchr(".!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_domain_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.');
}

/*
 * A name (is_name) or target: a local part, optionally "@domain". The
 * lengths are RFC 5321 4.5.3.1.1 and 4.5.3.1.2; address literals and
 * quoted local parts are not supported.
 */
static bool
alias_addr_is_valid(const char *p, size_t len, bool is_name,
    const char **why)
{
	const char	*at;
	size_t		 i, llen;

	if (len == 0) {
		*why = is_name ? "empty alias name" : "empty target";
		return (false);
	}
	if (p[0] == '"') {
		*why = "quoted local parts are not supported";
		return (false);
	}
	at = memchr(p, '@', len);
	llen = at == NULL ? len : (size_t)(at - p);
	if (llen == 0) {
		*why = is_name ? "alias name has an empty local part" :
		    "target has an empty local part";
		return (false);
	}
	if (llen > LOCAL_PART_MAX) {
		*why = is_name ? "alias name local part too long" :
		    "target local part too long";
		return (false);
	}
	for (i = 0; i < llen; i++) {
		if (!is_local_char(p[i])) {
			*why = is_name ? "bad character in alias name" :
			    "bad character in target";
			return (false);
		}
	}
	if (at == NULL)
		return (true);
	if (len - llen - 1 == 0) {
		*why = is_name ? "alias name has an empty domain" :
		    "target has an empty domain";
		return (false);
	}
	if (len - llen - 1 > DOMAIN_MAX) {
		*why = is_name ? "alias name domain too long" :
		    "target domain too long";
		return (false);
	}
	for (i = llen + 1; i < len; i++) {
		if (!is_domain_char(p[i])) {
			*why = is_name ? "bad character in alias name domain" :
			    "bad character in target domain";
			return (false);
		}
	}
	return (true);
}

/* Trim SP and HT from both ends of p[0..*len); returns the new start. */
static const char *
trim(const char *p, size_t *len)
{
	while (*len > 0 && is_space(p[0])) {
		p++;
		(*len)--;
	}
	while (*len > 0 && is_space(p[*len - 1]))
		(*len)--;
	return (p);
}

/*
 * Split list at the next ',' into one trimmed target. Returns false when
 * the list is used up. *rest is advanced past the comma.
 */
static bool
alias_next_target(struct span *rest, struct span *target_out)
{
	const char	*comma;
	size_t		 len;

	if (rest->p == NULL)
		return (false);
	comma = memchr(rest->p, ',', rest->len);
	len = comma == NULL ? rest->len : (size_t)(comma - rest->p);
	target_out->p = trim(rest->p, &len);
	target_out->len = len;
	if (comma == NULL) {
		rest->p = NULL;
		rest->len = 0;
	} else {
		rest->len -= (size_t)(comma - rest->p) + 1;
		rest->p = comma + 1;
	}
	return (true);
}

static bool
alias_target_is_valid(struct span t, const char **why)
{
	if (t.len > 0 && (t.p[0] == '|' || t.p[0] == '/')) {
		*why = "pipe and file targets are not supported";
		return (false);
	}
	if (t.len >= 9 && memcmp(t.p, ":include:", 9) == 0) {
		*why = ":include: is not supported";
		return (false);
	}
	return (alias_addr_is_valid(t.p, t.len, false, why));
}

/* Parse one aliases line; see aliases.h. */
int
aliases_parse_line(const char *line, size_t len, struct span *name_out,
    struct span *targets_out, const char **why)
{
	struct span	 list, rest, t;
	const char	*colon;
	size_t		 i;

	if (len > ALIASES_LINE_MAX) {
		*why = "line too long";
		return (-1);
	}
	for (i = 0; i < len && is_space(line[i]); i++)
		continue;
	if (i == len || line[i] == '#')
		return (1);
	if (i > 0) {
		*why = "line starts with white space (continuation lines are "
		    "not supported)";
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < ' ' && line[i] != '\t') {
			*why = "control character in line";
			return (-1);
		}
		if ((unsigned char)line[i] >= 0x7f) {
			*why = "non-ASCII octet in line";
			return (-1);
		}
	}

	if ((colon = memchr(line, ':', len)) == NULL) {
		*why = "missing ':' after alias name";
		return (-1);
	}
	if (!alias_addr_is_valid(line, (size_t)(colon - line), true, why))
		return (-1);

	list.len = len - (size_t)(colon - line) - 1;
	list.p = trim(colon + 1, &list.len);
	if (list.len == 0) {
		*why = "empty target list";
		return (-1);
	}
	rest = list;
	while (alias_next_target(&rest, &t)) {
		if (!alias_target_is_valid(t, why))
			return (-1);
	}

	name_out->p = line;
	name_out->len = (size_t)(colon - line);
	*targets_out = list;
	return (0);
}


static void
alias_add(struct alias_db *db, struct span name, struct span list,
    size_t line)
{
	struct alias_entry	*e;
	struct span		 rest, t;
	size_t			 off;
	char			*mem;

	e = line_table_add(&alias_entries, (void **)&db->entries, &db->count,
	    &db->cap);
/* The trimmed targets with a NUL each never outgrow the list + 1. */
	mem = xmalloc(name.len + 1 + list.len + 1);
	e->name = mem;
	memcpy(e->name, name.p, name.len);
	e->name[name.len] = '\0';
	text_lower(e->name);
	e->targets = mem + name.len + 1;
	e->ntargets = 0;
	off = 0;
	rest = list;
	while (alias_next_target(&rest, &t)) {
		memcpy(e->targets + off, t.p, t.len);
		e->targets[off + t.len] = '\0';
		text_lower(e->targets + off);
		off += t.len + 1;
		e->ntargets++;
	}
	e->line = line;
}

/* Load an aliases file; see aliases.h. */
struct alias_db *
aliases_load(const char *path, char *err, size_t errlen)
{
	return (aliases_load_fp(NULL, path, err, errlen));
}

/* One line of the file (line_table.h): parse and add. */
static int
alias_load_line(void *arg, const char *line, size_t len, size_t lineno,
    const char **why)
{
	struct alias_db	*db = arg;
	struct span	 name, list;
	int		 r;

	r = aliases_parse_line(line, len, &name, &list, why);
	if (r == 0)
		alias_add(db, name, list, lineno);
	return (r);
}

/* The same from an open stream; see aliases.h. */
struct alias_db *
aliases_load_fp(FILE *fp, const char *path, char *err, size_t errlen)
{
	struct alias_db		*db;
	struct line_table	 lt = { .path = path, .max = ALIASES_LINE_MAX,
				    .line = alias_load_line };

	db = xcalloc(1, sizeof(*db));
	lt.arg = db;
	if (line_table_read(&lt, fp, err, errlen) == -1 ||
	    line_table_sort(&alias_entries, db->entries, db->count, path, err,
	    errlen) == -1) {
		aliases_free(db);
		return (NULL);
	}
	return (db);
}

/* Binary search for the entry named p[0..len). */
static const struct alias_entry *
alias_find(const struct alias_db *db, const char *p, size_t len)
{
	const struct alias_entry	*e;
	size_t				 lo = 0, hi, mid, nlen;
	int				 r;

	if (db == NULL)
		return (NULL);
	hi = db->count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		e = &db->entries[mid];
		nlen = strlen(e->name);
		r = memcmp(p, e->name, len < nlen ? len : nlen);
		if (r == 0)
			r = len < nlen ? -1 : len > nlen;
		if (r == 0)
			return (e);
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (NULL);
}

/* The entry for addr, or else for its bare local part. */
static const struct alias_entry *
alias_lookup(const struct alias_db *db, const char *addr)
{
	const struct alias_entry	*e;
	const char			*at;

	if ((e = alias_find(db, addr, strlen(addr))) != NULL)
		return (e);
	if ((at = strrchr(addr, '@')) == NULL)
		return (NULL);
	return (alias_find(db, addr, (size_t)(at - addr)));
}

/* True when key or its local part has an entry; see aliases.h. */
bool
aliases_has(const struct alias_db *db, const char *key)
{
	if (key == NULL)
		return (false);
	return (alias_lookup(db, key) != NULL);
}

struct alias_owner {
	const char	*user;
	bool		 found;
	bool		(*is_local)(const char *, void *);
	void		*arg;
};

/* aliases_expand() hands one argument to both callbacks. */
static bool
alias_owner_is_local(const char *domain, void *arg)
{
	struct alias_owner	*o = arg;

	return (o->is_local(domain, o->arg));
}

static void
alias_owner_emit(const char *addr, void *arg)
{
	struct alias_owner	*o = arg;

	if (strcmp(addr, o->user) == 0)
		o->found = true;
}

/* May user send as key; see aliases.h. */
bool
aliases_sender_owned(const struct alias_db *db, const char *key,
    const char *user, bool (*is_local)(const char *domain, void *arg),
    void *arg)
{
	struct alias_owner	 o = { user, false, is_local, arg };
	const char		*at;

	if (key == NULL || user == NULL || *user == '\0')
		return (false);
	if (strcmp(key, user) == 0)
		return (true);
	/* Only a local domain's addresses belong to anybody here: with
	 * "postmaster: alice@..." alice owns postmaster@ our domains, never
	 * postmaster@ somebody else's. */
	if ((at = strrchr(key, '@')) == NULL || at == key || at[1] == '\0' ||
	    !is_local(at + 1, arg))
		return (false);
	if (db == NULL || !aliases_has(db, key))
		return (false);
	if (aliases_expand(db, key, alias_owner_is_local, alias_owner_emit,
	    &o) < 0)
		return (false);
	return (o.found);
}

/* FNV-1a; the set only needs a spread, not resistance to attack. */
static uint32_t
alias_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return (h);
}

/* The slot for addr in the seen set, added (flags 0) when missing. */
static struct alias_seen *
alias_seen_get(struct alias_expansion *x, const char *addr)
{
	struct alias_seen	*old, *s;
	size_t			 oldcap, i, j;

	if ((x->seen_count + 1) * 2 > x->seen_cap) {
		old = x->seen;
		oldcap = x->seen_cap;
		x->seen_cap = oldcap == 0 ? 64 : oldcap * 2;
		x->seen = xcalloc(x->seen_cap, sizeof(*x->seen));
		for (i = 0; i < oldcap; i++) {
			if (old[i].addr == NULL)
				continue;
			j = alias_hash(old[i].addr) & (x->seen_cap - 1);
			while (x->seen[j].addr != NULL)
				j = (j + 1) & (x->seen_cap - 1);
			x->seen[j] = old[i];
		}
		free(old);
	}
	i = alias_hash(addr) & (x->seen_cap - 1);
	for (;;) {
		s = &x->seen[i];
		if (s->addr == NULL)
			break;
		if (strcmp(s->addr, addr) == 0)
			return (s);
		i = (i + 1) & (x->seen_cap - 1);
	}
	s->addr = xstrdup(addr);
	s->flags = 0;
	x->seen_count++;
	return (s);
}

static int
alias_emit(struct alias_expansion *x, const char *addr)
{
	struct alias_seen	*s;

	s = alias_seen_get(x, addr);
	if (s->flags & ALIAS_SEEN_EMITTED)
		return (0);
	if (x->emitted == ALIAS_TARGETS_MAX)
		return (-1);
	s->flags |= ALIAS_SEEN_EMITTED;
	x->emitted++;
	x->emit(addr, x->arg);
	return (0);
}

/*
 * Deliver to addr (lower-case "local@domain", domain local): emit it, or
 * expand its entry one level deeper.
 */
static int
alias_visit(struct alias_expansion *x, const char *addr)
{
	const struct alias_entry	*e;
	struct alias_seen		*s;
	const char			*t, *domain, *at;
	char				 next[ADDRESS_MAX + 1], *self;
	size_t				 i;
	int				 n, r;

	/* A loop back into the chain delivers to that address itself. */
	for (i = 0; i < x->depth; i++) {
		if (strcmp(x->stack[i], addr) == 0)
			return (alias_emit(x, addr));
	}
	if ((e = alias_lookup(x->db, addr)) == NULL)
		return (alias_emit(x, addr));

	/* Expanded before through another branch: its targets are out. */
	s = alias_seen_get(x, addr);
	if (s->flags & ALIAS_SEEN_EXPANDED)
		return (0);
	if (x->depth == ALIAS_DEPTH_MAX || x->expanded == ALIAS_TARGETS_MAX)
		return (-1);
	s->flags |= ALIAS_SEEN_EXPANDED;
	x->expanded++;

	self = x->stack[x->depth++];
	if (!text_copy(self, addr, sizeof(x->stack[0])) ||
	    (at = strrchr(self, '@')) == NULL) {
		x->depth--;
		return (-1);
	}
	domain = at + 1;

	for (i = 0, t = e->targets; i < e->ntargets; i++, t += strlen(t) + 1) {
		if ((at = strrchr(t, '@')) == NULL) {
			n = snprintf(next, sizeof(next), "%s@%s", t, domain);
			if (n < 0 || (size_t)n >= sizeof(next))
				r = -1;
			else
				r = alias_visit(x, next);
		} else if (x->is_local != NULL &&
		    x->is_local(at + 1, x->arg))
			r = alias_visit(x, t);
		else
			r = alias_emit(x, t);
		if (r == -1) {
			x->depth--;
			return (-1);
		}
	}
	x->depth--;
	return (0);
}

/* Expand a local recipient; see aliases.h. */
int
aliases_expand(const struct alias_db *db, const char *key,
    bool (*is_local)(const char *domain, void *arg),
    void (*emit)(const char *addr, void *arg), void *arg)
{
	struct alias_expansion	*x;
	const char		*at;
	size_t			 i;
	int			 r;

	if (key == NULL || (at = strrchr(key, '@')) == NULL || at == key ||
	    at[1] == '\0' || strlen(key) > ADDRESS_MAX)
		return (-1);

	/* The chain buffer is a few KiB: keep it off the stack. */
	x = xcalloc(1, sizeof(*x));
	x->db = db;
	x->is_local = is_local;
	x->emit = emit;
	x->arg = arg;

	r = alias_visit(x, key);
	if (r == 0)
		r = (int)x->emitted;

	for (i = 0; i < x->seen_cap; i++)
		free(x->seen[i].addr);
	free(x->seen);
	free(x);
	return (r);
}

/* Number of entries; see aliases.h. */
size_t
aliases_count(const struct alias_db *db)
{
	return (db == NULL ? 0 : db->count);
}

/* Free the database; see aliases.h. */
void
aliases_free(struct alias_db *db)
{
	size_t	i;

	if (db == NULL)
		return;
	for (i = 0; i < db->count; i++)
		free(db->entries[i].name);
	free(db->entries);
	free(db);
}

/* A deep copy for another thread; see aliases.h. */
struct alias_db *
aliases_copy(const struct alias_db *db)
{
	struct alias_db		*copy;
	const struct alias_entry *e;
	const char		*end;
	size_t			 i, j, len;

	if (db == NULL)
		return (NULL);
	copy = xcalloc(1, sizeof(*copy));
	copy->entries = xcalloc(db->count == 0 ? 1 : db->count,
	    sizeof(*copy->entries));
	copy->count = copy->cap = db->count;
	for (i = 0; i < db->count; i++) {
		e = &db->entries[i];
		/* name and targets share one allocation, in that order. */
		end = e->targets;
		for (j = 0; j < e->ntargets; j++)
			end += strlen(end) + 1;
		len = (size_t)(end - e->name);
		copy->entries[i].name = xmalloc(len == 0 ? 1 : len);
		memcpy(copy->entries[i].name, e->name, len);
		copy->entries[i].targets = copy->entries[i].name +
		    (e->targets - e->name);
		copy->entries[i].ntargets = e->ntargets;
		copy->entries[i].line = e->line;
	}
	return (copy);
}
