/*
 * mailbox.c: a Maildir opened by one POP3 session (see mailbox.h).
 *
 * Runs in the engine, on the event loop. The Maildir layout is the one
 * spool.c writes: STATE_DIR/mail/DOMAIN/USER/{tmp,new,cur}, files stored
 * with LF line ends and named "<sec>.M<usec>P<pid>_<id>.<host>,S=<size>,
 * W=<crlf-size>" (Dovecot's convention: W= is the size POP3 reports).
 * Files without W= (put there by another program) are read once at open
 * to count their CRLF size.
 *
 * RFC 1939 5 and 6: the message list is a snapshot taken at open; mail
 * arriving later is seen by the next session. Deletions are only marks
 * until mailbox_commit() (the UPDATE state); a session that ends any
 * other way changes nothing. RFC 1939 3: multi-line responses are
 * dot-stuffed and end with ".\r\n".
 *
 * Locking: one session per mailbox in this process, by path, in memory.
 * Nothing on disk, so nothing stale after a crash. The engine is single-threaded: no mutex.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "log.h"
#include "mailbox.h"
#include "text.h"
#include "xalloc.h"

#define MAILBOX_PATH_MAX	4096

struct mailbox_msg {
	char		*name;		/* file name inside new/ or cur/ */
	char		 uid[MAILBOX_UID_MAX + 1];
	uint64_t	 size;		/* octets with CRLF line ends */
	unsigned long long sec;		/* leading seconds of the name */
	unsigned long	 usec;		/* its "M<usec>" field, else 0 */
	bool		 in_new;
	bool		 deleted;
	bool		 retrieved;
};

struct mailbox {
	char			*path;
	struct mailbox_msg	*msgs;
	size_t			 count, cap;
	struct mailbox		*next;		/* the open set */
	unsigned		 readers;
};

struct mailbox_reader {
	struct mailbox	*mb;
	int		 fd;
	bool		 top;
	unsigned	 lines_left;	/* TOP: body lines still to send */
	bool		 in_headers;
	bool		 line_start;
	bool		 line_empty;	/* only CRs so far on this line */
	bool		 prev_cr;
	bool		 done;
	char		 in[MAILBOX_CHUNK];
	/* Worst case: every octet doubled (LF -> CRLF, '.' stuffed). */
	char		 out[2 * MAILBOX_CHUNK + 8];
};

/* Mailboxes open in this process: the lock. */
static struct mailbox	*open_set;

static const char *const subdirs[] = { "new", "cur" };

/*
 * mailbox_is_locked: see mailbox.h.
 */
bool
mailbox_is_locked(const char *path)
{
	const struct mailbox	*mb;

	for (mb = open_set; mb != NULL; mb = mb->next)
		if (strcmp(mb->path, path) == 0)
			return true;
	return false;
}

static bool
uid_fits(const char *p, size_t len)
{
	size_t	i;

	if (len == 0 || len > MAILBOX_UID_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}

/* The UID rule of mailbox.h, from the base name (the part before ':'). */
static void
make_uid(const char *name, char *uid)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 base = strcspn(name, ":");
	size_t			 uniq = strcspn(name, ":,");
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	size_t			 i;

	if (uid_fits(name, base)) {
		memcpy(uid, name, base);
		uid[base] = '\0';
		return;
	}
	if (uniq < base && uid_fits(name, uniq)) {
		memcpy(uid, name, uniq);
		uid[uniq] = '\0';
		return;
	}
	if (!EVP_Digest(name, base, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 16)
		FATAL("SHA-256 failed");
	uid[0] = 'h';
	for (i = 0; i < 16; i++) {
		uid[1 + 2 * i] = hex[md[i] >> 4];
		uid[2 + 2 * i] = hex[md[i] & 15];
	}
	uid[33] = '\0';
}

/* The ",W=<digits>" field of the base name; false when absent. */
static bool
name_wire_size(const char *name, uint64_t *size_out)
{
	size_t		 base = strcspn(name, ":");
	const char	*p = name, *end = name + base;
	uint64_t	 n;

	while ((p = memchr(p, ',', (size_t)(end - p))) != NULL) {
		p++;
		if (end - p < 3 || p[0] != 'W' || p[1] != '=')
			continue;
		p += 2;
		if (p == end || *p < '0' || *p > '9')
			return false;
		for (n = 0; p < end && *p >= '0' && *p <= '9'; p++) {
			if (n > (UINT64_MAX - 9) / 10)
				return false;
			n = n * 10 + (uint64_t)(*p - '0');
		}
		if (p != end && *p != ',')
			return false;
		*size_out = n;
		return true;
	}
	return false;
}

/* Count the CRLF size of an open file: its octets plus one per bare LF. */
static int
file_wire_size(int fd, uint64_t *size_out)
{
	char		 buf[MAILBOX_CHUNK];
	uint64_t	 n = 0;
	ssize_t		 r, i;
	bool		 prev_cr = false;

	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		for (i = 0; i < r; i++) {
			if (buf[i] == '\n' && !prev_cr)
				n++;
			prev_cr = buf[i] == '\r';
		}
		n += (uint64_t)r;
	}
	*size_out = n;
	return 0;
}

/* Leading decimal digits of p (saturated), advancing *end past them. */
static unsigned long long
digits(const char *p, const char **end)
{
	unsigned long long	n = 0;

	for (; *p >= '0' && *p <= '9'; p++)
		n = n > (ULLONG_MAX - 9) / 10 ? ULLONG_MAX :
		    n * 10 + (unsigned)(*p - '0');
	*end = p;
	return n;
}

/*
 * Delivery time from a Maildir name "<sec>.<...>M<usec><...>.<host>":
 * the seconds, and the microseconds of an "M" field in the second part
 * (spool.c and Dovecot write them unpadded, so the name alone does not
 * sort).
 */
static void
delivery_time(const char *name, unsigned long long *sec_out,
    unsigned long *usec_out)
{
	const char		*p, *dot;
	unsigned long long	 us;

	*sec_out = digits(name, &p);
	*usec_out = 0;
	if (*p != '.')
		return;
	p++;
	dot = strchr(p, '.');
	for (; *p != '\0' && p != dot; p++) {
		if (*p == 'M' && p[1] >= '0' && p[1] <= '9') {
			us = digits(p + 1, &p);
			*usec_out = us < 1000000 ? (unsigned long)us : 999999;
			return;
		}
	}
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct mailbox_msg	*x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Add one directory entry of new/ or cur/; 0, or -1 with errno. */
static int
scan_entry(struct mailbox *mb, int dfd, const char *name, unsigned char type,
    bool in_new)
{
	struct mailbox_msg	*m;
	struct stat		 st;
	uint64_t		 size;
	int			 fd;

	/* readdir already says what it is on ext4, xfs, btrfs, tmpfs: a stat
	 * per message is half the cost of opening a big mailbox. */
	if (type == DT_UNKNOWN) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return errno == ENOENT ? 0 : -1;
		if (!S_ISREG(st.st_mode))
			return 0;
	} else if (type != DT_REG)
		return 0;
	if (!name_wire_size(name, &size)) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			return errno == ENOENT ? 0 : -1;
		if (file_wire_size(fd, &size) == -1) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	if (mb->count == MAILBOX_MESSAGES_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (mb->count == mb->cap) {
		mb->cap = mb->cap ? mb->cap * 2 : 64;
		mb->msgs = xreallocarray(mb->msgs, mb->cap, sizeof(*mb->msgs));
	}
	m = &mb->msgs[mb->count++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->size = size;
	delivery_time(name, &m->sec, &m->usec);
	m->in_new = in_new;
	make_uid(name, m->uid);
	return 0;
}

static int
scan_dir(struct mailbox *mb, const char *sub, bool in_new)
{
	char		 path[MAILBOX_PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	int		 saved;

	if (!text_printf(path, sizeof(path), "%s/%s", mb->path, sub)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		/* Maildir: names starting with '.' are not messages. */
		if (de->d_name[0] == '.')
			continue;
		if (scan_entry(mb, dirfd(d), de->d_name, de->d_type,
		    in_new) == -1)
			goto fail;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	return 0;
fail:
	saved = errno;
	closedir(d);
	errno = saved;
	return -1;
}

static void
mailbox_free(struct mailbox *mb)
{
	size_t	i;

	for (i = 0; i < mb->count; i++)
		free(mb->msgs[i].name);
	free(mb->msgs);
	free(mb->path);
	free(mb);
}

/*
 * mailbox_open: see mailbox.h.
 */
int
mailbox_open(const char *path, struct mailbox **mb_out)
{
	struct mailbox	*mb;
	size_t		 i;
	int		 saved;

	*mb_out = NULL;
	if (strlen(path) + 5 >= MAILBOX_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mailbox_is_locked(path)) {
		errno = EBUSY;
		return -1;
	}
	mb = xcalloc(1, sizeof(*mb));
	mb->path = xstrdup(path);
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
		if (scan_dir(mb, subdirs[i], i == 0) == -1)
			goto fail;
	if (mb->count > 1)
		qsort(mb->msgs, mb->count, sizeof(*mb->msgs), msg_cmp);
	mb->next = open_set;
	open_set = mb;
	*mb_out = mb;
	return 0;
fail:
	saved = errno;
	mailbox_free(mb);
	errno = saved;
	return -1;
}

/*
 * mailbox_close: see mailbox.h. Closing with a reader still open is a
 * bug (the reader points into mb).
 */
void
mailbox_close(struct mailbox *mb)
{
	struct mailbox	**pp;

	if (mb == NULL)
		return;
	if (mb->readers != 0)
		FATAL("mailbox closed with a reader open");
	for (pp = &open_set; *pp != NULL; pp = &(*pp)->next)
		if (*pp == mb) {
			*pp = mb->next;
			break;
		}
	mailbox_free(mb);
}

/*
 * mailbox_count: see mailbox.h.
 */
size_t
mailbox_count(const struct mailbox *mb)
{
	return mb->count;
}

/*
 * mailbox_exists: see mailbox.h.
 */
bool
mailbox_exists(const struct mailbox *mb, unsigned n)
{
	return n >= 1 && n <= mb->count && !mb->msgs[n - 1].deleted;
}

static const struct mailbox_msg *
msg_of(const struct mailbox *mb, unsigned n)
{
	if (n < 1 || n > mb->count)
		FATAL("message number out of range");
	return &mb->msgs[n - 1];
}

/*
 * mailbox_size: see mailbox.h.
 */
uint64_t
mailbox_size(const struct mailbox *mb, unsigned n)
{
	return msg_of(mb, n)->size;
}

/*
 * mailbox_uid: see mailbox.h.
 */
const char *
mailbox_uid(const struct mailbox *mb, unsigned n)
{
	return msg_of(mb, n)->uid;
}

/*
 * mailbox_stat: see mailbox.h.
 */
void
mailbox_stat(const struct mailbox *mb, size_t *count_out,
    uint64_t *octets_out)
{
	size_t		i;

	*count_out = 0;
	*octets_out = 0;
	for (i = 0; i < mb->count; i++) {
		if (mb->msgs[i].deleted)
			continue;
		(*count_out)++;
		*octets_out += mb->msgs[i].size;
	}
}

/*
 * mailbox_delete: see mailbox.h.
 */
bool
mailbox_delete(struct mailbox *mb, unsigned n)
{
	if (!mailbox_exists(mb, n))
		return false;
	mb->msgs[n - 1].deleted = true;
	return true;
}

/*
 * mailbox_reset: see mailbox.h.
 */
void
mailbox_reset(struct mailbox *mb)
{
	size_t	i;

	for (i = 0; i < mb->count; i++)
		mb->msgs[i].deleted = false;
}

static int
open_dir(const struct mailbox *mb, const char *sub)
{
	char	path[MAILBOX_PATH_MAX];

	if (!text_printf(path, sizeof(path), "%s/%s", mb->path, sub))
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * mailbox_commit: see mailbox.h. A failed move from new/ to cur/ is only
 * logged: the message stays in new/ with the same UID.
 */
int
mailbox_commit(struct mailbox *mb)
{
	char		 dst[MAILBOX_PATH_MAX];
	int		 newfd, curfd, rc = 0;
	bool		 new_dirty = false, cur_dirty = false;
	size_t		 i;

	newfd = open_dir(mb, "new");
	curfd = open_dir(mb, "cur");
	for (i = 0; i < mb->count; i++) {
		struct mailbox_msg	*m = &mb->msgs[i];
		int			 dfd = m->in_new ? newfd : curfd;

		if (dfd == -1) {
			if (m->deleted)
				rc = -1;
			continue;
		}
		if (m->deleted) {
			if (unlinkat(dfd, m->name, 0) == -1 &&
			    errno != ENOENT) {
				log_warn("mailbox %s: unlink %s: %s", mb->path,
				    m->name, strerror(errno));
				rc = -1;
				continue;
			}
			if (m->in_new)
				new_dirty = true;
			else
				cur_dirty = true;
			continue;
		}
		if (!m->in_new || curfd == -1)
			continue;
		/* Maildir: info ":2,FLAGS" is added when leaving new/. */
		if (strchr(m->name, ':') != NULL)
			text_copy(dst, m->name, sizeof(dst));
		else if (!text_printf(dst, sizeof(dst), "%s:2,%s", m->name,
		    m->retrieved ? "S" : ""))
			continue;
		if (renameat(newfd, m->name, curfd, dst) == -1) {
			if (errno != ENOENT)
				log_warn("mailbox %s: rename %s: %s",
				    mb->path, m->name, strerror(errno));
			continue;
		}
		new_dirty = cur_dirty = true;
	}
	if (new_dirty)
		(void)fsync(newfd);
	if (cur_dirty)
		(void)fsync(curfd);
	if (newfd != -1)
		close(newfd);
	if (curfd != -1)
		close(curfd);
	return rc;
}

/*
 * mailbox_reader_open: see mailbox.h.
 */
struct mailbox_reader *
mailbox_reader_open(struct mailbox *mb, unsigned n, bool top, unsigned lines)
{
	struct mailbox_msg	*m;
	struct mailbox_reader	*r;
	char			 path[MAILBOX_PATH_MAX];
	int			 fd;

	if (!mailbox_exists(mb, n))
		FATAL("reader for a message that does not exist");
	m = &mb->msgs[n - 1];
	if (!text_printf(path, sizeof(path), "%s/%s/%s", mb->path,
	    m->in_new ? "new" : "cur", m->name)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	r = xmalloc(sizeof(*r));
	r->mb = mb;
	r->fd = fd;
	r->top = top;
	r->lines_left = lines;
	r->in_headers = true;
	r->line_start = true;
	r->line_empty = true;
	r->prev_cr = false;
	r->done = false;
	mb->readers++;
	if (!top)
		m->retrieved = true;
	return r;
}

/*
 * Convert n octets of r->in into r->out; returns the output length. Sets
 * *stop when TOP has sent all it should (the rest of the input is
 * ignored).
 */
static size_t
convert(struct mailbox_reader *r, size_t n, bool *stop)
{
	size_t		i, o = 0;
	char		c;

	*stop = false;
	for (i = 0; i < n; i++) {
		c = r->in[i];
		if (r->line_start) {
			if (r->top && !r->in_headers && r->lines_left == 0) {
				*stop = true;
				break;
			}
			/* RFC 1939 3: byte-stuff a leading '.'. */
			if (c == '.')
				r->out[o++] = '.';
			r->line_start = false;
			r->line_empty = true;
		}
		if (c == '\n') {
			if (!r->prev_cr)
				r->out[o++] = '\r';
			r->out[o++] = '\n';
			if (r->in_headers) {
				if (r->line_empty)
					r->in_headers = false;
			} else if (r->lines_left > 0)
				r->lines_left--;
			r->line_start = true;
		} else {
			r->out[o++] = c;
			if (c != '\r')
				r->line_empty = false;
		}
		r->prev_cr = c == '\r';
	}
	return o;
}

static void
finish(struct mailbox_reader *r, struct evbuffer *out)
{
	if (!r->line_start)
		evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, ".\r\n", 3);
	r->done = true;
}

/*
 * mailbox_reader_fill: see mailbox.h.
 */
int
mailbox_reader_fill(struct mailbox_reader *r, struct evbuffer *out,
    size_t target)
{
	ssize_t	n;
	size_t	o;
	bool	stop;

	while (!r->done && evbuffer_get_length(out) < target) {
		n = read(r->fd, r->in, sizeof(r->in));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			finish(r, out);
			break;
		}
		o = convert(r, (size_t)n, &stop);
		if (o > 0 && evbuffer_add(out, r->out, o) == -1)
			FATAL("evbuffer_add");
		if (stop)
			finish(r, out);
	}
	return r->done ? 0 : 1;
}

/*
 * mailbox_reader_close: see mailbox.h.
 */
void
mailbox_reader_close(struct mailbox_reader *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	r->mb->readers--;
	free(r);
}
