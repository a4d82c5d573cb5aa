/*
 * store_pg_int.h: what the files of the PostgreSQL store share
 * (store_pg.c: connection, schema, writes other than records, the
 * backend table; store_pg_batch.c: insert batches; store_pg_read.c: the
 * reads; store_pg_view.c: the in-memory view of grants and bans). Private
 * to them: everyone else uses store.h.
 */
#ifndef STORE_PG_INT_H
#define STORE_PG_INT_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "attack.h"
#include "ban.h"
#include "store.h"

/* Advisory lock key of the incident writers ("pilt"). */
#define STORE_PG_INCIDENT_LOCK	"1886958708"

#define PG_ATTACK_COLUMNS \
	"id, time_us, kind, client_ip, client_name, helo, mail_from, " \
	"rcpt_to, login_user, session, reply, port, withdrawn, node"

#define PG_INCIDENT_COLUMNS \
	"id, client_ip, client_name, first_us, last_us, count, kinds, " \
	"senders, targeted"

/* What a public handle reads of attacks; $1 is the kinds mask. */
#define PG_PUBLIC "withdrawn = 0 AND ((1::bigint << kind) & $1) <> 0"

/* The NOTIFY channel of grant and ban changes. */
#define STORE_PG_CHANNEL	"pillory_shared"
/* The NOTIFY channel of committed records (the page's trigger). */
#define STORE_PG_RECORDS	"pillory_records"
/* The view's listener reconnects this often while the store is down. */
#define STORE_PG_RETRY_MS	500

struct pg_grant {
	char		 network[IPADDR_TEXT_MAX + 8];
	char		 user[ADDRESS_MAX + 1];
	int64_t		 expires_us;
};

/* A write of the engine's to the shared tables, made by the view's
 * thread (store_pg_view.c). */
struct pg_op {
	bool			 is_ban;
	struct pg_grant		 grant;
	struct ban_entry	 ban;
	int64_t			 keep_us;	/* bans: rows kept after expiry */
};

/* Writes waiting for the store: beyond this the oldest are dropped (and
 * counted in the log); this host keeps them in its view regardless. */
#define STORE_PG_OPS_MAX	100000

/*
 * The in-memory view of the shared grants and bans (store.h, generation):
 * a listener thread with its own connection LISTENs on STORE_PG_CHANNEL
 * and reloads both tables after each notification and after each
 * (re)connection, since NOTIFY is not durable. Look-ups read the arrays
 * under mu and never wait on the network.
 */
struct pg_view {
	char		*url;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	int		 wake[2];	/* pipe: closing the write end stops */
	/* Under mu: */
	bool		 synced;	/* loaded at least once */
	uint64_t	 gen;
	struct pg_grant	*grants;
	size_t		 ngrants;
	struct ban_entry *bans;
	size_t		 nbans;
	void		(*on_records)(void *);
	void		*on_records_arg;
	void		(*on_shared)(void *);
	void		*on_shared_arg;
	struct pg_op	*ops;		/* waiting, oldest first */
	size_t		 nops, opscap;
	uint64_t	 ops_dropped;
};

struct store_pg {
	struct store	 base;		/* first: handles are struct store */
	PGconn		*conn;
	bool		 readonly;
	bool		 prepared;
	char		 errmsg[256];
	char		*url;
	struct pg_view	*view;		/* started by generation() */
	int64_t		 next_reset_us;	/* monotonic: next reconnection */
	bool		 leading;	/* holds STORE_PG_PAGE_LOCK */
	bool		 need_setup;	/* opened while unreachable */
};

/* A lost connection is retried at most this often. */
#define STORE_PG_RESET_US	(1000LL * 1000)

/* Decimal text of an integer parameter. */
struct pg_num {
	char	s[24];
};

static inline const char *
pg_i64(struct pg_num *n, int64_t v)
{
	snprintf(n->s, sizeof(n->s), "%" PRId64, v);
	return (n->s);
}

static inline struct store_pg *
store_pg(struct store *st)
{
	return ((struct store_pg *)st);
}


/* store_pg.c */
int	 store_pg_fail(struct store_pg *sp, const char *what);
int	 store_pg_fail_msg(struct store_pg *sp, const char *msg);
/* Run sql (or prepared statement which >= 0); NULL with the message. */
PGresult *store_pg_run(struct store_pg *sp, int which, const char *sql,
	    int n, const char *const *vals);
int	 store_pg_do(struct store_pg *sp, int which, const char *sql, int n,
	    const char *const *vals);
int	 store_pg_script(struct store_pg *sp, const char *sql);
int64_t	 store_pg_get_i64(const PGresult *res, int row, int col);
void	 store_pg_get_text(const PGresult *res, int row, int col, char *out,
	    size_t outlen);
void	 store_pg_read_incident(const PGresult *res, int row,
	    struct store_incident *in);
int64_t	 store_pg_mono_us(void);

/* Sender list entry for rec, or NULL when its kind has no envelope. */

/* store_pg_read.c */
int	 store_pg_query(struct store *st, const struct store_query *q,
	    store_record_cb cb, void *arg);
int	 store_pg_totals(struct store *st, struct store_totals *out);
int	 store_pg_daily(struct store *st, int64_t now_us, size_t ndays,
	    struct store_day *out);
int	 store_pg_top(struct store *st, struct store_top *addrs,
	    size_t naddrs, size_t *naddrs_out, struct store_top *nets,
	    size_t nnets, size_t *nnets_out);
int	 store_pg_incidents(struct store *st, struct store_incident *out,
	    size_t max, size_t *n_out);
int	 store_pg_incident_get(struct store *st, int64_t id,
	    struct store_incident *out);

/* store_pg_batch.c */
int	 store_pg_insert_batch(struct store *st,
	    const struct attack_record *recs, size_t n);

/* A growing text buffer for array literals. */
struct pg_buf {
	char	*p;
	size_t	 len, cap;
};

/* Array literals, one per column of a statement: elements are added
 * with first = cols->first, which the caller clears after each row. */
struct pg_cols {
	struct pg_buf	*c;
	size_t		 n;
	bool		 first;
};

void	 store_pg_buf_add(struct pg_buf *b, const char *s, size_t n);
/* s as one quoted element (escaped, made valid UTF-8). */
void	 store_pg_buf_elem(struct pg_buf *b, const char *s, bool first);
void	 store_pg_buf_num(struct pg_buf *b, int64_t v, bool first);
void	 store_pg_cols_init(struct pg_cols *cols, size_t n);
/* Close the literals; vals[i] points at column i's text. */
void	 store_pg_cols_end(struct pg_cols *cols, const char **vals);
void	 store_pg_cols_free(struct pg_cols *cols);

/* store_pg_view.c */
/* Connect to url, waiting at most timeout seconds unless it says more. */
PGconn	*store_pg_connect(const char *url, const char *timeout);
struct pg_view *store_pg_view_start(const char *url);
void	 store_pg_view_stop(struct pg_view *v);
int	 store_pg_view_grant_cmp(const void *a, const void *b);
void	 store_pg_view_grant_set(struct pg_view *v, const char *network,
	    const char *user, int64_t expires_us);
uint64_t store_pg_generation(struct store *st);
void	 store_pg_on_records(struct store *st, void (*cb)(void *),
	    void *arg);
void	 store_pg_on_shared(struct store *st, void (*cb)(void *),
	    void *arg);
/* The engine's writes: change the view now, store by the view's thread. */
void	 store_pg_view_queue_grant(struct pg_view *v, const char *network,
	    const char *user, int64_t expires_us);
void	 store_pg_view_queue_bans(struct pg_view *v,
	    const struct ban_entry *e, size_t n, int64_t keep_us);

#endif
