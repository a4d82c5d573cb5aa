/*
 * publish_data.c: what one generation reads from the store: the counts,
 * the recent records in their public form, the incidents, the top lists
 * and the live bans. Every string read is attacker-controlled and is
 * only ever formatted through emit.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacklog.h"
#include "publish.h"
#include "publish_priv.h"
#include "text.h"
#include "xalloc.h"

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
		    ATTACK_MASK, at != NULL ? at : ""))
			(void)text_copy(masked, ATTACK_MASK,
			    sizeof(masked));
		(void)text_copy(out->to, masked, sizeof(out->to));
	}
}

void
publish_data_lines_free(struct publish_lines *pl)
{
	size_t	i;

	for (i = 0; i < pl->n; i++)
		free(pl->v[i].text);
	free(pl->v);
	pl->v = NULL;
	pl->n = pl->cap = 0;
}

/* store_query() callback: keep the public form and its line. */
int
publish_data_collect(const struct attack_record *rec, void *arg)
{
	struct publish_lines	*pl = arg;
	struct publish_line	*l;
	char			 line[ATTACK_LINE_MAX];
	size_t			 ncap;

	if (pl->n == pl->cap) {
		ncap = pl->cap == 0 ? 64 : pl->cap * 2;
		l = xreallocarray(pl->v, ncap, sizeof(*l));
		pl->v = l;
		pl->cap = ncap;
	}
	l = &pl->v[pl->n];
	publish_public_record(rec, pl->mask, &l->rec);
	/* Our users and aliases never appear, as sender or recipient. */
	publish_mask_ours(pl->pc, l->rec.from, sizeof(l->rec.from));
	publish_mask_ours(pl->pc, l->rec.to, sizeof(l->rec.to));
	if (!attack_format_line(&l->rec, pl->mask, line, sizeof(line)))
		(void)text_copy(line, "?", sizeof(line));
	l->text = publish_strdup(line);
	(void)attrib_of(pl->asn, l->rec.client_ip, l->rec.client_name,
	    &l->attr);
	pl->n++;
	return (0);
}

bool
publish_data_kind_targeted(int kind)
{
	return (kind >= 0 && kind < ATTACK_KIND_COUNT &&
	    attack_kind_is_targeted((enum attack_kind)kind));
}

/* Read everything the pages show; -1 with err set. */
int
publish_data_load(struct store *st, const struct publish_conf *pc,
    struct publish_data *d, char *err, size_t errlen)
{
	struct store_query	 q;
	size_t			 i, n, first;
	int			 k;

	d->recent.mask = pc->mask;
	d->recent.pc = pc;
	d->recent.asn = pc->asn;
	d->hist = xcalloc(PUBLISH_HISTORY_DAYS, sizeof(*d->hist));
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
	if (store_query(st, &q, publish_data_collect, &d->recent) != 0) {
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

void
publish_data_free(struct publish_data *d)
{
	free(d->hist);
	publish_data_lines_free(&d->recent);
	free(d->bans.v);
}

static int
publish_data_collect_ban(const struct ban_entry *e, void *arg)
{
	struct publish_bans	*b = arg;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	b->v[b->n++] = *e;
	return (0);
}

static int
publish_data_ban_cmp(const void *a, const void *b)
{
	const struct ban_entry	*x = a, *y = b;

	return (x->expires_us < y->expires_us ? -1 :
	    x->expires_us > y->expires_us);
}

/* The bans in force at d->now_us, soonest end first. */
int
publish_data_load_bans(struct store *st, struct publish_data *d, char *err,
    size_t errlen)
{
	if (store_ban_list(st, d->now_us, publish_data_collect_ban,
	    &d->bans) != 0) {
		snprintf(err, errlen, "bans: %s", store_errmsg(st));
		return (-1);
	}
	if (d->bans.n > 1)
		qsort(d->bans.v, d->bans.n, sizeof(*d->bans.v),
		    publish_data_ban_cmp);
	return (0);
}

