/*
 * publish_html.c: the HTML pages of the site: the index page per
 * language, one page per incident and language, and the page that says
 * publication has ended. All text goes through emit.h's escaper.
 */

#include <string.h>
#include <time.h>

#include "attacklog.h"
#include "country.h"
#include "publish.h"
#include "publish_priv.h"
#include "text.h"

static const char publish_html_css[] =
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

/*
 * Small pieces of pages.
 */

/* Local calendar day of t_us, for "same day" checks. */
static void
publish_html_local_day(int64_t t_us, int *y, int *m, int *d)
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
publish_html_time(struct emit *e, const struct i18n_lang *lang, int64_t t_us,
    bool time_only)
{
	char	iso[48], shown[I18N_DATE_MAX];
	time_t	t = (time_t)(t_us / 1000000);
	struct tm tm;

	if (!attack_format_time(t_us, false, iso, sizeof(iso)))
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
publish_html_period(struct emit *e, const struct i18n_lang *lang,
    int64_t first_us, int64_t last_us)
{
	int	y1, m1, d1, y2, m2, d2;

	publish_html_local_day(first_us, &y1, &m1, &d1);
	publish_html_local_day(last_us, &y2, &m2, &d2);
	publish_html_time(e, lang, first_us, false);
	emit_raw(e, " \xe2\x80\x93 ");
	publish_html_time(e, lang, last_us, y1 == y2 && m1 == m2 && d1 == d2);
}

void
publish_html_msg(struct emit *e, const struct i18n_lang *lang,
    enum i18n_msg id)
{
	emit_text(e, i18n_msg(lang, id));
}

void
publish_html_msg1(struct emit *e, const struct i18n_lang *lang,
    enum i18n_msg id, const char *a1)
{
	const char	*args[1] = { a1 };

	emit_template(e, i18n_msg(lang, id), args, 1);
}

static void
publish_html_msg2(struct emit *e, const struct i18n_lang *lang,
    enum i18n_msg id, const char *a1, const char *a2)
{
	const char	*args[2] = { a1, a2 };

	emit_template(e, i18n_msg(lang, id), args, 2);
}

/* A number grouped by thousands, as text for a template. */
const char *
publish_html_num(uint64_t v, char *buf, size_t len)
{
	struct emit	e;

	emit_init(&e);
	emit_u64_grouped(&e, v);
	(void)text_copy(buf, e.buf, len);
	emit_free(&e);
	return (buf);
}

/* A day's long form ("2002年3月8日"), or the day itself. */
const char *
publish_html_day(const struct i18n_lang *lang, const char *day, bool shortform,
    char *buf, size_t len)
{
	if (!i18n_day(lang, day, shortform, buf, len))
		(void)text_copy(buf, day, len);
	return (buf);
}

/* The colour swatch of a kind: a small inline SVG, printed as drawn. */
void
publish_html_swatch(struct emit *e, int kind)
{
	emit_fmt(e, "<svg width=\"12\" height=\"12\" aria-hidden=\"true\">"
	    "<rect width=\"12\" height=\"12\" fill=\"%s\"/></svg> ",
	    publish_chart_colors[kind]);
}

/* The kind names of a bitmask, joined by the language's separator. */
static void
publish_html_kinds(struct emit *e, const struct i18n_lang *lang,
    uint32_t kinds)
{
	int	k;
	bool	first = true;

	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		if ((kinds & ((uint32_t)1 << k)) == 0)
			continue;
		if (!first)
			publish_html_msg(e, lang, MSG_LIST_SEP);
		emit_text(e, i18n_kind(lang, k));
		first = false;
	}
}

/* An incident's comma-separated senders, at most max (0: all). */
static void
publish_html_senders(struct emit *e, const struct i18n_lang *lang,
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
			publish_html_msg(e, lang, MSG_LIST_SEP);
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
void
publish_html_network(struct emit *e, const struct i18n_lang *lang,
    const struct attrib *a, bool full)
{
	bool	sep = false;

	if (a->org_domain[0] != '\0') {
		emit_text(e, a->org_domain);
		sep = true;
	}
	if (a->asn != 0) {
		if (sep)
			publish_html_msg(e, lang, MSG_LIST_SEP);
		emit_fmt(e, "AS%u", (unsigned)a->asn);
		if (full && a->as_name[0] != '\0') {
			emit_raw(e, " ");
			emit_text(e, a->as_name);
		}
		sep = true;
	}
	if (a->country[0] != '\0') {
		if (sep)
			publish_html_msg(e, lang, MSG_LIST_SEP);
		emit_text(e, country_name(a->country, lang->code));
	}
}

/* The page's log lines in a <pre>, targeted kinds in bold. */
static void
publish_html_lines(struct emit *e, const struct i18n_lang *lang,
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
		emit_raw(e,
		    publish_data_kind_targeted((int)pl->v[i].rec.kind) ?
		    "<span class=\"l t\">" : "<span class=\"l\">");
		emit_fmt(e, "<span class=\"no\">%*zu</span> ", width, i + 1);
		emit_text(e, pl->v[i].text);
		emit_raw(e, "  <span class=\"kw\">[");
		emit_text(e, i18n_kind(lang, (int)pl->v[i].rec.kind));
		emit_raw(e, "]</span>");
		if (!attrib_is_empty(&pl->v[i].attr)) {
			emit_raw(e, " <span class=\"net\">(");
			publish_html_network(e, lang, &pl->v[i].attr, false);
			emit_raw(e, ")</span>");
		}
		emit_raw(e, "\n</span>");
	}
	emit_raw(e, "</pre>\n");
}

/* Where a page of lang is, seen from the top or from incidents/. */

void
publish_html_href(struct emit *e, enum publish_page page, int64_t id,
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

/*
 * <!DOCTYPE> to <body>, and the language switcher. The page that says
 * publication has ended (ended) has no generator, no alternates and
 * links to the index pages only, from_inc telling where it is.
 */
static void
publish_html_head_any(struct publish_ctx *ctx, const struct i18n_lang *lang,
    enum publish_page page, int64_t id, bool from_inc,
    const char *title_prefix, bool with_feed, bool ended)
{
	struct emit		*e = &ctx->e;
	const struct i18n_lang	*other;
	size_t			 i;

	emit_raw(e, "<!DOCTYPE html>\n<html lang=\"");
	emit_text(e, lang->code);
	emit_raw(e, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n");
	if (!ended) {
		emit_raw(e, "<meta name=\"generator\" content=\"pillory ");
		emit_text(e, PILLORY_VERSION);
		emit_raw(e, "\">\n");
	}
	emit_raw(e, "<title>");
	if (title_prefix != NULL) {
		emit_text(e, title_prefix);
		emit_raw(e, " \xe2\x80\x94 ");
	}
	publish_html_msg(e, lang, ended ? MSG_SITE : MSG_TITLE);
	emit_raw(e, " \xe2\x80\x94 ");
	emit_text(e, ctx->conf->hostname);
	emit_raw(e, "</title>\n");
	for (i = 0; i < ctx->conf->nlangs && !ended; i++) {
		other = ctx->conf->langs[i];
		if (other == lang)
			continue;
		emit_raw(e, "<link rel=\"alternate\" hreflang=\"");
		emit_text(e, other->code);
		emit_raw(e, "\" href=\"");
		publish_html_href(e, page, id, other, from_inc);
		emit_raw(e, "\">\n");
	}
	if (with_feed) {
		emit_raw(e, "<link rel=\"alternate\" "
		    "type=\"application/atom+xml\" title=\"");
		publish_html_msg(e, lang, MSG_FEED);
		emit_raw(e, from_inc ? "\" href=\"../feed." : "\" href=\"feed.");
		emit_text(e, lang->code);
		emit_raw(e, ".atom\">\n");
	}
	emit_raw(e, "<style>");
	emit_raw(e, publish_html_css);
	emit_raw(e, "</style>\n</head>\n<body>\n");
	if (ctx->conf->nlangs > 1) {
		emit_raw(e, "<nav class=\"lang\">");
		for (i = 0; i < ctx->conf->nlangs; i++) {
			other = ctx->conf->langs[i];
			if (other == lang) {
				emit_raw(e, "<strong>");
				publish_html_msg(e, other, MSG_LANG_NAME);
				emit_raw(e, "</strong>");
				continue;
			}
			emit_raw(e, "<a href=\"");
			publish_html_href(e, page, id, other, from_inc);
			emit_raw(e, "\" hreflang=\"");
			emit_text(e, other->code);
			emit_raw(e, "\" lang=\"");
			emit_text(e, other->code);
			emit_raw(e, "\">");
			publish_html_msg(e, other, MSG_LANG_NAME);
			emit_raw(e, "</a>");
		}
		emit_raw(e, "</nav>\n");
	}
}

static void
publish_html_head(struct publish_ctx *ctx, const struct i18n_lang *lang,
    enum publish_page page, int64_t id, const char *title_prefix,
    bool with_feed)
{
	publish_html_head_any(ctx, lang, page, id, page == PAGE_INCIDENT,
	    title_prefix, with_feed, false);
}

static void
publish_html_foot(struct publish_ctx *ctx, const struct i18n_lang *lang,
    bool from_inc, bool links)
{
	struct emit	*e = &ctx->e;

	emit_raw(e, "<footer>\n");
	if (links) {
		emit_raw(e, "<p><a href=\"");
		emit_raw(e, from_inc ? "../feed." : "feed.");
		emit_text(e, lang->code);
		emit_raw(e, ".atom\">");
		publish_html_msg(e, lang, MSG_FEED);
		emit_raw(e, "</a> \xc2\xb7 <a href=\"");
		emit_raw(e, from_inc ? "../" : "");
		emit_raw(e, "attacks.json\">");
		publish_html_msg(e, lang, MSG_JSON);
		emit_raw(e, "</a></p>\n");
		emit_raw(e, "<p>");
		publish_html_msg1(e, lang, MSG_TIMES_NOTE, ctx->offset);
		emit_raw(e, "</p>\n");
	}
	emit_raw(e, "<p>");
	publish_html_msg1(e, lang, MSG_FOOTER, PILLORY_VERSION);
	emit_raw(e, "</p>\n</footer>\n</body>\n</html>\n");
}

/*
 * The index page.
 */

static void
publish_html_counts(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;
	char		 day[I18N_DATE_MAX];
	int		 k;

	emit_raw(e, "<section id=\"counts\">\n<h2>");
	publish_html_msg(e, lang, MSG_COUNTS);
	emit_raw(e, "</h2>\n<div class=\"cards\">\n<p class=\"card\">");
	publish_html_msg(e, lang, MSG_TOTAL);
	emit_raw(e, " <span class=\"big\" id=\"total\">");
	emit_u64_grouped(e, d->totals.total);
	emit_raw(e, "</span>");
	if (d->first_day[0] != '\0') {
		emit_raw(e, "<span class=\"sub\">");
		publish_html_msg1(e, lang, d->first_before ? MSG_SINCE_BEFORE :
		    MSG_SINCE, publish_html_day(lang, d->first_day, false, day,
		    sizeof(day)));
		emit_raw(e, "</span>");
	}
	emit_raw(e, "</p>\n<p class=\"card\">");
	publish_html_msg(e, lang, MSG_TODAY);
	emit_raw(e, " <span class=\"big\" id=\"today\">");
	emit_u64_grouped(e, d->today);
	emit_raw(e, "</span></p>\n<p class=\"card\">");
	publish_html_msg(e, lang, MSG_LAST30);
	emit_raw(e, " <span class=\"big\" id=\"last30\">");
	emit_u64_grouped(e, d->last30);
	emit_raw(e, "</span></p>\n<p class=\"card\">");
	publish_html_msg(e, lang, MSG_INCIDENTS_KEPT);
	emit_raw(e, " <span class=\"big\" id=\"incidents-kept\">");
	emit_u64_grouped(e, d->totals.incidents);
	emit_raw(e, "</span></p>\n</div>\n");

	emit_raw(e, "<div class=\"scroll\"><table>\n<thead><tr>"
	    "<th scope=\"col\">");
	publish_html_msg(e, lang, MSG_KIND);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	publish_html_msg(e, lang, MSG_TOTAL);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	publish_html_msg(e, lang, MSG_LAST30);
	emit_raw(e, "</th></tr></thead>\n<tbody>\n");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		emit_raw(e, "<tr><th scope=\"row\">");
		publish_html_swatch(e, k);
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

static void
publish_html_recent(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;
	char		 a[32], b[32];

	emit_raw(e, "<section id=\"recent\">\n<h2>");
	publish_html_msg(e, lang, MSG_RECENT);
	emit_raw(e, "</h2>\n");
	if (d->recent.n == 0) {
		emit_raw(e, "<p>");
		publish_html_msg(e, lang, MSG_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	emit_raw(e, "<p class=\"note\">");
	publish_html_msg2(e, lang, ctx->conf->mask ? MSG_RECENT_NOTE :
	    MSG_RECENT_NOTE_UNMASKED,
	    publish_html_num(d->recent.n, a, sizeof(a)),
	    publish_html_num(d->totals.total, b, sizeof(b)));
	emit_raw(e, "</p>\n");
	publish_html_lines(e, lang, &d->recent, "log");
	emit_raw(e, "</section>\n");
}

static void
publish_html_incidents(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit			*e = &ctx->e;
	const struct store_incident	*in;
	struct attrib			 at;
	char				 a[32];
	size_t				 i;

	emit_raw(e, "<section id=\"incidents\">\n<h2>");
	publish_html_msg(e, lang, MSG_INCIDENTS);
	emit_raw(e, "</h2>\n");
	if (d->nincidents == 0) {
		emit_raw(e, "<p>");
		publish_html_msg(e, lang, MSG_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	emit_raw(e, "<p class=\"note\">");
	publish_html_msg1(e, lang, MSG_INCIDENTS_NOTE,
	    publish_html_num(d->nincidents, a, sizeof(a)));
	/* A list of small cards, not a table: readable on a phone. */
	emit_raw(e, "</p>\n<ol class=\"incidents\">\n");
	for (i = 0; i < d->nincidents; i++) {
		in = &d->incidents[i];
		emit_raw(e, "<li><a href=\"");
		publish_html_href(e, PAGE_INCIDENT, in->id, lang, false);
		emit_fmt(e, "\">#%lld</a> <strong>", (long long)in->id);
		emit_text(e, in->client_ip);
		emit_raw(e, "</strong> <span class=\"note\">");
		emit_text(e, in->client_name[0] != '\0' ? in->client_name :
		    "unknown");
		emit_raw(e, "</span>");
		if (attrib_of(ctx->conf->asn, in->client_ip, in->client_name,
		    &at)) {
			emit_raw(e, " <span class=\"net\">");
			publish_html_network(e, lang, &at, false);
			emit_raw(e, "</span>");
		}
		emit_raw(e, "<br>");
		publish_html_period(e, lang, in->first_us, in->last_us);
		emit_raw(e, " \xc2\xb7 ");
		publish_html_msg(e, lang, MSG_ATTEMPTS);
		emit_raw(e, " ");
		emit_u64_grouped(e, in->count);
		emit_raw(e, in->targeted ? " \xc2\xb7 <span class=\"targeted\">" :
		    " \xc2\xb7 <span>");
		publish_html_msg(e, lang, MSG_TARGETED);
		emit_raw(e, ": ");
		publish_html_msg(e, lang, in->targeted ? MSG_YES : MSG_NO);
		emit_raw(e, "</span><br><span class=\"note\">");
		publish_html_msg(e, lang, MSG_SENDERS);
		emit_raw(e, ": ");
		publish_html_senders(e, lang, in->senders,
		    PUBLISH_SENDERS_SHOWN);
		emit_raw(e, "</span></li>\n");
	}
	emit_raw(e, "</ol>\n</section>\n");
}

static void
publish_html_top_table(struct emit *e, const struct i18n_lang *lang,
    enum i18n_msg head, const struct store_top *t, size_t n, const char *id)
{
	size_t	i;

	emit_raw(e, "<div class=\"scroll\"><table id=\"");
	emit_text(e, id);
	emit_raw(e, "\">\n<thead><tr><th scope=\"col\">");
	publish_html_msg(e, lang, head);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	publish_html_msg(e, lang, MSG_ATTEMPTS);
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
publish_html_top(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;

	emit_raw(e, "<section id=\"top\">\n<h2>");
	publish_html_msg(e, lang, MSG_TOP);
	emit_raw(e, "</h2>\n");
	if (d->nnets == 0 && d->naddrs == 0) {
		emit_raw(e, "<p>");
		publish_html_msg(e, lang, MSG_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	emit_raw(e, "<p class=\"note\">");
	publish_html_msg(e, lang, MSG_TOP_NOTE);
	emit_raw(e, "</p>\n<div class=\"tops\">\n");
	publish_html_top_table(e, lang, MSG_NETWORK, d->nets, d->nnets,
	    "top-networks");
	publish_html_top_table(e, lang, MSG_ADDRESS, d->addrs, d->naddrs,
	    "top-addresses");
	emit_raw(e, "</div>\n</section>\n");
}

/* Current bans: their number and the networks with their end. */
static void
publish_html_bans(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;
	char		 net[BAN_NET_TEXT_MAX], num[32];
	size_t		 i;

	emit_raw(e, "<section id=\"bans\">\n<h2>");
	publish_html_msg(e, lang, MSG_BANS_TITLE);
	emit_raw(e, "</h2>\n<p>");
	if (d->bans.n == 0) {
		publish_html_msg(e, lang, MSG_BANS_NONE);
		emit_raw(e, "</p>\n</section>\n");
		return;
	}
	publish_html_msg1(e, lang, MSG_BANS_COUNT,
	    publish_html_num(d->bans.n, num, sizeof(num)));
	emit_raw(e, "</p>\n<div class=\"scroll\"><table id=\"ban-list\">\n"
	    "<thead><tr><th scope=\"col\">");
	publish_html_msg(e, lang, MSG_NETWORK);
	emit_raw(e, "</th><th scope=\"col\">");
	publish_html_msg(e, lang, MSG_BANS_UNTIL);
	emit_raw(e, "</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < d->bans.n && i < PUBLISH_BANS_SHOWN; i++) {
		if (!ban_net_format(&d->bans.v[i].net, net, sizeof(net)))
			continue;
		emit_raw(e, "<tr><td>");
		emit_text(e, net);
		emit_raw(e, "</td><td>");
		publish_html_time(e, lang, d->bans.v[i].expires_us, false);
		emit_raw(e, "</td></tr>\n");
	}
	emit_raw(e, "</tbody>\n</table></div>\n</section>\n");
}

void
publish_html_index(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct publish_data *d)
{
	struct emit	*e = &ctx->e;

	publish_html_head(ctx, lang, PAGE_INDEX, 0, NULL, true);
	emit_raw(e, "<header>\n<p class=\"crumb\">");
	publish_html_msg(e, lang, MSG_SITE);
	emit_raw(e, "</p>\n<h1>");
	publish_html_msg(e, lang, MSG_TITLE);
	emit_raw(e, "</h1>\n<p>");
	publish_html_msg1(e, lang, MSG_INTRO, ctx->conf->hostname);
	emit_raw(e, "</p>\n<p class=\"note\">");
	publish_html_msg(e, lang, MSG_UPDATED);
	emit_raw(e, ": ");
	publish_html_time(e, lang, d->now_us, false);
	emit_raw(e, "</p>\n</header>\n<main>\n");
	publish_html_counts(ctx, lang, d);
	publish_chart_svg(&ctx->e, lang, d->days);
	publish_html_recent(ctx, lang, d);
	publish_html_incidents(ctx, lang, d);
	publish_html_top(ctx, lang, d);
	publish_html_bans(ctx, lang, d);
	emit_raw(e, "</main>\n");
	publish_html_foot(ctx, lang, false, true);
}

/*
 * Incident pages. Nothing on them depends on the time of generation, so
 * an unchanged incident's page is not rewritten.
 */

void
publish_html_incident(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const struct store_incident *in, const struct publish_lines *lines)
{
	struct emit	*e = &ctx->e;
	struct attrib	 at;
	char		 id[32], a[32], b[32];

	(void)text_printf(id, sizeof(id), "%lld", (long long)in->id);
	(void)text_printf(a, sizeof(a), "#%s", id);
	publish_html_head(ctx, lang, PAGE_INCIDENT, in->id, a, true);
	emit_raw(e, "<header>\n<p class=\"crumb\">");
	publish_html_msg(e, lang, MSG_SITE);
	emit_raw(e, " \xe2\x80\xba <a href=\"");
	publish_html_href(e, PAGE_INDEX, 0, lang, true);
	emit_raw(e, "\">");
	publish_html_msg(e, lang, MSG_TITLE);
	emit_raw(e, "</a></p>\n<h1>");
	publish_html_msg1(e, lang, MSG_INCIDENT_TITLE, id);
	emit_raw(e, "</h1>\n");
	if (in->targeted) {
		emit_raw(e, "<p class=\"targeted\">");
		publish_html_msg(e, lang, MSG_TARGETED_NOTE);
		emit_raw(e, "</p>\n");
	}
	emit_raw(e, "</header>\n<main>\n<dl class=\"facts\">\n<dt>");
	publish_html_msg(e, lang, MSG_ADDRESS);
	emit_raw(e, "</dt><dd id=\"address\">");
	emit_text(e, in->client_ip);
	emit_raw(e, "</dd>\n<dt>");
	publish_html_msg(e, lang, MSG_CLIENT_NAME);
	emit_raw(e, "</dt><dd>");
	emit_text(e, in->client_name[0] != '\0' ? in->client_name :
	    "unknown");
	if (attrib_of(ctx->conf->asn, in->client_ip, in->client_name, &at)) {
		emit_raw(e, "</dd>\n<dt>");
		publish_html_msg(e, lang, MSG_NETWORK);
		emit_raw(e, "</dt><dd id=\"network\">");
		publish_html_network(e, lang, &at, true);
	}
	emit_raw(e, "</dd>\n<dt>");
	publish_html_msg(e, lang, MSG_PERIOD);
	emit_raw(e, "</dt><dd>");
	publish_html_period(e, lang, in->first_us, in->last_us);
	emit_raw(e, "</dd>\n<dt>");
	publish_html_msg(e, lang, MSG_ATTEMPTS);
	emit_raw(e, "</dt><dd id=\"attempts\">");
	emit_u64_grouped(e, in->count);
	emit_raw(e, "</dd>\n<dt>");
	publish_html_msg(e, lang, MSG_KINDS);
	emit_raw(e, "</dt><dd>");
	publish_html_kinds(e, lang, in->kinds);
	emit_raw(e, "</dd>\n<dt>");
	publish_html_msg(e, lang, MSG_SENDERS);
	emit_raw(e, "</dt><dd>");
	publish_html_senders(e, lang, in->senders, 0);
	emit_raw(e, "</dd>\n<dt>");
	publish_html_msg(e, lang, MSG_TARGETED);
	emit_raw(e, in->targeted ? "</dt><dd class=\"targeted\">" :
	    "</dt><dd>");
	publish_html_msg(e, lang, in->targeted ? MSG_YES : MSG_NO);
	emit_raw(e, "</dd>\n</dl>\n<section id=\"lines\">\n<h2>");
	publish_html_msg(e, lang, MSG_INCIDENT_LINES);
	emit_raw(e, "</h2>\n<p class=\"note\">");
	if (lines->n == 0)
		publish_html_msg(e, lang, MSG_INCIDENT_GONE);
	else
		publish_html_msg2(e, lang, MSG_INCIDENT_LINES_NOTE,
		    publish_html_num(lines->n, a, sizeof(a)),
		    publish_html_num(in->count, b, sizeof(b)));
	emit_raw(e, "</p>\n");
	if (lines->n > 0)
		publish_html_lines(e, lang, lines, "log");
	emit_raw(e, "</section>\n</main>\n");
	publish_html_foot(ctx, lang, true, true);
}

/*
 * The generation, disabled: every page, feed and JSON file says that
 * publication has ended, with no attack data.
 */

void
publish_html_ended(struct publish_ctx *ctx, const struct i18n_lang *lang,
    bool from_inc)
{
	struct emit	*e = &ctx->e;

	publish_html_head_any(ctx, lang, PAGE_INDEX, 0, from_inc, NULL, false,
	    true);
	emit_raw(e, "<main>\n<h1>");
	publish_html_msg(e, lang, MSG_SITE);
	emit_raw(e, "</h1>\n<p id=\"ended\">");
	publish_html_msg(e, lang, MSG_ENDED);
	emit_raw(e, "</p>\n</main>\n");
	publish_html_foot(ctx, lang, from_inc, false);
}

