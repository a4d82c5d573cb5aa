/*
 * Unit tests for the public site's message tables and date forms
 * (src/i18n.c): every language has every message with the same
 * placeholders and no markup; dates in each language's customary form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "i18n.h"

/* 2002-03-08 06:32:50 in Japan (the seed's first line). */
#define SEED_US	(1015536770LL * 1000000)

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Bitmask of the placeholders {1}..{9} in s. */
static unsigned
placeholders(const char *s)
{
	unsigned	m = 0;

	for (; *s != '\0'; s++) {
		if (s[0] == '{' && s[1] >= '1' && s[1] <= '9' && s[2] == '}')
			m |= 1u << (s[1] - '0');
	}
	return (m);
}

static void
test_tables_complete(void **state)
{
	const struct i18n_lang	*ja = i18n_find("ja"), *lang;
	size_t			 l;
	int			 id;

	(void)state;
	assert_non_null(ja);
	assert_int_equal(i18n_lang_count(), 2);
	for (l = 0; l < i18n_lang_count(); l++) {
		lang = i18n_lang_at(l);
		assert_non_null(lang);
		for (id = 0; id < MSG_COUNT; id++) {
			const char *m = lang->msgs[id];

			if (m == NULL)
				fail_msg("%s: message %d missing", lang->code,
				    id);
			assert_true(m[0] != '\0');
			/* Plain text: markup would be escaped anyway, so it
			 * would show as text. */
			assert_null(strchr(m, '<'));
			assert_null(strchr(m, '>'));
			if (placeholders(m) != placeholders(ja->msgs[id]))
				fail_msg("%s: message %d placeholders differ "
				    "from ja", lang->code, id);
		}
	}
	assert_null(i18n_lang_at(i18n_lang_count()));
}

static void
test_find(void **state)
{
	(void)state;
	assert_string_equal(i18n_find("ja")->code, "ja");
	assert_string_equal(i18n_find("en")->code, "en");
	assert_null(i18n_find("fr"));
	assert_null(i18n_find(""));
	assert_null(i18n_find("JA"));
}

static void
test_seed_texts(void **state)
{
	const struct i18n_lang	*ja = i18n_find("ja"), *en = i18n_find("en");

	(void)state;
	/* The original site's names and its last word. */
	assert_string_equal(i18n_msg(ja, MSG_TITLE), "スパム中継攻撃記録");
	assert_string_equal(i18n_msg(ja, MSG_SITE), "ネットワーク攻撃記録");
	assert_string_equal(i18n_msg(ja, MSG_ENDED),
	    "ネットワーク攻撃記録の公表はとりやめました。");
	assert_string_equal(i18n_msg(en, MSG_ENDED),
	    "Publication of the network attack log has ended.");
	assert_string_equal(i18n_msg(ja, MSG_LANG_NAME), "日本語");
	assert_string_equal(i18n_msg(en, MSG_LANG_NAME), "English");
}

static void
test_kinds(void **state)
{
	const struct i18n_lang	*ja = i18n_find("ja"), *en = i18n_find("en");
	int			 k;

	(void)state;
	assert_string_equal(i18n_kind(en, ATTACK_RELAY), "Relay");
	assert_string_equal(i18n_kind(ja, ATTACK_SPOOFED_RELAY),
	    "ドメイン詐称中継");
	assert_string_equal(i18n_kind(en, ATTACK_BANNED), "Banned client");
	assert_string_equal(i18n_kind(en, -1), "?");
	assert_string_equal(i18n_kind(en, ATTACK_KIND_COUNT), "?");
	assert_string_equal(i18n_kind_desc(en, ATTACK_KIND_COUNT), "");
	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		assert_true(strlen(i18n_kind(ja, k)) > 0);
		assert_true(strlen(i18n_kind_desc(en, k)) > 0);
	}
}

static void
test_time_forms(void **state)
{
	const struct i18n_lang	*ja = i18n_find("ja"), *en = i18n_find("en");
	char			 buf[I18N_DATE_MAX];

	(void)state;
	set_tz("JST-9");
	assert_true(i18n_time(ja, SEED_US, buf, sizeof(buf)));
	assert_string_equal(buf, "2002年3月8日 06:32");
	assert_true(i18n_time(en, SEED_US, buf, sizeof(buf)));
	assert_string_equal(buf, "8 Mar 2002 06:32");
	set_tz("UTC0");
	assert_true(i18n_time(ja, SEED_US, buf, sizeof(buf)));
	assert_string_equal(buf, "2002年3月7日 21:32");
	assert_true(i18n_time(en, SEED_US, buf, sizeof(buf)));
	assert_string_equal(buf, "7 Mar 2002 21:32");
	/* Too small: false, never a cut date. */
	assert_false(i18n_time(en, SEED_US, buf, 8));
}

static void
test_day_forms(void **state)
{
	const struct i18n_lang	*ja = i18n_find("ja"), *en = i18n_find("en");
	char			 buf[I18N_DATE_MAX];

	(void)state;
	assert_true(i18n_day(ja, "2002-03-08", false, buf, sizeof(buf)));
	assert_string_equal(buf, "2002年3月8日");
	assert_true(i18n_day(ja, "2002-03-08", true, buf, sizeof(buf)));
	assert_string_equal(buf, "3/8");
	assert_true(i18n_day(en, "2002-03-08", false, buf, sizeof(buf)));
	assert_string_equal(buf, "8 Mar 2002");
	assert_true(i18n_day(en, "2024-12-31", true, buf, sizeof(buf)));
	assert_string_equal(buf, "31 Dec");
	assert_false(i18n_day(en, "2002-13-01", false, buf, sizeof(buf)));
	assert_false(i18n_day(en, "2002-3-8", false, buf, sizeof(buf)));
	assert_false(i18n_day(en, "2002-03-08x", false, buf, sizeof(buf)));
	assert_false(i18n_day(en, "", false, buf, sizeof(buf)));
	assert_false(i18n_day(en, "2002-03-00", false, buf, sizeof(buf)));
}

static void
test_utc_offset(void **state)
{
	char	buf[32];

	(void)state;
	set_tz("JST-9");
	assert_true(i18n_utc_offset(SEED_US, buf, sizeof(buf)));
	assert_string_equal(buf, "UTC+09:00");
	set_tz("XST+4:30");
	assert_true(i18n_utc_offset(SEED_US, buf, sizeof(buf)));
	assert_string_equal(buf, "UTC-04:30");
	set_tz("UTC0");
	assert_true(i18n_utc_offset(SEED_US, buf, sizeof(buf)));
	assert_string_equal(buf, "UTC");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_complete),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_seed_texts),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_time_forms),
		cmocka_unit_test(test_day_forms),
		cmocka_unit_test(test_utc_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
