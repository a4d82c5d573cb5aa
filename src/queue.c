/*
 * queue.c: the outbound queue (queue.h). Runs in the engine on the event
 * loop. Its files are ours (spool.c and this module write them), but the
 * message text in them came from clients and is only scanned, bounded.
 *
 * Each entry is a state machine:
 *
 *   (load) --> WAITING --timer, notify, flush--> ACTIVE
 *   ACTIVE --every job back, something to report--> REPORTING
 *   ACTIVE --every job back--> WAITING (pending left) | removed
 *   REPORTING --the spool has the report--> WAITING | removed
 *
 * qentry_enter_state() logs each transition at debug level. An attempt
 * splits the pending recipients by destination (the domain, or the
 * relayhost for all) into jobs, one mail transaction each; a job waits in
 * its destination's list until a delivery (mta.h) for that destination
 * has room: at most max_per_domain deliveries per destination and
 * max_concurrency in all. A delivery that reaches a server takes further
 * jobs of its destination over the same connection, and keeps it open
 * for MTA_IDLE_TIME when there is none (a job that comes meanwhile goes
 * to it before any new connection is made).
 *
 * Durability: an entry exists while ID.env exists. The envelope is
 * rewritten (temp file, fsync, rename, directory fsync) after an attempt
 * with the recipients' new states, so a recipient is marked sent only
 * after the remote 250; a crash before that delivers it again. ID.env,
 * then ID.msg, are removed only when no recipient is pending or failed.
 * A permanent failure is marked "failed" first, and "bounced" once the
 * report is durable (a crash in between sends the report twice). The
 * rewrite (with its fsyncs) runs on the loop, but only after an attempt
 * that left something to do; a message delivered at the first try costs
 * two unlinks and no fsync here.
 * RFC 5321 4.5.4.1 (retry strategy), 4.5.5 and 6.1 (reports, null
 * sender), 6.3 (hop count).
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "atomic_file.h"
#include "bounce.h"
#include "config.h"
#include "control.h"
#include "engine.h"
#include "envelope.h"
#include "log.h"
#include "mta.h"
#include "queue.h"
#include "text.h"
#include "xalloc.h"

#define QUEUE_PATH_MAX		1024
#define QUEUE_SCAN_CHUNK	(64 * 1024)
#define QUEUE_BUCKETS_MIN	1024

enum qentry_state {
	QENTRY_WAITING = 0,
	QENTRY_ACTIVE,
	QENTRY_REPORTING,
};

static const char *const qentry_state_names[] = {
	"WAITING", "ACTIVE", "REPORTING",
};

struct qdest;
struct qentry;

/* One transaction: a message's recipients at one destination. */
struct qjob {
	struct mta_job		 mj;		/* what mta.c sees */
	struct qentry		*e;
	struct qdest		*d;
	size_t			*idx;		/* into e->env.rcpts */
	bool			 waiting;	/* in d->jobs */
	TAILQ_ENTRY(qjob)	 dlink;		/* d->jobs */
	TAILQ_ENTRY(qjob)	 elink;		/* e->jobs */
};

TAILQ_HEAD(qjob_list, qjob);

struct qentry {
	struct queue		*q;
	struct envelope		 env;
	enum qentry_state	 state;
	struct event		*timer;
	char			 msg_path[QUEUE_PATH_MAX];
	uint64_t		 wire_size;
	bool			 eightbit;
	unsigned		 hops;
	struct qjob_list	 jobs;		/* out in this attempt */
	bool			 deleted;	/* files gone, wait for jobs */
	bool			 report_delayed; /* the report has them */
	struct qentry		*hnext;		/* hash chain */
	LIST_ENTRY(qentry)	 zlink;		/* q->deleted, once deleted */
};

struct qagent;

struct qdest {
	char			 key[DOMAIN_MAX + 16];
	bool			 relay;
	struct qjob_list	 jobs;		/* waiting */
	unsigned		 active;	/* deliveries running */
	TAILQ_HEAD(, qagent)	 idle;		/* connected, nothing to do */
	TAILQ_ENTRY(qdest)	 link;
};

struct qagent {
	struct queue		*q;
	struct qdest		*d;
	struct mta		*m;
	bool			 idle;
	TAILQ_ENTRY(qagent)	 link;		/* q->agents */
	TAILQ_ENTRY(qagent)	 ilink;		/* d->idle */
};

struct queue {
	struct engine		*eng;
	char			 dir[QUEUE_PATH_MAX];
	int			 dirfd;
	struct mta_ctx		*mta;
	struct control		*control;
	struct qentry		**buckets;
	size_t			 nbuckets, nentries;
	TAILQ_HEAD(, qdest)	 dests;
	TAILQ_HEAD(, qagent)	 agents;
	LIST_HEAD(, qentry)	 deleted;	/* out of the table */
	unsigned		 active;
	unsigned		 reports_in_flight;
	bool			 stopped;
};

/* A report in the spool's hands. The entry stays in REPORTING (and in
 * memory, even when deleted) until it comes back, unless the queue
 * stops first. */
struct qreport {
	struct queue		*q;
	struct qentry		*e;
};

static void	qentry_activate(struct qentry *);
static void	qentry_finish_attempt(struct qentry *);
static void	qentry_free(struct qentry *);
static void	qdest_kick(struct queue *, struct qdest *);

static void
qentry_enter_state(struct qentry *e, enum qentry_state next)
{
	log_debug("queue %s state %s -> %s", e->env.id,
	    qentry_state_names[e->state], qentry_state_names[next]);
	e->state = next;
}

void
queue_tunables(const struct config *cfg, struct queue_tunables *out)
{
	out->relayhost_auth = cfg->relayhost_auth;
	out->delay_warning = cfg->delay_warning;
	out->max_concurrency = cfg->max_concurrency;
	out->max_per_domain = cfg->max_per_domain;
}

/* ------------------------------------------------------------ files */

static int
read_file(const char *path, size_t max, char **buf_out, size_t *len_out)
{
	struct stat	 st;
	char		*buf;
	size_t		 have = 0;
	ssize_t		 n;
	int		 fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size > max) {
		e = (uint64_t)st.st_size > max ? EFBIG : errno;
		close(fd);
		errno = e;
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (have < (size_t)st.st_size) {
		n = read(fd, buf + have, (size_t)st.st_size - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n == 0 ? EIO : errno;
			close(fd);
			free(buf);
			errno = e;
			return -1;
		}
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	*buf_out = buf;
	*len_out = have;
	return 0;
}

int
queue_read_envelope(const char *dir, const char *id, struct envelope *env_out,
    char *err, size_t errlen)
{
	char	 path[QUEUE_PATH_MAX], why[256];
	char	*buf;
	size_t	 len;
	int	 rc;

	memset(env_out, 0, sizeof(*env_out));
	if (!envelope_id_is_valid(id) ||
	    !text_printf(path, sizeof(path), "%s/%s.env", dir, id)) {
		text_printf(err, errlen, "%s: not a queue id", id);
		errno = ENOENT;
		return -1;
	}
	if (read_file(path, ENVELOPE_MAX, &buf, &len) == -1) {
		int e = errno;

		text_printf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	rc = envelope_parse(buf, len, env_out, why, sizeof(why));
	free(buf);
	if (rc == -1) {
		text_printf(err, errlen, "%s: %s", path, why);
		errno = EINVAL;
		return -1;
	}
	if (strcmp(env_out->id, id) != 0) {
		text_printf(err, errlen, "%s: id %s does not match the name",
		    path, env_out->id);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Rewrite ID.env: temp file, fsync, rename, directory fsync. */
static int
qentry_save(struct qentry *e)
{
	struct queue		*q = e->q;
	char			 tmp[QUEUE_PATH_MAX], path[QUEUE_PATH_MAX];
	char			*text;
	size_t			 len;
	struct atomic_file	 af;

	text_printf(tmp, sizeof(tmp), "%s/%s.env.tmp", q->dir, e->env.id);
	text_printf(path, sizeof(path), "%s/%s.env", q->dir, e->env.id);
	text = envelope_format(&e->env, &len);
	af = (struct atomic_file){ .dirfd = AT_FDCWD, .tmp = tmp,
	    .name = path, .mode = 0600 };
	if (atomic_file_write(&af, text, len, NULL) == -1 ||
	    fsync(q->dirfd) == -1) {
		log_err("queue %s: cannot save the envelope: %s", e->env.id,
		    strerror(errno));
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

/* The entry is done: the envelope goes first, so that a crash in between
 * leaves an orphan, which the next start removes. */
static void
qentry_remove_files(struct qentry *e)
{
	char	path[QUEUE_PATH_MAX];

	text_printf(path, sizeof(path), "%s/%s.env", e->q->dir, e->env.id);
	if (unlink(path) == -1 && errno != ENOENT)
		log_err("queue %s: unlink %s: %s", e->env.id, path,
		    strerror(errno));
	if (unlink(e->msg_path) == -1 && errno != ENOENT)
		log_err("queue %s: unlink %s: %s", e->env.id, e->msg_path,
		    strerror(errno));
}

/*
 * Look through the message once: its size with CRLF line ends (for SIZE),
 * whether it has 8-bit octets (for 8BITMIME) and how many Received
 * header fields it carries (RFC 5321 6.3). Bounded memory whatever the
 * size.
 */
static int
scan_message(struct qentry *e)
{
	char		 buf[QUEUE_SCAN_CHUNK], prefix[9];
	size_t		 plen = 0, i;
	uint64_t	 octets = 0, lines = 0;
	bool		 in_header = true, bol = true, eight = false;
	ssize_t		 n;
	int		 fd;
	unsigned	 hops = 0;

	if ((fd = open(e->msg_path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		octets += (uint64_t)n;
		for (i = 0; i < (size_t)n; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c >= 0x80)
				eight = true;
			if (c == '\n') {
				lines++;
				if (in_header && bol)
					in_header = false;
				else if (in_header && plen == 9 &&
				    strncasecmp(prefix, "Received:", 9) == 0)
					hops++;
				bol = true;
				plen = 0;
				continue;
			}
			if (in_header && plen < 9 && (bol || plen > 0))
				prefix[plen++] = (char)c;
			bol = false;
		}
	}
	close(fd);
	e->wire_size = octets + lines + (bol ? 0 : 2);
	e->eightbit = eight;
	e->hops = hops;
	return 0;
}

/* ------------------------------------------------------------ the table */

static size_t
hash_id(const struct queue *q, const char *id)
{
	uint64_t	h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)(h % q->nbuckets);
}

static struct qentry *
qentry_find(struct queue *q, const char *id)
{
	struct qentry	*e;

	for (e = q->buckets[hash_id(q, id)]; e != NULL; e = e->hnext)
		if (strcmp(e->env.id, id) == 0)
			return e;
	return NULL;
}

static void
table_insert(struct queue *q, struct qentry *e)
{
	struct qentry	**old = q->buckets, *x, *next;
	size_t		  oldn = q->nbuckets, i, h;

	if (q->nentries >= q->nbuckets * 2) {
		q->nbuckets *= 2;
		q->buckets = xcalloc(q->nbuckets, sizeof(*q->buckets));
		for (i = 0; i < oldn; i++)
			for (x = old[i]; x != NULL; x = next) {
				next = x->hnext;
				h = hash_id(q, x->env.id);
				x->hnext = q->buckets[h];
				q->buckets[h] = x;
			}
		free(old);
	}
	h = hash_id(q, e->env.id);
	e->hnext = q->buckets[h];
	q->buckets[h] = e;
	q->nentries++;
}

static void
table_remove(struct queue *q, struct qentry *e)
{
	struct qentry	**pp;

	for (pp = &q->buckets[hash_id(q, e->env.id)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			q->nentries--;
			return;
		}
}

/* ------------------------------------------------------------ entries */

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qentry	*e = arg;

	(void)fd;
	(void)what;
	if (e->state == QENTRY_WAITING)
		qentry_activate(e);
}

static void
qentry_schedule(struct qentry *e)
{
	time_t		now = time(NULL);
	struct timeval	tv = { 0, 0 };

	qentry_enter_state(e, QENTRY_WAITING);
	if (e->env.next_try > now)
		tv.tv_sec = e->env.next_try - now;
	evtimer_add(e->timer, &tv);
}

static void
qjob_free(struct qjob *j)
{
	if (j->waiting)
		TAILQ_REMOVE(&j->d->jobs, j, dlink);
	TAILQ_REMOVE(&j->e->jobs, j, elink);
	free(j->mj.rcpts);
	free(j->idx);
	free(j);
}

static void
qentry_free(struct qentry *e)
{
	if (e->deleted)
		LIST_REMOVE(e, zlink);
	while (!TAILQ_EMPTY(&e->jobs))
		qjob_free(TAILQ_FIRST(&e->jobs));
	if (e->timer != NULL)
		event_free(e->timer);
	envelope_free(&e->env);
	free(e);
}

/* Load dir/ID.env and scan its message; NULL when there is nothing to
 * deliver (logged). */
static struct qentry *
qentry_load(struct queue *q, const char *id)
{
	struct qentry	*e = xcalloc(1, sizeof(*e));
	char		 err[QUEUE_PATH_MAX + 256], path[QUEUE_PATH_MAX];

	e->q = q;
	TAILQ_INIT(&e->jobs);
	if (queue_read_envelope(q->dir, id, &e->env, err, sizeof(err)) == -1) {
		if (errno != ENOENT)
			log_err("queue %s: %s; entry left alone", id, err);
		envelope_free(&e->env);
		free(e);
		return NULL;
	}
	text_printf(e->msg_path, sizeof(e->msg_path), "%s/%s.msg", q->dir, id);
	if (scan_message(e) == -1) {
		log_err("queue %s: %s: %s; entry removed", id, e->msg_path,
		    strerror(errno));
		if (errno == ENOENT) {
			text_printf(path, sizeof(path), "%s/%s.env", q->dir,
			    id);
			unlink(path);
		}
		envelope_free(&e->env);
		free(e);
		return NULL;
	}
	e->env.size = e->wire_size;
	e->env.active = false;
	if ((e->timer = evtimer_new(q->eng->base, timer_cb, e)) == NULL)
		FATAL("evtimer_new");
	table_insert(q, e);
	return e;
}

static void
log_result(const struct qentry *e, const struct qjob *j,
    const struct mta_rcpt *r)
{
	static const char	*const names[] = { "deferred", "sent",
	    "bounced" };
	char			 relay[DOMAIN_MAX + IPADDR_TEXT_MAX + 16];

	if (j->mj.remote_ip[0] != '\0')
		text_printf(relay, sizeof(relay), "%s[%s]:%u",
		    j->mj.remote[0] ? j->mj.remote : j->mj.remote_ip,
		    j->mj.remote_ip, j->mj.remote_port);
	else
		text_copy(relay, "none", sizeof(relay));
	log_delivery(e->env.id, e->env.sender, r->addr, NULL, relay,
	    (double)(time(NULL) - e->env.arrival),
	    r->status[0] ? r->status : r->result == MTA_PERM ? "5.0.0" :
	    "4.0.0", names[r->result], r->diag);
}

/* A job is back with its results. */
static void
qjob_finished(struct qjob *j)
{
	struct qentry	*e = j->e;
	size_t		 k;

	if (!e->deleted) {
		for (k = 0; k < j->mj.nrcpts; k++) {
			struct mta_rcpt		*r = &j->mj.rcpts[k];
			struct envelope_rcpt	*er = &e->env.rcpts[j->idx[k]];
			const char		*remote = j->mj.remote;

			log_result(e, j, r);
			text_copy(er->status, r->status[0] ? r->status :
			    (r->result == MTA_PERM ? "5.0.0" : "4.0.0"),
			    sizeof(er->status));
			envelope_set_text(&er->remote, remote);
			envelope_set_text(&er->diag, r->diag);
			switch (r->result) {
			case MTA_OK:
				er->state = ENVELOPE_SENT;
				break;
			case MTA_PERM:
				er->state = ENVELOPE_FAILED;
				break;
			case MTA_TEMP:
				envelope_set_text(&e->env.last_error, r->diag);
				break;
			}
		}
	}
	qjob_free(j);
	if (!TAILQ_EMPTY(&e->jobs))
		return;
	if (e->deleted) {
		if (e->state != QENTRY_REPORTING)
			qentry_free(e);
		return;
	}
	qentry_finish_attempt(e);
}

/* Give up on a recipient for good, before any delivery. */
static void
fail_rcpt(struct envelope_rcpt *r, const char *status, const char *diag)
{
	r->state = ENVELOPE_FAILED;
	text_copy(r->status, status, sizeof(r->status));
	envelope_set_text(&r->remote, NULL);
	envelope_set_text(&r->diag, diag);
}

static struct qdest *
qdest_get(struct queue *q, const char *key, bool relay)
{
	struct qdest	*d;

	TAILQ_FOREACH(d, &q->dests, link)
		if (d->relay == relay && strcmp(d->key, key) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	text_copy(d->key, key, sizeof(d->key));
	d->relay = relay;
	TAILQ_INIT(&d->jobs);
	TAILQ_INIT(&d->idle);
	TAILQ_INSERT_TAIL(&q->dests, d, link);
	return d;
}

static void
qdest_release(struct queue *q, struct qdest *d)
{
	if (d->active == 0 && TAILQ_EMPTY(&d->jobs)) {
		TAILQ_REMOVE(&q->dests, d, link);
		free(d);
	}
}

/* The destination of an address: its domain, lower-case. */
static bool
rcpt_domain(const char *addr, char *out, size_t size)
{
	const char	*at = strrchr(addr, '@');

	if (at == NULL || at[1] == '\0' || !text_copy(out, at + 1, size))
		return false;
	text_lower(out);
	return true;
}

static void
qentry_activate(struct qentry *e)
{
	struct queue		*q = e->q;
	const struct config	*cfg = q->eng->cfg;
	bool			 relay = cfg->relayhost[0] != '\0';
	struct qjob		*j, **made;
	size_t			 nmade = 0, i, k, *which;
	char			 key[DOMAIN_MAX + 16], diag[128];

	evtimer_del(e->timer);
	qentry_enter_state(e, QENTRY_ACTIVE);
	e->env.active = true;
	made = xcalloc(e->env.nrcpts, sizeof(*made));
	which = xcalloc(e->env.nrcpts, sizeof(*which));
	if (e->hops > RECEIVED_HOPS_MAX) {
		/* RFC 5321 6.3: a loop; bounce rather than send it on. */
		text_printf(diag, sizeof(diag), "too many hops: %u Received "
		    "header fields (mail loop?)", e->hops);
		for (i = 0; i < e->env.nrcpts; i++)
			if (e->env.rcpts[i].state == ENVELOPE_PENDING)
				fail_rcpt(&e->env.rcpts[i], "5.4.6", diag);
	}
	for (i = 0; i < e->env.nrcpts; i++) {
		struct envelope_rcpt *r = &e->env.rcpts[i];

		if (r->state != ENVELOPE_PENDING)
			continue;
		if (relay)
			text_copy(key, cfg->relayhost, sizeof(key));
		else if (!rcpt_domain(r->addr, key, sizeof(key))) {
			fail_rcpt(r, "5.1.3", "bad recipient address");
			continue;
		}
		/* Recipients of one destination share a job: count them
		 * first, fill the jobs below. */
		for (k = 0; k < nmade; k++)
			if (strcmp(made[k]->d->key, key) == 0)
				break;
		if (k == nmade) {
			j = xcalloc(1, sizeof(*j));
			j->e = e;
			j->d = qdest_get(q, key, relay);
			j->mj.id = e->env.id;
			j->mj.sender = e->env.sender;
			j->mj.path = e->msg_path;
			j->mj.wire_size = e->wire_size;
			j->mj.eightbit = e->eightbit;
			TAILQ_INSERT_TAIL(&e->jobs, j, elink);
			made[nmade++] = j;
		}
		which[i] = k + 1;
		made[k]->mj.nrcpts++;
	}
	for (k = 0; k < nmade; k++) {
		made[k]->mj.rcpts = xcalloc(made[k]->mj.nrcpts,
		    sizeof(*made[k]->mj.rcpts));
		made[k]->idx = xcalloc(made[k]->mj.nrcpts,
		    sizeof(*made[k]->idx));
		made[k]->mj.nrcpts = 0;
	}
	for (i = 0; i < e->env.nrcpts; i++) {
		if (which[i] == 0)
			continue;
		j = made[which[i] - 1];
		j->idx[j->mj.nrcpts] = i;
		j->mj.rcpts[j->mj.nrcpts++].addr = e->env.rcpts[i].addr;
	}
	free(which);
	for (k = 0; k < nmade; k++) {
		TAILQ_INSERT_TAIL(&made[k]->d->jobs, made[k], dlink);
		made[k]->waiting = true;
	}
	/* Deliveries start from the loop, never from here. */
	for (k = 0; k < nmade; k++)
		qdest_kick(q, made[k]->d);
	free(made);
	if (nmade == 0)
		qentry_finish_attempt(e);
}

/* ------------------------------------------------------------ reports */

static void qentry_settle(struct qentry *);

static void
report_done(int status, const char *report_id, void *arg)
{
	struct qreport	*rep = arg;
	struct queue	*q = rep->q;
	struct qentry	*e = rep->e;
	size_t		 i;

	free(rep);
	q->reports_in_flight--;
	if (q->stopped) {
		if (q->reports_in_flight == 0)
			free(q);
		return;
	}
	if (report_id != NULL)
		queue_notify(q, report_id);
	if (status == 0) {
		for (i = 0; i < e->env.nrcpts; i++)
			if (e->env.rcpts[i].state == ENVELOPE_FAILED)
				e->env.rcpts[i].state = ENVELOPE_BOUNCED;
		if (e->report_delayed)
			e->env.warned = true;
	} else
		log_err("queue %s: the report could not be stored; trying "
		    "again later", e->env.id);
	e->report_delayed = false;
	qentry_settle(e);
}

/* Report failed recipients (and, with delayed, the pending ones as
 * delayed) to the sender. Returns true when the spool took it and the
 * entry now waits in REPORTING. */
static bool
qentry_report(struct qentry *e, bool delayed, time_t now)
{
	struct queue		*q = e->q;
	const struct config	*cfg = q->eng->cfg;
	struct bounce_report	 r;
	struct bounce_rcpt	*br;
	struct qreport		*rep;
	char			*headers;
	size_t			 hlen = 0, i, n = 0;
	enum bounce_send_result	 res;

	br = xcalloc(e->env.nrcpts, sizeof(*br));
	for (i = 0; i < e->env.nrcpts; i++) {
		struct envelope_rcpt *er = &e->env.rcpts[i];

		if (er->state != ENVELOPE_FAILED &&
		    !(delayed && er->state == ENVELOPE_PENDING))
			continue;
		br[n].addr = er->addr;
		br[n].action = er->state == ENVELOPE_FAILED ? BOUNCE_FAILED :
		    BOUNCE_DELAYED;
		br[n].status = er->status;
		br[n].remote = er->remote;
		br[n].diag = er->diag;
		n++;
	}
	if ((headers = bounce_read_headers(e->msg_path, &hlen)) == NULL)
		log_warn("queue %s: cannot read the header for the report: "
		    "%s", e->env.id, strerror(errno));
	memset(&r, 0, sizeof(r));
	r.hostname = cfg->hostname;
	r.queue_id = e->env.id;
	r.sender = e->env.sender;
	r.arrival = (time_t)e->env.arrival;
	r.now = now;
	r.retry_until = (time_t)e->env.arrival + (time_t)cfg->max_queue_time;
	r.rcpts = br;
	r.nrcpts = n;
	r.headers = headers ? headers : "";
	r.headers_len = hlen;
	rep = xcalloc(1, sizeof(*rep));
	rep->q = q;
	rep->e = e;
	res = bounce_send(q->eng, &r, report_done, rep);
	free(headers);
	free(br);
	switch (res) {
	case BOUNCE_SENT:
		q->reports_in_flight++;
		e->report_delayed = delayed;
		qentry_enter_state(e, QENTRY_REPORTING);
		return true;
	case BOUNCE_DROPPED:
		for (i = 0; i < e->env.nrcpts; i++)
			if (e->env.rcpts[i].state == ENVELOPE_FAILED)
				e->env.rcpts[i].state = ENVELOPE_BOUNCED;
		if (delayed)
			e->env.warned = true;
		break;
	case BOUNCE_TRY_LATER:
		log_err("queue %s: cannot start a report; trying again later",
		    e->env.id);
		break;
	}
	free(rep);
	return false;
}

/* After an attempt or a report: save or remove, then wait. */
static void
qentry_settle(struct qentry *e)
{
	struct queue	*q = e->q;
	size_t		 pending = envelope_count(&e->env, ENVELOPE_PENDING);
	size_t		 failed = envelope_count(&e->env, ENVELOPE_FAILED);

	if (e->deleted) {
		qentry_free(e);
		return;
	}
	e->env.active = false;
	if (pending == 0 && failed == 0) {
		log_info("queue %s: removed (%zu sent, %zu bounced)", e->env.id,
		    envelope_count(&e->env, ENVELOPE_SENT),
		    envelope_count(&e->env, ENVELOPE_BOUNCED));
		qentry_remove_files(e);
		table_remove(q, e);
		qentry_free(e);
		return;
	}
	if (pending == 0) {
		/* Only an unsent report keeps it: try that again later. */
		e->env.next_try = time(NULL) + (int64_t)envelope_retry_delay(
		    q->eng->cfg->retry.items, q->eng->cfg->retry.count,
		    e->env.attempts ? e->env.attempts : 1);
	}
	qentry_save(e);
	qentry_schedule(e);
}

static void
qentry_finish_attempt(struct qentry *e)
{
	struct queue		*q = e->q;
	const struct config	*cfg = q->eng->cfg;
	struct queue_tunables	 t;
	time_t			 now = time(NULL);
	char			 diag[ENVELOPE_TEXT_MAX], age[32];
	size_t			 i, pending;
	bool			 delayed = false;

	queue_tunables(cfg, &t);
	e->env.active = false;
	pending = envelope_count(&e->env, ENVELOPE_PENDING);
	if (pending > 0) {
		e->env.attempts++;
		if (now - e->env.arrival >= (time_t)cfg->max_queue_time) {
			/* RFC 5321 4.5.4.1: give up after the queue time;
			 * keep the last temporary status (RFC 3464 2.3.4). */
			text_printf(age, sizeof(age), "%llds",
			    (long long)(now - e->env.arrival));
			for (i = 0; i < e->env.nrcpts; i++) {
				struct envelope_rcpt *r = &e->env.rcpts[i];

				if (r->state != ENVELOPE_PENDING)
					continue;
				text_printf(diag, sizeof(diag), "message "
				    "expired after %s in the queue; last "
				    "error: %s", age, r->diag ? r->diag :
				    "none");
				r->state = ENVELOPE_FAILED;
				if (r->status[0] != '4')
					text_copy(r->status, "4.4.7",
					    sizeof(r->status));
				envelope_set_text(&r->diag, diag);
				log_delivery(e->env.id, e->env.sender, r->addr,
				    NULL, "none", (double)(now -
				    e->env.arrival), r->status, "expired",
				    diag);
			}
			log_info("queue %s: expired after %s", e->env.id, age);
			pending = 0;
		} else
			e->env.next_try = now + (int64_t)envelope_retry_delay(
			    cfg->retry.items, cfg->retry.count,
			    e->env.attempts);
	}
	if (e->env.sender[0] == '\0') {
		/* RFC 5321 6.1: never report on a report. */
		for (i = 0; i < e->env.nrcpts; i++)
			if (e->env.rcpts[i].state == ENVELOPE_FAILED) {
				log_warn("queue %s to=<%s>: undeliverable "
				    "report dropped (null sender)", e->env.id,
				    e->env.rcpts[i].addr);
				e->env.rcpts[i].state = ENVELOPE_BOUNCED;
			}
	} else if (pending > 0 && !e->env.warned && t.delay_warning > 0 &&
	    now - e->env.arrival >= (time_t)t.delay_warning)
		delayed = true;
	if (envelope_count(&e->env, ENVELOPE_FAILED) > 0 || delayed) {
		/* Save the failures before the report goes out: a crash
		 * then repeats the report, it never loses it. */
		if (envelope_count(&e->env, ENVELOPE_FAILED) > 0)
			qentry_save(e);
		if (qentry_report(e, delayed, now))
			return;
	}
	qentry_settle(e);
}

/* ------------------------------------------------------------ deliveries */

static struct mta_job *
agent_next(void *arg)
{
	struct qagent	*a = arg;
	struct qjob	*j;

	if (a->q->stopped || (j = TAILQ_FIRST(&a->d->jobs)) == NULL)
		return NULL;
	TAILQ_REMOVE(&a->d->jobs, j, dlink);
	j->waiting = false;
	return &j->mj;
}

static void
agent_done(struct mta_job *mj, void *arg)
{
	(void)arg;
	qjob_finished((struct qjob *)mj);
}

static void
agent_idle(void *arg)
{
	struct qagent	*a = arg;

	a->idle = true;
	TAILQ_INSERT_TAIL(&a->d->idle, a, ilink);
}

static void
agent_end(enum mta_result result, const char *status, const char *why,
    void *arg)
{
	struct qagent	*a = arg;
	struct queue	*q = a->q;
	struct qdest	*d = a->d, *x, *next;
	struct qjob	*j;
	size_t		 k;

	if (a->idle)
		TAILQ_REMOVE(&d->idle, a, ilink);
	TAILQ_REMOVE(&q->agents, a, link);
	free(a);
	d->active--;
	q->active--;
	if (result != MTA_OK && d->active == 0) {
		/* Nothing of this destination could be reached: the jobs
		 * waiting for it share the fate of the first. */
		while ((j = TAILQ_FIRST(&d->jobs)) != NULL) {
			TAILQ_REMOVE(&d->jobs, j, dlink);
			j->waiting = false;
			for (k = 0; k < j->mj.nrcpts; k++) {
				j->mj.rcpts[k].result = result;
				text_copy(j->mj.rcpts[k].status, status,
				    sizeof(j->mj.rcpts[k].status));
				text_copy(j->mj.rcpts[k].diag, why,
				    sizeof(j->mj.rcpts[k].diag));
			}
			qjob_finished(j);
		}
	}
	qdest_kick(q, d);
	/* Room for others that waited for the total limit. */
	TAILQ_FOREACH(x, &q->dests, link)
		if (!TAILQ_EMPTY(&x->jobs))
			qdest_kick(q, x);
	for (x = TAILQ_FIRST(&q->dests); x != NULL; x = next) {
		next = TAILQ_NEXT(x, link);
		qdest_release(q, x);
	}
}

/* Close one idle connection of another destination to make room under
 * max_concurrency; false when there is none. */
static bool
drop_idle(struct queue *q, struct qdest *except)
{
	struct qdest	*d;
	struct qagent	*a;

	TAILQ_FOREACH(d, &q->dests, link) {
		if (d == except || (a = TAILQ_FIRST(&d->idle)) == NULL)
			continue;
		TAILQ_REMOVE(&d->idle, a, ilink);
		TAILQ_REMOVE(&q->agents, a, link);
		mta_free(a->m);
		free(a);
		d->active--;
		q->active--;
		/* d may be empty now; agent_end() frees it later (a caller
		 * may be walking the list). */
		return true;
	}
	return false;
}

static const struct mta_ops queue_mta_ops = {
	agent_next, agent_done, agent_idle, agent_end,
};

static void
qdest_kick(struct queue *q, struct qdest *d)
{
	struct queue_tunables	 t;
	struct mta_dest		 md;
	struct qagent		*a;
	struct qjob		*j;

	if (q->stopped)
		return;
	/* An open connection first. */
	while ((j = TAILQ_FIRST(&d->jobs)) != NULL &&
	    (a = TAILQ_FIRST(&d->idle)) != NULL) {
		TAILQ_REMOVE(&d->jobs, j, dlink);
		j->waiting = false;
		TAILQ_REMOVE(&d->idle, a, ilink);
		a->idle = false;
		mta_push(a->m, &j->mj);
	}
	queue_tunables(q->eng->cfg, &t);
	while ((j = TAILQ_FIRST(&d->jobs)) != NULL &&
	    d->active < t.max_per_domain && (q->active < t.max_concurrency ||
	    drop_idle(q, d))) {
		TAILQ_REMOVE(&d->jobs, j, dlink);
		j->waiting = false;
		a = xcalloc(1, sizeof(*a));
		a->q = q;
		a->d = d;
		d->active++;
		q->active++;
		TAILQ_INSERT_TAIL(&q->agents, a, link);
		md.name = d->key;
		md.relay = d->relay;
		md.auth_file = t.relayhost_auth;
		a->m = mta_start(q->mta, &md, &j->mj, &queue_mta_ops, a);
	}
}

/* ------------------------------------------------------------ control */

static void
send_entry(struct evbuffer *out, const struct qentry *e)
{
	char	*text;
	size_t	 len;

	text = envelope_format(&e->env, &len);
	control_record(out, text, len);
	free(text);
}

static void
control_cb(const char *cmd, struct evbuffer *out, void *arg)
{
	struct queue	*q = arg;
	struct qentry	*e, *next;
	struct timeval	 now0 = { 0, 0 };
	size_t		 i, n = 0;

	if (strcmp(cmd, "list") == 0) {
		for (i = 0; i < q->nbuckets; i++)
			for (e = q->buckets[i]; e != NULL; e = e->hnext) {
				send_entry(out, e);
				n++;
			}
		control_end(out, true, "%zu messages", n);
	} else if (strncmp(cmd, "show ", 5) == 0) {
		if ((e = qentry_find(q, cmd + 5)) == NULL) {
			control_end(out, false, "no such message: %s",
			    cmd + 5);
			return;
		}
		send_entry(out, e);
		control_end(out, true, "%s", e->env.id);
	} else if (strcmp(cmd, "flush") == 0) {
		for (i = 0; i < q->nbuckets; i++)
			for (e = q->buckets[i]; e != NULL; e = next) {
				next = e->hnext;
				if (e->state != QENTRY_WAITING)
					continue;
				e->env.next_try = 0;
				evtimer_del(e->timer);
				event_add(e->timer, &now0);
				n++;
			}
		log_info("queue: flush: %zu messages scheduled", n);
		control_end(out, true, "%zu message%s scheduled now", n,
		    n == 1 ? "" : "s");
	} else if (strncmp(cmd, "delete ", 7) == 0) {
		if ((e = qentry_find(q, cmd + 7)) == NULL) {
			control_end(out, false, "no such message: %s",
			    cmd + 7);
			return;
		}
		log_info("queue %s: deleted by the operator", e->env.id);
		qentry_remove_files(e);
		table_remove(q, e);
		e->deleted = true;
		LIST_INSERT_HEAD(&q->deleted, e, zlink);
		/* Jobs still waiting go now; those out come back later. */
		{
			struct qjob *j, *jn;

			for (j = TAILQ_FIRST(&e->jobs); j != NULL; j = jn) {
				jn = TAILQ_NEXT(j, elink);
				if (j->waiting) {
					struct qdest *d = j->d;

					qjob_free(j);
					qdest_release(q, d);
				}
			}
		}
		control_end(out, true, "deleted %s", cmd + 7);
		if (e->state == QENTRY_WAITING ||
		    (e->state == QENTRY_ACTIVE && TAILQ_EMPTY(&e->jobs)))
			qentry_free(e);
	} else if (strncmp(cmd, "notify ", 7) == 0) {
		/* A message another process wrote into the queue directory
		 * (`pillory report --send`): load it and try it now. */
		queue_notify(q, cmd + 7);
		if (qentry_find(q, cmd + 7) == NULL)
			control_end(out, false, "no such message: %s",
			    cmd + 7);
		else
			control_end(out, true, "%s", cmd + 7);
	} else
		control_end(out, false, "unknown request (list, show ID, "
		    "flush, delete ID)");
}

/* ------------------------------------------------------------ start, stop */

struct queue *
queue_start(struct engine *eng, char *err, size_t errlen)
{
	struct queue	*q = xcalloc(1, sizeof(*q));
	char		 path[QUEUE_PATH_MAX], id[ENVELOPE_ID_MAX];
	DIR		*dir = NULL;
	struct dirent	*de;
	struct qentry	*e;
	struct stat	 st;
	size_t		 len, n = 0, orphans = 0;

	q->eng = eng;
	q->dirfd = -1;
	q->nbuckets = QUEUE_BUCKETS_MIN;
	q->buckets = xcalloc(q->nbuckets, sizeof(*q->buckets));
	TAILQ_INIT(&q->dests);
	TAILQ_INIT(&q->agents);
	LIST_INIT(&q->deleted);
	if (!text_printf(q->dir, sizeof(q->dir), "%s/queue",
	    eng->cfg->state_dir)) {
		text_printf(err, errlen, "%s: path too long",
		    eng->cfg->state_dir);
		goto fail;
	}
	if ((q->dirfd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (dir = opendir(q->dir)) == NULL) {
		text_printf(err, errlen, "%s: %s", q->dir, strerror(errno));
		goto fail;
	}
	if ((q->mta = mta_ctx_new(eng, err, errlen)) == NULL)
		goto fail;
	/* Orphans first: a .msg without .env was never acknowledged as
	 * queued (a crash inside a commit) or was already done. */
	while ((de = readdir(dir)) != NULL) {
		const char *dot = strchr(de->d_name, '.');

		if (dot == NULL || de->d_name[0] == '.')
			continue;
		len = (size_t)(dot - de->d_name);
		if (!text_copy_span(id, sizeof(id), de->d_name, len) ||
		    !envelope_id_is_valid(id))
			continue;
		text_printf(path, sizeof(path), "%s/%s", q->dir, de->d_name);
		if (strcmp(dot, ".env.tmp") == 0) {
			unlink(path);
			continue;
		}
		if (strcmp(dot, ".msg") == 0) {
			text_printf(path, sizeof(path), "%s/%s.env", q->dir,
			    id);
			if (stat(path, &st) == -1 && errno == ENOENT) {
				text_printf(path, sizeof(path), "%s/%s",
				    q->dir, de->d_name);
				unlink(path);
				orphans++;
			}
			continue;
		}
		if (strcmp(dot, ".env") != 0 || qentry_find(q, id) != NULL)
			continue;
		if ((e = qentry_load(q, id)) != NULL) {
			qentry_schedule(e);
			n++;
		}
	}
	closedir(dir);
	dir = NULL;
	text_printf(path, sizeof(path), "%s/%s", eng->cfg->state_dir,
	    CONTROL_SOCKET);
	q->control = control_start(eng->base, path, control_cb, q, err,
	    errlen);
	if (q->control == NULL)
		goto fail;
	log_info("queue: %zu messages, %zu orphans removed", n, orphans);
	return q;
fail:
	if (dir != NULL)
		closedir(dir);
	queue_stop(q);
	return NULL;
}

void
queue_notify(struct queue *q, const char *id)
{
	struct qentry	*e;

	if (q == NULL || q->stopped || q->eng->stopping ||
	    !envelope_id_is_valid(id))
		return;
	if ((e = qentry_find(q, id)) != NULL) {
		if (e->state == QENTRY_WAITING)
			qentry_activate(e);
		return;
	}
	if ((e = qentry_load(q, id)) != NULL)
		qentry_activate(e);
}

void
queue_stop(struct queue *q)
{
	struct qagent	*a;
	struct qdest	*d;
	struct qentry	*e, *next;
	size_t		 i;

	if (q == NULL)
		return;
	q->stopped = true;
	control_stop(q->control);
	q->control = NULL;
	while ((a = TAILQ_FIRST(&q->agents)) != NULL) {
		TAILQ_REMOVE(&q->agents, a, link);
		mta_free(a->m);
		free(a);
	}
	for (i = 0; i < q->nbuckets; i++)
		for (e = q->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			qentry_free(e);
		}
	while ((e = LIST_FIRST(&q->deleted)) != NULL)
		qentry_free(e);
	while ((d = TAILQ_FIRST(&q->dests)) != NULL) {
		TAILQ_REMOVE(&q->dests, d, link);
		free(d);
	}
	free(q->buckets);
	q->buckets = NULL;
	mta_ctx_free(q->mta);
	if (q->dirfd != -1)
		close(q->dirfd);
	/* Reports the spool still holds call back into q: free it then. */
	if (q->reports_in_flight == 0)
		free(q);
}
