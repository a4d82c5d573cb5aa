/*
 * auth.h: password checks, engine side. The passwd-file and crypt(3) live
 * in a separate `auth` process (auth_proc.c) that has no network; the
 * engine asks it over a socketpair with typed, length-capped frames
 * (ipc.h) and gets the answer as a callback on the event loop, so a slow
 * hash never stalls other sessions. This side also throttles failures per
 * client address: after AUTH_SLOW_AFTER failures in AUTH_WINDOW the answer
 * is delayed, after AUTH_BLOCK_AFTER the address is refused outright for
 * AUTH_BLOCK_TIME (auth_is_blocked), without locking the user out from
 * other addresses.
 */
#ifndef AUTH_H
#define AUTH_H

#include <sys/socket.h>

#include "pillory.h"

#define AUTH_USER_MAX		ADDRESS_MAX
#define AUTH_PASSWORD_MAX	1024
#define AUTH_SLOW_AFTER		3
#define AUTH_BLOCK_AFTER	10
#define AUTH_WINDOW		600	/* seconds */
#define AUTH_BLOCK_TIME		900	/* seconds */

struct event_base;
struct auth_client;
struct auth_req;

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAIL,		/* wrong user or password */
	AUTH_TEMPFAIL,		/* auth process unavailable */
};

typedef void (*auth_cb)(enum auth_result result, void *arg);

/*
 * Ask whether password is right for user (a full address; lower-cased
 * here) on behalf of the client at sa. cb runs later on the event loop,
 * exactly once, unless auth_cancel() is called first. The password is
 * copied into the request frame and wiped after sending.
 */
struct auth_req *auth_verify(struct auth_client *ac, const char *user,
    const char *password, const struct sockaddr *sa, auth_cb cb, void *arg);

/* The session is gone: cb will not be called for req. */
void auth_cancel(struct auth_req *req);

/*
 * serve.c's side: talk to the auth process over fd (non-blocking after
 * this call). dead_cb runs once if the auth process goes away; pending
 * requests then answer AUTH_TEMPFAIL.
 */
struct auth_client *auth_client_new(struct event_base *base, int fd,
    void (*dead_cb)(void *), void *arg);
void auth_client_free(struct auth_client *ac);

/* Count a failed login from sa (auth_verify does it for its own). */
void auth_note_failure(struct auth_client *ac, const struct sockaddr *sa);

/* True while sa is refused after too many failures (reply 421 4.7.0 or
 * -ERR [SYS/TEMP]). */
bool auth_is_blocked(struct auth_client *ac, const struct sockaddr *sa);

#endif
