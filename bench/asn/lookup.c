/*
 * bench/asn/lookup.c: what attribution costs per record (README,
 * "Benchmarks"). Builds an ip2asn database of N generated ranges (default
 * 1,000,000: 80% IPv4, 20% IPv6, one in ten an AS 0 "Not routed" row, AS
 * names shared per AS as in the real file), written as a TSV and loaded
 * with asn_db_load() as the daemon does at start-up and SIGHUP, then times
 *   1. asn_lookup() of random IPv4 and IPv6 addresses (hits and misses);
 *   2. attrib_of() for a record: the look-up plus the registrable domain
 *      of a confirmed name from the public suffix list ("unknown" and
 *      "pc1.kornet.net").
 * Usage: lookup [RANGES [LOOKUPS]]. Prints one "key value" per line.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asn.h"
#include "attrib.h"

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 2685821657736338717ULL);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

int
main(int argc, char **argv)
{
	static const char *const cc[] = { "KR", "CN", "US", "JP", "RU", "BR",
	    "IN", "VN", "DE", "FR", "GB", "NL" };
	size_t		 nranges = argc > 1 ? strtoul(argv[1], NULL, 10) :
	    1000000;
	size_t		 nlook = argc > 2 ? strtoul(argv[2], NULL, 10) :
	    5000000;
	size_t		 n4 = nranges * 8 / 10, n6 = nranges - n4, i, hits = 0;
	char		 path[] = "/tmp/bench-asn.XXXXXX";
	char		 a[64], b[64], err[512];
	char		(*ips)[64];
	struct asn_db	*db;
	struct asn_info	 info;
	struct attrib	 at;
	uint64_t	 step4, lo, len;
	uint8_t		 s6[16], e6[16];
	uint32_t	 asn;
	double		 t0, t1;
	FILE		*fp;
	int		 fd;

	if (nranges < 10 || nlook < 1000)
		return (2);
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		return (1);
	step4 = (1ULL << 32) / n4;
	for (i = 0; i < n4; i++) {
		lo = i * step4 + next() % (step4 / 4 + 1);
		len = next() % (step4 / 2) + 1;
		asn = (uint32_t)(next() % 60000) + 1;
		(void)snprintf(a, sizeof(a), "%u.%u.%u.%u",
		    (unsigned)(lo >> 24), (unsigned)(lo >> 16) & 255,
		    (unsigned)(lo >> 8) & 255, (unsigned)lo & 255);
		lo += len - 1;
		(void)snprintf(b, sizeof(b), "%u.%u.%u.%u",
		    (unsigned)(lo >> 24), (unsigned)(lo >> 16) & 255,
		    (unsigned)(lo >> 8) & 255, (unsigned)lo & 255);
		if (i % 10 == 9)
			fprintf(fp, "%s\t%s\t0\tNone\tNot routed\n", a, b);
		else
			fprintf(fp, "%s\t%s\t%u\t%s\tAS-NAME-%u Example "
			    "Networks\n", a, b, asn, cc[asn % 12], asn);
	}
	for (i = 0; i < n6; i++) {
		/* 2001:XXXX:YYYY::/48 blocks, in order. */
		memset(s6, 0, sizeof(s6));
		s6[0] = 0x20;
		s6[1] = 0x01;
		s6[2] = (uint8_t)(i >> 24);
		s6[3] = (uint8_t)(i >> 16);
		s6[4] = (uint8_t)(i >> 8);
		s6[5] = (uint8_t)i;
		memcpy(e6, s6, sizeof(e6));
		memset(e6 + 6, 0xff, 10);
		inet_ntop(AF_INET6, s6, a, sizeof(a));
		inet_ntop(AF_INET6, e6, b, sizeof(b));
		asn = (uint32_t)(next() % 60000) + 1;
		fprintf(fp, "%s\t%s\t%u\t%s\tAS-NAME-%u Example Networks\n",
		    a, b, asn, cc[asn % 12], asn);
	}
	if (fclose(fp) != 0)
		return (1);

	t0 = now();
	if ((db = asn_db_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		unlink(path);
		return (1);
	}
	t1 = now();
	unlink(path);
	printf("ranges %zu\npieces %zu\nload_s %.3f\n", nranges,
	    asn_db_count(db), t1 - t0);

	/* Addresses chosen before the clock starts: 80% IPv4, 20% IPv6. */
	if ((ips = calloc(nlook, sizeof(*ips))) == NULL)
		return (1);
	for (i = 0; i < nlook; i++) {
		if (i % 5 != 4) {
			lo = next() & 0xffffffffULL;
			(void)snprintf(ips[i], sizeof(ips[i]), "%u.%u.%u.%u",
			    (unsigned)(lo >> 24), (unsigned)(lo >> 16) & 255,
			    (unsigned)(lo >> 8) & 255, (unsigned)lo & 255);
		} else {
			lo = next() % (n6 + n6 / 4);
			(void)snprintf(ips[i], sizeof(ips[i]),
			    "2001:%x:%x:%x::1", (unsigned)(lo >> 16) & 0xffff,
			    (unsigned)lo & 0xffff, (unsigned)(next() & 0xffff));
		}
	}
	t0 = now();
	for (i = 0; i < nlook; i++)
		hits += asn_lookup(db, ips[i], &info);
	t1 = now();
	printf("lookups %zu\nhits %zu\nlookup_ns %.0f\n", nlook, hits,
	    (t1 - t0) * 1e9 / (double)nlook);

	t0 = now();
	for (i = 0; i < nlook; i++)
		hits += attrib_of(db, ips[i], "unknown", &at);
	t1 = now();
	printf("attrib_unknown_ns %.0f\n", (t1 - t0) * 1e9 / (double)nlook);

	t0 = now();
	for (i = 0; i < nlook; i++)
		hits += attrib_of(db, ips[i], "pc1.kornet.net", &at);
	t1 = now();
	printf("attrib_named_ns %.0f\n", (t1 - t0) * 1e9 / (double)nlook);
	free(ips);
	asn_db_free(db);
	return (hits == 0);
}
