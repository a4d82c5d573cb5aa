/*
 * store_pg_view.c: the in-memory view of the shared grants and bans of the
 * PostgreSQL store (struct pg_view, store_pg_int.h). A listener thread
 * with its own connection LISTENs for changes and reloads both tables
 * after each notification and each reconnection (NOTIFY is not durable);
 * the engine's look-ups read the view and never wait on the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ban.h"
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
	v->synced = true;
	v->gen++;
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
		if (!pg_view_wait(v, PQsocket(conn), 1000))
			break;
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
	struct pg_grant	 key, *g, *grown;

	if (v == NULL)
		return;
	memset(&key, 0, sizeof(key));
	(void)text_copy(key.network, network, sizeof(key.network));
	pthread_mutex_lock(&v->mu);
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

