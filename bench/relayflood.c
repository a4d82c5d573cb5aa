/*
 * relayflood: refused-relay load generator for bench/run.
 *
 *   relayflood HOST PORT BIND_ADDR SESSIONS SECONDS PER_CONN
 *
 * SESSIONS processes each loop, until SECONDS have passed: connect from
 * BIND_ADDR, read the greeting, EHLO, then PER_CONN times
 *   MAIL FROM:<spam@example.test>  RCPT TO:<victim@elsewhere.test>  RSET
 * in lockstep (one command, one reply, like smtp-source: no pipelining),
 * then QUIT. A 5xx reply to RCPT is a refused relay; a 2xx is a relay that
 * got through (must stay 0; smtp-sink, the ceiling, accepts them all).
 * Prints one line:
 *   refused=N relayed=N errors=N connections=N seconds=F rate=F answered_rate=F
 * where rate is refused relays per second of wall time and answered_rate
 * counts both kinds of answer.
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
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int	fd;
	char	buf[8192];
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

/* Read one (possibly multi-line) reply; return its code or -1. */
static int
reply(struct conn *c)
{
	for (;;) {
		char	*nl;

		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t	 n = (size_t)(nl - c->buf) + 1;
			int	 last = n >= 4 && c->buf[3] != '-';
			int	 code = n >= 4 ? atoi(c->buf) : -1;

			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			if (last)
				return (code);
		}
		if (c->len == sizeof(c->buf))
			return (-1);
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return (-1);
		}
		c->len += (size_t)r;
	}
}

static int
cmd(struct conn *c, const char *line)
{
	size_t	 n = strlen(line), off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, line + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		off += (size_t)w;
	}
	return (reply(c));
}

static void
worker(const struct sockaddr_in *dst, const struct sockaddr_in *src,
    double deadline, long per_conn, int out)
{
	struct counts	 k = { 0, 0, 0, 0 };
	struct conn	 c;
	struct timeval	 tmo = { 10, 0 };
	int		 one = 1;

	while (now() < deadline) {
		c.len = 0;
		c.fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c.fd < 0) {
			k.errors++;
			break;
		}
		setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(c.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* a stalled server ends the connection, not the benchmark */
		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
		setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		if (bind(c.fd, (const struct sockaddr *)src, sizeof(*src)) < 0 ||
		    connect(c.fd, (const struct sockaddr *)dst,
		    sizeof(*dst)) < 0) {
			k.errors++;
			close(c.fd);
			usleep(10000);
			continue;
		}
		k.connections++;
		if (reply(&c) != 220 ||
		    cmd(&c, "EHLO spambot.elsewhere.test\r\n") != 250) {
			k.errors++;
			close(c.fd);
			continue;
		}
		for (long i = 0; i < per_conn && now() < deadline; i++) {
			int code;

			if (cmd(&c, "MAIL FROM:<spam@example.test>\r\n") != 250) {
				k.errors++;
				break;
			}
			code = cmd(&c, "RCPT TO:<victim@elsewhere.test>\r\n");
			if (code >= 500 && code < 600)
				k.refused++;
			else if (code >= 200 && code < 300)
				k.relayed++;
			else {
				k.errors++;
				break;
			}
			if (cmd(&c, "RSET\r\n") != 250) {
				k.errors++;
				break;
			}
		}
		(void)cmd(&c, "QUIT\r\n");
		close(c.fd);
	}
	if (write(out, &k, sizeof(k)) != (ssize_t)sizeof(k))
		_exit(1);
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 dst, src;
	struct counts		 total = { 0, 0, 0, 0 }, k;
	int			 p[2];
	long			 sessions, per_conn;
	double			 secs, t0, t1;

	if (argc != 7) {
		fprintf(stderr, "usage: relayflood HOST PORT BIND SESSIONS "
		    "SECONDS PER_CONN\n");
		return (2);
	}
	memset(&dst, 0, sizeof(dst));
	memset(&src, 0, sizeof(src));
	dst.sin_family = src.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &src.sin_addr) != 1) {
		fprintf(stderr, "relayflood: bad address\n");
		return (2);
	}
	sessions = atol(argv[4]);
	secs = atof(argv[5]);
	per_conn = atol(argv[6]);
	if (sessions < 1 || secs <= 0 || per_conn < 1)
		return (2);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) < 0)
		return (1);
	t0 = now();
	for (long i = 0; i < sessions; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return (1);
		if (pid == 0) {
			close(p[0]);
			worker(&dst, &src, t0 + secs, per_conn, p[1]);
		}
	}
	close(p[1]);
	while (read(p[0], &k, sizeof(k)) == (ssize_t)sizeof(k)) {
		total.refused += k.refused;
		total.relayed += k.relayed;
		total.errors += k.errors;
		total.connections += k.connections;
	}
	while (wait(NULL) > 0)
		;
	t1 = now();
	printf("refused=%lu relayed=%lu errors=%lu connections=%lu "
	    "seconds=%.3f rate=%.1f answered_rate=%.1f\n", total.refused,
	    total.relayed, total.errors, total.connections, t1 - t0,
	    (double)total.refused / (t1 - t0),
	    (double)(total.refused + total.relayed) / (t1 - t0));
	return (0);
}
