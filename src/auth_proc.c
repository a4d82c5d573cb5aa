/*
 * auth_proc.c: the auth process (auth_proc.h). Its input comes from our
 * own engine over typed frames (ipc.h), but the user names and passwords
 * in them were typed by untrusted clients: they are bounded by the frame
 * and only ever handed to passwd_file_verify(). A pool of threads runs the
 * slow hashes in parallel; the reader thread only queues. A reload thread
 * answers SIGHUP reloads for the engine (ipc.h, struct ipc_reload_res):
 * the config path is the one we were started with, never one the engine
 * names, so the engine cannot make root read a file of its choosing.
 */
#include <sys/mman.h>
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "auth_proc.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "passwd_file.h"
#include "text.h"

#define AUTH_THREADS_MAX	8

struct job {
	struct ipc_auth_req	 req;
	struct job		*next;
};

static pthread_mutex_t	 q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 q_cond = PTHREAD_COND_INITIALIZER;
static struct job	*q_head, **q_tail = &q_head;
static bool		 q_stop;
static pthread_rwlock_t	 db_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct passwd_db	*db;
static pthread_mutex_t	 w_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 engine_fd;

static void *
worker(void *arg)
{
	struct job		*j;
	struct ipc_auth_res	 res;
	bool			 ok;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&q_lock);
		while (q_head == NULL && !q_stop)
			pthread_cond_wait(&q_cond, &q_lock);
		if (q_head == NULL) {
			pthread_mutex_unlock(&q_lock);
			return NULL;
		}
		j = q_head;
		if ((q_head = j->next) == NULL)
			q_tail = &q_head;
		pthread_mutex_unlock(&q_lock);

		pthread_rwlock_rdlock(&db_lock);
		ok = db != NULL && passwd_file_verify(db, j->req.user,
		    j->req.password);
		pthread_rwlock_unlock(&db_lock);
		res.id = j->req.id;
		res.result = ok ? AUTH_OK : AUTH_FAIL;
		explicit_bzero(j, sizeof(*j));
		free(j);
		pthread_mutex_lock(&w_lock);
		if (ipc_write(engine_fd, IPC_AUTH_RES, &res, sizeof(res)) == -1)
			_exit(0);	/* engine gone */
		pthread_mutex_unlock(&w_lock);
	}
}

static void
load(const char *path)
{
	struct passwd_db	*fresh = NULL;
	char			 err[1024];

	if (*path != '\0' &&
	    (fresh = passwd_file_load(path, err, sizeof(err))) == NULL) {
		log_err("%s; keeping the users loaded before", err);
		return;
	}
	pthread_rwlock_wrlock(&db_lock);
	passwd_file_free(db);
	db = fresh;
	pthread_rwlock_unlock(&db_lock);
}

/* Open path read-only for the engine; -1 with "PATH: reason" in err. */
static int
open_for_engine(const char *path, char *err, size_t errlen)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		text_printf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

/*
 * Parse fd's file with load() through a duplicate, so the engine can read
 * it again from offset 0. false with the loader's message in err.
 */
static bool
parse_fd(int fd, const char *path, bool (*check)(FILE *, const char *,
    char *, size_t, void *), void *arg, char *err, size_t errlen)
{
	FILE	*fp;
	int	 dfd;
	bool	 ok;

	if ((dfd = dup(fd)) == -1 || (fp = fdopen(dfd, "r")) == NULL) {
		text_printf(err, errlen, "%s: %s", path, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return false;
	}
	ok = check(fp, path, err, errlen, arg);
	fclose(fp);
	return ok;
}

static bool
check_config(FILE *fp, const char *path, char *err, size_t errlen,
    void *arg)
{
	struct config	**cfg_out = arg;

	*cfg_out = config_load_fp(fp, path, err, errlen);
	return *cfg_out != NULL;
}

static bool
check_aliases(FILE *fp, const char *path, char *err, size_t errlen,
    void *arg)
{
	struct alias_db	*adb;

	(void)arg;
	adb = aliases_load_fp(fp, path, err, errlen);
	aliases_free(adb);
	return adb != NULL;
}

/* The user names of users in a fresh memory file, at offset 0; -1 on error. */
static int
names_fd(const struct passwd_db *users, char *err, size_t errlen)
{
	FILE	*fp;
	int	 fd, dfd;

	if ((fd = memfd_create("pillory-users", MFD_CLOEXEC)) == -1 ||
	    (dfd = dup(fd)) == -1) {
		text_printf(err, errlen, "memfd: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((fp = fdopen(dfd, "w")) == NULL) {
		close(dfd);
		close(fd);
		text_printf(err, errlen, "memfd: %s", strerror(errno));
		return -1;
	}
	if (!passwd_file_write_names(users, fp) || fclose(fp) != 0 ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		text_printf(err, errlen, "memfd: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One SIGHUP: re-read config_path and the files it names as root, swap in
 * the new passwd-file here, and answer with descriptors for the engine.
 * Nothing changes here when anything but the TLS files fails.
 */
static void
reload(int rfd, const char *config_path, uint32_t serial)
{
	struct ipc_reload_res	 res;
	struct config		*cfg = NULL;
	struct passwd_db	*fresh = NULL;
	int			 fd[IPC_FDS_MAX], send[IPC_FDS_MAX];
	size_t			 i, n = 0;

	memset(&res, 0, sizeof(res));
	res.serial = serial;
	for (i = 0; i < IPC_FDS_MAX; i++)
		fd[i] = -1;
	/* fd[] in IPC_RELOAD_FD_* bit order. */
	if ((fd[0] = open_for_engine(config_path, res.err,
	    sizeof(res.err))) == -1 || !parse_fd(fd[0], config_path,
	    check_config, &cfg, res.err, sizeof(res.err)))
		goto answer;
	if (*cfg->passwd_file != '\0') {
		if ((fresh = passwd_file_load(cfg->passwd_file, res.err,
		    sizeof(res.err))) == NULL ||
		    (fd[1] = names_fd(fresh, res.err, sizeof(res.err))) == -1)
			goto answer;
	}
	if (*cfg->aliases_file != '\0' &&
	    ((fd[2] = open_for_engine(cfg->aliases_file, res.err,
	    sizeof(res.err))) == -1 || !parse_fd(fd[2], cfg->aliases_file,
	    check_aliases, NULL, res.err, sizeof(res.err))))
		goto answer;
	if (*cfg->tls_cert != '\0' &&
	    ((fd[3] = open_for_engine(cfg->tls_cert, res.tls_err,
	    sizeof(res.tls_err))) == -1 ||
	    (fd[4] = open_for_engine(*cfg->tls_key != '\0' ? cfg->tls_key :
	    cfg->tls_cert, res.tls_err, sizeof(res.tls_err))) == -1)) {
		/* The engine keeps the certificate it has. */
		if (fd[3] != -1)
			close(fd[3]);
		fd[3] = -1;
	}
	res.ok = 1;
	pthread_rwlock_wrlock(&db_lock);
	passwd_file_free(db);
	db = fresh;
	fresh = NULL;
	pthread_rwlock_unlock(&db_lock);
	log_info("reload: %s re-read", config_path);
answer:
	if (!res.ok)
		log_err("reload: %s; keeping the users loaded before",
		    res.err);
	for (i = 0; i < IPC_FDS_MAX; i++)
		if (res.ok && fd[i] != -1) {
			res.fds |= 1u << i;
			send[n++] = fd[i];
		}
	if (ipc_send_fds(rfd, IPC_RELOAD_RES, &res, sizeof(res), send,
	    n) == -1)
		log_err("reload: cannot answer the engine: %s",
		    strerror(errno));
	for (i = 0; i < IPC_FDS_MAX; i++)
		if (fd[i] != -1)
			close(fd[i]);
	passwd_file_free(fresh);
	config_free(cfg);
}

struct reloader {
	int		 fd;
	const char	*config_path;
};

static void *
reload_thread(void *arg)
{
	struct reloader		*r = arg;
	union {
		struct ipc_reload_req	req;
		char			raw[IPC_PAYLOAD_MAX];
	}			 u;
	int			 fds[IPC_FDS_MAX];
	size_t			 nfds, i;
	uint32_t		 type;

	while (ipc_recv_fds(r->fd, &type, &u, fds, &nfds) == 1) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (type != IPC_RELOAD_REQ || nfds != 0)
			FATAL("unexpected frame on the reload channel");
		reload(r->fd, r->config_path, u.req.serial);
	}
	return NULL;
}

int
auth_proc_run(int fd, int reload_fd, const char *config_path,
    const char *passwd_file)
{
	union {
		struct ipc_auth_req	req;
		char			raw[IPC_PAYLOAD_MAX];
	}			 u;
	static struct reloader	 r;
	pthread_t		 threads[AUTH_THREADS_MAX], rthread;
	long			 n = sysconf(_SC_NPROCESSORS_ONLN);
	size_t			 nthreads, i;
	uint32_t		 type;
	struct job		*j;
	int			 rc;

	log_init("pillory-auth", false);
	/* The engine decides when we stop: a Ctrl-C to the process group
	 * must not kill us first and make the engine fail closed. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	engine_fd = fd;
	load(passwd_file);
	nthreads = n < 1 ? 1 : n > AUTH_THREADS_MAX ? AUTH_THREADS_MAX :
	    (size_t)n;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL) != 0)
			FATAL("pthread_create");
	r.fd = reload_fd;
	r.config_path = config_path;
	if (pthread_create(&rthread, NULL, reload_thread, &r) != 0)
		FATAL("pthread_create");
	pthread_detach(rthread);
	while ((rc = ipc_read(fd, &type, &u)) == 1) {
		switch (type) {
		case IPC_AUTH_REQ:
			if (!ipc_field_ok(u.req.user, sizeof(u.req.user)) ||
			    !ipc_field_ok(u.req.password,
			    sizeof(u.req.password)))
				FATAL("auth request without NUL");
			if ((j = calloc(1, sizeof(*j))) == NULL)
				FATAL("out of memory");
			j->req = u.req;
			explicit_bzero(&u, sizeof(u));
			pthread_mutex_lock(&q_lock);
			*q_tail = j;
			q_tail = &j->next;
			pthread_cond_signal(&q_cond);
			pthread_mutex_unlock(&q_lock);
			break;
		default:
			FATAL("unexpected frame");
		}
	}
	pthread_mutex_lock(&q_lock);
	q_stop = true;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_rwlock_wrlock(&db_lock);
	passwd_file_free(db);
	db = NULL;
	pthread_rwlock_unlock(&db_lock);
	return rc == 0 ? 0 : 1;
}
