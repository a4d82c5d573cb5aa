/*
 * serve.c: `pillory serve`. Started as root it binds every listener, then
 * drops to [server] user and runs the engine's event loop: SMTP sessions,
 * the spool's commit completions, DNS, the attack log. SIGHUP asks the auth
 * process (which stays root) to re-read the config, passwd-file, aliases
 * and TLS files, and swaps in what it hands back between events; SIGTERM
 * and SIGINT stop accepting, let commits in flight finish, flush the attack
 * log and exit 0.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>
#include <systemd/sd-daemon.h>

#include "aliases.h"
#include "attacklog.h"
#include "auth.h"
#include "auth_proc.h"
#include "config.h"
#include "defense.h"
#include "dns.h"
#include "engine.h"
#include "httpd.h"
#include "ipc.h"
#include "publish.h"
#include "listener.h"
#include "log.h"
#include "passwd_file.h"
#include "policyd.h"
#include "pop3.h"
#include "proctitle.h"
#include "queue.h"
#include "serve.h"
#include "smtp_session.h"
#include "spool.h"
#include "store.h"
#include "submit.h"
#include "text.h"
#include "tls.h"
#include "verify.h"

static struct engine	engine;
static struct listeners	listeners;

/* What each listening role runs; the listener itself knows no protocol. */
static const struct listener_role_def listener_roles[LISTENER_ROLE_COUNT] = {
	[LISTENER_MX] = { .name = "mx", .busy = smtp_session_busy,
	    .accept = smtp_session_accept },
	[LISTENER_SUBMISSION] = { .name = "submission", .busy = smtp_session_busy,
	    .accept = smtp_session_accept },
	[LISTENER_SMTPS] = { .name = "smtps", .implicit_tls = true,
	    .busy = smtp_session_busy, .accept = smtp_session_accept },
	[LISTENER_POP3] = { .name = "pop3", .busy = pop3_session_busy,
	    .accept = pop3_session_accept },
	[LISTENER_POP3S] = { .name = "pop3s", .implicit_tls = true,
	    .busy = pop3_session_busy, .accept = pop3_session_accept },
};
static pid_t		auth_pid = -1;
static int		exit_code;
static struct publisher	*publisher;
static struct httpd	*httpd;
static int		 http_fds[CONFIG_LIST_MAX];
static size_t		 nhttp_fds;
static struct submit	*submit;	/* sendmail's socket (submit.h) */
static int		 reload_fd = -1;
static struct event	*reload_ev;
static uint32_t		 reload_serial;
static struct policyd_sockets	policy_socks;
static struct policyd	*policyd;

static void	stop(int);

/* Load the user tables a config names; false with err set on failure. */
static bool
load_tables(const struct config *cfg, struct passwd_db **users_out,
    struct alias_db **aliases_out, char *err, size_t errlen)
{
	*users_out = NULL;
	*aliases_out = NULL;
	if (*cfg->passwd_file != '\0' &&
	    (*users_out = passwd_file_load(cfg->passwd_file, err,
	    errlen)) == NULL)
		return false;
	/* The engine only needs to know who exists; hashes stay with the
	 * auth process. */
	passwd_file_forget_hashes(*users_out);
	if (*cfg->aliases_file != '\0' &&
	    (*aliases_out = aliases_load(cfg->aliases_file, err,
	    errlen)) == NULL) {
		passwd_file_free(*users_out);
		*users_out = NULL;
		return false;
	}
	return true;
}

/* verify.c findings at start-up go to the log. */
static void
startup_report(enum verify_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	log_warn("%s", strncmp(msg, "warning: ", 9) == 0 ? msg + 9 : msg);
}

static bool
endpoints_equal(const struct config_endpoints *a,
    const struct config_endpoints *b)
{
	size_t	i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++)
		if (strcmp(a->items[i].text, b->items[i].text) != 0)
			return false;
	return true;
}

/* fdopen fd from its start; the stream owns it (*fd becomes -1). */
static FILE *
reload_stream(int *fd, char *err, size_t errlen)
{
	FILE	*fp;

	if (lseek(*fd, 0, SEEK_SET) == -1 || (fp = fdopen(*fd, "r")) == NULL) {
		text_printf(err, errlen, "reading a reloaded file: %s",
		    strerror(errno));
		return NULL;
	}
	*fd = -1;
	return fp;
}

/* The new TLS context from the answer's descriptors, or keep the old. */
static void
reload_tls(const struct config *cfg, const struct ipc_reload_res *res,
    const int *fd)
{
	SSL_CTX		*tls;
	char		 err[1024];
	const char	*key;

	key = *cfg->tls_key != '\0' ? cfg->tls_key : cfg->tls_cert;
	if (*res->tls_err != '\0') {
		log_err("reload: [tls] %s; keeping the certificate loaded "
		    "before", res->tls_err);
		return;
	}
	if (fd[3] == -1 || fd[4] == -1) {
		if (engine.tls != NULL)
			log_warn("reload: [tls] turning TLS off takes effect "
			    "at the next restart");
		return;
	}
	/* fd[] in IPC_RELOAD_FD_* bit order: 3 cert, 4 key. */
	if ((tls = tls_server_ctx_fd(fd[3], cfg->tls_cert, fd[4], key, err,
	    sizeof(err))) == NULL) {
		log_err("reload: [tls] %s; keeping the certificate loaded "
		    "before", err);
		return;
	}
	/* Sessions already in TLS hold their own reference. */
	SSL_CTX_free(engine.tls);
	engine.tls = tls;
	log_info("reload: [tls] certificate %s loaded", cfg->tls_cert);
}

/*
 * The auth process answered a SIGHUP: the config, user names, aliases and
 * TLS files it read as root arrive as descriptors (ipc.h). Swap them in,
 * or keep everything when any but the TLS files is broken.
 */
static void
reload_apply(const struct ipc_reload_res *res, const int *fds, size_t nfds)
{
	struct config		*cfg = NULL;
	struct passwd_db	*users = NULL;
	struct alias_db		*aliases = NULL;
	FILE			*fp;
	char			 err[1024];
	int			 fd[IPC_FDS_MAX];
	size_t			 i, n = 0;

	for (i = 0; i < IPC_FDS_MAX; i++)
		fd[i] = (res->fds & (1u << i)) && n < nfds ? fds[n++] : -1;
	if (n != nfds || !ipc_field_ok(res->err, sizeof(res->err)) ||
	    !ipc_field_ok(res->tls_err, sizeof(res->tls_err)))
		FATAL("malformed reload answer");
	if (!res->ok) {
		log_err("reload: %s; keeping the running config", res->err);
		goto done;
	}
	if (fd[0] == -1)
		FATAL("reload answer without the config");
	if ((fp = reload_stream(&fd[0], err, sizeof(err))) == NULL)
		goto fail;
	cfg = config_load_fp(fp, engine.cfg->path, err, sizeof(err));
	fclose(fp);
	if (cfg == NULL)
		goto fail;
	if (fd[1] != -1) {
		if ((fp = reload_stream(&fd[1], err, sizeof(err))) == NULL)
			goto fail;
		users = passwd_file_load_names_fp(fp, cfg->passwd_file, err,
		    sizeof(err));
		fclose(fp);
		if (users == NULL)
			goto fail;
	}
	if (fd[2] != -1) {
		if ((fp = reload_stream(&fd[2], err, sizeof(err))) == NULL)
			goto fail;
		aliases = aliases_load_fp(fp, cfg->aliases_file, err,
		    sizeof(err));
		fclose(fp);
		if (aliases == NULL)
			goto fail;
	}
	if (!endpoints_equal(&cfg->smtp_listen, &engine.cfg->smtp_listen) ||
	    !endpoints_equal(&cfg->smtp_proxy_protocol,
	    &engine.cfg->smtp_proxy_protocol) ||
	    strcmp(cfg->state_dir, engine.cfg->state_dir) != 0 ||
	    strcmp(cfg->policy_listen, engine.cfg->policy_listen) != 0)
		log_warn("reload: listener and state_dir changes take effect "
		    "at the next restart");
	reload_tls(cfg, res, fd);
	passwd_file_free(engine.users);
	aliases_free(engine.aliases);
	config_free(engine.cfg);
	engine.cfg = cfg;
	engine.users = users;
	engine.aliases = aliases;
	publisher_reload(publisher, cfg, &(struct publish_tables){ users,
	    aliases });
	attacklog_reload(engine.alog, cfg);
	log_set_syslog(cfg->syslog);
	log_syslog_check(cfg->syslog);
	log_info("reloaded %s: %zu domains, %zu users, %zu aliases",
	    cfg->path, cfg->domains.count,
	    users ? passwd_file_count(users) : 0,
	    aliases ? aliases_count(aliases) : 0);
	goto done;
fail:
	log_err("reload: %s; keeping the running config", err);
	passwd_file_free(users);
	aliases_free(aliases);
	config_free(cfg);
done:
	for (i = 0; i < IPC_FDS_MAX; i++)
		if (fd[i] != -1)
			close(fd[i]);
	sd_notify(0, "READY=1");
}

static void
reload_read_cb(evutil_socket_t fd, short what, void *arg)
{
	union {
		struct ipc_reload_res	res;
		char			raw[IPC_PAYLOAD_MAX];
	}		 u;
	int		 fds[IPC_FDS_MAX];
	size_t		 nfds, i;
	uint32_t	 type;
	int		 rc;

	(void)what;
	(void)arg;
	while ((rc = ipc_recv_fds(fd, &type, &u, fds, &nfds)) == 1) {
		if (type != IPC_RELOAD_RES) {
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			FATAL("unexpected frame on the reload channel");
		}
		reload_apply(&u.res, fds, nfds);
	}
	if (rc == 0 || (rc == -1 && errno != EAGAIN && errno != EWOULDBLOCK))
		event_del(reload_ev);	/* auth_dead() stops us */
}

/*
 * SIGHUP. The engine no longer runs as root and may not read the
 * passwd-file, aliases, config or TLS key (mode 0600 root is what the auth
 * process is for): ask the auth process, which stays root, to read them;
 * reload_read_cb() gets the answer.
 */
static void
reload(void)
{
	struct ipc_reload_req	req = { ++reload_serial };

	if (ipc_send_fds(reload_fd, IPC_RELOAD_REQ, &req, sizeof(req), NULL,
	    0) == -1) {
		log_err("reload: cannot ask the auth process: %s",
		    strerror(errno));
		sd_notify(0, "READY=1");
	}
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		/* systemd Type=notify (sd_notify(3); a no-op elsewhere):
		 * READY=1 follows once the auth process has answered
		 * (reload_apply()) or could not be asked. */
		sd_notify(0, "RELOADING=1");
		reload();
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	stop(0);
}

static void
stop(int code)
{
	if (engine.stopping)
		return;
	engine.stopping = true;
	exit_code = code;
	sd_notify(0, "STOPPING=1");
	listener_close_all(&listeners);
	policyd_free(policyd);
	policyd = NULL;
	event_base_loopexit(engine.base, NULL);
}

/* Without the auth process nobody can log in; rather than run on with
 * every login failing (or worse), stop. */
static void
auth_dead(void *arg)
{
	(void)arg;
	log_err("the auth process died: stopping");
	stop(1);
}

/*
 * Fork the auth process before the privilege drop: it keeps root to
 * re-read files only root may read, and has no network socket. Returns
 * the engine's end of the login socketpair; reload_fd gets the engine's
 * end of the reload channel (SOCK_SEQPACKET, descriptors attached).
 */
static int
fork_auth(const struct config *cfg)
{
	int	sv[2], rv[2];
	size_t	i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rv) == -1) {
		fprintf(stderr, "pillory: socketpair: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((auth_pid = fork()) == -1) {
		fprintf(stderr, "pillory: fork: %s\n", strerror(errno));
		return -1;
	}
	if (auth_pid == 0) {
		proctitle_set("pillory: auth");
		close(sv[0]);
		close(rv[0]);
		for (i = 0; i < listeners.count; i++)
			close(listeners.items[i].fd);
		for (i = 0; i < nhttp_fds; i++)
			close(http_fds[i]);
		policyd_sockets_close(&policy_socks);
		_exit(auth_proc_run(sv[1], rv[1], cfg->path,
		    cfg->passwd_file));
	}
	close(sv[1]);
	close(rv[1]);
	reload_fd = rv[0];
	evutil_make_socket_nonblocking(reload_fd);
	return sv[0];
}

static void
raise_fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The spool committed a queue entry: deliver it now. */
static void
queued(const char *id, void *arg)
{
	queue_notify(arg, id);
}

/*
 * Open name (relative to at) as a directory, creating it 0700 when
 * missing, never through a symbolic link. Runs as root on paths the
 * daemon's user can write (it owns state_dir): a planted link must not get
 * a directory of root's chowned to that user. Returns the directory's fd,
 * or -1 after printing a message that names shown.
 */
static int
open_state_dir(int at, const char *name, const char *shown)
{
	struct stat	st;
	int		fd;

	if (mkdirat(at, name, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "pillory: %s: %s\n", shown, strerror(errno));
		return -1;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1)
		return fd;
	if ((errno == ELOOP || errno == ENOTDIR) &&
	    fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			fprintf(stderr, "pillory: %s is a symbolic link, not a "
			    "directory: refusing to follow it as root (remove "
			    "it, or point state_dir at the real directory)\n",
			    shown);
		else
			fprintf(stderr, "pillory: %s is not a directory: "
			    "refusing to start\n", shown);
		return -1;
	}
	fprintf(stderr, "pillory: %s: %s\n", shown, strerror(errno));
	return -1;
}

/* Make state_dir and its folders belong to the daemon's user, by
 * descriptor only (fchown), so no path under state_dir is followed. */
static int
prepare_state_dir(const char *dir, uid_t uid, gid_t gid)
{
	static const char	*subs[] = { "tmp", "queue", "mail" };
	char			 path[CONFIG_PATH_MAX + 16];
	size_t			 i;
	int			 top, fd, rc = -1;

	if ((top = open_state_dir(AT_FDCWD, dir, dir)) == -1)
		return -1;
	if (fchown(top, uid, gid) == -1) {
		fprintf(stderr, "pillory: chown %s: %s\n", dir,
		    strerror(errno));
		goto fail;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		text_printf(path, sizeof(path), "%s/%s", dir, subs[i]);
		if ((fd = open_state_dir(top, subs[i], path)) == -1)
			goto fail;
		if (fchown(fd, uid, gid) == -1) {
			fprintf(stderr, "pillory: chown %s: %s\n", path,
			    strerror(errno));
			close(fd);
			goto fail;
		}
		close(fd);
	}
	rc = 0;
fail:
	close(top);
	return rc;
}

static int
drop_privileges(const struct config *cfg)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return 0;
	if (*cfg->user == '\0') {
		log_warn("running as root: set [server] user");
		return 0;
	}
	if ((pw = getpwnam(cfg->user)) == NULL) {
		fprintf(stderr, "pillory: [server] user: no such user '%s' "
		    "(create it, e.g. adduser --system %s)\n", cfg->user,
		    cfg->user);
		return -1;
	}
	if (prepare_state_dir(cfg->state_dir, pw->pw_uid, pw->pw_gid) == -1)
		return -1;
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		fprintf(stderr, "pillory: cannot become %s: %s\n", cfg->user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		fprintf(stderr, "pillory: privilege drop did not stick\n");
		return -1;
	}
	return 0;
}

static char *
dns_server_list(const struct config *cfg, char *out, size_t size)
{
	size_t	i;

	*out = '\0';
	for (i = 0; i < cfg->dns_servers.count; i++) {
		if (i)
			text_append(out, ",", size);
		text_append(out, cfg->dns_servers.items[i].text, size);
	}
	return out;
}

int
serve_run(struct config *cfg_in)
{
	struct event	*sigs[4];
	const int	 signums[4] = { SIGTERM, SIGINT, SIGHUP, 0 };
	char		 err[1024], servers[1024];
	size_t		 i;
	int		 auth_fd;

	engine.cfg = cfg_in;
	log_init("pillory", engine.cfg->syslog);
	proctitle_set("pillory: engine");
	log_syslog_check(engine.cfg->syslog);
	/* SQLite's allocation statistics take a global lock on every malloc,
	 * which the event loop and the attack log writer would share. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (!load_tables(engine.cfg, &engine.users, &engine.aliases, err,
	    sizeof(err))) {
		fprintf(stderr, "pillory: %s\n", err);
		return 1;
	}
	verify_postmaster(engine.cfg, engine.users, engine.aliases,
	    startup_report, NULL);
	if (*engine.cfg->tls_cert != '\0' &&
	    (engine.tls = tls_server_ctx(engine.cfg->tls_cert,
	    engine.cfg->tls_key, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: [tls] %s\n", err);
		return 1;
	}
	if (listener_bind_all(engine.cfg, &listeners, err, sizeof(err)) == -1) {
		fprintf(stderr, "pillory: %s\n", err);
		return 1;
	}
	for (i = 0; i < engine.cfg->publish_http_listen.count &&
	    i < CONFIG_LIST_MAX; i++) {
		if ((http_fds[i] = httpd_bind(
		    &engine.cfg->publish_http_listen.items[i], err,
		    sizeof(err))) == -1) {
			fprintf(stderr, "pillory: %s\n", err);
			return 1;
		}
		nhttp_fds++;
	}
	if (policyd_bind(engine.cfg, &policy_socks, err, sizeof(err)) == -1) {
		fprintf(stderr, "pillory: %s\n", err);
		return 1;
	}
	if ((auth_fd = fork_auth(engine.cfg)) == -1)
		return 1;
	if (drop_privileges(engine.cfg) == -1)
		return 1;
	if ((engine.base = event_base_new()) == NULL)
		FATAL("event_base_new");
	engine.auth = auth_client_new(engine.base, auth_fd, auth_dead, NULL);
	reload_ev = event_new(engine.base, reload_fd, EV_READ | EV_PERSIST,
	    reload_read_cb, NULL);
	if (reload_ev == NULL || event_add(reload_ev, NULL) == -1)
		FATAL("event_new");
	engine.spool = spool_open(engine.cfg->state_dir, engine.cfg->hostname,
	    engine.base, err, sizeof(err));
	if (engine.spool == NULL) {
		fprintf(stderr, "pillory: spool: %s\n", err);
		return 1;
	}
	if ((engine.alog = attacklog_open(engine.cfg, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: attack log: %s\n", err);
		return 1;
	}
	if ((publisher = publisher_start(engine.cfg, &(struct publish_tables){
	    engine.users, engine.aliases }, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: %s\n", err);
		return 1;
	}
	attacklog_on_write(engine.alog, publisher_notify_cb, publisher);
	if (nhttp_fds > 0) {
		char dir[CONFIG_PATH_MAX + 16];

		if (!publish_dir_path(engine.cfg, dir, sizeof(dir), err,
		    sizeof(err)) || (httpd = httpd_start(engine.base,
		    http_fds[0], dir, err, sizeof(err))) == NULL) {
			fprintf(stderr, "pillory: %s\n", err);
			return 1;
		}
		httpd_set_config(httpd, &engine.cfg);
		for (i = 1; i < nhttp_fds; i++) {
			if (httpd_add_socket(httpd, http_fds[i], err,
			    sizeof(err)) != 0) {
				fprintf(stderr, "pillory: %s\n", err);
				return 1;
			}
		}
	}
	if ((engine.store = store_open_config(engine.cfg, false, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: store: %s\n", err);
		return 1;
	}
	/* A shared store: start its view of grants and bans now, and
	 * regenerate the page on other hosts' records too. */
	(void)store_generation(engine.store);
	store_on_records(engine.store, publisher_notify_cb, publisher);
	engine.dns = dns_new(engine.base, dns_server_list(engine.cfg, servers,
	    sizeof(servers)), 0, err, sizeof(err));
	if (engine.dns == NULL) {
		fprintf(stderr, "pillory: dns: %s\n", err);
		return 1;
	}
	if ((engine.queue = queue_start(&engine, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: queue: %s\n", err);
		return 1;
	}
	spool_set_queued_cb(engine.spool, queued, engine.queue);
	if ((submit = submit_start(&engine, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: submit: %s\n", err);
		return 1;
	}
	if ((engine.defense = defense_new(&engine, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: bans: %s\n", err);
		return 1;
	}
	defense_on_change(engine.defense, publisher_notify_cb, publisher);
	for (i = 0; signums[i] != 0; i++) {
		sigs[i] = evsignal_new(engine.base, signums[i], signal_cb, NULL);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) == -1)
			FATAL("evsignal_new");
	}
	listener_start(&listeners, &engine, listener_roles);
	policyd = policyd_start(&engine, &policy_socks);
	log_info("pillory %s ready: %s, %zu domains, %zu users", PILLORY_VERSION,
	    engine.cfg->hostname, engine.cfg->domains.count,
	    engine.users ? passwd_file_count(engine.users) : 0);
	sd_notify(0, "READY=1");

	event_base_dispatch(engine.base);

	/* Commits in flight finish and get their replies; then the attack
	 * log writes what it holds. */
	spool_close(engine.spool);
	submit_stop(submit);
	queue_stop(engine.queue);
	defense_free(engine.defense);
	httpd_free(httpd);
	attacklog_close(engine.alog);
	store_on_records(engine.store, NULL, NULL);
	publisher_stop(publisher);
	dns_free(engine.dns);
	event_free(reload_ev);
	close(reload_fd);
	auth_client_free(engine.auth);
	store_close(engine.store);
	for (i = 0; signums[i] != 0; i++)
		event_free(sigs[i]);
	if (auth_pid > 0)
		waitpid(auth_pid, NULL, 0);
	log_info("stopped");
	return exit_code;
}
