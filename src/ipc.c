/*
 * ipc.c: frames between pillory's processes (ipc.h). Both ends are ours,
 * so a frame that breaks the rules is a bug and aborts the reader.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ipc.h"
#include "log.h"

uint32_t
ipc_payload_size(uint32_t type)
{
	switch (type) {
	case IPC_AUTH_REQ:
		return sizeof(struct ipc_auth_req);
	case IPC_AUTH_RES:
		return sizeof(struct ipc_auth_res);
	case IPC_RELOAD_REQ:
		return sizeof(struct ipc_reload_req);
	case IPC_RELOAD_RES:
		return sizeof(struct ipc_reload_res);
	}
	return 0;
}

bool
ipc_field_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int
write_all(int fd, const void *p, size_t len)
{
	const char	*c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ipc_write(int fd, uint32_t type, const void *payload, uint32_t len)
{
	struct ipc_hdr	h = { type, len };
	char		buf[sizeof(h) + IPC_PAYLOAD_MAX];

	if (len != ipc_payload_size(type) || len > IPC_PAYLOAD_MAX)
		FATAL("ipc_write: bad frame");
	/* One write per frame, so concurrent writers under a lock and the
	 * reader see whole frames. */
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	if (write_all(fd, buf, sizeof(h) + len) == -1) {
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int
read_all(int fd, void *p, size_t len)
{
	char	*c = p;
	size_t	 got = 0;

	while (got < len) {
		ssize_t n = read(fd, c + got, len - got);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	return 1;
}

int
ipc_read(int fd, uint32_t *type_out, void *payload)
{
	struct ipc_hdr	h;
	int		rc;

	if ((rc = read_all(fd, &h, sizeof(h))) != 1)
		return rc;
	if (h.len != ipc_payload_size(h.type) || h.len > IPC_PAYLOAD_MAX)
		FATAL("ipc_read: malformed frame");
	if (read_all(fd, payload, h.len) != 1)
		return -1;
	*type_out = h.type;
	return 1;
}

int
ipc_take(struct evbuffer *in, uint32_t *type_out, void *payload)
{
	struct ipc_hdr	h;

	if (evbuffer_get_length(in) < sizeof(h))
		return 0;
	evbuffer_copyout(in, &h, sizeof(h));
	if (h.len != ipc_payload_size(h.type) || h.len > IPC_PAYLOAD_MAX)
		FATAL("ipc_take: malformed frame");
	if (evbuffer_get_length(in) < sizeof(h) + h.len)
		return 0;
	evbuffer_drain(in, sizeof(h));
	evbuffer_remove(in, payload, h.len);
	*type_out = h.type;
	return 1;
}

/* Room for IPC_FDS_MAX descriptors in one SCM_RIGHTS message. */
#define IPC_FDS_SPACE	CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)

int
ipc_send_fds(int fd, uint32_t type, const void *payload, uint32_t len,
    const int *fds, size_t nfds)
{
	struct ipc_hdr	 h = { type, len };
	char		 buf[sizeof(h) + IPC_PAYLOAD_MAX];
	union {
		struct cmsghdr	hdr;
		char		space[IPC_FDS_SPACE];
	}		 ctl;
	struct iovec	 iov;
	struct msghdr	 msg;
	struct cmsghdr	*c;
	ssize_t		 n;

	if (len != ipc_payload_size(type) || len > IPC_PAYLOAD_MAX ||
	    nfds > IPC_FDS_MAX)
		FATAL("ipc_send_fds: bad frame");
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	iov.iov_base = buf;
	iov.iov_len = sizeof(h) + len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.space;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)iov.iov_len ? 0 : -1;
}

int
ipc_recv_fds(int fd, uint32_t *type_out, void *payload, int *fds_out,
    size_t *nfds_out)
{
	struct ipc_hdr	 h;
	char		 buf[sizeof(h) + IPC_PAYLOAD_MAX];
	union {
		struct cmsghdr	hdr;
		char		space[IPC_FDS_SPACE];
	}		 ctl;
	struct iovec	 iov = { buf, sizeof(buf) };
	struct msghdr	 msg;
	struct cmsghdr	*c;
	size_t		 nfds = 0;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.space;
	msg.msg_controllen = sizeof(ctl.space);
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			FATAL("ipc_recv_fds: unexpected control message");
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfds + k > IPC_FDS_MAX)
			FATAL("ipc_recv_fds: too many descriptors");
		memcpy(fds_out + nfds, CMSG_DATA(c), k * sizeof(int));
		nfds += k;
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		FATAL("ipc_recv_fds: truncated message");
	if ((size_t)n < sizeof(h))
		FATAL("ipc_recv_fds: short message");
	memcpy(&h, buf, sizeof(h));
	if (h.len != ipc_payload_size(h.type) || h.len > IPC_PAYLOAD_MAX ||
	    (size_t)n != sizeof(h) + h.len)
		FATAL("ipc_recv_fds: malformed frame");
	memcpy(payload, buf + sizeof(h), h.len);
	*type_out = h.type;
	*nfds_out = nfds;
	return 1;
}
