/*
 * gen: fill an attack log store with synthetic records, for
 * bench/attacklog/run (adapted from a generator by another engineer).
 *
 *   gen DBFILE [N]
 *
 * N (default 1,000,000) records through store_insert_batch(), the path the
 * daemon's writer takes (daily counts and incidents maintained as it goes),
 * in batches of 10,000, evenly spread over the last 30 days: bursts of 1-40
 * attempts from ~50,000 client addresses (one in seven IPv6), kinds 70 %
 * relay, 20 % spoofed-relay, 5 % forged-local, 3 % auth-fail, 2 % protocol.
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

int
main(int argc, char **argv)
{
	struct attack_record	*r, *x;
	struct store		*st;
	struct timespec		 ts;
	char			 err[256];
	size_t			 total, i = 0, n;
	int64_t			 now, start, step;
	unsigned		 seed = 1, ip = 0;
	int			 burst = 0, k;
	double			 t0, t;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: gen DBFILE [N]\n");
		return (2);
	}
	total = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	if (total == 0)
		return (2);
	if ((st = store_open("sqlite", argv[1], false, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "gen: %s\n", err);
		return (1);
	}
	if ((r = calloc(GEN_BATCH, sizeof(*r))) == NULL)
		return (1);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000;
	start = now - 30LL * 86400 * 1000000;
	step = (now - start) / (int64_t)total;
	t0 = now_s();
	while (i < total) {
		for (n = 0; n < GEN_BATCH && i < total; n++, i++) {
			x = &r[n];
			memset(x, 0, sizeof(*x));
			if (burst-- <= 0) {
				ip = (unsigned)rand_r(&seed) % 50000;
				burst = 1 + rand_r(&seed) % 40;
			}
			x->time_us = start + (int64_t)i * step;
			k = rand_r(&seed) % 100;
			x->kind = k < 70 ? ATTACK_RELAY : k < 90 ?
			    ATTACK_SPOOFED_RELAY : k < 95 ? ATTACK_FORGED_LOCAL :
			    k < 98 ? ATTACK_AUTH_FAIL : ATTACK_PROTOCOL;
			if (ip % 7 == 0)
				snprintf(x->client_ip, sizeof(x->client_ip),
				    "2001:db8:%x:%x::%x", ip % 97, ip, ip % 13);
			else
				snprintf(x->client_ip, sizeof(x->client_ip),
				    "%u.%u.%u.%u", 11 + ip % 200, (ip / 7) % 256,
				    (ip / 3) % 64, ip % 251);
			snprintf(x->client_name, sizeof(x->client_name),
			    "unknown");
			snprintf(x->helo, sizeof(x->helo), "helo%u.example",
			    ip);
			if (x->kind == ATTACK_RELAY)
				snprintf(x->from, sizeof(x->from),
				    "user%d@elsewhere.test",
				    rand_r(&seed) % 1000);
			else if (x->kind != ATTACK_AUTH_FAIL &&
			    x->kind != ATTACK_PROTOCOL)
				snprintf(x->from, sizeof(x->from),
				    "user%d@gabacho-net.jp",
				    rand_r(&seed) % 1000);
			if (x->kind == ATTACK_FORGED_LOCAL)
				snprintf(x->to, sizeof(x->to),
				    "alice@example.test");
			else if (x->kind <= ATTACK_SPOOFED_RELAY)
				snprintf(x->to, sizeof(x->to),
				    "victim%d@empal.com", rand_r(&seed) % 100);
			if (x->kind == ATTACK_AUTH_FAIL)
				snprintf(x->user, sizeof(x->user), "admin");
			snprintf(x->session, sizeof(x->session), "%016zx", i);
			snprintf(x->reply, sizeof(x->reply), "%s",
			    x->kind == ATTACK_AUTH_FAIL ?
			    "535 5.7.8 authentication failed" :
			    x->kind == ATTACK_PROTOCOL ?
			    "500 5.5.2 bare CR or LF in command" :
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
	    (double)total / t);
	free(r);
	store_close(st);
	return (0);
}
