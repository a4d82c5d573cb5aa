/*
 * fuzz_store_spool.c: libFuzzer target for the spool line parser
 * (store_spool.h). Any input: the parser never crashes and, when it
 * accepts a line, formatting the record and parsing it again gives the
 * same record (the format round-trips).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_spool.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 line[STORE_SPOOL_LINE_MAX];
	struct attack_record	 a, b;
	const char		*why;
	size_t			 len;

	if (!store_spool_parse((const char *)data, size, &a, &why))
		return (0);
	if (!store_spool_format(&a, line, sizeof(line)))
		abort();
	len = strlen(line);
	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		abort();
	if (!store_spool_parse(line, len - 1, &b, &why))
		abort();
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	return (0);
}
