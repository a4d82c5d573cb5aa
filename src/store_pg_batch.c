/*
 * store_pg_batch.c: insert batches of the PostgreSQL store (store_pg.c).
 * One batch is a handful of statements whatever its size: the records go
 * in as array parameters (unnest), the incidents they touch are read at
 * once, folded in memory with attack_incident_joins() exactly as one
 * record after the other would, and written back as arrays. Runs in the
 * attack log writer thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"
#include "emit.h"
#include "store_pg_int.h"
#include "text.h"
#include "xalloc.h"

void
store_pg_buf_add(struct pg_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * Append s as one element of an array literal: quoted, '"' and '\'
 * escaped, and valid UTF-8 (the database's encoding refuses anything
 * else): an invalid byte becomes U+FFFD. Attacker text never breaks a
 * batch.
 */
void
store_pg_buf_elem(struct pg_buf *b, const char *s, bool first)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 n = strlen(s), i, vl;
	uint32_t		 cp;

	store_pg_buf_add(b, first ? "\"" : ",\"", first ? 1 : 2);
	for (i = 0; i < n; i += vl) {
		if (u[i] == '"' || u[i] == '\\') {
			store_pg_buf_add(b, "\\", 1);
			store_pg_buf_add(b, s + i, 1);
			vl = 1;
		} else if ((vl = emit_utf8_decode(u + i, n - i, &cp)) == 0) {
			store_pg_buf_add(b, "\xef\xbf\xbd", 3);
			vl = 1;
		} else
			store_pg_buf_add(b, s + i, vl);
	}
	store_pg_buf_add(b, "\"", 1);
}

void
store_pg_buf_num(struct pg_buf *b, int64_t v, bool first)
{
	char	num[24];
	int	len;

	len = snprintf(num, sizeof(num), "%s%" PRId64, first ? "" : ",", v);
	store_pg_buf_add(b, num, (size_t)len);
}


void
store_pg_cols_init(struct pg_cols *cols, size_t n)
{
	size_t	i;

	cols->c = xcalloc(n, sizeof(*cols->c));
	cols->n = n;
	cols->first = true;
	for (i = 0; i < n; i++)
		store_pg_buf_add(&cols->c[i], "{", 1);
}

void
store_pg_cols_end(struct pg_cols *cols, const char **vals)
{
	size_t	i;

	for (i = 0; i < cols->n; i++) {
		store_pg_buf_add(&cols->c[i], "}", 1);
		vals[i] = cols->c[i].p;
	}
}

void
store_pg_cols_free(struct pg_cols *cols)
{
	size_t	i;

	for (i = 0; i < cols->n; i++)
		free(cols->c[i].p);
	free(cols->c);
}

/* Per-batch state of one client address. */
struct pg_ipstate {
	const char		*ip;	/* points into the batch */
	bool			 have;	/* inc is an incident (read or new) */
	bool			 dirty;
	struct store_incident	 inc;	/* id 0: not in the table yet */
	int64_t			 login_us;	/* newest login; INT64_MIN */
	char			 key[IPADDR_TEXT_MAX + 4];
};

static int
pg_ipstate_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct pg_ipstate *)a)->ip,
	    ((const struct pg_ipstate *)b)->ip));
}

static struct pg_ipstate *
pg_ipstate_find(struct pg_ipstate *ips, size_t n, const char *ip)
{
	struct pg_ipstate	key;

	key.ip = ip;
	return (bsearch(&key, ips, n, sizeof(*ips), pg_ipstate_cmp));
}

static int
pg_cstr_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* Per-batch sum of one (day, kind). */
struct pg_daysum {
	char		 day[STORE_DAY_MAX];
	int		 kind;
	int64_t		 count;
};

static void
pg_daysum_add(struct pg_daysum *d, size_t *n, size_t max, int64_t t_us,
    int kind)
{
	char	day[STORE_DAY_MAX];
	size_t	i;

	store_day_of(t_us, day);
	for (i = 0; i < *n; i++) {
		if (d[i].kind == kind && strcmp(d[i].day, day) == 0) {
			d[i].count++;
			return;
		}
	}
	if (*n == max)
		return;		/* cannot happen: max is the batch size */
	memcpy(d[*n].day, day, sizeof(day));
	d[*n].kind = kind;
	d[*n].count = 1;
	(*n)++;
}

static int
pg_daysum_write(struct store_pg *sp, const char *table,
    const struct pg_daysum *d, size_t n)
{
	struct pg_cols	 cols;
	const char	*vals[3];
	char		 sql[256];
	size_t		 i;
	int		 rc;

	if (n == 0)
		return (0);
	store_pg_cols_init(&cols, 3);
	for (i = 0; i < n; i++) {
		store_pg_buf_elem(&cols.c[0], d[i].day, i == 0);
		store_pg_buf_num(&cols.c[1], d[i].kind, i == 0);
		store_pg_buf_num(&cols.c[2], d[i].count, i == 0);
	}
	store_pg_cols_end(&cols, vals);
	(void)text_printf(sql, sizeof(sql), "INSERT INTO %s (day, kind, "
	    "count) SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) "
	    "ON CONFLICT (day, kind) DO UPDATE SET count = %s.count + "
	    "excluded.count", table, table);
	rc = store_pg_do(sp, -1, sql, 3, vals);
	store_pg_cols_free(&cols);
	return (rc);
}

/* Newest login of each address's key (the withdraw window's test). */
static int
pg_batch_logins(struct store_pg *sp, struct pg_ipstate *ips, size_t nips)
{
	struct pg_cols	 cols;
	const char	*vals[1];
	char		 key[IPADDR_TEXT_MAX + 4];
	PGresult	*res;
	size_t		 i, k = 0;
	int		 row;

	store_pg_cols_init(&cols, 1);
	for (i = 0; i < nips; i++) {
		ips[i].login_us = INT64_MIN;
		if (attack_login_key(ips[i].ip, ips[i].key,
		    sizeof(ips[i].key)))
			store_pg_buf_elem(&cols.c[0], ips[i].key, k++ == 0);
	}
	store_pg_cols_end(&cols, vals);
	res = k == 0 ? NULL : store_pg_run(sp, -1, "SELECT network, last_us "
	    "FROM logins WHERE network = ANY($1::text[])", 1, vals);
	store_pg_cols_free(&cols);
	if (k == 0)
		return (0);
	if (res == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res); row++) {
		store_pg_get_text(res, row, 0, key, sizeof(key));
		for (i = 0; i < nips; i++) {
			if (strcmp(ips[i].key, key) == 0)
				ips[i].login_us = store_pg_get_i64(res, row, 1);
		}
	}
	PQclear(res);
	return (0);
}

/* The newest incident of each address, read at once. */
static int
pg_batch_incidents(struct store_pg *sp, struct pg_ipstate *ips, size_t nips)
{
	struct pg_cols		 cols;
	struct store_incident	 in;
	struct pg_ipstate	*st;
	const char		*vals[1];
	PGresult		*res;
	size_t			 i;
	int			 row;

	store_pg_cols_init(&cols, 1);
	for (i = 0; i < nips; i++)
		store_pg_buf_elem(&cols.c[0], ips[i].ip, i == 0);
	store_pg_cols_end(&cols, vals);
	res = store_pg_run(sp, -1, "SELECT DISTINCT ON (client_ip) "
	    PG_INCIDENT_COLUMNS " FROM incidents WHERE client_ip = "
	    "ANY($1::text[]) ORDER BY client_ip, last_us DESC, id DESC", 1,
	    vals);
	store_pg_cols_free(&cols);
	if (res == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res); row++) {
		store_pg_read_incident(res, row, &in);
		if ((st = pg_ipstate_find(ips, nips, in.client_ip)) != NULL) {
			st->inc = in;
			st->have = true;
		}
	}
	PQclear(res);
	return (0);
}

/* Queue st's incident for writing: updates and inserts apart. */
static void
pg_incident_out(const struct pg_ipstate *st, struct pg_cols *upd,
    struct pg_cols *ins, size_t *nupd, size_t *nins)
{
	const struct store_incident	*in = &st->inc;
	struct pg_cols			*c = in->id > 0 ? upd : ins;
	bool				 first = (in->id > 0 ? *nupd : *nins)
					    == 0;

	if (in->id > 0)
		store_pg_buf_num(&c->c[0], in->id, first);
	else
		store_pg_buf_elem(&c->c[0], st->ip, first);
	store_pg_buf_elem(&c->c[1], in->client_name, first);
	store_pg_buf_num(&c->c[2], in->first_us, first);
	store_pg_buf_num(&c->c[3], in->last_us, first);
	store_pg_buf_num(&c->c[4], (int64_t)in->count, first);
	store_pg_buf_num(&c->c[5], in->kinds, first);
	store_pg_buf_elem(&c->c[6], in->senders, first);
	store_pg_buf_num(&c->c[7], in->targeted ? 1 : 0, first);
	if (in->id > 0)
		(*nupd)++;
	else
		(*nins)++;
}

int
store_pg_insert_batch(struct store *st, const struct attack_record *recs,
    size_t n)
{
	struct store_pg		*sp = store_pg(st);
	struct pg_ipstate	*ips = NULL, *ps;
	struct pg_daysum	*days = NULL, *wdays = NULL;
	struct pg_cols		 a, upd, ins;
	const char		*av[14], *uv[8], *iv[8], **fresh = NULL;
	char			(*uids)[ATTACK_UID_MAX] = NULL;
	bool			*withdrawn = NULL;
	PGresult		*res = NULL;
	size_t			 i, nips = 0, nfresh = 0, ndays = 0, nwdays = 0;
	size_t			 nupd = 0, nins = 0;
	int64_t			 w = sp->base.withdraw_window_us;
	const char		*sender, *uid, *cp;
	int			 row, ret = -1;
	bool			 open_cols = false;

	if (sp->readonly)
		return (store_pg_fail_msg(sp, "store is read-only"));
	if (n == 0)
		return (0);
	/* Every record needs a uid to be told apart in RETURNING. */
	uids = xcalloc(n, sizeof(*uids));
	for (i = 0; i < n; i++) {
		if (recs[i].uid[0] != '\0')
			(void)text_copy(uids[i], recs[i].uid, sizeof(uids[i]));
		else
			(void)text_printf(uids[i], sizeof(uids[i]),
			    "%s:batch:%" PRId64 ":%d:%zu", recs[i].node,
			    store_pg_mono_us(), (int)getpid(), i);
	}
	/* The batch's addresses, sorted and distinct. */
	ips = xcalloc(n, sizeof(*ips));
	for (i = 0; i < n; i++)
		ips[i].ip = recs[i].client_ip;
	qsort(ips, n, sizeof(*ips), pg_ipstate_cmp);
	for (i = 0; i < n; i++) {
		if (nips == 0 || strcmp(ips[nips - 1].ip, ips[i].ip) != 0)
			ips[nips++] = ips[i];
	}

	/*
	 * Incidents join records from every node: one writer at a time
	 * folds its batch into them, or two hosts would each start an
	 * incident for the same burst. The lock ends with the transaction.
	 */
	if (store_pg_do(sp, -1, "BEGIN", 0, NULL) != 0)
		goto done;
	if (store_pg_do(sp, -1, "SELECT pg_advisory_xact_lock("
	    STORE_PG_INCIDENT_LOCK ")", 0, NULL) != 0)
		goto fail;
	if (w > 0 && pg_batch_logins(sp, ips, nips) != 0)
		goto fail;

	withdrawn = xcalloc(n, sizeof(*withdrawn));
	store_pg_cols_init(&a, 14);
	open_cols = true;
	for (i = 0; i < n; i++) {
		const struct attack_record *r = &recs[i];

		ps = pg_ipstate_find(ips, nips, r->client_ip);
		withdrawn[i] = r->withdrawn || (w > 0 && ps != NULL &&
		    ps->login_us != INT64_MIN &&
		    ps->login_us >= r->time_us - w &&
		    ps->login_us <= r->time_us + w);
		store_pg_buf_num(&a.c[0], r->time_us, i == 0);
		store_pg_buf_num(&a.c[1], (int64_t)r->kind, i == 0);
		store_pg_buf_elem(&a.c[2], r->client_ip, i == 0);
		store_pg_buf_elem(&a.c[3], r->client_name, i == 0);
		store_pg_buf_elem(&a.c[4], r->helo, i == 0);
		store_pg_buf_elem(&a.c[5], r->from, i == 0);
		store_pg_buf_elem(&a.c[6], r->to, i == 0);
		store_pg_buf_elem(&a.c[7], r->user, i == 0);
		store_pg_buf_elem(&a.c[8], r->session, i == 0);
		store_pg_buf_elem(&a.c[9], r->reply, i == 0);
		store_pg_buf_num(&a.c[10], r->port, i == 0);
		store_pg_buf_num(&a.c[11], withdrawn[i] ? 1 : 0, i == 0);
		store_pg_buf_elem(&a.c[12], r->node, i == 0);
		store_pg_buf_elem(&a.c[13], uids[i], i == 0);
	}
	store_pg_cols_end(&a, av);
	if ((res = store_pg_run(sp, -1, "INSERT INTO attacks (time_us, kind, "
	    "client_ip, client_name, helo, mail_from, rcpt_to, login_user, "
	    "session, reply, port, withdrawn, node, uid) SELECT * FROM "
	    "unnest($1::bigint[], $2::int[], $3::text[], $4::text[], "
	    "$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
	    "$10::text[], $11::int[], $12::int[], $13::text[], $14::text[]) "
	    "ON CONFLICT (uid) DO NOTHING RETURNING uid", 14, av)) == NULL)
		goto fail;
	/* What RETURNING names is new; a uid seen before is a replay. */
	fresh = xcalloc((size_t)PQntuples(res) + 1, sizeof(*fresh));
	for (row = 0; row < PQntuples(res); row++)
		fresh[nfresh++] = PQgetvalue(res, row, 0);
	qsort(fresh, nfresh, sizeof(*fresh), pg_cstr_cmp);
	if (nfresh > 0 && pg_batch_incidents(sp, ips, nips) != 0)
		goto fail;

	days = xcalloc(n, sizeof(*days));
	wdays = xcalloc(n, sizeof(*wdays));
	for (i = 0; i < n; i++) {
		const struct attack_record *r = &recs[i];
		struct store_incident *in;

		uid = uids[i];
		cp = uid;
		if (bsearch(&cp, fresh, nfresh, sizeof(*fresh),
		    pg_cstr_cmp) == NULL)
			continue;
		pg_daysum_add(days, &ndays, n, r->time_us, (int)r->kind);
		if (withdrawn[i])
			pg_daysum_add(wdays, &nwdays, n, r->time_us,
			    (int)r->kind);
		ps = pg_ipstate_find(ips, nips, r->client_ip);
		in = &ps->inc;
		if (ps->have && attack_incident_joins(in->first_us,
		    in->last_us, r->time_us)) {
			if (r->time_us < in->first_us)
				in->first_us = r->time_us;
			if (r->time_us > in->last_us)
				in->last_us = r->time_us;
			in->count++;
			if (strcmp(in->client_name, "unknown") == 0 &&
			    r->client_name[0] != '\0')
				(void)text_copy(in->client_name,
				    r->client_name, sizeof(in->client_name));
		} else {
			/* A new incident; the one before is done. */
			if (ps->have && ps->dirty) {
				if (nupd + nins == 0) {
					store_pg_cols_init(&upd, 8);
					store_pg_cols_init(&ins, 8);
				}
				pg_incident_out(ps, &upd, &ins, &nupd, &nins);
			}
			memset(in, 0, sizeof(*in));
			(void)text_copy(in->client_name, r->client_name,
			    sizeof(in->client_name));
			in->first_us = in->last_us = r->time_us;
			in->count = 1;
			ps->have = true;
		}
		ps->dirty = true;
		in->kinds |= ATTACK_KIND_BIT(r->kind);
		in->targeted = in->targeted ||
		    attack_kind_is_targeted(r->kind);
		if ((sender = attack_sender(r)) != NULL)
			(void)attack_senders_add(in->senders,
			    sizeof(in->senders), sender);
	}
	for (i = 0; i < nips; i++) {
		if (!ips[i].dirty)
			continue;
		if (nupd + nins == 0) {
			store_pg_cols_init(&upd, 8);
			store_pg_cols_init(&ins, 8);
		}
		pg_incident_out(&ips[i], &upd, &ins, &nupd, &nins);
	}
	if (nupd + nins > 0) {
		store_pg_cols_end(&upd, uv);
		store_pg_cols_end(&ins, iv);
		if ((nupd > 0 && store_pg_do(sp, -1, "UPDATE incidents SET "
		    "client_name = u.cn, first_us = u.f, last_us = u.l, "
		    "count = u.c, kinds = u.k, senders = u.s, targeted = u.t "
		    "FROM unnest($1::bigint[], $2::text[], $3::bigint[], "
		    "$4::bigint[], $5::bigint[], $6::bigint[], $7::text[], "
		    "$8::int[]) AS u(id, cn, f, l, c, k, s, t) "
		    "WHERE incidents.id = u.id", 8, uv) != 0) ||
		    (nins > 0 && store_pg_do(sp, -1, "INSERT INTO incidents "
		    "(client_ip, client_name, first_us, last_us, count, kinds, "
		    "senders, targeted) SELECT * FROM unnest($1::text[], "
		    "$2::text[], $3::bigint[], $4::bigint[], $5::bigint[], "
		    "$6::bigint[], $7::text[], $8::int[]) "
		    "ORDER BY 3", 8, iv) != 0)) {
			store_pg_cols_free(&upd);
			store_pg_cols_free(&ins);
			goto fail;
		}
		store_pg_cols_free(&upd);
		store_pg_cols_free(&ins);
	}
	/* Every host's page writer learns of them at COMMIT. */
	if (pg_daysum_write(sp, "daily_counts", days, ndays) != 0 ||
	    pg_daysum_write(sp, "daily_withdrawn", wdays, nwdays) != 0 ||
	    (nfresh > 0 && store_pg_do(sp, -1, "NOTIFY " STORE_PG_RECORDS, 0,
	    NULL) != 0) ||
	    store_pg_do(sp, -1, "COMMIT", 0, NULL) != 0)
		goto fail;
	ret = 0;
	goto done;
fail:
	{
		char	msg[sizeof(sp->errmsg)];

		memcpy(msg, sp->errmsg, sizeof(msg));
		(void)store_pg_script(sp, "ROLLBACK");
		memcpy(sp->errmsg, msg, sizeof(msg));
	}
done:
	if (open_cols)
		store_pg_cols_free(&a);
	PQclear(res);
	free(fresh);
	free(days);
	free(wdays);
	free(withdrawn);
	free(ips);
	free(uids);
	return (ret);
}

