/*
 * serve.c: `pillory serve`. Started as root it binds every listener, then
 * drops to [server] user and runs the engine's event loop: SMTP sessions,
 * the spool's commit completions, DNS, the attack log. SIGHUP re-reads the
 * config, passwd-file and aliases and swaps them in between events; SIGTERM
 * and SIGINT stop accepting, let commits in flight finish, flush the attack
 * log and exit 0.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "aliases.h"
#include "attacklog.h"
#include "auth.h"
#include "auth_proc.h"
#include "cmd.h"
#include "config.h"
#include "dns.h"
#include "engine.h"
#include "httpd.h"
#include "publish.h"
#include "listener.h"
#include "log.h"
#include "passwd_file.h"
#include "policyd.h"
#include "queue.h"
#include "spool.h"
#include "store.h"
#include "text.h"
#include "tls.h"

static struct engine	engine;
static struct listeners	listeners;
static pid_t		auth_pid = -1;
static int		exit_code;
static struct publisher	*publisher;
static struct httpd	*httpd;
static int		 http_fds[CONFIG_LIST_MAX];
static size_t		 nhttp_fds;
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

static void
reload(void)
{
	struct config		*cfg;
	struct passwd_db	*users;
	struct alias_db		*aliases;
	char			 err[1024];

	if ((cfg = config_load(engine.cfg->path, err, sizeof(err))) == NULL) {
		log_err("reload: %s; keeping the running config", err);
		return;
	}
	if (!load_tables(cfg, &users, &aliases, err, sizeof(err))) {
		log_err("reload: %s; keeping the running config", err);
		config_free(cfg);
		return;
	}
	if (!endpoints_equal(&cfg->smtp_listen, &engine.cfg->smtp_listen) ||
	    !endpoints_equal(&cfg->smtp_proxy_protocol,
	    &engine.cfg->smtp_proxy_protocol) ||
	    strcmp(cfg->state_dir, engine.cfg->state_dir) != 0 ||
	    strcmp(cfg->policy_listen, engine.cfg->policy_listen) != 0)
		log_warn("reload: listener and state_dir changes take effect "
		    "at the next restart");
	passwd_file_free(engine.users);
	aliases_free(engine.aliases);
	config_free(engine.cfg);
	engine.cfg = cfg;
	engine.users = users;
	engine.aliases = aliases;
	publisher_reload(publisher, cfg);
	log_set_syslog(cfg->syslog);
	auth_client_reload(engine.auth, cfg->passwd_file);
	log_info("reloaded %s: %zu domains, %zu users, %zu aliases",
	    cfg->path, cfg->domains.count,
	    users ? passwd_file_count(users) : 0,
	    aliases ? aliases_count(aliases) : 0);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
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
 * re-read a passwd-file only root may read, and has no network socket.
 * Returns the engine's end of the socketpair.
 */
static int
fork_auth(const struct config *cfg)
{
	int	sv[2];
	size_t	i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		fprintf(stderr, "pillory: socketpair: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((auth_pid = fork()) == -1) {
		fprintf(stderr, "pillory: fork: %s\n", strerror(errno));
		return -1;
	}
	if (auth_pid == 0) {
		close(sv[0]);
		for (i = 0; i < listeners.count; i++)
			close(listeners.items[i].fd);
		for (i = 0; i < nhttp_fds; i++)
			close(http_fds[i]);
		policyd_sockets_close(&policy_socks);
		_exit(auth_proc_run(sv[1], cfg->passwd_file));
	}
	close(sv[1]);
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

/* Make state_dir and its folders belong to the daemon's user. */
static int
prepare_state_dir(const char *dir, uid_t uid, gid_t gid)
{
	static const char	*subs[] = { "", "/tmp", "/queue", "/mail" };
	char			 path[CONFIG_PATH_MAX + 16];
	size_t			 i;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "pillory: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		text_printf(path, sizeof(path), "%s%s", dir, subs[i]);
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "pillory: %s: %s\n", path,
			    strerror(errno));
			return -1;
		}
		if (chown(path, uid, gid) == -1) {
			fprintf(stderr, "pillory: chown %s: %s\n", path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
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
cmd_serve(const struct config *cfg_in, int argc, char **argv)
{
	struct event	*sigs[4];
	const int	 signums[4] = { SIGTERM, SIGINT, SIGHUP, 0 };
	char		 err[1024], servers[1024];
	size_t		 i;
	int		 auth_fd;

	(void)argc;
	(void)argv;
	engine.cfg = (struct config *)cfg_in;
	log_init("pillory", engine.cfg->syslog);
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
	if ((publisher = publisher_start(engine.cfg, err,
	    sizeof(err))) == NULL) {
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
		for (i = 1; i < nhttp_fds; i++) {
			if (httpd_add_socket(httpd, http_fds[i], err,
			    sizeof(err)) != 0) {
				fprintf(stderr, "pillory: %s\n", err);
				return 1;
			}
		}
	}
	if ((engine.store = attacklog_store_open(engine.cfg, false, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "pillory: store: %s\n", err);
		return 1;
	}
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
	for (i = 0; signums[i] != 0; i++) {
		sigs[i] = evsignal_new(engine.base, signums[i], signal_cb, NULL);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) == -1)
			FATAL("evsignal_new");
	}
	listener_start(&listeners, &engine);
	policyd = policyd_start(&engine, &policy_socks);
	log_info("pillory %s ready: %s, %zu domains, %zu users", PILLORY_VERSION,
	    engine.cfg->hostname, engine.cfg->domains.count,
	    engine.users ? passwd_file_count(engine.users) : 0);

	event_base_dispatch(engine.base);

	/* Commits in flight finish and get their replies; then the attack
	 * log writes what it holds. */
	spool_close(engine.spool);
	queue_stop(engine.queue);
	httpd_free(httpd);
	attacklog_close(engine.alog);
	publisher_stop(publisher);
	dns_free(engine.dns);
	auth_client_free(engine.auth);
	store_close(engine.store);
	for (i = 0; signums[i] != 0; i++)
		event_free(sigs[i]);
	if (auth_pid > 0)
		waitpid(auth_pid, NULL, 0);
	log_info("stopped");
	return exit_code;
}
