/*
 * gen: fill an attack log store with synthetic records for
 * bench/publish/run (after the generator of bench/attacklog).
 *
 *   gen DBFILE [N [DAYS]]
 *
 * N (default 1,000,000) records through store_insert_batch(), the path the
 * daemon's writer takes (daily counts and incidents kept as it goes), in
 * batches of 10,000, evenly spread over the last DAYS (default 120) days,
 * so that the 90-day chart is full and the first record is older than it:
 * bursts of 1-40 attempts from ~50,000 client addresses (one in seven
 * IPv6), kinds 70 % relay, 20 % spoofed-relay, 5 % forged-local, 3 %
 * auth-fail (with a login name the page must never show), 2 % protocol.
 * Prints "inserted N in F s: R/s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attack.h"
#include "store.h"

#define GEN_BATCH	10000

static double
now_s(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)t.tv_sec + (double)t.tv_nsec / 1e9);
}

static enum attack_kind
gen_kind(unsigned r)
{
	r %= 100;
	if (r < 70)
		return (ATTACK_RELAY);
	if (r < 90)
		return (ATTACK_SPOOFED_RELAY);
	if (r < 95)
		return (ATTACK_FORGED_LOCAL);
	if (r < 98)
		return (ATTACK_AUTH_FAIL);
	return (ATTACK_PROTOCOL);
}

int
main(int argc, char **argv)
{
	struct attack_record	*r, *x;
	struct store		*st;
	struct timespec		 ts;
	char			 err[256];
	size_t			 total, i = 0, n;
	int64_t			 now, start, step, days;
	unsigned		 seed = 1, ip = 0;
	int			 burst = 0;
	double			 t0, t;

	if (argc < 2) {
		fprintf(stderr, "usage: gen DBFILE [N [DAYS]]\n");
		return (2);
	}
	total = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	days = argc > 3 ? strtol(argv[3], NULL, 10) : 120;
	if ((st = store_open("sqlite", argv[1], false, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "gen: %s\n", err);
		return (1);
	}
	if ((r = calloc(GEN_BATCH, sizeof(*r))) == NULL)
		return (1);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000;
	start = now - days * 86400 * 1000000;
	step = total > 0 ? (now - start) / (int64_t)total : 1;
	t0 = now_s();
	while (i < total) {
		for (n = 0; n < GEN_BATCH && i < total; n++, i++) {
			x = &r[n];
			memset(x, 0, sizeof(*x));
			if (burst-- <= 0) {
				ip = rand_r(&seed) % 50000;
				burst = 1 + rand_r(&seed) % 40;
			}
			x->time_us = start + (int64_t)i * step;
			x->kind = gen_kind(rand_r(&seed));
			if (ip % 7 == 0)
				snprintf(x->client_ip, sizeof(x->client_ip),
				    "2001:db8:%x:%x::%x", ip % 97, ip, ip % 13);
			else
				snprintf(x->client_ip, sizeof(x->client_ip),
				    "%u.%u.%u.%u", 11 + ip % 200,
				    (ip / 7) % 256, (ip / 3) % 64, ip % 251);
			snprintf(x->client_name, sizeof(x->client_name),
			    ip % 3 == 0 ? "unknown" : "host%u.example.net", ip);
			snprintf(x->helo, sizeof(x->helo), "helo%u.example",
			    ip);
			if (x->kind == ATTACK_AUTH_FAIL)
				snprintf(x->user, sizeof(x->user),
				    "login%u@gabacho-net.jp", ip % 10);
			else {
				snprintf(x->from, sizeof(x->from),
				    "user%u@gabacho-net.jp",
				    rand_r(&seed) % 1000);
				snprintf(x->to, sizeof(x->to),
				    "victim%u@empal.com", rand_r(&seed) % 100);
			}
			snprintf(x->session, sizeof(x->session), "%016zx", i);
			snprintf(x->reply, sizeof(x->reply),
			    "554 5.7.1 Relay access denied");
			x->port = 25;
		}
		if (store_insert_batch(st, r, n) != 0) {
			fprintf(stderr, "gen: %s\n", store_errmsg(st));
			return (1);
		}
	}
	t = now_s() - t0;
	printf("inserted %zu in %.2f s: %.0f/s\n", total, t,
	    t > 0 ? (double)total / t : 0.0);
	store_close(st);
	free(r);
	return (0);
}
