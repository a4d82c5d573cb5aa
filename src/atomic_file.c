/*
 * atomic_file.c: replace a whole file through a temp file in the same
 * directory (atomic_file.h). rename(2) within one directory is atomic;
 * the fsync before it makes the new contents durable before the name
 * points at them, the directory fsync after it makes the name durable.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "atomic_file.h"

static int
atomic_file_fail(const struct atomic_file *af, int fd, const char *step,
    const char **step_out)
{
	int	saved = errno;

	if (fd != -1)
		(void)close(fd);
	(void)unlinkat(af->dirfd, af->tmp, 0);
	if (step_out != NULL)
		*step_out = step;
	errno = saved;
	return (-1);
}

int
atomic_file_write(const struct atomic_file *af, const void *data,
    size_t len, const char **step_out)
{
	const char	*p = data;
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd, oflags = O_WRONLY | O_CREAT | O_CLOEXEC;

	if (af->flags & ATOMIC_FILE_FRESH) {
		if (unlinkat(af->dirfd, af->tmp, 0) == -1 && errno != ENOENT) {
			if (step_out != NULL)
				*step_out = "unlink";
			return (-1);
		}
		oflags |= O_EXCL | O_NOFOLLOW;
	} else
		oflags |= O_TRUNC;
	if ((fd = openat(af->dirfd, af->tmp, oflags, af->mode)) == -1) {
		if (step_out != NULL)
			*step_out = "create";
		return (-1);
	}
	while (off < len) {
		if ((w = write(fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return (atomic_file_fail(af, fd, "write", step_out));
		}
		off += (size_t)w;
	}
	if (((af->flags & ATOMIC_FILE_CHMOD) && fchmod(fd, af->mode) != 0) ||
	    ((af->flags & ATOMIC_FILE_CHOWN) &&
	    fchown(fd, af->uid, af->gid) != 0) || fsync(fd) != 0)
		return (atomic_file_fail(af, fd, "write", step_out));
	if (close(fd) != 0)
		return (atomic_file_fail(af, -1, "write", step_out));
	if (renameat(af->dirfd, af->tmp, af->dirfd, af->name) != 0)
		return (atomic_file_fail(af, -1, "write", step_out));
	if ((af->flags & ATOMIC_FILE_DIRSYNC) && fsync(af->dirfd) != 0) {
		if (step_out != NULL)
			*step_out = "fsync";
		return (-1);
	}
	return (0);
}
