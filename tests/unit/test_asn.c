/*
 * Unit tests for the ip2asn TSV parser and lookup (src/asn.c), the
 * country names (src/country.c) and a record's attribution
 * (src/attrib.c): the real 211.219.224.0/19 -> AS4766 KR row of the 2002
 * attack, IPv6 ranges, "Not routed" AS 0 rows, overlapping and unsorted
 * input, and every kind of malformed line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "asn.h"
#include "attrib.h"
#include "country.h"
#include "emit.h"

static enum asn_line
parse(const char *line, struct asn_entry *e, const char **why)
{
	return (asn_parse_line(line, strlen(line), e, why));
}

static void
test_parse_ok(void **state)
{
	struct asn_entry	 e;
	const char		*why;

	(void)state;
	assert_int_equal(parse("211.219.224.0\t211.219.255.255\t4766\tKR\t"
	    "KIXS-AS-KR Korea Telecom", &e, &why), ASN_LINE_OK);
	assert_false(e.v6);
	assert_int_equal(e.start[0], 211);
	assert_int_equal(e.start[2], 224);
	assert_int_equal(e.end[2], 255);
	assert_int_equal(e.asn, 4766);
	assert_string_equal(e.country, "KR");
	assert_string_equal(e.name, "KIXS-AS-KR Korea Telecom");

	assert_int_equal(parse("2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:"
	    "ffff:ffff\t64500\tjp\tEXAMPLE-JP\r", &e, &why), ASN_LINE_OK);
	assert_true(e.v6);
	assert_string_equal(e.country, "JP");
	assert_string_equal(e.name, "EXAMPLE-JP");

	assert_int_equal(parse("1.0.0.0\t1.0.0.255\t0\tNone\tNot routed",
	    &e, &why), ASN_LINE_OK);
	assert_int_equal(e.asn, 0);
	assert_string_equal(e.country, "");

	assert_int_equal(parse("1.0.1.0\t1.0.1.255\t4294967295\tUnknown\t",
	    &e, &why), ASN_LINE_OK);
	assert_int_equal(e.asn, 4294967295u);
	assert_string_equal(e.name, "");

	/* UTF-8 names are fine. */
	assert_int_equal(parse("1.0.2.0\t1.0.2.255\t2497\tJP\t"
	    "IIJ \xe6\x97\xa5\xe6\x9c\xac", &e, &why), ASN_LINE_OK);

	assert_int_equal(parse("", &e, &why), ASN_LINE_SKIP);
	assert_int_equal(parse("  \t ", &e, &why), ASN_LINE_SKIP);
	assert_int_equal(parse("# comment", &e, &why), ASN_LINE_SKIP);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"1.0.0.0\t1.0.0.255\t13335\tAU",		/* 4 fields */
		"1.0.0.0 1.0.0.255 13335 AU x",			/* spaces */
		"1.0.0\t1.0.0.255\t13335\tAU\tx",		/* address */
		"1.0.0.0\t1.0.0.256\t13335\tAU\tx",
		"1.0.0.0\t::1\t13335\tAU\tx",			/* families */
		"1.0.0.9\t1.0.0.1\t13335\tAU\tx",		/* order */
		"::2\t::1\t13335\tAU\tx",
		"1.0.0.0\t1.0.0.255\t\tAU\tx",			/* AS */
		"1.0.0.0\t1.0.0.255\tAS13335\tAU\tx",
		"1.0.0.0\t1.0.0.255\t-1\tAU\tx",
		"1.0.0.0\t1.0.0.255\t4294967296\tAU\tx",
		"1.0.0.0\t1.0.0.255\t99999999999\tAU\tx",
		"1.0.0.0\t1.0.0.255\t1\tAUS\tx",		/* country */
		"1.0.0.0\t1.0.0.255\t1\tA1\tx",
		"1.0.0.0\t1.0.0.255\t1\tAU\tx\ty",		/* 6 fields */
		"1.0.0.0\t1.0.0.255\t1\tAU\tx\x01y",		/* control */
		"1.0.0.0\t1.0.0.255\t1\tAU\tx\xff",		/* UTF-8 */
		"1.0.0.0\t1.0.0.255\t1\tAU\t\xc0\xaf",
	};
	struct asn_entry	 e;
	const char		*why;
	char			 longline[ASN_LINE_MAX + 64];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (parse(bad[i], &e, &why) != ASN_LINE_BAD)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
		assert_true(why[0] != '\0');
	}
	/* A NUL inside the description is a control character too. */
	assert_int_equal(asn_parse_line("1.0.0.0\t1.0.0.1\t1\tAU\ta\0b", 19,
	    &e, &why), ASN_LINE_BAD);
	/* Description over 255 octets; line over the maximum. */
	memset(longline, 0, sizeof(longline));
	(void)snprintf(longline, sizeof(longline), "1.0.0.0\t1.0.0.1\t1\tAU\t");
	memset(longline + strlen(longline), 'x', 256);
	assert_int_equal(parse(longline, &e, &why), ASN_LINE_BAD);
	memset(longline, 'x', ASN_LINE_MAX + 1);
	longline[ASN_LINE_MAX + 1] = '\0';
	assert_int_equal(parse(longline, &e, &why), ASN_LINE_BAD);
}

static void
add(struct asn_db *db, const char *line)
{
	struct asn_entry	 e;
	const char		*why;

	assert_int_equal(parse(line, &e, &why), ASN_LINE_OK);
	assert_true(asn_db_add(db, &e));
}

static uint32_t
as_of(const struct asn_db *db, const char *ip)
{
	struct asn_info	info;

	if (!asn_lookup(db, ip, &info))
		return (0);
	return (info.asn);
}

static void
test_lookup(void **state)
{
	struct asn_db	*db = asn_db_new();
	struct asn_info	 info;

	(void)state;
	/* Unsorted on purpose. */
	add(db, "2001:db8::\t2001:db8:0:ffff:ffff:ffff:ffff:ffff\t64501\tDE"
	    "\tEXAMPLE-DE");
	add(db, "211.219.224.0\t211.219.255.255\t4766\tKR\t"
	    "KIXS-AS-KR Korea Telecom");
	add(db, "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET");
	add(db, "203.0.113.0\t203.0.113.255\t0\tNone\tNot routed");
	add(db, "0.0.0.0\t0.255.255.255\t0\tNone\tNot routed");
	add(db, "255.255.255.0\t255.255.255.255\t64999\tZZ\tLAST");
	add(db, "ffff:ffff:ffff:ffff::\tffff:ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff\t65000\tNL\tLAST6");
	asn_db_finish(db);
	assert_int_equal(asn_db_count(db), 7);

	assert_true(asn_lookup(db, "211.219.235.140", &info));
	assert_int_equal(info.asn, 4766);
	assert_string_equal(info.country, "KR");
	assert_string_equal(info.name, "KIXS-AS-KR Korea Telecom");
	assert_int_equal(as_of(db, "211.219.224.0"), 4766);
	assert_int_equal(as_of(db, "211.219.255.255"), 4766);
	assert_int_equal(as_of(db, "211.219.223.255"), 0);
	assert_int_equal(as_of(db, "211.220.0.0"), 0);
	assert_int_equal(as_of(db, "::ffff:211.219.235.140"), 4766);
	assert_int_equal(as_of(db, "1.0.0.1"), 13335);
	/* Not routed, and not listed: nothing. */
	assert_false(asn_lookup(db, "203.0.113.5", &info));
	assert_int_equal(info.asn, 0);
	assert_string_equal(info.name, "");
	assert_int_equal(as_of(db, "0.1.2.3"), 0);
	assert_int_equal(as_of(db, "198.51.100.1"), 0);
	assert_int_equal(as_of(db, "255.255.255.255"), 64999);
	/* IPv6. */
	assert_int_equal(as_of(db, "2001:db8::1"), 64501);
	assert_int_equal(as_of(db, "[2001:db8:0:1::5]"), 64501);
	assert_int_equal(as_of(db, "2001:db8:1::1"), 0);
	assert_int_equal(as_of(db, "::1"), 0);
	assert_int_equal(as_of(db, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	    65000);
	/* Not addresses. */
	assert_int_equal(as_of(db, ""), 0);
	assert_int_equal(as_of(db, "unknown"), 0);
	assert_int_equal(as_of(db, "211.219.235"), 0);
	assert_false(asn_lookup(NULL, "211.219.235.140", &info));
	asn_db_free(db);
}

static void
test_overlap(void **state)
{
	struct asn_db	*db = asn_db_new();

	(void)state;
	/* A /8 with a more specific /16 inside, and a /24 inside that,
	 * given out of order; a crossing range; an unrouted hole. */
	add(db, "10.1.2.0\t10.1.2.255\t3\tJP\tTHREE");
	add(db, "10.0.0.0\t10.255.255.255\t1\tUS\tONE");
	add(db, "10.1.0.0\t10.1.255.255\t2\tKR\tTWO");
	add(db, "10.1.3.0\t10.1.3.255\t0\tNone\tNot routed");
	add(db, "20.0.0.0\t20.0.0.99\t5\tFR\tFIVE");
	add(db, "20.0.0.50\t20.0.0.200\t6\tDE\tSIX");
	/* The same range twice: the later line wins. */
	add(db, "30.0.0.0\t30.0.0.255\t7\tGB\tSEVEN");
	add(db, "30.0.0.0\t30.0.0.255\t8\tGB\tEIGHT");
	asn_db_finish(db);
	assert_int_equal(as_of(db, "10.0.0.1"), 1);
	assert_int_equal(as_of(db, "10.1.0.1"), 2);
	assert_int_equal(as_of(db, "10.1.2.1"), 3);
	assert_int_equal(as_of(db, "10.1.3.1"), 0);
	assert_int_equal(as_of(db, "10.1.4.1"), 2);
	assert_int_equal(as_of(db, "10.1.255.255"), 2);
	assert_int_equal(as_of(db, "10.2.0.0"), 1);
	assert_int_equal(as_of(db, "10.255.255.255"), 1);
	assert_int_equal(as_of(db, "20.0.0.49"), 5);
	assert_int_equal(as_of(db, "20.0.0.50"), 6);
	assert_int_equal(as_of(db, "20.0.0.200"), 6);
	assert_int_equal(as_of(db, "20.0.0.201"), 0);
	assert_int_equal(as_of(db, "30.0.0.9"), 8);
	asn_db_free(db);
}

static char *
write_tmp(const char *text)
{
	static char	path[64];
	int		fd;

	(void)snprintf(path, sizeof(path), "/tmp/test_asn.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return (path);
}

static void
test_load(void **state)
{
	struct asn_db	*db;
	char		 err[512], expect[128], *path;

	(void)state;
	path = write_tmp("# ip2asn\n"
	    "211.219.224.0\t211.219.255.255\t4766\tKR\tKIXS-AS-KR Korea "
	    "Telecom\n"
	    "2001:db8::\t2001:db8::ffff\t64501\tDE\tEXAMPLE-DE\r\n"
	    "\n"
	    "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET");
	assert_non_null(db = asn_db_load(path, err, sizeof(err)));
	assert_int_equal(as_of(db, "211.219.235.140"), 4766);
	assert_int_equal(as_of(db, "2001:db8::5"), 64501);
	assert_int_equal(as_of(db, "1.0.0.7"), 13335);
	asn_db_free(db);
	unlink(path);

	path = write_tmp("1.0.0.0\t1.0.0.255\t13335\tUS\tX\n"
	    "1.0.1.0\t1.0.1.255\tAS13335\tUS\tX\n");
	assert_null(asn_db_load(path, err, sizeof(err)));
	(void)snprintf(expect, sizeof(expect), "%s:2: AS_number", path);
	assert_memory_equal(err, expect, strlen(expect));
	unlink(path);

	/* An empty file (or only comments) is an empty database. */
	path = write_tmp("# nothing yet\n");
	assert_non_null(db = asn_db_load(path, err, sizeof(err)));
	assert_int_equal(asn_db_count(db), 0);
	assert_int_equal(as_of(db, "211.219.235.140"), 0);
	assert_int_equal(as_of(db, "2001:db8::1"), 0);
	asn_db_free(db);
	unlink(path);

	assert_null(asn_db_load("/nonexistent/ip2asn.tsv", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/ip2asn.tsv: "));
}

static void
test_country(void **state)
{
	static const char *const common[] = {
		"KR", "CN", "US", "JP", "RU", "BR", "IN", "VN", "DE", "FR",
		"GB", "NL", "TW", "HK", "ID", "TH", "UA", "PL", "IT", "ES",
	};
	size_t	i;

	(void)state;
	assert_string_equal(country_name("KR", "ja"), "韓国");
	assert_string_equal(country_name("kr", "en"), "South Korea");
	assert_string_equal(country_name("JP", "ja"), "日本");
	assert_string_equal(country_name("US", "en"), "United States");
	assert_string_equal(country_name("ZZ", "ja"), "ZZ");
	assert_string_equal(country_name("", "en"), "");
	assert_string_equal(country_name(NULL, "en"), "");
	assert_string_equal(country_name("KR", "fr"), "South Korea");
	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		assert_true(country_is_known(common[i]));
	assert_false(country_is_known("XX"));
	assert_false(country_is_known("KOR"));
}

static void
test_tally(void **state)
{
	struct asn_db		*db = asn_db_new();
	struct attrib_tally	*t = attrib_tally_new();
	struct attrib_top	 top[2];
	int			 i;

	(void)state;
	add(db, "211.219.224.0\t211.219.255.255\t4766\tKR\tKT");
	add(db, "1.0.0.0\t1.0.0.255\t13335\tUS\tCF");
	add(db, "2.0.0.0\t2.0.0.255\t3215\tFR\tORANGE");
	asn_db_finish(db);
	/* Nothing yet: empty lists. */
	assert_int_equal(attrib_tally_top_as(t, top, 2), 0);
	assert_int_equal(attrib_tally_top_country(t, top, 2), 0);
	for (i = 0; i < 5; i++)
		attrib_tally_add(t, db, "211.219.235.140");
	for (i = 0; i < 3; i++)
		attrib_tally_add(t, db, "1.0.0.1");
	attrib_tally_add(t, db, "2.0.0.1");
	attrib_tally_add(t, db, "9.9.9.9");
	assert_int_equal(attrib_tally_top_as(t, top, 2), 2);
	assert_int_equal(top[0].asn, 4766);
	assert_int_equal(top[0].count, 5);
	assert_string_equal(top[0].as_name, "KT");
	assert_int_equal(top[1].asn, 13335);
	assert_int_equal(top[1].count, 3);
	assert_int_equal(attrib_tally_top_country(t, top, 2), 2);
	assert_string_equal(top[0].country, "KR");
	assert_string_equal(top[1].country, "US");
	attrib_tally_free(t);
	asn_db_free(db);
}

static void
test_attrib(void **state)
{
	struct asn_db	*db = asn_db_new();
	struct attrib	 a;
	char		 out[ATTRIB_TEXT_MAX], line[256];

	(void)state;
	assert_true(attrib_org_domain("pc1.kornet.net", out, sizeof(out)));
	assert_string_equal(out, "kornet.net");
	assert_true(attrib_org_domain("Host.Example.CO.JP.", out,
	    sizeof(out)));
	assert_string_equal(out, "example.co.jp");
	assert_false(attrib_org_domain("unknown", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(attrib_org_domain("", out, sizeof(out)));
	assert_false(attrib_org_domain("co.jp", out, sizeof(out)));
	assert_false(attrib_org_domain("211.219.235.140", out, sizeof(out)));
	assert_false(attrib_org_domain("localhost", out, sizeof(out)));

	add(db, "211.219.224.0\t211.219.255.255\t4766\tKR\t"
	    "KIXS-AS-KR \"Korea\" Telecom");
	asn_db_finish(db);
	assert_true(attrib_of(db, "211.219.235.140", "pc1.kornet.net", &a));
	assert_int_equal(a.asn, 4766);
	assert_string_equal(a.country, "KR");
	assert_string_equal(a.org_domain, "kornet.net");
	assert_true(attrib_format(&a, out, sizeof(out)));
	assert_string_equal(out, "kornet.net, AS4766 KIXS-AS-KR \"Korea\" "
	    "Telecom, KR");
	(void)snprintf(line, sizeof(line), "{\"kind\":\"relay\"}");
	assert_true(attrib_json_append(&a, line, sizeof(line)));
	assert_string_equal(line, "{\"kind\":\"relay\",\"asn\":4766,"
	    "\"as_name\":\"KIXS-AS-KR \\\"Korea\\\" Telecom\","
	    "\"country\":\"KR\",\"org_domain\":\"kornet.net\"}");
	assert_false(attrib_json_append(&a, line, 40));

	assert_true(attrib_of(db, "211.219.235.140", "unknown", &a));
	assert_true(attrib_format(&a, out, sizeof(out)));
	assert_string_equal(out, "AS4766 KIXS-AS-KR \"Korea\" Telecom, KR");

	/* Unlisted address, unconfirmed name: nothing, never guessed. */
	assert_false(attrib_of(db, "198.51.100.7", "unknown", &a));
	assert_true(attrib_is_empty(&a));
	assert_true(attrib_format(&a, out, sizeof(out)));
	assert_string_equal(out, "");
	(void)snprintf(line, sizeof(line), "{\"kind\":\"relay\"}");
	assert_true(attrib_json_append(&a, line, sizeof(line)));
	assert_string_equal(line, "{\"kind\":\"relay\"}");
	/* Without a database the name still counts. */
	assert_true(attrib_of(NULL, "198.51.100.7", "mx.example.co.jp", &a));
	assert_int_equal(a.asn, 0);
	assert_string_equal(a.org_domain, "example.co.jp");
	asn_db_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_country),
		cmocka_unit_test(test_tally),
		cmocka_unit_test(test_attrib),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
