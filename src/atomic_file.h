/*
 * atomic_file.h: one way to replace a whole file so that a reader (or a
 * crash) sees the old contents or the new, never part: write a temp file
 * in the same directory, fsync it, rename it over the name and, when
 * asked, fsync the directory. The spool, the queue, the page and the
 * report writer use it; the spool's commit threads batch their directory
 * fsyncs themselves (no ATOMIC_FILE_DIRSYNC there).
 */
#ifndef ATOMIC_FILE_H
#define ATOMIC_FILE_H

#include <sys/types.h>

#include <stddef.h>

/* Remove a leftover temp first, then create it with O_EXCL|O_NOFOLLOW:
 * never write through a file planted (or hard-linked) under its name. */
#define ATOMIC_FILE_FRESH	0x01
/* fchmod the file to mode, whatever the umask. */
#define ATOMIC_FILE_CHMOD	0x02
/* fchown the file to uid:gid. */
#define ATOMIC_FILE_CHOWN	0x04
/* fsync dirfd after the rename. */
#define ATOMIC_FILE_DIRSYNC	0x08

struct atomic_file {
	int		 dirfd;		/* AT_FDCWD: tmp and name are paths */
	const char	*tmp;		/* temp name, same directory as name */
	const char	*name;
	mode_t		 mode;
	int		 flags;		/* ATOMIC_FILE_* */
	uid_t		 uid;		/* with ATOMIC_FILE_CHOWN */
	gid_t		 gid;
};

/*
 * Replace af->name with len bytes of data. Returns 0, or -1 with errno
 * set, the temp file removed and *step_out (when not NULL) naming what
 * failed: "unlink", "create" or "write" (which covers write, chmod,
 * chown, fsync, close and rename), or "fsync" for the directory (the
 * file is then in place but its name may not be durable yet).
 */
int atomic_file_write(const struct atomic_file *af, const void *data,
    size_t len, const char **step_out);

#endif
