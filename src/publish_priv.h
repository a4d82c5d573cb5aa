/*
 * publish_priv.h: what the parts of the page generator share (publish.h
 * is the outside view). publish.c holds the config copy and the
 * generation, publish_data.c reads the store, publish_site.c writes the
 * files, publish_html.c the pages, publish_chart.c the SVG chart and
 * publish_feed.c the Atom feed and attacks.json.
 */
#ifndef PUBLISH_PRIV_H
#define PUBLISH_PRIV_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "attrib.h"
#include "ban.h"
#include "emit.h"
#include "i18n.h"
#include "store.h"

struct alias_db;
struct asn_db;
struct passwd_db;

/* Languages at most in [publish] languages. */
#define PUBLISH_LANGS_MAX	8

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


/* Which page a link goes to. */
enum publish_page { PAGE_INDEX, PAGE_INCIDENT };

/* Okabe-Ito colours, one per kind (publish_chart.c). */
extern const char *const publish_chart_colors[ATTACK_KIND_COUNT];

/* publish.c: copies of strings, and masking of our own addresses. */
char	*publish_strdup(const char *s);
void	 publish_mask_ours(const struct publish_conf *pc, char *addr,
	    size_t len);
void	 publish_mask_senders(const struct publish_conf *pc, char *list,
	    size_t len);

/* publish_data.c: one generation's reads; 0 or -1 with err. */
void	 publish_data_lines_free(struct publish_lines *pl);
int	 publish_data_collect(const struct attack_record *rec, void *arg);
bool	 publish_data_kind_targeted(int kind);
int	 publish_data_load(struct store *st, const struct publish_conf *pc,
	    struct publish_data *d, char *err, size_t errlen);
void	 publish_data_free(struct publish_data *d);
int	 publish_data_load_bans(struct store *st, struct publish_data *d,
	    char *err, size_t errlen);

/*
 * publish_site.c: open the directories, put ctx->e's bytes as NAME (in
 * incidents/ when inc; not rewritten when compare and unchanged), close
 * (directory fsync when rc is 0). -1 with ctx->err on failure.
 */
int	 publish_site_fail(struct publish_ctx *ctx, const char *what,
	    const char *name);
int	 publish_site_put(struct publish_ctx *ctx, bool inc, const char *name,
	    bool compare);
int	 publish_site_open(struct publish_ctx *ctx);
int	 publish_site_close(struct publish_ctx *ctx, int rc);

/* publish_html.c: the pages, and pieces the chart and feeds share. */
void	 publish_html_msg(struct emit *e, const struct i18n_lang *lang,
	    enum i18n_msg id);
void	 publish_html_msg1(struct emit *e, const struct i18n_lang *lang,
	    enum i18n_msg id, const char *a1);
const char *publish_html_num(uint64_t v, char *buf, size_t len);
const char *publish_html_day(const struct i18n_lang *lang, const char *day,
	    bool shortform, char *buf, size_t len);
void	 publish_html_swatch(struct emit *e, int kind);
void	 publish_html_network(struct emit *e, const struct i18n_lang *lang,
	    const struct attrib *a, bool full);
void	 publish_html_href(struct emit *e, enum publish_page page, int64_t id,
	    const struct i18n_lang *lang, bool from_inc);
void	 publish_html_index(struct publish_ctx *ctx,
	    const struct i18n_lang *lang, const struct publish_data *d);
void	 publish_html_incident(struct publish_ctx *ctx,
	    const struct i18n_lang *lang, const struct store_incident *in,
	    const struct publish_lines *lines);
void	 publish_html_ended(struct publish_ctx *ctx,
	    const struct i18n_lang *lang, bool from_inc);

/*
 * publish_chart.c: the chart of days[0 .. PUBLISH_CHART_DAYS - 1], oldest
 * first, and its table, into e. Pure.
 */
void	 publish_chart_svg(struct emit *e, const struct i18n_lang *lang,
	    const struct store_day *days);
uint64_t publish_chart_step(uint64_t max, uint64_t ticks);

/* publish_feed.c: the Atom feeds and attacks.json, live or ended. */
void	 publish_feed_atom(struct publish_ctx *ctx,
	    const struct i18n_lang *lang, const struct publish_data *d,
	    const char *self);
void	 publish_feed_json(struct publish_ctx *ctx,
	    const struct publish_data *d);
void	 publish_feed_ended_atom(struct publish_ctx *ctx,
	    const struct i18n_lang *lang, const char *self);
void	 publish_feed_ended_json(struct publish_ctx *ctx);

#endif
