/*
 * store_spool.c: the on-disk spool of attack records for a shared store
 * that is unreachable (store_spool.h has the file format). The line format
 * and its parser are pure; the rest appends with fsync and replays.
 *
 * Runs in the attack log writer thread only.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_spool.h"
#include "text.h"
#include "xalloc.h"

#define SPOOL_FIELDS	15
#define SPOOL_MAGIC	"P1"

struct store_spool {
	char		 dir[1024];
	char		 path[1100];	/* dir/records: appended */
	char		 replay[1100];	/* dir/replaying: being written */
	uint64_t	 max_bytes;
	uint64_t	 bytes;		/* both files */
	int		 fd;		/* records, O_APPEND; -1: not open */
};

/* Append s escaped at *pos in out; false when it does not fit. */
static bool
spool_put_field(char *out, size_t outlen, size_t *pos, const char *s)
{
	for (; *s != '\0'; s++) {
		const char	*esc = NULL;

		switch (*s) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		}
		if (esc != NULL) {
			if (*pos + 2 >= outlen)
				return (false);
			out[(*pos)++] = esc[0];
			out[(*pos)++] = esc[1];
		} else {
			if (*pos + 1 >= outlen)
				return (false);
			out[(*pos)++] = *s;
		}
	}
	return (true);
}

static bool
spool_put_raw(char *out, size_t outlen, size_t *pos, const char *s)
{
	size_t	n = strlen(s);

	if (*pos + n >= outlen)
		return (false);
	memcpy(out + *pos, s, n);
	*pos += n;
	return (true);
}

bool
store_spool_format(const struct attack_record *rec, char *out, size_t outlen)
{
	char		 nums[96];
	const char	*fields[] = { rec->client_ip, rec->client_name,
	    rec->helo, rec->from, rec->to, rec->user, rec->session,
	    rec->reply, rec->node };
	size_t		 pos = 0, i;

	if (outlen == 0)
		return (false);
	out[0] = '\0';
	if (!spool_put_raw(out, outlen, &pos, SPOOL_MAGIC "\t") ||
	    !spool_put_field(out, outlen, &pos, rec->uid))
		return (false);
	if (!text_printf(nums, sizeof(nums), "\t%" PRId64 "\t%d\t%d\t%d",
	    rec->time_us, (int)rec->kind, rec->port, rec->withdrawn ? 1 : 0) ||
	    !spool_put_raw(out, outlen, &pos, nums))
		return (false);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!spool_put_raw(out, outlen, &pos, "\t") ||
		    !spool_put_field(out, outlen, &pos, fields[i]))
			return (false);
	}
	if (!spool_put_raw(out, outlen, &pos, "\n"))
		return (false);
	out[pos] = '\0';
	return (true);
}

/* Unescape field s (n bytes) into out; false when bad or too long. */
static bool
spool_get_field(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	i, o = 0;
	char	c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '\\') {
			if (++i == n)
				return (false);
			switch (s[i]) {
			case '\\':
				c = '\\';
				break;
			case 't':
				c = '\t';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			default:
				return (false);
			}
		} else if (c == '\0')
			return (false);
		if (o + 1 >= outlen)
			return (false);
		out[o++] = c;
	}
	out[o] = '\0';
	return (true);
}

/* A decimal integer filling the field, in [min, max]. */
static bool
spool_get_num(const char *s, size_t n, int64_t min, int64_t max,
    int64_t *out)
{
	char		 buf[24], *end;
	long long	 v;

	if (n == 0 || n >= sizeof(buf))
		return (false);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9'))
		return (false);
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (false);
	*out = v;
	return (true);
}

bool
store_spool_parse(const char *line, size_t len, struct attack_record *rec,
    const char **why)
{
	const char	*f[SPOOL_FIELDS];
	size_t		 flen[SPOOL_FIELDS], nf = 0, i, start = 0;
	int64_t		 v;
	struct {
		char	*dst;
		size_t	 len;
	} text[] = {
		{ rec->client_ip, sizeof(rec->client_ip) },
		{ rec->client_name, sizeof(rec->client_name) },
		{ rec->helo, sizeof(rec->helo) },
		{ rec->from, sizeof(rec->from) },
		{ rec->to, sizeof(rec->to) },
		{ rec->user, sizeof(rec->user) },
		{ rec->session, sizeof(rec->session) },
		{ rec->reply, sizeof(rec->reply) },
		{ rec->node, sizeof(rec->node) },
	};

	memset(rec, 0, sizeof(*rec));
	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (nf == SPOOL_FIELDS) {
			*why = "too many fields";
			return (false);
		}
		f[nf] = line + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	if (nf != SPOOL_FIELDS) {
		*why = "too few fields";
		return (false);
	}
	if (flen[0] != 2 || memcmp(f[0], SPOOL_MAGIC, 2) != 0) {
		*why = "not a spool line";
		return (false);
	}
	if (!spool_get_field(f[1], flen[1], rec->uid, sizeof(rec->uid))) {
		*why = "bad uid";
		return (false);
	}
	if (!spool_get_num(f[2], flen[2], INT64_MIN + 1, INT64_MAX, &v)) {
		*why = "bad time";
		return (false);
	}
	rec->time_us = v;
	if (!spool_get_num(f[3], flen[3], 0, ATTACK_KIND_COUNT - 1, &v)) {
		*why = "bad kind";
		return (false);
	}
	rec->kind = (enum attack_kind)v;
	if (!spool_get_num(f[4], flen[4], 0, 65535, &v)) {
		*why = "bad port";
		return (false);
	}
	rec->port = (int)v;
	if (!spool_get_num(f[5], flen[5], 0, 1, &v)) {
		*why = "bad withdrawn flag";
		return (false);
	}
	rec->withdrawn = v != 0;
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		if (!spool_get_field(f[6 + i], flen[6 + i], text[i].dst,
		    text[i].len)) {
			*why = "bad or overlong text field";
			return (false);
		}
	}
	return (true);
}

static uint64_t
spool_file_size(const char *path)
{
	struct stat	st;

	return (stat(path, &st) == 0 ? (uint64_t)st.st_size : 0);
}

struct store_spool *
store_spool_open(const char *dir, uint64_t max_bytes, char *err,
    size_t errlen)
{
	struct store_spool	*sp;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return (NULL);
	}
	sp = xcalloc(1, sizeof(*sp));
	if (!text_copy(sp->dir, dir, sizeof(sp->dir)) ||
	    !text_printf(sp->path, sizeof(sp->path), "%s/records", dir) ||
	    !text_printf(sp->replay, sizeof(sp->replay), "%s/replaying",
	    dir)) {
		snprintf(err, errlen, "%s: path too long", dir);
		free(sp);
		return (NULL);
	}
	sp->max_bytes = max_bytes;
	sp->fd = -1;
	sp->bytes = spool_file_size(sp->path) + spool_file_size(sp->replay);
	return (sp);
}

void
store_spool_close(struct store_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd != -1)
		close(sp->fd);
	free(sp);
}

uint64_t
store_spool_bytes(const struct store_spool *sp)
{
	return (sp->bytes);
}

int
store_spool_append(struct store_spool *sp, const struct attack_record *recs,
    size_t n, char *err, size_t errlen)
{
	char		 line[STORE_SPOOL_LINE_MAX];
	char		*buf;
	size_t		 len = 0, l, i;
	ssize_t		 w;
	off_t		 at;

	for (i = 0; i < n; i++) {
		if (!store_spool_format(&recs[i], line, sizeof(line)))
			continue;	/* cannot happen: fields are bounded */
		len += strlen(line);
	}
	if (sp->bytes + len > sp->max_bytes) {
		snprintf(err, errlen, "spool full (%" PRIu64 " of %" PRIu64
		    " bytes)", sp->bytes, sp->max_bytes);
		return (-1);
	}
	buf = xmalloc(len + 1);
	len = 0;
	for (i = 0; i < n; i++) {
		if (!store_spool_format(&recs[i], line, sizeof(line)))
			continue;
		l = strlen(line);
		memcpy(buf + len, line, l);
		len += l;
	}
	if (sp->fd == -1 && (sp->fd = open(sp->path, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", sp->path, strerror(errno));
		free(buf);
		return (-1);
	}
	at = lseek(sp->fd, 0, SEEK_END);
	for (i = 0; i < len; i += (size_t)w) {
		if ((w = write(sp->fd, buf + i, len - i)) <= 0) {
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			snprintf(err, errlen, "%s: write: %s", sp->path,
			    w < 0 ? strerror(errno) : "short");
			/* All or nothing: cut what was written. */
			if (at >= 0 && ftruncate(sp->fd, at) != 0)
				log_warn("%s: ftruncate: %s", sp->path,
				    strerror(errno));
			free(buf);
			return (-1);
		}
	}
	free(buf);
	if (fsync(sp->fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", sp->path,
		    strerror(errno));
		return (-1);
	}
	sp->bytes += len;
	return (0);
}

/* Hand the records of path to cb; 0 when all went through. */
static int
spool_replay_file(struct store_spool *sp, const char *path, store_spool_cb cb,
    void *arg, uint64_t *done)
{
	struct attack_record	*recs;
	FILE			*fp;
	char			*line;
	const char		*why;
	size_t			 n = 0, len;
	uint64_t		 lineno = 0;
	int			 rc = 0;

	(void)sp;
	if ((fp = fopen(path, "re")) == NULL)
		return (errno == ENOENT ? 0 : -1);
	recs = xcalloc(STORE_SPOOL_CHUNK, sizeof(*recs));
	line = xmalloc(STORE_SPOOL_LINE_MAX);
	while (fgets(line, STORE_SPOOL_LINE_MAX, fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			if (!feof(fp)) {
				/* Overlong: skip the rest of it. */
				int c;

				while ((c = fgetc(fp)) != EOF && c != '\n')
					;
			}
			log_warn("store spool: %s line %" PRIu64 ": %s, "
			    "skipped", path, lineno, feof(fp) ?
			    "incomplete last line" : "too long");
			continue;
		}
		if (!store_spool_parse(line, len - 1, &recs[n], &why)) {
			log_warn("store spool: %s line %" PRIu64 ": %s, "
			    "skipped", path, lineno, why);
			continue;
		}
		if (++n == STORE_SPOOL_CHUNK) {
			if ((rc = cb(recs, n, arg)) != 0)
				break;
			*done += n;
			n = 0;
		}
	}
	if (rc == 0 && n > 0) {
		if ((rc = cb(recs, n, arg)) == 0)
			*done += n;
	}
	fclose(fp);
	free(line);
	free(recs);
	return (rc == 0 ? 0 : -1);
}

int
store_spool_replay(struct store_spool *sp, store_spool_cb cb, void *arg,
    uint64_t *done_out)
{
	uint64_t	done = 0;
	int		rc = 0;

	if (done_out != NULL)
		*done_out = 0;
	/* A replay cut short last time goes first (its records are older). */
	if (spool_file_size(sp->replay) > 0 || access(sp->replay, F_OK) == 0) {
		if (spool_replay_file(sp, sp->replay, cb, arg, &done) != 0)
			rc = -1;
		else
			(void)unlink(sp->replay);
	}
	if (rc == 0 && spool_file_size(sp->path) > 0) {
		/* New records append to a new file from now on. */
		if (sp->fd != -1) {
			close(sp->fd);
			sp->fd = -1;
		}
		if (rename(sp->path, sp->replay) != 0)
			rc = -1;
		else if (spool_replay_file(sp, sp->replay, cb, arg, &done) !=
		    0)
			rc = -1;
		else
			(void)unlink(sp->replay);
	}
	sp->bytes = spool_file_size(sp->path) + spool_file_size(sp->replay);
	if (done_out != NULL)
		*done_out = done;
	return (rc == 0 && sp->bytes == 0 ? 0 : -1);
}
