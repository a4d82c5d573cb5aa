/*
 * store_pg_view.c: the in-memory view of the shared grants and bans of the
 * PostgreSQL store (struct pg_view, store_pg_int.h). A listener thread
 * with its own connection LISTENs for changes and reloads both tables
 * after each notification and each reconnection (NOTIFY is not durable);
 * the engine's look-ups read the view and never wait on the network.
 *
 * The engine's own writes (a grant after a login, new bans) change the
 * view at once and wait in v->ops for this thread, which writes them in
 * one transaction with its NOTIFY before it handles any notification, and
 * keeps them while the store is unreachable; a reload re-applies the ones
 * still waiting, so a write in flight is never lost from the view. The
 * engine hears of every reload through on_shared at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ban.h"
#include "clock.h"
#include "log.h"
#include "store_pg_int.h"
#include "text.h"
#include "xalloc.h"

/* Connect to url, waiting at most timeout seconds unless it says more. */
PGconn *
store_pg_connect(const char *url, const char *timeout)
{
	const char *const	 keys[] = { "connect_timeout", "dbname", NULL };
	const char		*vals[] = { timeout, url, NULL };

	return (PQconnectdbParams(keys, vals, 1));
}

int
store_pg_view_grant_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct pg_grant *)a)->network,
	    ((const struct pg_grant *)b)->network));
}

/* Put or drop one grant; v->mu held. */
static void
pg_view_grant_apply(struct pg_view *v, const char *network, const char *user,
    int64_t expires_us)
{
	struct pg_grant	 key, *g, *grown;

	memset(&key, 0, sizeof(key));
	(void)text_copy(key.network, network, sizeof(key.network));
	g = v->ngrants == 0 ? NULL : bsearch(&key, v->grants, v->ngrants,
	    sizeof(*g), store_pg_view_grant_cmp);
	if (g != NULL) {
		(void)text_copy(g->user, user, sizeof(g->user));
		g->expires_us = expires_us;
	} else if (expires_us > 0) {
		grown = xreallocarray(v->grants, v->ngrants + 1,
		    sizeof(*grown));
		v->grants = grown;
		(void)text_copy(key.user, user, sizeof(key.user));
		key.expires_us = expires_us;
		grown[v->ngrants++] = key;
		qsort(v->grants, v->ngrants, sizeof(*grown),
		    store_pg_view_grant_cmp);
	}
}

/* Add one ban; v->mu held. A network banned twice stands twice until the
 * next reload (the engine's table keeps one). */
static void
pg_view_ban_apply(struct pg_view *v, const struct ban_entry *e)
{
	v->bans = xreallocarray(v->bans, v->nbans + 1, sizeof(*v->bans));
	v->bans[v->nbans++] = *e;
}

/* The writes still waiting, onto a freshly loaded view; v->mu held. */
static void
pg_view_reapply(struct pg_view *v)
{
	size_t	i;

	for (i = 0; i < v->nops; i++) {
		if (v->ops[i].is_ban)
			pg_view_ban_apply(v, &v->ops[i].ban);
		else
			pg_view_grant_apply(v, v->ops[i].grant.network,
			    v->ops[i].grant.user, v->ops[i].grant.expires_us);
	}
}

/* Queue op; v->mu held. False when the queue is full (op dropped). */
static bool
pg_view_queue(struct pg_view *v, const struct pg_op *op)
{
	if (v->nops >= STORE_PG_OPS_MAX) {
		if (v->ops_dropped++ % 1000 == 0)
			log_warn("store: %llu grant or ban writes dropped: "
			    "the shared store has been unreachable too long",
			    (unsigned long long)v->ops_dropped);
		return (false);
	}
	if (v->nops == v->opscap) {
		v->opscap = v->opscap ? v->opscap * 2 : 64;
		v->ops = xreallocarray(v->ops, v->opscap, sizeof(*v->ops));
	}
	v->ops[v->nops++] = *op;
	return (true);
}

/* Tell the thread there is work (non-blocking: a full pipe already
 * says so). */
static void
pg_view_kick(struct pg_view *v)
{
	(void)!write(v->wake[1], "w", 1);
}

void
store_pg_view_queue_grant(struct pg_view *v, const char *network,
    const char *user, int64_t expires_us)
{
	struct pg_op	op;

	memset(&op, 0, sizeof(op));
	(void)text_copy(op.grant.network, network, sizeof(op.grant.network));
	(void)text_copy(op.grant.user, user, sizeof(op.grant.user));
	op.grant.expires_us = expires_us;
	pthread_mutex_lock(&v->mu);
	pg_view_grant_apply(v, network, user, expires_us);
	(void)pg_view_queue(v, &op);
	pthread_mutex_unlock(&v->mu);
	pg_view_kick(v);
}

void
store_pg_view_queue_bans(struct pg_view *v, const struct ban_entry *e,
    size_t n, int64_t keep_us)
{
	struct pg_op	op;
	size_t		i;

	memset(&op, 0, sizeof(op));
	op.is_ban = true;
	op.keep_us = keep_us;
	pthread_mutex_lock(&v->mu);
	for (i = 0; i < n; i++) {
		op.ban = e[i];
		pg_view_ban_apply(v, &e[i]);
		(void)pg_view_queue(v, &op);
	}
	pthread_mutex_unlock(&v->mu);
	pg_view_kick(v);
}

/* Order of ops by key, newest first within a key (the one written). */
struct pg_op_key {
	char	 key[IPADDR_TEXT_MAX + 8];
	size_t	 seq;
};

static int
pg_op_key_cmp(const void *a, const void *b)
{
	const struct pg_op_key	*x = a, *y = b;
	int			 c = strcmp(x->key, y->key);

	if (c != 0)
		return (c);
	return (x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0);
}

/* Write ops (n of them) through conn in one transaction with its NOTIFY;
 * 0 or -1. Statements: one insert per table, whatever n is. */
static int
pg_view_write(PGconn *conn, const struct pg_op *ops, size_t n)
{
	struct pg_op_key	*keys = xcalloc(n, sizeof(*keys));
	struct pg_cols		 gc, bc;
	const char		*gv[3], *bv[5], *dv[2];
	char			 gcut[24], bcut[24];
	size_t			 i, nk = 0, ng = 0, nb = 0;
	int64_t			 keep = 0, now;
	PGresult		*res;
	int			 rc = -1;

	store_pg_cols_init(&gc, 3);
	store_pg_cols_init(&bc, 5);
	for (i = 0; i < n; i++) {
		if (ops[i].is_ban) {
			if (!ban_net_format(&ops[i].ban.net, keys[nk].key,
			    sizeof(keys[nk].key)))
				continue;
			if (ops[i].keep_us > keep)
				keep = ops[i].keep_us;
		} else
			(void)text_copy(keys[nk].key, ops[i].grant.network,
			    sizeof(keys[nk].key));
		keys[nk++].seq = i;
	}
	qsort(keys, nk, sizeof(*keys), pg_op_key_cmp);
	for (i = 0; i < nk; i++) {
		const struct pg_op	*op = &ops[keys[i].seq];

		/* The newest write of a key is first: the others lose. */
		if (i > 0 && strcmp(keys[i].key, keys[i - 1].key) == 0)
			continue;
		if (op->is_ban) {
			bc.first = nb++ == 0;
			store_pg_buf_elem(&bc.c[0], keys[i].key, bc.first);
			store_pg_buf_num(&bc.c[1], op->ban.start_us, bc.first);
			store_pg_buf_num(&bc.c[2], op->ban.expires_us, bc.first);
			store_pg_buf_num(&bc.c[3], op->ban.level, bc.first);
			store_pg_buf_num(&bc.c[4], op->ban.manual, bc.first);
		} else {
			gc.first = ng++ == 0;
			store_pg_buf_elem(&gc.c[0], keys[i].key, gc.first);
			store_pg_buf_elem(&gc.c[1], op->grant.user, gc.first);
			store_pg_buf_num(&gc.c[2], op->grant.expires_us,
			    gc.first);
		}
	}
	store_pg_cols_end(&gc, gv);
	store_pg_cols_end(&bc, bv);
	now = clock_now_us();
	snprintf(gcut, sizeof(gcut), "%" PRId64, now - (int64_t)86400 * 1000000);
	snprintf(bcut, sizeof(bcut), "%" PRId64, now - keep);
	dv[0] = gcut;
	dv[1] = bcut;
	res = PQexec(conn, "BEGIN");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	PQclear(res);
	res = ng == 0 ? NULL : PQexecParams(conn, "INSERT INTO grants "
	    "(network, login_user, expires_us) SELECT * FROM "
	    "unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT "
	    "(network) DO UPDATE SET login_user = excluded.login_user, "
	    "expires_us = excluded.expires_us", 3, NULL, gv, NULL, NULL, 0);
	if (res != NULL && PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	PQclear(res);
	res = nb == 0 ? NULL : PQexecParams(conn, "INSERT INTO bans "
	    "(network, start_us, expires_us, level, manual) SELECT * FROM "
	    "unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], "
	    "$5::bigint[]) ON CONFLICT (network) DO UPDATE SET start_us = "
	    "excluded.start_us, expires_us = excluded.expires_us, level = "
	    "excluded.level, manual = excluded.manual", 5, NULL, bv, NULL,
	    NULL, 0);
	if (res != NULL && PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	PQclear(res);
	/* Expired rows are dead weight: sweep them with the writes. The
	 * NOTIFY is delivered at COMMIT, never before. */
	res = PQexecParams(conn, "DELETE FROM grants WHERE expires_us < $1",
	    1, NULL, dv, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	PQclear(res);
	res = nb == 0 ? NULL : PQexecParams(conn, "DELETE FROM bans WHERE "
	    "expires_us < $1", 1, NULL, dv + 1, NULL, NULL, 0);
	if (res != NULL && PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	PQclear(res);
	res = PQexec(conn, "NOTIFY " STORE_PG_CHANNEL "; COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		log_warn("store: writing %zu grants and bans: %s", n,
		    PQerrorMessage(conn));
	PQclear(res);
	if (rc != 0)
		PQclear(PQexec(conn, "ROLLBACK"));
	store_pg_cols_free(&gc);
	store_pg_cols_free(&bc);
	free(keys);
	return (rc);
}

/* Write what waits; on failure it waits again, ahead of newer writes. */
static int
pg_view_flush(struct pg_view *v, PGconn *conn)
{
	struct pg_op	*ops;
	size_t		 n, cap;

	pthread_mutex_lock(&v->mu);
	ops = v->ops;
	n = v->nops;
	cap = v->opscap;
	v->ops = NULL;
	v->nops = v->opscap = 0;
	pthread_mutex_unlock(&v->mu);
	if (n == 0) {
		free(ops);
		return (0);
	}
	if (pg_view_write(conn, ops, n) == 0) {
		free(ops);
		return (0);
	}
	pthread_mutex_lock(&v->mu);
	if (v->nops > 0) {
		if (n + v->nops > cap) {
			cap = n + v->nops;
			ops = xreallocarray(ops, cap, sizeof(*ops));
		}
		memcpy(ops + n, v->ops, v->nops * sizeof(*ops));
		n += v->nops;
		free(v->ops);
	}
	v->ops = ops;
	v->nops = n;
	v->opscap = cap;
	pthread_mutex_unlock(&v->mu);
	return (-1);
}

/* Reload both tables through conn; 0 or -1 (the old view stays). */
static int
pg_view_sync(struct pg_view *v, PGconn *conn)
{
	struct pg_grant		*g = NULL;
	struct ban_entry	*b = NULL;
	PGresult		*rg, *rb;
	const char		*why;
	size_t			 ng = 0, nb = 0;
	int			 i, rows;

	rg = PQexec(conn, "SELECT network, login_user, expires_us FROM "
	    "grants");
	rb = PQexec(conn, "SELECT network, start_us, expires_us, level, "
	    "manual FROM bans");
	if (PQresultStatus(rg) != PGRES_TUPLES_OK ||
	    PQresultStatus(rb) != PGRES_TUPLES_OK) {
		PQclear(rg);
		PQclear(rb);
		return (-1);
	}
	rows = PQntuples(rg);
	g = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*g));
	for (i = 0; i < rows; i++) {
		store_pg_get_text(rg, i, 0, g[ng].network, sizeof(g[ng].network));
		store_pg_get_text(rg, i, 1, g[ng].user, sizeof(g[ng].user));
		g[ng].expires_us = store_pg_get_i64(rg, i, 2);
		ng++;
	}
	qsort(g, ng, sizeof(*g), store_pg_view_grant_cmp);
	rows = PQntuples(rb);
	b = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*b));
	for (i = 0; i < rows; i++) {
		if (!ban_net_parse(PQgetvalue(rb, i, 0), &b[nb].net, &why))
			continue;
		b[nb].start_us = store_pg_get_i64(rb, i, 1);
		b[nb].expires_us = store_pg_get_i64(rb, i, 2);
		b[nb].level = (uint32_t)store_pg_get_i64(rb, i, 3);
		b[nb].manual = store_pg_get_i64(rb, i, 4) != 0;
		nb++;
	}
	PQclear(rg);
	PQclear(rb);
	pthread_mutex_lock(&v->mu);
	free(v->grants);
	free(v->bans);
	v->grants = g;
	v->ngrants = ng;
	v->bans = b;
	v->nbans = nb;
	pg_view_reapply(v);
	v->synced = true;
	v->gen++;
	if (v->on_shared != NULL)
		v->on_shared(v->on_shared_arg);
	pthread_mutex_unlock(&v->mu);
	return (0);
}

/* Wait up to ms for fd (or -1) to be readable; false when told to stop. */
static bool
pg_view_wait(struct pg_view *v, int fd, int ms)
{
	struct pollfd	pfd[2];
	char		c;

	pfd[0].fd = v->wake[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = fd;
	pfd[1].events = POLLIN;
	if (poll(pfd, fd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR)
		return (false);
	/* The write end closed: EOF. */
	return (!(pfd[0].revents & (POLLIN | POLLHUP)) ||
	    read(v->wake[0], &c, 1) > 0);
}

static void *
pg_view_main(void *arg)
{
	struct pg_view	*v = arg;
	PGconn		*conn = NULL;
	PGnotify	*n;
	PGresult	*res;
	bool		 changed, records, was_down = false;

	for (;;) {
		if (conn == NULL) {
			conn = store_pg_connect(v->url, "2");
			res = NULL;
			if (PQstatus(conn) != CONNECTION_OK ||
			    PQresultStatus(res = PQexec(conn, "LISTEN "
			    STORE_PG_CHANNEL "; LISTEN " STORE_PG_RECORDS)) !=
			    PGRES_COMMAND_OK ||
			    pg_view_sync(v, conn) != 0) {
				PQclear(res);
				if (!was_down) {
					char	m[256];
					size_t	i;

					(void)text_copy(m, PQerrorMessage(conn),
					    sizeof(m));
					for (i = 0; m[i] != '\0'; i++) {
						if (m[i] == '\n' || m[i] == '\t')
							m[i] = ' ';
					}
					log_warn("store: shared view: %s; "
					    "using the last known grants and "
					    "bans", m);
				}
				was_down = true;
				PQfinish(conn);
				conn = NULL;
				if (!pg_view_wait(v, -1, STORE_PG_RETRY_MS))
					break;
				continue;
			}
			PQclear(res);
			if (was_down)
				log_info("store: shared view: reconnected, "
				    "grants and bans reloaded");
			was_down = false;
		}
		/* Our writes go first: a notification's reload must find
		 * them stored (it re-applies those still waiting anyway). */
		if (pg_view_flush(v, conn) != 0) {
			PQfinish(conn);
			conn = NULL;
			if (!pg_view_wait(v, -1, STORE_PG_RETRY_MS))
				break;
			continue;
		}
		if (!pg_view_wait(v, PQsocket(conn), 1000))
			break;
		if (pg_view_flush(v, conn) != 0) {
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		if (PQconsumeInput(conn) == 0 ||
		    PQstatus(conn) != CONNECTION_OK) {
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		changed = records = false;
		while ((n = PQnotifies(conn)) != NULL) {
			if (strcmp(n->relname, STORE_PG_RECORDS) == 0)
				records = true;
			else
				changed = true;
			PQfreemem(n);
		}
		if (records) {
			pthread_mutex_lock(&v->mu);
			if (v->on_records != NULL)
				v->on_records(v->on_records_arg);
			pthread_mutex_unlock(&v->mu);
		}
		if (changed && pg_view_sync(v, conn) != 0) {
			PQfinish(conn);
			conn = NULL;
		}
	}
	/* Stopping: what waits gets one more chance. */
	if (conn != NULL)
		(void)pg_view_flush(v, conn);
	PQfinish(conn);
	return (NULL);
}

struct pg_view *
store_pg_view_start(const char *url)
{
	struct pg_view	*v;
	sigset_t	 all, old;
	int		 rc;

	v = xcalloc(1, sizeof(*v));
	v->url = xstrdup(url);
	if (pipe2(v->wake, O_CLOEXEC) != 0)
		FATAL("pipe2");
	/* The engine never waits on a full pipe (pg_view_kick). */
	if (fcntl(v->wake[1], F_SETFL, O_NONBLOCK) == -1)
		FATAL("fcntl");
	if (pthread_mutex_init(&v->mu, NULL) != 0)
		FATAL("pthread_mutex_init");
	/* Signals are the event loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&v->thread, NULL, pg_view_main, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		FATAL("pthread_create");
	return (v);
}

void
store_pg_view_stop(struct pg_view *v)
{
	if (v == NULL)
		return;
	close(v->wake[1]);
	pthread_join(v->thread, NULL);
	close(v->wake[0]);
	pthread_mutex_destroy(&v->mu);
	if (v->nops > 0)
		log_warn("store: %zu grant or ban writes not stored at "
		    "shutdown (the shared store is unreachable)", v->nops);
	free(v->ops);
	free(v->grants);
	free(v->bans);
	free(v->url);
	free(v);
}

/* Put or drop one grant in the view at once (ours; others come by NOTIFY). */
void
store_pg_view_grant_set(struct pg_view *v, const char *network,
    const char *user, int64_t expires_us)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	pg_view_grant_apply(v, network, user, expires_us);
	pthread_mutex_unlock(&v->mu);
}

uint64_t
store_pg_generation(struct store *st)
{
	struct store_pg	*sp = store_pg(st);
	uint64_t	 gen;

	if (sp->view == NULL)
		sp->view = store_pg_view_start(sp->url);
	pthread_mutex_lock(&sp->view->mu);
	gen = sp->view->gen;
	pthread_mutex_unlock(&sp->view->mu);
	return (gen);
}

void
store_pg_on_records(struct store *st, void (*cb)(void *), void *arg)
{
	struct store_pg	*sp = store_pg(st);

	if (sp->view == NULL) {
		if (cb == NULL)
			return;
		sp->view = store_pg_view_start(sp->url);
	}
	pthread_mutex_lock(&sp->view->mu);
	sp->view->on_records = cb;
	sp->view->on_records_arg = arg;
	pthread_mutex_unlock(&sp->view->mu);
}


void
store_pg_on_shared(struct store *st, void (*cb)(void *), void *arg)
{
	struct store_pg	*sp = store_pg(st);

	if (sp->view == NULL) {
		if (cb == NULL)
			return;
		sp->view = store_pg_view_start(sp->url);
	}
	pthread_mutex_lock(&sp->view->mu);
	sp->view->on_shared = cb;
	sp->view->on_shared_arg = arg;
	pthread_mutex_unlock(&sp->view->mu);
}
