/*
 * fuzz_envelope.c: libFuzzer target for the queue entry parser
 * (envelope.c).
 *
 * An envelope file damaged on disk or edited by hand must never crash
 * the daemon. Besides memory safety it checks: a parsed envelope has a
 * valid id, at least one recipient and bounded texts; formatting it and
 * parsing the result gives the same fields (round trip), and formatting
 * that again gives the very same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
}

static int
same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope	 env, back;
	char		 err[256], *t1, *t2;
	size_t		 l1, l2, i;

	if (envelope_parse((const char *)data, size, &env, err,
	    sizeof(err)) == -1) {
		check(strncmp(err, "line ", 5) == 0);
		envelope_free(&env);
		return 0;
	}
	check(envelope_id_is_valid(env.id));
	check(env.nrcpts >= 1 && env.nrcpts <= ENVELOPE_RCPTS_MAX);
	check(env.last_error == NULL ||
	    strlen(env.last_error) < ENVELOPE_TEXT_MAX);
	t1 = envelope_format(&env, &l1);
	check(envelope_parse(t1, l1, &back, err, sizeof(err)) == 0);
	check(strcmp(env.id, back.id) == 0 && env.arrival == back.arrival &&
	    strcmp(env.sender, back.sender) == 0 && env.size == back.size &&
	    env.attempts == back.attempts && env.next_try == back.next_try &&
	    env.warned == back.warned && env.active == back.active &&
	    env.nrcpts == back.nrcpts);
	for (i = 0; i < env.nrcpts; i++) {
		check(strcmp(env.rcpts[i].addr, back.rcpts[i].addr) == 0);
		check(env.rcpts[i].state == back.rcpts[i].state);
		check(strcmp(env.rcpts[i].status, back.rcpts[i].status) == 0);
		check(same_text(env.rcpts[i].remote, back.rcpts[i].remote));
		check(same_text(env.rcpts[i].diag, back.rcpts[i].diag));
	}
	t2 = envelope_format(&back, &l2);
	check(l1 == l2 && memcmp(t1, t2, l1) == 0);
	free(t1);
	free(t2);
	envelope_free(&back);
	envelope_free(&env);
	return 0;
}
