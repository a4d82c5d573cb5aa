/*
 * Unit tests for the RFC 5965 abuse report builder (src/report.c): the
 * three parts and their fields, the incident's lines in the site's
 * format, no header or boundary injection from attacker-controlled
 * strings, Reported-Domain only when known, lines within RFC 5322 2.1.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attack.h"
#include "attrib.h"
#include "report.h"
#include "store.h"

/* 2002-03-08 06:32:50 JST, the seed's first line. */
#define SEED_US	(1015536770LL * 1000000)

static void
mkrec(struct attack_record *r, int i, const char *from)
{
	memset(r, 0, sizeof(*r));
	r->time_us = SEED_US + (int64_t)i * 5000000;
	r->kind = ATTACK_SPOOFED_RELAY;
	(void)snprintf(r->client_ip, sizeof(r->client_ip), "211.219.235.140");
	(void)snprintf(r->client_name, sizeof(r->client_name), "unknown");
	(void)snprintf(r->helo, sizeof(r->helo), "gabacho-net.jp");
	(void)snprintf(r->from, sizeof(r->from), "%s", from);
	(void)snprintf(r->to, sizeof(r->to), "victim@empal.com");
	(void)snprintf(r->reply, sizeof(r->reply),
	    "554 5.7.1 <victim@empal.com>: Relay access denied");
	r->port = 25;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t	n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return (n);
}

static char *
build(struct attack_record *recs, size_t n, const struct attrib *at)
{
	struct store_incident	in;
	struct report_input	r;
	size_t			len;
	char			*msg;

	memset(&in, 0, sizeof(in));
	in.id = 7;
	(void)snprintf(in.client_ip, sizeof(in.client_ip), "211.219.235.140");
	(void)snprintf(in.client_name, sizeof(in.client_name), "unknown");
	in.first_us = recs[0].time_us;
	in.last_us = recs[n - 1].time_us;
	in.count = n;
	in.kinds = 1u << ATTACK_SPOOFED_RELAY;
	in.targeted = true;
	(void)snprintf(in.senders, sizeof(in.senders), "bbbb@gabacho-net.jp");
	memset(&r, 0, sizeof(r));
	r.in = &in;
	r.recs = recs;
	r.nrecs = n;
	r.attr = at;
	r.hostname = "mx.example.test";
	r.from = "postmaster@example.test";
	r.to = "abuse@kornet.net";
	r.message_id = "abc123.report@mx.example.test";
	r.now_us = SEED_US + 3600LL * 1000000;
	r.mask = true;
	msg = report_build(&r, &len);
	assert_int_equal(strlen(msg), len);
	return (msg);
}

static void
test_parts_and_fields(void **state)
{
	struct attack_record	 recs[3];
	struct attrib		 at;
	char			*m;

	(void)state;
	setenv("TZ", "Asia/Tokyo", 1);
	mkrec(&recs[0], 0, "bbbb@gabacho-net.jp");
	mkrec(&recs[1], 1, "good@gabacho-net.jp");
	mkrec(&recs[2], 2, "abc@gabacho-net.jp");
	memset(&at, 0, sizeof(at));
	at.asn = 4766;
	(void)snprintf(at.as_name, sizeof(at.as_name), "KIXS-AS-KR");
	(void)snprintf(at.country, sizeof(at.country), "KR");
	(void)snprintf(at.org_domain, sizeof(at.org_domain), "kornet.net");
	m = build(recs, 3, &at);
	assert_non_null(strstr(m, "Content-Type: multipart/report; "
	    "report-type=feedback-report;\n\tboundary=\"=_pillory_arf_"));
	assert_int_equal(count(m, "\n--=_pillory_arf_abc123.report@"
	    "mx.example.test\n"), 3);
	assert_int_equal(count(m, "\n--=_pillory_arf_abc123.report@"
	    "mx.example.test--\n"), 1);
	assert_non_null(strstr(m, "\nContent-Type: text/plain; "
	    "charset=utf-8\n"));
	assert_non_null(strstr(m, "\nContent-Type: message/feedback-report"
	    "\n\nFeedback-Type: abuse\nUser-Agent: pillory/"));
	assert_non_null(strstr(m, "\nVersion: 1\n"));
	assert_non_null(strstr(m, "\nOriginal-Mail-From: "
	    "<bbbb@gabacho-net.jp>\n"));
	/* One Original-Rcpt-To per distinct recipient. */
	assert_int_equal(count(m, "Original-Rcpt-To: <victim@empal.com>"), 1);
	assert_non_null(strstr(m, "\nArrival-Date: Fri, 08 Mar 2002 "
	    "06:32:50 +0900\n"));
	assert_non_null(strstr(m, "\nSource-IP: 211.219.235.140\n"));
	assert_non_null(strstr(m, "\nIncidents: 3\n"));
	assert_non_null(strstr(m, "\nReported-Domain: kornet.net\n"));
	assert_non_null(strstr(m, "\nContent-Type: text/rfc822-headers\n"));
	assert_non_null(strstr(m, "\nReturn-Path: <bbbb@gabacho-net.jp>\n"));
	/* The seed's lines, recipients masked as on the page. */
	assert_non_null(strstr(m, "\nMar  8 06:32:50  unknown "
	    "[211.219.235.140] from=<bbbb@gabacho-net.jp> "
	    "to=<******@empal.com>\n"));
	assert_non_null(strstr(m, "\nMar  8 06:33:00  unknown "
	    "[211.219.235.140] from=<abc@gabacho-net.jp> "
	    "to=<******@empal.com>\n"));
	assert_non_null(strstr(m, "kornet.net, AS4766 KIXS-AS-KR, KR"));
	free(m);

	/* Our own users (forged-local recipients) stay masked. */
	recs[0].kind = ATTACK_FORGED_LOCAL;
	(void)snprintf(recs[0].to, sizeof(recs[0].to), "alice@example.test");
	m = build(recs, 3, &at);
	assert_null(strstr(m, "alice@"));
	assert_non_null(strstr(m, "Original-Rcpt-To: <******@example.test>"));
	free(m);
	recs[0].kind = ATTACK_SPOOFED_RELAY;
	(void)snprintf(recs[0].to, sizeof(recs[0].to), "victim@empal.com");

	/* No registrable domain: no Reported-Domain. */
	memset(&at, 0, sizeof(at));
	m = build(recs, 3, &at);
	assert_null(strstr(m, "Reported-Domain"));
	free(m);
}

static void
test_no_injection(void **state)
{
	struct attack_record	 recs[2];
	struct attrib		 at;
	char			*m, *line, *save = NULL;

	(void)state;
	mkrec(&recs[0], 0, "x@y\r\nBcc: everyone@example.org");
	mkrec(&recs[1], 1, "a@b\n--=_pillory_arf_abc123.report@"
	    "mx.example.test--");
	(void)snprintf(recs[0].helo, sizeof(recs[0].helo),
	    "evil\nX-Injected: 1");
	memset(recs[1].from + 300, 'a', 200);
	recs[1].from[sizeof(recs[1].from) - 1] = '\0';
	memset(&at, 0, sizeof(at));
	m = build(recs, 2, &at);
	assert_null(strstr(m, "\nBcc:"));
	assert_null(strstr(m, "\nX-Injected:"));
	assert_null(strchr(m, '\r'));
	/* Only the real closing boundary. */
	assert_int_equal(count(m, "\n--=_pillory_arf_abc123.report@"
	    "mx.example.test--\n"), 1);
	for (line = strtok_r(m, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= 998);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts_and_fields),
		cmocka_unit_test(test_no_injection),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
