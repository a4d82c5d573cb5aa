/*
 * auth_proc.c: the auth process (auth_proc.h). Its input comes from our
 * own engine over typed frames (ipc.h), but the user names and passwords
 * in them were typed by untrusted clients: they are bounded by the frame
 * and only ever handed to passwd_file_verify(). A pool of threads runs the
 * slow hashes in parallel; the reader thread only queues.
 */
#include <sys/prctl.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_proc.h"
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

int
auth_proc_run(int fd, const char *passwd_file)
{
	union {
		struct ipc_auth_req	req;
		struct ipc_reload	reload;
		char			raw[IPC_PAYLOAD_MAX];
	}			 u;
	pthread_t		 threads[AUTH_THREADS_MAX];
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
		case IPC_RELOAD:
			if (!ipc_field_ok(u.reload.passwd_file,
			    sizeof(u.reload.passwd_file)))
				FATAL("reload without NUL");
			load(u.reload.passwd_file);
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
	passwd_file_free(db);
	return rc == 0 ? 0 : 1;
}
