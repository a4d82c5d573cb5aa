/*
 * fuzz_sendmail_parse.c: libFuzzer target for the sendmail(8) parsers
 * (src/sendmail_parse.c): the input as an address-list header value, as
 * a header line, and split at NULs into an argument vector.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ARGS_MAX	32

static void
check_addr(const char *addr, void *arg)
{
	size_t	n = strlen(addr);

	(void)arg;
	if (n == 0 || n > ADDRESS_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sendmail_opts	 o;
	char			*copy, *argv[FUZZ_ARGS_MAX + 2], err[256];
	size_t			 i, n;
	int			 argc = 1, r;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	r = sendmail_parse_addresses(copy, size, check_addr, NULL);
	if (r < -1)
		abort();
	n = sendmail_header_name(copy, size);
	if (n >= size && n != 0)
		abort();
	/* NUL-separated words as argv. */
	argv[0] = (char *)"sendmail";
	for (i = 0; i < size && argc <= FUZZ_ARGS_MAX; ) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;
	if (sendmail_parse_args(argc, argv, &o, err, sizeof(err)) == 0) {
		if (o.first_rcpt < 1 || o.first_rcpt > argc)
			abort();
	} else if (*err == '\0')
		abort();
	free(copy);
	return 0;
}
