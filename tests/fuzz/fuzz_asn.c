/*
 * fuzz_asn.c: libFuzzer target for the ip2asn TSV (src/asn.c). First the
 * line parser on the whole input; then the input as a file through the
 * loader, the flattening of overlapping ranges and a few lookups, which
 * must agree with a brute-force walk over the parsed lines.
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

static void
fuzz_file(const uint8_t *data, size_t size)
{
	static const char *const ips[] = {
		"0.0.0.0", "1.2.3.4", "10.0.0.1", "211.219.235.140",
		"255.255.255.255", "::", "::1", "2001:db8::1",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	static int		 fd = -1;
	struct asn_db		*db;
	struct asn_info		 info;
	char			 path[64], err[512];
	size_t			 i;

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
