/*
 * fuzz_submit_parse.c: libFuzzer target for the local submission
 * socket's request lines and answers (src/submit_parse.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "submit_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct submit_line	 l;
	int			 st;

	if (submit_parse_line((const char *)data, size, &l) == 0) {
		if (strlen(l.addr) > ADDRESS_MAX)
			abort();
		if ((l.verb == SUBMIT_MAIL || l.verb == SUBMIT_RCPT) &&
		    (strchr(l.addr, ' ') != NULL || strchr(l.addr, '>')))
			abort();
		if (l.verb == SUBMIT_RCPT && l.addr[0] == '\0')
			abort();
	}
	st = submit_status_parse((const char *)data, size);
	if (st < -1 || st >= SUBMIT_STATUS_COUNT)
		abort();
	return 0;
}
