/*
 * i18n.c: message tables and date forms of the public site, Japanese and
 * English (see i18n.h). Constant tables and pure functions. The Japanese
 * names follow the original site: its page 「スパム中継攻撃記録」 lived
 * within 「ネットワーク攻撃記録」, and its last word was
 * 「ネットワーク攻撃記録の公表はとりやめました。」 (our enabled = no).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "text.h"

static const char *const i18n_ja[MSG_COUNT] = {
	[MSG_LANG_NAME] = "日本語",
	[MSG_SITE] = "ネットワーク攻撃記録",
	[MSG_TITLE] = "スパム中継攻撃記録",
	[MSG_INTRO] = "メールサーバ {1} は、身元を証明した利用者のメールしか"
	    "よそへ中継しません。このページでは、中継を試みて拒否された攻撃を"
	    "自動的に記録し、公表しています。",
	[MSG_UPDATED] = "最終更新",
	[MSG_TIMES_NOTE] = "時刻は {1} で表示しています。1日ごとの集計は UTC "
	    "の日付によります。",
	[MSG_COUNTS] = "攻撃検出件数",
	[MSG_TOTAL] = "合計",
	[MSG_SINCE] = "{1} 以来",
	[MSG_SINCE_BEFORE] = "{1} 以前から",
	[MSG_TODAY] = "今日 (UTC)",
	[MSG_LAST30] = "過去30日",
	[MSG_INCIDENTS_KEPT] = "保存中のインシデント",
	[MSG_KIND] = "種類",
	[MSG_ATTEMPTS] = "件数",
	[MSG_CHART] = "1日ごとの攻撃件数 (過去90日)",
	[MSG_CHART_DESC] = "{1} から {2} までの90日間に {3} 件の攻撃を検出。"
	    "最も多かったのは {4} の {5} 件。",
	[MSG_CHART_DESC_NONE] = "{1} から {2} までの90日間に攻撃は"
	    "ありませんでした。",
	[MSG_CHART_TABLE] = "グラフの数値を表で見る",
	[MSG_DAY] = "日付 (UTC)",
	[MSG_RECENT] = "最近の攻撃",
	[MSG_RECENT_NOTE] = "全 {2} 件のうち最新の {1} 件を表示しています。"
	    "古い記録はこのページから消えますが、件数には数えられています。"
	    "宛先アドレスのローカル部は伏せてあります。",
	[MSG_RECENT_NOTE_UNMASKED] = "全 {2} 件のうち最新の {1} 件を表示して"
	    "います。古い記録はこのページから消えますが、件数には数えられて"
	    "います。",
	[MSG_NONE] = "記録はまだありません。",
	[MSG_INCIDENTS] = "インシデント",
	[MSG_INCIDENTS_NOTE] = "同じアドレスからの一連の攻撃 (30分以上の"
	    "空白で区切ります) の最新 {1} 件。それぞれに固定のページがあり、"
	    "ログがこのページから消えた後も残ります。",
	[MSG_ADDRESS] = "アドレス",
	[MSG_CLIENT_NAME] = "ホスト名",
	[MSG_PERIOD] = "期間",
	[MSG_SENDERS] = "使われた差出人",
	[MSG_TARGETED] = "当サイトのドメインを詐称",
	[MSG_TARGETED_NOTE] = "当サイトのドメイン名を差出人にかたった、"
	    "このサイトを狙った攻撃です。",
	[MSG_YES] = "はい",
	[MSG_NO] = "いいえ",
	[MSG_KINDS] = "攻撃の種類",
	[MSG_INCIDENT_TITLE] = "インシデント #{1}",
	[MSG_INCIDENT_LINES] = "ログ",
	[MSG_INCIDENT_LINES_NOTE] = "このインシデントの記録 {2} 件のうち、"
	    "最新の {1} 件。",
	[MSG_INCIDENT_GONE] = "このインシデントのログは保存期間を過ぎたため"
	    "削除されました。",
	[MSG_BACK] = "スパム中継攻撃記録に戻る",
	[MSG_TOP] = "攻撃元の上位",
	[MSG_TOP_NOTE] = "保存中の記録による集計です。ネットワークは IPv4 の "
	    "/24、IPv6 の /48 単位。",
	[MSG_NETWORK] = "ネットワーク",
	[MSG_FEED] = "インシデントの Atom フィード",
	[MSG_JSON] = "件数と最近の攻撃の JSON データ",
	[MSG_FOOTER] = "このページは pillory {1} が自動的に生成しています。"
	    "JavaScript も外部のファイルも使っていません。",
	[MSG_ENDED] = "ネットワーク攻撃記録の公表はとりやめました。",
	[MSG_FEED_TITLE] = "{1} へのスパム中継攻撃",
	[MSG_ENTRY_TITLE] = "{1} ({2}) から {3} 件の攻撃",
	[MSG_ENTRY_SUMMARY] = "{1} から {2} まで。種類: {3}。差出人: {4}",
	[MSG_ENTRY_TARGETED] = "当サイトのドメインを詐称。",
	[MSG_LIST_SEP] = "、",
	[MSG_KIND_RELAY] = "第三者中継",
	[MSG_KIND_SPOOFED_RELAY] = "ドメイン詐称中継",
	[MSG_KIND_FORGED_LOCAL] = "ローカル差出人の偽装",
	[MSG_KIND_AUTH_FAIL] = "認証失敗",
	[MSG_KIND_PROTOCOL] = "プロトコル違反",
	[MSG_KIND_BANNED] = "遮断中の接続",
	[MSG_KIND_BLOCKLISTED] = "ブロックリスト掲載",
	[MSG_KIND_DESC_RELAY] = "よそのアドレスからよそのアドレスへの"
	    "メールを中継させようとした。",
	[MSG_KIND_DESC_SPOOFED_RELAY] = "当サイトのドメインを差出人に"
	    "かたって、よそへのメールを中継させようとした。",
	[MSG_KIND_DESC_FORGED_LOCAL] = "当サイトのドメインを差出人に"
	    "かたって、当サイトの利用者にメールを送ろうとした。",
	[MSG_KIND_DESC_AUTH_FAIL] = "ログインに失敗した (ユーザー名は"
	    "公表しません)。",
	[MSG_KIND_DESC_PROTOCOL] = "プロトコルを乱用した (不正な改行、"
	    "挨拶前の送信、コマンドの連打など)。",
	[MSG_KIND_DESC_BANNED] = "攻撃を繰り返して遮断されている間に"
	    "接続してきた。",
	[MSG_KIND_DESC_BLOCKLISTED] = "DNS ブロックリストに載っている"
	    "アドレスから送ろうとした。",
	[MSG_BANS_TITLE] = "遮断中のネットワーク",
	[MSG_BANS_COUNT] = "現在 {1} 件のネットワークを遮断しています。",
	[MSG_BANS_NONE] = "現在遮断中のネットワークはありません。",
	[MSG_BANS_UNTIL] = "遮断終了",
};

static const char *const i18n_en[MSG_COUNT] = {
	[MSG_LANG_NAME] = "English",
	[MSG_SITE] = "Network attack log",
	[MSG_TITLE] = "Spam relay attack log",
	[MSG_INTRO] = "The mail server {1} relays mail only for users who "
	    "have proved who they are. Every refused attempt to relay "
	    "through it is recorded here automatically, for all to see.",
	[MSG_UPDATED] = "Last updated",
	[MSG_TIMES_NOTE] = "Times are shown in {1}; daily counts are per UTC "
	    "day.",
	[MSG_COUNTS] = "Attacks detected",
	[MSG_TOTAL] = "Total",
	[MSG_SINCE] = "since {1}",
	[MSG_SINCE_BEFORE] = "since {1} or earlier",
	[MSG_TODAY] = "Today (UTC)",
	[MSG_LAST30] = "Last 30 days",
	[MSG_INCIDENTS_KEPT] = "Incidents on record",
	[MSG_KIND] = "Kind",
	[MSG_ATTEMPTS] = "Attempts",
	[MSG_CHART] = "Attempts per day (last 90 days)",
	[MSG_CHART_DESC] = "{3} attempts in the 90 days from {1} to {2}; the "
	    "busiest day was {4} with {5}.",
	[MSG_CHART_DESC_NONE] = "No attempts in the 90 days from {1} to {2}.",
	[MSG_CHART_TABLE] = "The chart's numbers as a table",
	[MSG_DAY] = "Day (UTC)",
	[MSG_RECENT] = "Recent attempts",
	[MSG_RECENT_NOTE] = "The {1} most recent of {2} attempts. Older ones "
	    "roll off this page but stay counted. Recipient local parts are "
	    "masked.",
	[MSG_RECENT_NOTE_UNMASKED] = "The {1} most recent of {2} attempts. "
	    "Older ones roll off this page but stay counted.",
	[MSG_NONE] = "Nothing recorded yet.",
	[MSG_INCIDENTS] = "Incidents",
	[MSG_INCIDENTS_NOTE] = "The {1} most recent bursts from one address "
	    "(30 minutes of silence ends one). Each has a permanent page that "
	    "stays after its lines roll off.",
	[MSG_ADDRESS] = "Address",
	[MSG_CLIENT_NAME] = "Host name",
	[MSG_PERIOD] = "Period",
	[MSG_SENDERS] = "Senders used",
	[MSG_TARGETED] = "Our domain forged",
	[MSG_TARGETED_NOTE] = "A targeted attack: our own domain was forged "
	    "as the sender.",
	[MSG_YES] = "yes",
	[MSG_NO] = "no",
	[MSG_KINDS] = "Kinds",
	[MSG_INCIDENT_TITLE] = "Incident #{1}",
	[MSG_INCIDENT_LINES] = "Log",
	[MSG_INCIDENT_LINES_NOTE] = "The {1} most recent of this incident's "
	    "{2} attempts.",
	[MSG_INCIDENT_GONE] = "This incident's log lines have passed their "
	    "retention and are gone.",
	[MSG_BACK] = "Back to the spam relay attack log",
	[MSG_TOP] = "Top sources",
	[MSG_TOP_NOTE] = "Over the records kept; networks are IPv4 /24 and "
	    "IPv6 /48.",
	[MSG_NETWORK] = "Network",
	[MSG_FEED] = "Atom feed of incidents",
	[MSG_JSON] = "Counts and recent attempts as JSON",
	[MSG_FOOTER] = "This page is generated by pillory {1}. It uses no "
	    "JavaScript and no outside files.",
	[MSG_ENDED] = "Publication of the network attack log has ended.",
	[MSG_FEED_TITLE] = "Spam relay attacks on {1}",
	[MSG_ENTRY_TITLE] = "{3} attempts from {1} ({2})",
	[MSG_ENTRY_SUMMARY] = "From {1} to {2}. Kinds: {3}. Senders: {4}",
	[MSG_ENTRY_TARGETED] = "Our domain was forged.",
	[MSG_LIST_SEP] = ", ",
	[MSG_KIND_RELAY] = "Relay",
	[MSG_KIND_SPOOFED_RELAY] = "Relay with our domain forged",
	[MSG_KIND_FORGED_LOCAL] = "Forged local sender",
	[MSG_KIND_AUTH_FAIL] = "Failed login",
	[MSG_KIND_PROTOCOL] = "Protocol abuse",
	[MSG_KIND_BANNED] = "Banned client",
	[MSG_KIND_BLOCKLISTED] = "Blocklisted client",
	[MSG_KIND_DESC_RELAY] = "Tried to pass mail from an outside address "
	    "to an outside address.",
	[MSG_KIND_DESC_SPOOFED_RELAY] = "Forged our domain as the sender to "
	    "pass mail on to an outside address.",
	[MSG_KIND_DESC_FORGED_LOCAL] = "Forged our domain as the sender of "
	    "mail to one of our users.",
	[MSG_KIND_DESC_AUTH_FAIL] = "Failed to log in (login names are never "
	    "shown).",
	[MSG_KIND_DESC_PROTOCOL] = "Abused the protocol (bad line endings, "
	    "talking before the greeting, command floods).",
	[MSG_KIND_DESC_BANNED] = "Came back while banned for repeated "
	    "attacks.",
	[MSG_KIND_DESC_BLOCKLISTED] = "Tried to send from an address listed "
	    "by a DNS blocklist.",
	[MSG_BANS_TITLE] = "Banned networks",
	[MSG_BANS_COUNT] = "{1} networks are banned now.",
	[MSG_BANS_NONE] = "No network is banned now.",
	[MSG_BANS_UNTIL] = "Banned until",
};

static const struct i18n_lang i18n_langs[] = {
	{ "ja", I18N_DATE_JA, i18n_ja },
	{ "en", I18N_DATE_EN, i18n_en },
};

static const char *const i18n_months_en[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec",
};

const struct i18n_lang *
i18n_find(const char *code)
{
	size_t	i;

	for (i = 0; i < sizeof(i18n_langs) / sizeof(i18n_langs[0]); i++) {
		if (strcmp(i18n_langs[i].code, code) == 0)
			return (&i18n_langs[i]);
	}
	return (NULL);
}

const struct i18n_lang *
i18n_lang_at(size_t i)
{
	if (i >= sizeof(i18n_langs) / sizeof(i18n_langs[0]))
		return (NULL);
	return (&i18n_langs[i]);
}

size_t
i18n_lang_count(void)
{
	return (sizeof(i18n_langs) / sizeof(i18n_langs[0]));
}

const char *
i18n_msg(const struct i18n_lang *lang, enum i18n_msg id)
{
	if ((int)id < 0 || id >= MSG_COUNT || lang->msgs[id] == NULL)
		return ("");
	return (lang->msgs[id]);
}

const char *
i18n_kind(const struct i18n_lang *lang, int kind)
{
	if (kind < 0 || kind >= ATTACK_KIND_COUNT)
		return ("?");
	return (i18n_msg(lang, (enum i18n_msg)(MSG_KIND_RELAY + kind)));
}

const char *
i18n_kind_desc(const struct i18n_lang *lang, int kind)
{
	if (kind < 0 || kind >= ATTACK_KIND_COUNT)
		return ("");
	return (i18n_msg(lang, (enum i18n_msg)(MSG_KIND_DESC_RELAY + kind)));
}

/* A date (and, with hm, the time) of tm in lang's form. */
static bool
i18n_format_tm(const struct i18n_lang *lang, const struct tm *tm, bool hm,
    bool shortform, char *out, size_t outlen)
{
	char	tbuf[16] = "";

	if (hm && !text_printf(tbuf, sizeof(tbuf), " %02d:%02d", tm->tm_hour,
	    tm->tm_min))
		return (false);
	if (tm->tm_mon < 0 || tm->tm_mon > 11)
		return (false);
	switch (lang->dates) {
	case I18N_DATE_JA:
		if (shortform)
			return (text_printf(out, outlen, "%d/%d%s",
			    tm->tm_mon + 1, tm->tm_mday, tbuf));
		return (text_printf(out, outlen, "%d年%d月%d日%s",
		    tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tbuf));
	case I18N_DATE_EN:
		if (shortform)
			return (text_printf(out, outlen, "%d %s%s",
			    tm->tm_mday, i18n_months_en[tm->tm_mon], tbuf));
		return (text_printf(out, outlen, "%d %s %d%s", tm->tm_mday,
		    i18n_months_en[tm->tm_mon], tm->tm_year + 1900, tbuf));
	}
	return (false);
}

bool
i18n_time(const struct i18n_lang *lang, int64_t t_us, char *out,
    size_t outlen)
{
	struct tm	tm;
	int64_t		s = t_us / 1000000;
	time_t		t;

	if (t_us < 0 && t_us % 1000000 != 0)
		s--;
	t = (time_t)s;
	if (localtime_r(&t, &tm) == NULL)
		return (false);
	return (i18n_format_tm(lang, &tm, true, false, out, outlen));
}

bool
i18n_day(const struct i18n_lang *lang, const char *day, bool shortform,
    char *out, size_t outlen)
{
	struct tm	tm;
	int		i, y, m, d;

	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (day[i] != '-')
				return (false);
		} else if (day[i] < '0' || day[i] > '9')
			return (false);
	}
	if (day[10] != '\0')
		return (false);
	y = (day[0] - '0') * 1000 + (day[1] - '0') * 100 +
	    (day[2] - '0') * 10 + (day[3] - '0');
	m = (day[5] - '0') * 10 + (day[6] - '0');
	d = (day[8] - '0') * 10 + (day[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return (false);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (i18n_format_tm(lang, &tm, false, shortform, out, outlen));
}

bool
i18n_utc_offset(int64_t t_us, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		t = (time_t)(t_us / 1000000);
	long		off;

	if (localtime_r(&t, &tm) == NULL)
		return (false);
	off = tm.tm_gmtoff / 60;
	if (off == 0)
		return (text_copy(out, "UTC", outlen));
	return (text_printf(out, outlen, "UTC%c%02ld:%02ld",
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60));
}
