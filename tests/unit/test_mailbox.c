/*
 * test_mailbox.c: cmocka unit tests for mailbox.c on a temporary Maildir:
 * listing new/ and cur/ (dot files and directories skipped), delivery
 * order, sizes from W= or counted with CRLF, UIDs (base name, without
 * ",S=" fields, hashed; stable across new/ -> cur/), the in-process lock,
 * DELE/RSET marks applied only by commit, and the streaming reader for
 * RETR and TOP (CRLF, dot-stuffing, terminator, chunk boundaries).
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "mailbox.h"

struct fixture {
	char	root[256];	/* mkdtemp */
	char	box[300];	/* root/box: the Maildir */
};

static void
rm_rf(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	char		 sub[1024];
	struct stat	 st;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_rf(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		 p[400];

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/test_mailbox.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->box, sizeof(f->box), "%s/box", f->root);
	assert_int_equal(mkdir(f->box, 0700), 0);
	snprintf(p, sizeof(p), "%s/new", f->box);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/cur", f->box);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tmp", f->box);
	assert_int_equal(mkdir(p, 0700), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	rm_rf(f->root);
	free(f);
	return 0;
}

static void
put(const struct fixture *f, const char *sub, const char *name,
    const char *text, size_t len)
{
	char	 p[1024];
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s/%s", f->box, sub, name);
	assert_non_null(fp = fopen(p, "w"));
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
put_str(const struct fixture *f, const char *sub, const char *name,
    const char *text)
{
	put(f, sub, name, text, strlen(text));
}

static bool
exists(const struct fixture *f, const char *sub, const char *name)
{
	char		p[1024];
	struct stat	st;

	snprintf(p, sizeof(p), "%s/%s/%s", f->box, sub, name);
	return stat(p, &st) == 0;
}

/* Read message n through the reader, target octets per fill. */
static char *
fetch(struct mailbox *mb, unsigned n, bool top, unsigned lines,
    size_t target, size_t *len_out)
{
	struct mailbox_reader	*r;
	struct evbuffer		*out = evbuffer_new(), *wire = evbuffer_new();
	char			*text;
	size_t			 len;
	int			 rc;

	assert_non_null(out);
	assert_non_null(wire);
	assert_non_null(r = mailbox_reader_open(mb, n, top, lines));
	/* As the session does: fill, let the socket take it, fill again. */
	while ((rc = mailbox_reader_fill(r, wire, target)) == 1)
		evbuffer_add_buffer(out, wire);
	assert_int_equal(rc, 0);
	evbuffer_add_buffer(out, wire);
	/* Done is sticky. */
	assert_int_equal(mailbox_reader_fill(r, wire, SIZE_MAX), 0);
	assert_int_equal(evbuffer_get_length(wire), 0);
	evbuffer_free(wire);
	mailbox_reader_close(r);
	len = evbuffer_get_length(out);
	assert_non_null(text = malloc(len + 1));
	evbuffer_remove(out, text, len);
	text[len] = '\0';
	evbuffer_free(out);
	*len_out = len;
	return text;
}

static void
test_missing_maildir(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*mb;
	char		 p[400];
	size_t		 count;
	uint64_t	 octets;

	(void)f;
	snprintf(p, sizeof(p), "%s/nonexistent", f->root);
	assert_int_equal(mailbox_open(p, &mb), 0);
	assert_int_equal(mailbox_count(mb), 0);
	mailbox_stat(mb, &count, &octets);
	assert_int_equal(count, 0);
	assert_int_equal(octets, 0);
	assert_false(mailbox_exists(mb, 1));
	assert_false(mailbox_exists(mb, 0));
	assert_int_equal(mailbox_commit(mb), 0);
	mailbox_close(mb);
}

static void
test_listing(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*mb;
	char		 p[400];
	size_t		 count;
	uint64_t	 octets;

	/* Out of order on purpose; sizes: W= wins, else counted. */
	put_str(f, "new", "1700000300.M1P1_b.host,S=6,W=99", "x\ny\n");
	put_str(f, "cur", "1700000100.M1P1_a.host:2,S", "ab\ncd\n");
	put_str(f, "new", "1700000200.M2P1_c.host", "one\r\ntwo\nthree");
	put_str(f, "new", "1700000200.M1P1_c.host", "");
	/* Same second: microseconds order, not the unpadded name. */
	put_str(f, "cur", "1700000400.M999P1_e.host:2,", "e\n");
	put_str(f, "new", "1700000400.M10000P1_d.host", "d\n");
	put_str(f, "new", ".hidden", "no\n");
	put_str(f, "cur", ".1700000000.x", "no\n");
	snprintf(p, sizeof(p), "%s/new/subdir", f->box);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tmp/1700000000.tmp", f->box);
	put_str(f, "tmp", "1700000000.tmp", "in delivery\n");

	assert_int_equal(mailbox_open(f->box, &mb), 0);
	assert_int_equal(mailbox_count(mb), 6);
	assert_string_equal(mailbox_uid(mb, 5), "1700000400.M999P1_e.host");
	assert_string_equal(mailbox_uid(mb, 6), "1700000400.M10000P1_d.host");
	assert_string_equal(mailbox_uid(mb, 1), "1700000100.M1P1_a.host");
	assert_int_equal(mailbox_size(mb, 1), 8);
	assert_string_equal(mailbox_uid(mb, 2), "1700000200.M1P1_c.host");
	assert_int_equal(mailbox_size(mb, 2), 0);
	assert_string_equal(mailbox_uid(mb, 3), "1700000200.M2P1_c.host");
	assert_int_equal(mailbox_size(mb, 3), 15);	/* one bare LF */
	assert_string_equal(mailbox_uid(mb, 4),
	    "1700000300.M1P1_b.host,S=6,W=99");
	assert_int_equal(mailbox_size(mb, 4), 99);
	mailbox_stat(mb, &count, &octets);
	assert_int_equal(count, 6);
	assert_int_equal(octets, 8 + 0 + 15 + 99 + 3 + 3);
	assert_false(mailbox_exists(mb, 7));
	mailbox_close(mb);
}

/* "1700000002." and 89 'z': longer than any UID. */
static void
make_long(char *name)
{
	memset(name, 'z', 100);
	memcpy(name, "1700000002.", 11);
	name[100] = '\0';
}

/* The same name as it is after the move to cur/ with the seen flag. */
static void
text_cur(char *name)
{
	make_long(name);
	memcpy(name + 100, ":2,S", 5);
}

static void
test_uids(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*mb;
	char		 longname[200], uid1[80];
	const char	*u;
	size_t		 i;

	/* spool.c's real names are longer than 70 with their fields. */
	snprintf(longname, sizeof(longname), "1700000001.M123456P12345_"
	    "0123456789abcdef0123.%s,S=1234,W=1260", "mx.example.test");
	put_str(f, "new", longname, "a\n");
	/* Even the unique part is too long: hashed. */
	make_long(longname);
	put_str(f, "new", longname, "b\n");
	assert_int_equal(mailbox_open(f->box, &mb), 0);
	assert_int_equal(mailbox_count(mb), 2);
	assert_string_equal(mailbox_uid(mb, 1), "1700000001.M123456P12345_"
	    "0123456789abcdef0123.mx.example.test");
	assert_int_equal(mailbox_size(mb, 1), 1260);
	u = mailbox_uid(mb, 2);
	assert_int_equal(strlen(u), 33);
	assert_int_equal(u[0], 'h');
	for (i = 1; i < 33; i++)
		assert_non_null(strchr("0123456789abcdef", u[i]));
	snprintf(uid1, sizeof(uid1), "%s", u);
	/* Retrieve, commit: both move to cur/ and keep their UIDs. */
	mailbox_reader_close(mailbox_reader_open(mb, 2, false, 0));
	assert_int_equal(mailbox_commit(mb), 0);
	mailbox_close(mb);
	text_cur(longname);
	assert_true(exists(f, "cur", longname));
	assert_int_equal(mailbox_open(f->box, &mb), 0);
	assert_int_equal(mailbox_count(mb), 2);
	assert_string_equal(mailbox_uid(mb, 2), uid1);
	assert_string_equal(mailbox_uid(mb, 1), "1700000001.M123456P12345_"
	    "0123456789abcdef0123.mx.example.test");
	mailbox_close(mb);
}

static void
test_lock(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*a, *b;
	char		 other[400];

	assert_int_equal(mailbox_open(f->box, &a), 0);
	assert_true(mailbox_is_locked(f->box));
	errno = 0;
	assert_int_equal(mailbox_open(f->box, &b), -1);
	assert_int_equal(errno, EBUSY);
	assert_null(b);
	/* Another path is independent. */
	snprintf(other, sizeof(other), "%s/other", f->root);
	assert_int_equal(mailbox_open(other, &b), 0);
	mailbox_close(b);
	mailbox_close(a);
	assert_false(mailbox_is_locked(f->box));
	assert_int_equal(mailbox_open(f->box, &a), 0);
	mailbox_close(a);
	mailbox_close(NULL);
}

static void
test_delete_reset_commit(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*mb;
	size_t		 count;
	uint64_t	 octets;

	put_str(f, "new", "1.a,W=10", "1\n");
	put_str(f, "new", "2.b,W=20", "2\n");
	put_str(f, "cur", "3.c,W=30:2,S", "3\n");
	put_str(f, "new", "4.d,W=40", "4\n");

	/* Marks, then a session that ends without QUIT: nothing changes. */
	assert_int_equal(mailbox_open(f->box, &mb), 0);
	assert_true(mailbox_delete(mb, 1));
	assert_false(mailbox_delete(mb, 1));
	assert_false(mailbox_delete(mb, 5));
	assert_false(mailbox_delete(mb, 0));
	assert_false(mailbox_exists(mb, 1));
	mailbox_stat(mb, &count, &octets);
	assert_int_equal(count, 3);
	assert_int_equal(octets, 90);
	mailbox_close(mb);
	assert_true(exists(f, "new", "1.a,W=10"));

	/* RSET unmarks; then delete 1 and 3 and commit. */
	assert_int_equal(mailbox_open(f->box, &mb), 0);
	assert_true(mailbox_delete(mb, 1));
	assert_true(mailbox_delete(mb, 2));
	mailbox_reset(mb);
	assert_true(mailbox_exists(mb, 1));
	assert_true(mailbox_exists(mb, 2));
	assert_true(mailbox_delete(mb, 1));
	assert_true(mailbox_delete(mb, 3));
	mailbox_reader_close(mailbox_reader_open(mb, 4, false, 0));
	mailbox_reader_close(mailbox_reader_open(mb, 2, true, 0));
	assert_int_equal(mailbox_commit(mb), 0);
	mailbox_close(mb);
	assert_false(exists(f, "new", "1.a,W=10"));
	assert_false(exists(f, "cur", "3.c,W=30:2,S"));
	assert_false(exists(f, "new", "2.b,W=20"));
	assert_true(exists(f, "cur", "2.b,W=20:2,"));	/* TOP: not seen */
	assert_true(exists(f, "cur", "4.d,W=40:2,S"));	/* RETR: seen */

	assert_int_equal(mailbox_open(f->box, &mb), 0);
	assert_int_equal(mailbox_count(mb), 2);
	assert_string_equal(mailbox_uid(mb, 1), "2.b,W=20");
	assert_string_equal(mailbox_uid(mb, 2), "4.d,W=40");
	mailbox_close(mb);
}

static void
test_commit_vanished(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*mb;
	char		 p[400];

	put_str(f, "new", "1.a", "1\n");
	put_str(f, "new", "2.b", "2\n");
	assert_int_equal(mailbox_open(f->box, &mb), 0);
	snprintf(p, sizeof(p), "%s/new/1.a", f->box);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/new/2.b", f->box);
	assert_int_equal(unlink(p), 0);
	/* RETR of a message removed behind our back. */
	errno = 0;
	assert_null(mailbox_reader_open(mb, 2, false, 0));
	assert_int_equal(errno, ENOENT);
	/* DELE of it: already gone counts as removed. */
	assert_true(mailbox_delete(mb, 1));
	assert_int_equal(mailbox_commit(mb), 0);
	mailbox_close(mb);
}

static void
test_retr_conversion(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*mb;
	static const char msg[] =
	    "Subject: dots\n"
	    "\n"
	    ".leading dot\n"
	    "..two dots\n"
	    ".\n"
	    "crlf kept\r\n"
	    "middle.dot\n"
	    "no final newline";
	static const char want[] =
	    "Subject: dots\r\n"
	    "\r\n"
	    "..leading dot\r\n"
	    "...two dots\r\n"
	    "..\r\n"
	    "crlf kept\r\n"
	    "middle.dot\r\n"
	    "no final newline\r\n"
	    ".\r\n";
	char		*text;
	size_t		 len;

	put(f, "new", "1.a", msg, sizeof(msg) - 1);
	put_str(f, "new", "2.b", "");
	put_str(f, "new", "3.c", "ends\n");
	assert_int_equal(mailbox_open(f->box, &mb), 0);
	/* Counted size: octets plus one per bare LF (6 of 7 LFs). */
	assert_int_equal(mailbox_size(mb, 1), sizeof(msg) - 1 + 6);
	text = fetch(mb, 1, false, 0, 1, &len);
	assert_string_equal(text, want);
	/* The size excludes stuffing, the added CRLF and the terminator. */
	assert_int_equal(len, mailbox_size(mb, 1) + 3 + 2 + 3);
	free(text);
	text = fetch(mb, 2, false, 0, 1, &len);
	assert_string_equal(text, ".\r\n");
	free(text);
	text = fetch(mb, 3, false, 0, 1, &len);
	assert_string_equal(text, "ends\r\n.\r\n");
	free(text);
	mailbox_close(mb);
}

static void
test_top(void **state)
{
	struct fixture	*f = *state;
	struct mailbox	*mb;
	static const char msg[] =
	    "From: a@b\nSubject: s\n\nline 1\n.line 2\nline 3\n";
	char		*text;
	size_t		 len;

	put_str(f, "new", "1.a", msg);
	put_str(f, "new", "2.b", "Only: headers\nNo: body");
	put_str(f, "new", "3.c", "H: v\r\n\r\nbody\r\n");
	assert_int_equal(mailbox_open(f->box, &mb), 0);
	text = fetch(mb, 1, true, 0, 1, &len);
	assert_string_equal(text, "From: a@b\r\nSubject: s\r\n\r\n.\r\n");
	free(text);
	text = fetch(mb, 1, true, 2, 1, &len);
	assert_string_equal(text, "From: a@b\r\nSubject: s\r\n\r\nline 1\r\n"
	    "..line 2\r\n.\r\n");
	free(text);
	text = fetch(mb, 1, true, 100, 1, &len);
	assert_string_equal(text, "From: a@b\r\nSubject: s\r\n\r\nline 1\r\n"
	    "..line 2\r\nline 3\r\n.\r\n");
	free(text);
	text = fetch(mb, 2, true, 0, 1, &len);
	assert_string_equal(text, "Only: headers\r\nNo: body\r\n.\r\n");
	free(text);
	text = fetch(mb, 3, true, 0, 1, &len);
	assert_string_equal(text, "H: v\r\n\r\n.\r\n");
	free(text);
	mailbox_close(mb);
}

static void
test_large_streaming(void **state)
{
	struct fixture		*f = *state;
	struct mailbox		*mb;
	struct mailbox_reader	*r;
	struct evbuffer		*out, *wire;
	const size_t		 size = 5 * MAILBOX_CHUNK + 123;
	char			*msg, *text, *want;
	size_t			 i, o, len, fills = 0;

	/* Lines of varying length; a CRLF split across a chunk boundary
	 * and a '.' at the start of the next chunk. */
	assert_non_null(msg = malloc(size));
	for (i = 0; i < size; i++)
		msg[i] = (i % 77 == 76) ? '\n' : (char)('a' + i % 26);
	msg[MAILBOX_CHUNK - 1] = '\r';
	msg[MAILBOX_CHUNK] = '\n';
	msg[2 * MAILBOX_CHUNK - 1] = '\n';
	msg[2 * MAILBOX_CHUNK] = '.';
	msg[size - 1] = '\n';
	put(f, "new", "1.big", msg, size);
	assert_non_null(want = malloc(2 * size + 8));
	for (i = 0, o = 0; i < size; i++) {
		if ((i == 0 || msg[i - 1] == '\n') && msg[i] == '.')
			want[o++] = '.';
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			want[o++] = '\r';
		want[o++] = msg[i];
	}
	memcpy(want + o, ".\r\n", 3);
	o += 3;

	assert_int_equal(mailbox_open(f->box, &mb), 0);
	assert_int_equal(mailbox_size(mb, 1), o - 3 - 1);
	/* Bounded output per fill: never more than target + one chunk. */
	assert_non_null(out = evbuffer_new());
	assert_non_null(wire = evbuffer_new());
	assert_non_null(r = mailbox_reader_open(mb, 1, false, 0));
	while (mailbox_reader_fill(r, wire, 1000) == 1) {
		assert_true(evbuffer_get_length(wire) < 1000 +
		    2 * MAILBOX_CHUNK + 8);
		evbuffer_add_buffer(out, wire);
		fills++;
	}
	evbuffer_add_buffer(out, wire);
	evbuffer_free(wire);
	mailbox_reader_close(r);
	assert_true(fills >= 5);
	len = evbuffer_get_length(out);
	assert_int_equal(len, o);
	assert_non_null(text = malloc(len));
	evbuffer_remove(out, text, len);
	assert_memory_equal(text, want, o);
	evbuffer_free(out);
	free(text);
	free(want);
	free(msg);
	mailbox_close(mb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_maildir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_reset_commit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_vanished, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retr_conversion, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_streaming, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
