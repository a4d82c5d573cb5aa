/*
 * submit.c: the engine's local submission socket (submit.h), the daemon
 * side of sendmail(8). Runs in the unprivileged engine's event loop. The
 * peer is any local user: its request is parsed with bounds
 * (submit_parse.c), its uid is taken from the kernel (SO_PEERCRED), never
 * from what it says. Mail is trusted like a trusted network's (relay
 * allowed), since the user is already on this host; the Received header
 * names the user (RFC 5321 4.4).
 *
 * One connection, one message:
 *
 *     ENVELOPE --DATA n--> TEXT --n octets read--> COMMIT --durable--> DONE
 *         \                  \                                         ^
 *          `----------------- `------ error: answer at once ----------'
 *
 *   ENVELOPE  submit_read():   MAIL, RCPT (resolved at once), DATA or
 *                              RELOAD; sender and targets valid.
 *   TEXT      submit_text():   msg open, remaining octets counted down.
 *   COMMIT    submit_commit(): msg belongs to the spool; input ignored.
 *   DONE      submit_answer(): one line written; input drained and
 *                              dropped until the peer closes or times out.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "aliases.h"
#include "attack.h"
#include "store.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "passwd_file.h"
#include "smtp_parse.h"
#include "spool.h"
#include "submit.h"
#include "submit_parse.h"
#include "text.h"
#include "xalloc.h"

/* RFC 5322 2.1.1: 998 octets of text; the LF makes 999. */
#define SUBMIT_TEXT_LINE_MAX	998

enum submit_state {
	SUBMIT_STATE_ENVELOPE,
	SUBMIT_STATE_TEXT,
	SUBMIT_STATE_COMMIT,
	SUBMIT_STATE_DONE,
};

static const char *const state_names[] = {
	"ENVELOPE", "TEXT", "COMMIT", "DONE",
};

struct submit_conn {
	struct submit			*sub;
	struct bufferevent		*bev;
	enum submit_state		 state;
	unsigned long			 uid;
	char				 user[64];
	bool				 have_sender;
	char				 sender[ADDRESS_MAX + 1];
	char				 first_rcpt[ADDRESS_MAX + 1];
	size_t				 nrcpts;
	char				**targets;	/* "domain/user" or
							 * remote address */
	bool				*is_remote;
	size_t				 ntargets, cap;
	struct spool_msg		*msg;
	uint64_t			 remaining;
	bool				 in_headers;
	unsigned			 hops;
	bool				 bad_text;
	char				 why[128];
	bool				 dead;	/* peer gone during COMMIT */
	bool				 peer_eof;
	LIST_ENTRY(submit_conn)		 entry;
};

struct submit {
	struct engine			*eng;
	struct evconnlistener		*listener;
	char				 path[108];
	size_t				 nconns;
	LIST_HEAD(, submit_conn)	 conns;
};

static void	submit_process(struct submit_conn *);

/* allowed[from] has bit (1 << to) for each move the diagram shows. */
static const unsigned allowed[] = {
	[SUBMIT_STATE_ENVELOPE] = 1u << SUBMIT_STATE_TEXT |
	    1u << SUBMIT_STATE_DONE,
	[SUBMIT_STATE_TEXT] = 1u << SUBMIT_STATE_COMMIT |
	    1u << SUBMIT_STATE_DONE,
	[SUBMIT_STATE_COMMIT] = 1u << SUBMIT_STATE_DONE,
	[SUBMIT_STATE_DONE] = 0,
};

static void
submit_enter_state(struct submit_conn *c, enum submit_state st)
{
	if ((allowed[c->state] & (1u << st)) == 0) {
		log_err("submit: no move %s -> %s", state_names[c->state],
		    state_names[st]);
		FATAL("submit: state move not in the diagram");
	}
	log_debug("submit uid=%lu %s -> %s", c->uid, state_names[c->state],
	    state_names[st]);
	c->state = st;
}

static void
submit_conn_free(struct submit_conn *c)
{
	size_t	i;

	if (c->msg != NULL && c->state != SUBMIT_STATE_COMMIT)
		spool_msg_abort(c->msg);
	for (i = 0; i < c->ntargets; i++)
		free(c->targets[i]);
	free(c->targets);
	free(c->is_remote);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	LIST_REMOVE(c, entry);
	c->sub->nconns--;
	free(c);
}

/* Write the one answer line and stop reading requests. */
static void
submit_answer(struct submit_conn *c, enum submit_status st, const char *text)
{
	char	buf[256];
	size_t	i;

	text_printf(buf, sizeof(buf), "%s", text);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20)
			buf[i] = '?';
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s %s\n",
	    submit_status_name(st), buf);
	if (st != SUBMIT_OK)
		log_info("submit uid=%lu user=%s refused: %s %s", c->uid,
		    c->user, submit_status_name(st), buf);
	if (c->msg != NULL && c->state != SUBMIT_STATE_COMMIT)
		spool_msg_abort(c->msg);
	c->msg = NULL;
	submit_enter_state(c, SUBMIT_STATE_DONE);
	/* Read on until the peer closes: closing with its data unread
	 * could reset the answer away. */
	if (!c->peer_eof)
		bufferevent_enable(c->bev, EV_READ);
}

/* Answered, written and the peer is done: close. */
static bool
maybe_free(struct submit_conn *c)
{
	if (c->state != SUBMIT_STATE_DONE || !c->peer_eof ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return false;
	submit_conn_free(c);
	return true;
}

static void
add_target(struct submit_conn *c, const char *t, bool remote)
{
	size_t	i;

	for (i = 0; i < c->ntargets; i++)
		if (c->is_remote[i] == remote && strcmp(c->targets[i], t) == 0)
			return;
	if (c->ntargets == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->targets = xreallocarray(c->targets, c->cap, sizeof(char *));
		c->is_remote = xreallocarray(c->is_remote, c->cap,
		    sizeof(bool));
	}
	c->targets[c->ntargets] = xstrdup(t);
	c->is_remote[c->ntargets++] = remote;
}

struct expand {
	struct submit_conn	*c;
	size_t			 delivered;
};

static bool
is_local_cb(const char *domain, void *arg)
{
	struct expand	*x = arg;

	return addr_domain_is_local(&x->c->sub->eng->cfg->domains, domain);
}

/* One final address: a mailbox, postmaster, or a remote forward. */
static void
emit_cb(const char *addr, void *arg)
{
	struct expand		*x = arg;
	const struct engine	*eng = x->c->sub->eng;
	const char		*at = strrchr(addr, '@');
	char			 local[LOCAL_PART_MAX + 1];
	char			 key[DOMAIN_MAX + LOCAL_PART_MAX + 2];

	if (at == NULL)
		return;
	if (!addr_domain_is_local(&eng->cfg->domains, at + 1)) {
		add_target(x->c, addr, true);
		x->delivered++;
		return;
	}
	if (!text_copy_span(local, sizeof(local), addr, (size_t)(at - addr)))
		return;
	if (((eng->users != NULL && passwd_file_has_user(eng->users, addr)) ||
	    strcmp(local, "postmaster") == 0) && spool_name_is_safe(local) &&
	    spool_name_is_safe(at + 1)) {
		text_printf(key, sizeof(key), "%s/%s", at + 1, local);
		add_target(x->c, key, false);
		x->delivered++;
	}
}

/* Resolve one recipient as an SMTP session from a trusted network would
 * (aliases, users, postmaster; anything else outside is relayed). */
static enum submit_status
resolve(struct submit_conn *c, const char *rcpt)
{
	const struct engine	*eng = c->sub->eng;
	struct smtp_path	 path;
	struct expand		 x = { c, 0 };
	char			 arg[ADDRESS_MAX + 8], key[ADDRESS_MAX + 1];
	char			 addr[ADDRESS_MAX + 1];

	text_printf(arg, sizeof(arg), "TO:<%s>", rcpt);
	if (smtp_parse_rcpt((struct span){ arg, strlen(arg) }, &path) !=
	    SMTP_PATH_OK || path.is_bare_postmaster) {
		text_printf(c->why, sizeof(c->why), "<%s>: bad address",
		    rcpt);
		return SUBMIT_DATAERR;
	}
	if (path.domain_is_literal || addr_local_has_routing(&path)) {
		text_printf(c->why, sizeof(c->why), "<%s>: address literals "
		    "and routing are not accepted", rcpt);
		return SUBMIT_DATAERR;
	}
	smtp_path_format(&path, addr);
	if (!addr_domain_is_local(&eng->cfg->domains, path.domain)) {
		add_target(c, addr, true);
		return SUBMIT_OK;
	}
	if (!addr_lookup_key(path.local, path.domain, key)) {
		text_printf(c->why, sizeof(c->why), "<%s>: bad address", rcpt);
		return SUBMIT_DATAERR;
	}
	if (eng->aliases != NULL && aliases_has(eng->aliases, key)) {
		if (aliases_expand(eng->aliases, key, is_local_cb, emit_cb,
		    &x) < 0)
			log_warn("submit alias expansion of <%s> over its "
			    "limits", key);
	} else
		emit_cb(key, &x);
	if (x.delivered == 0) {
		text_printf(c->why, sizeof(c->why), "<%s>: no such user here",
		    rcpt);
		return SUBMIT_NOUSER;
	}
	return SUBMIT_OK;
}

/* Received header naming the local user (RFC 5321 4.4). */
static void
write_received(struct submit_conn *c)
{
	const struct config	*cfg = c->sub->eng->cfg;
	char			 line[SUBMIT_TEXT_LINE_MAX + 1], date[64];
	time_t			 now = time(NULL);
	struct tm		 tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	text_printf(line, sizeof(line), "Received: (from %s uid %lu)",
	    c->user, c->uid);
	spool_msg_line(c->msg, line, strlen(line));
	text_printf(line, sizeof(line), "\tby %s (pillory) id %s",
	    cfg->hostname, spool_msg_id(c->msg));
	spool_msg_line(c->msg, line, strlen(line));
	if (c->nrcpts == 1)
		text_printf(line, sizeof(line), "\tfor <%s>; %s",
		    c->first_rcpt, date);
	else
		text_printf(line, sizeof(line), "\t; %s", date);
	spool_msg_line(c->msg, line, strlen(line));
}

static void
commit_done(int status, void *arg)
{
	struct submit_conn	*c = arg;
	char			 id[SPOOL_ID_MAX];

	text_copy(id, spool_msg_id(c->msg), sizeof(id));
	c->msg = NULL;		/* the spool freed it */
	if (c->dead) {
		submit_conn_free(c);
		return;
	}
	if (status != 0) {
		submit_answer(c, SUBMIT_TEMPFAIL, "local error in processing; "
		    "try again later");
		return;
	}
	log_info("submit queued id=%s uid=%lu user=%s from=<%s> rcpts=%zu",
	    id, c->uid, c->user, c->sender, c->nrcpts);
	submit_answer(c, SUBMIT_OK, id);
}

/* All the text is in: refuse it, or hand it to the spool. */
static void
submit_commit(struct submit_conn *c)
{
	size_t	i;
	char	*slash;

	if (c->bad_text) {
		submit_answer(c, SUBMIT_DATAERR, c->why);
		return;
	}
	if (c->hops > RECEIVED_HOPS_MAX) {
		submit_answer(c, SUBMIT_DATAERR, "too many Received headers "
		    "(mail loop?)");
		return;
	}
	for (i = 0; i < c->ntargets; i++) {
		if (c->is_remote[i]) {
			spool_msg_add_remote(c->msg, c->targets[i]);
			continue;
		}
		slash = strchr(c->targets[i], '/');
		*slash = '\0';
		spool_msg_add_mailbox(c->msg, c->targets[i], slash + 1);
		*slash = '/';
	}
	submit_enter_state(c, SUBMIT_STATE_COMMIT);
	bufferevent_disable(c->bev, EV_READ);
	spool_msg_commit(c->msg, commit_done, c);
}

/* One line of message text (no LF). */
static void
text_line(struct submit_conn *c, const char *line, size_t len)
{
	if (c->bad_text)
		return;
	if (len > SUBMIT_TEXT_LINE_MAX) {
		text_printf(c->why, sizeof(c->why), "a line is longer than "
		    "998 octets (RFC 5322 2.1.1)");
		c->bad_text = true;
		return;
	}
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len)) {
		text_printf(c->why, sizeof(c->why), "NUL or CR inside a line");
		c->bad_text = true;
		return;
	}
	if (c->in_headers) {
		if (len == 0)
			c->in_headers = false;
		else if (len >= 9 && strncasecmp(line, "Received:", 9) == 0)
			c->hops++;
	}
	if (spool_msg_line(c->msg, line, len) == -1) {
		text_printf(c->why, sizeof(c->why), "queue file write error");
		c->bad_text = true;
	}
}

/* TEXT: consume message lines; false when more input is needed. */
static bool
submit_text(struct submit_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	char			 line[SUBMIT_TEXT_LINE_MAX + 2];
	struct evbuffer_ptr	 eol;
	size_t			 avail, take, len;

	while (c->remaining > 0) {
		avail = evbuffer_get_length(in);
		if (avail == 0)
			return false;
		if (avail > c->remaining)
			avail = (size_t)c->remaining;
		eol = evbuffer_search(in, "\n", 1, NULL);
		if (eol.pos != -1 && (size_t)eol.pos < avail &&
		    (size_t)eol.pos <= SUBMIT_TEXT_LINE_MAX) {
			len = (size_t)eol.pos;
			evbuffer_remove(in, line, len + 1);
			c->remaining -= len + 1;
			text_line(c, line, len);
			continue;
		}
		if (eol.pos != -1 && (size_t)eol.pos < avail) {
			/* Too long: note it, then drop up to the LF. */
			text_line(c, line, SUBMIT_TEXT_LINE_MAX + 1);
			evbuffer_drain(in, (size_t)eol.pos + 1);
			c->remaining -= (uint64_t)eol.pos + 1;
			continue;
		}
		if (avail > SUBMIT_TEXT_LINE_MAX) {
			text_line(c, line, SUBMIT_TEXT_LINE_MAX + 1);
			take = avail;
			evbuffer_drain(in, take);
			c->remaining -= take;
			continue;
		}
		if (avail < c->remaining)
			return false;
		/* The last line has no LF. */
		len = avail;
		evbuffer_remove(in, line, len);
		c->remaining = 0;
		text_line(c, line, len);
	}
	submit_commit(c);
	return true;
}

static void
submit_read(struct submit_conn *c, const struct submit_line *l)
{
	const struct config	*cfg = c->sub->eng->cfg;
	enum submit_status	 st;

	switch (l->verb) {
	case SUBMIT_RELOAD:
		if (c->have_sender) {
			submit_answer(c, SUBMIT_USAGE, "RELOAD alone");
			return;
		}
		if (c->uid != 0 && c->uid != (unsigned long)geteuid()) {
			submit_answer(c, SUBMIT_NOPERM, "only root may reload "
			    "the mail daemon");
			return;
		}
		log_info("submit uid=%lu: reload requested", c->uid);
		kill(getpid(), SIGHUP);
		submit_answer(c, SUBMIT_OK, "reloading");
		return;
	case SUBMIT_MAIL:
		if (c->have_sender) {
			submit_answer(c, SUBMIT_USAGE, "MAIL twice");
			return;
		}
		c->have_sender = true;
		text_copy(c->sender, l->addr, sizeof(c->sender));
		return;
	case SUBMIT_RCPT:
		if (!c->have_sender) {
			submit_answer(c, SUBMIT_USAGE, "RCPT before MAIL");
			return;
		}
		if (c->nrcpts >= cfg->max_recipients) {
			submit_answer(c, SUBMIT_DATAERR, "too many recipients");
			return;
		}
		if ((st = resolve(c, l->addr)) != SUBMIT_OK) {
			submit_answer(c, st, c->why);
			return;
		}
		if (c->nrcpts++ == 0)
			text_copy(c->first_rcpt, l->addr,
			    sizeof(c->first_rcpt));
		return;
	case SUBMIT_DATA:
		if (c->nrcpts == 0) {
			submit_answer(c, SUBMIT_USAGE, "DATA without RCPT");
			return;
		}
		if (l->size > cfg->max_message_size) {
			submit_answer(c, SUBMIT_DATAERR, "message size exceeds "
			    "fixed limit");
			return;
		}
		if ((c->msg = spool_msg_new(c->sub->eng->spool)) == NULL) {
			submit_answer(c, SUBMIT_TEMPFAIL, "queue file write "
			    "error");
			return;
		}
		spool_msg_set_sender(c->msg, c->sender);
		write_received(c);
		c->remaining = l->size;
		c->in_headers = true;
		submit_enter_state(c, SUBMIT_STATE_TEXT);
		return;
	}
}

static void
submit_process(struct submit_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	struct submit_line	 l;
	char			 line[SUBMIT_LINE_MAX];
	size_t			 len;

	for (;;) {
		switch (c->state) {
		case SUBMIT_STATE_ENVELOPE:
			eol = evbuffer_search(in, "\n", 1, NULL);
			if (eol.pos == -1) {
				if (evbuffer_get_length(in) >= SUBMIT_LINE_MAX)
					submit_answer(c, SUBMIT_USAGE,
					    "request line too long");
				else
					return;
				continue;
			}
			len = (size_t)eol.pos;
			if (len >= SUBMIT_LINE_MAX) {
				submit_answer(c, SUBMIT_USAGE,
				    "request line too long");
				continue;
			}
			evbuffer_remove(in, line, len + 1);
			if (submit_parse_line(line, len, &l) == -1) {
				submit_answer(c, SUBMIT_USAGE,
				    "malformed request");
				continue;
			}
			submit_read(c, &l);
			continue;
		case SUBMIT_STATE_TEXT:
			if (!submit_text(c))
				return;
			continue;
		case SUBMIT_STATE_COMMIT:
			return;
		case SUBMIT_STATE_DONE:
			/* Drop the rest, so closing never resets the answer
			 * away before the peer read it. */
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	submit_process(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	maybe_free(arg);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct submit_conn	*c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR |
	    BEV_EVENT_TIMEOUT))) {
		c->peer_eof = true;
		bufferevent_disable(c->bev, EV_READ);
		if (c->state == SUBMIT_STATE_ENVELOPE ||
		    c->state == SUBMIT_STATE_TEXT)
			submit_answer(c, SUBMIT_USAGE, "incomplete request");
		maybe_free(c);
		return;
	}
	if (c->state == SUBMIT_STATE_COMMIT) {
		/* The spool's callback frees it. */
		c->dead = true;
		bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->state != SUBMIT_STATE_DONE)
		log_info("submit uid=%lu user=%s timed out in %s", c->uid,
		    c->user, state_names[c->state]);
	submit_conn_free(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct submit		*sub = arg;
	struct submit_conn	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	struct timeval		 tv = { SUBMIT_TIMEOUT, 0 };
	struct passwd		*pw;

	(void)l;
	(void)sa;
	(void)salen;
	c = xcalloc(1, sizeof(*c));
	c->sub = sub;
	c->bev = bufferevent_socket_new(sub->eng->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		FATAL("bufferevent_socket_new");
	LIST_INSERT_HEAD(&sub->conns, c, entry);
	sub->nconns++;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred)) {
		text_copy(c->user, "?", sizeof(c->user));
		submit_answer(c, SUBMIT_NOPERM, "no peer credentials");
		return;
	}
	c->uid = (unsigned long)cred.uid;
	/* The name is only for the header; the uid is what counts. */
	if ((pw = getpwuid(cred.uid)) != NULL && spool_name_is_safe(
	    pw->pw_name) && strlen(pw->pw_name) < sizeof(c->user))
		text_copy(c->user, pw->pw_name, sizeof(c->user));
	else
		text_printf(c->user, sizeof(c->user), "uid%lu", c->uid);
	if (sub->eng->stopping || sub->nconns > SUBMIT_CONN_MAX)
		submit_answer(c, SUBMIT_TEMPFAIL, "too busy; try again later");
}

/* state_dir becomes searchable, so a file in it is as private as its own
 * mode: SQLite creates the attack log 0644 (and its -wal/-shm with the
 * same mode), which would let any local user read it by name. */
static void
tighten_attacklog(const struct config *cfg)
{
	static const char	*sfx[] = { "", "-wal", "-shm" };
	char			 db[CONFIG_PATH_MAX], path[CONFIG_PATH_MAX + 8];
	char			 err[256];
	struct stat		 st;
	size_t			 i;

	if (!store_db_path(cfg, db, sizeof(db), err, sizeof(err)))
		return;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (!text_printf(path, sizeof(path), "%s%s", db, sfx[i]) ||
		    stat(path, &st) == -1 || (st.st_mode & 0077) == 0)
			continue;
		if (chmod(path, st.st_mode & 0700) == -1)
			log_warn("submit: chmod go-rwx %s: %s", path,
			    strerror(errno));
	}
}

struct submit *
submit_start(struct engine *eng, char *err, size_t errlen)
{
	struct submit		*sub;
	struct sockaddr_un	 sun;
	struct stat		 st;
	const char		*dir = eng->cfg->state_dir;
	int			 fd;
	mode_t			 old;

	sub = xcalloc(1, sizeof(*sub));
	sub->eng = eng;
	LIST_INIT(&sub->conns);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!text_printf(sub->path, sizeof(sub->path), "%s/%s", dir,
	    SUBMIT_SOCKET) || !text_copy(sun.sun_path, sub->path,
	    sizeof(sun.sun_path))) {
		text_printf(err, errlen, "%s/%s: path too long for a unix "
		    "socket", dir, SUBMIT_SOCKET);
		goto fail;
	}
	/* Local users must reach the socket: search, not listing. */
	if (stat(dir, &st) == 0 && (st.st_mode & 0001) == 0) {
		if (chmod(dir, (st.st_mode & 07777) | 0111) == -1) {
			text_printf(err, errlen, "chmod o+x %s: %s", dir,
			    strerror(errno));
			goto fail;
		}
		log_info("submit: made %s searchable (o+x) for %s", dir,
		    SUBMIT_SOCKET);
	}
	tighten_attacklog(eng->cfg);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		text_printf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	unlink(sub->path);
	old = umask(0);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		text_printf(err, errlen, "%s: bind: %s", sub->path,
		    strerror(errno));
		close(fd);
		goto fail;
	}
	umask(old);
	if (chmod(sub->path, 0666) == -1) {
		text_printf(err, errlen, "%s: chmod: %s", sub->path,
		    strerror(errno));
		close(fd);
		unlink(sub->path);
		goto fail;
	}
	sub->listener = evconnlistener_new(eng->base, accept_cb, sub,
	    LEV_OPT_CLOSE_ON_FREE, 64, fd);
	if (sub->listener == NULL) {
		text_printf(err, errlen, "%s: listen: %s", sub->path,
		    strerror(errno));
		close(fd);
		unlink(sub->path);
		goto fail;
	}
	return sub;
fail:
	free(sub);
	return NULL;
}

void
submit_stop(struct submit *sub)
{
	struct submit_conn	*c, *next;

	if (sub == NULL)
		return;
	evconnlistener_free(sub->listener);
	for (c = LIST_FIRST(&sub->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->state == SUBMIT_STATE_COMMIT) {
			/* spool_close() ran every callback already; one
			 * still here cannot be. */
			c->msg = NULL;
		}
		submit_conn_free(c);
	}
	unlink(sub->path);
	free(sub);
}
