/*
 * ipc.c: frames between pillory's processes (ipc.h). Both ends are ours,
 * so a frame that breaks the rules is a bug and aborts the reader.
 */
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
	case IPC_RELOAD:
		return sizeof(struct ipc_reload);
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
