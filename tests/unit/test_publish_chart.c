/*
 * Unit tests for the page's SVG chart (src/publish_chart.c): the axis
 * step, the bars (one per day and kind with a count), the empty chart,
 * and the table that is the chart's text alternative.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emit.h"
#include "i18n.h"
#include "publish.h"
#include "publish_priv.h"
#include "store.h"

static struct store_day	days[PUBLISH_CHART_DAYS];

static void
fill_days(void)
{
	size_t	i;

	memset(days, 0, sizeof(days));
	for (i = 0; i < PUBLISH_CHART_DAYS; i++)
		(void)snprintf(days[i].day, sizeof(days[i].day),
		    "2026-%02zu-%02zu", 1 + i / 28, 1 + i % 28);
}

static size_t
count_of(const char *hay, const char *needle)
{
	size_t		 n = 0;
	const char	*p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return (n);
}

static char *
chart(const char *lang)
{
	struct emit	 e;
	char		*r;

	emit_init(&e);
	publish_chart_svg(&e, i18n_find(lang), days);
	r = strdup(e.buf);
	emit_free(&e);
	return (r);
}

static void
test_step(void **state)
{
	(void)state;
	assert_int_equal(publish_chart_step(0, 4), 1);
	assert_int_equal(publish_chart_step(1, 4), 1);
	assert_int_equal(publish_chart_step(4, 4), 1);
	assert_int_equal(publish_chart_step(5, 4), 2);
	assert_int_equal(publish_chart_step(9, 4), 5);
	assert_int_equal(publish_chart_step(21, 4), 10);
	assert_int_equal(publish_chart_step(1000, 4), 500);
	assert_int_equal(publish_chart_step(1001, 4), 500);
	assert_int_equal(publish_chart_step(4000000000000ULL, 4),
	    1000000000000ULL);
}

static void
test_empty(void **state)
{
	char	*s;

	(void)state;
	fill_days();
	s = chart("en");
	assert_non_null(strstr(s, "<svg class=\"chart\""));
	assert_non_null(strstr(s, "</svg>"));
	assert_int_equal(count_of(s, "<rect x="), 0);
	/* Grid lines 0..4 at step 1; the table has one row per day. */
	assert_int_equal(count_of(s, "<tr><th scope=\"row\">"),
	    PUBLISH_CHART_DAYS);
	free(s);
}

static void
test_bars(void **state)
{
	char	*s;

	(void)state;
	fill_days();
	days[0].count = 3;
	days[0].by_kind[0] = 1;
	days[0].by_kind[1] = 2;
	days[PUBLISH_CHART_DAYS - 1].count = 12345;
	days[PUBLISH_CHART_DAYS - 1].by_kind[2] = 12345;
	s = chart("en");
	/* One bar per (day, kind) with a count, colored by kind (the
	 * legend's swatches have no x). */
	assert_int_equal(count_of(s, "<rect x="), 3);
	assert_non_null(strstr(s, publish_chart_colors[0]));
	assert_non_null(strstr(s, publish_chart_colors[2]));
	/* Counts are grouped, in the bar's title and in the table. */
	assert_true(count_of(s, "12,345") >= 2);
	/* The busiest day is named in the description. */
	assert_non_null(strstr(s, "<desc>"));
	assert_int_equal(count_of(s, "<g><title>"), 2);
	free(s);
}

static void
test_languages(void **state)
{
	char	*en, *ja;

	(void)state;
	fill_days();
	days[3].count = 1;
	days[3].by_kind[0] = 1;
	en = chart("en");
	ja = chart("ja");
	assert_string_not_equal(en, ja);
	assert_int_equal(count_of(en, "<rect x="), count_of(ja, "<rect x="));
	free(en);
	free(ja);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_languages),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
