/*
 * test_srs.c: cmocka unit tests for srs.c: the SRS0 form with a hash
 * computed independently (Python's hmac over the same input), round trips,
 * case folding, forged and expired addresses, malformed input, and the
 * 64-octet local part limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "srs.h"

#define SECRET		"sekrit"
#define NOW		((time_t)1700000000)	/* day 19675: stamp "G3" */
#define DAY		((time_t)86400)

static enum srs_result
rev(const char *local, time_t now, char *out, size_t size)
{
	return srs_reverse(SECRET, strlen(SECRET), now, local, strlen(local),
	    out, size);
}

static void
test_forward_form(void **state)
{
	char	out[256];

	(void)state;
	/* base64(HMAC-SHA1("sekrit", "g3remote.testbob"))[:4] == "sfYY" */
	assert_int_equal(srs_forward(SECRET, strlen(SECRET), NOW,
	    "Bob@Remote.test", "example.test", 64, out, sizeof(out)), SRS_OK);
	assert_string_equal(out, "SRS0=sfYY=G3=Remote.test=Bob@example.test");
}

static void
test_round_trip(void **state)
{
	char	fwd[256], back[256], *at;

	(void)state;
	assert_int_equal(srs_forward(SECRET, strlen(SECRET), NOW,
	    "a.b+tag=x@sender.test", "example.test", 64, fwd, sizeof(fwd)),
	    SRS_OK);
	at = strrchr(fwd, '@');
	*at = '\0';
	assert_int_equal(rev(fwd, NOW, back, sizeof(back)), SRS_OK);
	assert_string_equal(back, "a.b+tag=x@sender.test");
	/* 21 days later still good, 22 days later expired. */
	assert_int_equal(rev(fwd, NOW + 21 * DAY, back, sizeof(back)), SRS_OK);
	assert_int_equal(rev(fwd, NOW + 22 * DAY, back, sizeof(back)),
	    SRS_EXPIRED);
	/* A receiver that folds case still gets through. */
	for (char *p = fwd; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(rev(fwd, NOW, back, sizeof(back)), SRS_OK);
	assert_string_equal(back, "A.B+TAG=X@SENDER.TEST");
}

static void
test_forged(void **state)
{
	char	back[256];

	(void)state;
	assert_int_equal(rev("SRS0=AAAA=G3=remote.test=bob", NOW, back,
	    sizeof(back)), SRS_BAD_HASH);
	assert_int_equal(rev("SRS0=sfYY=G3=remote.test=bob", NOW, back,
	    sizeof(back)), SRS_OK);
	/* Another domain or local part under the same hash. */
	assert_int_equal(rev("SRS0=sfYY=G3=remote.test=eve", NOW, back,
	    sizeof(back)), SRS_BAD_HASH);
	assert_int_equal(rev("SRS0=sfYY=G3=evil.test=bob", NOW, back,
	    sizeof(back)), SRS_BAD_HASH);
	/* Another secret. */
	assert_int_equal(srs_reverse("other", 5, NOW,
	    "SRS0=sfYY=G3=remote.test=bob", 28, back, sizeof(back)),
	    SRS_BAD_HASH);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"SRS0=", "SRS0=sfYY", "SRS0=sfYY=", "SRS0=sfYY=G3",
		"SRS0=sfYY=G3=", "SRS0=sfYY=G3=remote.test",
		"SRS0=sfYY=G3=remote.test=", "SRS0=sfYY=G3==bob",
		"SRS0=sfY=G3=remote.test=bob", "SRS0=sfYY=G=remote.test=bob",
		"SRS0=sfYY=11=remote.test=bob", "SRS0=sfYYG3=remote.test=bob",
	};
	char	back[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rev(bad[i], NOW, back, sizeof(back)),
		    SRS_BAD_SYNTAX);
	assert_int_equal(rev("alice", NOW, back, sizeof(back)), SRS_NOT_SRS);
	assert_int_equal(rev("SRS", NOW, back, sizeof(back)), SRS_NOT_SRS);
	assert_true(srs_is_srs("srs0=x", 6));
	assert_true(srs_is_srs("SRS1=x", 6));
	assert_false(srs_is_srs("SRS2=x", 6));
	assert_false(srs_is_srs("SRS0", 4));
	/* Output too small. */
	assert_int_equal(rev("SRS0=sfYY=G3=remote.test=bob", NOW, back, 8),
	    SRS_TOO_LONG);
}

static void
test_limits(void **state)
{
	char	out[256];

	(void)state;
	/* 14 + domain + 1 + local must fit in 64 octets. */
	assert_int_equal(srs_forward(SECRET, strlen(SECRET), NOW,
	    "a-rather-long-local-part@a-longer-domain-name.example",
	    "example.test", 64, out, sizeof(out)), SRS_TOO_LONG);
	assert_int_equal(srs_forward(SECRET, strlen(SECRET), NOW,
	    "nobody", "example.test", 64, out, sizeof(out)), SRS_BAD_SYNTAX);
	assert_int_equal(srs_forward(SECRET, strlen(SECRET), NOW,
	    "@x.test", "example.test", 64, out, sizeof(out)), SRS_BAD_SYNTAX);
	assert_int_equal(srs_forward(SECRET, strlen(SECRET), NOW,
	    "bob@remote.test", "example.test", 64, out, 20), SRS_TOO_LONG);
	assert_string_equal(srs_result_name(SRS_BAD_HASH), "bad-hash");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_form),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
