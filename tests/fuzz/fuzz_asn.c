/*
 * fuzz_asn.c: libFuzzer target for the ip2asn TSV (src/asn.c). First the
 * line parser on the whole input; then the input as a file through the
 * loader and the flattening of overlapping ranges, and lookups at every
 * range's edges and their neighbours, which must agree with a brute-force
 * walk over the parsed lines.
 */

#include <sys/mman.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FILE_MAX	8192
#define FUZZ_ENTRIES	64

/* The input's lines, parsed as the loader does (one CR before the LF is
 * dropped by the line reader, another by the parser). */
static size_t
fuzz_entries(const uint8_t *data, size_t size, struct asn_entry *out,
    size_t max)
{
	const char	*p = (const char *)data, *end = p + size, *nl, *why;
	size_t		 n = 0, len;

	while (p < end && n < max) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = (nl != NULL ? nl : end) - p;
		if (nl != NULL && len > 0 && p[len - 1] == '\r')
			len--;
		if (asn_parse_line(p, len, &out[n], &why) == ASN_LINE_OK)
			n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return (n);
}

/* What a lookup of addr must find: among the ranges holding it, the last
 * in the order (start ascending, end descending, line), i.e. the latest
 * start, the narrowest on a tie, the later line on a full tie; AS 0 is
 * nothing. */
static uint32_t
fuzz_expect(const struct asn_entry *e, size_t n, bool v6,
    const uint8_t *addr)
{
	size_t	i, best = n, w = v6 ? 16 : 4;
	int	c;

	for (i = 0; i < n; i++) {
		if (e[i].v6 != v6 || memcmp(e[i].start, addr, w) > 0 ||
		    memcmp(e[i].end, addr, w) < 0)
			continue;
		if (best == n) {
			best = i;
			continue;
		}
		c = memcmp(e[i].start, e[best].start, w);
		if (c > 0 || (c == 0 && memcmp(e[i].end, e[best].end, w) <= 0))
			best = i;
	}
	return (best == n ? 0 : e[best].asn);
}

static void
fuzz_probe(const struct asn_db *db, const struct asn_entry *e, size_t n,
    bool v6, const uint8_t *addr)
{
	struct asn_info	info;
	uint8_t		a16[16];
	uint32_t	want = fuzz_expect(e, n, v6, addr);

	memset(a16, 0, sizeof(a16));
	memcpy(a16, addr, v6 ? 16 : 4);
	/* v4-mapped IPv6 addresses are looked up as IPv4. */
	if (v6 && memcmp(a16, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
		return;
	if (asn_lookup_addr(db, v6, a16, &info)) {
		if (info.asn == 0 || info.asn != want || info.name == NULL)
			abort();
	} else if (want != 0)
		abort();
}

/* addr + delta (-1, 0 or +1), wrapping at the family's ends. */
static void
fuzz_step(uint8_t *addr, size_t w, int delta)
{
	size_t	i;

	for (i = w; i-- > 0;) {
		if (delta > 0 && addr[i]++ != 0xff)
			return;
		if (delta < 0 && addr[i]-- != 0x00)
			return;
	}
}

static void
fuzz_file(const uint8_t *data, size_t size)
{
	static const char *const ips[] = {
		"0.0.0.0", "1.2.3.4", "10.0.0.1", "211.219.235.140",
		"255.255.255.255", "::", "::1", "2001:db8::1",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	static int		 fd = -1;
	static struct asn_entry	 ents[FUZZ_ENTRIES];
	struct asn_db		*db;
	struct asn_info		 info;
	char			 path[64], err[512];
	uint8_t			 a[16];
	size_t			 i, n, w;
	int			 d;

	if (fd == -1 && (fd = memfd_create("fuzz_asn", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((db = asn_db_load(path, err, sizeof(err))) == NULL) {
		if (strncmp(err, path, strlen(path)) != 0)
			abort();
		return;
	}
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		if (asn_lookup(db, ips[i], &info) &&
		    (info.asn == 0 || info.name == NULL))
			abort();
	}
	/* Against the brute force: each range's edges and their
	 * neighbours (only when every range was seen). */
	n = fuzz_entries(data, size, ents, FUZZ_ENTRIES);
	for (i = 0; n < FUZZ_ENTRIES && i < n; i++) {
		w = ents[i].v6 ? 16 : 4;
		for (d = -1; d <= 1; d++) {
			memcpy(a, ents[i].start, w);
			fuzz_step(a, w, d);
			fuzz_probe(db, ents, n, ents[i].v6, a);
			memcpy(a, ents[i].end, w);
			fuzz_step(a, w, d);
			fuzz_probe(db, ents, n, ents[i].v6, a);
		}
	}
	asn_db_free(db);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asn_entry	 e;
	const char		*why = NULL;
	char			*line;

	if ((line = malloc(size == 0 ? 1 : size)) == NULL)
		return (0);
	memcpy(line, data, size);
	switch (asn_parse_line(line, size, &e, &why)) {
	case ASN_LINE_OK:
		if (memcmp(e.start, e.end, e.v6 ? 16 : 4) > 0 ||
		    strlen(e.name) > ASN_NAME_MAX ||
		    strlen(e.country) > 2)
			abort();
		break;
	case ASN_LINE_SKIP:
		break;
	case ASN_LINE_BAD:
		if (why == NULL || *why == '\0')
			abort();
		break;
	default:
		abort();
	}
	free(line);
	if (size <= FUZZ_FILE_MAX)
		fuzz_file(data, size);
	return (0);
}
