/*
 * test_passwd_file.c: unit tests for the passwd-file user database
 * (src/passwd_file.c): the line parser, loading with FILE:LINE errors,
 * hashing and verifying with every scheme pillory writes.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "passwd_file.h"

/* crypt_r("secret", "$6$saltsalt$"), and the same with "$5$". */
#define SHA512_SECRET	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E" \
	"5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
#define SHA256_SECRET	"$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpP" \
	"dS5sA"

/* Write text to a fresh temporary file; path_out holds its name. */
static void
write_temp(char *path_out, size_t size, const char *text)
{
	const char	*dir = getenv("TMPDIR");
	size_t		 len = strlen(text);
	int		 fd;

	snprintf(path_out, size, "%s/pillory-passwd-XXXXXX",
	    dir != NULL ? dir : "/tmp");
	fd = mkstemp(path_out);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static struct passwd_db *
load_text(const char *text, char *err, size_t errlen, char *path,
    size_t pathlen)
{
	struct passwd_db	*db;

	write_temp(path, pathlen, text);
	db = passwd_file_load(path, err, errlen);
	unlink(path);
	return (db);
}

static int
parse(const char *line, struct span *user, struct span *scheme,
    struct span *hash, const char **why)
{
	return (passwd_file_parse_line(line, strlen(line), user, scheme, hash,
	    why));
}

static void
assert_span(struct span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void
test_parse_good(void **state)
{
	struct span	 user, scheme, hash;
	const char	*why = NULL;

	(void)state;
	assert_int_equal(parse("alice@example.org:{SHA512-CRYPT}"
	    SHA512_SECRET, &user, &scheme, &hash, &why), 0);
	assert_span(user, "alice@example.org");
	assert_span(scheme, "SHA512-CRYPT");
	assert_span(hash, SHA512_SECRET);

	/* Dovecot's extra fields are ignored. */
	assert_int_equal(parse("Bob@Example.ORG:{SHA256-CRYPT}" SHA256_SECRET
	    ":1000:1000::/home/bob::userdb_quota_rule=*:storage=1G",
	    &user, &scheme, &hash, &why), 0);
	assert_span(user, "Bob@Example.ORG");
	assert_span(scheme, "SHA256-CRYPT");
	assert_span(hash, SHA256_SECRET);

	/* No scheme: CRYPT. */
	assert_int_equal(parse("carol@example.org:" SHA512_SECRET "::",
	    &user, &scheme, &hash, &why), 0);
	assert_span(scheme, "CRYPT");
	assert_span(hash, SHA512_SECRET);

	/* Any scheme name, as long as the hash is crypt(3). */
	assert_int_equal(parse("d@example.org:{MD5-CRYPT}"
	    "$1$saltsalt$9xy1btjgzLYfb7hivXtC//", &user, &scheme, &hash, &why),
	    0);
	assert_int_equal(parse("e@example.org:{BLF-CRYPT}"
	    "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
	    &user, &scheme, &hash, &why), 0);
	assert_int_equal(parse("f@example.org:{CRYPT}abNANd1rDfiNc",
	    &user, &scheme, &hash, &why), 0);
	assert_int_equal(parse("h@example.org:{DES-CRYPT}_J9..saltLXKE4peqNCg",
	    &user, &scheme, &hash, &why), 0);
	assert_int_equal(parse("g@example.org:{YESCRYPT}$y$j9T$F5Jx5fExrKuPp53"
	    "xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0", &user,
	    &scheme, &hash, &why), 0);
}

static void
test_parse_skip(void **state)
{
	static const char *const skip[] = {
		"", " ", "\t \t", "#", "# alice@example.org:x",
		"   # indented comment",
	};
	struct span	 user, scheme, hash;
	const char	*why = NULL;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		assert_int_equal(parse(skip[i], &user, &scheme, &hash, &why),
		    1);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*line;
		const char	*why;
	} bad[] = {
		{ "alice", "missing ':' after user" },
		{ "alice:" SHA512_SECRET, "user is not local@domain" },
		{ ":" SHA512_SECRET, "empty user" },
		{ "@example.org:" SHA512_SECRET,
		    "user has an empty local part or domain" },
		{ "alice@:" SHA512_SECRET,
		    "user has an empty local part or domain" },
		{ "a@b@example.org:" SHA512_SECRET,
		    "user contains more than one '@'" },
		{ "al ice@example.org:" SHA512_SECRET,
		    "user contains a space or non-ASCII octet" },
		{ " alice@example.org:" SHA512_SECRET,
		    "user contains a space or non-ASCII octet" },
		{ "alice@example.org:", "empty password field" },
		{ "alice@example.org::1000:1000", "empty password field" },
		{ "alice@example.org:{SHA512-CRYPT", "unterminated {SCHEME}" },
		{ "alice@example.org:{}" SHA512_SECRET, "empty {SCHEME}" },
		{ "alice@example.org:{SHA 512}" SHA512_SECRET,
		    "bad character in {SCHEME}" },
		{ "alice@example.org:{SHA512-CRYPT}", "empty password hash" },
		{ "alice@example.org:{PLAIN}secret",
		    "plain-text passwords are not supported" },
		{ "alice@example.org:{clear}hunter2hunter",
		    "plain-text passwords are not supported" },
		{ "alice@example.org:{SSHA}secret",
		    "password is not a crypt(3) hash" },
		{ "alice@example.org:*", "password is not a crypt(3) hash" },
		{ "alice@example.org:!" SHA512_SECRET,
		    "password is not a crypt(3) hash" },
		{ "alice@example.org:$6$", "password is not a crypt(3) hash" },
		{ "alice@example.org:$6$salt$",
		    "password is not a crypt(3) hash" },
		{ "alice@example.org:$$salt$hash",
		    "password is not a crypt(3) hash" },
		{ "alice@example.org:$9$salt$hash", "unknown crypt(3) method" },
		{ "alice@example.org:" SHA512_SECRET "\r",
		    "control character in line" },
	};
	struct span	 user, scheme, hash;
	const char	*why;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (parse(bad[i].line, &user, &scheme, &hash, &why) != -1)
			fail_msg("accepted: \"%s\"", bad[i].line);
		assert_non_null(why);
		if (strcmp(why, bad[i].why) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].line,
			    why, bad[i].why);
	}
}

static void
test_parse_limits(void **state)
{
	char		*line;
	struct span	 user, scheme, hash;
	const char	*why = NULL;
	size_t		 len;

	(void)state;
	/* A NUL inside the line. */
	assert_int_equal(passwd_file_parse_line("a@b\0:" SHA512_SECRET,
	    sizeof("a@b\0:" SHA512_SECRET) - 1, &user, &scheme, &hash, &why),
	    -1);

	/* Exactly PASSWD_FILE_LINE_MAX is fine, one more is not. */
	line = malloc(PASSWD_FILE_LINE_MAX + 2);
	assert_non_null(line);
	len = (size_t)snprintf(line, PASSWD_FILE_LINE_MAX + 2,
	    "alice@example.org:" SHA512_SECRET ":");
	memset(line + len, 'x', PASSWD_FILE_LINE_MAX + 1 - len);
	assert_int_equal(passwd_file_parse_line(line, PASSWD_FILE_LINE_MAX,
	    &user, &scheme, &hash, &why), 0);
	assert_int_equal(passwd_file_parse_line(line, PASSWD_FILE_LINE_MAX + 1,
	    &user, &scheme, &hash, &why), -1);
	assert_string_equal(why, "line too long");
	free(line);

	/* RFC 5321 local part of 65 octets. */
	assert_int_equal(parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa@example.org:" SHA512_SECRET, &user, &scheme,
	    &hash, &why), -1);
}

static void
test_load_and_verify(void **state)
{
	struct passwd_db	*db;
	char			 err[512], path[256];

	(void)state;
	db = load_text(
	    "# users\n"
	    "\n"
	    "Alice@Example.ORG:{SHA512-CRYPT}" SHA512_SECRET "\n"
	    "bob@example.org:{SHA256-CRYPT}" SHA256_SECRET ":1000:1000\r\n"
	    "carol@example.net:" SHA512_SECRET,	/* no final newline */
	    err, sizeof(err), path, sizeof(path));
	if (db == NULL)
		fail_msg("%s", err);
	assert_int_equal(passwd_file_count(db), 3);
	assert_true(passwd_file_has_user(db, "alice@example.org"));
	assert_true(passwd_file_has_user(db, "bob@example.org"));
	assert_true(passwd_file_has_user(db, "carol@example.net"));
	assert_false(passwd_file_has_user(db, "Alice@Example.ORG"));
	assert_false(passwd_file_has_user(db, "dave@example.org"));
	assert_false(passwd_file_has_user(db, ""));

	assert_true(passwd_file_verify(db, "alice@example.org", "secret"));
	assert_true(passwd_file_verify(db, "bob@example.org", "secret"));
	assert_true(passwd_file_verify(db, "carol@example.net", "secret"));
	assert_false(passwd_file_verify(db, "alice@example.org", "Secret"));
	assert_false(passwd_file_verify(db, "alice@example.org", ""));
	assert_false(passwd_file_verify(db, "alice@example.org", NULL));
	assert_false(passwd_file_verify(db, "dave@example.org", "secret"));
	assert_false(passwd_file_verify(db, "", "secret"));
	passwd_file_free(db);

	/* An empty file is a valid, empty database. */
	db = load_text("# nobody yet\n", err, sizeof(err), path, sizeof(path));
	assert_non_null(db);
	assert_int_equal(passwd_file_count(db), 0);
	assert_false(passwd_file_verify(db, "alice@example.org", "secret"));
	passwd_file_free(db);
	passwd_file_free(NULL);
}

static void
test_load_errors(void **state)
{
	struct passwd_db	*db;
	char			 err[512], want[512], path[256], *text;
	size_t			 off;

	(void)state;
	db = load_text(
	    "# users\n"
	    "alice@example.org:" SHA512_SECRET "\n"
	    "bob:" SHA512_SECRET "\n",
	    err, sizeof(err), path, sizeof(path));
	assert_null(db);
	snprintf(want, sizeof(want), "%s:3: user is not local@domain", path);
	assert_string_equal(err, want);

	db = load_text(
	    "alice@example.org:" SHA512_SECRET "\n"
	    "bob@example.org:{SSHA}secret\n",
	    err, sizeof(err), path, sizeof(path));
	assert_null(db);
	snprintf(want, sizeof(want), "%s:2: password is not a crypt(3) hash",
	    path);
	assert_string_equal(err, want);

	/* Duplicates compare lower-cased; the second line is reported. */
	db = load_text(
	    "alice@example.org:" SHA512_SECRET "\n"
	    "bob@example.org:" SHA512_SECRET "\n"
	    "\n"
	    "ALICE@example.org:" SHA256_SECRET "\n",
	    err, sizeof(err), path, sizeof(path));
	assert_null(db);
	snprintf(want, sizeof(want), "%s:4: duplicate user alice@example.org "
	    "(first on line 1)", path);
	assert_string_equal(err, want);

	/* A line over the limit, on line 2. */
	text = malloc(PASSWD_FILE_LINE_MAX + 128);
	assert_non_null(text);
	off = (size_t)snprintf(text, 128, "# first\nalice@example.org:%s:",
	    SHA512_SECRET);
	memset(text + off, 'x', PASSWD_FILE_LINE_MAX);
	memcpy(text + off + PASSWD_FILE_LINE_MAX, "\n", 2);
	db = load_text(text, err, sizeof(err), path, sizeof(path));
	free(text);
	assert_null(db);
	snprintf(want, sizeof(want), "%s:2: line longer than %d octets", path,
	    PASSWD_FILE_LINE_MAX);
	assert_string_equal(err, want);

	/* A file that is not there. */
	db = passwd_file_load("/nonexistent/pillory-passwd", err, sizeof(err));
	assert_null(db);
	assert_string_equal(err,
	    "/nonexistent/pillory-passwd: No such file or directory");
}

static void
round_trip(const char *scheme, const char *want_prefix)
{
	struct passwd_db	*db;
	struct span		 user, sch, hash;
	const char		*why = NULL;
	char			 out[PASSWD_FILE_HASH_MAX], line[1024];
	char			 again[PASSWD_FILE_HASH_MAX];
	char			 err[512], path[256];

	assert_true(passwd_file_hash(scheme, "correct horse", out,
	    sizeof(out)));
	if (strncmp(out, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("%s: got %s", scheme, out);
	/* A fresh salt every time. */
	assert_true(passwd_file_hash(scheme, "correct horse", again,
	    sizeof(again)));
	assert_string_not_equal(out, again);

	snprintf(line, sizeof(line), "alice@example.org:%s", out);
	assert_int_equal(parse(line, &user, &sch, &hash, &why), 0);

	snprintf(line, sizeof(line), "alice@example.org:%s\n"
	    "bob@example.org:%s\n", out, again);
	db = load_text(line, err, sizeof(err), path, sizeof(path));
	if (db == NULL)
		fail_msg("%s", err);
	assert_true(passwd_file_verify(db, "alice@example.org",
	    "correct horse"));
	assert_true(passwd_file_verify(db, "bob@example.org",
	    "correct horse"));
	assert_false(passwd_file_verify(db, "alice@example.org",
	    "correct horsf"));
	assert_false(passwd_file_verify(db, "alice@example.org",
	    "correct horse "));
	assert_false(passwd_file_verify(db, "carol@example.org",
	    "correct horse"));
	passwd_file_free(db);
}

static void
test_hash_sha512(void **state)
{
	(void)state;
	round_trip("SHA512-CRYPT", "{SHA512-CRYPT}$6$");
	round_trip(NULL, "{SHA512-CRYPT}$6$");
	round_trip("", "{SHA512-CRYPT}$6$");
	round_trip("sha512-crypt", "{SHA512-CRYPT}$6$");
}

static void
test_hash_sha256(void **state)
{
	(void)state;
	round_trip("SHA256-CRYPT", "{SHA256-CRYPT}$5$");
}

static void
test_hash_blf(void **state)
{
	(void)state;
	round_trip("BLF-CRYPT", "{BLF-CRYPT}$2b$");
}

static void
test_hash_yescrypt(void **state)
{
	(void)state;
	round_trip("YESCRYPT", "{YESCRYPT}$y$");
}

static void
test_hash_errors(void **state)
{
	char	out[PASSWD_FILE_HASH_MAX];

	(void)state;
	assert_false(passwd_file_hash("PLAIN", "x", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(passwd_file_hash("MD5-CRYPT", "x", out, sizeof(out)));
	assert_false(passwd_file_hash("SHA512-CRYPT", NULL, out, sizeof(out)));
	/* Too small for the hash: refused, not cut. */
	assert_false(passwd_file_hash("SHA512-CRYPT", "x", out, 40));
	assert_string_equal(out, "");
}

/* A stream over text (NUL-terminated; its length is the stream's). */
static FILE *
text_stream(const char *text)
{
	FILE	*fp = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(fp);
	return (fp);
}

/* The SIGHUP path: the root side writes the user names, the engine reads
 * them back: the same users, no way to check a password. */
static void
test_names_round_trip(void **state)
{
	struct passwd_db	*db, *names;
	char			*buf = NULL, err[512];
	size_t			 len = 0;
	FILE			*fp;

	(void)state;
	fp = text_stream("Alice@Example.ORG:{SHA512-CRYPT}" SHA512_SECRET
	    "\n# comment\n\nbob@example.net:" SHA256_SECRET ":1000::x\n");
	db = passwd_file_load_fp(fp, "mem", err, sizeof(err));
	fclose(fp);
	if (db == NULL)
		fail_msg("%s", err);
	assert_true(passwd_file_verify(db, "alice@example.org", "secret"));
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	assert_true(passwd_file_write_names(db, fp));
	fclose(fp);
	/* Names only, sorted; no hash leaves the root side. */
	assert_string_equal(buf, "alice@example.org\nbob@example.net\n");
	assert_null(strstr(buf, "$6$"));
	fp = text_stream(buf);
	names = passwd_file_load_names_fp(fp, "names", err, sizeof(err));
	fclose(fp);
	if (names == NULL)
		fail_msg("%s", err);
	assert_int_equal(passwd_file_count(names), 2);
	assert_true(passwd_file_has_user(names, "alice@example.org"));
	assert_true(passwd_file_has_user(names, "bob@example.net"));
	assert_false(passwd_file_has_user(names, "carol@example.net"));
	assert_false(passwd_file_verify(names, "alice@example.org",
	    "secret"));
	assert_false(passwd_file_verify(names, "alice@example.org", ""));
	passwd_file_free(names);
	passwd_file_free(db);
	free(buf);

	/* No users at all is a valid, empty list. */
	fp = text_stream("");
	names = passwd_file_load_names_fp(fp, "names", err, sizeof(err));
	fclose(fp);
	assert_non_null(names);
	assert_int_equal(passwd_file_count(names), 0);
	passwd_file_free(names);
}

static void
test_names_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
	} bad[] = {
		{ "alice@example.org\nnot-a-user\n", "names:2: not a user" },
		{ "\n", "names:1: not a user" },
		{ "@example.org\n", "names:1:" },
		{ "alice@\n", "names:1:" },
		{ "alice@example.org:{CRYPT}x\n", "names:1:" },
		{ "alice @example.org\n", "names:1:" },
		{ "alice@exa\tmple.org\n", "names:1:" },
		{ "a@b\na@b\n", "names:2: duplicate user a@b" },
	};
	struct passwd_db	*db;
	char			 err[512], big[ADDRESS_MAX + 64];
	size_t			 i;
	FILE			*fp;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fp = text_stream(bad[i].text);
		err[0] = '\0';
		db = passwd_file_load_names_fp(fp, "names", err, sizeof(err));
		fclose(fp);
		if (db != NULL || strstr(err, bad[i].err) != err)
			fail_msg("#%zu: got '%s', want '%s...'", i, err,
			    bad[i].err);
	}
	/* Longer than any address: refused, never cut. */
	memset(big, 'a', sizeof(big));
	big[10] = '@';
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	fp = text_stream(big);
	db = passwd_file_load_names_fp(fp, "names", err, sizeof(err));
	fclose(fp);
	assert_null(db);
	assert_non_null(strstr(err, "names:1:"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_skip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_load_and_verify),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_names_errors),
		cmocka_unit_test(test_hash_sha512),
		cmocka_unit_test(test_hash_sha256),
		cmocka_unit_test(test_hash_blf),
		cmocka_unit_test(test_hash_yescrypt),
		cmocka_unit_test(test_hash_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
