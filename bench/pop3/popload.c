/*
 * popload: POP3 load client for bench/pop3/run (plain TCP, blocking
 * sockets, one thread per client).
 *
 *   popload login HOST PORT CLIENTS SECONDS USER_TEMPLATE PASS
 *       CLIENTS threads each loop until SECONDS have passed: connect,
 *       greeting, USER, PASS (+OK expected), QUIT (+OK), close. Thread i
 *       logs in as USER_TEMPLATE with "%d" replaced by i (a template
 *       without "%d" is used as is by every thread).
 *       Prints: ok=N fail=N seconds=F rate=F p50_ms=F p99_ms=F
 *
 *   popload fetch HOST PORT USER PASS EXPECT [DEPTH]
 *       One session: USER/PASS, LIST (EXPECT messages expected), RETR 1..N,
 *       DELE 1..N, QUIT; every RETR is checked (its unstuffed length equals
 *       the LIST size, its X-Bench-Id header is new), every DELE must be
 *       +OK. DEPTH (default 1) commands are written at once before their
 *       replies are read (1 = lockstep, as most clients do; RFC 2449
 *       PIPELINING otherwise).
 *       Prints: ok=1 total_ms=F pre_quit_ms=F login_ms=F list_ms=F
 *               retr_ms=F dele_ms=F quit_ms=F msgs=N octets=N
 *       (pre_quit_ms: connect to the last DELE's +OK, i.e. total_ms
 *       without the QUIT, whose time is mostly the file system's unlinks)
 *       or ok=0 and the reason on stderr (exit status 1).
 *
 *   popload quit HOST PORT USER PASS
 *       USER/PASS, STAT, QUIT: one session that changes nothing but what
 *       the server does at login/logout (moving new/ to cur/, indexes).
 *       Prints: ok=1 stat="+OK ..."
 *
 * Sockets use TCP_NODELAY and re-arm TCP_QUICKACK before each read, so
 * neither side's Nagle/delayed-ACK timers are what is measured.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in server;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a connection with a line reader ----------------------------------- */

struct conn {
	int	fd;
	char	buf[256 * 1024];
	size_t	off, len;
	char	err[256];
};

static void
seterr(struct conn *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static bool
conn_open(struct conn *c)
{
	int	one = 1;

	c->off = c->len = 0;
	c->err[0] = '\0';
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		seterr(c, "socket: %s", strerror(errno));
		return false;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) == -1) {
		seterr(c, "connect: %s", strerror(errno));
		close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static bool
conn_fill(struct conn *c)
{
	ssize_t	n;
	int	one = 1;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf)) {
		seterr(c, "line too long");
		return false;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	do
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		seterr(c, n == 0 ? "connection closed" : "read: %s",
		    strerror(errno));
		return false;
	}
	c->len += (size_t)n;
	return true;
}

/* The next line without CRLF (NUL-terminated in place); NULL on error. */
static char *
conn_line(struct conn *c, size_t *len_out)
{
	char	*p, *nl;

	for (;;) {
		p = c->buf + c->off;
		nl = memchr(p, '\n', c->len - c->off);
		if (nl != NULL) {
			size_t	len = (size_t)(nl - p);

			c->off += len + 1;
			if (len > 0 && p[len - 1] == '\r')
				len--;
			p[len] = '\0';
			if (len_out != NULL)
				*len_out = len;
			return p;
		}
		if (!conn_fill(c))
			return NULL;
	}
}

static bool
conn_write(struct conn *c, const char *s, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(c->fd, s, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			seterr(c, "write: %s", strerror(errno));
			return false;
		}
		s += n;
		len -= (size_t)n;
	}
	return true;
}

/* One status line that must start with +OK. */
static bool
expect_ok(struct conn *c, const char *what)
{
	char	*l = conn_line(c, NULL);

	if (l == NULL) {
		seterr(c, "%s: no reply", what);
		return false;
	}
	if (strncmp(l, "+OK", 3) != 0) {
		seterr(c, "%s: %.200s", what, l);
		return false;
	}
	return true;
}

static bool
cmd_ok(struct conn *c, const char *what, const char *fmt, ...)
{
	char	line[600];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return conn_write(c, line, (size_t)n) && expect_ok(c, what);
}

static bool
login(struct conn *c, const char *user, const char *pass)
{
	return expect_ok(c, "greeting") &&
	    cmd_ok(c, "USER", "USER %s\r\n", user) &&
	    cmd_ok(c, "PASS", "PASS %s\r\n", pass);
}

/* ---- login mode ---------------------------------------------------------- */

static double	deadline;
static const char *user_template, *password;

struct worker {
	pthread_t	 t;
	int		 id;
	unsigned long	 ok, fail;
	double		*lat;
	size_t		 nlat, cap;
	char		 first_err[600];
};

static void *
login_worker(void *arg)
{
	struct worker	*w = arg;
	struct conn	*c = calloc(1, sizeof(*c));
	char		 user[256];
	double		 t0, t1;
	const char	*pct = strstr(user_template, "%d");

	if (c == NULL)
		abort();
	if (pct != NULL)
		snprintf(user, sizeof(user), "%.*s%d%s",
		    (int)(pct - user_template), user_template, w->id, pct + 2);
	else
		snprintf(user, sizeof(user), "%s", user_template);
	while ((t0 = now()) < deadline) {
		bool	good = conn_open(c) && login(c, user, password) &&
		    cmd_ok(c, "QUIT", "QUIT\r\n");

		conn_close(c);
		t1 = now();
		if (!good) {
			w->fail++;
			if (w->first_err[0] == '\0')
				snprintf(w->first_err, sizeof(w->first_err),
				    "client %d (%s): %s", w->id, user, c->err);
			usleep(10000);
			continue;
		}
		w->ok++;
		if (w->nlat == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 4096;
			if ((w->lat = realloc(w->lat, w->cap * sizeof(double)))
			    == NULL)
				abort();
		}
		w->lat[w->nlat++] = t1 - t0;
	}
	free(c);
	return NULL;
}

static int
dcmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
run_login(int nclients, double secs)
{
	struct worker	*w = calloc((size_t)nclients, sizeof(*w));
	unsigned long	 ok = 0, fail = 0;
	double		*all, t0, el;
	size_t		 n = 0, k;
	int		 i;

	if (w == NULL)
		abort();
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < nclients; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].t, NULL, login_worker, &w[i]) != 0)
			abort();
	}
	for (i = 0; i < nclients; i++) {
		pthread_join(w[i].t, NULL);
		ok += w[i].ok;
		fail += w[i].fail;
		n += w[i].nlat;
		if (w[i].first_err[0] != '\0')
			fprintf(stderr, "%s\n", w[i].first_err);
	}
	el = now() - t0;
	if ((all = malloc((n + 1) * sizeof(double))) == NULL)
		abort();
	for (n = 0, i = 0; i < nclients; i++)
		for (k = 0; k < w[i].nlat; k++)
			all[n++] = w[i].lat[k];
	qsort(all, n, sizeof(double), dcmp);
	printf("ok=%lu fail=%lu seconds=%.3f rate=%.1f p50_ms=%.2f "
	    "p99_ms=%.2f\n", ok, fail, el, (double)ok / el,
	    n ? all[n / 2] * 1e3 : 0.0,
	    n ? all[(size_t)((double)(n - 1) * 0.99)] * 1e3 : 0.0);
	return 0;
}

/* ---- fetch mode ---------------------------------------------------------- */

/* Read one multi-line body up to ".": its unstuffed length with CRLF
 * line ends, and the value of its X-Bench-Id header (-1 if none). */
static bool
read_body(struct conn *c, uint64_t *octets, long *id)
{
	char	*l;
	size_t	 len;

	*octets = 0;
	*id = -1;
	for (;;) {
		if ((l = conn_line(c, &len)) == NULL)
			return false;
		if (l[0] == '.') {
			if (len == 1)
				return true;
			l++;
			len--;
		}
		if (*id == -1 && strncmp(l, "X-Bench-Id: ", 12) == 0)
			*id = atol(l + 12);
		*octets += len + 2;
	}
}

static int
fail_fetch(struct conn *c)
{
	printf("ok=0\n");
	fprintf(stderr, "fetch: %s\n", c->err);
	return 1;
}

/* Write the commands first..last (fmt with one %u) in batches of depth,
 * reading the replies of each batch through handler. */
static bool
batch(struct conn *c, unsigned first, unsigned last, unsigned depth,
    const char *fmt, bool (*handler)(struct conn *, unsigned, void *),
    void *arg)
{
	static char	out[1 << 20];
	unsigned	i, j, end;
	size_t		len;

	for (i = first; i <= last; i = end + 1) {
		end = i + depth - 1 > last ? last : i + depth - 1;
		len = 0;
		for (j = i; j <= end; j++) {
			if (len + 64 > sizeof(out))
				abort();
			len += (size_t)snprintf(out + len, sizeof(out) - len,
			    fmt, j);
		}
		if (!conn_write(c, out, len))
			return false;
		for (j = i; j <= end; j++)
			if (!handler(c, j, arg))
				return false;
	}
	return true;
}

struct fetch {
	unsigned	 n;
	uint64_t	*sizes;
	unsigned char	*seen;
	uint64_t	 octets;
};

static bool
retr_reply(struct conn *c, unsigned i, void *arg)
{
	struct fetch	*f = arg;
	uint64_t	 octets;
	long		 id;

	if (!expect_ok(c, "RETR") || !read_body(c, &octets, &id))
		return false;
	if (octets != f->sizes[i]) {
		seterr(c, "RETR %u: %llu octets, LIST said %llu", i,
		    (unsigned long long)octets,
		    (unsigned long long)f->sizes[i]);
		return false;
	}
	if (id < 1 || id > (long)f->n || f->seen[id]) {
		seterr(c, "RETR %u: X-Bench-Id %ld missing or repeated", i, id);
		return false;
	}
	f->seen[id] = 1;
	f->octets += octets;
	return true;
}

static bool
dele_reply(struct conn *c, unsigned i, void *arg)
{
	(void)i;
	(void)arg;
	return expect_ok(c, "DELE");
}

static int
run_fetch(const char *user, const char *pass, unsigned expect,
    unsigned depth)
{
	struct conn	*c = calloc(1, sizeof(*c));
	struct fetch	 f = { 0 };
	double		 t0, t_login, t_list, t_retr, t_dele, t_quit;
	char		*l;
	unsigned	 n, num;
	unsigned long long size;

	if (c == NULL)
		abort();
	f.sizes = calloc(expect + 2, sizeof(uint64_t));
	f.seen = calloc(expect + 2, 1);
	if (f.sizes == NULL || f.seen == NULL)
		abort();
	t0 = now();
	if (!conn_open(c) || !login(c, user, pass))
		return fail_fetch(c);
	t_login = now();
	if (!cmd_ok(c, "LIST", "LIST\r\n"))
		return fail_fetch(c);
	for (n = 0;;) {
		if ((l = conn_line(c, NULL)) == NULL)
			return fail_fetch(c);
		if (strcmp(l, ".") == 0)
			break;
		if (sscanf(l, "%u %llu", &num, &size) != 2 || num != n + 1 ||
		    num > expect) {
			seterr(c, "LIST: unexpected line %.100s (after %u of "
			    "%u)", l, n, expect);
			return fail_fetch(c);
		}
		f.sizes[num] = size;
		n++;
	}
	if (n != expect) {
		seterr(c, "LIST: %u messages, expected %u", n, expect);
		return fail_fetch(c);
	}
	f.n = n;
	t_list = now();
	if (!batch(c, 1, n, depth, "RETR %u\r\n", retr_reply, &f))
		return fail_fetch(c);
	t_retr = now();
	if (!batch(c, 1, n, depth, "DELE %u\r\n", dele_reply, &f))
		return fail_fetch(c);
	t_dele = now();
	if (!cmd_ok(c, "QUIT", "QUIT\r\n"))
		return fail_fetch(c);
	t_quit = now();
	conn_close(c);
	printf("ok=1 total_ms=%.2f pre_quit_ms=%.2f login_ms=%.2f list_ms=%.2f "
	    "retr_ms=%.2f dele_ms=%.2f quit_ms=%.2f msgs=%u octets=%llu\n",
	    (t_quit - t0) * 1e3, (t_dele - t0) * 1e3, (t_login - t0) * 1e3,
	    (t_list - t_login) * 1e3, (t_retr - t_list) * 1e3,
	    (t_dele - t_retr) * 1e3, (t_quit - t_dele) * 1e3, n,
	    (unsigned long long)f.octets);
	return 0;
}

static int
run_quit(const char *user, const char *pass)
{
	struct conn	*c = calloc(1, sizeof(*c));
	char		*l;

	if (c == NULL)
		abort();
	if (!conn_open(c) || !login(c, user, pass) ||
	    !conn_write(c, "STAT\r\n", 6) || (l = conn_line(c, NULL)) == NULL)
		return fail_fetch(c);
	printf("ok=1 stat=\"%s\"\n", l);
	if (!cmd_ok(c, "QUIT", "QUIT\r\n"))
		return fail_fetch(c);
	conn_close(c);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: popload login HOST PORT CLIENTS SECONDS "
	    "USER_TEMPLATE PASS\n"
	    "       popload fetch HOST PORT USER PASS EXPECT [DEPTH]\n"
	    "       popload quit HOST PORT USER PASS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	signal(SIGPIPE, SIG_IGN);
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &server.sin_addr) != 1)
		usage();
	if (strcmp(argv[1], "login") == 0 && argc == 8) {
		user_template = argv[6];
		password = argv[7];
		return run_login(atoi(argv[4]), atof(argv[5]));
	}
	if (strcmp(argv[1], "fetch") == 0 && (argc == 7 || argc == 8))
		return run_fetch(argv[4], argv[5], (unsigned)atoi(argv[6]),
		    argc == 8 ? (unsigned)atoi(argv[7]) : 1);
	if (strcmp(argv[1], "quit") == 0 && argc == 6)
		return run_quit(argv[4], argv[5]);
	usage();
	return 2;
}
