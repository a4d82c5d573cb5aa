/*
 * attacklog.c: the attack log engine: the writer thread.
 *
 * Runs in the unprivileged engine process. Sessions on the event loop call
 * attacklog_record(), which copies the record into a bounded in-memory
 * queue under a mutex and signals a condition variable; it never touches
 * the disk. One writer thread takes everything queued at once and writes
 * it with store_insert_batch(), one transaction per batch, so a flood of
 * thousands of attempts per second costs one commit per batch and a crash
 * loses at most what was queued. The same thread purges records older than
 * `retention` at most once an hour.
 *
 *	event loop			writer thread
 *	attacklog_record() --lock--> pending[]  --swap--> batch[] -> store
 *
 * The record and its vocabulary are in attack.c; opening the store by its
 * location is store.c's.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacklog.h"
#include "attacklog_hold.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "store_spool.h"
#include "text.h"
#include "xalloc.h"

struct attacklog_login {
	char		key[IPADDR_TEXT_MAX + 4];	/* attack_login_key() */
	int64_t		time_us;
};

struct attacklog {
	struct store		*st;
	char			 node[ATTACK_NODE_MAX];	/* [store] node */
	int64_t			 uid_start;	/* uid: node:start:seq */
	uint64_t		 uid_seq;	/* under mu */
	/* Writer only: the spool of a shared store (NULL: SQLite). */
	struct store_spool	*spool;
	int64_t			 store_retry_mono_us;	/* down until then */
	bool			 store_down;
	uint64_t		 retention_us;	/* 0: keep forever */
	int64_t			 withdraw_window_us;	/* writer only */
	int64_t			 next_window_us;	/* under mu */
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	/* Under mu: */
	struct attack_record	*pending;
	size_t			 npending;
	size_t			 cappending;
	struct attacklog_login	*logins;	/* ATTACKLOG_LOGINS_MAX */
	size_t			 nlogins;
	bool			 stopping;
	struct attacklog_counters c;
	void			(*on_write)(void *);
	void			*on_write_arg;
	/* Writer thread only: */
	struct attack_record	*batch;
	size_t			 capbatch;
	struct attacklog_login	*login_batch;	/* ATTACKLOG_LOGINS_MAX */
	int64_t			 next_purge_mono_us;
	uint64_t		 dropped_logged;
	int64_t			 last_drop_log_mono_us;
};

/* Give up on a batch after this many failed attempts. */
#define ATTACKLOG_WRITE_TRIES		3
/* Log queue drops at most this often. */
#define ATTACKLOG_DROP_LOG_US		(60LL * 1000000)
/* The writer gives back a batch array larger than this after use. */
#define ATTACKLOG_BATCH_KEEP		1024

static void
attacklog_lock(struct attacklog *al)
{
	if (pthread_mutex_lock(&al->mu) != 0)
		FATAL("pthread_mutex_lock");
}

static void
attacklog_unlock(struct attacklog *al)
{
	if (pthread_mutex_unlock(&al->mu) != 0)
		FATAL("pthread_mutex_unlock");
}

/* Every string field of a queued record ends inside its array. */
#define FIELD_TERMINATE(r, f) ((r)->f[sizeof((r)->f) - 1] = '\0')

bool
attacklog_record(struct attacklog *al, const struct attack_record *rec)
{
	struct attack_record	*r;
	size_t			 ncap;
	bool			 high;

	if (al == NULL)
		return false;
	attacklog_lock(al);
	if (al->npending >= ATTACKLOG_QUEUE_MAX || al->stopping) {
		al->c.dropped++;
		attacklog_unlock(al);
		return true;
	}
	if (al->npending == al->cappending) {
		ncap = al->cappending == 0 ? 64 : al->cappending * 2;
		if (ncap > ATTACKLOG_QUEUE_MAX)
			ncap = ATTACKLOG_QUEUE_MAX;
		al->pending = xreallocarray(al->pending, ncap, sizeof(*r));
		al->cappending = ncap;
	}
	r = &al->pending[al->npending++];
	*r = *rec;
	FIELD_TERMINATE(r, client_ip);
	FIELD_TERMINATE(r, client_name);
	FIELD_TERMINATE(r, helo);
	FIELD_TERMINATE(r, from);
	FIELD_TERMINATE(r, to);
	FIELD_TERMINATE(r, user);
	FIELD_TERMINATE(r, session);
	FIELD_TERMINATE(r, reply);
	FIELD_TERMINATE(r, node);
	FIELD_TERMINATE(r, uid);
	if (r->node[0] == '\0')
		memcpy(r->node, al->node, sizeof(r->node));
	if (r->uid[0] == '\0')
		(void)text_printf(r->uid, sizeof(r->uid), "%s:%llx:%llu",
		    r->node, (unsigned long long)al->uid_start,
		    (unsigned long long)++al->uid_seq);
	al->c.recorded++;
	if (al->npending == 1)
		pthread_cond_signal(&al->cv);
	high = al->npending >= ATTACKLOG_BACKLOG_HIGH;
	attacklog_unlock(al);
	return high;
}

void
attacklog_login(struct attacklog *al, const char *client_ip, int64_t time_us)
{
	struct attacklog_login	l;

	if (al == NULL || !attack_login_key(client_ip, l.key,
	    sizeof(l.key)))
		return;
	l.time_us = time_us;
	attacklog_lock(al);
	if (al->nlogins >= ATTACKLOG_LOGINS_MAX || al->stopping) {
		al->c.dropped++;
		attacklog_unlock(al);
		return;
	}
	al->logins[al->nlogins++] = l;
	pthread_cond_signal(&al->cv);
	attacklog_unlock(al);
}

void
attacklog_on_write(struct attacklog *al, void (*cb)(void *), void *arg)
{
	attacklog_lock(al);
	al->on_write = cb;
	al->on_write_arg = arg;
	attacklog_unlock(al);
}

void
attacklog_reload(struct attacklog *al, const struct config *cfg)
{
	if (al == NULL)
		return;
	attacklog_lock(al);
	al->next_window_us = (int64_t)cfg->publish_withdraw_window * 1000000;
	attacklog_unlock(al);
}

void
attacklog_counters(struct attacklog *al, struct attacklog_counters *out)
{
	attacklog_lock(al);
	*out = al->c;
	attacklog_unlock(al);
}

/* Writer thread: after a batch reached the store. */
static void
attacklog_written(struct attacklog *al, size_t n)
{
	void	(*cb)(void *);
	void	*cbarg;

	attacklog_lock(al);
	al->c.written += n;
	cb = al->on_write;
	cbarg = al->on_write_arg;
	attacklog_unlock(al);
	if (cb != NULL)
		cb(cbarg);
}

/*
 * Writer thread, shared store: one try; when the store is down or slow the
 * batch goes to the spool (and every batch after it, without a try, until
 * STORE_PG retry time), so that nothing waits and nothing is lost.
 */
static void
attacklog_write_shared(struct attacklog *al, size_t n)
{
	char	err[512];

	if (!al->store_down || clock_mono_us() >= al->store_retry_mono_us) {
		if (store_insert_batch(al->st, al->batch, n) == 0) {
			attacklog_written(al, n);
			return;
		}
		if (!al->store_down)
			log_err("attack log: store unreachable (%s): records "
			    "go to the spool until it returns",
			    store_errmsg(al->st));
		al->store_down = true;
		al->store_retry_mono_us = clock_mono_us() + 1000000;
	}
	if (store_spool_append(al->spool, al->batch, n, err,
	    sizeof(err)) == 0) {
		attacklog_lock(al);
		al->c.spooled += n;
		attacklog_unlock(al);
		return;
	}
	log_err("attack log: %s: %zu records lost", err, n);
	attacklog_lock(al);
	al->c.dropped += n;
	attacklog_unlock(al);
}

static int
attacklog_replay_cb(const struct attack_record *recs, size_t n, void *arg)
{
	struct attacklog	*al = arg;

	return (store_insert_batch(al->st, recs, n));
}

/* Writer thread: write the spool to the store when it is back. */
static void
attacklog_replay(struct attacklog *al)
{
	uint64_t	done = 0;

	if (al->spool == NULL || store_spool_bytes(al->spool) == 0 ||
	    (al->store_down && clock_mono_us() < al->store_retry_mono_us))
		return;
	if (store_spool_replay(al->spool, attacklog_replay_cb, al,
	    &done) != 0) {
		al->store_down = true;
		al->store_retry_mono_us = clock_mono_us() + 1000000;
		if (done > 0)
			attacklog_written(al, (size_t)done);
		return;
	}
	al->store_down = false;
	log_info("attack log: store reachable: %llu spooled records written",
	    (unsigned long long)done);
	attacklog_written(al, (size_t)done);
}

/* Writer thread: one batch to the store, retried a few times. */
static void
attacklog_write(struct attacklog *al, size_t n)
{
	void	(*cb)(void *);
	void	*cbarg;
	int	 try;

	if (al->spool != NULL) {
		attacklog_write_shared(al, n);
		return;
	}

	for (try = 1; try <= ATTACKLOG_WRITE_TRIES; try++) {
		if (store_insert_batch(al->st, al->batch, n) == 0) {
			attacklog_lock(al);
			al->c.written += n;
			cb = al->on_write;
			cbarg = al->on_write_arg;
			attacklog_unlock(al);
			if (cb != NULL)
				cb(cbarg);
			return;
		}
		log_err("attack log: writing %zu records (try %d of %d): %s",
		    n, try, ATTACKLOG_WRITE_TRIES, store_errmsg(al->st));
		if (try < ATTACKLOG_WRITE_TRIES) {
			struct timespec ts = { 0, 200 * 1000 * 1000 * try };

			nanosleep(&ts, NULL);
		}
	}
	log_err("attack log: %zu records lost", n);
	attacklog_lock(al);
	al->c.dropped += n;
	attacklog_unlock(al);
}

/* Writer thread: the logins taken with the last batch. */
static void
attacklog_write_logins(struct attacklog *al, size_t n)
{
	uint64_t	withdrawn, total = 0;
	size_t		i;
	bool		changed = false;
	void		(*cb)(void *);
	void		*cbarg;

	for (i = 0; i < n; i++) {
		withdrawn = 0;
		if (store_login(al->st, al->login_batch[i].key,
		    al->login_batch[i].time_us, al->withdraw_window_us,
		    &withdrawn) != 0) {
			log_err("attack log: login %s: %s",
			    al->login_batch[i].key, store_errmsg(al->st));
			continue;
		}
		changed = true;
		total += withdrawn;
	}
	if (total > 0)
		log_info("attack log: %llu records withdrawn: their clients "
		    "logged in", (unsigned long long)total);
	if (!changed || total == 0)
		return;
	attacklog_lock(al);
	cb = al->on_write;
	cbarg = al->on_write_arg;
	attacklog_unlock(al);
	if (cb != NULL)
		cb(cbarg);
}

/* Writer thread: purge by retention when it is due. */
static void
attacklog_purge_due(struct attacklog *al)
{
	uint64_t	deleted = 0;
	int64_t		now = clock_mono_us();

	if (al->retention_us == 0 || now < al->next_purge_mono_us)
		return;
	al->next_purge_mono_us = now + ATTACKLOG_PURGE_INTERVAL_US;
	if (store_purge(al->st, clock_now_us() - (int64_t)al->retention_us,
	    &deleted) != 0) {
		log_err("attack log: purge: %s", store_errmsg(al->st));
		return;
	}
	if (deleted > 0)
		log_info("attack log: purged %llu records older than %llu s",
		    (unsigned long long)deleted,
		    (unsigned long long)(al->retention_us / 1000000));
	attacklog_lock(al);
	al->c.purged += deleted;
	attacklog_unlock(al);
}

/* Writer thread: report drops, at most once a minute (or when stopping). */
static void
attacklog_log_drops(struct attacklog *al, uint64_t dropped, bool force)
{
	int64_t	now = clock_mono_us();

	if (dropped == al->dropped_logged)
		return;
	if (!force && now - al->last_drop_log_mono_us < ATTACKLOG_DROP_LOG_US)
		return;
	log_warn("attack log: queue full, %llu records dropped "
	    "(%llu in total)",
	    (unsigned long long)(dropped - al->dropped_logged),
	    (unsigned long long)dropped);
	al->dropped_logged = dropped;
	al->last_drop_log_mono_us = now;
}

/* A batch waits at most this long for company, and no longer than it
 * takes to gather this many records. */
#define ATTACKLOG_LINGER_US	20000
#define ATTACKLOG_LINGER_MAX	4096

static void *
attacklog_writer(void *arg)
{
	struct attacklog	*al = arg;
	struct attack_record	*swap;
	struct timespec		 ts;
	size_t			 n, cap, nlogins;
	uint64_t		 dropped;
	int64_t			 wake;
	bool			 stopping;

	attacklog_lock(al);
	for (;;) {
		while (al->npending == 0 && al->nlogins == 0 &&
		    !al->stopping) {
			if (al->retention_us != 0 &&
			    clock_mono_us() >= al->next_purge_mono_us)
				break;
			wake = al->retention_us != 0 ?
			    al->next_purge_mono_us : clock_mono_us() + 3600000000LL;
			/* Spooled records: look for the store every second. */
			if (al->spool != NULL &&
			    store_spool_bytes(al->spool) > 0) {
				if (clock_mono_us() >= al->store_retry_mono_us)
					break;
				if (wake > al->store_retry_mono_us)
					wake = al->store_retry_mono_us;
			}
			ts.tv_sec = (time_t)(wake / 1000000);
			ts.tv_nsec = (long)(wake % 1000000) * 1000;
			(void)pthread_cond_timedwait(&al->cv, &al->mu, &ts);
		}
		/*
		 * Linger a moment so that records arriving one by one share a
		 * transaction: a transaction per record costs more than the
		 * record, and wakes this thread for every refused RCPT.
		 */
		wake = clock_mono_us() + ATTACKLOG_LINGER_US;
		while (al->npending > 0 && al->npending < ATTACKLOG_LINGER_MAX &&
		    !al->stopping && clock_mono_us() < wake) {
			ts.tv_sec = (time_t)(wake / 1000000);
			ts.tv_nsec = (long)(wake % 1000000) * 1000;
			(void)pthread_cond_timedwait(&al->cv, &al->mu, &ts);
		}
		/* Take everything queued: swap the arrays. */
		swap = al->batch;
		cap = al->capbatch;
		al->batch = al->pending;
		al->capbatch = al->cappending;
		n = al->npending;
		al->pending = swap;
		al->cappending = cap;
		al->npending = 0;
		{
			struct attacklog_login *lswap = al->login_batch;

			al->login_batch = al->logins;
			al->logins = lswap;
		}
		nlogins = al->nlogins;
		al->nlogins = 0;
		if (al->withdraw_window_us != al->next_window_us) {
			al->withdraw_window_us = al->next_window_us;
			store_set_withdraw_window(al->st,
			    al->withdraw_window_us);
		}
		stopping = al->stopping;
		dropped = al->c.dropped;
		attacklog_unlock(al);

		/* Spooled records first: they are older. */
		attacklog_replay(al);
		if (n > 0)
			attacklog_write(al, n);
		/* After the batch: a login withdraws records just written. */
		if (nlogins > 0)
			attacklog_write_logins(al, nlogins);
		if (al->capbatch > ATTACKLOG_BATCH_KEEP) {
			free(al->batch);
			al->batch = NULL;
			al->capbatch = 0;
		}
		if (!stopping)
			attacklog_purge_due(al);
		attacklog_log_drops(al, dropped, stopping);

		attacklog_lock(al);
		if (stopping && al->npending == 0 && al->nlogins == 0)
			break;
	}
	attacklog_unlock(al);
	return (NULL);
}

struct attacklog *
attacklog_open(const struct config *cfg, char *err, size_t errlen)
{
	struct attacklog	*al;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	int			 rc;

	al = xcalloc(1, sizeof(*al));
	if ((al->st = store_open_config(cfg, false, err, errlen)) == NULL)
		goto fail;
	(void)text_copy(al->node, cfg->store_node != NULL &&
	    cfg->store_node[0] != '\0' ? cfg->store_node :
	    cfg->hostname != NULL ? cfg->hostname : "", sizeof(al->node));
	al->uid_start = clock_now_us();
	al->retention_us = cfg->retention * 1000000;
	al->withdraw_window_us = (int64_t)cfg->publish_withdraw_window *
	    1000000;
	al->next_window_us = al->withdraw_window_us;
	store_set_withdraw_window(al->st, al->withdraw_window_us);
	al->logins = xcalloc(ATTACKLOG_LOGINS_MAX, sizeof(*al->logins));
	al->login_batch = xcalloc(ATTACKLOG_LOGINS_MAX,
	    sizeof(*al->login_batch));
	al->next_purge_mono_us = clock_mono_us();
	if (cfg->store_url != NULL && cfg->store_url[0] != '\0') {
		char	dir[CONFIG_PATH_MAX + 16];

		if (!text_printf(dir, sizeof(dir), "%s/store-spool",
		    cfg->state_dir)) {
			snprintf(err, errlen, "[server] state_dir: too long");
			goto fail;
		}
		if ((al->spool = store_spool_open(dir, STORE_SPOOL_MAX_BYTES,
		    err, errlen)) == NULL)
			goto fail;
		if (store_spool_bytes(al->spool) > 0)
			log_info("attack log: %llu bytes of spooled records "
			    "to write", (unsigned long long)
			    store_spool_bytes(al->spool));
	}
	if (pthread_mutex_init(&al->mu, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&al->cv, &ca) != 0)
		FATAL("pthread init");
	pthread_condattr_destroy(&ca);
	/* Signals are the event loop's business: the writer blocks them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&al->thread, NULL, attacklog_writer, al);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "attack log: writer thread: %s",
		    strerror(rc));
		pthread_cond_destroy(&al->cv);
		pthread_mutex_destroy(&al->mu);
		goto fail;
	}
	return (al);
fail:
	store_spool_close(al->spool);
	store_close(al->st);
	free(al->logins);
	free(al->login_batch);
	free(al);
	return (NULL);
}

void
attacklog_close(struct attacklog *al)
{
	if (al == NULL)
		return;
	/* Records waiting for a client's name go now, under "unknown". */
	attacklog_hold_close(al);
	attacklog_lock(al);
	al->stopping = true;
	pthread_cond_signal(&al->cv);
	attacklog_unlock(al);
	if (pthread_join(al->thread, NULL) != 0)
		FATAL("pthread_join");
	store_spool_close(al->spool);
	store_close(al->st);
	pthread_cond_destroy(&al->cv);
	pthread_mutex_destroy(&al->mu);
	free(al->pending);
	free(al->batch);
	free(al->logins);
	free(al->login_batch);
	free(al);
}
