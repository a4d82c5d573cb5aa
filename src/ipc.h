/*
 * ipc.h: typed, length-capped frames between pillory's processes over a
 * socketpair. A frame is a header (type, payload length) and a payload
 * whose length must be exactly the size of the type's struct. A malformed
 * frame can only come from our own process, so it is a bug: callers abort.
 */
#ifndef IPC_H
#define IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define IPC_PAYLOAD_MAX	4096

enum ipc_type {
	IPC_AUTH_REQ = 1,	/* engine -> auth: struct ipc_auth_req */
	IPC_AUTH_RES,		/* auth -> engine: struct ipc_auth_res */
	IPC_RELOAD_REQ,		/* engine -> auth: struct ipc_reload_req */
	IPC_RELOAD_RES,		/* auth -> engine: struct ipc_reload_res
				 * and the descriptors it names */
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

/*
 * SIGHUP, over the reload channel (a SOCK_SEQPACKET pair: one frame per
 * message, descriptors attached to it). The engine names no file: the
 * auth process, which keeps root, re-reads the config it was started
 * with, the passwd-file and aliases that config names, and opens the TLS
 * certificate and key; it answers with open descriptors so the engine,
 * which may no longer open root-only files, can read them. For the
 * passwd-file it sends only the user names (passwd_file_write_names()),
 * never the hashes.
 */
struct ipc_reload_req {
	uint32_t	serial;
};

#define IPC_RELOAD_FD_CONFIG	0x01	/* the config file */
#define IPC_RELOAD_FD_USERS	0x02	/* user names, one a line */
#define IPC_RELOAD_FD_ALIASES	0x04	/* the aliases file */
#define IPC_RELOAD_FD_CERT	0x08	/* [tls] cert */
#define IPC_RELOAD_FD_KEY	0x10	/* [tls] key */
#define IPC_FDS_MAX		5

struct ipc_reload_res {
	uint32_t	serial;
	uint32_t	ok;		/* 0: keep everything; err says why */
	uint32_t	fds;		/* IPC_RELOAD_FD_*, attached in bit order */
	char		err[1024];
	char		tls_err[1024];	/* cert or key unreadable: keep old */
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

/*
 * Send one frame with nfds (at most IPC_FDS_MAX) descriptors attached, as
 * one message on a SOCK_SEQPACKET socket; -1 on error. The descriptors
 * stay open here.
 */
int ipc_send_fds(int fd, uint32_t type, const void *payload, uint32_t len,
    const int *fds, size_t nfds);

/*
 * Receive one such message: returns 1 with *type_out, payload
 * (IPC_PAYLOAD_MAX bytes), fds_out (IPC_FDS_MAX slots) and *nfds_out set;
 * 0 on EOF; -1 on error (errno; EAGAIN on a non-blocking socket with
 * nothing to read). Received descriptors are close-on-exec. Aborts on a
 * malformed or truncated message.
 */
int ipc_recv_fds(int fd, uint32_t *type_out, void *payload, int *fds_out,
    size_t *nfds_out);

/* True when s, inside a fixed field of size bytes, is NUL-terminated. */
bool ipc_field_ok(const char *s, size_t size);

#endif
