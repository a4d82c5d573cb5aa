/*
 * fuzz_config.c: libFuzzer target for the INI reader (config_load_fp in
 * src/config.c) and the key table's parsers and validators behind it.
 * A config is trusted input, but a mistake in it must end in a FILE:LINE
 * message, never in a crash, a leak or a half-built config.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE		*fp;
	struct config	*cfg;
	char		 err[1024];
	char		*buf = NULL;
	size_t		 len = 0;

	if (size > 65536)
		return (0);
	if ((fp = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		return (0);
	err[0] = '\0';
	cfg = config_load_fp(fp, "fuzz.conf", err, sizeof(err));
	fclose(fp);
	if (cfg == NULL) {
		/* Every refusal says where. */
		if (strncmp(err, "fuzz.conf", 9) != 0)
			abort();
		return (0);
	}
	/* A config that loads prints, and what it prints loads again. */
	if ((fp = open_memstream(&buf, &len)) == NULL)
		abort();
	config_print(cfg, fp);
	fclose(fp);
	config_free(cfg);
	if ((fp = fmemopen(buf, len, "r")) == NULL)
		abort();
	cfg = config_load_fp(fp, "again.conf", err, sizeof(err));
	fclose(fp);
	if (cfg == NULL)
		abort();
	config_free(cfg);
	free(buf);
	return (0);
}
