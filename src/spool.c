/*
 * spool.c: durable message acceptance with group commit (see spool.h).
 * Runs in the engine: the event loop writes message text as it arrives;
 * SPOOL_THREADS worker threads do the fsyncs, links and renames. Input is
 * message text from untrusted clients, already bounded by the session.
 *
 * Crash safety: a file in tmp/ was never acknowledged and is deleted at
 * start-up; so are the per-mailbox copies (STATE_DIR/tmp/ID.N) made at
 * commit. A link in a Maildir's new/ appears only after the copy's data is
 * on disk, so a crash leaves either nothing or a complete message there.
 * A queue entry counts only when ID.env exists; it is renamed into place
 * after ID.msg is linked and after its own data is synced. The 250 is sent
 * only after the directories holding the new names are fsynced.
 */
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "atomic_file.h"
#include "envelope.h"
#include "log.h"
#include "spool.h"
#include "text.h"
#include "xalloc.h"

#define SPOOL_THREADS		2
#define SPOOL_BUF		(64 * 1024)
#define SPOOL_PATH_MAX		1024

struct spool_target {
	char	*domain;	/* NULL for a remote recipient */
	char	*name;		/* user, or the remote address */
	char	*orig;		/* the address as given (log), or NULL */
};

/* One recipient's copy of a message: STATE_DIR/tmp/ID.N holds the
 * delivery headers and the text; at commit it is linked into the
 * Maildir's new/ as name. */
struct spool_copy {
	bool	 made;		/* tmp exists (and is removed at the end) */
	char	 tmp[SPOOL_PATH_MAX];
	char	 newdir[SPOOL_PATH_MAX];
	char	 path[SPOOL_PATH_MAX];
};

struct spool_msg {
	struct spool		*sp;
	char			 id[SPOOL_ID_MAX];
	char			 tmp_path[SPOOL_PATH_MAX];
	int			 fd;
	bool			 failed;
	char			*buf;
	size_t			 buf_len;
	uint64_t		 size;		/* stored octets (LF) */
	uint64_t		 wire_size;	/* CRLF octets */
	char			*sender;
	char			*queue_sender;	/* NULL: sender */
	struct spool_target	*targets;
	size_t			 ntargets, cap;
	bool			 has_remote;
	struct spool_copy	*copies;	/* one per distinct mailbox */
	size_t			 ncopies;
	/* commit */
	spool_done_cb		 cb;
	void			*cb_arg;
	int			 status;
	struct spool_msg	*next;
};

struct spool {
	char			 dir[SPOOL_PATH_MAX];
	char			 host[256];	/* for Maildir names */
	int			 dirfd;
	struct event_base	*base;
	struct event		*done_ev;
	int			 efd;
	pthread_t		 threads[SPOOL_THREADS];
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct spool_msg	*pending, **pending_tail;
	struct spool_msg	*done, **done_tail;
	unsigned		 in_flight;
	bool			 stopping;
	spool_queued_cb		 queued_cb;
	void			*queued_arg;
	uint64_t		 seq;
};

bool
spool_name_is_safe(const char *name)
{
	return *name != '\0' && *name != '.' && strchr(name, '/') == NULL;
}

static int
fsync_path(const char *path)
{
	int	fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* mkdir that tolerates EEXIST; a new directory makes its parent dirty. */
static int
make_dir(const char *path, const char *parent)
{
	if (mkdir(path, 0700) == 0)
		return fsync_path(parent);
	return errno == EEXIST ? 0 : -1;
}

static void
maildir_name(struct spool *sp, const struct spool_msg *msg, uint64_t extra,
    uint64_t extra_wire, char *out, size_t size)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	/* Maildir unique name as Dovecot writes it: S= is the stored size,
	 * W= the size with CRLF line ends, which POP3 reports. */
	text_printf(out, size, "%lld.M%ldP%ld_%s.%s,S=%llu,W=%llu",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), msg->id,
	    sp->host, (unsigned long long)(msg->size + extra),
	    (unsigned long long)(msg->wire_size + extra_wire));
}

/* Ensure mail/DOMAIN/USER/{tmp,new,cur}; path_out gets .../new. */
static int
maildir_prepare(struct spool *sp, const char *domain, const char *user,
    char *path_out, size_t size)
{
	char	dom[SPOOL_PATH_MAX], box[SPOOL_PATH_MAX], sub[SPOOL_PATH_MAX];
	char	mail[SPOOL_PATH_MAX];
	static const char *subs[] = { "tmp", "cur", "new" };
	size_t	i;

	if (!text_printf(mail, sizeof(mail), "%s/mail", sp->dir) ||
	    !text_printf(dom, sizeof(dom), "%s/%s", mail, domain) ||
	    !text_printf(box, sizeof(box), "%s/%s", dom, user) ||
	    !text_printf(path_out, size, "%s/new", box))
		return -1;
	if (access(path_out, W_OK) == 0)
		return 0;
	if (make_dir(dom, mail) == -1 || make_dir(box, dom) == -1)
		return -1;
	for (i = 0; i < 3; i++) {
		if (!text_printf(sub, sizeof(sub), "%s/%s", box, subs[i]) ||
		    make_dir(sub, box) == -1)
			return -1;
	}
	return 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write the envelope to queue/ID.env (via a temp name, envelope.h's
 * format); no dir fsync: the commit batch fsyncs the directory. */
static int
write_envelope(struct spool *sp, struct spool_msg *msg)
{
	char			 tmp[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX];
	char			*text;
	struct envelope		 env;
	struct atomic_file	 af;
	size_t			 i, len;
	int			 rc;

	if (!text_printf(tmp, sizeof(tmp), "%s/queue/%s.env.tmp", sp->dir,
	    msg->id) ||
	    !text_printf(path, sizeof(path), "%s/queue/%s.env", sp->dir,
	    msg->id))
		return -1;
	envelope_init(&env, msg->id);
	env.arrival = (int64_t)time(NULL);
	/* Forwarded mail leaves with its SRS sender (README, Forwarding and
	 * SRS); the Maildir copies keep the original as Return-Path. */
	if (!text_copy(env.sender, msg->queue_sender ? msg->queue_sender :
	    msg->sender ? msg->sender : "", sizeof(env.sender))) {
		envelope_free(&env);
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; i < msg->ntargets; i++)
		if (msg->targets[i].domain == NULL)
			(void)envelope_add_rcpt(&env, msg->targets[i].name);
	text = envelope_format(&env, &len);
	envelope_free(&env);
	af = (struct atomic_file){ .dirfd = AT_FDCWD, .tmp = tmp,
	    .name = path, .mode = 0600 };
	rc = atomic_file_write(&af, text, len, NULL);
	free(text);
	return rc;
}

struct dirset {
	char	(*paths)[SPOOL_PATH_MAX];
	size_t	 count, cap;
};

static void
dirset_add(struct dirset *ds, const char *path)
{
	size_t	i;

	for (i = 0; i < ds->count; i++)
		if (strcmp(ds->paths[i], path) == 0)
			return;
	if (ds->count == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 16;
		ds->paths = realloc(ds->paths, ds->cap * sizeof(*ds->paths));
		if (ds->paths == NULL)
			FATAL("out of memory");
	}
	text_copy(ds->paths[ds->count++], path, SPOOL_PATH_MAX);
}

/* Copy the message text from the spool file (from) to fd. */
static int
copy_text(int from, int fd, uint64_t len)
{
	char	buf[16384];
	off_t	off = 0;
	ssize_t	n;

	while ((uint64_t)off < len) {
		n = copy_file_range(from, &off, fd, NULL,
		    (size_t)(len - (uint64_t)off), 0);
		if (n > 0)
			continue;
		if (n == 0 || (errno != EXDEV && errno != ENOSYS &&
		    errno != EINVAL && errno != EOPNOTSUPP))
			return -1;
		/* A file system without copy_file_range: read and write. */
		while ((n = pread(from, buf, sizeof(buf), off)) > 0) {
			if (write_all(fd, buf, (size_t)n) == -1)
				return -1;
			off += n;
		}
		return n == 0 && (uint64_t)off == len ? 0 : -1;
	}
	return 0;
}

/*
 * Write one copy per distinct mailbox into STATE_DIR/tmp: the delivery
 * headers of a final delivery, as Postfix's local and virtual delivery
 * write them (RFC 5321 4.4: Return-Path with the envelope sender;
 * Delivered-To with the mailbox address), then the text. The copies are
 * synced and linked into new/ by the caller.
 */
static int
copies_write(struct spool *sp, struct spool_msg *msg)
{
	char			 head[2 * ADDRESS_MAX + 64], name[512];
	struct spool_copy	*c;
	size_t			 i, j, hlen;
	int			 fd = -1;

	msg->copies = xcalloc(msg->ntargets, sizeof(*msg->copies));
	for (i = 0; i < msg->ntargets; i++) {
		struct spool_target *t = &msg->targets[i];

		if (t->domain == NULL)
			continue;
		for (j = 0; j < i; j++)		/* same mailbox twice */
			if (msg->targets[j].domain != NULL &&
			    strcmp(msg->targets[j].domain, t->domain) == 0 &&
			    strcmp(msg->targets[j].name, t->name) == 0)
				break;
		if (j < i)
			continue;
		c = &msg->copies[msg->ncopies++];
		if (!text_printf(head, sizeof(head), "Return-Path: <%s>\n"
		    "Delivered-To: %s@%s\n", msg->sender ? msg->sender : "",
		    t->name, t->domain) ||
		    !text_printf(c->tmp, sizeof(c->tmp), "%s/tmp/%s.%zu",
		    sp->dir, msg->id, msg->ncopies) ||
		    maildir_prepare(sp, t->domain, t->name, c->newdir,
		    sizeof(c->newdir)) == -1)
			goto fail;
		hlen = strlen(head);
		maildir_name(sp, msg, hlen, hlen + 2, name, sizeof(name));
		if (!text_printf(c->path, sizeof(c->path), "%s/%s", c->newdir,
		    name))
			goto fail;
		if ((fd = open(c->tmp, O_CREAT | O_EXCL | O_WRONLY |
		    O_CLOEXEC, 0600)) == -1)
			goto fail;
		c->made = true;
		if (write_all(fd, head, hlen) == -1 ||
		    (msg->fd != -1 ? copy_text(msg->fd, fd, msg->size) :
		    write_all(fd, msg->buf, msg->buf_len)) == -1)
			goto fail;
		/* Start writeback now and close: a message for many
		 * mailboxes must not hold a descriptor per copy until the
		 * batch is synced (fdatasync reopens the name). */
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		close(fd);
		fd = -1;
	}
	return 0;
fail:
	log_err("spool %s: delivery copy: %s", msg->id, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* fdatasync a copy by name (its descriptor was closed after writing). */
static int
copy_sync(const struct spool_copy *c)
{
	int	fd, rc;

	if ((fd = open(c->tmp, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = fdatasync(fd);
	close(fd);
	return rc;
}

/* Close and remove the tmp names of the copies (linked or not). */
static void
copies_free(struct spool_msg *msg)
{
	size_t	i;

	for (i = 0; i < msg->ncopies; i++)
		if (msg->copies[i].made)
			unlink(msg->copies[i].tmp);
	free(msg->copies);
	msg->copies = NULL;
	msg->ncopies = 0;
}

/* Links and envelope of one message; on failure undo what was made. */
static int
commit_links(struct spool *sp, struct spool_msg *msg, struct dirset *ds)
{
	char	path[SPOOL_PATH_MAX];
	char	(*made)[SPOOL_PATH_MAX];
	size_t	nmade = 0, i;
	int	rc = -1;

	made = xcalloc(msg->ncopies + 1, sizeof(*made));
	for (i = 0; i < msg->ncopies; i++) {
		struct spool_copy *c = &msg->copies[i];

		if (link(c->tmp, c->path) == -1)
			goto fail;
		text_copy(made[nmade++], c->path, SPOOL_PATH_MAX);
		dirset_add(ds, c->newdir);
	}
	if (msg->has_remote) {
		if (!text_printf(path, sizeof(path), "%s/queue/%s.msg",
		    sp->dir, msg->id) || link(msg->tmp_path, path) == -1)
			goto fail;
		text_copy(made[nmade++], path, SPOOL_PATH_MAX);
		if (write_envelope(sp, msg) == -1)
			goto fail;
		text_printf(path, sizeof(path), "%s/queue", sp->dir);
		dirset_add(ds, path);
	}
	rc = 0;
fail:
	if (rc == -1) {
		log_err("spool %s: commit: %s", msg->id, strerror(errno));
		for (i = 0; i < nmade; i++)
			unlink(made[i]);
	}
	free(made);
	return rc;
}

static int flush_buf(struct spool_msg *);

static void
commit_batch(struct spool *sp, struct spool_msg *batch)
{
	struct spool_msg	*m;
	struct dirset		 ds = { NULL, 0, 0 };
	size_t			 i;
	int			 dir_rc = 0;

	for (m = batch; m != NULL; m = m->next) {
		/* The spool file itself is needed for the queue, and holds
		 * the text of a message that outgrew the buffer; a message
		 * for mailboxes only goes from memory into its copies. */
		if (m->status == 0 && (m->has_remote || m->fd != -1) &&
		    flush_buf(m) == -1)
			m->status = -1;
		if (m->status == 0 && copies_write(sp, m) == -1)
			m->status = -1;
		free(m->buf);
		m->buf = NULL;
	}
	/* Start writeback of every file first so that their data goes to
	 * the device together; then wait for each. */
	for (m = batch; m != NULL; m = m->next) {
		if (m->status != 0)
			continue;
		/* (The copies started theirs when they were written.) */
		if (m->has_remote)
			sync_file_range(m->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	for (m = batch; m != NULL; m = m->next) {
		if (m->status == 0 && m->has_remote && fdatasync(m->fd) == -1) {
			log_err("spool %s: fdatasync: %s", m->id,
			    strerror(errno));
			m->status = -1;
		}
		for (i = 0; m->status == 0 && i < m->ncopies; i++) {
			if (copy_sync(&m->copies[i]) == -1) {
				log_err("spool %s: fdatasync: %s", m->id,
				    strerror(errno));
				m->status = -1;
			}
		}
		if (m->status == 0 && commit_links(sp, m, &ds) == -1)
			m->status = -1;
	}
	for (i = 0; i < ds.count; i++) {
		if (fsync_path(ds.paths[i]) == -1) {
			log_err("spool: fsync %s: %s", ds.paths[i],
			    strerror(errno));
			dir_rc = -1;
		}
	}
	free(ds.paths);
	for (m = batch; m != NULL; m = m->next) {
		/* A failed directory fsync leaves the links of the whole
		 * batch of unknown durability: refuse them all (451); the
		 * client retries and at worst we deliver twice. */
		if (dir_rc == -1)
			m->status = -1;
		copies_free(m);
		if (m->fd != -1) {
			unlink(m->tmp_path);
			close(m->fd);
			m->fd = -1;
		}
	}
}

static void *
commit_thread(void *arg)
{
	struct spool		*sp = arg;
	struct spool_msg	*batch, *last;
	uint64_t		 one = 1;

	pthread_mutex_lock(&sp->lock);
	for (;;) {
		while (sp->pending == NULL && !sp->stopping)
			pthread_cond_wait(&sp->cond, &sp->lock);
		if (sp->pending == NULL && sp->stopping)
			break;
		batch = sp->pending;
		sp->pending = NULL;
		sp->pending_tail = &sp->pending;
		pthread_mutex_unlock(&sp->lock);

		commit_batch(sp, batch);

		for (last = batch; last->next != NULL; last = last->next)
			;
		pthread_mutex_lock(&sp->lock);
		*sp->done_tail = batch;
		sp->done_tail = &last->next;
		pthread_mutex_unlock(&sp->lock);
		(void)!write(sp->efd, &one, sizeof(one));
		pthread_mutex_lock(&sp->lock);
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

static void
msg_free(struct spool_msg *msg)
{
	size_t	i;

	for (i = 0; i < msg->ntargets; i++) {
		free(msg->targets[i].domain);
		free(msg->targets[i].name);
		free(msg->targets[i].orig);
	}
	free(msg->targets);
	free(msg->sender);
	free(msg->queue_sender);
	free(msg->buf);
	free(msg);
}

/* One line per mailbox copy: what a grep of the log finds. */
static void
log_local_deliveries(const struct spool_msg *m)
{
	char	to[DOMAIN_MAX + LOCAL_PART_MAX + 2];
	size_t	i;

	for (i = 0; i < m->ntargets; i++) {
		const struct spool_target *t = &m->targets[i];

		if (t->domain == NULL)
			continue;
		text_printf(to, sizeof(to), "%s@%s", t->name, t->domain);
		log_delivery(m->id, m->sender, to, t->orig, "local", -1,
		    "2.0.0", "sent", "delivered to maildir");
	}
}

/* On the event loop: run the callbacks of finished commits. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spool		*sp = arg;
	struct spool_msg	*list, *next;
	uint64_t		 n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&sp->lock);
	list = sp->done;
	sp->done = NULL;
	sp->done_tail = &sp->done;
	pthread_mutex_unlock(&sp->lock);
	for (; list != NULL; list = next) {
		next = list->next;
		sp->in_flight--;
		if (list->status == 0 && list->has_remote &&
		    sp->queued_cb != NULL)
			sp->queued_cb(list->id, sp->queued_arg);
		if (list->status == 0)
			log_local_deliveries(list);
		list->cb(list->status, list->cb_arg);
		msg_free(list);
	}
}

static int
clean_tmp(struct spool *sp)
{
	char		 path[SPOOL_PATH_MAX], file[SPOOL_PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	text_printf(path, sizeof(path), "%s/tmp", sp->dir);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (text_printf(file, sizeof(file), "%s/%s", path, de->d_name))
			unlink(file);
	}
	closedir(d);
	return 0;
}

struct spool *
spool_open(const char *state_dir, const char *hostname,
    struct event_base *base, char *err, size_t errlen)
{
	struct spool	*sp = xcalloc(1, sizeof(*sp));
	static const char *dirs[] = { "tmp", "queue", "mail" };
	char		 path[SPOOL_PATH_MAX];
	size_t		 i;
	char		*c;

	sp->base = base;
	sp->efd = -1;
	sp->pending_tail = &sp->pending;
	sp->done_tail = &sp->done;
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	if (!text_copy(sp->dir, state_dir, sizeof(sp->dir))) {
		text_printf(err, errlen, "%s: path too long", state_dir);
		goto fail;
	}
	text_copy(sp->host, hostname, sizeof(sp->host));
	for (c = sp->host; *c != '\0'; c++)
		if (*c == '/' || *c == ':' || *c == ',')
			*c = '_';
	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST) {
		text_printf(err, errlen, "%s: %s", state_dir, strerror(errno));
		goto fail;
	}
	for (i = 0; i < 3; i++) {
		text_printf(path, sizeof(path), "%s/%s", state_dir, dirs[i]);
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			text_printf(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
	}
	if (clean_tmp(sp) == -1) {
		text_printf(err, errlen, "%s/tmp: %s", state_dir,
		    strerror(errno));
		goto fail;
	}
	if ((sp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		text_printf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	sp->done_ev = event_new(base, sp->efd, EV_READ | EV_PERSIST, done_cb,
	    sp);
	if (sp->done_ev == NULL || event_add(sp->done_ev, NULL) == -1)
		FATAL("event_new");
	for (i = 0; i < SPOOL_THREADS; i++)
		if (pthread_create(&sp->threads[i], NULL, commit_thread,
		    sp) != 0)
			FATAL("pthread_create");
	return sp;
fail:
	if (sp->efd != -1)
		close(sp->efd);
	free(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	size_t	i;

	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->lock);
	sp->stopping = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	for (i = 0; i < SPOOL_THREADS; i++)
		pthread_join(sp->threads[i], NULL);
	done_cb(sp->efd, EV_READ, sp);
	event_free(sp->done_ev);
	close(sp->efd);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	free(sp);
}

void
spool_set_queued_cb(struct spool *sp, spool_queued_cb cb, void *arg)
{
	sp->queued_cb = cb;
	sp->queued_arg = arg;
}

struct spool_msg *
spool_msg_new(struct spool *sp)
{
	struct spool_msg	*msg = xcalloc(1, sizeof(*msg));
	struct timeval		 tv;

	msg->sp = sp;
	gettimeofday(&tv, NULL);
	/* Time-ordered, unique within the process; the pid keeps two
	 * processes sharing one spool (tests, a restart) apart. */
	text_printf(msg->id, sizeof(msg->id), "%09llx%05lx%06llx",
	    (unsigned long long)tv.tv_sec & 0xfffffffffULL,
	    (unsigned long)getpid() & 0xfffff,
	    (unsigned long long)(++sp->seq & 0xffffff));
	text_printf(msg->tmp_path, sizeof(msg->tmp_path), "%s/tmp/%s",
	    sp->dir, msg->id);
	/* The file is created only when the text outgrows the buffer, or by
	 * the commit thread: most messages never touch the disk from the
	 * event loop, where creating an inode can stall every session. */
	msg->fd = -1;
	msg->buf = malloc(SPOOL_BUF);
	if (msg->buf == NULL)
		FATAL("out of memory");
	return msg;
}

const char *
spool_msg_id(const struct spool_msg *msg)
{
	return msg->id;
}

static int
open_tmp(struct spool_msg *msg)
{
	if (msg->fd != -1)
		return 0;
	/* Read too: the delivery copies are made from it. */
	msg->fd = open(msg->tmp_path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
	    0600);
	if (msg->fd == -1) {
		log_err("spool: %s: %s", msg->tmp_path, strerror(errno));
		msg->failed = true;
		return -1;
	}
	return 0;
}

static int
flush_buf(struct spool_msg *msg)
{
	if (msg->failed)
		return -1;
	if (open_tmp(msg) == -1)
		return -1;
	if (msg->buf_len == 0)
		return 0;
	if (write_all(msg->fd, msg->buf, msg->buf_len) == -1) {
		log_err("spool %s: write: %s", msg->id, strerror(errno));
		msg->failed = true;
		return -1;
	}
	msg->buf_len = 0;
	return 0;
}

int
spool_msg_line(struct spool_msg *msg, const char *line, size_t len)
{
	if (msg->failed)
		return -1;
	msg->size += len + 1;
	msg->wire_size += len + 2;
	if (msg->buf_len + len + 1 > SPOOL_BUF) {
		if (flush_buf(msg) == -1)
			return -1;
		if (len + 1 > SPOOL_BUF) {
			if (write_all(msg->fd, line, len) == -1 ||
			    write_all(msg->fd, "\n", 1) == -1) {
				msg->failed = true;
				return -1;
			}
			return 0;
		}
	}
	memcpy(msg->buf + msg->buf_len, line, len);
	msg->buf_len += len;
	msg->buf[msg->buf_len++] = '\n';
	return 0;
}

uint64_t
spool_msg_wire_size(const struct spool_msg *msg)
{
	return msg->wire_size;
}

void
spool_msg_set_sender(struct spool_msg *msg, const char *sender)
{
	free(msg->sender);
	msg->sender = xstrdup(sender);
}

void
spool_msg_set_queue_sender(struct spool_msg *msg, const char *sender)
{
	free(msg->queue_sender);
	msg->queue_sender = xstrdup(sender);
}

static void
add_target(struct spool_msg *msg, const char *domain, const char *name)
{
	if (msg->ntargets == msg->cap) {
		msg->cap = msg->cap ? msg->cap * 2 : 4;
		msg->targets = realloc(msg->targets,
		    msg->cap * sizeof(*msg->targets));
		if (msg->targets == NULL)
			FATAL("out of memory");
	}
	msg->targets[msg->ntargets].domain = domain ? xstrdup(domain) : NULL;
	msg->targets[msg->ntargets].name = xstrdup(name);
	msg->targets[msg->ntargets].orig = NULL;
	msg->ntargets++;
}

void
spool_msg_add_mailbox(struct spool_msg *msg, const char *domain,
    const char *user)
{
	if (!spool_name_is_safe(domain) || !spool_name_is_safe(user))
		FATAL("unsafe Maildir name reached the spool");
	add_target(msg, domain, user);
}

void
spool_msg_add_mailbox_orig(struct spool_msg *msg, const char *domain,
    const char *user, const char *orig)
{
	spool_msg_add_mailbox(msg, domain, user);
	if (orig != NULL)
		msg->targets[msg->ntargets - 1].orig = xstrdup(orig);
}

void
spool_msg_add_remote(struct spool_msg *msg, const char *rcpt)
{
	add_target(msg, NULL, rcpt);
	msg->has_remote = true;
}

void
spool_msg_abort(struct spool_msg *msg)
{
	if (msg == NULL)
		return;
	if (msg->fd != -1) {
		close(msg->fd);
		unlink(msg->tmp_path);
	}
	msg_free(msg);
}

void
spool_msg_commit(struct spool_msg *msg, spool_done_cb cb, void *arg)
{
	struct spool	*sp = msg->sp;

	msg->cb = cb;
	msg->cb_arg = arg;
	/* A message still in memory is written by the commit thread. */
	msg->status = msg->failed || msg->ntargets == 0 ? -1 : 0;
	msg->next = NULL;
	sp->in_flight++;
	pthread_mutex_lock(&sp->lock);
	*sp->pending_tail = msg;
	sp->pending_tail = &msg->next;
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
}
