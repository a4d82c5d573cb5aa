/*
 * store_pg_read.c: the reading operations of the PostgreSQL store
 * (store_pg.c): records, totals, daily counts, top lists and incidents,
 * in the admin's view or the public one (store.h, store_filter). Runs in
 * `pillory log`, `stats`, `publish` and the publisher thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "log.h"
#include "store_pg_int.h"
#include "text.h"
#include "xalloc.h"

/* Incidents a public handle looks at to find its newest public ones. */
#define STORE_PG_INCIDENT_SCAN	10000

static void
store_pg_read_record(const PGresult *res, int row, struct attack_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->time_us = store_pg_get_i64(res, row, 1);
	rec->kind = (enum attack_kind)store_pg_get_i64(res, row, 2);
	store_pg_get_text(res, row, 3, rec->client_ip, sizeof(rec->client_ip));
	store_pg_get_text(res, row, 4, rec->client_name, sizeof(rec->client_name));
	store_pg_get_text(res, row, 5, rec->helo, sizeof(rec->helo));
	store_pg_get_text(res, row, 6, rec->from, sizeof(rec->from));
	store_pg_get_text(res, row, 7, rec->to, sizeof(rec->to));
	store_pg_get_text(res, row, 8, rec->user, sizeof(rec->user));
	store_pg_get_text(res, row, 9, rec->session, sizeof(rec->session));
	store_pg_get_text(res, row, 10, rec->reply, sizeof(rec->reply));
	rec->port = (int)store_pg_get_i64(res, row, 11);
	rec->withdrawn = store_pg_get_i64(res, row, 12) != 0;
	store_pg_get_text(res, row, 13, rec->node, sizeof(rec->node));
}

/* Append " AND cond" (or " WHERE cond") with the next parameter number. */
static bool
pg_where(char *sql, size_t len, const char **and, const char *cond, int *np)
{
	char	frag[128];

	(*np)++;
	if (!text_printf(frag, sizeof(frag), "%s%s $%d", *and, cond, *np))
		return (false);
	*and = " AND ";
	return (text_append(sql, frag, len));
}

int
store_pg_query(struct store *st, const struct store_query *q,
    store_record_cb cb, void *arg)
{
	struct store_pg		*sp = store_pg(st);
	struct attack_record	 rec;
	struct pg_num		 num[5];
	const char		*v[6], *and = " WHERE ";
	char			 sql[1024], inner[1024];
	PGresult		*res;
	int			 np = 0, i, rows, ret = 0;
	bool			 fits = true;

	fits &= text_copy(sql, "SELECT " PG_ATTACK_COLUMNS " FROM attacks",
	    sizeof(sql));
	if (st->filter.active) {
		v[np] = pg_i64(&num[0], st->filter.kinds);
		np++;
		fits &= text_append(sql, " WHERE " PG_PUBLIC, sizeof(sql));
		and = " AND ";
	}
	if (q->kind >= 0) {
		v[np] = pg_i64(&num[1], q->kind);
		fits &= pg_where(sql, sizeof(sql), &and, "kind =", &np);
	}
	if (q->client_ip != NULL) {
		v[np] = q->client_ip;
		fits &= pg_where(sql, sizeof(sql), &and, "client_ip =", &np);
	}
	if (q->since_us != 0) {
		v[np] = pg_i64(&num[2], q->since_us);
		fits &= pg_where(sql, sizeof(sql), &and, "time_us >=", &np);
	}
	if (q->until_us != 0) {
		v[np] = pg_i64(&num[3], q->until_us);
		fits &= pg_where(sql, sizeof(sql), &and, "time_us <", &np);
	}
	if (q->limit > 0) {
		v[np] = pg_i64(&num[4], q->limit > INT64_MAX ? INT64_MAX :
		    (int64_t)q->limit);
		np++;
		fits &= text_copy(inner, sql, sizeof(inner));
		fits &= text_printf(sql, sizeof(sql), "SELECT * FROM (%s "
		    "ORDER BY time_us DESC, id DESC LIMIT $%d) AS newest "
		    "ORDER BY time_us, id", inner, np);
	} else
		fits &= text_append(sql, " ORDER BY time_us, id", sizeof(sql));
	if (!fits)
		FATAL("query text does not fit");
	if ((res = store_pg_run(sp, -1, sql, np, v)) == NULL)
		return (-1);
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		store_pg_read_record(res, i, &rec);
		if ((ret = cb(&rec, arg)) != 0)
			break;
	}
	PQclear(res);
	return (ret);
}

int
store_pg_totals(struct store *st, struct store_totals *out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 m;
	const char	*v[1];
	PGresult	*res;
	int		 i, kind;
	int64_t		 n;

	memset(out, 0, sizeof(*out));
	if ((res = store_pg_run(sp, -1, "SELECT kind, -SUM(count), 1 "
	    "FROM daily_withdrawn GROUP BY kind UNION ALL "
	    "SELECT kind, SUM(count), 0 FROM daily_counts GROUP BY kind", 0,
	    NULL)) == NULL)
		return (-1);
	for (i = 0; i < PQntuples(res); i++) {
		kind = (int)store_pg_get_i64(res, i, 0);
		n = store_pg_get_i64(res, i, 1);
		if (!st->filter.active) {
			if (store_pg_get_i64(res, i, 2) != 0) {
				out->withdrawn += (uint64_t)-n;
				continue;
			}
		} else if ((ATTACK_KIND_BIT(kind) & st->filter.kinds) == 0)
			continue;
		out->total += (uint64_t)n;
		if (kind >= 0 && kind < ATTACK_KIND_COUNT)
			out->by_kind[kind] += (uint64_t)n;
	}
	PQclear(res);
	v[0] = pg_i64(&m, st->filter.kinds);
	if ((res = store_pg_run(sp, -1, st->filter.active ?
	    "SELECT COUNT(*) FROM incidents i WHERE EXISTS (SELECT 1 FROM "
	    "attacks WHERE client_ip = i.client_ip AND time_us >= i.first_us "
	    "AND time_us <= i.last_us AND " PG_PUBLIC ")" :
	    "SELECT COUNT(*) FROM incidents", st->filter.active ? 1 : 0,
	    v)) == NULL)
		return (-1);
	out->incidents = (uint64_t)store_pg_get_i64(res, 0, 0);
	PQclear(res);
	return (0);
}

int
store_pg_daily(struct store *st, int64_t now_us, size_t ndays,
    struct store_day *out)
{
	struct store_pg	*sp = store_pg(st);
	const char	*v[2];
	char		 day[STORE_DAY_MAX];
	PGresult	*res;
	size_t		 i, j;
	int		 row, kind;
	uint64_t	 c;

	if (ndays == 0)
		return (0);
	memset(out, 0, ndays * sizeof(*out));
	for (i = 0; i < ndays; i++)
		store_day_of(now_us - (int64_t)(ndays - 1 - i) * 86400 *
		    1000000, out[i].day);
	v[0] = out[0].day;
	v[1] = out[ndays - 1].day;
	if ((res = store_pg_run(sp, -1, st->filter.active ?
	    "SELECT day, kind, SUM(c) FROM ("
	    "SELECT day, kind, count AS c FROM daily_counts "
	    "WHERE day >= $1 AND day <= $2 UNION ALL "
	    "SELECT day, kind, -count FROM daily_withdrawn "
	    "WHERE day >= $1 AND day <= $2) AS d "
	    "GROUP BY day, kind ORDER BY day" :
	    "SELECT day, kind, SUM(count) FROM daily_counts "
	    "WHERE day >= $1 AND day <= $2 GROUP BY day, kind ORDER BY day",
	    2, v)) == NULL)
		return (-1);
	j = 0;
	for (row = 0; row < PQntuples(res); row++) {
		store_pg_get_text(res, row, 0, day, sizeof(day));
		kind = (int)store_pg_get_i64(res, row, 1);
		while (j < ndays && strcmp(out[j].day, day) < 0)
			j++;
		if (j == ndays)
			break;
		if (strcmp(out[j].day, day) != 0)
			continue;
		if (st->filter.active &&
		    (ATTACK_KIND_BIT(kind) & st->filter.kinds) == 0)
			continue;
		c = (uint64_t)store_pg_get_i64(res, row, 2);
		out[j].count += c;
		if (kind >= 0 && kind < ATTACK_KIND_COUNT)
			out[j].by_kind[kind] += c;
	}
	PQclear(res);
	return (0);
}

struct pg_netcount {
	char		net[STORE_NETWORK_MAX];
	uint64_t	count;
};

static int
pg_netcount_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct pg_netcount *)a)->net,
	    ((const struct pg_netcount *)b)->net));
}

int
store_pg_top(struct store *st, struct store_top *addrs, size_t naddrs,
    size_t *naddrs_out, struct store_top *nets, size_t nnets,
    size_t *nnets_out)
{
	struct store_pg		*sp = store_pg(st);
	struct pg_netcount	*nc;
	struct pg_num		 m;
	const char		*v[1];
	char			 ip[IPADDR_TEXT_MAX];
	PGresult		*res;
	size_t			 nn = 0, i, j;
	int			 row, rows;
	uint64_t		 count;

	*naddrs_out = *nnets_out = 0;
	v[0] = pg_i64(&m, st->filter.kinds);
	if ((res = store_pg_run(sp, -1, st->filter.active ?
	    "SELECT client_ip, COUNT(*) FROM attacks WHERE " PG_PUBLIC
	    " GROUP BY client_ip" :
	    "SELECT client_ip, COUNT(*) FROM attacks GROUP BY client_ip",
	    st->filter.active ? 1 : 0, v)) == NULL)
		return (-1);
	rows = PQntuples(res);
	nc = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*nc));
	for (row = 0; row < rows; row++) {
		store_pg_get_text(res, row, 0, ip, sizeof(ip));
		count = (uint64_t)store_pg_get_i64(res, row, 1);
		store_top_insert(addrs, naddrs, naddrs_out, ip, count);
		if (nnets > 0 && attack_network_of(ip, nc[nn].net,
		    sizeof(nc[nn].net)))
			nc[nn++].count = count;
	}
	PQclear(res);
	/* Sum per network: sort by network, then fold equal neighbours. */
	qsort(nc, nn, sizeof(*nc), pg_netcount_cmp);
	for (i = 0; i < nn; i = j) {
		count = 0;
		for (j = i; j < nn && strcmp(nc[j].net, nc[i].net) == 0; j++)
			count += nc[j].count;
		store_top_insert(nets, nnets, nnets_out, nc[i].net, count);
	}
	free(nc);
	return (0);
}

/*
 * The public form of incident in: recomputed from its public records. 1
 * when it has some, 0 when none, -1 on error.
 */
static int
store_pg_incident_public(struct store_pg *sp, struct store_incident *in)
{
	struct attack_record	 rec;
	struct pg_num		 m, a, b;
	const char		*v[4], *sender;
	PGresult		*res;
	int			 row;

	v[0] = pg_i64(&m, sp->base.filter.kinds);
	v[1] = in->client_ip;
	v[2] = pg_i64(&a, in->first_us);
	v[3] = pg_i64(&b, in->last_us);
	if ((res = store_pg_run(sp, -1, "SELECT " PG_ATTACK_COLUMNS
	    " FROM attacks WHERE " PG_PUBLIC " AND client_ip = $2 AND "
	    "time_us >= $3 AND time_us <= $4 ORDER BY time_us, id", 4,
	    v)) == NULL)
		return (-1);
	in->count = 0;
	in->kinds = 0;
	in->targeted = false;
	in->senders[0] = '\0';
	(void)text_copy(in->client_name, "unknown", sizeof(in->client_name));
	for (row = 0; row < PQntuples(res); row++) {
		store_pg_read_record(res, row, &rec);
		if (in->count == 0)
			in->first_us = rec.time_us;
		in->last_us = rec.time_us;
		in->count++;
		in->kinds |= ATTACK_KIND_BIT(rec.kind);
		in->targeted = in->targeted ||
		    attack_kind_is_targeted(rec.kind);
		if (strcmp(in->client_name, "unknown") == 0 &&
		    rec.client_name[0] != '\0')
			(void)text_copy(in->client_name, rec.client_name,
			    sizeof(in->client_name));
		if ((sender = attack_sender(&rec)) != NULL)
			(void)attack_senders_add(in->senders,
			    sizeof(in->senders), sender);
	}
	PQclear(res);
	return (in->count > 0 ? 1 : 0);
}

int
store_pg_incidents(struct store *st, struct store_incident *out, size_t max,
    size_t *n_out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 l;
	const char	*v[1];
	PGresult	*res;
	int		 row, pub;

	*n_out = 0;
	v[0] = pg_i64(&l, st->filter.active ? STORE_PG_INCIDENT_SCAN :
	    max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if ((res = store_pg_run(sp, -1, "SELECT " PG_INCIDENT_COLUMNS
	    " FROM incidents ORDER BY last_us DESC, id DESC LIMIT $1", 1,
	    v)) == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res) && *n_out < max; row++) {
		store_pg_read_incident(res, row, &out[*n_out]);
		if (st->filter.active) {
			if ((pub = store_pg_incident_public(sp,
			    &out[*n_out])) < 0) {
				PQclear(res);
				return (-1);
			}
			if (pub == 0)
				continue;
		}
		(*n_out)++;
	}
	PQclear(res);
	return (0);
}

int
store_pg_incident_get(struct store *st, int64_t id,
    struct store_incident *out)
{
	struct store_pg	*sp = store_pg(st);
	struct pg_num	 n;
	const char	*v[1];
	PGresult	*res;
	int		 pub;

	v[0] = pg_i64(&n, id);
	if ((res = store_pg_run(sp, -1, "SELECT " PG_INCIDENT_COLUMNS
	    " FROM incidents WHERE id = $1", 1, v)) == NULL)
		return (-1);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (1);
	}
	store_pg_read_incident(res, 0, out);
	PQclear(res);
	if (st->filter.active) {
		pub = store_pg_incident_public(sp, out);
		return (pub < 0 ? -1 : pub == 0 ? 1 : 0);
	}
	return (0);
}

