/*
 * publish.h: the public attack page (README, "The public page"): a
 * static site generated from the attack log store into [publish] dir.
 *
 * Layout of the directory (all links between pages are relative, so the
 * site works from any URL prefix, from file:// and from the built-in
 * server):
 *   index.html              the first language of [publish] languages
 *   index.LANG.html         one page per language (ja, en)
 *   incidents/ID.LANG.html  one permanent page per incident and language
 *   feed.atom               Atom 1.0 feed of incidents, first language
 *   feed.LANG.atom          the same per language
 *   attacks.json            counts, days, recent entries, incidents, top
 *
 * Two ways in: publish_run() generates once (`pillory publish`, the
 * benchmark); publisher_start() runs a thread in the daemon's engine that
 * regenerates [publish] delay after the attack log writer's first
 * publisher_notify(), and after each UTC midnight. Either way the store
 * is opened read-only on a handle of its own; nothing runs on the event
 * loop.
 */
#ifndef PUBLISH_H
#define PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct attack_record;

/* Days in the chart; days looked at to find the first record's day. */
#define PUBLISH_CHART_DAYS	90
#define PUBLISH_HISTORY_DAYS	3660
/* Incidents on the page and in the feed; their pages are (re)written. */
#define PUBLISH_INCIDENTS	20
/* Log lines on one incident's page, the newest. */
#define PUBLISH_INCIDENT_LINES	200
/* Entries of each top list. */
#define PUBLISH_TOP		10
/* Senders listed per incident on the index page. */
#define PUBLISH_SENDERS_SHOWN	5

struct publish_result {
	size_t		files;		/* files generated */
	size_t		written;	/* of them, changed and written */
	uint64_t	total;		/* detections in the counts */
	int64_t		elapsed_us;
};

/*
 * Generate the site for cfg once, now. Returns 0 (with res filled, when
 * not NULL) or -1 with a message in err: bad [publish] settings (an
 * unknown language), the store cannot be read, the directory cannot be
 * written. With enabled = no the store is not opened and every page,
 * feed and JSON file in the directory is replaced by the notice that
 * publication has ended.
 */
int publish_run(const struct config *cfg, struct publish_result *res,
    char *err, size_t errlen);

/*
 * The site directory of cfg: [publish] dir, else STATE_DIR/public. False
 * with a message in err when neither is set or it does not fit in out.
 * (The built-in HTTP server serves this directory: httpd_start().)
 */
bool publish_dir_path(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen);

/*
 * The public form of rec into out: the login user and the session id
 * dropped always, the recipient's local part (up to the last '@')
 * replaced by ATTACK_MASK when mask, and always for forged-local
 * records (their recipient is one of our users). Every other field is
 * kept (and escaped later, by the emitter).
 */
void publish_public_record(const struct attack_record *rec, bool mask,
    struct attack_record *out);

/*
 * The daemon's publisher. publisher_start() copies what it needs from cfg
 * (cfg may be freed afterwards), starts one thread that generates once at
 * once, and returns; NULL with a message in err when the [publish]
 * settings are bad or the thread cannot start (a start-up error).
 */
struct publisher;
/* The daemon's users and aliases (names only): copied, never kept. */
struct publish_tables {
	const struct passwd_db	*users;		/* may be NULL */
	const struct alias_db	*aliases;	/* may be NULL */
};
struct publisher *publisher_start(const struct config *cfg,
    const struct publish_tables *tables, char *err, size_t errlen);

/*
 * New records are in the store: regenerate [publish] delay after the
 * first notify since the last generation (later ones do not postpone it).
 * Thread-safe and cheap (one uncontended mutex); pub may be NULL.
 */
void publisher_notify(struct publisher *pub);

/* publisher_notify() for a callback slot that takes a void * (the
 * attack log writer's hook). */
void publisher_notify_cb(void *pub);

/*
 * A new config generation (SIGHUP): take its [publish] settings and our
 * users and aliases, and regenerate soon. Bad settings are logged and the old ones kept.
 * Thread-safe; pub may be NULL.
 */
void publisher_reload(struct publisher *pub, const struct config *cfg,
    const struct publish_tables *tables);

/* Stop and join the thread (a generation in progress finishes first),
 * free pub. NULL is fine. */
void publisher_stop(struct publisher *pub);

/* `pillory publish`: see cmd.h. */
int cmd_publish(const struct config *cfg, int argc, char **argv);

#endif
