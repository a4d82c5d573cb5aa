/*
 * publish_chart.c: the SVG bar chart of the last PUBLISH_CHART_DAYS days,
 * one stack per day and kinds in enum order, with its text alternative
 * (a table). Pure: it only appends to an emitter.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emit.h"
#include "i18n.h"
#include "pillory.h"
#include "publish.h"
#include "publish_priv.h"
#include "store.h"

/* Okabe-Ito colours, one per kind: told apart with colour blindness too. */
const char *const publish_chart_colors[ATTACK_KIND_COUNT] = {
	"#0072b2", "#d55e00", "#cc79a7", "#e69f00", "#009e73", "#666666",
	"#56b4e9",
};

/* A step of 1, 2 or 5 times a power of ten with ticks * step >= max. */
uint64_t
publish_chart_step(uint64_t max, uint64_t ticks)
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

void
publish_chart_svg(struct emit *e, const struct i18n_lang *lang,
    const struct store_day *days)
{
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
	step = publish_chart_step(max, CHART_TICKS);
	ntick = max == 0 ? CHART_TICKS : (max + step - 1) / step;
	top = step * ntick;
	slot = (double)(CHART_X1 - CHART_X0) / PUBLISH_CHART_DAYS;

	emit_raw(e, "<section id=\"chart\">\n<h2>");
	publish_html_msg(e, lang, MSG_CHART);
	emit_raw(e, "</h2>\n<figure>\n");
	emit_fmt(e, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
	    "xmlns=\"http://www.w3.org/2000/svg\">\n<title>", CHART_W, CHART_H);
	publish_html_msg(e, lang, MSG_CHART);
	emit_raw(e, "</title>\n<desc>");
	args[0] = publish_html_day(lang, days[0].day, false, a, sizeof(a));
	args[1] = publish_html_day(lang, days[PUBLISH_CHART_DAYS - 1].day,
	    false, b, sizeof(b));
	args[2] = publish_html_num(sum, n1, sizeof(n1));
	args[3] = publish_html_day(lang, days[busiest].day, false, c,
	    sizeof(c));
	args[4] = publish_html_num(max, n2, sizeof(n2));
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
		emit_text(e, publish_html_day(lang, days[i].day, false, a,
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
			    h < 0.5 ? 0.5 : h, publish_chart_colors[k]);
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
		emit_text(e, publish_html_day(lang, days[i].day, true, a,
		    sizeof(a)));
		emit_raw(e, "</text>\n");
	}
	emit_raw(e, "</svg>\n<figcaption><ul class=\"legend\">");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		emit_raw(e, "<li>");
		publish_html_swatch(e, k);
		emit_text(e, i18n_kind(lang, k));
		emit_raw(e, "</li>");
	}
	emit_raw(e, "</ul></figcaption>\n</figure>\n");

	/* The same numbers as a table: the chart's text alternative. */
	emit_raw(e, "<details>\n<summary>");
	publish_html_msg(e, lang, MSG_CHART_TABLE);
	emit_raw(e, "</summary>\n<div class=\"scroll\"><table>\n<thead><tr>"
	    "<th scope=\"col\">");
	publish_html_msg(e, lang, MSG_DAY);
	emit_raw(e, "</th><th scope=\"col\" class=\"n\">");
	publish_html_msg(e, lang, MSG_TOTAL);
	emit_raw(e, "</th>");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		emit_raw(e, "<th scope=\"col\" class=\"n\">");
		emit_text(e, i18n_kind(lang, k));
		emit_raw(e, "</th>");
	}
	emit_raw(e, "</tr></thead>\n<tbody>\n");
	for (i = PUBLISH_CHART_DAYS; i-- > 0;) {
		emit_raw(e, "<tr><th scope=\"row\">");
		emit_text(e, publish_html_day(lang, days[i].day, false, a,
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

