/*
 * publish.c: the public attack page generator and the daemon's publisher
 * thread (publish.h has the site's layout).
 *
 * Runs in the unprivileged engine (its own thread, its own read-only store
 * handle, never on the event loop) and in `pillory publish`. Its input is
 * the attack log: our own records, but every string in them (addresses,
 * HELO and client names, senders, recipients) is attacker-controlled, so
 * all output goes through the one escaping emitter (emit.h); the login
 * user of auth-fail records and session ids are dropped before anything
 * is formatted (publish_public_record()).
 *
 * Cost does not grow with the log: the counts come from the daily counts
 * (one row per day and kind), the page's lines from the newest `recent`
 * records by index, incidents from their own table; only the top lists
 * read the (client_ip, time) index once.
 *
 * Every file is written to ".NAME.PID.tmp" in its own directory, fsynced,
 * renamed over NAME, and the directory fsynced after the generation's
 * renames: a reader sees the old page or the new one, never half of one.
 * Incident pages and feeds that did not change are not rewritten.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "attacklog.h"
#include "ban.h"
#include "asn.h"
#include "attrib.h"
#include "config.h"
#include "country.h"
#include "emit.h"
#include "i18n.h"
#include "log.h"
#include "passwd_file.h"
#include "publish.h"
#include "store.h"
#include "text.h"

/* Languages at most in [publish] languages. */
#define PUBLISH_LANGS_MAX	8
/* Temp files left by a crash are removed after this long. */
#define PUBLISH_STALE_TMP_S	3600
/* The publisher re-checks the date at least this often. */
#define PUBLISH_WAKE_MAX_US	(3600LL * 1000000)

/* What a generation needs from the config; a private copy. */
struct publish_conf {
	bool			 enabled;
	char			*dir;
	const struct i18n_lang	*langs[PUBLISH_LANGS_MAX];
	size_t			 nlangs;
	uint64_t		 recent;
	bool			 mask;
	uint64_t		 delay_s;
	char			*hostname;
	char			*db;		/* [attacklog] db, may be "" */
	char			*store_url;	/* [store] url, may be "" */
	char			*state_dir;
	uint32_t		 kinds;		/* [publish] kinds as a mask */
	/* Who is ours: never shown unmasked (publish_address_is_ours()). */
	struct domain_list	 domains;
	struct passwd_db	*users;		/* names only; NULL: none */
	struct alias_db		*aliases;	/* NULL: none */
	bool			 users_unknown;	/* a file failed: mask all */
	struct asn_db		*asn;		/* [attacklog] asn_db, or NULL */
};

/* One published log line: the public record and its text. */
struct publish_line {
	struct attack_record	 rec;
	char			*text;
	struct attrib		 attr;		/* the client's network */
};

struct publish_lines {
	struct publish_line	*v;
	size_t			 n;
	size_t			 cap;
	bool			 mask;
	const struct publish_conf *pc;
	const struct asn_db	*asn;
};

/* Everything a page shows, read once per generation. */
/* The live bans shown on the page: all are counted, the soonest
 * PUBLISH_BANS_SHOWN to end are listed. */
#define PUBLISH_BANS_SHOWN	100
struct publish_bans {
	struct ban_entry	*v;
	size_t			 n, cap;
};

struct publish_data {
	int64_t			 now_us;
	struct store_totals	 totals;
	struct store_day	*hist;		/* PUBLISH_HISTORY_DAYS */
	const struct store_day	*days;		/* the last CHART_DAYS */
	uint64_t		 today;
	uint64_t		 last30;
	uint64_t		 last30_by_kind[ATTACK_KIND_COUNT];
	char			 first_day[STORE_DAY_MAX]; /* "" when none */
	bool			 first_before;	/* first_day is a bound */
	struct store_top	 addrs[PUBLISH_TOP];
	size_t			 naddrs;
	struct store_top	 nets[PUBLISH_TOP];
	size_t			 nnets;
	struct store_incident	 incidents[PUBLISH_INCIDENTS];
	size_t			 nincidents;
	struct publish_lines	 recent;
	struct publish_bans	 bans;		/* live bans ([defense]) */
};

/* One generation's output state. */
struct publish_ctx {
	const struct publish_conf	*conf;
	int64_t				 now_us;
	int				 topfd;
	int				 incfd;
	bool				 topdirty;
	bool				 incdirty;
	bool				 chown;
	uid_t				 uid;
	gid_t				 gid;
	bool				 sweep;
	struct emit			 e;
	size_t				 files;
	size_t				 written;
	char				 offset[32];
	char				*err;
	size_t				 errlen;
};

/* Okabe-Ito colours, one per kind: told apart with colour blindness too. */
static const char *const publish_kind_colors[ATTACK_KIND_COUNT] = {
	"#0072b2", "#d55e00", "#cc79a7", "#e69f00", "#009e73", "#666666",
	"#56b4e9",
};

static const char publish_css[] =
	"body{font-family:system-ui,-apple-system,\"Segoe UI\","
	"\"Hiragino Sans\",\"Noto Sans CJK JP\",\"IPAGothic\",sans-serif;"
	"line-height:1.5;margin:0 auto;max-width:52rem;padding:0 1rem 2rem;"
	"color:#1a1a1a;background:#fff}"
	"a{color:#0645ad}"
	"h1{font-size:1.6rem;margin:.2rem 0 .5rem}"
	"h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ccc}"
	"nav.lang{text-align:right;padding-top:.5rem}"
	"nav.lang a,nav.lang strong{margin-left:.8rem}"
	".crumb{margin:0;color:#555}"
	".cards{display:flex;flex-wrap:wrap;gap:.5rem}"
	".card{margin:0;padding:.4rem .8rem;border:1px solid #ccc;"
	"border-radius:4px;min-width:8rem}"
	".card .big{display:block;font-size:1.6rem;font-weight:bold;"
	"font-variant-numeric:tabular-nums}"
	".sub,.note{color:#555;font-size:.9rem;font-weight:normal}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;margin:.5rem 0}"
	"th,td{padding:.2rem .6rem;border-bottom:1px solid #ddd;"
	"text-align:left;vertical-align:top}"
	".n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}"
	"pre{font-size:.8rem;white-space:pre-wrap;overflow-wrap:anywhere;"
	"background:#f6f6f6;border:1px solid #ddd;padding:.5rem}"
	"pre .l{display:block;padding-left:2ch;text-indent:-2ch}"
	"pre .t{color:#a00}"
	"pre .no,pre .kw,pre .net{color:#555}"
	".targeted{color:#a00;font-weight:bold}"
	"svg.chart{display:block;width:100%;height:auto;max-width:44rem;"
	"font-family:sans-serif;font-size:15px}"
	"figure{margin:0}"
	".legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;"
	"gap:.2rem 1rem;font-size:.9rem}"
	".tops{display:flex;flex-wrap:wrap;gap:0 2rem}"
	"ol.incidents{list-style:none;padding:0}"
	"ol.incidents li{padding:.4rem 0;border-bottom:1px solid #ddd;"
	"overflow-wrap:anywhere}"
	"dl.facts{display:grid;grid-template-columns:max-content "
	"minmax(0,1fr);gap:.2rem 1rem}"
	"dl.facts dt{font-weight:bold}"
	"dl.facts dd{margin:0;overflow-wrap:anywhere}"
	"@media (max-width:32rem){dl.facts{display:block}"
	"dl.facts dd{margin:0 0 .4rem}}"
	"footer{margin-top:2rem;border-top:1px solid #ccc;color:#555;"
	"font-size:.9rem}"
	"@media print{nav.lang{display:none}a{color:inherit}"
	"pre{border:0;background:none}.card{border-color:#999}}";

static int64_t
publish_real_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static int64_t
publish_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/*
 * Configuration.
 */

static void
publish_conf_free(struct publish_conf *pc)
{
	if (pc == NULL)
		return;
	free(pc->dir);
	free(pc->hostname);
	free(pc->db);
	free(pc->store_url);
	free(pc->state_dir);
	for (size_t i = 0; i < pc->domains.count; i++)
		free(pc->domains.names[i]);
	free(pc->domains.names);
	passwd_file_free(pc->users);
	aliases_free(pc->aliases);
	asn_db_free(pc->asn);
	free(pc);
}

static char *
publish_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s != NULL ? s : "")) == NULL)
		FATAL("out of memory");
	return (p);
}

bool
publish_dir_path(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen)
{
	if (cfg->publish_dir != NULL && cfg->publish_dir[0] != '\0') {
		if (text_copy(out, cfg->publish_dir, outlen))
			return (true);
	} else if (cfg->state_dir == NULL || cfg->state_dir[0] == '\0') {
		snprintf(err, errlen, "[publish] dir: not set and no "
		    "[server] state_dir");
		return (false);
	} else if (text_printf(out, outlen, "%s/public", cfg->state_dir))
		return (true);
	snprintf(err, errlen, "[publish] dir: path too long");
	return (false);
}

/*
 * Who is ours, for publish_address_is_ours(): the local domains, the
 * user names of the passwd-file (hashes forgotten at once) and the
 * aliases. A file that cannot be read leaves every local address masked.
 */
static void
publish_conf_ours(struct publish_conf *pc, const struct config *cfg)
{
	char	err[512];
	size_t	i;

	pc->domains.count = cfg->domains.count;
	if (pc->domains.count > 0 && (pc->domains.names =
	    calloc(pc->domains.count, sizeof(char *))) == NULL)
		FATAL("out of memory");
	for (i = 0; i < pc->domains.count; i++)
		pc->domains.names[i] = publish_strdup(cfg->domains.names[i]);
	if (cfg->passwd_file != NULL && cfg->passwd_file[0] != '\0') {
		if ((pc->users = passwd_file_load(cfg->passwd_file, err,
		    sizeof(err))) == NULL) {
			log_warn("publish: %s: every local address is masked",
			    err);
			pc->users_unknown = true;
		} else
			passwd_file_forget_hashes(pc->users);
	}
	if (cfg->aliases_file != NULL && cfg->aliases_file[0] != '\0' &&
	    (pc->aliases = aliases_load(cfg->aliases_file, err,
	    sizeof(err))) == NULL) {
		log_warn("publish: %s: every local address is masked", err);
		pc->users_unknown = true;
	}
}

/*
 * True when addr is one of ours: in a local domain, and a user, an alias
 * or postmaster (RFC 5321 4.5.1) there; every local address when the
 * users are unknown. Unknown local parts (the 2002 attack's forged
 * senders) are not ours.
 */
static bool
publish_address_is_ours(const struct publish_conf *pc, const char *addr)
{
	char		 local[ADDRESS_MAX + 1], domain[ADDRESS_MAX + 1];
	char		 key[ADDRESS_MAX + 1];
	const char	*at;
	size_t		 i;

	if ((at = strrchr(addr, '@')) == NULL ||
	    (size_t)(at - addr) >= sizeof(local))
		return (false);
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	if (!text_copy(domain, at + 1, sizeof(domain)))
		return (false);
	for (i = 0; domain[i] != '\0'; i++)
		domain[i] = (char)tolower((unsigned char)domain[i]);
	if (!addr_domain_is_local(&pc->domains, domain))
		return (false);
	if (pc->users_unknown || strcasecmp(local, "postmaster") == 0)
		return (true);
	if (!addr_lookup_key(local, domain, key))
		return (true);
	return ((pc->users != NULL && passwd_file_has_user(pc->users, key)) ||
	    (pc->aliases != NULL && aliases_has(pc->aliases, key)));
}

/* addr with its local part masked when it is ours. */
static void
publish_mask_ours(const struct publish_conf *pc, char *addr, size_t len)
{
	char		 masked[ADDRESS_MAX + 16];
	const char	*at;

	if (pc == NULL || addr[0] == '\0' || !publish_address_is_ours(pc, addr))
		return;
	at = strrchr(addr, '@');
	if (text_printf(masked, sizeof(masked), "%s%s", ATTACKLOG_MASK, at))
		(void)text_copy(addr, masked, len);
}

/* An incident's sender list with our addresses masked. */
static void
publish_mask_senders(const struct publish_conf *pc, char *list, size_t len)
{
	char		 out[ATTACKLOG_SENDERS_LEN], one[ADDRESS_MAX + 16];
	const char	*p, *comma;
	size_t		 n;

	out[0] = '\0';
	for (p = list; *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		n = (size_t)(comma - p);
		if (n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			publish_mask_ours(pc, one, sizeof(one));
			(void)attacklog_senders_add(out, sizeof(out), one);
		}
		if (*comma == '\0')
			break;
	}
	(void)text_copy(list, out, len);
}

/* A private copy of cfg's [publish] settings; NULL with err on bad ones. */
static struct publish_conf *
publish_conf_new(const struct config *cfg, char *err, size_t errlen)
{
	struct publish_conf	*pc;
	const struct i18n_lang	*lang;
	char			 dir[CONFIG_PATH_MAX + 16];
	size_t			 i, j;

	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		FATAL("out of memory");
	pc->enabled = cfg->publish_enabled;
	pc->recent = cfg->publish_recent;
	pc->mask = cfg->publish_mask_recipients;
	pc->delay_s = cfg->publish_delay;
	pc->hostname = publish_strdup(cfg->hostname);
	pc->db = publish_strdup(cfg->attacklog_db);
	pc->store_url = publish_strdup(cfg->store_url);
	pc->state_dir = publish_strdup(cfg->state_dir);
	if (!publish_dir_path(cfg, dir, sizeof(dir), err, errlen))
		goto fail;
	pc->dir = publish_strdup(dir);
	{
		const char *bad = "";

		if (!attack_kinds_mask(cfg->publish_kinds.items,
		    cfg->publish_kinds.count, &pc->kinds, &bad)) {
			snprintf(err, errlen, "[publish] kinds: unknown kind "
			    "\"%.32s\"", bad);
			goto fail;
		}
	}
	publish_conf_ours(pc, cfg);
	/* Loaded here, so at start-up and on SIGHUP; a bad file is a
	 * start-up error, or keeps the old settings on reload. */
	if (pc->enabled && cfg->attacklog_asn_db != NULL &&
	    *cfg->attacklog_asn_db != '\0' &&
	    (pc->asn = asn_db_load(cfg->attacklog_asn_db, err,
	    errlen)) == NULL)
		goto fail;

	if (cfg->publish_languages.count == 0) {
		snprintf(err, errlen, "[publish] languages: at least one "
		    "language is required");
		goto fail;
	}
	for (i = 0; i < cfg->publish_languages.count; i++) {
		if ((lang = i18n_find(cfg->publish_languages.items[i])) ==
		    NULL) {
			snprintf(err, errlen, "[publish] languages: unknown "
			    "language \"%.32s\" (known: ja, en)",
			    cfg->publish_languages.items[i]);
			goto fail;
		}
		for (j = 0; j < pc->nlangs; j++) {
			if (pc->langs[j] == lang)
				break;
		}
		if (j < pc->nlangs)
			continue;	/* listed twice: once is enough */
		if (pc->nlangs == PUBLISH_LANGS_MAX) {
			snprintf(err, errlen, "[publish] languages: more than "
			    "%d", PUBLISH_LANGS_MAX);
			goto fail;
		}
		pc->langs[pc->nlangs++] = lang;
	}
	return (pc);
fail:
	publish_conf_free(pc);
	return (NULL);
}

/* The store of pc, read-only (attacklog.c picks the backend). */
static struct store *
publish_store_open(const struct publish_conf *pc, char *err, size_t errlen)
{
	struct config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.attacklog_db = pc->db;
	cfg.store_url = pc->store_url;
	cfg.state_dir = pc->state_dir;
	return (attacklog_store_open(&cfg, true, err, errlen));
}

/*
 * Records.
 */

void
publish_public_record(const struct attack_record *rec, bool mask,
    struct attack_record *out)
{
	const char	*at;
	char		 masked[sizeof(out->to)];

	*out = *rec;
	/* Login names and sessions are never published, masked or not. */
	memset(out->user, 0, sizeof(out->user));
	memset(out->session, 0, sizeof(out->session));
	out->to[sizeof(out->to) - 1] = '\0';
	/* A forged-local record's recipient is one of our users: masked
	 * whatever the setting. */
	if (rec->kind == ATTACK_FORGED_LOCAL)
		mask = true;
	if (mask && out->to[0] != '\0') {
		at = strrchr(out->to, '@');
		if (!text_printf(masked, sizeof(masked), "%s%s",
		    ATTACKLOG_MASK, at != NULL ? at : ""))
			(void)text_copy(masked, ATTACKLOG_MASK,
			    sizeof(masked));
		(void)text_copy(out->to, masked, sizeof(out->to));
	}
}

static void
publish_lines_free(struct publish_lines *pl)
{
	size_t	i;

	for (i = 0; i < pl->n; i++)
		free(pl->v[i].text);
	free(pl->v);
	pl->v = NULL;
	pl->n = pl->cap = 0;
}

/* store_query() callback: keep the public form and its line. */
static int
publish_collect(const struct attack_record *rec, void *arg)
{
	struct publish_lines	*pl = arg;
	struct publish_line	*l;
	char			 line[ATTACKLOG_LINE_MAX];
	size_t			 ncap;

	if (pl->n == pl->cap) {
		ncap = pl->cap == 0 ? 64 : pl->cap * 2;
		if ((l = reallocarray(pl->v, ncap, sizeof(*l))) == NULL)
			FATAL("out of memory");
		pl->v = l;
		pl->cap = ncap;
	}
	l = &pl->v[pl->n];
	publish_public_record(rec, pl->mask, &l->rec);
	/* Our users and aliases never appear, as sender or recipient. */
	publish_mask_ours(pl->pc, l->rec.from, sizeof(l->rec.from));
	publish_mask_ours(pl->pc, l->rec.to, sizeof(l->rec.to));
	if (!attacklog_format_line(&l->rec, pl->mask, line, sizeof(line)))
		(void)text_copy(line, "?", sizeof(line));
	l->text = publish_strdup(line);
	(void)attrib_of(pl->asn, l->rec.client_ip, l->rec.client_name,
	    &l->attr);
	pl->n++;
	return (0);
}

static bool
publish_kind_is_targeted(int kind)
{
	return (kind >= 0 && kind < ATTACK_KIND_COUNT &&
	    attack_kind_is_targeted((enum attack_kind)kind));
}

/* Read everything the pages show; -1 with err set. */
static int
publish_load(struct store *st, const struct publish_conf *pc,
    struct publish_data *d, char *err, size_t errlen)
{
	struct store_query	 q;
	size_t			 i, n, first;
	int			 k;

	d->recent.mask = pc->mask;
	d->recent.pc = pc;
	d->recent.asn = pc->asn;
	if ((d->hist = calloc(PUBLISH_HISTORY_DAYS, sizeof(*d->hist))) ==
	    NULL)
		FATAL("out of memory");
	if (store_totals(st, &d->totals) != 0 ||
	    store_daily(st, d->now_us, PUBLISH_HISTORY_DAYS, d->hist) != 0 ||
	    store_top(st, d->addrs, PUBLISH_TOP, &d->naddrs, d->nets,
	    PUBLISH_TOP, &d->nnets) != 0 ||
	    store_incidents(st, d->incidents, PUBLISH_INCIDENTS,
	    &d->nincidents) != 0) {
		snprintf(err, errlen, "attack log: %s", store_errmsg(st));
		return (-1);
	}
	for (i = 0; i < d->nincidents; i++)
		publish_mask_senders(pc, d->incidents[i].senders,
		    sizeof(d->incidents[i].senders));
	memset(&q, 0, sizeof(q));
	q.kind = -1;
	q.limit = pc->recent;
	if (store_query(st, &q, publish_collect, &d->recent) != 0) {
		snprintf(err, errlen, "attack log: %s", store_errmsg(st));
		return (-1);
	}

	n = PUBLISH_HISTORY_DAYS;
	d->days = &d->hist[n - PUBLISH_CHART_DAYS];
	d->today = d->hist[n - 1].count;
	for (i = n - 30; i < n; i++) {
		d->last30 += d->hist[i].count;
		for (k = 0; k < ATTACK_KIND_COUNT; k++)
			d->last30_by_kind[k] += d->hist[i].by_kind[k];
	}
	for (first = 0; first < n && d->hist[first].count == 0; first++)
		;
	if (first < n) {
		memcpy(d->first_day, d->hist[first].day, STORE_DAY_MAX);
		/* Counts older than the history looked at exist. */
		d->first_before = (first == 0);
	} else if (d->totals.total > 0) {
		memcpy(d->first_day, d->hist[0].day, STORE_DAY_MAX);
		d->first_before = true;
	}
	return (0);
}

static void
publish_data_free(struct publish_data *d)
{
	free(d->hist);
	publish_lines_free(&d->recent);
	free(d->bans.v);
}

static int
publish_collect_ban(const struct ban_entry *e, void *arg)
{
	struct publish_bans	*b = arg;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		if ((b->v = reallocarray(b->v, b->cap, sizeof(*b->v))) == NULL)
			FATAL("out of memory");
	}
	b->v[b->n++] = *e;
	return (0);
}

static int
publish_ban_cmp(const void *a, const void *b)
{
	const struct ban_entry	*x = a, *y = b;

	return (x->expires_us < y->expires_us ? -1 :
	    x->expires_us > y->expires_us);
}

/* The bans in force at d->now_us, soonest end first. */
static int
publish_load_bans(struct store *st, struct publish_data *d, char *err,
    size_t errlen)
{
	if (store_ban_list(st, d->now_us, publish_collect_ban, &d->bans) !=
	    0) {
		snprintf(err, errlen, "bans: %s", store_errmsg(st));
		return (-1);
	}
	if (d->bans.n > 1)
		qsort(d->bans.v, d->bans.n, sizeof(*d->bans.v),
		    publish_ban_cmp);
	return (0);
}

/*
 * Files.
 */

static int
publish_fail(struct publish_ctx *ctx, const char *what, const char *name)
{
	snprintf(ctx->err, ctx->errlen, "%s/%s: %s: %s", ctx->conf->dir,
	    name, what, strerror(errno));
	return (-1);
}

/* True when dirfd/name holds exactly e's bytes. */
static bool
publish_same(int dirfd, const char *name, const struct emit *e)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 r;
	size_t		 got = 0;
	bool		 same = false;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return (false);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size != e->len) {
		close(fd);
		return (false);
	}
	if ((buf = malloc(e->len + 1)) == NULL)
		FATAL("out of memory");
	while (got < e->len) {
		r = read(fd, buf + got, e->len - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	same = (got == e->len && memcmp(buf, e->buf, e->len) == 0);
	free(buf);
	close(fd);
	return (same);
}

/*
 * Write e's bytes as dirfd/name: temp file in the same directory, fsync,
 * rename. With compare, an identical file is left alone.
 */
static int
publish_put(struct publish_ctx *ctx, bool inc, const char *name,
    bool compare)
{
	const struct emit	*e = &ctx->e;
	char			 tmp[256];
	size_t			 off = 0;
	ssize_t			 w;
	int			 dirfd = inc ? ctx->incfd : ctx->topfd;
	int			 fd;

	ctx->files++;
	if (compare && publish_same(dirfd, name, e))
		return (0);
	if (!text_printf(tmp, sizeof(tmp), ".%s.%ld.tmp", name,
	    (long)getpid())) {
		errno = ENAMETOOLONG;
		return (publish_fail(ctx, "temp name", name));
	}
	/* A fresh file: never one planted (or hard-linked) under this name. */
	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		return (publish_fail(ctx, "unlink", tmp));
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1)
		return (publish_fail(ctx, "create", tmp));
	while (off < e->len) {
		if ((w = write(fd, e->buf + off, e->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	/* Readable by a web server whatever our umask. */
	if (fchmod(fd, 0644) != 0 ||
	    (ctx->chown && fchown(fd, ctx->uid, ctx->gid) != 0) ||
	    fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) != 0)
		goto fail;
	if (inc)
		ctx->incdirty = true;
	else
		ctx->topdirty = true;
	ctx->written++;
	return (0);
fail:
	(void)publish_fail(ctx, "write", tmp);
	if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	return (-1);
}

/* Remove ".NAME.PID.tmp" files that a crash left behind. */
static void
publish_sweep(int dirfd)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*dp;
	size_t		 len;
	time_t		 now = time(NULL);
	int		 fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] != '.' || len < 6 ||
		    strcmp(de->d_name + len - 4, ".tmp") != 0)
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode) &&
		    now - sb.st_mtime > PUBLISH_STALE_TMP_S)
			(void)unlinkat(dirfd, de->d_name, 0);
	}
	closedir(dp);
}

/*
 * Open (making them as needed) the site directory and its incidents/.
 * Run as root (`pillory publish` by the admin), new files and folders get
 * the owner of the site directory, or of its parent when we make it, so
 * the daemon, running as [server] user, can still replace them.
 */
static int
publish_open_dirs(struct publish_ctx *ctx)
{
	struct stat	 sb, parent;
	const char	*dir = ctx->conf->dir;
	char		 up[CONFIG_PATH_MAX + 16], *slash;
	bool		 made = false;

	if (mkdir(dir, 0755) == 0)
		made = true;
	else if (errno != EEXIST) {
		snprintf(ctx->err, ctx->errlen, "%s: mkdir: %s", dir,
		    strerror(errno));
		return (-1);
	}
	/* As root (`pillory publish` by the admin) never through a link:
	 * the daemon's user may have planted one under state_dir. */
	if ((ctx->topfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (geteuid() == 0 ? O_NOFOLLOW : 0))) == -1) {
		int e = errno;

		snprintf(ctx->err, ctx->errlen, "%s: %s", dir,
		    lstat(dir, &sb) == 0 && S_ISLNK(sb.st_mode) ? "a symbolic "
		    "link, not followed as root" : strerror(e));
		return (-1);
	}
	if (geteuid() == 0 && fstat(ctx->topfd, &sb) == 0) {
		ctx->chown = true;
		ctx->uid = sb.st_uid;
		ctx->gid = sb.st_gid;
		if (made && text_copy(up, dir, sizeof(up)) &&
		    (slash = strrchr(up, '/')) != NULL) {
			if (slash == up)
				slash[1] = '\0';
			else
				*slash = '\0';
			if (stat(up, &parent) == 0) {
				ctx->uid = parent.st_uid;
				ctx->gid = parent.st_gid;
				if (fchown(ctx->topfd, ctx->uid,
				    ctx->gid) != 0)
					log_warn("%s: chown: %s", dir,
					    strerror(errno));
			}
		}
	}
	if (mkdirat(ctx->topfd, "incidents", 0755) == 0) {
		if (ctx->chown && fchownat(ctx->topfd, "incidents", ctx->uid,
		    ctx->gid, AT_SYMLINK_NOFOLLOW) != 0)
			log_warn("%s/incidents: chown: %s", dir,
			    strerror(errno));
		ctx->topdirty = true;
	} else if (errno != EEXIST) {
		snprintf(ctx->err, ctx->errlen, "%s/incidents: mkdir: %s",
		    dir, strerror(errno));
		return (-1);
	}
	if ((ctx->incfd = openat(ctx->topfd, "incidents", O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(ctx->err, ctx->errlen, "%s/incidents: %s", dir,
		    strerror(errno));
		return (-1);
	}
	if (ctx->sweep) {
		publish_sweep(ctx->topfd);
		publish_sweep(ctx->incfd);
	}
	return (0);
}

/* Make the generation's renames durable; close the directories. */
static int
publish_close_dirs(struct publish_ctx *ctx, int rc)
{
	if (rc == 0 && ctx->incdirty && fsync(ctx->incfd) != 0)
		rc = publish_fail(ctx, "fsync", "incidents");
	if (rc == 0 && ctx->topdirty && fsync(ctx->topfd) != 0)
		rc = publish_fail(ctx, "fsync", ".");
	if (ctx->incfd != -1)
		close(ctx->incfd);
	if (ctx->topfd != -1)
		close(ctx->topfd);
	ctx->incfd = ctx->topfd = -1;
	return (rc);
}

/*
 * Small pieces of pages.
 */

/* Local calendar day of t_us, for "same day" checks. */
static void
publish_local_day(int64_t t_us, int *y, int *m, int *d)
{
	struct tm	tm;
	time_t		t = (time_t)(t_us / 1000000);

	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	*y = tm.tm_year;
	*m = tm.tm_mon;
	*d = tm.tm_mday;
}

/* <time datetime="RFC 3339">date in lang</time> */
static void
emit_time(struct emit *e, const struct i18n_lang *lang, int64_t t_us,
    bool time_only)
{
	char	iso[48], shown[I18N_DATE_MAX];
	time_t	t = (time_t)(t_us / 1000000);
	struct tm tm;

	if (!attacklog_format_time(t_us, false, iso, sizeof(iso)))
		iso[0] = '\0';
	if (time_only && localtime_r(&t, &tm) != NULL)
		(void)text_printf(shown, sizeof(shown), "%02d:%02d",
		    tm.tm_hour, tm.tm_min);
	else if (!i18n_time(lang, t_us, shown, sizeof(shown)))
		shown[0] = '\0';
	emit_raw(e, "<time datetime=\"");
	emit_text(e, iso);
	emit_raw(e, "\">");
	emit_text(e, shown);
	emit_raw(e, "</time>");
}

/* "first – last", the second as a time alone on the same local day. */
static void
emit_period(struct emit *e, const struct i18n_lang *lang, int64_t first_us,
    int64_t last_us)
{
	int	y1, m1, d1, y2, m2, d2;

	publish_local_day(first_us, &y1, &m1, &d1);
	publish_local_day(last_us, &y2, &m2, &d2);
	emit_time(e, lang, first_us, false);
	emit_raw(e, " \xe2\x80\x93 ");
	emit_time(e, lang, last_us, y1 == y2 && m1 == m2 && d1 == d2);
}

static void
emit_msg(struct emit *e, const struct i18n_lang *lang, enum i18n_msg id)
{
	emit_text(e, i18n_msg(lang, id));
}

static void
emit_msg1(struct emit *e, const struct i18n_lang *lang, enum i18n_msg id,
    const char *a1)
{
	const char	*args[1] = { a1 };

	emit_template(e, i18n_msg(lang, id), args, 1);
}

static void
emit_msg2(struct emit *e, const struct i18n_lang *lang, enum i18n_msg id,
    const char *a1, const char *a2)
{
	const char	*args[2] = { a1, a2 };

	emit_template(e, i18n_msg(lang, id), args, 2);
}

/* A number grouped by thousands, as text for a template. */
static const char *
publish_num(uint64_t v, char *buf, size_t len)
{
	struct emit	e;

	emit_init(&e);
	emit_u64_grouped(&e, v);
	(void)text_copy(buf, e.buf, len);
	emit_free(&e);
	return (buf);
}

/* A day's long form ("2002年3月8日"), or the day itself. */
static const char *
publish_day(const struct i18n_lang *lang, const char *day, bool shortform,
    char *buf, size_t len)
{
	if (!i18n_day(lang, day, shortform, buf, len))
		(void)text_copy(buf, day, len);
	return (buf);
}

/* The colour swatch of a kind: a small inline SVG, printed as drawn. */
static void
emit_swatch(struct emit *e, int kind)
{
	emit_fmt(e, "<svg width=\"12\" height=\"12\" aria-hidden=\"true\">"
	    "<rect width=\"12\" height=\"12\" fill=\"%s\"/></svg> ",
	    publish_kind_colors[kind]);
}

/* The kind names of a bitmask, joined by the language's separator. */
static void
emit_kinds(struct emit *e, const struct i18n_lang *lang, uint32_t kinds)
{
	int	k;
	bool	first = true;

	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		if ((kinds & ((uint32_t)1 << k)) == 0)
			continue;
		if (!first)
			emit_msg(e, lang, MSG_LIST_SEP);
		emit_text(e, i18n_kind(lang, k));
		first = false;
	}
}

/* An incident's comma-separated senders, at most max (0: all). */
static void
emit_senders(struct emit *e, const struct i18n_lang *lang,
    const char *list, size_t max)
{
	const char	*p, *comma;
	size_t		 n = 0;

	for (p = list; *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		if (max > 0 && n == max) {
			emit_raw(e, "\xe2\x80\xa6");
			break;
		}
		if (n > 0)
			emit_msg(e, lang, MSG_LIST_SEP);
		emit_textn(e, p, (size_t)(comma - p));
		n++;
		if (*comma == '\0')
			break;
	}
	if (n == 0)
		emit_raw(e, "\xe2\x80\x94");
}

/*
 * A network for people, in lang: "kornet.net, AS4766 NAME, 韓国" (the AS
 * name only when full); nothing when nothing is known. AS numbers are
 * plain text: the page links nowhere outside and loads nothing.
 */
static void
emit_network(struct emit *e, const struct i18n_lang *lang,
    const struct attrib *a, bool full)
{
	bool	sep = false;

	if (a->org_domain[0] != '\0') {
		emit_text(e, a->org_domain);
		sep = true;
	}
	if (a->asn != 0) {
		if (sep)
			emit_msg(e, lang, MSG_LIST_SEP);
		emit_fmt(e, "AS%u", (unsigned)a->asn);
		if (full && a->as_name[0] != '\0') {
			emit_raw(e, " ");
			emit_text(e, a->as_name);
		}
		sep = true;
	}
	if (a->country[0] != '\0') {
		if (sep)
			emit_msg(e, lang, MSG_LIST_SEP);
		emit_text(e, country_name(a->country, lang->code));
	}
}

/* The page's log lines in a <pre>, targeted kinds in bold. */
static void
emit_lines(struct emit *e, const struct i18n_lang *lang,
    const struct publish_lines *pl, const char *id)
{
	size_t	i;
	int	width;

	emit_raw(e, "<pre");
	if (id != NULL) {
		emit_raw(e, " id=\"");
		emit_text(e, id);
		emit_raw(e, "\"");
	}
	emit_raw(e, ">");
	/* One block per line, so that a line wrapped on a phone hangs
	 * indented under its own start. */
	/* Each line: its running number, the 2002 line, the kind in words
	 * (not colour alone) and the client's network when known. */
	width = pl->n >= 1000 ? 4 : pl->n >= 100 ? 3 : pl->n >= 10 ? 2 : 1;
	for (i = 0; i < pl->n; i++) {
		emit_raw(e, publish_kind_is_targeted((int)pl->v[i].rec.kind) ?
		    "<span class=\"l t\">" : "<span class=\"l\">");
		emit_fmt(e, "<span class=\"no\">%*zu</span> ", width, i + 1);
		emit_text(e, pl->v[i].text);
		emit_raw(e, "  <span class=\"kw\">[");
		emit_text(e, i18n_kind(lang, (int)pl->v[i].rec.kind));
		emit_raw(e, "]</span>");
		if (!attrib_is_empty(&pl->v[i].attr)) {
			emit_raw(e, " <span class=\"net\">(");
			emit_network(e, lang, &pl->v[i].attr, false);
			emit_raw(e, ")</span>");
		}
		emit_raw(e, "\n</span>");
	}
	emit_raw(e, "</pre>\n");
}

/* Where a page of lang is, seen from the top or from incidents/. */
enum publish_page { PAGE_INDEX, PAGE_INCIDENT };

static void
emit_href(struct emit *e, enum publish_page page, int64_t id,
    const struct i18n_lang *lang, bool from_inc)
{
	if (page == PAGE_INDEX) {
		emit_raw(e, from_inc ? "../index." : "index.");
		emit_text(e, lang->code);
		emit_raw(e, ".html");
		return;
	}
	emit_fmt(e, "%s%lld.", from_inc ? "" : "incidents/", (long long)id);
	emit_text(e, lang->code);
	emit_raw(e, ".html");
}

/* <!DOCTYPE> to <body>, and the language switcher. */
static void
emit_head(struct publish_ctx *ctx, const struct i18n_lang *lang,
    enum publish_page page, int64_t id, const char *title_prefix,
    bool with_feed)
{
	struct emit		*e = &ctx->e;
	const struct i18n_lang	*other;
	bool			 from_inc = (page == PAGE_INCIDENT);
	size_t			 i;

	emit_raw(e, "<!DOCTYPE html>\n<html lang=\"");
	emit_text(e, lang->code);
	emit_raw(e, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<meta name=\"generator\" content=\"pillory ");
	emit_text(e, PILLORY_VERSION);
	emit_raw(e, "\">\n<title>");
	if (title_prefix != NULL) {
		emit_text(e, title_prefix);
		emit_raw(e, " \xe2\x80\x94 ");
	}
	emit_msg(e, lang, MSG_TITLE);
	emit_raw(e, " \xe2\x80\x94 ");
	emit_text(e, ctx->conf->hostname);
	emit_raw(e, "</title>\n");
	for (i = 0; i < ctx->conf->nlangs; i++) {
		other = ctx->conf->langs[i];
		if (other == lang)
			continue;
		emit_raw(e, "<link rel=\"alternate\" hreflang=\"");
		emit_text(e, other->code);
		emit_raw(e, "\" href=\"");
		emit_href(e, page, id, other, from_inc);
		emit_raw(e, "\">\n");
	}
	if (with_feed) {
		emit_raw(e, "<link rel=\"alternate\" "
		    "type=\"application/atom+xml\" title=\"");
		emit_msg(e, lang, MSG_FEED);
		emit_raw(e, from_inc ? "\" href=\"../feed." : "\" href=\"feed.");
		emit_text(e, lang->code);
		emit_raw(e, ".atom\">\n");
	}
	emit_raw(e, "<style>");
	emit_raw(e, publish_css);
	emit_raw(e, "</style>\n</head>\n<body>\n");
	if (ctx->conf->nlangs > 1) {
		emit_raw(e, "<nav class=\"lang\">");
		for (i = 0; i < ctx->conf->nlangs; i++) {
			other = ctx->conf->langs[i];
			if (other == lang) {
				emit_raw(e, "<strong>");
				emit_msg(e, other, MSG_LANG_NAME);
				emit_raw(e, "</strong>");
				continue;
			}
			emit_raw(e, "<a href=\"");
			emit_href(e, page, id, other, from_inc);
			emit_raw(e, "\" hreflang=\"");
			emit_text(e, other->code);
			emit_raw(e, "\" lang=\"");
			emit_text(e, other->code);
			emit_raw(e, "\">");
			emit_msg(e, other, MSG_LANG_NAME);
			emit_raw(e, "</a>");
		}
		emit_raw(e, "</nav>\n");
	}
}

static void
emit_foot(struct publish_ctx *ctx, const struct i18n_lang *lang,
    bool from_inc, bool links)
{
	struct emit	*e = &ctx->e;

	emit_raw(e, "<footer>\n");
	if (links) {
		emit_raw(e, "<p><a href=\"");
		emit_raw(e, from_inc ? "../feed." : "feed.");
		emit_text(e, lang->code);
		emit_raw(e, ".atom\">");
		emit_msg(e, lang, MSG_FEED);
		emit_raw(e, "</a> \xc2\xb7 <a href=\"");
		emit_raw(e, from_inc ? "../" : "");
		emit_raw(e, "attacks.json\">");
		emit_msg(e, lang, MSG_JSON);
		emit_raw(e, "</a></p>\n");
		emit_raw(e, "<p>");
		emit_msg1(e, lang, MSG_TIMES_NOTE, ctx->offset);
		emit_raw(e, "</p>\n");
	}
	emit_raw(e, "<p>");
	emit_msg1(e, lang, MSG_FOOTER, PILLORY_VERSION);
	emit_raw(e, "</p>\n</footer>\n</body>\n</html>\n");
}

/*
 * The index page.
 */

static void
emit_counts(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;
	char		 day[I18N_DATE_MAX];
	int		 k;

	emit_raw(e, "<section id=\"counts\">\n<h2>");
	emit_msg(e, lang, MSG_COUNTS);
	emit_raw(e, "</h2>\n<div class=\"cards\">\n<p class=\"card\">");
	emit_msg(e, lang, MSG_TOTAL);
	emit_raw(e, " <span class=\"big\" id=\"total\">");
	emit_u64_grouped(e, d->totals.total);
	emit_raw(e, "</span>");
	if (d->first_day[0] != '\0') {
		emit_raw(e, "<span class=\"sub\">");
		emit_msg1(e, lang, d->first_before ? MSG_SINCE_BEFORE :
		    MSG_SINCE, publish_day(lang, d->first_day, false, day,
		    sizeof(day)));
		emit_raw(e, "</span>");
	}
	emit_raw(e, "</p>\n<p class=\"card\">");
	emit_msg(e, lang, MSG_TODAY);
	emit_raw(e, " <span class=\"big\" id=\"today\">");
	emit_u64_grouped(e, d->today);
	emit_raw(e, "</span></p>\n<p class=\"card\">");
	emit_msg(e, lang, MSG_LAST30);
	emit_raw(e, " <span class=\"big\" id=\"last30\">");
	emit_u64_grouped(e, d->last30);
	emit_raw(e, "</span></p>\n<p class=\"card\">");
	emit_msg(e, lang, MSG_INCIDENTS_KEPT);
	emit_raw(e, " <span class=\"big\" id=\"incidents-kept\">");
	emit_u64_grouped(e, d->totals.incidents);
	emit_raw(e, "</span></p>\n</div>\n");

	emit_raw(e, "<div class=\"scroll\"><table>\n<thead><tr>"
	    "<th scope=\"col\">");
	emit_msg(e, lang, MSG_KIND);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	emit_msg(e, lang, MSG_TOTAL);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	emit_msg(e, lang, MSG_LAST30);
	emit_raw(e, "</th></tr></thead>\n<tbody>\n");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		emit_raw(e, "<tr><th scope=\"row\">");
		emit_swatch(e, k);
		emit_text(e, i18n_kind(lang, k));
		emit_raw(e, "<br><span class=\"note\">");
		emit_text(e, i18n_kind_desc(lang, k));
		emit_raw(e, "</span></th><td class=\"n\" id=\"kind-");
		emit_text(e, attack_kind_name((enum attack_kind)k));
		emit_raw(e, "\">");
		emit_u64_grouped(e, d->totals.by_kind[k]);
		emit_raw(e, "</td><td class=\"n\">");
		emit_u64_grouped(e, d->last30_by_kind[k]);
		emit_raw(e, "</td></tr>\n");
	}
	emit_raw(e, "</tbody>\n</table></div>\n</section>\n");
}

/* A step of 1, 2 or 5 times a power of ten with ticks * step >= max. */
static uint64_t
publish_nice_step(uint64_t max, uint64_t ticks)
{
	uint64_t	raw = (max + ticks - 1) / ticks, p = 1;

	if (raw == 0)
		raw = 1;
	while (p <= UINT64_MAX / 10 && p * 10 <= raw)
		p *= 10;
	if (raw <= p)
		return (p);
	if (raw <= 2 * p)
		return (2 * p);
	if (raw <= 5 * p)
		return (5 * p);
	return (10 * p);
}

/* Chart geometry, in SVG user units. */
#define CHART_W		480
#define CHART_H		240
#define CHART_X0	64
#define CHART_X1	472
#define CHART_Y0	10
#define CHART_Y1	200
#define CHART_TICKS	4

static void
emit_chart(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit		*e = &ctx->e;
	const struct store_day	*days = d->days;
	char			 a[I18N_DATE_MAX], b[I18N_DATE_MAX];
	char			 c[I18N_DATE_MAX], n1[32], n2[32];
	const char		*args[5];
	uint64_t		 max = 0, sum = 0, step, top, ntick, t, below;
	size_t			 i, busiest = 0;
	double			 slot, x, y, h, plot = CHART_Y1 - CHART_Y0;
	int			 k;

	for (i = 0; i < PUBLISH_CHART_DAYS; i++) {
		sum += days[i].count;
		if (days[i].count > max) {
			max = days[i].count;
			busiest = i;
		}
	}
	step = publish_nice_step(max, CHART_TICKS);
	ntick = max == 0 ? CHART_TICKS : (max + step - 1) / step;
	top = step * ntick;
	slot = (double)(CHART_X1 - CHART_X0) / PUBLISH_CHART_DAYS;

	emit_raw(e, "<section id=\"chart\">\n<h2>");
	emit_msg(e, lang, MSG_CHART);
	emit_raw(e, "</h2>\n<figure>\n");
	emit_fmt(e, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
	    "xmlns=\"http://www.w3.org/2000/svg\">\n<title>", CHART_W, CHART_H);
	emit_msg(e, lang, MSG_CHART);
	emit_raw(e, "</title>\n<desc>");
	args[0] = publish_day(lang, days[0].day, false, a, sizeof(a));
	args[1] = publish_day(lang, days[PUBLISH_CHART_DAYS - 1].day, false,
	    b, sizeof(b));
	args[2] = publish_num(sum, n1, sizeof(n1));
	args[3] = publish_day(lang, days[busiest].day, false, c, sizeof(c));
	args[4] = publish_num(max, n2, sizeof(n2));
	emit_template(e, i18n_msg(lang, sum > 0 ? MSG_CHART_DESC :
	    MSG_CHART_DESC_NONE), args, 5);
	emit_raw(e, "</desc>\n");

	/* Grid lines and the count axis. */
	for (t = 0; t <= ntick; t++) {
		y = CHART_Y1 - plot * (double)t / (double)ntick;
		emit_fmt(e, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		    "stroke=\"%s\"/>", CHART_X0, y, CHART_X1, y,
		    t == 0 ? "#333" : "#ddd");
		emit_fmt(e, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
		    CHART_X0 - 4, y + 4);
		emit_u64_grouped(e, step * t);
		emit_raw(e, "</text>\n");
	}
	emit_fmt(e, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	    "stroke=\"#333\"/>\n", CHART_X0, CHART_Y0, CHART_X0, CHART_Y1);

	/* Bars, one stack per day, kinds from the bottom in enum order. */
	for (i = 0; i < PUBLISH_CHART_DAYS; i++) {
		if (days[i].count == 0)
			continue;
		x = CHART_X0 + slot * (double)i + 0.5;
		emit_raw(e, "<g><title>");
		emit_text(e, publish_day(lang, days[i].day, false, a,
		    sizeof(a)));
		emit_raw(e, ": ");
		emit_u64_grouped(e, days[i].count);
		emit_raw(e, "</title>");
		below = 0;
		for (k = 0; k < ATTACK_KIND_COUNT; k++) {
			if (days[i].by_kind[k] == 0)
				continue;
			h = plot * (double)days[i].by_kind[k] / (double)top;
			y = CHART_Y1 - plot * (double)(below +
			    days[i].by_kind[k]) / (double)top;
			below += days[i].by_kind[k];
			emit_fmt(e, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			    "height=\"%.2f\" fill=\"%s\"/>", x, y, slot - 1.0,
			    h < 0.5 ? 0.5 : h, publish_kind_colors[k]);
		}
		emit_raw(e, "</g>\n");
	}

	/* Day labels every 15 days, counted back from today. */
	for (i = PUBLISH_CHART_DAYS; i-- > 0;) {
		if ((PUBLISH_CHART_DAYS - 1 - i) % 15 != 0)
			continue;
		x = CHART_X0 + slot * ((double)i + 0.5);
		emit_fmt(e, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		    "stroke=\"#333\"/>", x, CHART_Y1, x, CHART_Y1 + 4);
		emit_fmt(e, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">",
		    i == PUBLISH_CHART_DAYS - 1 ? (double)CHART_X1 + 2 : x,
		    CHART_Y1 + 18, i == PUBLISH_CHART_DAYS - 1 ? "end" :
		    "middle");
		emit_text(e, publish_day(lang, days[i].day, true, a,
		    sizeof(a)));
		emit_raw(e, "</text>\n");
	}
	emit_raw(e, "</svg>\n<figcaption><ul class=\"legend\">");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		emit_raw(e, "<li>");
		emit_swatch(e, k);
		emit_text(e, i18n_kind(lang, k));
		emit_raw(e, "</li>");
	}
	emit_raw(e, "</ul></figcaption>\n</figure>\n");

	/* The same numbers as a table: the chart's text alternative. */
	emit_raw(e, "<details>\n<summary>");
	emit_msg(e, lang, MSG_CHART_TABLE);
	emit_raw(e, "</summary>\n<div class=\"scroll\"><table>\n<thead><tr>"
	    "<th scope=\"col\">");
	emit_msg(e, lang, MSG_DAY);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	emit_msg(e, lang, MSG_TOTAL);
	emit_raw(e, "</th>");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		emit_raw(e, "<th scope=\"col\" class=\"n\">");
		emit_text(e, i18n_kind(lang, k));
		emit_raw(e, "</th>");
	}
	emit_raw(e, "</tr></thead>\n<tbody>\n");
	for (i = PUBLISH_CHART_DAYS; i-- > 0;) {
		emit_raw(e, "<tr><th scope=\"row\">");
		emit_text(e, publish_day(lang, days[i].day, false, a,
		    sizeof(a)));
		emit_raw(e, "</th><td class=\"n\">");
		emit_u64_grouped(e, days[i].count);
		emit_raw(e, "</td>");
		for (k = 0; k < ATTACK_KIND_COUNT; k++) {
			emit_raw(e, "<td class=\"n\">");
			emit_u64_grouped(e, days[i].by_kind[k]);
			emit_raw(e, "</td>");
		}
		emit_raw(e, "</tr>\n");
	}
	emit_raw(e, "</tbody>\n</table></div>\n</details>\n</section>\n");
}

static void
emit_recent(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;
	char		 a[32], b[32];

	emit_raw(e, "<section id=\"recent\">\n<h2>");
	emit_msg(e, lang, MSG_RECENT);
	emit_raw(e, "</h2>\n");
	if (d->recent.n == 0) {
		emit_raw(e, "<p>");
		emit_msg(e, lang, MSG_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	emit_raw(e, "<p class=\"note\">");
	emit_msg2(e, lang, ctx->conf->mask ? MSG_RECENT_NOTE :
	    MSG_RECENT_NOTE_UNMASKED, publish_num(d->recent.n, a, sizeof(a)),
	    publish_num(d->totals.total, b, sizeof(b)));
	emit_raw(e, "</p>\n");
	emit_lines(e, lang, &d->recent, "log");
	emit_raw(e, "</section>\n");
}

static void
emit_incidents(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit			*e = &ctx->e;
	const struct store_incident	*in;
	struct attrib			 at;
	char				 a[32];
	size_t				 i;

	emit_raw(e, "<section id=\"incidents\">\n<h2>");
	emit_msg(e, lang, MSG_INCIDENTS);
	emit_raw(e, "</h2>\n");
	if (d->nincidents == 0) {
		emit_raw(e, "<p>");
		emit_msg(e, lang, MSG_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	emit_raw(e, "<p class=\"note\">");
	emit_msg1(e, lang, MSG_INCIDENTS_NOTE, publish_num(d->nincidents, a,
	    sizeof(a)));
	/* A list of small cards, not a table: readable on a phone. */
	emit_raw(e, "</p>\n<ol class=\"incidents\">\n");
	for (i = 0; i < d->nincidents; i++) {
		in = &d->incidents[i];
		emit_raw(e, "<li><a href=\"");
		emit_href(e, PAGE_INCIDENT, in->id, lang, false);
		emit_fmt(e, "\">#%lld</a> <strong>", (long long)in->id);
		emit_text(e, in->client_ip);
		emit_raw(e, "</strong> <span class=\"note\">");
		emit_text(e, in->client_name[0] != '\0' ? in->client_name :
		    "unknown");
		emit_raw(e, "</span>");
		if (attrib_of(ctx->conf->asn, in->client_ip, in->client_name,
		    &at)) {
			emit_raw(e, " <span class=\"net\">");
			emit_network(e, lang, &at, false);
			emit_raw(e, "</span>");
		}
		emit_raw(e, "<br>");
		emit_period(e, lang, in->first_us, in->last_us);
		emit_raw(e, " \xc2\xb7 ");
		emit_msg(e, lang, MSG_ATTEMPTS);
		emit_raw(e, " ");
		emit_u64_grouped(e, in->count);
		emit_raw(e, in->targeted ? " \xc2\xb7 <span class=\"targeted\">" :
		    " \xc2\xb7 <span>");
		emit_msg(e, lang, MSG_TARGETED);
		emit_raw(e, ": ");
		emit_msg(e, lang, in->targeted ? MSG_YES : MSG_NO);
		emit_raw(e, "</span><br><span class=\"note\">");
		emit_msg(e, lang, MSG_SENDERS);
		emit_raw(e, ": ");
		emit_senders(e, lang, in->senders, PUBLISH_SENDERS_SHOWN);
		emit_raw(e, "</span></li>\n");
	}
	emit_raw(e, "</ol>\n</section>\n");
}

static void
emit_top_table(struct emit *e, const struct i18n_lang *lang,
    enum i18n_msg head, const struct store_top *t, size_t n, const char *id)
{
	size_t	i;

	emit_raw(e, "<div class=\"scroll\"><table id=\"");
	emit_text(e, id);
	emit_raw(e, "\">\n<thead><tr><th scope=\"col\">");
	emit_msg(e, lang, head);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	emit_msg(e, lang, MSG_ATTEMPTS);
	emit_raw(e, "</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < n; i++) {
		emit_raw(e, "<tr><td>");
		emit_text(e, t[i].key);
		emit_raw(e, "</td><td class=\"n\">");
		emit_u64_grouped(e, t[i].count);
		emit_raw(e, "</td></tr>\n");
	}
	emit_raw(e, "</tbody>\n</table></div>\n");
}

static void
emit_top(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;

	emit_raw(e, "<section id=\"top\">\n<h2>");
	emit_msg(e, lang, MSG_TOP);
	emit_raw(e, "</h2>\n");
	if (d->nnets == 0 && d->naddrs == 0) {
		emit_raw(e, "<p>");
		emit_msg(e, lang, MSG_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	emit_raw(e, "<p class=\"note\">");
	emit_msg(e, lang, MSG_TOP_NOTE);
	emit_raw(e, "</p>\n<div class=\"tops\">\n");
	emit_top_table(e, lang, MSG_NETWORK, d->nets, d->nnets,
	    "top-networks");
	emit_top_table(e, lang, MSG_ADDRESS, d->addrs, d->naddrs,
	    "top-addresses");
	emit_raw(e, "</div>\n</section>\n");
}

/* Current bans: their number and the networks with their end. */
static void
emit_bans(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;
	char		 net[BAN_NET_TEXT_MAX], num[32];
	size_t		 i;

	emit_raw(e, "<section id=\"bans\">\n<h2>");
	emit_msg(e, lang, MSG_BANS_TITLE);
	emit_raw(e, "</h2>\n<p>");
	if (d->bans.n == 0) {
		emit_msg(e, lang, MSG_BANS_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	emit_msg1(e, lang, MSG_BANS_COUNT, publish_num(d->bans.n, num,
	    sizeof(num)));
	emit_raw(e, "</p>\n<div class=\"scroll\"><table id=\"ban-list\">\n"
	    "<thead><tr><th scope=\"col\">");
	emit_msg(e, lang, MSG_NETWORK);
	emit_raw(e, "</th><th scope=\"col\">");
	emit_msg(e, lang, MSG_BANS_UNTIL);
	emit_raw(e, "</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < d->bans.n && i < PUBLISH_BANS_SHOWN; i++) {
		if (!ban_net_format(&d->bans.v[i].net, net, sizeof(net)))
			continue;
		emit_raw(e, "<tr><td>");
		emit_text(e, net);
		emit_raw(e, "</td><td>");
		emit_time(e, lang, d->bans.v[i].expires_us, false);
		emit_raw(e, "</td></tr>\n");
	}
	emit_raw(e, "</tbody>\n</table></div>\n</section>\n");
}

static void
emit_index(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;

	emit_head(ctx, lang, PAGE_INDEX, 0, NULL, true);
	emit_raw(e, "<header>\n<p class=\"crumb\">");
	emit_msg(e, lang, MSG_SITE);
	emit_raw(e, "</p>\n<h1>");
	emit_msg(e, lang, MSG_TITLE);
	emit_raw(e, "</h1>\n<p>");
	emit_msg1(e, lang, MSG_INTRO, ctx->conf->hostname);
	emit_raw(e, "</p>\n<p class=\"note\">");
	emit_msg(e, lang, MSG_UPDATED);
	emit_raw(e, ": ");
	emit_time(e, lang, d->now_us, false);
	emit_raw(e, "</p>\n</header>\n<main>\n");
	emit_counts(ctx, lang, d);
	emit_chart(ctx, lang, d);
	emit_recent(ctx, lang, d);
	emit_incidents(ctx, lang, d);
	emit_top(ctx, lang, d);
	emit_bans(ctx, lang, d);
	emit_raw(e, "</main>\n");
	emit_foot(ctx, lang, false, true);
}

/*
 * Incident pages. Nothing on them depends on the time of generation, so
 * an unchanged incident's page is not rewritten.
 */

static void
emit_incident(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct store_incident *in, const struct publish_lines *lines)
{
	struct emit	*e = &ctx->e;
	struct attrib	 at;
	char		 id[32], a[32], b[32];

	(void)text_printf(id, sizeof(id), "%lld", (long long)in->id);
	(void)text_printf(a, sizeof(a), "#%s", id);
	emit_head(ctx, lang, PAGE_INCIDENT, in->id, a, true);
	emit_raw(e, "<header>\n<p class=\"crumb\">");
	emit_msg(e, lang, MSG_SITE);
	emit_raw(e, " \xe2\x80\xba <a href=\"");
	emit_href(e, PAGE_INDEX, 0, lang, true);
	emit_raw(e, "\">");
	emit_msg(e, lang, MSG_TITLE);
	emit_raw(e, "</a></p>\n<h1>");
	emit_msg1(e, lang, MSG_INCIDENT_TITLE, id);
	emit_raw(e, "</h1>\n");
	if (in->targeted) {
		emit_raw(e, "<p class=\"targeted\">");
		emit_msg(e, lang, MSG_TARGETED_NOTE);
		emit_raw(e, "</p>\n");
	}
	emit_raw(e, "</header>\n<main>\n<dl class=\"facts\">\n<dt>");
	emit_msg(e, lang, MSG_ADDRESS);
	emit_raw(e, "</dt><dd id=\"address\">");
	emit_text(e, in->client_ip);
	emit_raw(e, "</dd>\n<dt>");
	emit_msg(e, lang, MSG_CLIENT_NAME);
	emit_raw(e, "</dt><dd>");
	emit_text(e, in->client_name[0] != '\0' ? in->client_name :
	    "unknown");
	if (attrib_of(ctx->conf->asn, in->client_ip, in->client_name, &at)) {
		emit_raw(e, "</dd>\n<dt>");
		emit_msg(e, lang, MSG_NETWORK);
		emit_raw(e, "</dt><dd id=\"network\">");
		emit_network(e, lang, &at, true);
	}
	emit_raw(e, "</dd>\n<dt>");
	emit_msg(e, lang, MSG_PERIOD);
	emit_raw(e, "</dt><dd>");
	emit_period(e, lang, in->first_us, in->last_us);
	emit_raw(e, "</dd>\n<dt>");
	emit_msg(e, lang, MSG_ATTEMPTS);
	emit_raw(e, "</dt><dd id=\"attempts\">");
	emit_u64_grouped(e, in->count);
	emit_raw(e, "</dd>\n<dt>");
	emit_msg(e, lang, MSG_KINDS);
	emit_raw(e, "</dt><dd>");
	emit_kinds(e, lang, in->kinds);
	emit_raw(e, "</dd>\n<dt>");
	emit_msg(e, lang, MSG_SENDERS);
	emit_raw(e, "</dt><dd>");
	emit_senders(e, lang, in->senders, 0);
	emit_raw(e, "</dd>\n<dt>");
	emit_msg(e, lang, MSG_TARGETED);
	emit_raw(e, in->targeted ? "</dt><dd class=\"targeted\">" :
	    "</dt><dd>");
	emit_msg(e, lang, in->targeted ? MSG_YES : MSG_NO);
	emit_raw(e, "</dd>\n</dl>\n<section id=\"lines\">\n<h2>");
	emit_msg(e, lang, MSG_INCIDENT_LINES);
	emit_raw(e, "</h2>\n<p class=\"note\">");
	if (lines->n == 0)
		emit_msg(e, lang, MSG_INCIDENT_GONE);
	else
		emit_msg2(e, lang, MSG_INCIDENT_LINES_NOTE,
		    publish_num(lines->n, a, sizeof(a)),
		    publish_num(in->count, b, sizeof(b)));
	emit_raw(e, "</p>\n");
	if (lines->n > 0)
		emit_lines(e, lang, lines, "log");
	emit_raw(e, "</section>\n</main>\n");
	emit_foot(ctx, lang, true, true);
}

/*
 * Atom 1.0 (RFC 4287) feed of incidents. Relative links resolve against
 * the feed's own URL (RFC 4287 2, xml:base absent).
 */

static void
emit_atom_time(struct emit *e, int64_t t_us)
{
	char	iso[48];

	if (!attacklog_format_time(t_us, false, iso, sizeof(iso)))
		(void)text_copy(iso, "1970-01-01T00:00:00Z", sizeof(iso));
	emit_text(e, iso);
}

/* "tag:" URI (RFC 4151) of the site: stable across generations. */
static void
emit_tag(struct emit *e, const struct publish_conf *pc, const char *what)
{
	emit_raw(e, "tag:");
	emit_text(e, pc->hostname);
	emit_raw(e, ",2002:pillory:");
	emit_text(e, what);
}

static void
emit_feed(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d, const char *self)
{
	struct emit			*e = &ctx->e;
	const struct store_incident	*in;
	char				 id[32], num[32], a[I18N_DATE_MAX],
					 b[I18N_DATE_MAX];
	const char			*args[4];
	size_t				 i;
	struct emit			 kinds, senders;
	struct attrib			 at;

	emit_raw(e, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
	emit_text(e, lang->code);
	emit_raw(e, "\">\n<title>");
	emit_msg1(e, lang, MSG_FEED_TITLE, ctx->conf->hostname);
	emit_raw(e, "</title>\n<id>");
	emit_tag(e, ctx->conf, "incidents");
	emit_raw(e, "</id>\n<updated>");
	/* The newest incident's time: the feed changes when they do. */
	emit_atom_time(e, d->nincidents > 0 ? d->incidents[0].last_us :
	    d->now_us - d->now_us % 86400000000LL);
	emit_raw(e, "</updated>\n<author><name>");
	emit_text(e, ctx->conf->hostname);
	emit_raw(e, "</name></author>\n<generator version=\"");
	emit_text(e, PILLORY_VERSION);
	emit_raw(e, "\">pillory</generator>\n<link rel=\"self\" href=\"");
	emit_text(e, self);
	emit_raw(e, "\"/>\n<link rel=\"alternate\" type=\"text/html\" "
	    "href=\"");
	emit_href(e, PAGE_INDEX, 0, lang, false);
	emit_raw(e, "\"/>\n");
	for (i = 0; i < d->nincidents; i++) {
		in = &d->incidents[i];
		(void)text_printf(id, sizeof(id), "incident:%lld",
		    (long long)in->id);
		emit_raw(e, "<entry>\n<title>");
		args[0] = in->client_ip;
		args[1] = in->client_name[0] != '\0' ? in->client_name :
		    "unknown";
		args[2] = publish_num(in->count, num, sizeof(num));
		emit_template(e, i18n_msg(lang, MSG_ENTRY_TITLE), args, 3);
		emit_raw(e, "</title>\n<id>");
		emit_tag(e, ctx->conf, id);
		emit_raw(e, "</id>\n<published>");
		emit_atom_time(e, in->first_us);
		emit_raw(e, "</published>\n<updated>");
		emit_atom_time(e, in->last_us);
		emit_raw(e, "</updated>\n<link rel=\"alternate\" "
		    "type=\"text/html\" href=\"");
		emit_href(e, PAGE_INCIDENT, in->id, lang, false);
		emit_raw(e, "\"/>\n<summary type=\"text\">");
		/*
		 * The summary's parts are plain text: build them unescaped
		 * in scratch emitters (kind names from our table, senders
		 * joined as they are), then escape the whole once.
		 */
		emit_init(&kinds);
		emit_init(&senders);
		emit_raw(&kinds, "");
		{
			int		 k;
			const char	*sep = "";

			for (k = 0; k < ATTACK_KIND_COUNT; k++) {
				if ((in->kinds & ((uint32_t)1 << k)) == 0)
					continue;
				emit_raw(&kinds, sep);
				emit_raw(&kinds, i18n_kind(lang, k));
				sep = i18n_msg(lang, MSG_LIST_SEP);
			}
		}
		emit_raw(&senders, in->senders[0] != '\0' ? in->senders :
		    "\xe2\x80\x94");
		if (!i18n_time(lang, in->first_us, a, sizeof(a)))
			a[0] = '\0';
		if (!i18n_time(lang, in->last_us, b, sizeof(b)))
			b[0] = '\0';
		args[0] = a;
		args[1] = b;
		args[2] = kinds.buf;
		args[3] = senders.buf;
		emit_template(e, i18n_msg(lang, MSG_ENTRY_SUMMARY), args, 4);
		if (in->targeted) {
			emit_raw(e, " ");
			emit_msg(e, lang, MSG_ENTRY_TARGETED);
		}
		if (attrib_of(ctx->conf->asn, in->client_ip, in->client_name,
		    &at)) {
			emit_raw(e, " (");
			emit_network(e, lang, &at, true);
			emit_raw(e, ")");
		}
		emit_free(&kinds);
		emit_free(&senders);
		emit_raw(e, "</summary>\n</entry>\n");
	}
	emit_raw(e, "</feed>\n");
}

/*
 * attacks.json: counts, days, recent entries (public form), incidents
 * and top lists, for others to build on. Times are RFC 3339.
 */

static void
emit_json_by_kind(struct emit *e, const uint64_t *by_kind)
{
	int	k;

	emit_raw(e, "{");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		if (k > 0)
			emit_raw(e, ",");
		emit_json(e, attack_kind_name((enum attack_kind)k));
		emit_raw(e, ":");
		emit_u64(e, by_kind[k]);
	}
	emit_raw(e, "}");
}

static void
emit_json_time(struct emit *e, int64_t t_us)
{
	char	iso[48];

	if (!attacklog_format_time(t_us, false, iso, sizeof(iso)))
		iso[0] = '\0';
	emit_json(e, iso);
}

static void
emit_json_senders(struct emit *e, const char *list)
{
	const char	*p, *comma;

	emit_raw(e, "[");
	for (p = list; *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		if (p != list)
			emit_raw(e, ",");
		emit_jsonn(e, p, (size_t)(comma - p));
		if (*comma == '\0')
			break;
	}
	emit_raw(e, "]");
}

static void
emit_json_top(struct emit *e, const char *name, const char *key,
    const struct store_top *t, size_t n)
{
	size_t	i;

	emit_raw(e, ",\n\"");
	emit_raw(e, name);
	emit_raw(e, "\":[");
	for (i = 0; i < n; i++) {
		emit_raw(e, i > 0 ? ",\n{\"" : "\n{\"");
		emit_raw(e, key);
		emit_raw(e, "\":");
		emit_json(e, t[i].key);
		emit_raw(e, ",\"count\":");
		emit_u64(e, t[i].count);
		emit_raw(e, "}");
	}
	emit_raw(e, "]");
}

static void
emit_data_json(struct publish_ctx *ctx, const struct publish_data *d)
{
	struct emit			*e = &ctx->e;
	const struct store_incident	*in;
	const struct attack_record	*r;
	struct attrib			 at;
	size_t				 i;
	int				 k;

	emit_raw(e, "{\"generator\":");
	emit_json(e, "pillory " PILLORY_VERSION);
	emit_raw(e, ",\"generated\":");
	emit_json_time(e, d->now_us);
	emit_raw(e, ",\"host\":");
	emit_json(e, ctx->conf->hostname);
	emit_raw(e, ",\"enabled\":true,\"recipients_masked\":");
	emit_raw(e, ctx->conf->mask ? "true" : "false");
	emit_raw(e, ",\n\"counts\":{\"total\":");
	emit_u64(e, d->totals.total);
	emit_raw(e, ",\"first_day\":");
	if (d->first_day[0] != '\0')
		emit_json(e, d->first_day);
	else
		emit_raw(e, "null");
	emit_raw(e, ",\"first_day_is_bound\":");
	emit_raw(e, d->first_before ? "true" : "false");
	emit_raw(e, ",\"today\":");
	emit_u64(e, d->today);
	emit_raw(e, ",\"last_30_days\":");
	emit_u64(e, d->last30);
	emit_raw(e, ",\"incidents\":");
	emit_u64(e, d->totals.incidents);
	emit_raw(e, ",\"by_kind\":");
	emit_json_by_kind(e, d->totals.by_kind);
	emit_raw(e, ",\"last_30_days_by_kind\":");
	emit_json_by_kind(e, d->last30_by_kind);
	emit_raw(e, "},\n\"days\":[");
	for (i = 0; i < PUBLISH_CHART_DAYS; i++) {
		emit_raw(e, i > 0 ? ",\n{\"day\":" : "\n{\"day\":");
		emit_json(e, d->days[i].day);
		emit_raw(e, ",\"count\":");
		emit_u64(e, d->days[i].count);
		emit_raw(e, ",\"by_kind\":");
		emit_json_by_kind(e, d->days[i].by_kind);
		emit_raw(e, "}");
	}
	emit_raw(e, "],\n\"recent_limit\":");
	emit_u64(e, ctx->conf->recent);
	emit_raw(e, ",\n\"recent\":[");
	/* Newest first, as on the page's list readers expect. */
	for (i = d->recent.n; i-- > 0;) {
		r = &d->recent.v[i].rec;
		emit_raw(e, i + 1 < d->recent.n ? ",\n{\"time\":" :
		    "\n{\"time\":");
		emit_json_time(e, r->time_us);
		emit_raw(e, ",\"kind\":");
		emit_json(e, attack_kind_name(r->kind));
		emit_raw(e, ",\"client_ip\":");
		emit_json(e, r->client_ip);
		emit_raw(e, ",\"client_name\":");
		emit_json(e, r->client_name[0] != '\0' ? r->client_name :
		    "unknown");
		emit_raw(e, ",\"helo\":");
		emit_json(e, r->helo);
		emit_raw(e, ",\"from\":");
		emit_json(e, r->from);
		emit_raw(e, ",\"to\":");
		emit_json(e, r->to);
		emit_raw(e, ",\"line\":");
		emit_json(e, d->recent.v[i].text);
		attrib_emit_json(e, &d->recent.v[i].attr);
		emit_raw(e, "}");
	}
	emit_raw(e, "],\n\"incidents\":[");
	for (i = 0; i < d->nincidents; i++) {
		in = &d->incidents[i];
		emit_fmt(e, "%s{\"id\":%lld,\"client_ip\":", i > 0 ? ",\n" :
		    "\n", (long long)in->id);
		emit_json(e, in->client_ip);
		emit_raw(e, ",\"client_name\":");
		emit_json(e, in->client_name[0] != '\0' ? in->client_name :
		    "unknown");
		emit_raw(e, ",\"first\":");
		emit_json_time(e, in->first_us);
		emit_raw(e, ",\"last\":");
		emit_json_time(e, in->last_us);
		emit_raw(e, ",\"count\":");
		emit_u64(e, in->count);
		emit_raw(e, ",\"kinds\":[");
		for (k = 0; k < ATTACK_KIND_COUNT; k++) {
			if ((in->kinds & ((uint32_t)1 << k)) == 0)
				continue;
			if ((in->kinds & (((uint32_t)1 << k) - 1)) != 0)
				emit_raw(e, ",");
			emit_json(e, attack_kind_name((enum attack_kind)k));
		}
		emit_raw(e, "],\"targeted\":");
		emit_raw(e, in->targeted ? "true" : "false");
		emit_raw(e, ",\"senders\":");
		emit_json_senders(e, in->senders);
		(void)attrib_of(ctx->conf->asn, in->client_ip,
		    in->client_name, &at);
		attrib_emit_json(e, &at);
		emit_fmt(e, ",\"page\":\"incidents/%lld.", (long long)in->id);
		emit_raw(e, ctx->conf->langs[0]->code);
		emit_raw(e, ".html\"}");
	}
	emit_raw(e, "]");
	emit_json_top(e, "top_networks", "network", d->nets, d->nnets);
	emit_json_top(e, "top_addresses", "address", d->addrs, d->naddrs);
	emit_raw(e, "}\n");
}

/*
 * The generation, enabled.
 */

static int
publish_incident_pages(struct publish_ctx *ctx, struct store *st,
    const struct publish_data *d)
{
	const struct store_incident	*in;
	struct publish_lines		 lines;
	struct store_query		 q;
	char				 name[64];
	size_t				 i, l;
	int				 rc = 0;

	for (i = 0; i < d->nincidents && rc == 0; i++) {
		in = &d->incidents[i];
		memset(&lines, 0, sizeof(lines));
		lines.mask = ctx->conf->mask;
		lines.pc = ctx->conf;
		lines.asn = ctx->conf->asn;
		memset(&q, 0, sizeof(q));
		q.kind = -1;
		q.client_ip = in->client_ip;
		q.since_us = in->first_us;
		q.until_us = in->last_us + 1;
		q.limit = PUBLISH_INCIDENT_LINES;
		if (store_query(st, &q, publish_collect, &lines) != 0) {
			snprintf(ctx->err, ctx->errlen, "attack log: %s",
			    store_errmsg(st));
			publish_lines_free(&lines);
			return (-1);
		}
		for (l = 0; l < ctx->conf->nlangs && rc == 0; l++) {
			emit_reset(&ctx->e);
			emit_incident(ctx, ctx->conf->langs[l], in, &lines);
			(void)text_printf(name, sizeof(name), "%lld.%s.html",
			    (long long)in->id, ctx->conf->langs[l]->code);
			rc = publish_put(ctx, true, name, true);
		}
		publish_lines_free(&lines);
	}
	return (rc);
}

static int
publish_enabled(struct publish_ctx *ctx, struct store *st)
{
	struct publish_data	 d;
	const struct i18n_lang	*lang;
	char			 name[64];
	size_t			 l;
	int			 rc = -1;

	memset(&d, 0, sizeof(d));
	d.now_us = ctx->now_us;
	if (publish_load(st, ctx->conf, &d, ctx->err, ctx->errlen) != 0 ||
	    publish_load_bans(st, &d, ctx->err, ctx->errlen) != 0)
		goto done;
	/* Incident pages first: the index never links to a missing one. */
	if (publish_incident_pages(ctx, st, &d) != 0)
		goto done;
	for (l = 0; l < ctx->conf->nlangs; l++) {
		lang = ctx->conf->langs[l];
		emit_reset(&ctx->e);
		(void)text_printf(name, sizeof(name), "feed.%s.atom",
		    lang->code);
		emit_feed(ctx, lang, &d, name);
		if (publish_put(ctx, false, name, true) != 0)
			goto done;
		if (l == 0 && publish_put(ctx, false, "feed.atom", true) != 0)
			goto done;
		emit_reset(&ctx->e);
		emit_index(ctx, lang, &d);
		(void)text_printf(name, sizeof(name), "index.%s.html",
		    lang->code);
		if (publish_put(ctx, false, name, false) != 0)
			goto done;
		if (l == 0 && publish_put(ctx, false, "index.html", false) != 0)
			goto done;
	}
	emit_reset(&ctx->e);
	emit_data_json(ctx, &d);
	if (publish_put(ctx, false, "attacks.json", false) != 0)
		goto done;
	rc = 0;
done:
	publish_data_free(&d);
	return (rc);
}

/*
 * The generation, disabled: every page, feed and JSON file says that
 * publication has ended, with no attack data.
 */

static void
emit_ended_page(struct publish_ctx *ctx, const struct i18n_lang *lang,
    bool from_inc)
{
	struct emit	*e = &ctx->e;

	emit_raw(e, "<!DOCTYPE html>\n<html lang=\"");
	emit_text(e, lang->code);
	emit_raw(e, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>");
	emit_msg(e, lang, MSG_SITE);
	emit_raw(e, " \xe2\x80\x94 ");
	emit_text(e, ctx->conf->hostname);
	emit_raw(e, "</title>\n<style>");
	emit_raw(e, publish_css);
	emit_raw(e, "</style>\n</head>\n<body>\n");
	if (ctx->conf->nlangs > 1) {
		const struct i18n_lang	*other;
		size_t			 i;

		emit_raw(e, "<nav class=\"lang\">");
		for (i = 0; i < ctx->conf->nlangs; i++) {
			other = ctx->conf->langs[i];
			if (other == lang) {
				emit_raw(e, "<strong>");
				emit_msg(e, other, MSG_LANG_NAME);
				emit_raw(e, "</strong>");
				continue;
			}
			emit_raw(e, from_inc ? "<a href=\"../index." :
			    "<a href=\"index.");
			emit_text(e, other->code);
			emit_raw(e, ".html\" hreflang=\"");
			emit_text(e, other->code);
			emit_raw(e, "\" lang=\"");
			emit_text(e, other->code);
			emit_raw(e, "\">");
			emit_msg(e, other, MSG_LANG_NAME);
			emit_raw(e, "</a>");
		}
		emit_raw(e, "</nav>\n");
	}
	emit_raw(e, "<main>\n<h1>");
	emit_msg(e, lang, MSG_SITE);
	emit_raw(e, "</h1>\n<p id=\"ended\">");
	emit_msg(e, lang, MSG_ENDED);
	emit_raw(e, "</p>\n</main>\n");
	emit_foot(ctx, lang, from_inc, false);
}

static void
emit_ended_feed(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const char *self)
{
	struct emit	*e = &ctx->e;

	emit_raw(e, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
	emit_text(e, lang->code);
	emit_raw(e, "\">\n<title>");
	emit_msg(e, lang, MSG_SITE);
	emit_raw(e, "</title>\n<id>");
	emit_tag(e, ctx->conf, "incidents");
	emit_raw(e, "</id>\n<updated>");
	emit_atom_time(e, ctx->now_us - ctx->now_us % 86400000000LL);
	emit_raw(e, "</updated>\n<author><name>");
	emit_text(e, ctx->conf->hostname);
	emit_raw(e, "</name></author>\n<link rel=\"self\" href=\"");
	emit_text(e, self);
	emit_raw(e, "\"/>\n<entry>\n<title>");
	emit_msg(e, lang, MSG_ENDED);
	emit_raw(e, "</title>\n<id>");
	emit_tag(e, ctx->conf, "ended");
	emit_raw(e, "</id>\n<updated>");
	emit_atom_time(e, ctx->now_us - ctx->now_us % 86400000000LL);
	emit_raw(e, "</updated>\n<link rel=\"alternate\" type=\"text/html\" "
	    "href=\"");
	emit_href(e, PAGE_INDEX, 0, lang, false);
	emit_raw(e, "\"/>\n<summary type=\"text\">");
	emit_msg(e, lang, MSG_ENDED);
	emit_raw(e, "</summary>\n</entry>\n</feed>\n");
}

static void
emit_ended_json(struct publish_ctx *ctx)
{
	struct emit	*e = &ctx->e;
	size_t		 i;

	emit_raw(e, "{\"generator\":");
	emit_json(e, "pillory " PILLORY_VERSION);
	emit_raw(e, ",\"enabled\":false,\"message\":{");
	for (i = 0; i < i18n_lang_count(); i++) {
		if (i > 0)
			emit_raw(e, ",");
		emit_json(e, i18n_lang_at(i)->code);
		emit_raw(e, ":");
		emit_json(e, i18n_msg(i18n_lang_at(i), MSG_ENDED));
	}
	emit_raw(e, "}}\n");
}

/* The language of "NAME.LANG.EXT", or the first one. */
static const struct i18n_lang *
publish_lang_of(const struct publish_conf *pc, const char *name)
{
	const struct i18n_lang	*lang;
	const char		*dot, *prev;
	char			 code[16];

	if ((dot = strrchr(name, '.')) == NULL || dot == name)
		return (pc->langs[0]);
	for (prev = dot - 1; prev > name && *prev != '.'; prev--)
		;
	if (*prev != '.' || !text_copy_span(code, sizeof(code), prev + 1,
	    (size_t)(dot - prev - 1)))
		return (pc->langs[0]);
	return ((lang = i18n_find(code)) != NULL ? lang : pc->langs[0]);
}

static bool
publish_has_suffix(const char *name, const char *suffix)
{
	size_t	n = strlen(name), s = strlen(suffix);

	return (n > s && strcmp(name + n - s, suffix) == 0);
}

/* Replace every .html, .atom and .json file in one directory. */
static int
publish_ended_dir(struct publish_ctx *ctx, bool inc)
{
	struct dirent		*de;
	struct stat		 sb;
	const struct i18n_lang	*lang;
	DIR			*dp;
	char			 name[256];
	int			 dirfd = inc ? ctx->incfd : ctx->topfd;
	int			 fd, rc = 0;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return (publish_fail(ctx, "opendir", inc ? "incidents" : "."));
	}
	while (rc == 0 && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' ||
		    !text_copy(name, de->d_name, sizeof(name)) ||
		    fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		lang = publish_lang_of(ctx->conf, name);
		emit_reset(&ctx->e);
		if (publish_has_suffix(name, ".html"))
			emit_ended_page(ctx, lang, inc);
		else if (publish_has_suffix(name, ".atom"))
			emit_ended_feed(ctx, lang, name);
		else if (publish_has_suffix(name, ".json"))
			emit_ended_json(ctx);
		else
			continue;
		rc = publish_put(ctx, inc, name, true);
	}
	closedir(dp);
	return (rc);
}

static int
publish_disabled(struct publish_ctx *ctx)
{
	const struct i18n_lang	*lang;
	char			 name[64];
	size_t			 l;

	/* The standard files first, so that they exist... */
	for (l = 0; l < ctx->conf->nlangs; l++) {
		lang = ctx->conf->langs[l];
		emit_reset(&ctx->e);
		emit_ended_page(ctx, lang, false);
		(void)text_printf(name, sizeof(name), "index.%s.html",
		    lang->code);
		if (publish_put(ctx, false, name, true) != 0 ||
		    (l == 0 && publish_put(ctx, false, "index.html",
		    true) != 0))
			return (-1);
		emit_reset(&ctx->e);
		(void)text_printf(name, sizeof(name), "feed.%s.atom",
		    lang->code);
		emit_ended_feed(ctx, lang, name);
		if (publish_put(ctx, false, name, true) != 0 ||
		    (l == 0 && publish_put(ctx, false, "feed.atom",
		    true) != 0))
			return (-1);
	}
	emit_reset(&ctx->e);
	emit_ended_json(ctx);
	if (publish_put(ctx, false, "attacks.json", true) != 0)
		return (-1);
	/* ... then everything else that was ever published. */
	if (publish_ended_dir(ctx, false) != 0 ||
	    publish_ended_dir(ctx, true) != 0)
		return (-1);
	return (0);
}

/*
 * One generation with conf. *stp is the caller's store handle, opened
 * here when NULL (and left open for the next generation); on a store
 * error it is closed so that the next generation opens it afresh.
 */
static int
publish_generate(const struct publish_conf *pc, struct store **stp,
    bool sweep, struct publish_result *res, char *err, size_t errlen)
{
	struct publish_ctx	 ctx;
	int64_t			 t0 = publish_mono_us();
	int			 rc = -1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = pc;
	ctx.topfd = ctx.incfd = -1;
	ctx.err = err;
	ctx.errlen = errlen;
	ctx.sweep = sweep;
	ctx.now_us = publish_real_us();
	emit_init(&ctx.e);
	if (!i18n_utc_offset(ctx.now_us, ctx.offset, sizeof(ctx.offset)))
		(void)text_copy(ctx.offset, "UTC", sizeof(ctx.offset));
	if (publish_open_dirs(&ctx) != 0)
		goto done;
	if (!pc->enabled) {
		rc = publish_disabled(&ctx);
		goto done;
	}
	if (*stp == NULL && (*stp = publish_store_open(pc, err,
	    errlen)) == NULL)
		goto done;
	/* The page shows the public view only: published kinds, nothing
	 * withdrawn (README, the public page). */
	store_set_filter(*stp, &(struct store_filter){ .active = true,
	    .kinds = pc->kinds });
	if ((rc = publish_enabled(&ctx, *stp)) != 0 &&
	    strncmp(err, "attack log:", 11) == 0) {
		store_close(*stp);
		*stp = NULL;
	}
done:
	rc = publish_close_dirs(&ctx, rc);
	emit_free(&ctx.e);
	if (res != NULL) {
		res->files = ctx.files;
		res->written = ctx.written;
		res->elapsed_us = publish_mono_us() - t0;
	}
	return (rc);
}

int
publish_run(const struct config *cfg, struct publish_result *res,
    char *err, size_t errlen)
{
	struct publish_conf	*pc;
	struct store		*st = NULL;
	int			 rc;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if ((pc = publish_conf_new(cfg, err, errlen)) == NULL)
		return (-1);
	rc = publish_generate(pc, &st, true, res, err, errlen);
	store_close(st);
	publish_conf_free(pc);
	return (rc);
}

/*
 * The daemon's publisher thread.
 *
 *	publisher_notify() --lock--> pending, due = now + delay
 *	thread: wait until due, a new UTC day, a reload or stop; generate
 */

struct publisher {
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	/* Under mu: */
	struct publish_conf	*conf;
	struct publish_conf	*next;		/* from publisher_reload() */
	bool			 pending;
	int64_t			 due_mono_us;
	bool			 stopping;
	uint64_t		 generations;
	/* Thread only: */
	struct store		*st;
};

static void
publisher_lock(struct publisher *pub)
{
	if (pthread_mutex_lock(&pub->mu) != 0)
		FATAL("pthread_mutex_lock");
}

static void
publisher_unlock(struct publisher *pub)
{
	if (pthread_mutex_unlock(&pub->mu) != 0)
		FATAL("pthread_mutex_unlock");
}

/* Days since the epoch, UTC: the daily counts' day changes with it. */
static int64_t
publisher_utc_day(void)
{
	return (publish_real_us() / 86400000000LL);
}

/* Microseconds until just after the next UTC midnight. */
static int64_t
publisher_until_midnight_us(void)
{
	int64_t	now = publish_real_us();

	return (86400000000LL - now % 86400000000LL + 1000000);
}

static void *
publisher_main(void *arg)
{
	struct publisher	*pub = arg;
	struct publish_conf	*conf, *old;
	struct publish_result	 res;
	struct timespec		 ts;
	char			 err[1024];
	int64_t			 now, wake, last_day = -1, midnight;
	bool			 first = true;

	publisher_lock(pub);
	for (;;) {
		while (!pub->stopping) {
			now = publish_mono_us();
			if (first || pub->next != NULL ||
			    (pub->pending && now >= pub->due_mono_us) ||
			    publisher_utc_day() != last_day)
				break;
			midnight = publisher_until_midnight_us();
			wake = now + (midnight < PUBLISH_WAKE_MAX_US ?
			    midnight : PUBLISH_WAKE_MAX_US);
			if (pub->pending && pub->due_mono_us < wake)
				wake = pub->due_mono_us;
			ts.tv_sec = (time_t)(wake / 1000000);
			ts.tv_nsec = (long)(wake % 1000000) * 1000;
			(void)pthread_cond_timedwait(&pub->cv, &pub->mu, &ts);
		}
		if (pub->stopping)
			break;
		old = NULL;
		if (pub->next != NULL) {
			old = pub->conf;
			pub->conf = pub->next;
			pub->next = NULL;
		}
		pub->pending = false;
		conf = pub->conf;
		publisher_unlock(pub);

		if (old != NULL) {
			publish_conf_free(old);
			/* The store may have moved with the config. */
			store_close(pub->st);
			pub->st = NULL;
		}
		last_day = publisher_utc_day();
		/* Several MX hosts on one store: one writes the page at a
		 * time; another takes over when it stops. */
		if (pub->st == NULL)
			pub->st = publish_store_open(conf, err, sizeof(err));
		if (pub->st != NULL && !store_lead(pub->st))
			log_debug("publish: another host writes the page");
		else if (publish_generate(conf, &pub->st, first, &res, err,
		    sizeof(err)) != 0)
			log_err("publish: %s", err);
		else
			log_debug("publish: %zu files, %zu written, %lld ms",
			    res.files, res.written,
			    (long long)(res.elapsed_us / 1000));
		first = false;

		publisher_lock(pub);
		pub->generations++;
	}
	publisher_unlock(pub);
	return (NULL);
}

struct publisher *
publisher_start(const struct config *cfg, char *err, size_t errlen)
{
	struct publisher	*pub;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	int			 rc;

	if ((pub = calloc(1, sizeof(*pub))) == NULL)
		FATAL("out of memory");
	if ((pub->conf = publish_conf_new(cfg, err, errlen)) == NULL) {
		free(pub);
		return (NULL);
	}
	if (pthread_mutex_init(&pub->mu, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pub->cv, &ca) != 0)
		FATAL("pthread init");
	pthread_condattr_destroy(&ca);
	/* Signals are the event loop's business: the thread blocks them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&pub->thread, NULL, publisher_main, pub);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "publish: thread: %s", strerror(rc));
		pthread_cond_destroy(&pub->cv);
		pthread_mutex_destroy(&pub->mu);
		publish_conf_free(pub->conf);
		free(pub);
		return (NULL);
	}
	return (pub);
}

void
publisher_notify(struct publisher *pub)
{
	if (pub == NULL)
		return;
	publisher_lock(pub);
	if (!pub->pending) {
		pub->pending = true;
		pub->due_mono_us = publish_mono_us() +
		    (int64_t)pub->conf->delay_s * 1000000;
		pthread_cond_signal(&pub->cv);
	}
	publisher_unlock(pub);
}

void
publisher_notify_cb(void *pub)
{
	publisher_notify(pub);
}

void
publisher_reload(struct publisher *pub, const struct config *cfg)
{
	struct publish_conf	*pc, *old;
	char			 err[512];

	if (pub == NULL)
		return;
	if ((pc = publish_conf_new(cfg, err, sizeof(err))) == NULL) {
		log_err("reload: %s; keeping the [publish] settings", err);
		return;
	}
	publisher_lock(pub);
	old = pub->next;
	pub->next = pc;
	pthread_cond_signal(&pub->cv);
	publisher_unlock(pub);
	publish_conf_free(old);
}

void
publisher_stop(struct publisher *pub)
{
	if (pub == NULL)
		return;
	publisher_lock(pub);
	pub->stopping = true;
	pthread_cond_signal(&pub->cv);
	publisher_unlock(pub);
	if (pthread_join(pub->thread, NULL) != 0)
		FATAL("pthread_join");
	store_close(pub->st);
	publish_conf_free(pub->conf);
	publish_conf_free(pub->next);
	pthread_cond_destroy(&pub->cv);
	pthread_mutex_destroy(&pub->mu);
	free(pub);
}
