/*
 * tlsload: TLS and SMTP AUTH load generator for bench/tls_auth/run.
 *
 *   tlsload MODE HOST PORT BIND_ADDR CLIENTS SECONDS [USER PASS]
 *           [probe=PORT]
 *
 * CLIENTS threads each loop, until SECONDS have passed, over one new
 * connection per iteration (blocking sockets, one command, one reply):
 *
 *   tls         connect, full TLS handshake (implicit TLS, no session
 *               resumption), read the 220 greeting, QUIT, read 221
 *   auth-tls    the same plus EHLO and AUTH PLAIN (expects 235) before QUIT
 *   auth-plain  no TLS: greeting, EHLO, AUTH PLAIN (235), QUIT
 *   idle        nothing (a baseline for the probe)
 *
 * With probe=PORT one more thread holds a plaintext session (from
 * BIND_ADDR, to HOST:PORT) open while the load runs and sends NOOP,
 * waits for the 250, sleeps 2 ms, again: the latency another session sees.
 *
 * Prints one line:
 *   mode=M clients=N ok=N fail=N seconds=F rate=F p50_ms=F p99_ms=F
 *   [probe_n=N probe_p50_ms=F probe_p99_ms=F probe_max_ms=F probe_fail=N]
 * rate is completed iterations per second of wall time; p50/p99 are per
 * iteration. The first error of each thread goes to stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

enum mode { MODE_TLS, MODE_AUTH_TLS, MODE_AUTH_PLAIN, MODE_IDLE };

static enum mode	 mode;
static struct sockaddr_in server, bind_addr, probe_server;
static int		 probe_port;
static SSL_CTX		*ctx;
static char		 auth_line[1024];
static double		 deadline;
static atomic_bool	 stopping;

struct lat {
	double	*v;
	size_t	 n, cap;
};

struct worker {
	pthread_t	 th;
	unsigned long	 ok, fail;
	bool		 reported;
	struct lat	 lat;
};

struct conn {
	int	 fd;
	SSL	*ssl;
	char	 buf[8192];
	size_t	 len;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
lat_add(struct lat *l, double v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		if ((l->v = realloc(l->v, l->cap * sizeof(double))) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	l->v[l->n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(struct lat *l, double p)
{
	size_t	i;

	if (l->n == 0)
		return 0;
	i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return l->v[i];
}

static bool	quickack;

/* Linux leaves quick-ACK mode again by itself; re-arm it before reads. */
static void
arm_quickack(int fd)
{
	int	one = 1;

	if (quickack)
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static ssize_t
c_read(struct conn *c, void *buf, size_t n)
{
	arm_quickack(c->fd);
	if (c->ssl != NULL) {
		int	r = SSL_read(c->ssl, buf, (int)n);

		return r > 0 ? r : -1;
	}
	return read(c->fd, buf, n);
}

static int
c_write(struct conn *c, const char *s)
{
	size_t	n = strlen(s);

	if (c->ssl != NULL)
		return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -1;
	while (n > 0) {
		ssize_t	w = write(c->fd, s, n);

		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One whole reply; its code, or -1. */
static int
reply(struct conn *c)
{
	for (;;) {
		char	*nl;

		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t	n = (size_t)(nl - c->buf) + 1;
			bool	last = n >= 4 && c->buf[3] != '-';
			int	code = n >= 4 ? atoi(c->buf) : -1;

			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			if (last)
				return code;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t	r = c_read(c, c->buf + c->len,
		    sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static int
cmd(struct conn *c, const char *line)
{
	if (c_write(c, line) == -1)
		return -1;
	return reply(c);
}

static int
tcp_connect(const struct sockaddr_in *to)
{
	int		fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct timeval	tv = { 15, 0 };
	struct sockaddr_in b = bind_addr;

	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	b.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&b, sizeof(b)) == -1 ||
	    connect(fd, (const struct sockaddr *)to, sizeof(*to)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* One iteration; NULL on success, else what failed. */
static const char *
iteration(void)
{
	struct conn	 c = { .fd = -1 };
	const char	*what = NULL;

	if ((c.fd = tcp_connect(&server)) == -1)
		return "connect";
	if (mode != MODE_AUTH_PLAIN) {
		arm_quickack(c.fd);
		if ((c.ssl = SSL_new(ctx)) == NULL ||
		    SSL_set_fd(c.ssl, c.fd) != 1 || SSL_connect(c.ssl) != 1) {
			what = "TLS handshake";
			goto out;
		}
	}
	if (reply(&c) != 220) {
		what = "greeting";
		goto out;
	}
	if (mode != MODE_TLS) {
		if (cmd(&c, "EHLO load.example\r\n") != 250) {
			what = "EHLO";
			goto out;
		}
		if (cmd(&c, auth_line) != 235) {
			what = "AUTH (no 235)";
			goto out;
		}
	}
	if (cmd(&c, "QUIT\r\n") != 221)
		what = "QUIT (no 221)";
out:
	conn_close(&c);
	return what;
}

static void *
work(void *arg)
{
	struct worker	*w = arg;

	if (mode == MODE_IDLE) {
		while (!atomic_load(&stopping) && now() < deadline)
			usleep(10000);
		return NULL;
	}
	while (!atomic_load(&stopping) && now() < deadline) {
		double		 t0 = now();
		const char	*err = iteration();

		if (err == NULL) {
			w->ok++;
			lat_add(&w->lat, now() - t0);
			continue;
		}
		w->fail++;
		if (!w->reported) {
			w->reported = true;
			fprintf(stderr, "tlsload: %s failed (%s)\n", err,
			    strerror(errno));
			ERR_print_errors_fp(stderr);
		}
		usleep(10000);
	}
	return NULL;
}

struct probe {
	pthread_t	th;
	struct lat	lat;
	unsigned long	fail;
};

static void *
probe_run(void *arg)
{
	struct probe	*p = arg;
	struct conn	 c = { .fd = -1 };
	struct timespec	 gap = { 0, 2000000 };

	if ((c.fd = tcp_connect(&probe_server)) == -1 || reply(&c) != 220 ||
	    cmd(&c, "EHLO probe.example\r\n") != 250) {
		p->fail++;
		conn_close(&c);
		return NULL;
	}
	while (!atomic_load(&stopping)) {
		double	t0 = now();

		if (cmd(&c, "NOOP\r\n") != 250) {
			p->fail++;
			break;
		}
		lat_add(&p->lat, now() - t0);
		nanosleep(&gap, NULL);
	}
	cmd(&c, "QUIT\r\n");
	conn_close(&c);
	return NULL;
}

static void
b64(const char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)len);
}

static void
usage(void)
{
	fprintf(stderr, "usage: tlsload tls|auth-tls|auth-plain|idle HOST PORT "
	    "BIND_ADDR CLIENTS SECONDS [USER PASS] [probe=PORT]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct worker	*ws;
	struct probe	 pr = { 0 };
	struct lat	 all = { 0 };
	unsigned long	 ok = 0, fail = 0;
	int		 clients, i, nargs = argc;
	double		 secs, t0, t1;

	if (argc > 1 && strncmp(argv[argc - 1], "probe=", 6) == 0) {
		probe_port = atoi(argv[argc - 1] + 6);
		nargs--;
	}
	if (nargs < 7)
		usage();
	if (strcmp(argv[1], "tls") == 0)
		mode = MODE_TLS;
	else if (strcmp(argv[1], "auth-tls") == 0)
		mode = MODE_AUTH_TLS;
	else if (strcmp(argv[1], "auth-plain") == 0)
		mode = MODE_AUTH_PLAIN;
	else if (strcmp(argv[1], "idle") == 0)
		mode = MODE_IDLE;
	else
		usage();
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[3]));
	bind_addr.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[2], &server.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[4], &bind_addr.sin_addr) != 1)
		usage();
	probe_server = server;
	probe_server.sin_port = htons((uint16_t)probe_port);
	clients = atoi(argv[5]);
	secs = atof(argv[6]);
	if (clients < 1 || secs <= 0)
		usage();
	if (mode == MODE_AUTH_TLS || mode == MODE_AUTH_PLAIN) {
		char	plain[600];
		size_t	n;

		if (nargs < 9 || strlen(argv[7]) + strlen(argv[8]) > 500)
			usage();
		n = (size_t)snprintf(plain, sizeof(plain), "%c%s%c%s", 0,
		    argv[7], 0, argv[8]);
		memcpy(auth_line, "AUTH PLAIN ", 11);
		b64(plain, n, auth_line + 11);
		strcat(auth_line, "\r\n");
	}
	quickack = getenv("TLSLOAD_QUICKACK") != NULL;
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Every connection is a full handshake. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

	if ((ws = calloc((size_t)clients, sizeof(*ws))) == NULL)
		return 1;
	if (probe_port && pthread_create(&pr.th, NULL, probe_run, &pr) != 0)
		return 1;
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < clients; i++)
		if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0)
			return 1;
	for (i = 0; i < clients; i++) {
		pthread_join(ws[i].th, NULL);
		ok += ws[i].ok;
		fail += ws[i].fail;
		for (size_t k = 0; k < ws[i].lat.n; k++)
			lat_add(&all, ws[i].lat.v[k]);
	}
	t1 = now();
	atomic_store(&stopping, true);
	if (probe_port)
		pthread_join(pr.th, NULL);
	qsort(all.v, all.n, sizeof(double), cmp_double);
	printf("mode=%s clients=%d ok=%lu fail=%lu seconds=%.3f rate=%.1f "
	    "p50_ms=%.2f p99_ms=%.2f", argv[1], clients, ok, fail, t1 - t0,
	    (double)ok / (t1 - t0), pct(&all, 0.5) * 1e3,
	    pct(&all, 0.99) * 1e3);
	if (probe_port) {
		qsort(pr.lat.v, pr.lat.n, sizeof(double), cmp_double);
		printf(" probe_n=%zu probe_p50_ms=%.3f probe_p99_ms=%.3f "
		    "probe_max_ms=%.3f probe_fail=%lu", pr.lat.n,
		    pct(&pr.lat, 0.5) * 1e3, pct(&pr.lat, 0.99) * 1e3,
		    pct(&pr.lat, 1.0) * 1e3, pr.fail);
	}
	printf("\n");
	return 0;
}
