/*
 * submit.h: local mail submission for sendmail(8) (README "Installing").
 * The engine listens on STATE_DIR/submit.sock (SOCK_STREAM, mode 0666);
 * any local user may hand it a message (protocol in submit_parse.h). The
 * caller's uid comes from SO_PEERCRED and is written into the Received
 * header; the message is then spooled exactly like mail from a trusted
 * client: local recipients into their Maildirs, others into the queue.
 * The answer "ok ID" is sent only once the message is durable.
 */
#ifndef SUBMIT_H
#define SUBMIT_H

#include <stddef.h>

struct engine;
struct submit;

#define SUBMIT_SOCKET		"submit.sock"
/* Connections at once; more get "tempfail". */
#define SUBMIT_CONN_MAX		64
/* Seconds a connection may stay idle. */
#define SUBMIT_TIMEOUT		60

/*
 * Listen on STATE_DIR/submit.sock (a stale socket is replaced), making
 * STATE_DIR searchable by everybody (mode o+x, not readable) so that
 * unprivileged users reach the socket. Returns NULL with a reason in err.
 */
struct submit *submit_start(struct engine *eng, char *err, size_t errlen);

/* Close the listener and every connection; remove the socket. NULL is
 * ignored. Call after spool_close(): commits in flight refer to their
 * connections. */
void submit_stop(struct submit *sub);

#endif
