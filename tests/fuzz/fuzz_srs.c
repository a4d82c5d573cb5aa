/*
 * fuzz_srs.c: libFuzzer target for srs.c.
 *
 * The input is a recipient local part as a client sends it. srs_reverse()
 * must never read past it or write past its output; on SRS_OK the result is
 * "local@domain" with one '@' and fits, and forwarding that result again
 * (same secret, same day) and reversing gives it back. The input is also
 * used as a sender for srs_forward(), whose result must fit its limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srs.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SECRET	"fuzz secret"
#define NOW	((time_t)1700000000)

static void
check(int ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*in, out[128], fwd[256], again[128], *at;
	enum srs_result	 r;

	if (size > 1024)
		return 0;
	/* An exact-size copy: ASan catches any read past the end. */
	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	r = srs_reverse(SECRET, strlen(SECRET), NOW, in, size, out,
	    sizeof(out));
	if (r == SRS_OK) {
		check(strlen(out) < sizeof(out));
		check((at = strchr(out, '@')) != NULL && strchr(at + 1, '@') ==
		    NULL);
		if (srs_forward(SECRET, strlen(SECRET), NOW, out,
		    "example.test", 64, fwd, sizeof(fwd)) == SRS_OK) {
			at = strrchr(fwd, '@');
			check(srs_reverse(SECRET, strlen(SECRET), NOW, fwd,
			    (size_t)(at - fwd), again, sizeof(again)) ==
			    SRS_OK);
			check(strcmp(again, out) == 0);
		}
	}
	in[size] = '\0';
	if (memchr(data, '\0', size) == NULL &&
	    srs_forward(SECRET, strlen(SECRET), NOW, in, "example.test", 64,
	    fwd, sizeof(fwd)) == SRS_OK) {
		at = strrchr(fwd, '@');
		check(at != NULL && (size_t)(at - fwd) <= 64);
		check(strcmp(at + 1, "example.test") == 0);
	}
	free(in);
	return 0;
}
