/*
 * Unit tests for the spool (src/spool.c) on a scratch state directory and
 * a real event loop: a committed message lands in each local Maildir's
 * new/ headed by Return-Path and Delivered-To (RFC 5321 4.4), and in the
 * queue as ID.msg plus an ID.env that envelope_parse() reads back with
 * the sender and the outside recipients in order; an aborted message
 * leaves nothing; safe names.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "envelope.h"
#include "spool.h"

static char			 dir[256];
static struct event_base	*base;
static struct spool		*sp;

static int
setup(void **state)
{
	const char	*t = getenv("TMPDIR");
	char		 err[256];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pillory-spool-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL || (base = event_base_new()) == NULL)
		return (-1);
	sp = spool_open(dir, "mx.example.test", base, err, sizeof(err));
	if (sp == NULL)
		fprintf(stderr, "spool_open: %s\n", err);
	return (sp == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	char	cmd[300];

	(void)state;
	spool_close(sp);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

struct done {
	int	status;
	bool	called;
};

static void
done_cb(int status, void *arg)
{
	struct done	*d = arg;

	d->status = status;
	d->called = true;
	event_base_loopbreak(base);
}

/* The one file in path (a directory), read whole; NULL when none. */
static char *
only_file(const char *path, char *name_out, size_t len)
{
	DIR		*d = opendir(path);
	struct dirent	*de;
	char		 full[600], *buf = NULL;
	FILE		*fp;
	long		 size;

	if (d == NULL)
		return (NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name_out, len, "%s", de->d_name);
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		if ((fp = fopen(full, "r")) == NULL)
			break;
		fseek(fp, 0, SEEK_END);
		size = ftell(fp);
		rewind(fp);
		buf = calloc(1, (size_t)size + 1);
		if (buf != NULL && fread(buf, 1, (size_t)size, fp) !=
		    (size_t)size) {
			free(buf);
			buf = NULL;
		}
		fclose(fp);
		break;
	}
	closedir(d);
	return (buf);
}

static void
test_commit(void **state)
{
	struct spool_msg	*m;
	struct done		 d = { 0, false };
	struct envelope		 env;
	char			 path[600], name[300], id[SPOOL_ID_MAX];
	char			 err[256], *text;
	int			 i;

	(void)state;
	m = spool_msg_new(sp);
	assert_non_null(m);
	snprintf(id, sizeof(id), "%s", spool_msg_id(m));
	assert_int_equal(spool_msg_line(m, "Subject: hi", 11), 0);
	assert_int_equal(spool_msg_line(m, "", 0), 0);
	assert_int_equal(spool_msg_line(m, "body", 4), 0);
	/* CRLF on the wire: three lines, two CRLF more than stored. */
	assert_int_equal(spool_msg_wire_size(m), 11 + 2 + 2 + 4 + 2);
	spool_msg_set_sender(m, "a@sender.example");
	spool_msg_add_mailbox(m, "example.test", "alice");
	spool_msg_add_remote(m, "x@remote.example");
	spool_msg_add_remote(m, "y@remote.example");
	spool_msg_commit(m, done_cb, &d);
	for (i = 0; i < 100 && !d.called; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(d.called);
	assert_int_equal(d.status, 0);

	snprintf(path, sizeof(path), "%s/mail/example.test/alice/new", dir);
	text = only_file(path, name, sizeof(name));
	assert_non_null(text);
	assert_string_equal(text, "Return-Path: <a@sender.example>\n"
	    "Delivered-To: alice@example.test\nSubject: hi\n\nbody\n");
	free(text);

	snprintf(path, sizeof(path), "%s/queue/%s.msg", dir, id);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(path, sizeof(path), "%s/queue/%s.env.tmp", dir, id);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/queue", dir);
	{
		char	envpath[700];
		FILE	*fp;
		char	 buf[4096];
		size_t	 n;

		snprintf(envpath, sizeof(envpath), "%s/%s.env", path, id);
		fp = fopen(envpath, "r");
		assert_non_null(fp);
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		assert_int_equal(envelope_parse(buf, n, &env, err,
		    sizeof(err)), 0);
		assert_string_equal(env.id, id);
		assert_string_equal(env.sender, "a@sender.example");
		assert_int_equal(env.nrcpts, 2);
		assert_string_equal(env.rcpts[0].addr, "x@remote.example");
		assert_string_equal(env.rcpts[1].addr, "y@remote.example");
		assert_true(env.arrival > 0);
		envelope_free(&env);
	}
}

static void
test_null_sender_local_only(void **state)
{
	struct spool_msg	*m;
	struct done		 d = { 0, false };
	char			 path[600], name[300], *text;
	int			 i;

	(void)state;
	m = spool_msg_new(sp);
	assert_non_null(m);
	assert_int_equal(spool_msg_line(m, "x", 1), 0);
	spool_msg_set_sender(m, "");
	spool_msg_add_mailbox(m, "example.test", "bob");
	spool_msg_commit(m, done_cb, &d);
	for (i = 0; i < 100 && !d.called; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(d.status, 0);
	snprintf(path, sizeof(path), "%s/mail/example.test/bob/new", dir);
	text = only_file(path, name, sizeof(name));
	assert_non_null(text);
	assert_true(strncmp(text, "Return-Path: <>\n", 16) == 0);
	free(text);
}

static void
test_abort_leaves_nothing(void **state)
{
	struct spool_msg	*m;
	char			 path[600], name[300], *text;

	(void)state;
	m = spool_msg_new(sp);
	assert_non_null(m);
	assert_int_equal(spool_msg_line(m, "x", 1), 0);
	spool_msg_abort(m);
	snprintf(path, sizeof(path), "%s/tmp", dir);
	text = only_file(path, name, sizeof(name));
	assert_null(text);
}

static void
test_safe_names(void **state)
{
	(void)state;
	assert_true(spool_name_is_safe("alice"));
	assert_true(spool_name_is_safe("a.b-c"));
	assert_false(spool_name_is_safe(""));
	assert_false(spool_name_is_safe(".hidden"));
	assert_false(spool_name_is_safe(".."));
	assert_false(spool_name_is_safe("a/b"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_null_sender_local_only),
		cmocka_unit_test(test_abort_leaves_nothing),
		cmocka_unit_test(test_safe_names),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
