/*
 * httpd.c: the built-in read-only HTTP server of the public site (see
 * httpd.h). Runs on the engine's event loop, unprivileged; the sockets
 * come bound from the root parent. Every request is untrusted input: the
 * method, the path and the conditional headers are checked here, the rest
 * of HTTP/1.x parsing (and its size limits) is evhttp's. Files are sent
 * with evbuffer_add_file() (sendfile), so a large page never blocks the
 * loop on a read. RFC 9110 (semantics: 9.3.1 GET, 9.3.2 HEAD, 15.5.6 405
 * with Allow, 13.1.2 If-None-Match, 13.1.3 If-Modified-Since, 15.4.5
 * 304), RFC 9112 (HTTP/1.1 messages, via evhttp).
 *
 * Connections are limited here, not by evhttp: in total and per client
 * address (IPv6 by /64), and to the descriptors SMTP can spare (an HTTP
 * connection is refused when its descriptor is in the top quarter of
 * RLIMIT_NOFILE). Each gets a deadline for its request line and headers
 * (a slow client cannot hold it by trickling), and accept errors pause
 * the listener instead of spinning (listener.h). evhttp in libevent 2.1
 * has no hook at accept time, so the check runs right after it: the
 * bufferevent callback registers the new connection, and an event made
 * active there looks at it before the loop polls again, so before the
 * connection has read a byte.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <sys/resource.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "config.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

/* The listeners' pauses, for the accept error callback, whose argument
 * is evhttp's. One HTTP server per process. */
static struct {
	struct listener_pause	*p[CONFIG_LIST_MAX];
	size_t			 n;
} httpd_all;

/* One client connection, from accept to close. */
struct httpd_conn {
	struct httpd		*h;
	struct bufferevent	*bev;
	struct evhttp_connection *evcon;	/* NULL until checked */
	struct event		*deadline;
	uint8_t			 key[16];
	uint8_t			 family;
	struct httpd_conn	*prev, *next;
};

struct httpd {
	struct evhttp		*http;
	char			*dir;
	struct event_base	*base;
	struct config *const	*cfgp;		/* NULL: built-in limits */
	struct httpd_conn	*conns;		/* checked and counted */
	struct httpd_conn	*pending;	/* accepted, not checked yet */
	size_t			 nconns;
	struct event		*check_ev;
	struct listener_pause	 pauses[CONFIG_LIST_MAX];
	size_t			 npauses;
	bool			 broken;	/* libevent not as expected */
};

/* What our pages may do: no scripts, no outside anything. */
#define HTTPD_CSP	"default-src 'none'; style-src 'unsafe-inline'; " \
			"img-src 'self' data:; base-uri 'none'; " \
			"form-action 'none'; frame-ancestors 'none'"

int
httpd_bind(const struct config_endpoint *ep, char *err, size_t errlen)
{
	int	fd, on = 1;

	fd = socket(ep->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ep->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	if (bind(fd, (const struct sockaddr *)&ep->ss, ep->len) == -1 ||
	    listen(fd, 128) == -1)
		goto fail;
	return (fd);
fail:
	snprintf(err, errlen, "[publish] http_listen %s: %s", ep->text,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return (-1);
}

static int
httpd_hex(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static bool
httpd_name_char(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
}

enum httpd_path_result
httpd_path_clean(const char *path, char *out, size_t outlen)
{
	size_t		 o = 0, seg = 0;
	const char	*p;
	int		 hi, lo;
	unsigned char	 c;
	bool		 notfound = false;

	if (outlen < sizeof("index.html"))
		return (HTTPD_PATH_BAD);
	if (path == NULL || path[0] == '\0')
		path = "/";
	if (path[0] != '/')
		return (HTTPD_PATH_BAD);
	for (p = path + 1;; p++) {
		c = (unsigned char)*p;
		if (c == '/' || c == '\0') {
			/* End of a segment: "", ".", ".." are traversal
			 * or confusion; ".name" is hidden (temp files). */
			if (seg == 0 && c == '/')
				return (HTTPD_PATH_BAD);
			if ((seg == 1 && out[o - 1] == '.') || (seg == 2 &&
			    out[o - 1] == '.' && out[o - 2] == '.'))
				return (HTTPD_PATH_BAD);
			if (seg > 0 && out[o - seg] == '.')
				notfound = true;
			if (c == '\0')
				break;
			if (o + 1 >= outlen)
				return (HTTPD_PATH_BAD);
			out[o++] = '/';
			seg = 0;
			continue;
		}
		if (c == '\\')
			return (HTTPD_PATH_BAD);
		if (c == '%') {
			if ((hi = httpd_hex(p[1])) < 0 ||
			    (lo = httpd_hex(p[2])) < 0)
				return (HTTPD_PATH_BAD);
			c = (unsigned char)(hi << 4 | lo);
			p += 2;
			/* Encoded dots and separators, NUL, backslash: only
			 * ever sent to get around a check like ours. */
			if (c == '.' || c == '/' || c == '\\' || c == '\0')
				return (HTTPD_PATH_BAD);
		}
		if (!httpd_name_char(c))
			notfound = true;
		if (o + 1 >= outlen)
			return (HTTPD_PATH_BAD);
		out[o++] = (char)c;
		seg++;
	}
	out[o] = '\0';
	if (notfound)
		return (HTTPD_PATH_NOT_FOUND);
	/* "/" or "dir/": the index of that directory. */
	if (o == 0 || out[o - 1] == '/') {
		if (!text_copy(out + o, "index.html", outlen - o))
			return (HTTPD_PATH_BAD);
	}
	return (HTTPD_PATH_OK);
}

const char *
httpd_content_type(const char *name)
{
	static const struct {
		const char	*ext;
		const char	*type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".atom", "application/atom+xml; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".png", "image/png" },
		{ ".ico", "image/vnd.microsoft.icon" },
	};
	size_t	n = strlen(name), e, i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return (types[i].type);
	}
	return ("application/octet-stream");
}

bool
httpd_etag_match(const char *header, const char *etag)
{
	const char	*p = header, *q, *end;
	size_t		 elen;

	/* Compare opaque-tags: etag without W/. */
	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	elen = strlen(etag);
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return (false);
		if (*p == '*')
			return (true);
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return (false);	/* malformed: no match */
		if ((end = strchr(p + 1, '"')) == NULL)
			return (false);
		q = end + 1;
		if ((size_t)(q - p) == elen && memcmp(p, etag, elen) == 0)
			return (true);
		p = q;
	}
}

/* An HTTP-date (RFC 9110 5.6.7, IMF-fixdate) of t. */
static bool
httpd_date(time_t t, char *out, size_t outlen)
{
	static const char *const days[7] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return (false);
	return (text_printf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec));
}

/* Parse an IMF-fixdate; false on anything else (then it is ignored). */
static bool
httpd_parse_date(const char *s, time_t *out)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL ||
	    *end != '\0')
		return (false);
	*out = timegm(&tm);
	return (*out != (time_t)-1);
}

/* A small plain-text reply. */
static void
httpd_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	if ((buf = evbuffer_new()) == NULL)
		FATAL("evbuffer_new");
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add_printf(buf, "%s\n", body);
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

/* Open dir/rel beneath dir, no symbolic links anywhere in rel. */
static int
httpd_open(const char *dir, const char *rel)
{
	struct open_how	how;
	int		dfd, fd;

	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	if (fd == -1 && errno == ENOSYS) {
		/* Before Linux 5.6: rel has no "..", and O_NOFOLLOW
		 * guards the last component. */
		fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	}
	close(dfd);
	return (fd);
}

static void
httpd_limits(const struct httpd *h, uint64_t *total, uint64_t *per_ip,
    uint64_t *header_s)
{
	const struct config	*cfg = h->cfgp != NULL ? *h->cfgp : NULL;

	*total = cfg != NULL ? cfg->publish_http_max_connections : 256;
	*per_ip = cfg != NULL ? cfg->publish_http_max_connections_per_ip : 16;
	*header_s = cfg != NULL ? cfg->publish_http_header_timeout : 10;
}

static void
httpd_conn_unlink(struct httpd_conn **head, struct httpd_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
httpd_conn_link(struct httpd_conn **head, struct httpd_conn *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head != NULL)
		(*head)->prev = c;
	*head = c;
}

static void
httpd_conn_free(struct httpd_conn *c)
{
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c);
}

/* evhttp is closing a connection we counted. */
static void
httpd_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_conn	*c = arg;

	(void)evcon;
	httpd_conn_unlink(&c->h->conns, c);
	c->h->nconns--;
	httpd_conn_free(c);
}

/* The request line and headers did not come in time: hang up. */
static void
httpd_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*c = arg;

	(void)fd;
	(void)what;
	log_debug("http: request timeout; closing");
	/* Calls httpd_conn_closed(), which frees c. */
	evhttp_connection_free(c->evcon);
}

static void
httpd_conn_arm(struct httpd_conn *c, uint64_t seconds)
{
	struct timeval	tv = { (time_t)seconds, 0 };

	evtimer_add(c->deadline, &tv);
}

/* May one more connection, on descriptor fd from key, be served? */
static bool
httpd_conn_allowed(const struct httpd *h, int fd, const uint8_t key[16],
    uint8_t family)
{
	const struct httpd_conn	*c;
	uint64_t		 total, per_ip, header_s, same = 0;
	struct rlimit		 rl;

	httpd_limits(h, &total, &per_ip, &header_s);
	if (h->nconns >= total)
		return false;
	/* SMTP first: HTTP keeps out of the top quarter of the
	 * descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)fd >= rl.rlim_cur - rl.rlim_cur / 4)
		return false;
	for (c = h->conns; c != NULL; c = c->next)
		if (c->family == family && memcmp(c->key, key, 16) == 0 &&
		    ++same >= per_ip)
			return false;
	return true;
}

/* Look at the connections accepted since the last time. */
static void
httpd_check(evutil_socket_t fd_unused, short what, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*c;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	void			*cbarg;
	uint64_t		 total, per_ip, header_s;
	int			 fd;

	(void)fd_unused;
	(void)what;
	httpd_limits(h, &total, &per_ip, &header_s);
	while ((c = h->pending) != NULL) {
		httpd_conn_unlink(&h->pending, c);
		/* Our reference kept the bufferevent; if evhttp gave up on
		 * the connection already, it has no callbacks left. */
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		bufferevent_decref(c->bev);
		c->evcon = cbarg;
		if (c->evcon == NULL) {
			httpd_conn_free(c);
			continue;
		}
		if (evhttp_connection_get_bufferevent(c->evcon) != c->bev) {
			/* Not the libevent 2.1 we know: serve unlimited
			 * rather than guess. */
			if (!h->broken)
				log_warn("http: cannot track connections; "
				    "HTTP connection limits are off");
			h->broken = true;
			httpd_conn_free(c);
			continue;
		}
		fd = (int)bufferevent_getfd(c->bev);
		sslen = sizeof(ss);
		if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss,
		    &sslen) != 0) {
			evhttp_connection_free(c->evcon);
			httpd_conn_free(c);
			continue;
		}
		listener_ip_key((struct sockaddr *)&ss, c->key, &c->family);
		if (!httpd_conn_allowed(h, fd, c->key, c->family)) {
			log_debug("http: connection refused (limits)");
			evhttp_connection_free(c->evcon);
			httpd_conn_free(c);
			continue;
		}
		if ((c->deadline = evtimer_new(h->base, httpd_deadline,
		    c)) == NULL)
			FATAL("evtimer_new");
		httpd_conn_arm(c, header_s);
		httpd_conn_link(&h->conns, c);
		h->nconns++;
		evhttp_connection_set_closecb(c->evcon, httpd_conn_closed, c);
	}
}

/* evhttp accepted a connection: its bufferevent, and a look soon. */
static struct bufferevent *
httpd_bevcb(struct event_base *base, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->h = h;
	if ((c->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		FATAL("bufferevent_socket_new");
	if (h->broken) {
		struct bufferevent	*bev = c->bev;

		free(c);
		return bev;
	}
	/* Until httpd_check() has looked: evhttp may free it before. */
	bufferevent_incref(c->bev);
	httpd_conn_link(&h->pending, c);
	event_active(h->check_ev, EV_TIMEOUT, 0);
	return c->bev;
}

/* A request arrived whole: the next one gets the idle time. */
static void
httpd_request_seen(struct httpd *h, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon = evhttp_request_get_connection(
	    req);
	struct httpd_conn		*c;

	for (c = h->conns; c != NULL; c = c->next)
		if (c->evcon == evcon) {
			httpd_conn_arm(c, HTTPD_TIMEOUT_S);
			break;
		}
}

static void
httpd_request(struct evhttp_request *req, void *arg)
{
	struct httpd			*h = arg;
	const struct evhttp_uri		*uri;
	struct evkeyvalq		*in, *out;
	struct evbuffer			*buf;
	enum evhttp_cmd_type		 cmd = evhttp_request_get_command(req);
	struct stat			 sb;
	const char			*inm, *ims;
	char				 rel[HTTPD_PATH_MAX], etag[80],
					 lm[64], len[32];
	time_t				 since;
	int				 fd;

	httpd_request_seen(h, req);
	out = evhttp_request_get_output_headers(req);
	in = evhttp_request_get_input_headers(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(out, "Allow", "GET, HEAD");
		httpd_reply_text(req, 405, "Method Not Allowed",
		    "method not allowed");
		return;
	}
	uri = evhttp_request_get_evhttp_uri(req);
	switch (httpd_path_clean(uri != NULL ? evhttp_uri_get_path(uri) :
	    NULL, rel, sizeof(rel))) {
	case HTTPD_PATH_OK:
		break;
	case HTTPD_PATH_BAD:
		httpd_reply_text(req, 400, "Bad Request", "bad request");
		return;
	case HTTPD_PATH_NOT_FOUND:
		httpd_reply_text(req, 404, "Not Found", "not found");
		return;
	}
	if ((fd = httpd_open(h->dir, rel)) == -1) {
		httpd_reply_text(req, 404, "Not Found", "not found");
		return;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		httpd_reply_text(req, 404, "Not Found", "not found");
		return;
	}
	/* A strong validator: a page is replaced whole by rename(2), so a
	 * new version is a new inode. */
	(void)text_printf(etag, sizeof(etag), "\"%llx-%llx-%llx\"",
	    (unsigned long long)sb.st_ino, (unsigned long long)sb.st_size,
	    (unsigned long long)sb.st_mtim.tv_sec * 1000000000ULL +
	    (unsigned long long)sb.st_mtim.tv_nsec);
	if (!httpd_date(sb.st_mtim.tv_sec, lm, sizeof(lm)))
		lm[0] = '\0';
	evhttp_add_header(out, "ETag", etag);
	if (lm[0] != '\0')
		evhttp_add_header(out, "Last-Modified", lm);
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Content-Security-Policy", HTTPD_CSP);
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");

	/* RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only
	 * without it. */
	inm = evhttp_find_header(in, "If-None-Match");
	ims = evhttp_find_header(in, "If-Modified-Since");
	if ((inm != NULL && httpd_etag_match(inm, etag)) ||
	    (inm == NULL && ims != NULL && httpd_parse_date(ims, &since) &&
	    sb.st_mtim.tv_sec <= since)) {
		close(fd);
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}

	evhttp_add_header(out, "Content-Type", httpd_content_type(rel));
	if (cmd == EVHTTP_REQ_HEAD) {
		close(fd);
		(void)text_printf(len, sizeof(len), "%lld",
		    (long long)sb.st_size);
		evhttp_add_header(out, "Content-Length", len);
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	if ((buf = evbuffer_new()) == NULL)
		FATAL("evbuffer_new");
	/* The evbuffer owns fd from here (libevent 2.1 may leak it when
	 * it fails for want of memory; closing it here could close it
	 * twice). */
	if (sb.st_size > 0 && evbuffer_add_file(buf, fd, 0, sb.st_size) != 0) {
		evbuffer_free(buf);
		httpd_reply_text(req, 500, "Internal Server Error",
		    "cannot read the file");
		return;
	}
	if (sb.st_size == 0)
		close(fd);
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

struct httpd *
httpd_start(struct event_base *base, int fd, const char *dir, char *err,
    size_t errlen)
{
	struct httpd	*h;

	h = xcalloc(1, sizeof(*h));
	h->dir = xstrdup(dir);
	h->base = base;
	if ((h->check_ev = event_new(base, -1, 0, httpd_check, h)) == NULL)
		FATAL("event_new");
	if ((h->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "http: evhttp_new failed");
		close(fd);
		free(h->dir);
		free(h);
		return (NULL);
	}
	/* Every method reaches httpd_request(), which answers 405 with
	 * Allow (evhttp's own refusal is a bare 501). */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(h->http, HTTPD_HEADERS_MAX);
	/* Room for a small body, so that a POST gets its 405, not a 413. */
	evhttp_set_max_body_size(h->http, HTTPD_BODY_MAX);
	evhttp_set_timeout(h->http, HTTPD_TIMEOUT_S);
	evhttp_set_gencb(h->http, httpd_request, h);
	evhttp_set_bevcb(h->http, httpd_bevcb, h);
	if (httpd_add_socket(h, fd, err, errlen) != 0) {
		httpd_free(h);
		return (NULL);
	}
	return (h);
}

static void
httpd_accept_error(struct evconnlistener *evl, void *arg)
{
	int	err = errno;
	size_t	i;

	(void)arg;	/* evhttp's, not ours: find the listener */
	for (i = 0; i < httpd_all.n; i++)
		if (httpd_all.p[i]->evl == evl) {
			listener_pause_on_error(httpd_all.p[i], err);
			return;
		}
	/* Not one of ours: at least do not spin. */
	evconnlistener_disable(evl);
}

int
httpd_add_socket(struct httpd *h, int fd, char *err, size_t errlen)
{
	struct evhttp_bound_socket	*bound;
	struct evconnlistener		*evl;
	char				 what[32];

	if ((bound = evhttp_accept_socket_with_handle(h->http, fd)) == NULL) {
		snprintf(err, errlen, "http: cannot accept on fd %d", fd);
		close(fd);
		return (-1);
	}
	evl = evhttp_bound_socket_get_listener(bound);
	if (h->npauses < CONFIG_LIST_MAX) {
		(void)text_printf(what, sizeof(what), "http fd %d", fd);
		listener_pause_init(&h->pauses[h->npauses], h->base, evl,
		    what);
		httpd_all.p[httpd_all.n++] = &h->pauses[h->npauses++];
	}
	evconnlistener_set_error_cb(evl, httpd_accept_error);
	return (0);
}

void
httpd_set_config(struct httpd *h, struct config *const *cfgp)
{
	h->cfgp = cfgp;
}

void
httpd_free(struct httpd *h)
{
	struct httpd_conn	*c;
	size_t			 i;

	if (h == NULL)
		return;
	/* Closes every connection: httpd_conn_closed() frees ours. */
	evhttp_free(h->http);
	while ((c = h->pending) != NULL) {
		httpd_conn_unlink(&h->pending, c);
		bufferevent_decref(c->bev);
		httpd_conn_free(c);
	}
	while ((c = h->conns) != NULL) {
		httpd_conn_unlink(&h->conns, c);
		httpd_conn_free(c);
	}
	for (i = 0; i < h->npauses; i++)
		listener_pause_free(&h->pauses[i]);
	httpd_all.n = 0;
	event_free(h->check_ev);
	free(h->dir);
	free(h);
}
