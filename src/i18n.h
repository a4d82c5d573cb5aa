/*
 * i18n.h: the public site's languages: one message table per language
 * (every text on the pages, the feed's titles, the kind names) and each
 * language's customary date form. Pure and constant; runs wherever the
 * publisher runs. Messages are plain text (no markup) with placeholders
 * {1}..{9} filled by emit_template(); tests/unit/test_i18n.c checks that
 * every language has every message with the same placeholders.
 */
#ifndef I18N_H
#define I18N_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pillory.h"

enum i18n_msg {
	MSG_LANG_NAME,		/* the language's own name: "日本語" */
	MSG_SITE,		/* 「ネットワーク攻撃記録」 */
	MSG_TITLE,		/* 「スパム中継攻撃記録」 */
	MSG_INTRO,		/* {1} host name */
	MSG_UPDATED,
	MSG_TIMES_NOTE,		/* {1} "UTC+09:00" */
	MSG_COUNTS,
	MSG_TOTAL,
	MSG_SINCE,		/* {1} date of the first record */
	MSG_SINCE_BEFORE,	/* {1} oldest date looked at */
	MSG_TODAY,
	MSG_LAST30,
	MSG_INCIDENTS_KEPT,
	MSG_KIND,
	MSG_ATTEMPTS,
	MSG_CHART,
	MSG_CHART_DESC,		/* {1} from {2} to {3} total {4} day {5} count */
	MSG_CHART_DESC_NONE,	/* {1} from {2} to */
	MSG_CHART_TABLE,
	MSG_DAY,
	MSG_RECENT,
	MSG_RECENT_NOTE,	/* {1} shown {2} total */
	MSG_RECENT_NOTE_UNMASKED, /* {1} shown {2} total */
	MSG_NONE,
	MSG_INCIDENTS,
	MSG_INCIDENTS_NOTE,	/* {1} shown */
	MSG_ADDRESS,
	MSG_CLIENT_NAME,
	MSG_PERIOD,
	MSG_SENDERS,
	MSG_TARGETED,
	MSG_TARGETED_NOTE,
	MSG_YES,
	MSG_NO,
	MSG_KINDS,
	MSG_INCIDENT_TITLE,	/* {1} id */
	MSG_INCIDENT_LINES,
	MSG_INCIDENT_LINES_NOTE, /* {1} shown {2} total */
	MSG_INCIDENT_GONE,
	MSG_BACK,
	MSG_TOP,
	MSG_TOP_NOTE,
	MSG_NETWORK,
	MSG_FEED,
	MSG_JSON,
	MSG_FOOTER,		/* {1} version */
	MSG_ENDED,
	MSG_FEED_TITLE,		/* {1} host name */
	MSG_ENTRY_TITLE,	/* {1} address {2} name {3} attempts */
	MSG_ENTRY_SUMMARY,	/* {1} from {2} to {3} kinds {4} senders */
	MSG_ENTRY_TARGETED,
	MSG_LIST_SEP,		/* between items of a list: "、" / ", " */
	MSG_KIND_RELAY,		/* names of the kinds, in enum order */
	MSG_KIND_SPOOFED_RELAY,
	MSG_KIND_FORGED_LOCAL,
	MSG_KIND_AUTH_FAIL,
	MSG_KIND_PROTOCOL,
	MSG_KIND_BANNED,
	MSG_KIND_BLOCKLISTED,
	MSG_KIND_DESC_RELAY,	/* one-line explanations, same order */
	MSG_KIND_DESC_SPOOFED_RELAY,
	MSG_KIND_DESC_FORGED_LOCAL,
	MSG_KIND_DESC_AUTH_FAIL,
	MSG_KIND_DESC_PROTOCOL,
	MSG_KIND_DESC_BANNED,
	MSG_KIND_DESC_BLOCKLISTED,
	MSG_BANS_TITLE,		/* current bans */
	MSG_BANS_COUNT,		/* {1} number of networks */
	MSG_BANS_NONE,
	MSG_BANS_UNTIL,		/* column: banned until */
	MSG_COUNT
};

/* How a language writes dates. */
enum i18n_date_style {
	I18N_DATE_JA,		/* 2002年3月8日 06:32, short 3/8 */
	I18N_DATE_EN		/* 8 Mar 2002 06:32, short 8 Mar */
};

struct i18n_lang {
	const char		*code;		/* BCP 47: "ja", "en" */
	enum i18n_date_style	 dates;
	const char *const	*msgs;		/* MSG_COUNT entries */
};

/* Room for any date or time this module writes, with its NUL. */
#define I18N_DATE_MAX	64

/* The language called code, or NULL when there is none. */
const struct i18n_lang *i18n_find(const char *code);
/* The languages we have, for error messages and tests: ja, en. */
const struct i18n_lang *i18n_lang_at(size_t i);
size_t i18n_lang_count(void);

/* Message id of lang (never NULL for a valid id). */
const char *i18n_msg(const struct i18n_lang *lang, enum i18n_msg id);
/* Name of an attack kind in lang, and its one-line explanation. */
const char *i18n_kind(const struct i18n_lang *lang, int kind);
const char *i18n_kind_desc(const struct i18n_lang *lang, int kind);

/*
 * t_us in local time (TZ applies) as lang writes a date and time:
 * "2002年3月8日 06:32" or "8 Mar 2002 06:32". False when out (outlen
 * bytes; I18N_DATE_MAX suffices) is too small or the time is out of range.
 */
bool i18n_time(const struct i18n_lang *lang, int64_t t_us, char *out,
    size_t outlen);

/*
 * A "YYYY-MM-DD" day (as the store's daily counts give it) as lang writes
 * a date: long "2002年3月8日" / "8 Mar 2002", or short for a chart axis
 * "3/8" / "8 Mar". False when day is not such a day or out is too small.
 */
bool i18n_day(const struct i18n_lang *lang, const char *day, bool shortform,
    char *out, size_t outlen);

/* The local UTC offset at t_us: "UTC+09:00", "UTC-04:30", "UTC". */
bool i18n_utc_offset(int64_t t_us, char *out, size_t outlen);

#endif
