/*
 * botnet: load generator for bench/defense/run.
 *
 *   botnet attack HOST PORT WORKERS NSRC PER_SRC SECONDS
 *
 * NSRC sources (198.18.0.0/15, the RFC 2544 benchmarking range) make
 * PER_SRC attempts each through pillory's PROXY listener, round-robin over
 * the sources, paced so that all NSRC * PER_SRC attempts are spread over
 * SECONDS, shared by WORKERS processes. An attempt is one connection: if
 * greeted with 220, EHLO, MAIL FROM an outside sender, RCPT TO an outside
 * recipient (a refused relay, 5xx) and QUIT; if greeted with 554 (banned),
 * QUIT. Prints one line:
 *   refused=N banned=N relayed=N errors=N seconds=F
 *
 *   botnet banned HOST PORT WORKERS NSRC COUNT
 *
 * COUNT connections from the first NSRC sources (all banned by then),
 * each PROXY header, 554 greeting, QUIT, 221, as fast as WORKERS
 * processes go. Prints  banned=N other=N errors=N seconds=F
 *
 *   botnet legit HOST PORT SECONDS INTERVAL_MS
 *
 * A legitimate client: every INTERVAL_MS a whole delivery (connect,
 * greeting, EHLO, MAIL, RCPT to a local user, DATA, QUIT), timed from
 * connect() to the 250 after the message. Prints
 *   n=N p50_ms=F p99_ms=F max_ms=F errors=N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int	fd;
	char	buf[8192];
	size_t	len;
};

struct counts {
	unsigned long	refused, banned, relayed, errors;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static int
reply(struct conn *c)
{
	for (;;) {
		char	*nl;

		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t	 n = (size_t)(nl - c->buf) + 1;
			int	 last = n >= 4 && c->buf[3] != '-';
			int	 code = n >= 4 ? (c->buf[0] - '0') * 100 +
			    (c->buf[1] - '0') * 10 + (c->buf[2] - '0') : -1;

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
say(struct conn *c, const char *line)
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
	return (0);
}

static int
cmd(struct conn *c, const char *line)
{
	return (say(c, line) == 0 ? reply(c) : -1);
}

static int
dial(struct conn *c, const struct sockaddr_in *dst)
{
	struct timeval	tmo = { 10, 0 };
	int		one = 1;

	c->len = 0;
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return (-1);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	if (connect(c->fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		close(c->fd);
		return (-1);
	}
	return (0);
}

static void
source(long i, char *out, size_t len)
{
	snprintf(out, len, "198.18.%ld.%ld", i / 250, i % 250 + 1);
}

/* One attempt from source i; counts into k. */
static void
attempt(const struct sockaddr_in *dst, long i, struct counts *k, bool quick)
{
	struct conn	c;
	char		src[32], hdr[128];
	int		code;

	source(i, src, sizeof(src));
	snprintf(hdr, sizeof(hdr), "PROXY TCP4 %s 127.0.0.1 40000 25\r\n", src);
	if (dial(&c, dst) < 0) {
		k->errors++;
		usleep(10000);
		return;
	}
	if (say(&c, hdr) < 0 || (code = reply(&c)) < 0) {
		k->errors++;
		goto out;
	}
	if (code == 521) {
		/* RFC 7504: refused, and the server hangs up at once
		 * (Postfix's postscreen with blacklist action drop). */
		k->banned++;
		goto out;
	}
	if (code == 554) {
		k->banned++;
		if (cmd(&c, "QUIT\r\n") != 221)
			k->errors++;
		goto out;
	}
	if (quick || code != 220 ||
	    cmd(&c, "EHLO bot.elsewhere.test\r\n") != 250 ||
	    cmd(&c, "MAIL FROM:<spam@elsewhere.test>\r\n") != 250) {
		k->errors++;
		goto out;
	}
	code = cmd(&c, "RCPT TO:<victim@empal.com>\r\n");
	if (code >= 500)
		k->refused++;
	else if (code >= 200 && code < 300)
		k->relayed++;
	else
		k->errors++;
	cmd(&c, "QUIT\r\n");
out:
	close(c.fd);
}

static int
usage(void)
{
	fprintf(stderr, "usage: botnet attack HOST PORT WORKERS NSRC PER_SRC "
	    "SECONDS | banned HOST PORT WORKERS NSRC COUNT | legit HOST PORT "
	    "SECONDS INTERVAL_MS\n");
	return (2);
}

static int
dblcmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static int
legit(const struct sockaddr_in *dst, double secs, long interval_ms)
{
	double		 end = now() + secs, t0, *lat;
	size_t		 n = 0, cap = (size_t)(secs * 1000 / interval_ms) + 16;
	unsigned long	 errors = 0;
	struct conn	 c;

	if ((lat = calloc(cap, sizeof(*lat))) == NULL)
		return (1);
	while (now() < end && n < cap) {
		t0 = now();
		if (dial(&c, dst) < 0) {
			errors++;
			usleep((useconds_t)interval_ms * 1000);
			continue;
		}
		if (reply(&c) != 220 ||
		    cmd(&c, "EHLO friend.example.test\r\n") != 250 ||
		    cmd(&c, "MAIL FROM:<friend@example.test>\r\n") != 250 ||
		    cmd(&c, "RCPT TO:<alice@example.test>\r\n") != 250 ||
		    cmd(&c, "DATA\r\n") != 354 ||
		    cmd(&c, "Subject: hello\r\n\r\nA legitimate message.\r\n"
		    ".\r\n") != 250)
			errors++;
		else
			lat[n++] = (now() - t0) * 1000;
		cmd(&c, "QUIT\r\n");
		close(c.fd);
		double left = interval_ms / 1000.0 - (now() - t0);
		if (left > 0)
			usleep((useconds_t)(left * 1e6));
	}
	qsort(lat, n, sizeof(*lat), dblcmp);
	printf("n=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%lu\n", n,
	    n ? lat[n / 2] : 0.0, n ? lat[(n * 99) / 100 < n ?
	    (n * 99) / 100 : n - 1] : 0.0, n ? lat[n - 1] : 0.0, errors);
	free(lat);
	return (0);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 dst;
	struct counts		 k = { 0, 0, 0, 0 }, w;
	long			 workers, nsrc, per, count, i, r;
	double			 secs = 0, t0 = now(), pace;
	int			 fds[64][2];
	bool			 banned_mode;

	if (argc < 5)
		return (usage());
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
		return (usage());
	if (strcmp(argv[1], "legit") == 0 && argc == 6)
		return (legit(&dst, atof(argv[4]), atol(argv[5])));
	banned_mode = strcmp(argv[1], "banned") == 0;
	if ((!banned_mode && (strcmp(argv[1], "attack") != 0 || argc != 8)) ||
	    (banned_mode && argc != 7))
		return (usage());
	workers = atol(argv[4]);
	nsrc = atol(argv[5]);
	if (workers < 1 || workers > 64 || nsrc < 1 || nsrc > 130000)
		return (usage());
	per = banned_mode ? 1 : atol(argv[6]);
	count = banned_mode ? atol(argv[6]) : nsrc * per;
	if (!banned_mode)
		secs = atof(argv[7]);
	/* Each worker paces its share: attempt j of worker w starts at
	 * t0 + (j * workers + w) * pace. */
	pace = secs > 0 ? secs / (double)count : 0;
	for (i = 0; i < workers; i++) {
		if (pipe(fds[i]) < 0)
			return (1);
		if (fork() == 0) {
			memset(&k, 0, sizeof(k));
			for (long j = i; j < count; j += workers) {
				double at = t0 + (double)j * pace;
				double d = at - now();

				if (d > 0)
					usleep((useconds_t)(d * 1e6));
				/* Round-robin: attempt j is source j % nsrc,
				 * so every source's attempts spread out. */
				attempt(&dst, j % nsrc, &k, banned_mode);
			}
			if (write(fds[i][1], &k, sizeof(k)) != sizeof(k))
				_exit(1);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < workers; i++) {
		r = read(fds[i][0], &w, sizeof(w));
		if (r == (long)sizeof(w)) {
			k.refused += w.refused;
			k.banned += w.banned;
			k.relayed += w.relayed;
			k.errors += w.errors;
		} else
			k.errors++;
		close(fds[i][0]);
	}
	while (wait(NULL) > 0)
		;
	if (banned_mode)
		printf("banned=%lu other=%lu errors=%lu seconds=%.3f\n",
		    k.banned, k.refused + k.relayed, k.errors, now() - t0);
	else
		printf("refused=%lu banned=%lu relayed=%lu errors=%lu "
		    "seconds=%.3f\n", k.refused, k.banned, k.relayed, k.errors,
		    now() - t0);
	return (0);
}
