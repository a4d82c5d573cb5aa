/*
 * fuzz_import_parse.c: libFuzzer target for import_parse.c. The first
 * byte picks the format, the rest is one log line. Besides memory safety
 * it checks the contracts: a record has a client address and a known
 * kind, a grant has an address and a user, every field is NUL-terminated
 * within its size, uninteresting lines leave the event empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char			 name[] = "gabacho-net.jp";
	static char			*names[] = { name };
	static const struct domain_list	 local = { names, 1 };
	struct import_event		 ev;
	enum import_event_type		 t;

	if (size < 1)
		return 0;
	t = import_parse_line((const char *)data + 1, size - 1,
	    (enum import_format)(data[0] % 4), 1773100800LL * 1000000, &local,
	    &ev);
	check(t == ev.type);
	switch (t) {
	case IMPORT_EVENT_RECORD:
		check(*ev.rec.client_ip != '\0');
		check(ev.rec.kind < ATTACK_KIND_COUNT);
		check(strlen(ev.rec.from) < sizeof(ev.rec.from));
		check(strlen(ev.rec.helo) < sizeof(ev.rec.helo));
		check(strlen(ev.key) < sizeof(ev.key));
		break;
	case IMPORT_EVENT_GRANT:
		check(*ev.grant_ip != '\0');
		check(strlen(ev.grant_user) < sizeof(ev.grant_user));
		break;
	default:
		check(*ev.rec.client_ip == '\0' && *ev.key == '\0');
		break;
	}
	return 0;
}
