/*
 * test_sasl.c: cmocka unit tests for sasl.c: strict base64 (RFC 4648 4)
 * and the PLAIN message (RFC 4616 2), including the refusals: bad
 * alphabet, padding, unused bits, missing or extra NULs, empty or
 * over-long fields, and an authzid other than the authcid.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "sasl.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A small encoder for building test input. */
static void
encode(const uint8_t *in, size_t len, char *out)
{
	size_t		i, o = 0;
	uint32_t	v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

static int
plain(const uint8_t *msg, size_t len, char *user, char *pass)
{
	char	b64[SASL_RESPONSE_MAX * 2];

	encode(msg, len, b64);
	return sasl_plain_decode(b64, strlen(b64), user, pass);
}

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 10 test vectors. */
	static const char *const vec[][2] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" },
		{ "Zm9v", "foo" }, { "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" },
	};
	uint8_t	out[16];
	size_t	i;
	int	n;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = sasl_base64_decode(vec[i][0], strlen(vec[i][0]), out,
		    sizeof(out));
		assert_int_equal(n, (int)strlen(vec[i][1]));
		assert_memory_equal(out, vec[i][1], (size_t)n);
	}
}

static void
test_base64_round_trip(void **state)
{
	uint8_t	in[300], out[300];
	char	b64[500];
	size_t	len, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (len = 0; len < sizeof(in); len++) {
		encode(in, len, b64);
		assert_int_equal(sasl_base64_decode(b64, strlen(b64), out,
		    sizeof(out)), (int)len);
		assert_memory_equal(out, in, len);
	}
}

static void
test_base64_refusals(void **state)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z", "Zm9", "Zg=\x3d\x3d\x3d\x3d",	/* length */
		"Z===", "====", "Zm=v", "=m9v", "Zg==Zm9v",	/* padding */
		"Zh==", "Zm9=",		/* unused bits set */
		"Zm9 ", "Zm9\n", "Zm9-", "Zm9_", "Zm9\x80",	/* alphabet */
	};
	uint8_t	out[16];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sasl_base64_decode(bad[i], strlen(bad[i]),
		    out, sizeof(out)), -1);
	/* NUL inside the counted length. */
	assert_int_equal(sasl_base64_decode("Zm\0v", 4, out, sizeof(out)),
	    -1);
}

static void
test_base64_output_bound(void **state)
{
	uint8_t	out[8];

	(void)state;
	assert_int_equal(sasl_base64_decode("Zm9vYmFy", 8, out, 6), 6);
	assert_int_equal(sasl_base64_decode("Zm9vYmFy", 8, out, 5), -1);
	assert_int_equal(sasl_base64_decode("Zm9vYg==", 8, out, 4), 4);
	assert_int_equal(sasl_base64_decode("Zm9vYg==", 8, out, 3), -1);
}

static void
test_plain_basic(void **state)
{
	char	user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];
	/* RFC 4616 4 example, with an empty authzid. */
	const char *b64 = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm";

	(void)state;
	assert_int_equal(sasl_plain_decode(b64, strlen(b64), user, pass), 0);
	assert_string_equal(user, "tim");
	assert_string_equal(pass, "tanstaaftanstaaf");
}

static void
test_plain_authzid(void **state)
{
	char	user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];
	static const uint8_t same[] = "alice@example.test\0alice@example.test"
	    "\0pw";
	static const uint8_t same_case[] = "Alice@Example.TEST\0alice@example"
	    ".test\0pw";
	static const uint8_t other[] = "bob@example.test\0alice@example.test"
	    "\0pw";

	(void)state;
	assert_int_equal(plain(same, sizeof(same) - 1, user, pass), 0);
	assert_string_equal(user, "alice@example.test");
	assert_string_equal(pass, "pw");
	assert_int_equal(plain(same_case, sizeof(same_case) - 1, user, pass),
	    0);
	/* RFC 4616 4: no proxy authorization here. */
	assert_int_equal(plain(other, sizeof(other) - 1, user, pass), -1);
	assert_string_equal(user, "");
	assert_string_equal(pass, "");
}

static void
test_plain_password_bytes(void **state)
{
	char	user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];
	static const uint8_t msg[] = "\0u@d\0p w \xc3\xa9\t:";

	(void)state;
	assert_int_equal(plain(msg, sizeof(msg) - 1, user, pass), 0);
	assert_string_equal(user, "u@d");
	assert_string_equal(pass, "p w \xc3\xa9\t:");
}

static void
test_plain_refusals(void **state)
{
	char	user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];
	static const struct {
		const char	*msg;
		size_t		 len;
	} bad[] = {
		{ "", 0 },
		{ "u@d", 3 },			/* no NUL */
		{ "\0u@d", 4 },			/* one NUL */
		{ "\0u@d\0", 5 },		/* empty password */
		{ "\0\0pw", 4 },		/* empty authcid */
		{ "\0u@d\0p\0w", 8 },		/* third NUL */
		{ "\0u d\0pw", 7 },		/* space in authcid */
		{ "\0u\td\0pw", 7 },		/* control in authcid */
		{ "\0u\x7f" "d\0pw", 7 },	/* DEL in authcid */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		user[0] = 'x';
		pass[0] = 'x';
		assert_int_equal(plain((const uint8_t *)bad[i].msg, bad[i].len,
		    user, pass), -1);
		assert_int_equal(user[0], '\0');
		assert_int_equal(pass[0], '\0');
	}
	/* Not base64 at all. */
	assert_int_equal(sasl_plain_decode("!!!!", 4, user, pass), -1);
	/* "=": the empty initial response of RFC 5034 4. */
	assert_int_equal(sasl_plain_decode("=", 1, user, pass), -1);
}

static void
test_plain_limits(void **state)
{
	char	 user[AUTH_USER_MAX + 1], pass[AUTH_PASSWORD_MAX + 1];
	uint8_t	 msg[AUTH_USER_MAX + AUTH_PASSWORD_MAX + 8];
	char	*b64;
	size_t	 n;

	(void)state;
	/* The longest user and password. */
	msg[0] = '\0';
	memset(msg + 1, 'u', AUTH_USER_MAX);
	msg[1 + AUTH_USER_MAX] = '\0';
	memset(msg + 2 + AUTH_USER_MAX, 'p', AUTH_PASSWORD_MAX);
	n = 2 + AUTH_USER_MAX + AUTH_PASSWORD_MAX;
	assert_true(n * 4 / 3 + 4 <= SASL_RESPONSE_MAX);
	assert_int_equal(plain(msg, n, user, pass), 0);
	assert_int_equal(strlen(user), AUTH_USER_MAX);
	assert_int_equal(strlen(pass), AUTH_PASSWORD_MAX);
	/* One more octet of user or of password is refused. */
	memset(msg + 1, 'u', AUTH_USER_MAX + 1);
	msg[2 + AUTH_USER_MAX] = '\0';
	msg[3 + AUTH_USER_MAX] = 'p';
	assert_int_equal(plain(msg, 4 + AUTH_USER_MAX, user, pass), -1);
	msg[0] = '\0';
	msg[1] = 'u';
	msg[2] = '\0';
	memset(msg + 3, 'p', AUTH_PASSWORD_MAX + 1);
	assert_int_equal(plain(msg, 4 + AUTH_PASSWORD_MAX, user, pass), -1);
	/* Responses over SASL_RESPONSE_MAX are refused before decoding. */
	b64 = malloc(SASL_RESPONSE_MAX + 5);
	assert_non_null(b64);
	memset(b64, 'A', SASL_RESPONSE_MAX + 4);
	assert_int_equal(sasl_plain_decode(b64, SASL_RESPONSE_MAX + 4, user,
	    pass), -1);
	free(b64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_base64_refusals),
		cmocka_unit_test(test_base64_output_bound),
		cmocka_unit_test(test_plain_basic),
		cmocka_unit_test(test_plain_authzid),
		cmocka_unit_test(test_plain_password_bytes),
		cmocka_unit_test(test_plain_refusals),
		cmocka_unit_test(test_plain_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
