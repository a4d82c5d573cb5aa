/*
 * control.c: the local control socket (control.h), server side in the
 * engine's event loop and client side for the `pillory queue` command.
 * A peer is trusted only once SO_PEERCRED says it is root or the daemon's
 * user; its request line is still bounded (CONTROL_LINE_MAX) and only
 * handed on whole. The client reads the daemon's answer with bounds too.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "control.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

/* sun_path of struct sockaddr_un on Linux */
#define CONTROL_PATH_MAX	108

struct control_conn {
	struct control			*c;
	struct bufferevent		*bev;
	bool				 answered;
	LIST_ENTRY(control_conn)	 entry;
};

struct control {
	struct evconnlistener		*listener;
	char				 path[CONTROL_PATH_MAX];
	control_handler			 handler;
	void				*arg;
	LIST_HEAD(, control_conn)	 conns;
};

/* Extra handlers by first word (control_route()): one process, one socket,
 * so a small static table is enough. */
#define CONTROL_ROUTES_MAX	4
static struct {
	char		 word[16];
	control_handler	 handler;
	void		*arg;
} control_routes[CONTROL_ROUTES_MAX];

void
control_route(const char *word, control_handler handler, void *arg)
{
	size_t	i, free_slot = CONTROL_ROUTES_MAX;

	for (i = 0; i < CONTROL_ROUTES_MAX; i++) {
		if (strcmp(control_routes[i].word, word) == 0) {
			free_slot = i;
			break;
		}
		if (control_routes[i].word[0] == '\0' &&
		    free_slot == CONTROL_ROUTES_MAX)
			free_slot = i;
	}
	if (free_slot == CONTROL_ROUTES_MAX)
		FATAL("control: too many routes");
	if (handler == NULL) {
		memset(&control_routes[free_slot], 0,
		    sizeof(control_routes[free_slot]));
		return;
	}
	if (!text_copy(control_routes[free_slot].word, word,
	    sizeof(control_routes[free_slot].word)))
		FATAL("control: route word too long");
	control_routes[free_slot].handler = handler;
	control_routes[free_slot].arg = arg;
}

/* The routed handler for line ("WORD" or "WORD ..."), or false. */
static bool
control_routed(const char *line, struct evbuffer *out)
{
	size_t	i, n;

	for (i = 0; i < CONTROL_ROUTES_MAX; i++) {
		if (control_routes[i].handler == NULL)
			continue;
		n = strlen(control_routes[i].word);
		if (strncmp(line, control_routes[i].word, n) == 0 &&
		    (line[n] == '\0' || line[n] == ' ')) {
			control_routes[i].handler(line, out,
			    control_routes[i].arg);
			return true;
		}
	}
	return false;
}

static void
control_conn_free(struct control_conn *cc)
{
	LIST_REMOVE(cc, entry);
	bufferevent_free(cc->bev);
	free(cc);
}

void
control_record(struct evbuffer *out, const char *data, size_t len)
{
	evbuffer_add_printf(out, "record %zu\n", len);
	evbuffer_add(out, data, len);
}

void
control_end(struct evbuffer *out, bool ok, const char *fmt, ...)
{
	char	text[1024];
	size_t	i;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20)
			text[i] = '?';
	evbuffer_add_printf(out, "%s %s\n", ok ? "ok" : "error", text);
}

static void
control_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn	*cc = arg;

	if (cc->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_conn_free(cc);
}

static void
control_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn	*cc = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*out = bufferevent_get_output(bev);
	struct evbuffer_ptr	 eol;
	char			 line[CONTROL_LINE_MAX];
	size_t			 len;

	if (cc->answered)
		return;
	eol = evbuffer_search(in, "\n", 1, NULL);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) >= CONTROL_LINE_MAX) {
			control_end(out, false, "request line too long");
			cc->answered = true;
		}
		return;
	}
	len = (size_t)eol.pos;
	if (len >= CONTROL_LINE_MAX) {
		control_end(out, false, "request line too long");
		cc->answered = true;
		return;
	}
	evbuffer_remove(in, line, len + 1);
	line[len] = '\0';
	if (memchr(line, '\0', len) != NULL)
		control_end(out, false, "NUL in request");
	else {
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (!control_routed(line, out))
			cc->c->handler(line, out, cc->c->arg);
	}
	cc->answered = true;
	bufferevent_disable(bev, EV_READ);
}

static void
control_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn	*cc = arg;

	(void)bev;
	(void)what;
	control_conn_free(cc);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control		*c = arg;
	struct control_conn	*cc;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	struct timeval		 tv = { CONTROL_TIMEOUT, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	cc = xcalloc(1, sizeof(*cc));
	cc->c = c;
	cc->bev = bufferevent_socket_new(evconnlistener_get_base(c->listener),
	    fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL)
		FATAL("bufferevent_socket_new");
	LIST_INSERT_HEAD(&c->conns, cc, entry);
	bufferevent_setcb(cc->bev, control_conn_read_cb, control_conn_write_cb,
	    control_conn_event_cb, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warn("control: refused a client with uid %ld",
		    len == sizeof(cred) ? (long)cred.uid : -1L);
		control_end(bufferevent_get_output(cc->bev), false,
		    "permission denied");
		cc->answered = true;
		bufferevent_enable(cc->bev, EV_WRITE);
		return;
	}
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

struct control *
control_start(struct event_base *base, const char *path,
    control_handler handler, void *arg, char *err, size_t errlen)
{
	struct control		*c;
	struct sockaddr_un	 sun;
	int			 fd;
	mode_t			 old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!text_copy(sun.sun_path, path, sizeof(sun.sun_path))) {
		text_printf(err, errlen, "%s: path too long for a unix socket",
		    path);
		return NULL;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		text_printf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	/* A socket file left by a daemon that died: nobody listens. */
	unlink(path);
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		text_printf(err, errlen, "%s: bind: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	umask(old);
	if (chmod(path, 0600) == -1) {
		text_printf(err, errlen, "%s: chmod: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	text_copy(c->path, path, sizeof(c->path));
	c->handler = handler;
	c->arg = arg;
	LIST_INIT(&c->conns);
	c->listener = evconnlistener_new(base, accept_cb, c,
	    LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (c->listener == NULL) {
		text_printf(err, errlen, "%s: listen: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		free(c);
		return NULL;
	}
	return c;
}

void
control_stop(struct control *c)
{
	if (c == NULL)
		return;
	while (!LIST_EMPTY(&c->conns))
		control_conn_free(LIST_FIRST(&c->conns));
	evconnlistener_free(c->listener);
	unlink(c->path);
	free(c);
}

/* ------------------------------------------------------------ client */

struct control_reader {
	int	 fd;
	char	*buf;
	size_t	 len, cap;
	bool	 eof;
};

/* One read into r->buf, growing it to hold at least room more octets;
 * false on an error or a timeout. */
static bool
reader_more(struct control_reader *r, size_t room)
{
	ssize_t	n;

	if (r->len + room > r->cap) {
		r->cap = r->len + room;
		r->buf = xreallocarray(r->buf, r->cap, 1);
	}
	do
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return false;
	if (n == 0)
		r->eof = true;
	r->len += (size_t)n;
	return true;
}

int
control_request(const char *path, const char *cmd, control_record_cb cb,
    void *arg, char *msg, size_t msglen)
{
	struct control_reader	 r = { -1, NULL, 0, 0, false };
	struct sockaddr_un	 sun;
	struct stat		 lst;
	struct timeval		 tv = { CONTROL_TIMEOUT, 0 };
	char			 req[CONTROL_LINE_MAX + 1];
	int			 rc = -2, e;
	char			*nl;
	size_t			 hlen, n;

	*msg = '\0';
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!text_copy(sun.sun_path, path, sizeof(sun.sun_path)) ||
	    !text_printf(req, sizeof(req), "%s\n", cmd)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* As root (the admin's `pillory queue`) talk to the socket in
	 * state_dir only, never through a link the daemon's user planted. */
	if (geteuid() == 0 && lstat(path, &lst) == 0 &&
	    !S_ISSOCK(lst.st_mode)) {
		errno = S_ISLNK(lst.st_mode) ? ELOOP : ENOTSOCK;
		return -1;
	}
	if ((r.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(r.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(r.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(r.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(r.fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		e = errno;
		close(r.fd);
		errno = e;
		return -1;
	}
	for (;;) {
		/* A line: "record N" or the final "ok"/"error". */
		while ((nl = r.len ? memchr(r.buf, '\n', r.len) : NULL) ==
		    NULL) {
			if (r.eof || r.len > CONTROL_LINE_MAX + 64 ||
			    !reader_more(&r, 4096))
				goto done;
		}
		hlen = (size_t)(nl - r.buf);
		*nl = '\0';
		if (strncmp(r.buf, "ok", 2) == 0 && (hlen == 2 ||
		    r.buf[2] == ' ')) {
			text_copy(msg, hlen > 3 ? r.buf + 3 : "", msglen);
			rc = 0;
			goto done;
		}
		if (strncmp(r.buf, "error", 5) == 0 && (hlen == 5 ||
		    r.buf[5] == ' ')) {
			text_copy(msg, hlen > 6 ? r.buf + 6 : "", msglen);
			rc = 1;
			goto done;
		}
		if (sscanf(r.buf, "record %zu", &n) != 1 ||
		    n > CONTROL_RECORD_MAX)
			goto done;
		memmove(r.buf, nl + 1, r.len - hlen - 1);
		r.len -= hlen + 1;
		while (r.len < n)
			if (r.eof || !reader_more(&r, n - r.len))
				goto done;
		cb(r.buf, n, arg);
		memmove(r.buf, r.buf + n, r.len - n);
		r.len -= n;
	}
done:
	if (rc == -2 && *msg == '\0')
		text_copy(msg, "broken answer from the daemon", msglen);
	close(r.fd);
	free(r.buf);
	return rc;
}
