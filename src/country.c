/*
 * country.c: a small table of ISO 3166-1 alpha-2 codes with their names
 * in Japanese and English (country.h). It covers the countries that send
 * most of the world's mail abuse and a good many more; a code not in the
 * table is shown as the code itself, never guessed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "country.h"

struct country {
	char		 code[3];
	const char	*en;
	const char	*ja;
};

/* Sorted by code (country_name() does a binary search). */
static const struct country countries[] = {
	{ "AE", "United Arab Emirates", "アラブ首長国連邦" },
	{ "AM", "Armenia", "アルメニア" },
	{ "AR", "Argentina", "アルゼンチン" },
	{ "AT", "Austria", "オーストリア" },
	{ "AU", "Australia", "オーストラリア" },
	{ "AZ", "Azerbaijan", "アゼルバイジャン" },
	{ "BD", "Bangladesh", "バングラデシュ" },
	{ "BE", "Belgium", "ベルギー" },
	{ "BG", "Bulgaria", "ブルガリア" },
	{ "BO", "Bolivia", "ボリビア" },
	{ "BR", "Brazil", "ブラジル" },
	{ "BY", "Belarus", "ベラルーシ" },
	{ "CA", "Canada", "カナダ" },
	{ "CH", "Switzerland", "スイス" },
	{ "CL", "Chile", "チリ" },
	{ "CN", "China", "中国" },
	{ "CO", "Colombia", "コロンビア" },
	{ "CZ", "Czechia", "チェコ" },
	{ "DE", "Germany", "ドイツ" },
	{ "DK", "Denmark", "デンマーク" },
	{ "DZ", "Algeria", "アルジェリア" },
	{ "EC", "Ecuador", "エクアドル" },
	{ "EE", "Estonia", "エストニア" },
	{ "EG", "Egypt", "エジプト" },
	{ "ES", "Spain", "スペイン" },
	{ "FI", "Finland", "フィンランド" },
	{ "FR", "France", "フランス" },
	{ "GB", "United Kingdom", "イギリス" },
	{ "GE", "Georgia", "ジョージア" },
	{ "GH", "Ghana", "ガーナ" },
	{ "GR", "Greece", "ギリシャ" },
	{ "HK", "Hong Kong", "香港" },
	{ "HR", "Croatia", "クロアチア" },
	{ "HU", "Hungary", "ハンガリー" },
	{ "ID", "Indonesia", "インドネシア" },
	{ "IE", "Ireland", "アイルランド" },
	{ "IL", "Israel", "イスラエル" },
	{ "IN", "India", "インド" },
	{ "IQ", "Iraq", "イラク" },
	{ "IR", "Iran", "イラン" },
	{ "IS", "Iceland", "アイスランド" },
	{ "IT", "Italy", "イタリア" },
	{ "JP", "Japan", "日本" },
	{ "KE", "Kenya", "ケニア" },
	{ "KG", "Kyrgyzstan", "キルギス" },
	{ "KH", "Cambodia", "カンボジア" },
	{ "KP", "North Korea", "北朝鮮" },
	{ "KR", "South Korea", "韓国" },
	{ "KZ", "Kazakhstan", "カザフスタン" },
	{ "LA", "Laos", "ラオス" },
	{ "LK", "Sri Lanka", "スリランカ" },
	{ "LT", "Lithuania", "リトアニア" },
	{ "LU", "Luxembourg", "ルクセンブルク" },
	{ "LV", "Latvia", "ラトビア" },
	{ "MA", "Morocco", "モロッコ" },
	{ "MD", "Moldova", "モルドバ" },
	{ "MM", "Myanmar", "ミャンマー" },
	{ "MN", "Mongolia", "モンゴル" },
	{ "MO", "Macao", "マカオ" },
	{ "MX", "Mexico", "メキシコ" },
	{ "MY", "Malaysia", "マレーシア" },
	{ "NG", "Nigeria", "ナイジェリア" },
	{ "NL", "Netherlands", "オランダ" },
	{ "NO", "Norway", "ノルウェー" },
	{ "NP", "Nepal", "ネパール" },
	{ "NZ", "New Zealand", "ニュージーランド" },
	{ "PA", "Panama", "パナマ" },
	{ "PE", "Peru", "ペルー" },
	{ "PH", "Philippines", "フィリピン" },
	{ "PK", "Pakistan", "パキスタン" },
	{ "PL", "Poland", "ポーランド" },
	{ "PT", "Portugal", "ポルトガル" },
	{ "PY", "Paraguay", "パラグアイ" },
	{ "RO", "Romania", "ルーマニア" },
	{ "RS", "Serbia", "セルビア" },
	{ "RU", "Russia", "ロシア" },
	{ "SA", "Saudi Arabia", "サウジアラビア" },
	{ "SC", "Seychelles", "セーシェル" },
	{ "SE", "Sweden", "スウェーデン" },
	{ "SG", "Singapore", "シンガポール" },
	{ "SI", "Slovenia", "スロベニア" },
	{ "SK", "Slovakia", "スロバキア" },
	{ "TH", "Thailand", "タイ" },
	{ "TN", "Tunisia", "チュニジア" },
	{ "TR", "Türkiye", "トルコ" },
	{ "TW", "Taiwan", "台湾" },
	{ "TZ", "Tanzania", "タンザニア" },
	{ "UA", "Ukraine", "ウクライナ" },
	{ "US", "United States", "アメリカ合衆国" },
	{ "UY", "Uruguay", "ウルグアイ" },
	{ "UZ", "Uzbekistan", "ウズベキスタン" },
	{ "VE", "Venezuela", "ベネズエラ" },
	{ "VN", "Vietnam", "ベトナム" },
	{ "ZA", "South Africa", "南アフリカ" },
};

static const struct country *
country_find(const char *cc)
{
	size_t	lo = 0, hi = sizeof(countries) / sizeof(countries[0]), mid;
	char	up[3];
	int	c;

	if (cc == NULL || cc[0] == '\0' || cc[1] == '\0' || cc[2] != '\0')
		return (NULL);
	up[0] = (cc[0] >= 'a' && cc[0] <= 'z') ? (char)(cc[0] - 32) : cc[0];
	up[1] = (cc[1] >= 'a' && cc[1] <= 'z') ? (char)(cc[1] - 32) : cc[1];
	up[2] = '\0';
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(up, countries[mid].code)) == 0)
			return (&countries[mid]);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (NULL);
}

bool
country_is_known(const char *cc)
{
	return (country_find(cc) != NULL);
}

const char *
country_name(const char *cc, const char *lang)
{
	const struct country	*c;

	if (cc == NULL)
		return ("");
	if ((c = country_find(cc)) == NULL)
		return (cc);
	if (lang != NULL && strcmp(lang, "ja") == 0)
		return (c->ja);
	return (c->en);
}
