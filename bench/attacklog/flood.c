/*
 * flood: refused-relay flood through pillory's PROXY listener, and a NOOP
 * latency probe, for bench/attacklog/run.
 *
 *   flood attack HOST PORT SESSIONS SECONDS PER_CONN NSRC WINDOW [RCPT [SDOM]]
 *
 * SESSIONS processes each loop until SECONDS have passed: connect, send a
 * PROXY v1 header claiming the next of NSRC source addresses (198.18.0.0/15,
 * the RFC 2544 benchmarking range: 198.18.X.Y, 250 hosts per /24), read the
 * greeting, EHLO, one MAIL FROM a local-domain sender (spamN@SDOM; default
 * gabacho-net.jp), then PER_CONN RCPT TO an outside recipient (default
 * victim@empal.com; or RCPT, e.g. an unknown local user with an outside
 * SDOM for a control run that makes no records), pipelined WINDOW at a
 * time (PIPELINING is advertised), then QUIT. Every 5xx to a RCPT is a refused relay, i.e. one
 * spoofed-relay record; a 2xx would be an open relay (must stay 0). Keep
 * PER_CONN below [smtp] max_errors, or the server ends the session early
 * (that is counted, not an error). Prints one line:
 *   refused=N relayed=N errors=N connections=N seconds=F rate=F
 *
 *   flood probe HOST PORT SECONDS INTERVAL_MS
 *
 * One ordinary session (EHLO once), then a NOOP every INTERVAL_MS for
 * SECONDS, each timed from the write to the 250. Prints
 *   n=N p50_ms=F p99_ms=F max_ms=F errors=N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int	fd;
	char	buf[65536];
	size_t	len;
};

struct counts {
	unsigned long	refused, relayed, errors, connections;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Read one (possibly multi-line) reply; its code, or -1 on EOF/error. */
static int
reply(struct conn *c)
{
	for (;;) {
		char	*nl;

		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t	n = (size_t)(nl - c->buf) + 1;
			int	last = n >= 4 && c->buf[3] != '-';
			int	code = n >= 4 ? atoi(c->buf) : -1;

			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			if (last)
				return (code);
		}
		if (c->len == sizeof(c->buf))
			return (-1);
		ssize_t r = read(c->fd, c->buf + c->len,
		    sizeof(c->buf) - c->len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return (-1);
		}
		c->len += (size_t)r;
	}
}

static int
send_all(struct conn *c, const char *p, size_t n)
{
	size_t	off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		off += (size_t)w;
	}
	return (0);
}

static int
cmd(struct conn *c, const char *line)
{
	if (send_all(c, line, strlen(line)) != 0)
		return (-1);
	return (reply(c));
}

static int
dial(const struct sockaddr_in *dst)
{
	int	fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return (-1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static void
attack_worker(const struct sockaddr_in *dst, int id, int sessions,
    double deadline, long per_conn, long nsrc, long window, const char *rcpt,
    const char *sdom, int out)
{
	struct counts	 k = { 0, 0, 0, 0 };
	static struct conn c;
	static char	 batch[256 * 64];
	char		 line[256];
	long		 seq = id, i, n, j;
	size_t		 blen, rlen;
	int		 code;

	snprintf(line, sizeof(line), "RCPT TO:<%.200s>\r\n", rcpt);
	rlen = strlen(line);
	if (window * (long)rlen > (long)sizeof(batch))
		window = (long)(sizeof(batch) / rlen);
	for (j = 0; j < window; j++)
		memcpy(batch + (size_t)j * rlen, line, rlen);

	while (now() < deadline) {
		long	src = seq % nsrc;

		seq += sessions;
		c.len = 0;
		if ((c.fd = dial(dst)) < 0) {
			k.errors++;
			usleep(10000);
			continue;
		}
		k.connections++;
		snprintf(line, sizeof(line), "PROXY TCP4 198.18.%ld.%ld "
		    "127.0.0.1 %ld 25\r\n", src / 250, src % 250 + 1,
		    10000 + seq % 50000);
		if (send_all(&c, line, strlen(line)) != 0 || reply(&c) != 220 ||
		    cmd(&c, "EHLO flood.example\r\n") != 250) {
			k.errors++;
			close(c.fd);
			continue;
		}
		snprintf(line, sizeof(line),
		    "MAIL FROM:<spam%ld@%.100s>\r\n", seq % 1000, sdom);
		if (cmd(&c, line) != 250) {
			k.errors++;
			close(c.fd);
			continue;
		}
		for (i = 0; i < per_conn && now() < deadline; i += n) {
			n = per_conn - i < window ? per_conn - i : window;
			blen = (size_t)n * rlen;
			if (send_all(&c, batch, blen) != 0) {
				k.errors++;
				break;
			}
			for (j = 0; j < n; j++) {
				code = reply(&c);
				if (code >= 500 && code < 600)
					k.refused++;
				else if (code >= 200 && code < 300)
					k.relayed++;
				else
					break;
			}
			if (j < n) {
				/* 421: max_errors reached; or EOF. */
				if (code != 421)
					k.errors++;
				break;
			}
		}
		if (i >= per_conn || now() >= deadline)
			(void)cmd(&c, "QUIT\r\n");
		close(c.fd);
	}
	if (write(out, &k, sizeof(k)) != (ssize_t)sizeof(k))
		_exit(1);
	_exit(0);
}

static int
attack(const struct sockaddr_in *dst, int argc, char **argv)
{
	struct counts	 sum = { 0, 0, 0, 0 }, k;
	int		 sessions, fds[2], i;
	double		 secs, t0, deadline, el;
	long		 per_conn, nsrc, window;
	pid_t		 pid;

	if (argc < 9 || argc > 11) {
		fprintf(stderr, "usage: flood attack HOST PORT SESSIONS "
		    "SECONDS PER_CONN NSRC WINDOW [RCPT [SDOM]]\n");
		return (2);
	}
	sessions = atoi(argv[4]);
	secs = atof(argv[5]);
	per_conn = atol(argv[6]);
	nsrc = atol(argv[7]);
	window = atol(argv[8]);
	if (sessions < 1 || secs <= 0 || per_conn < 1 || nsrc < 1 ||
	    nsrc > 250 * 256 || window < 1) {
		fprintf(stderr, "flood: bad arguments\n");
		return (2);
	}
	if (pipe(fds) != 0) {
		perror("pipe");
		return (1);
	}
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < sessions; i++) {
		if ((pid = fork()) < 0) {
			perror("fork");
			return (1);
		}
		if (pid == 0) {
			close(fds[0]);
			attack_worker(dst, i, sessions, deadline, per_conn,
			    nsrc, window, argc > 9 ? argv[9] :
			    "victim@empal.com", argc > 10 ? argv[10] :
			    "gabacho-net.jp", fds[1]);
		}
	}
	close(fds[1]);
	for (i = 0; i < sessions; i++) {
		if (read(fds[0], &k, sizeof(k)) != (ssize_t)sizeof(k))
			break;
		sum.refused += k.refused;
		sum.relayed += k.relayed;
		sum.errors += k.errors;
		sum.connections += k.connections;
	}
	while (wait(NULL) > 0)
		;
	el = now() - t0;
	printf("refused=%lu relayed=%lu errors=%lu connections=%lu "
	    "seconds=%.3f rate=%.0f\n", sum.refused, sum.relayed, sum.errors,
	    sum.connections, el, (double)sum.refused / el);
	return (i == sessions ? 0 : 1);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static int
probe(const struct sockaddr_in *dst, int argc, char **argv)
{
	static struct conn c;
	double		 secs, interval, deadline, t, *lat;
	size_t		 n = 0, cap;
	unsigned long	 errors = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: flood probe HOST PORT SECONDS "
		    "INTERVAL_MS\n");
		return (2);
	}
	secs = atof(argv[4]);
	interval = atof(argv[5]) / 1000.0;
	if (secs <= 0 || interval <= 0)
		return (2);
	cap = (size_t)(secs / interval) + 16;
	if ((lat = calloc(cap, sizeof(*lat))) == NULL)
		return (1);
	if ((c.fd = dial(dst)) < 0 || reply(&c) != 220 ||
	    cmd(&c, "EHLO probe.example\r\n") != 250) {
		fprintf(stderr, "flood probe: cannot open a session\n");
		return (1);
	}
	deadline = now() + secs;
	while ((t = now()) < deadline && n < cap) {
		if (cmd(&c, "NOOP\r\n") != 250) {
			errors++;
			break;
		}
		lat[n++] = (now() - t) * 1000.0;
		t += interval;
		while (now() < t)
			usleep(1000);
	}
	(void)cmd(&c, "QUIT\r\n");
	close(c.fd);
	if (n == 0) {
		printf("n=0 p50_ms=0 p99_ms=0 max_ms=0 errors=%lu\n", errors);
		return (1);
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("n=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%lu\n", n,
	    lat[n / 2], lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
	    lat[n - 1], errors);
	free(lat);
	return (errors == 0 ? 0 : 1);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	dst;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 4) {
		fprintf(stderr, "usage: flood attack|probe HOST PORT ...\n");
		return (2);
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
		fprintf(stderr, "flood: bad host %s\n", argv[2]);
		return (2);
	}
	if (strcmp(argv[1], "attack") == 0)
		return (attack(&dst, argc, argv));
	if (strcmp(argv[1], "probe") == 0)
		return (probe(&dst, argc, argv));
	fprintf(stderr, "flood: unknown mode %s\n", argv[1]);
	return (2);
}
