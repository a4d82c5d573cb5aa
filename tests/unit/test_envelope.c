/*
 * test_envelope.c: unit tests for the queue entry record (src/envelope.c):
 * what spool.c writes parses, format and parse round-trip, every
 * malformation is refused with its line, texts are cut and cleaned, and
 * the retry schedule repeats its last interval.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "text.h"

/* Exactly what spool.c's write_envelope() produces. */
static const char spool_env[] =
    "pillory-envelope 1\n"
    "id 06b0ac09e05df6000001\n"
    "arrival 1764330782\n"
    "sender alice@example.test\n"
    "rcpt bob@remote.test\n"
    "rcpt \"john smith\"@other.test\n";

static int
parse(const char *text, struct envelope *env, char *err, size_t errlen)
{
	return envelope_parse(text, strlen(text), env, err, errlen);
}

static void
assert_refused(const char *text, const char *why)
{
	struct envelope	env;
	char		err[256];

	assert_int_equal(parse(text, &env, err, sizeof(err)), -1);
	if (why != NULL && strstr(err, why) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, why);
	envelope_free(&env);
}

static void
test_spool_format(void **state)
{
	struct envelope	env;
	char		err[256];

	(void)state;
	assert_int_equal(parse(spool_env, &env, err, sizeof(err)), 0);
	assert_string_equal(env.id, "06b0ac09e05df6000001");
	assert_int_equal(env.arrival, 1764330782);
	assert_string_equal(env.sender, "alice@example.test");
	assert_int_equal(env.nrcpts, 2);
	assert_string_equal(env.rcpts[0].addr, "bob@remote.test");
	assert_string_equal(env.rcpts[1].addr, "\"john smith\"@other.test");
	assert_int_equal(env.rcpts[0].state, ENVELOPE_PENDING);
	assert_int_equal(env.attempts, 0);
	assert_int_equal(env.next_try, 0);
	assert_null(env.last_error);
	assert_false(env.warned);
	assert_int_equal(envelope_count(&env, ENVELOPE_PENDING), 2);
	envelope_free(&env);
}

static void
test_null_sender(void **state)
{
	struct envelope	env;
	char		err[256];

	(void)state;
	assert_int_equal(parse("pillory-envelope 1\nid a1\narrival 5\n"
	    "sender \nrcpt x@y\n", &env, err, sizeof(err)), 0);
	assert_string_equal(env.sender, "");
	envelope_free(&env);
	assert_int_equal(parse("pillory-envelope 1\nid a1\narrival 5\n"
	    "sender\nrcpt x@y\n", &env, err, sizeof(err)), 0);
	assert_string_equal(env.sender, "");
	envelope_free(&env);
}

static void
test_roundtrip(void **state)
{
	struct envelope	 env, back;
	struct envelope_rcpt *r;
	char		 err[256], *text, *text2;
	size_t		 len, len2;

	(void)state;
	envelope_init(&env, "abc123");
	env.arrival = 1700000000;
	text_copy(env.sender, "alice@example.test", sizeof(env.sender));
	env.size = 4242;
	env.attempts = 3;
	env.next_try = 1700000600;
	env.warned = true;
	envelope_set_text(&env.last_error, "451 4.7.1 greylisted");
	r = envelope_add_rcpt(&env, "a@remote.test");
	r->state = ENVELOPE_SENT;
	text_copy(r->status, "2.0.0", sizeof(r->status));
	envelope_set_text(&r->remote, "mx.remote.test");
	envelope_set_text(&r->diag, "250 2.0.0 Ok");
	r = envelope_add_rcpt(&env, "b@remote.test");
	r->state = ENVELOPE_FAILED;
	text_copy(r->status, "5.1.1", sizeof(r->status));
	envelope_set_text(&r->diag, "550 5.1.1 no such user");
	r = envelope_add_rcpt(&env, "c@remote.test");
	r->state = ENVELOPE_BOUNCED;
	envelope_add_rcpt(&env, "d@remote.test");

	text = envelope_format(&env, &len);
	assert_int_equal(strlen(text), len);
	assert_int_equal(envelope_parse(text, len, &back, err, sizeof(err)), 0);
	assert_string_equal(back.id, "abc123");
	assert_int_equal(back.arrival, 1700000000);
	assert_int_equal(back.size, 4242);
	assert_int_equal(back.attempts, 3);
	assert_int_equal(back.next_try, 1700000600);
	assert_true(back.warned);
	assert_false(back.active);
	assert_string_equal(back.last_error, "451 4.7.1 greylisted");
	assert_int_equal(back.nrcpts, 4);
	assert_int_equal(back.rcpts[0].state, ENVELOPE_SENT);
	assert_string_equal(back.rcpts[0].remote, "mx.remote.test");
	assert_string_equal(back.rcpts[0].diag, "250 2.0.0 Ok");
	assert_int_equal(back.rcpts[1].state, ENVELOPE_FAILED);
	assert_string_equal(back.rcpts[1].status, "5.1.1");
	assert_null(back.rcpts[1].remote);
	assert_int_equal(back.rcpts[2].state, ENVELOPE_BOUNCED);
	assert_int_equal(back.rcpts[3].state, ENVELOPE_PENDING);
	assert_int_equal(envelope_count(&back, ENVELOPE_PENDING), 1);
	/* Formatting the parsed copy gives the same text. */
	text2 = envelope_format(&back, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	free(text);
	free(text2);
	envelope_free(&back);
	envelope_free(&env);
}

static void
test_active_only_when_set(void **state)
{
	struct envelope	 env;
	char		*text;
	size_t		 len;

	(void)state;
	envelope_init(&env, "x1");
	envelope_add_rcpt(&env, "a@b");
	text = envelope_format(&env, &len);
	assert_null(strstr(text, "active"));
	free(text);
	env.active = true;
	text = envelope_format(&env, &len);
	assert_non_null(strstr(text, "\nactive 1\n"));
	free(text);
	envelope_free(&env);
}

static void
test_control_characters_cleaned(void **state)
{
	struct envelope	 env, back;
	char		 err[256], *text;
	size_t		 len;

	(void)state;
	envelope_init(&env, "x1");
	envelope_add_rcpt(&env, "a@b");
	envelope_set_text(&env.last_error, "450 bad\r\nrcpt evil@x\x01");
	text = envelope_format(&env, &len);
	assert_int_equal(envelope_parse(text, len, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nrcpts, 1);
	assert_string_equal(back.last_error, "450 bad??rcpt evil@x?");
	free(text);
	envelope_free(&back);
	envelope_free(&env);
}

static void
test_text_cut_on_character(void **state)
{
	char	*field = NULL, big[2 * ENVELOPE_TEXT_MAX];
	size_t	 i;

	(void)state;
	/* "é" is two octets; fill so that the cut falls inside one. */
	big[0] = 'x';
	for (i = 1; i + 1 < sizeof(big) - 1; i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	big[i] = '\0';
	envelope_set_text(&field, big);
	assert_true(strlen(field) < ENVELOPE_TEXT_MAX);
	assert_int_equal((unsigned char)field[strlen(field) - 1], 0xa9);
	envelope_set_text(&field, "");
	assert_null(field);
	envelope_set_text(&field, NULL);
	assert_null(field);
}

static void
test_refusals(void **state)
{
	char	big[ADDRESS_MAX + 64];

	(void)state;
	assert_refused("", "empty");
	assert_refused("pillory-envelope 2\nid a\narrival 1\nsender\n"
	    "rcpt a@b\n", "line 1");
	assert_refused("id a\n", "line 1");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt a@b", "line end");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n",
	    "missing");
	assert_refused("pillory-envelope 1\nid a\nsender\nrcpt a@b\n",
	    "missing");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt a@b\nbogus 1\n", "line 6: unknown key");
	assert_refused("pillory-envelope 1\nid a\nid b\narrival 1\nsender\n"
	    "rcpt a@b\n", "twice");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt-state sent\nrcpt a@b\n", "before any rcpt");
	assert_refused("pillory-envelope 1\nid a/b\narrival 1\nsender\n"
	    "rcpt a@b\n", "bad id");
	assert_refused("pillory-envelope 1\nid ../x\narrival 1\nsender\n"
	    "rcpt a@b\n", "bad id");
	assert_refused("pillory-envelope 1\nid \narrival 1\nsender\n"
	    "rcpt a@b\n", "bad id");
	assert_refused("pillory-envelope 1\nid a\narrival -1\nsender\n"
	    "rcpt a@b\n", "bad number");
	assert_refused("pillory-envelope 1\nid a\narrival 1x\nsender\n"
	    "rcpt a@b\n", "bad number");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt a@b\nrcpt-state lost\n", "unknown recipient state");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt a@b\nrcpt-status 6.1.1\n", "status");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt a@b\nrcpt-status 5.1111.1\n", "status");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt \n", "recipient");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt a@b\nwarned 2\n", "0 or 1");
	assert_refused("pillory-envelope 1\r\nid a\narrival 1\nsender\n"
	    "rcpt a@b\n", "control character");
	assert_refused("pillory-envelope 1\nid a\narrival 1\nsender\n"
	    "rcpt a\tb@c\n", "control character");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char text[sizeof(big) + 128];

		snprintf(text, sizeof(text), "pillory-envelope 1\nid a\n"
		    "arrival 1\nsender\nrcpt %s\n", big);
		assert_refused(text, "recipient");
		snprintf(text, sizeof(text), "pillory-envelope 1\nid a\n"
		    "arrival 1\nsender %s\nrcpt a@b\n", big);
		assert_refused(text, "too long");
	}
	/* NUL inside */
	{
		struct envelope	env;
		char		err[64];
		static const char t[] = "pillory-envelope 1\nid a\0\n"
		    "arrival 1\nsender\nrcpt a@b\n";

		assert_int_equal(envelope_parse(t, sizeof(t) - 1, &env, err,
		    sizeof(err)), -1);
		envelope_free(&env);
	}
}

static void
test_ids(void **state)
{
	(void)state;
	assert_true(envelope_id_is_valid("06b0ac09e05df6000001"));
	assert_true(envelope_id_is_valid("A"));
	assert_false(envelope_id_is_valid(""));
	assert_false(envelope_id_is_valid("a.b"));
	assert_false(envelope_id_is_valid("a/b"));
	assert_false(envelope_id_is_valid(".."));
	assert_false(envelope_id_is_valid("123456789012345678901234"));
	assert_true(envelope_id_is_valid("12345678901234567890123"));
}

static void
test_retry_schedule(void **state)
{
	const uint64_t	iv[] = { 300, 600, 1800, 3600 };
	const uint64_t	zero[] = { 0 };

	(void)state;
	assert_int_equal(envelope_retry_delay(iv, 4, 1), 300);
	assert_int_equal(envelope_retry_delay(iv, 4, 2), 600);
	assert_int_equal(envelope_retry_delay(iv, 4, 3), 1800);
	assert_int_equal(envelope_retry_delay(iv, 4, 4), 3600);
	/* the last interval repeats */
	assert_int_equal(envelope_retry_delay(iv, 4, 5), 3600);
	assert_int_equal(envelope_retry_delay(iv, 4, 1000), 3600);
	assert_int_equal(envelope_retry_delay(iv, 4, 0), 300);
	assert_int_equal(envelope_retry_delay(NULL, 0, 3),
	    ENVELOPE_RETRY_DEFAULT);
	assert_int_equal(envelope_retry_delay(zero, 1, 1), 1);
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(envelope_state_name(ENVELOPE_PENDING), "pending");
	assert_string_equal(envelope_state_name(ENVELOPE_SENT), "sent");
	assert_string_equal(envelope_state_name(ENVELOPE_FAILED), "failed");
	assert_string_equal(envelope_state_name(ENVELOPE_BOUNCED), "bounced");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spool_format),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_active_only_when_set),
		cmocka_unit_test(test_control_characters_cleaned),
		cmocka_unit_test(test_text_cut_on_character),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_retry_schedule),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
