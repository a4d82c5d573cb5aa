/*
 * attacklog.h: the engine's side of the attack log. Sessions hand one record
 * per refused attempt to attacklog_record(); records are queued in memory
 * and written in batches by a writer thread, so the event loop never waits
 * on the disk. Readers (pillory log / stats) go through store.h; the record
 * itself is in attack.h.
 */
#ifndef ATTACKLOG_H
#define ATTACKLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "attack.h"

/*
 * Engine API. attacklog_open() runs in the engine process (after the fork
 * and the privilege drop: it starts a thread); attacklog_record() is called
 * from the event loop and never blocks on the disk.
 */
struct config;
struct store;

/* Records waiting for the writer thread; beyond this they are dropped. */
#define ATTACKLOG_QUEUE_MAX	65536
/* The writer purges records older than `retention` at most this often. */
#define ATTACKLOG_PURGE_INTERVAL_US	(3600LL * 1000000)

struct attacklog;

struct attacklog_counters {
	uint64_t	recorded;	/* accepted into the queue */
	uint64_t	written;	/* committed to the store */
	uint64_t	spooled;	/* shared store down: to the spool */
	uint64_t	dropped;	/* queue full, or the store failed */
	uint64_t	purged;		/* attack rows removed by retention */
};

/*
 * Open the store named by cfg ([attacklog] db, else STATE_DIR/attacklog.db;
 * created and migrated as needed) and start the one writer thread. NULL
 * with a message in err on failure (a start-up error: exit 1). Close with
 * attacklog_close().
 */
struct attacklog *attacklog_open(const struct config *cfg, char *err,
    size_t errlen);

/*
 * Copy rec into the in-memory queue and wake the writer. Never blocks on
 * the disk and never fails: when ATTACKLOG_QUEUE_MAX records are waiting
 * the record is counted as dropped (the writer logs a warning). al may be
 * NULL (no attack log): then nothing happens. Thread-safe.
 */
bool attacklog_record(struct attacklog *al, const struct attack_record *rec);
/* attacklog_record() returns true once this many records wait: the caller
 * slows the client down so that a flood is recorded, not dropped. */
#define ATTACKLOG_BACKLOG_HIGH	(ATTACKLOG_QUEUE_MAX / 4)

/*
 * A client proved itself (a successful POP3 or SMTP AUTH login) from
 * client_ip at time_us: the writer withdraws its records within
 * [publish] withdraw_window before and after (records written later look
 * the login up themselves). Queued like a record; never blocks; al may be
 * NULL. Thread-safe.
 */
void attacklog_login(struct attacklog *al, const char *client_ip,
    int64_t time_us);
/* Logins waiting for the writer; beyond this they are dropped. */
#define ATTACKLOG_LOGINS_MAX	4096

/*
 * Call cb(arg) on the writer thread after each batch is committed (the
 * publisher's trigger). Thread-safe; cb must be cheap and must not block.
 */
void attacklog_on_write(struct attacklog *al, void (*cb)(void *), void *arg);

/* A new config generation (SIGHUP): take its [publish] withdraw_window
 * for the logins and records written from now on. al may be NULL.
 * Thread-safe. */
void attacklog_reload(struct attacklog *al, const struct config *cfg);

/* A snapshot of al's counters. Thread-safe. */
void attacklog_counters(struct attacklog *al,
    struct attacklog_counters *out);

/*
 * Write everything queued, stop and join the writer, close the store and
 * free al (NULL is fine). Records passed to attacklog_record() before the
 * call are on disk when it returns, unless the store failed (then they are
 * counted as dropped and logged).
 */
void attacklog_close(struct attacklog *al);

#endif
