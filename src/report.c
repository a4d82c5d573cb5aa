/*
 * report.c: the RFC 5965 abuse report of one incident (report.h). Pure;
 * runs in the CLI (`pillory report`). Inputs are our own records, whose
 * strings (names, HELO, addresses) are attacker-controlled: each goes
 * through report_clean() before it lands in a header field or a line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attack.h"
#include "attrib.h"
#include "emit.h"
#include "log.h"
#include "publish.h"
#include "report.h"
#include "store.h"
#include "text.h"
#include "xalloc.h"

/* A copy of s with control characters as '?': one line, no CR/LF. */
static const char *
report_clean(const char *s, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	buf[i] = '\0';
	return (buf);
}

/* RFC 5322 3.3 date-time of t_us in local time. */
static const char *
report_date(int64_t t_us, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(t_us / 1000000);

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		(void)text_copy(buf, "Thu, 01 Jan 1970 00:00:00 +0000", len);
	return (buf);
}

static void
report_kinds(struct emit *e, uint32_t kinds)
{
	int	k;
	bool	first = true;

	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		if ((kinds & ((uint32_t)1 << k)) == 0)
			continue;
		emit_raw(e, first ? "" : ", ");
		emit_raw(e, attack_kind_name((enum attack_kind)k));
		first = false;
	}
}

/* Part 1: for people. */
static void
report_text(struct emit *e, const struct report_input *r)
{
	const struct store_incident	*in = r->in;
	struct attack_record		 pub;
	char				 a[ATTACK_LINE_MAX], b[64], c[64];
	char				 net[ATTRIB_TEXT_MAX];
	size_t				 i;

	emit_raw(e, "This is an abuse report from the mail server ");
	emit_raw(e, report_clean(r->hostname, a, sizeof(a)));
	emit_raw(e, ".\n\nThe host ");
	emit_raw(e, report_clean(in->client_ip, a, sizeof(a)));
	emit_raw(e, " (");
	emit_raw(e, report_clean(in->client_name[0] != '\0' ?
	    in->client_name : "unknown", a, sizeof(a)));
	emit_raw(e, ")");
	if (attrib_format(r->attr, net, sizeof(net)) && net[0] != '\0') {
		emit_raw(e, ", in your network (");
		emit_raw(e, report_clean(net, a, sizeof(a)));
		emit_raw(e, "),");
	}
	emit_fmt(e, "\nmade %llu attempts between %s and %s\n",
	    (unsigned long long)in->count, report_date(in->first_us, b,
	    sizeof(b)), report_date(in->last_us, c, sizeof(c)));
	emit_raw(e, "to make our server relay mail to third parties. Every "
	    "attempt was refused\nand nothing was relayed. Kinds: ");
	report_kinds(e, in->kinds);
	emit_raw(e, ".\n");
	if (in->targeted)
		emit_raw(e, "The sender addresses forged our own domain.\n");
	if (in->senders[0] != '\0') {
		emit_raw(e, "Sender addresses used: ");
		emit_raw(e, report_clean(in->senders, a, sizeof(a)));
		emit_raw(e, "\n");
	}
	emit_raw(e, "\nPlease stop the abuse from this host; it is likely "
	    "compromised or an open\nproxy.\n\n");
	if (r->nrecs == 0) {
		emit_raw(e, "The log lines of this incident are no longer "
		    "kept.\n");
		return;
	}
	if (r->nrecs < in->count)
		emit_fmt(e, "The newest %zu log lines of this incident ",
		    r->nrecs);
	else
		emit_raw(e, "The log lines of this incident ");
	emit_raw(e, "(our local time):\n\n");
	for (i = 0; i < r->nrecs; i++) {
		publish_public_record(&r->recs[i], r->mask, &pub);
		if (!attack_format_line(&pub, r->mask, a, sizeof(a)))
			continue;
		/* Lines stay under the 998 octets of RFC 5322 2.1.1. */
		if (strlen(a) > 990) {
			a[987] = '\0';
			(void)text_append(a, "...", sizeof(a));
		}
		emit_raw(e, a);
		emit_raw(e, "\n");
	}
}

/* Part 2: for machines (RFC 5965 3.1, 3.2). */
static void
report_feedback(struct emit *e, const struct report_input *r)
{
	const struct attack_record	*rec;
	struct attack_record		 pub;
	char				 a[ADDRESS_MAX * 2], d[64];
	size_t				 i, j, n = 0;

	emit_raw(e, "Feedback-Type: abuse\nUser-Agent: pillory/"
	    PILLORY_VERSION "\nVersion: 1\n");
	if (r->nrecs > 0) {
		emit_raw(e, "Original-Mail-From: <");
		emit_raw(e, report_clean(r->recs[0].from, a, sizeof(a)));
		emit_raw(e, ">\n");
	}
	for (i = 0; i < r->nrecs && n < REPORT_RCPTS_MAX; i++) {
		rec = &r->recs[i];
		if (rec->to[0] == '\0')
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(r->recs[j].to, rec->to) == 0)
				break;
		if (j < i)
			continue;
		/* The third parties' addresses help the abuse desk; our
		 * own users' (forged-local) stay masked. */
		publish_public_record(rec, false, &pub);
		emit_raw(e, "Original-Rcpt-To: <");
		emit_raw(e, report_clean(pub.to, a, sizeof(a)));
		emit_raw(e, ">\n");
		n++;
	}
	emit_raw(e, "Arrival-Date: ");
	emit_raw(e, report_date(r->in->first_us, d, sizeof(d)));
	emit_raw(e, "\nReporting-MTA: dns; ");
	emit_raw(e, report_clean(r->hostname, a, sizeof(a)));
	emit_raw(e, "\nSource-IP: ");
	emit_raw(e, report_clean(r->in->client_ip, a, sizeof(a)));
	emit_fmt(e, "\nIncidents: %llu\n", (unsigned long long)r->in->count);
	if (r->attr->org_domain[0] != '\0') {
		emit_raw(e, "Reported-Domain: ");
		emit_raw(e, report_clean(r->attr->org_domain, a, sizeof(a)));
		emit_raw(e, "\n");
	}
}

/* Part 3: the refused envelope of the first attempt, as header fields. */
static void
report_envelope(struct emit *e, const struct report_input *r)
{
	const struct attack_record	*rec;
	struct attack_record		 pub;
	char				 a[ADDRESS_MAX * 2], d[64];

	if (r->nrecs == 0) {
		emit_raw(e, "X-Pillory-Note: the incident's records are no "
		    "longer kept\n");
		return;
	}
	publish_public_record(&r->recs[0], false, &pub);
	rec = &pub;
	emit_raw(e, "Received: from ");
	emit_raw(e, report_clean(rec->helo[0] != '\0' ? rec->helo :
	    "(no HELO)", a, sizeof(a)));
	emit_raw(e, " (");
	emit_raw(e, report_clean(rec->client_name[0] != '\0' ?
	    rec->client_name : "unknown", a, sizeof(a)));
	emit_raw(e, " [");
	emit_raw(e, report_clean(rec->client_ip, a, sizeof(a)));
	emit_raw(e, "])\n\tby ");
	emit_raw(e, report_clean(r->hostname, a, sizeof(a)));
	emit_raw(e, " (pillory) with ESMTP; ");
	emit_raw(e, report_date(rec->time_us, d, sizeof(d)));
	emit_raw(e, "\nReturn-Path: <");
	emit_raw(e, report_clean(rec->from, a, sizeof(a)));
	emit_raw(e, ">\nX-Original-To: <");
	emit_raw(e, report_clean(rec->to, a, sizeof(a)));
	emit_raw(e, ">\n");
	if (rec->reply[0] != '\0') {
		emit_raw(e, "X-Pillory-Reply: ");
		emit_raw(e, report_clean(rec->reply, a, sizeof(a)));
		emit_raw(e, "\n");
	}
}

char *
report_build(const struct report_input *r, size_t *len_out)
{
	struct emit	 e;
	char		 boundary[96], a[ADDRESS_MAX * 2], d[64];
	char		*out;

	emit_init(&e);
	/* Lines of the parts start with a month, a header name or a tab:
	 * never with "--", so the boundary cannot occur inside. */
	(void)text_printf(boundary, sizeof(boundary), "=_pillory_arf_%s",
	    r->message_id);
	emit_raw(&e, "From: <");
	emit_raw(&e, report_clean(r->from, a, sizeof(a)));
	emit_raw(&e, ">\nTo: <");
	emit_raw(&e, report_clean(r->to, a, sizeof(a)));
	emit_fmt(&e, ">\nSubject: Abuse report: %llu mail relay attempts "
	    "from ", (unsigned long long)r->in->count);
	emit_raw(&e, report_clean(r->in->client_ip, a, sizeof(a)));
	emit_raw(&e, "\nDate: ");
	emit_raw(&e, report_date(r->now_us, d, sizeof(d)));
	emit_raw(&e, "\nMessage-ID: <");
	emit_raw(&e, report_clean(r->message_id, a, sizeof(a)));
	emit_raw(&e, ">\nAuto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/report; "
	    "report-type=feedback-report;\n\tboundary=\"");
	emit_raw(&e, boundary);
	emit_raw(&e, "\"\n\nThis is an abuse report in the Abuse Reporting "
	    "Format (RFC 5965).\n\n--");
	emit_raw(&e, boundary);
	emit_raw(&e, "\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n");
	report_text(&e, r);
	emit_raw(&e, "\n--");
	emit_raw(&e, boundary);
	emit_raw(&e, "\nContent-Type: message/feedback-report\n\n");
	report_feedback(&e, r);
	emit_raw(&e, "\n--");
	emit_raw(&e, boundary);
	emit_raw(&e, "\nContent-Type: text/rfc822-headers\n\n");
	report_envelope(&e, r);
	emit_raw(&e, "\n--");
	emit_raw(&e, boundary);
	emit_raw(&e, "--\n");
	out = xstrdup(e.buf);
	*len_out = e.len;
	emit_free(&e);
	return (out);
}
