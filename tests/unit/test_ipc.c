/*
 * test_ipc.c: unit tests for the frames between pillory's processes
 * (src/ipc.c): whole frames over a stream, and the reload channel's
 * frames with descriptors attached (SOCK_SEQPACKET, SCM_RIGHTS).
 */

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

static void
test_payload_sizes(void **state)
{
	(void)state;
	assert_int_equal(ipc_payload_size(IPC_AUTH_REQ),
	    sizeof(struct ipc_auth_req));
	assert_int_equal(ipc_payload_size(IPC_RELOAD_REQ),
	    sizeof(struct ipc_reload_req));
	assert_int_equal(ipc_payload_size(IPC_RELOAD_RES),
	    sizeof(struct ipc_reload_res));
	assert_true(sizeof(struct ipc_reload_res) <= IPC_PAYLOAD_MAX);
	assert_int_equal(ipc_payload_size(0), 0);
	assert_int_equal(ipc_payload_size(999), 0);
}

static void
test_stream_frames(void **state)
{
	struct ipc_auth_res	res = { 7, 1 }, got;
	union {
		struct ipc_auth_res	res;
		char			raw[IPC_PAYLOAD_MAX];
	}			u;
	uint32_t		type;
	int			sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ipc_write(sv[0], IPC_AUTH_RES, &res, sizeof(res)), 0);
	assert_int_equal(ipc_read(sv[1], &type, &u), 1);
	assert_int_equal(type, IPC_AUTH_RES);
	memcpy(&got, &u.res, sizeof(got));
	assert_int_equal(got.id, 7);
	assert_int_equal(got.result, 1);
	close(sv[0]);
	assert_int_equal(ipc_read(sv[1], &type, &u), 0);	/* EOF */
	close(sv[1]);
}

/* A file with text in it, read back through a received descriptor. */
static int
temp_with(const char *text)
{
	char	path[] = "/tmp/pillory-ipc-XXXXXX";
	int	fd = mkstemp(path);

	assert_true(fd != -1);
	unlink(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return (fd);
}

static void
test_descriptors(void **state)
{
	struct ipc_reload_res	res;
	union {
		struct ipc_reload_res	res;
		char			raw[IPC_PAYLOAD_MAX];
	}			u;
	int			sv[2], fds[IPC_FDS_MAX], got[IPC_FDS_MAX];
	size_t			i, n;
	uint32_t		type;
	char			buf[16];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	memset(&res, 0, sizeof(res));
	res.serial = 3;
	res.ok = 1;
	res.fds = IPC_RELOAD_FD_CONFIG | IPC_RELOAD_FD_CERT;
	snprintf(res.tls_err, sizeof(res.tls_err), "none");
	fds[0] = temp_with("config");
	fds[1] = temp_with("cert");
	assert_int_equal(ipc_send_fds(sv[0], IPC_RELOAD_RES, &res,
	    sizeof(res), fds, 2), 0);
	/* A second message without descriptors keeps its boundary. */
	assert_int_equal(ipc_send_fds(sv[0], IPC_RELOAD_REQ, &res.serial,
	    sizeof(struct ipc_reload_req), NULL, 0), 0);

	assert_int_equal(ipc_recv_fds(sv[1], &type, &u, got, &n), 1);
	assert_int_equal(type, IPC_RELOAD_RES);
	assert_int_equal(n, 2);
	assert_int_equal(u.res.serial, 3);
	assert_int_equal(u.res.fds, IPC_RELOAD_FD_CONFIG | IPC_RELOAD_FD_CERT);
	assert_string_equal(u.res.tls_err, "none");
	for (i = 0; i < n; i++) {
		assert_true(got[i] != fds[i]);
		assert_true(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
		memset(buf, 0, sizeof(buf));
		assert_true(pread(got[i], buf, sizeof(buf) - 1, 0) > 0);
		assert_string_equal(buf, i == 0 ? "config" : "cert");
		close(got[i]);
	}
	assert_int_equal(ipc_recv_fds(sv[1], &type, &u, got, &n), 1);
	assert_int_equal(type, IPC_RELOAD_REQ);
	assert_int_equal(n, 0);

	/* Non-blocking and empty: -1 with EAGAIN, as the engine reads it. */
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(ipc_recv_fds(sv[1], &type, &u, got, &n), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(sv[0]);
	assert_int_equal(ipc_recv_fds(sv[1], &type, &u, got, &n), 0);
	close(sv[1]);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_sizes),
		cmocka_unit_test(test_stream_frames),
		cmocka_unit_test(test_descriptors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
