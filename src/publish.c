/*
 * publish.c: the public attack page generator and the daemon's publisher
 * thread (publish.h has the site's layout): the config copy, one
 * generation, and the thread. The parts: publish_data.c (reading the
 * store), publish_site.c (the files), publish_html.c (the pages),
 * publish_chart.c (the SVG chart), publish_feed.c (Atom and JSON).
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

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "attacklog.h"
#include "config.h"
#include "log.h"
#include "passwd_file.h"
#include "publish.h"
#include "publish_priv.h"
#include "text.h"
#include "xalloc.h"

/* The publisher re-checks the date at least this often. */
#define PUBLISH_WAKE_MAX_US	(3600LL * 1000000)

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

char *
publish_strdup(const char *s)
{
	return (xstrdup(s != NULL ? s : ""));
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
publish_conf_ours(struct publish_conf *pc, const struct config *cfg,
    const struct publish_tables *tables)
{
	char	err[512];
	size_t	i;

	pc->domains.count = cfg->domains.count;
	if (pc->domains.count > 0)
		pc->domains.names = xcalloc(pc->domains.count,
		    sizeof(char *));
	for (i = 0; i < pc->domains.count; i++)
		pc->domains.names[i] = publish_strdup(cfg->domains.names[i]);
	if (tables != NULL) {
		/* The daemon's engine may not read root-only files: it hands
		 * over copies of the names the auth process gave it. */
		pc->users = passwd_file_copy_names(tables->users);
		pc->aliases = aliases_copy(tables->aliases);
		return;
	}
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
void
publish_mask_ours(const struct publish_conf *pc, char *addr, size_t len)
{
	char		 masked[ADDRESS_MAX + 16];
	const char	*at;

	if (pc == NULL || addr[0] == '\0' || !publish_address_is_ours(pc, addr))
		return;
	at = strrchr(addr, '@');
	if (text_printf(masked, sizeof(masked), "%s%s", ATTACK_MASK, at))
		(void)text_copy(addr, masked, len);
}

/* An incident's sender list with our addresses masked. */
void
publish_mask_senders(const struct publish_conf *pc, char *list, size_t len)
{
	char		 out[ATTACK_SENDERS_LEN], one[ADDRESS_MAX + 16];
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
			(void)attack_senders_add(out, sizeof(out), one);
		}
		if (*comma == '\0')
			break;
	}
	(void)text_copy(list, out, len);
}

/*
 * A private copy of cfg's [publish] settings; NULL with err on bad ones.
 * Our users and aliases come from tables, or from the files cfg names when
 * tables is NULL (`pillory publish`, run by the admin).
 */
static struct publish_conf *
publish_conf_new(const struct config *cfg, const struct publish_tables *tables,
    char *err, size_t errlen)
{
	struct publish_conf	*pc;
	const struct i18n_lang	*lang;
	char			 dir[CONFIG_PATH_MAX + 16];
	size_t			 i, j;

	pc = xcalloc(1, sizeof(*pc));
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
	publish_conf_ours(pc, cfg, tables);
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
	return (store_open_config(&cfg, true, err, errlen));
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
		if (store_query(st, &q, publish_data_collect, &lines) != 0) {
			snprintf(ctx->err, ctx->errlen, "attack log: %s",
			    store_errmsg(st));
			publish_data_lines_free(&lines);
			return (-1);
		}
		for (l = 0; l < ctx->conf->nlangs && rc == 0; l++) {
			emit_reset(&ctx->e);
			publish_html_incident(ctx, ctx->conf->langs[l], in,
			    &lines);
			(void)text_printf(name, sizeof(name), "%lld.%s.html",
			    (long long)in->id, ctx->conf->langs[l]->code);
			rc = publish_site_put(ctx, true, name, true);
		}
		publish_data_lines_free(&lines);
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
	if (publish_data_load(st, ctx->conf, &d, ctx->err, ctx->errlen) != 0 ||
	    publish_data_load_bans(st, &d, ctx->err, ctx->errlen) != 0)
		goto done;
	/* Incident pages first: the index never links to a missing one. */
	if (publish_incident_pages(ctx, st, &d) != 0)
		goto done;
	for (l = 0; l < ctx->conf->nlangs; l++) {
		lang = ctx->conf->langs[l];
		emit_reset(&ctx->e);
		(void)text_printf(name, sizeof(name), "feed.%s.atom",
		    lang->code);
		publish_feed_atom(ctx, lang, &d, name);
		if (publish_site_put(ctx, false, name, true) != 0)
			goto done;
		if (l == 0 &&
		    publish_site_put(ctx, false, "feed.atom", true) != 0)
			goto done;
		emit_reset(&ctx->e);
		publish_html_index(ctx, lang, &d);
		(void)text_printf(name, sizeof(name), "index.%s.html",
		    lang->code);
		if (publish_site_put(ctx, false, name, false) != 0)
			goto done;
		if (l == 0 &&
		    publish_site_put(ctx, false, "index.html", false) != 0)
			goto done;
	}
	emit_reset(&ctx->e);
	publish_feed_json(ctx, &d);
	if (publish_site_put(ctx, false, "attacks.json", false) != 0)
		goto done;
	rc = 0;
done:
	publish_data_free(&d);
	return (rc);
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
		return (publish_site_fail(ctx, "opendir",
		    inc ? "incidents" : "."));
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
			publish_html_ended(ctx, lang, inc);
		else if (publish_has_suffix(name, ".atom"))
			publish_feed_ended_atom(ctx, lang, name);
		else if (publish_has_suffix(name, ".json"))
			publish_feed_ended_json(ctx);
		else
			continue;
		rc = publish_site_put(ctx, inc, name, true);
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
		publish_html_ended(ctx, lang, false);
		(void)text_printf(name, sizeof(name), "index.%s.html",
		    lang->code);
		if (publish_site_put(ctx, false, name, true) != 0 ||
		    (l == 0 && publish_site_put(ctx, false, "index.html",
		    true) != 0))
			return (-1);
		emit_reset(&ctx->e);
		(void)text_printf(name, sizeof(name), "feed.%s.atom",
		    lang->code);
		publish_feed_ended_atom(ctx, lang, name);
		if (publish_site_put(ctx, false, name, true) != 0 ||
		    (l == 0 && publish_site_put(ctx, false, "feed.atom",
		    true) != 0))
			return (-1);
	}
	emit_reset(&ctx->e);
	publish_feed_ended_json(ctx);
	if (publish_site_put(ctx, false, "attacks.json", true) != 0)
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
	if (publish_site_open(&ctx) != 0)
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
	rc = publish_site_close(&ctx, rc);
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
	if ((pc = publish_conf_new(cfg, NULL, err, errlen)) == NULL)
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
publisher_start(const struct config *cfg, const struct publish_tables *tables,
    char *err, size_t errlen)
{
	struct publisher	*pub;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	int			 rc;

	pub = xcalloc(1, sizeof(*pub));
	if ((pub->conf = publish_conf_new(cfg, tables, err, errlen)) == NULL) {
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
publisher_reload(struct publisher *pub, const struct config *cfg,
    const struct publish_tables *tables)
{
	struct publish_conf	*pc, *old;
	char			 err[512];

	if (pub == NULL)
		return;
	if ((pc = publish_conf_new(cfg, tables, err, sizeof(err))) == NULL) {
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

