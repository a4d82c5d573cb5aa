/*
 * publish_site.c: the site directory and its files. Every file is
 * written to ".NAME.PID.tmp" in its own directory, fsynced, renamed over
 * NAME, and the directory fsynced after the generation's renames; a
 * file whose bytes did not change is not rewritten.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "config.h"
#include "log.h"
#include "publish.h"
#include "publish_priv.h"
#include "text.h"
#include "xalloc.h"

/* Temp files left by a crash are removed after this long. */
#define PUBLISH_STALE_TMP_S	3600

/*
 * Files.
 */

int
publish_site_fail(struct publish_ctx *ctx, const char *what, const char *name)
{
	snprintf(ctx->err, ctx->errlen, "%s/%s: %s: %s", ctx->conf->dir,
	    name, what, strerror(errno));
	return (-1);
}

/* True when dirfd/name holds exactly e's bytes. */
static bool
publish_site_same(int dirfd, const char *name, const struct emit *e)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 r;
	size_t		 got = 0;
	bool		 same = false;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return (false);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size != e->len) {
		close(fd);
		return (false);
	}
	buf = xmalloc(e->len + 1);
	while (got < e->len) {
		r = read(fd, buf + got, e->len - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	same = (got == e->len && memcmp(buf, e->buf, e->len) == 0);
	free(buf);
	close(fd);
	return (same);
}

/*
 * Write e's bytes as dirfd/name: temp file in the same directory, fsync,
 * rename. With compare, an identical file is left alone.
 */
int
publish_site_put(struct publish_ctx *ctx, bool inc, const char *name,
    bool compare)
{
	const struct emit	*e = &ctx->e;
	struct atomic_file	 af;
	char			 tmp[256];
	const char		*step;
	int			 dirfd = inc ? ctx->incfd : ctx->topfd;

	ctx->files++;
	if (compare && publish_site_same(dirfd, name, e))
		return (0);
	if (!text_printf(tmp, sizeof(tmp), ".%s.%ld.tmp", name,
	    (long)getpid())) {
		errno = ENAMETOOLONG;
		return (publish_site_fail(ctx, "temp name", name));
	}
	/* A fresh file: never one planted (or hard-linked) under this name;
	 * readable by a web server whatever our umask. */
	af = (struct atomic_file){ .dirfd = dirfd, .tmp = tmp, .name = name,
	    .mode = 0644, .flags = ATOMIC_FILE_FRESH | ATOMIC_FILE_CHMOD |
	    (ctx->chown ? ATOMIC_FILE_CHOWN : 0), .uid = ctx->uid,
	    .gid = ctx->gid };
	if (atomic_file_write(&af, e->buf, e->len, &step) != 0)
		return (publish_site_fail(ctx, step, tmp));
	if (inc)
		ctx->incdirty = true;
	else
		ctx->topdirty = true;
	ctx->written++;
	return (0);
}

/* Remove ".NAME.PID.tmp" files that a crash left behind. */
static void
publish_site_sweep(int dirfd)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*dp;
	size_t		 len;
	time_t		 now = time(NULL);
	int		 fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] != '.' || len < 6 ||
		    strcmp(de->d_name + len - 4, ".tmp") != 0)
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode) &&
		    now - sb.st_mtime > PUBLISH_STALE_TMP_S)
			(void)unlinkat(dirfd, de->d_name, 0);
	}
	closedir(dp);
}

/*
 * Open (making them as needed) the site directory and its incidents/.
 * Run as root (`pillory publish` by the admin), new files and folders get
 * the owner of the site directory, or of its parent when we make it, so
 * the daemon, running as [server] user, can still replace them.
 */
int
publish_site_open(struct publish_ctx *ctx)
{
	struct stat	 sb, parent;
	const char	*dir = ctx->conf->dir;
	char		 up[CONFIG_PATH_MAX + 16], *slash;
	bool		 made = false;

	if (mkdir(dir, 0755) == 0)
		made = true;
	else if (errno != EEXIST) {
		snprintf(ctx->err, ctx->errlen, "%s: mkdir: %s", dir,
		    strerror(errno));
		return (-1);
	}
	/* As root (`pillory publish` by the admin) never through a link:
	 * the daemon's user may have planted one under state_dir. */
	if ((ctx->topfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (geteuid() == 0 ? O_NOFOLLOW : 0))) == -1) {
		int e = errno;

		snprintf(ctx->err, ctx->errlen, "%s: %s", dir,
		    lstat(dir, &sb) == 0 && S_ISLNK(sb.st_mode) ? "a symbolic "
		    "link, not followed as root" : strerror(e));
		return (-1);
	}
	if (geteuid() == 0 && fstat(ctx->topfd, &sb) == 0) {
		ctx->chown = true;
		ctx->uid = sb.st_uid;
		ctx->gid = sb.st_gid;
		if (made && text_copy(up, dir, sizeof(up)) &&
		    (slash = strrchr(up, '/')) != NULL) {
			if (slash == up)
				slash[1] = '\0';
			else
				*slash = '\0';
			if (stat(up, &parent) == 0) {
				ctx->uid = parent.st_uid;
				ctx->gid = parent.st_gid;
				if (fchown(ctx->topfd, ctx->uid,
				    ctx->gid) != 0)
					log_warn("%s: chown: %s", dir,
					    strerror(errno));
			}
		}
	}
	if (mkdirat(ctx->topfd, "incidents", 0755) == 0) {
		if (ctx->chown && fchownat(ctx->topfd, "incidents", ctx->uid,
		    ctx->gid, AT_SYMLINK_NOFOLLOW) != 0)
			log_warn("%s/incidents: chown: %s", dir,
			    strerror(errno));
		ctx->topdirty = true;
	} else if (errno != EEXIST) {
		snprintf(ctx->err, ctx->errlen, "%s/incidents: mkdir: %s",
		    dir, strerror(errno));
		return (-1);
	}
	if ((ctx->incfd = openat(ctx->topfd, "incidents", O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(ctx->err, ctx->errlen, "%s/incidents: %s", dir,
		    strerror(errno));
		return (-1);
	}
	if (ctx->sweep) {
		publish_site_sweep(ctx->topfd);
		publish_site_sweep(ctx->incfd);
	}
	return (0);
}

/* Make the generation's renames durable; close the directories. */
int
publish_site_close(struct publish_ctx *ctx, int rc)
{
	if (rc == 0 && ctx->incdirty && fsync(ctx->incfd) != 0)
		rc = publish_site_fail(ctx, "fsync", "incidents");
	if (rc == 0 && ctx->topdirty && fsync(ctx->topfd) != 0)
		rc = publish_site_fail(ctx, "fsync", ".");
	if (ctx->incfd != -1)
		close(ctx->incfd);
	if (ctx->topfd != -1)
		close(ctx->topfd);
	ctx->incfd = ctx->topfd = -1;
	return (rc);
}

