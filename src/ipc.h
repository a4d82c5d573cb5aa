/*
 * ipc.h: typed, length-capped frames between pillory's processes over a
 * socketpair. A frame is a header (type, payload length) and a payload
 * whose length must be exactly the size of the type's struct. A malformed
 * frame can only come from our own process, so it is a bug: callers abort.
 */
#ifndef IPC_H
#define IPC_H

#include <stdint.h>

#include "auth.h"

#define IPC_PAYLOAD_MAX	4096

enum ipc_type {
	IPC_AUTH_REQ = 1,	/* engine -> auth: struct ipc_auth_req */
	IPC_AUTH_RES,		/* auth -> engine: struct ipc_auth_res */
	IPC_RELOAD,		/* engine -> auth: struct ipc_reload */
};

struct ipc_hdr {
	uint32_t	type;
	uint32_t	len;
};

struct ipc_auth_req {
	uint32_t	id;
	char		user[AUTH_USER_MAX + 1];
	char		password[AUTH_PASSWORD_MAX + 1];
};

struct ipc_auth_res {
	uint32_t	id;
	uint32_t	result;		/* enum auth_result */
};

struct ipc_reload {
	char		passwd_file[1024];
};

/* The payload size a type must have; 0 for an unknown type. */
uint32_t ipc_payload_size(uint32_t type);

/* Write one whole frame to a blocking fd; -1 on error. */
int ipc_write(int fd, uint32_t type, const void *payload, uint32_t len);

/*
 * Read one whole frame from a blocking fd into payload (IPC_PAYLOAD_MAX
 * bytes). Returns 1 with *type_out set, 0 on a clean EOF, -1 on error.
 * Aborts on a malformed frame.
 */
int ipc_read(int fd, uint32_t *type_out, void *payload);

struct evbuffer;
/*
 * Take one frame from a libevent buffer if a whole one is there: returns 1
 * and fills *type_out and payload, 0 when more bytes are needed. Aborts on
 * a malformed frame.
 */
int ipc_take(struct evbuffer *in, uint32_t *type_out, void *payload);

/* True when s, inside a fixed field of size bytes, is NUL-terminated. */
bool ipc_field_ok(const char *s, size_t size);

#endif
