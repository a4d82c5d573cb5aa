/*
 * cmd_stats.c: `pillory stats`, the attack log in numbers: total
 * detections and by kind (from the daily counts, so they include purged
 * records), the last STATS_DAYS days, the top source addresses and /24 or
 * /48 networks, and the most recent incidents.
 *
 * Runs in the CLI process and reads the store read-only while the daemon
 * writes. Addresses, names and senders are attacker-controlled: the text
 * form escapes control characters (log_sanitize()), the JSON form goes
 * through attack_json_escape().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asn.h"
#include "attack.h"
#include "attrib.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "country.h"
#include "emit.h"
#include "store.h"

#define STATS_DAYS	30
#define STATS_TOP	10
#define STATS_INCIDENTS	10

struct stats {
	struct store_totals	 totals;
	struct store_day	 days[STATS_DAYS];
	struct store_top	 addrs[STATS_TOP];
	size_t			 naddrs;
	struct store_top	 nets[STATS_TOP];
	size_t			 nnets;
	struct store_incident	 incidents[STATS_INCIDENTS];
	size_t			 nincidents;
	/* Attribution ([attacklog] asn_db; README "Attribution ..."). */
	struct asn_db		*asn;
	struct attrib		 inc_attrib[STATS_INCIDENTS];
	struct attrib_top	 by_as[STATS_TOP];
	size_t			 nas;
	struct attrib_top	 by_cc[STATS_TOP];
	size_t			 ncc;
};

struct stats_tally {
	struct attrib_tally	*t;
	const struct asn_db	*asn;
};

/* store_query() callback: count one record's AS and country. */
static int
stats_tally_cb(const struct attack_record *rec, void *arg)
{
	struct stats_tally	*st = arg;

	attrib_tally_add(st->t, st->asn, rec->client_ip);
	return (0);
}

/*
 * Top AS numbers and countries over the records kept (every record is
 * read once), and each listed incident's network. -1 on a store error.
 */
static int
stats_load_attrib(struct store *st, struct stats *s)
{
	struct stats_tally	tally;
	struct store_query	q;
	size_t			i;
	int			rc;

	for (i = 0; i < s->nincidents; i++)
		(void)attrib_of(s->asn, s->incidents[i].client_ip,
		    s->incidents[i].client_name, &s->inc_attrib[i]);
	if (s->asn == NULL)
		return (0);
	memset(&q, 0, sizeof(q));
	q.kind = -1;
	tally.t = attrib_tally_new();
	tally.asn = s->asn;
	if ((rc = store_query(st, &q, stats_tally_cb, &tally)) != 0)
		fprintf(stderr, "pillory stats: %s\n", store_errmsg(st));
	s->nas = attrib_tally_top_as(tally.t, s->by_as, STATS_TOP);
	s->ncc = attrib_tally_top_country(tally.t, s->by_cc, STATS_TOP);
	attrib_tally_free(tally.t);
	return (rc == 0 ? 0 : -1);
}

static void
stats_usage(FILE *fp)
{
	fprintf(fp, "usage: pillory stats [--json]\n"
	    "  --json  one JSON object instead of text\n");
}

/* Read everything from the store; -1 with the message on stderr. */
static int
stats_load(struct store *st, struct stats *s)
{
	if (store_totals(st, &s->totals) != 0 ||
	    store_daily(st, clock_now_us(), STATS_DAYS, s->days) != 0 ||
	    store_top(st, s->addrs, STATS_TOP, &s->naddrs, s->nets, STATS_TOP,
	    &s->nnets) != 0 ||
	    store_incidents(st, s->incidents, STATS_INCIDENTS,
	    &s->nincidents) != 0) {
		fprintf(stderr, "pillory stats: %s\n", store_errmsg(st));
		return (-1);
	}
	return (0);
}

/* Local "YYYY-MM-DD HH:MM:SS" of t_us. */
static const char *
stats_time(int64_t t_us, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(t_us / 1000000);

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		buf[0] = '\0';
	return (buf);
}

static void
stats_print_kinds(uint32_t kinds, const char *sep, bool json)
{
	const char	*s = "";
	int		 k;

	for (k = 0; k < ATTACK_KIND_COUNT; k++) {
		if ((kinds & ((uint32_t)1 << k)) == 0)
			continue;
		if (json)
			printf("%s\"%s\"", s, attack_kind_name(k));
		else
			printf("%s%s", s, attack_kind_name(k));
		s = sep;
	}
}

static void
stats_text(const struct stats *s)
{
	const struct store_incident	*in;
	char				 a[64], b[64];
	char				 safe[ATTACK_SENDERS_LEN * 4];
	char				 safe2[(DOMAIN_MAX + 1) * 4];
	size_t				 i;
	int				 k;

	printf("detections: %llu\n", (unsigned long long)s->totals.total);
	/* Kept for the admin, off the public page. */
	printf("  %-16s %10llu\n", "(withdrawn)",
	    (unsigned long long)s->totals.withdrawn);
	for (k = 0; k < ATTACK_KIND_COUNT; k++)
		printf("  %-16s %10llu\n", attack_kind_name(k),
		    (unsigned long long)s->totals.by_kind[k]);

	printf("\nper day (UTC), last %d days:\n", STATS_DAYS);
	for (i = 0; i < STATS_DAYS; i++)
		printf("  %s %10llu\n", s->days[i].day,
		    (unsigned long long)s->days[i].count);

	printf("\ntop source addresses:\n");
	for (i = 0; i < s->naddrs; i++)
		printf("  %-40s %10llu\n", log_sanitize(s->addrs[i].key, safe,
		    sizeof(safe)), (unsigned long long)s->addrs[i].count);
	printf("\ntop networks:\n");
	for (i = 0; i < s->nnets; i++)
		printf("  %-40s %10llu\n", s->nets[i].key,
		    (unsigned long long)s->nets[i].count);

	if (s->asn != NULL) {
		printf("\ntop networks by AS:\n");
		for (i = 0; i < s->nas; i++) {
			(void)snprintf(a, sizeof(a), "AS%u",
			    (unsigned)s->by_as[i].asn);
			printf("  %-10s %10llu  %s\n", a,
			    (unsigned long long)s->by_as[i].count,
			    s->by_as[i].as_name);
		}
		printf("\ntop countries:\n");
		for (i = 0; i < s->ncc; i++)
			printf("  %-10s %10llu  %s\n", s->by_cc[i].country,
			    (unsigned long long)s->by_cc[i].count,
			    country_name(s->by_cc[i].country, "en"));
	}

	printf("\nincidents: %llu", (unsigned long long)s->totals.incidents);
	if (s->nincidents > 0)
		printf(", the %zu most recent:", s->nincidents);
	printf("\n");
	for (i = 0; i < s->nincidents; i++) {
		in = &s->incidents[i];
		printf("  #%lld %s [%s] %s .. %s, %llu attempts%s\n",
		    (long long)in->id, log_sanitize(in->client_name, safe2,
		    sizeof(safe2)), log_sanitize(in->client_ip, safe,
		    sizeof(safe)), stats_time(in->first_us, a, sizeof(a)),
		    stats_time(in->last_us, b, sizeof(b)),
		    (unsigned long long)in->count,
		    in->targeted ? ", targeted" : "");
		printf("      kinds: ");
		stats_print_kinds(in->kinds, ", ", false);
		printf("\n");
		if (in->senders[0] != '\0')
			printf("      senders: %s\n", log_sanitize(in->senders,
			    safe, sizeof(safe)));
		if (!attrib_is_empty(&s->inc_attrib[i]) &&
		    attrib_format(&s->inc_attrib[i], safe, sizeof(safe)))
			printf("      network: %s\n", safe);
	}
}

/* A JSON string; buffers are sized for the longest field. */
static void
json_str(const char *str)
{
	char	buf[ATTACK_SENDERS_LEN * 6 + 3];

	if (!attack_json_escape(str, buf, sizeof(buf)))
		(void)attack_json_escape("", buf, sizeof(buf));
	fputs(buf, stdout);
}

static void
json_by_kind(const uint64_t *by_kind)
{
	int	k;

	printf("{");
	for (k = 0; k < ATTACK_KIND_COUNT; k++)
		printf("%s\"%s\":%llu", k > 0 ? "," : "", attack_kind_name(k),
		    (unsigned long long)by_kind[k]);
	printf("}");
}

static void
json_top(const char *name, const char *keyname, const struct store_top *t,
    size_t n)
{
	size_t	i;

	printf(",\"%s\":[", name);
	for (i = 0; i < n; i++) {
		printf("%s{\"%s\":", i > 0 ? "," : "", keyname);
		json_str(t[i].key);
		printf(",\"count\":%llu}", (unsigned long long)t[i].count);
	}
	printf("]");
}

/* The comma-separated sender list as a JSON array. */
static void
json_senders(const char *list)
{
	char		 one[ADDRESS_MAX + 1];
	const char	*p, *comma;
	size_t		 len;

	printf("[");
	for (p = list; *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		len = (size_t)(comma - p);
		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (p != list)
			printf(",");
		json_str(one);
		if (*comma == '\0')
			break;
	}
	printf("]");
}

/* The attribution's members (asn, as_name, country, org_domain). */
static void
json_attrib(const struct attrib *a)
{
	struct emit	e;

	emit_init(&e);
	attrib_emit_json(&e, a);
	if (e.len > 0)
		fputs(e.buf, stdout);
	emit_free(&e);
}

static void
stats_json(const struct stats *s)
{
	const struct store_incident	*in;
	char				 t[48];
	size_t				 i;

	printf("{\"total\":%llu,\"by_kind\":",
	    (unsigned long long)s->totals.total);
	json_by_kind(s->totals.by_kind);
	printf(",\"withdrawn\":%llu", (unsigned long long)s->totals.withdrawn);
	printf(",\"days\":[");
	for (i = 0; i < STATS_DAYS; i++) {
		printf("%s{\"day\":\"%s\",\"count\":%llu,\"by_kind\":",
		    i > 0 ? "," : "", s->days[i].day,
		    (unsigned long long)s->days[i].count);
		json_by_kind(s->days[i].by_kind);
		printf("}");
	}
	printf("]");
	json_top("top_addresses", "address", s->addrs, s->naddrs);
	json_top("top_networks", "network", s->nets, s->nnets);
	printf(",\"top_as\":[");
	for (i = 0; i < s->nas; i++) {
		printf("%s{\"asn\":%u,\"as_name\":", i > 0 ? "," : "",
		    (unsigned)s->by_as[i].asn);
		json_str(s->by_as[i].as_name);
		printf(",\"count\":%llu}",
		    (unsigned long long)s->by_as[i].count);
	}
	printf("],\"top_countries\":[");
	for (i = 0; i < s->ncc; i++) {
		printf("%s{\"country\":", i > 0 ? "," : "");
		json_str(s->by_cc[i].country);
		printf(",\"count\":%llu}",
		    (unsigned long long)s->by_cc[i].count);
	}
	printf("]");
	printf(",\"incidents\":{\"count\":%llu,\"recent\":[",
	    (unsigned long long)s->totals.incidents);
	for (i = 0; i < s->nincidents; i++) {
		in = &s->incidents[i];
		printf("%s{\"id\":%lld,\"client_ip\":", i > 0 ? "," : "",
		    (long long)in->id);
		json_str(in->client_ip);
		printf(",\"client_name\":");
		json_str(in->client_name);
		if (!attack_format_time(in->first_us, false, t, sizeof(t)))
			t[0] = '\0';
		printf(",\"first\":\"%s\"", t);
		if (!attack_format_time(in->last_us, false, t, sizeof(t)))
			t[0] = '\0';
		printf(",\"last\":\"%s\",\"count\":%llu,\"kinds\":[", t,
		    (unsigned long long)in->count);
		stats_print_kinds(in->kinds, ",", true);
		printf("],\"targeted\":%s,\"senders\":",
		    in->targeted ? "true" : "false");
		json_senders(in->senders);
		json_attrib(&s->inc_attrib[i]);
		printf("}");
	}
	printf("]}}\n");
}

/*
 * `pillory stats [--json]`. Returns 0, 1 when the store cannot be read or
 * stdout fails, 2 on bad arguments (with the usage on stderr).
 */
int
cmd_stats(const struct config *cfg, int argc, char **argv)
{
	struct stats	*s;
	struct store	*st;
	char		 err[512];
	bool		 json = false;
	int		 i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			stats_usage(stdout);
			return (0);
		} else {
			fprintf(stderr, "pillory stats: bad argument \"%s\"\n",
			    argv[i]);
			stats_usage(stderr);
			return (2);
		}
	}
	if ((st = store_open_config(cfg, true, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory stats: %s\n", err);
		return (1);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		fprintf(stderr, "pillory stats: out of memory\n");
		goto done;
	}
	if (cfg->attacklog_asn_db != NULL && *cfg->attacklog_asn_db != '\0' &&
	    (s->asn = asn_db_load(cfg->attacklog_asn_db, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "pillory stats: warning: %s; no AS "
		    "attribution\n", err);
	if (stats_load(st, s) != 0 || stats_load_attrib(st, s) != 0)
		goto done;
	if (json)
		stats_json(s);
	else
		stats_text(s);
	rc = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pillory stats: stdout: %s\n",
		    strerror(errno));
		rc = 1;
	}
done:
	if (s != NULL)
		asn_db_free(s->asn);
	free(s);
	store_close(st);
	return (rc);
}

const struct cmd_entry cmd_stats_entry = {
	.name = "stats",
	.usage = "[--json]",
	.help = "attack counts, top sources, incidents",
	.needs_config = true,
	.run = cmd_stats,
};
