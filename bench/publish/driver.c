/*
 * driver: time the publisher for bench/publish/run.
 *
 *   driver CONFIG REPS
 *
 * First the store reads one generation makes, each timed alone on a
 * read-only handle (where the time goes: totals, the daily counts of
 * PUBLISH_HISTORY_DAYS days, the top lists, the incidents, the newest
 * `recent` records, the lines of PUBLISH_INCIDENTS incidents); then REPS
 * whole generations with publish_run(), the function `pillory publish`
 * calls. One JSON object per line on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacklog.h"
#include "config.h"
#include "publish.h"
#include "store.h"

static double
now_ms(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6);
}

static int
count_cb(const struct attack_record *rec, void *arg)
{
	(void)rec;
	(*(size_t *)arg)++;
	return (0);
}

static int
phases(const struct config *cfg)
{
	static struct store_day		days[PUBLISH_HISTORY_DAYS];
	static struct store_incident	inc[PUBLISH_INCIDENTS];
	struct store_totals		tot;
	struct store_top		addrs[PUBLISH_TOP], nets[PUBLISH_TOP];
	struct store_query		q;
	struct store			*st;
	struct timespec			ts;
	char				err[512];
	size_t				na, nn, ni, lines = 0, recent = 0, i;
	double				t[8];
	int64_t				now;
	int				rc = 0;

	if ((st = store_open_config(cfg, true, err, sizeof(err))) == NULL) {
		fprintf(stderr, "driver: %s\n", err);
		return (-1);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000;
	t[0] = now_ms();
	rc |= store_totals(st, &tot);
	t[1] = now_ms();
	rc |= store_daily(st, now, PUBLISH_HISTORY_DAYS, days);
	t[2] = now_ms();
	rc |= store_top(st, addrs, PUBLISH_TOP, &na, nets, PUBLISH_TOP, &nn);
	t[3] = now_ms();
	rc |= store_incidents(st, inc, PUBLISH_INCIDENTS, &ni);
	t[4] = now_ms();
	memset(&q, 0, sizeof(q));
	q.kind = -1;
	q.limit = cfg->publish_recent;
	rc |= store_query(st, &q, count_cb, &recent);
	t[5] = now_ms();
	for (i = 0; i < ni; i++) {
		memset(&q, 0, sizeof(q));
		q.kind = -1;
		q.client_ip = inc[i].client_ip;
		q.since_us = inc[i].first_us;
		q.until_us = inc[i].last_us + 1;
		q.limit = PUBLISH_INCIDENT_LINES;
		rc |= store_query(st, &q, count_cb, &lines);
	}
	t[6] = now_ms();
	if (rc != 0)
		fprintf(stderr, "driver: %s\n", store_errmsg(st));
	printf("{\"phase\":true,\"records\":%llu,\"totals_ms\":%.1f,"
	    "\"daily_ms\":%.1f,\"top_ms\":%.1f,\"incidents_ms\":%.1f,"
	    "\"recent_ms\":%.1f,\"incident_lines_ms\":%.1f,"
	    "\"incident_lines\":%zu}\n", (unsigned long long)tot.total,
	    t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4],
	    t[6] - t[5], lines);
	store_close(st);
	return (rc != 0 ? -1 : 0);
}

int
main(int argc, char **argv)
{
	struct publish_result	 res;
	struct config		*cfg;
	char			 err[1024];
	int			 reps, i;

	if (argc != 3) {
		fprintf(stderr, "usage: driver CONFIG REPS\n");
		return (2);
	}
	reps = (int)strtol(argv[2], NULL, 10);
	if ((cfg = config_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "driver: %s\n", err);
		return (1);
	}
	if (phases(cfg) != 0)
		return (1);
	for (i = 0; i < reps; i++) {
		if (publish_run(cfg, &res, err, sizeof(err)) != 0) {
			fprintf(stderr, "driver: %s\n", err);
			return (1);
		}
		printf("{\"run\":%d,\"ms\":%.1f,\"files\":%zu,\"written\":%zu}\n",
		    i, (double)res.elapsed_us / 1e3, res.files, res.written);
		fflush(stdout);
	}
	config_free(cfg);
	return (0);
}
