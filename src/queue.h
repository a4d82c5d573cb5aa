/*
 * queue.h: the outbound queue (README, "Outbound queue and delivery").
 * The SMTP server's spool puts each message with outside recipients into
 * STATE_DIR/queue as ID.msg (the text) and ID.env (the envelope,
 * envelope.h); the queue
 * delivers it (mta.h), retries with backoff, bounces (bounce.h), and
 * removes the files once every recipient is done. It also answers the
 * control socket (control.h) for `pillory queue`.
 *
 * Wiring (serve.c): after spool_open() and dns_new(), before the
 * listeners start, queue_start(); queue_notify() after each commit that
 * queued a message; after the loop, spool_close() and then queue_stop().
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct engine;
struct envelope;
struct queue;

/*
 * Settings that have no config key yet, with their defaults; see
 * queue_tunables(). 0 turns the delay notice off.
 */
#define QUEUE_DELAY_WARNING_DEFAULT	(4 * 3600)
#define QUEUE_MAX_CONCURRENCY_DEFAULT	100
#define QUEUE_MAX_PER_DOMAIN_DEFAULT	20

struct queue_tunables {
	const char	*relayhost_auth;	/* credentials file or "" */
	uint64_t	 delay_warning;		/* seconds, 0: never */
	uint64_t	 max_concurrency;	/* deliveries at once */
	uint64_t	 max_per_domain;	/* to one destination */
};

/* The delivery settings of cfg, defaults filled in. */
void queue_tunables(const struct config *cfg, struct queue_tunables *out);

/*
 * Scan STATE_DIR/queue: remove orphans (ID.msg without ID.env, temp
 * files), load every entry (a damaged envelope is logged and left alone)
 * and schedule it; open the control socket STATE_DIR/control.sock.
 * Returns NULL with a reason in err when the directory cannot be read or
 * the socket cannot be made. Runs on eng->base; reads eng->cfg afresh
 * whenever it needs a setting.
 */
struct queue *queue_start(struct engine *eng, char *err, size_t errlen);

/*
 * The spool has just committed ID.env (a new message, or a bounce the
 * queue made): load it and try it now. An id already known is tried now
 * if it is waiting. Unknown files and a stopping engine are ignored
 * (the entry stays on disk for the next start).
 */
void queue_notify(struct queue *q, const char *id);

/* Stop deliveries in flight (their recipients stay pending on disk),
 * close the control socket, free everything. NULL is ignored. */
void queue_stop(struct queue *q);

/*
 * Read dir/ID.env into env_out (freed by the caller with envelope_free,
 * also after a failure). Returns 0, or -1 with a reason in err (errno
 * ENOENT when there is no such entry).
 */
int queue_read_envelope(const char *dir, const char *id,
    struct envelope *env_out, char *err, size_t errlen);

/* `pillory queue` (cmd_queue.c); also to be declared in cmd.h. */
int cmd_queue(const struct config *cfg, int argc, char **argv);

#endif
