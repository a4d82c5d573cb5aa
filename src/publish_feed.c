/*
 * publish_feed.c: the Atom 1.0 feed of incidents (RFC 4287) per
 * language and attacks.json (RFC 8259), and both in their "publication
 * has ended" form.
 */

#include <string.h>
#include <time.h>

#include "attacklog.h"
#include "publish.h"
#include "publish_priv.h"
#include "text.h"

/*
 * Atom 1.0 (RFC 4287) feed of incidents. Relative links resolve against
 * the feed's own URL (RFC 4287 2, xml:base absent).
 */

static void
publish_feed_atom_time(struct emit *e, int64_t t_us)
{
	char	iso[48];

	if (!attack_format_time(t_us, false, iso, sizeof(iso)))
		(void)text_copy(iso, "1970-01-01T00:00:00Z", sizeof(iso));
	emit_text(e, iso);
}

/* "tag:" URI (RFC 4151) of the site: stable across generations. */
static void
publish_feed_tag(struct emit *e, const struct publish_conf *pc,
    const char *what)
{
	emit_raw(e, "tag:");
	emit_text(e, pc->hostname);
	emit_raw(e, ",2002:pillory:");
	emit_text(e, what);
}

void
publish_feed_atom(struct publish_ctx *ctx, const struct i18n_lang *lang,
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
	publish_html_msg1(e, lang, MSG_FEED_TITLE, ctx->conf->hostname);
	emit_raw(e, "</title>\n<id>");
	publish_feed_tag(e, ctx->conf, "incidents");
	emit_raw(e, "</id>\n<updated>");
	/* The newest incident's time: the feed changes when they do. */
	publish_feed_atom_time(e, d->nincidents > 0 ? d->incidents[0].last_us :
	    d->now_us - d->now_us % 86400000000LL);
	emit_raw(e, "</updated>\n<author><name>");
	emit_text(e, ctx->conf->hostname);
	emit_raw(e, "</name></author>\n<generator version=\"");
	emit_text(e, PILLORY_VERSION);
	emit_raw(e, "\">pillory</generator>\n<link rel=\"self\" href=\"");
	emit_text(e, self);
	emit_raw(e, "\"/>\n<link rel=\"alternate\" type=\"text/html\" "
	    "href=\"");
	publish_html_href(e, PAGE_INDEX, 0, lang, false);
	emit_raw(e, "\"/>\n");
	for (i = 0; i < d->nincidents; i++) {
		in = &d->incidents[i];
		(void)text_printf(id, sizeof(id), "incident:%lld",
		    (long long)in->id);
		emit_raw(e, "<entry>\n<title>");
		args[0] = in->client_ip;
		args[1] = in->client_name[0] != '\0' ? in->client_name :
		    "unknown";
		args[2] = publish_html_num(in->count, num, sizeof(num));
		emit_template(e, i18n_msg(lang, MSG_ENTRY_TITLE), args, 3);
		emit_raw(e, "</title>\n<id>");
		publish_feed_tag(e, ctx->conf, id);
		emit_raw(e, "</id>\n<published>");
		publish_feed_atom_time(e, in->first_us);
		emit_raw(e, "</published>\n<updated>");
		publish_feed_atom_time(e, in->last_us);
		emit_raw(e, "</updated>\n<link rel=\"alternate\" "
		    "type=\"text/html\" href=\"");
		publish_html_href(e, PAGE_INCIDENT, in->id, lang, false);
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
			publish_html_msg(e, lang, MSG_ENTRY_TARGETED);
		}
		if (attrib_of(ctx->conf->asn, in->client_ip, in->client_name,
		    &at)) {
			emit_raw(e, " (");
			publish_html_network(e, lang, &at, true);
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
publish_feed_json_by_kind(struct emit *e, const uint64_t *by_kind)
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
publish_feed_json_time(struct emit *e, int64_t t_us)
{
	char	iso[48];

	if (!attack_format_time(t_us, false, iso, sizeof(iso)))
		iso[0] = '\0';
	emit_json(e, iso);
}

static void
publish_feed_json_senders(struct emit *e, const char *list)
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
publish_feed_json_top(struct emit *e, const char *name, const char *key,
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

void
publish_feed_json(struct publish_ctx *ctx, const struct publish_data *d)
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
	publish_feed_json_time(e, d->now_us);
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
	publish_feed_json_by_kind(e, d->totals.by_kind);
	emit_raw(e, ",\"last_30_days_by_kind\":");
	publish_feed_json_by_kind(e, d->last30_by_kind);
	emit_raw(e, "},\n\"days\":[");
	for (i = 0; i < PUBLISH_CHART_DAYS; i++) {
		emit_raw(e, i > 0 ? ",\n{\"day\":" : "\n{\"day\":");
		emit_json(e, d->days[i].day);
		emit_raw(e, ",\"count\":");
		emit_u64(e, d->days[i].count);
		emit_raw(e, ",\"by_kind\":");
		publish_feed_json_by_kind(e, d->days[i].by_kind);
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
		publish_feed_json_time(e, r->time_us);
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
		publish_feed_json_time(e, in->first_us);
		emit_raw(e, ",\"last\":");
		publish_feed_json_time(e, in->last_us);
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
		publish_feed_json_senders(e, in->senders);
		(void)attrib_of(ctx->conf->asn, in->client_ip,
		    in->client_name, &at);
		attrib_emit_json(e, &at);
		emit_fmt(e, ",\"page\":\"incidents/%lld.", (long long)in->id);
		emit_raw(e, ctx->conf->langs[0]->code);
		emit_raw(e, ".html\"}");
	}
	emit_raw(e, "]");
	publish_feed_json_top(e, "top_networks", "network", d->nets, d->nnets);
	publish_feed_json_top(e, "top_addresses", "address", d->addrs,
	    d->naddrs);
	emit_raw(e, "}\n");
}

void
publish_feed_ended_atom(struct publish_ctx *ctx, const struct i18n_lang *lang,
    const char *self)
{
	struct emit	*e = &ctx->e;

	emit_raw(e, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
	emit_text(e, lang->code);
	emit_raw(e, "\">\n<title>");
	publish_html_msg(e, lang, MSG_SITE);
	emit_raw(e, "</title>\n<id>");
	publish_feed_tag(e, ctx->conf, "incidents");
	emit_raw(e, "</id>\n<updated>");
	publish_feed_atom_time(e, ctx->now_us - ctx->now_us % 86400000000LL);
	emit_raw(e, "</updated>\n<author><name>");
	emit_text(e, ctx->conf->hostname);
	emit_raw(e, "</name></author>\n<link rel=\"self\" href=\"");
	emit_text(e, self);
	emit_raw(e, "\"/>\n<entry>\n<title>");
	publish_html_msg(e, lang, MSG_ENDED);
	emit_raw(e, "</title>\n<id>");
	publish_feed_tag(e, ctx->conf, "ended");
	emit_raw(e, "</id>\n<updated>");
	publish_feed_atom_time(e, ctx->now_us - ctx->now_us % 86400000000LL);
	emit_raw(e, "</updated>\n<link rel=\"alternate\" type=\"text/html\" "
	    "href=\"");
	publish_html_href(e, PAGE_INDEX, 0, lang, false);
	emit_raw(e, "\"/>\n<summary type=\"text\">");
	publish_html_msg(e, lang, MSG_ENDED);
	emit_raw(e, "</summary>\n</entry>\n</feed>\n");
}

void
publish_feed_ended_json(struct publish_ctx *ctx)
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

