/*
 * test_dns.c: dns.c against a real DNS server: a private dnsmasq on
 * 127.0.0.1 at a free high port, started for this file and killed at the
 * end (on a crash too: it dies with us through PR_SET_PDEATHSIG). Without
 * /usr/sbin/dnsmasq (Debian package dnsmasq-base) the tests fail.
 *
 * Zone served (only from the command line, nothing from the host):
 *   127.0.0.7, fd00::7   <-> good.example.test      (confirmed)
 *   127.0.0.8   PTR liar.example.test, whose A is 127.0.0.99
 *   127.0.0.9   no PTR (NXDOMAIN)
 *   127.0.0.10  PTR bad_name.example.test (not a host name)
 *   127.0.0.11  PTR liar.example.test and multi.example.test -> 127.0.0.11
 *   mx.example.test    MX 20 mx1.example.test, MX 10 mx2.example.test
 *   nomx.example.test  A only
 *   127.0.0.12  <-> zero.example.test, TTL 0 (never cached)
 * Other records have TTL 600.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "dns.h"

#define DNSMASQ		"/usr/sbin/dnsmasq"
#define LOOP_LIMIT_SEC	10

static pid_t		 dnsmasq_pid = -1;
static char		 dnsmasq_servers[64];
static struct event_base *base;

static const char *const dnsmasq_zone[] = {
	"--host-record=good.example.test,127.0.0.7,fd00::7",
	"--ptr-record=8.0.0.127.in-addr.arpa,liar.example.test",
	"--host-record=liar.example.test,127.0.0.99",
	"--ptr-record=10.0.0.127.in-addr.arpa,bad_name.example.test",
	"--ptr-record=11.0.0.127.in-addr.arpa,liar.example.test",
	"--ptr-record=11.0.0.127.in-addr.arpa,multi.example.test",
	"--address=/multi.example.test/127.0.0.11",
	"--mx-host=mx.example.test,mx1.example.test,20",
	"--mx-host=mx.example.test,mx2.example.test,10",
	"--host-record=nomx.example.test,127.0.0.20",
	"--host-record=zero.example.test,127.0.0.12,0",
	"--local-ttl=600",
	/* Everything else in these zones is NXDOMAIN, never forwarded. */
	"--local=/example.test/",
	"--local=/127.in-addr.arpa/",
	"--local=/d.f.ip6.arpa/",
};

/* A port free for both UDP and TCP on 127.0.0.1, or -1. */
static int
free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 u, t, port = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((u = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	if ((t = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		close(u);
		return -1;
	}
	if (bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(u, (struct sockaddr *)&sin, &len) == 0 &&
	    bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		port = ntohs(sin.sin_port);
	close(u);
	close(t);
	return port;
}

static bool
port_accepts(int port)
{
	struct sockaddr_in	 sin;
	int			 s, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return false;
	rc = connect(s, (struct sockaddr *)&sin, sizeof(sin));
	close(s);
	return rc == 0;
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
dnsmasq_stop(void)
{
	if (dnsmasq_pid <= 0)
		return;
	kill(dnsmasq_pid, SIGTERM);
	waitpid(dnsmasq_pid, NULL, 0);
	dnsmasq_pid = -1;
}

/* Start dnsmasq on a free port; 0 when it answers on TCP. */
static int
dnsmasq_try(int port)
{
	char		 portarg[32];
	const char	*argv[64];
	size_t		 n = 0, i;
	pid_t		 parent = getpid();
	int		 fd, tries;

	snprintf(portarg, sizeof(portarg), "--port=%d", port);
	argv[n++] = "dnsmasq";
	argv[n++] = "--no-daemon";
	argv[n++] = "--no-resolv";
	argv[n++] = "--no-hosts";
	argv[n++] = portarg;
	argv[n++] = "--listen-address=127.0.0.1";
	argv[n++] = "--bind-interfaces";
	argv[n++] = "--conf-file=/dev/null";
	argv[n++] = "--user=root";
	argv[n++] = "--log-facility=-";
	if (getenv("TEST_DNS_VERBOSE") != NULL)
		argv[n++] = "--log-queries";
	for (i = 0; i < sizeof(dnsmasq_zone) / sizeof(dnsmasq_zone[0]); i++)
		argv[n++] = dnsmasq_zone[i];
	argv[n] = NULL;

	if ((dnsmasq_pid = fork()) == -1)
		return -1;
	if (dnsmasq_pid == 0) {
		/* Die with the test, whatever kills it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (getenv("TEST_DNS_VERBOSE") == NULL &&
		    (fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(DNSMASQ, (char *const *)argv);
		_exit(127);
	}
	for (tries = 0; tries < 250; tries++) {
		if (waitpid(dnsmasq_pid, NULL, WNOHANG) == dnsmasq_pid) {
			dnsmasq_pid = -1;
			return -1;
		}
		if (port_accepts(port))
			return 0;
		sleep_ms(20);
	}
	dnsmasq_stop();
	return -1;
}

static int
group_setup(void **state)
{
	int	 attempt, port;

	(void)state;
	if (access(DNSMASQ, X_OK) == -1) {
		fprintf(stderr, "test_dns: %s: %s (install dnsmasq-base)\n",
		    DNSMASQ, strerror(errno));
		return -1;
	}
	for (attempt = 0; attempt < 5; attempt++) {
		if ((port = free_port()) == -1)
			continue;
		if (dnsmasq_try(port) == 0) {
			snprintf(dnsmasq_servers, sizeof(dnsmasq_servers),
			    "127.0.0.1:%d", port);
			return 0;
		}
	}
	fprintf(stderr, "test_dns: dnsmasq did not start\n");
	return -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	dnsmasq_stop();
	return 0;
}

/*
 * A fresh event base per test: a test that fails midway leaves its
 * resolver behind, and its callbacks must never run in a later test.
 */
static int
setup(void **state)
{
	(void)state;
	return (base = event_base_new()) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	event_base_free(base);
	base = NULL;
	return 0;
}

static struct dns *
new_dns(const char *servers, unsigned timeout_ms)
{
	struct dns	*dns;
	char		 err[256] = "";

	dns = dns_new(base, servers, timeout_ms, err, sizeof(err));
	if (dns == NULL)
		fail_msg("dns_new: %s", err);
	return dns;
}

static void
limit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Run the loop until *calls reaches want; fail after LOOP_LIMIT_SEC. */
static void
run_until(const int *calls, int want)
{
	struct timeval	 tv = { LOOP_LIMIT_SEC, 0 };
	struct event	*limit;
	bool		 expired = false;

	limit = evtimer_new(base, limit_cb, &expired);
	assert_non_null(limit);
	evtimer_add(limit, &tv);
	while (*calls < want && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(limit);
	assert_false(expired);
}

/* Run the loop until nothing is left to wait for (the dns is idle). */
static void
run_idle(void)
{
	assert_int_equal(event_base_dispatch(base), 1);
}

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(25);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(25);
	} else
		fail_msg("bad address %s", text);
	return ss;
}

struct name_result {
	int		 calls;
	char		 name[256];
	struct dns_req	*req;
};

static void
name_cb(const char *name, void *arg)
{
	struct name_result	*r = arg;

	r->calls++;
	r->req = NULL;
	snprintf(r->name, sizeof(r->name), "%s", name);
}

/* One FCrDNS look-up on a fresh resolver, answered by DNS with want. */
static void
fcrdns_expect(const char *ip, const char *want)
{
	struct sockaddr_storage	 ss = addr(ip);
	struct name_result	 r = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	r.req = dns_fcrdns(dns, (struct sockaddr *)&ss, name_cb, &r);
	assert_non_null(r.req);
	assert_int_equal(r.calls, 0);
	run_until(&r.calls, 1);
	assert_int_equal(r.calls, 1);
	assert_string_equal(r.name, want);
	dns_free(dns);
}

static void
test_fcrdns_confirmed(void **state)
{
	(void)state;
	fcrdns_expect("127.0.0.7", "good.example.test");
}

static void
test_fcrdns_liar(void **state)
{
	(void)state;
	fcrdns_expect("127.0.0.8", "unknown");
}

static void
test_fcrdns_nxdomain(void **state)
{
	(void)state;
	fcrdns_expect("127.0.0.9", "unknown");
}

static void
test_fcrdns_invalid_name(void **state)
{
	(void)state;
	fcrdns_expect("127.0.0.10", "unknown");
}

static void
test_fcrdns_second_name(void **state)
{
	(void)state;
	fcrdns_expect("127.0.0.11", "multi.example.test");
}

static void
test_fcrdns_ipv6(void **state)
{
	(void)state;
	fcrdns_expect("fd00::7", "good.example.test");
	fcrdns_expect("fd00::8", "unknown");
	/* v4-mapped: looked up as 127.0.0.7 with A records. */
	fcrdns_expect("::ffff:127.0.0.7", "good.example.test");
}

static void
test_fcrdns_other_family(void **state)
{
	struct sockaddr_storage	 ss;
	struct name_result	 r = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	(void)state;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_null(dns_fcrdns(dns, (struct sockaddr *)&ss, name_cb, &r));
	assert_int_equal(r.calls, 1);
	assert_string_equal(r.name, "unknown");
	dns_free(dns);
}

/* A server that never answers: a UDP port bound here and never read. */
static void
test_fcrdns_timeout(void **state)
{
	struct sockaddr_storage	 ss = addr("127.0.0.7");
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct name_result	 r = { 0 }, r2 = { 0 };
	struct timespec		 t0, t1;
	struct dns		*dns;
	char			 servers[64];
	double			 elapsed;
	int			 s;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d",
	    ntohs(sin.sin_port));

	dns = new_dns(servers, 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r.req = dns_fcrdns(dns, (struct sockaddr *)&ss, name_cb, &r);
	assert_non_null(r.req);
	run_until(&r.calls, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_string_equal(r.name, "unknown");
	/* Two tries: 100 ms, then 200 ms. */
	assert_true(elapsed >= 0.25);
	assert_true(elapsed < 3.0);

	/* The failure is cached for a while: answered at once. */
	assert_null(dns_fcrdns(dns, (struct sockaddr *)&ss, name_cb, &r2));
	assert_int_equal(r2.calls, 1);
	assert_string_equal(r2.name, "unknown");
	dns_free(dns);
	close(s);
}

static void
test_fcrdns_cache(void **state)
{
	struct sockaddr_storage	 good = addr("127.0.0.7");
	struct sockaddr_storage	 nx = addr("127.0.0.9");
	struct sockaddr_storage	 mapped = addr("::ffff:127.0.0.7");
	struct name_result	 r = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	(void)state;
	r.req = dns_fcrdns(dns, (struct sockaddr *)&good, name_cb, &r);
	assert_non_null(r.req);
	r2.req = dns_fcrdns(dns, (struct sockaddr *)&nx, name_cb, &r2);
	assert_non_null(r2.req);
	run_until(&r.calls, 1);
	run_until(&r2.calls, 1);
	assert_string_equal(r.name, "good.example.test");
	assert_string_equal(r2.name, "unknown");

	/* Hits: called before return, no handle. */
	assert_null(dns_fcrdns(dns, (struct sockaddr *)&good, name_cb, &r));
	assert_int_equal(r.calls, 2);
	assert_string_equal(r.name, "good.example.test");
	assert_null(dns_fcrdns(dns, (struct sockaddr *)&nx, name_cb, &r2));
	assert_int_equal(r2.calls, 2);
	assert_string_equal(r2.name, "unknown");
	/* The v4-mapped form is the same key. */
	assert_null(dns_fcrdns(dns, (struct sockaddr *)&mapped, name_cb, &r3));
	assert_int_equal(r3.calls, 1);
	assert_string_equal(r3.name, "good.example.test");
	dns_free(dns);
}

struct count {
	int	 calls;
};

static void
count_cb(const char *name, void *arg)
{
	(void)name;
	((struct count *)arg)->calls++;
}

/* DNS_CACHE_MAX + 1 answers: the oldest is gone, the newest is kept. */
static void
test_fcrdns_cache_bound(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct count		 c = { 0 }, c2 = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);
	struct dns_req		*req;
	int			 i, want = 0;

	(void)state;
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	for (i = 0; i <= DNS_CACHE_MAX; i++) {
		/* 127.1.x.y: NXDOMAIN, negative answers are cached. */
		sin->sin_addr.s_addr = htonl(0x7f010000u | (uint32_t)i);
		if (dns_fcrdns(dns, (struct sockaddr *)&ss, count_cb, &c))
			want++;
		/*
		 * The first one alone, so that it is the oldest entry; then
		 * in batches: a burst of answers overruns the UDP buffer.
		 */
		if (i % 100 == 0 || i == DNS_CACHE_MAX)
			run_until(&c.calls, want);
	}
	assert_int_equal(want, DNS_CACHE_MAX + 1);
	sin->sin_addr.s_addr = htonl(0x7f010000u | DNS_CACHE_MAX);
	assert_null(dns_fcrdns(dns, (struct sockaddr *)&ss, count_cb, &c2));
	assert_int_equal(c2.calls, 1);
	sin->sin_addr.s_addr = htonl(0x7f010000u | (DNS_CACHE_MAX / 2));
	assert_null(dns_fcrdns(dns, (struct sockaddr *)&ss, count_cb, &c2));
	assert_int_equal(c2.calls, 2);
	sin->sin_addr.s_addr = htonl(0x7f010000u);
	req = dns_fcrdns(dns, (struct sockaddr *)&ss, count_cb, &c2);
	assert_non_null(req);
	dns_cancel(req);
	run_idle();
	assert_int_equal(c2.calls, 2);
	dns_free(dns);
}

static void
test_fcrdns_ttl_zero(void **state)
{
	struct sockaddr_storage	 zero = addr("127.0.0.12");
	struct name_result	 r = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);
	int			 i;

	(void)state;
	for (i = 1; i <= 2; i++) {
		r.req = dns_fcrdns(dns, (struct sockaddr *)&zero, name_cb, &r);
		assert_non_null(r.req);
		run_until(&r.calls, i);
		assert_string_equal(r.name, "zero.example.test");
	}
	dns_free(dns);
}

static void
test_cancel(void **state)
{
	struct sockaddr_storage	 good = addr("127.0.0.7");
	struct sockaddr_storage	 six = addr("fd00::7");
	struct name_result	 r = { 0 }, r2 = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	(void)state;
	r.req = dns_fcrdns(dns, (struct sockaddr *)&good, name_cb, &r);
	r2.req = dns_fcrdns(dns, (struct sockaddr *)&six, name_cb, &r2);
	assert_non_null(r.req);
	assert_non_null(r2.req);
	dns_cancel(r.req);
	run_until(&r2.calls, 1);
	run_idle();
	assert_int_equal(r.calls, 0);
	assert_string_equal(r2.name, "good.example.test");
	/* A cancelled answer is not cached: this one goes to DNS again. */
	r.req = dns_fcrdns(dns, (struct sockaddr *)&good, name_cb, &r);
	assert_non_null(r.req);
	run_until(&r.calls, 1);
	assert_string_equal(r.name, "good.example.test");
	dns_cancel(NULL);
	dns_free(dns);
}

/* Two sessions; whichever is answered first closes the other. */
struct pair {
	struct dns_req	*req[2];
	int		 calls[2];
	int		 total;
};

static void
pair_cb(struct pair *p, int i)
{
	p->calls[i]++;
	p->total++;
	p->req[i] = NULL;
	if (p->req[1 - i] != NULL) {
		dns_cancel(p->req[1 - i]);
		p->req[1 - i] = NULL;
	}
}

static void
pair_cb0(const char *name, void *arg)
{
	(void)name;
	pair_cb(arg, 0);
}

static void
pair_cb1(const char *name, void *arg)
{
	(void)name;
	pair_cb(arg, 1);
}

static void
test_cancel_from_callback(void **state)
{
	struct sockaddr_storage	 a = addr("127.0.0.7");
	struct sockaddr_storage	 b = addr("127.0.0.8");
	struct pair		 p = { { NULL, NULL }, { 0, 0 }, 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	(void)state;
	p.req[0] = dns_fcrdns(dns, (struct sockaddr *)&a, pair_cb0, &p);
	p.req[1] = dns_fcrdns(dns, (struct sockaddr *)&b, pair_cb1, &p);
	assert_non_null(p.req[0]);
	assert_non_null(p.req[1]);
	run_idle();
	assert_int_equal(p.total, 1);
	dns_free(dns);
}

/* The engine stops from inside a callback: nothing else is called. */
struct stopper {
	struct dns	*dns;
	int		 calls;
};

static void
stop_cb(const char *name, void *arg)
{
	struct stopper	*st = arg;

	(void)name;
	st->calls++;
	dns_free(st->dns);
}

static void
test_free_from_callback(void **state)
{
	struct sockaddr_storage	 a = addr("127.0.0.7");
	struct sockaddr_storage	 b = addr("127.0.0.9");
	struct sockaddr_storage	 c = addr("fd00::7");
	struct stopper		 st = { NULL, 0 };

	(void)state;
	st.dns = new_dns(dnsmasq_servers, 0);
	assert_non_null(dns_fcrdns(st.dns, (struct sockaddr *)&a, stop_cb,
	    &st));
	assert_non_null(dns_fcrdns(st.dns, (struct sockaddr *)&b, stop_cb,
	    &st));
	assert_non_null(dns_fcrdns(st.dns, (struct sockaddr *)&c, stop_cb,
	    &st));
	run_idle();
	assert_int_equal(st.calls, 1);
}

static void
test_free_pending(void **state)
{
	struct sockaddr_storage	 a = addr("127.0.0.7");
	struct name_result	 r = { 0 }, r2 = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	(void)state;
	assert_non_null(dns_fcrdns(dns, (struct sockaddr *)&a, name_cb, &r));
	assert_non_null(dns_mx(dns, "mx.example.test", NULL, &r2));
	dns_free(dns);
	run_idle();
	assert_int_equal(r.calls, 0);
	dns_free(NULL);
}

struct mx_result {
	int		 calls;
	enum dns_status	 status;
	size_t		 n;
	struct dns_mx	 mx[DNS_MX_MAX];
};

static void
mx_cb(enum dns_status status, const struct dns_mx *mx, size_t n, void *arg)
{
	struct mx_result	*r = arg;

	r->calls++;
	r->status = status;
	r->n = n;
	if (n > 0)
		memcpy(r->mx, mx, n * sizeof(*mx));
}

static void
test_mx(void **state)
{
	struct mx_result	 r = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	(void)state;
	assert_non_null(dns_mx(dns, "mx.example.test", mx_cb, &r));
	assert_non_null(dns_mx(dns, "nomx.example.test", mx_cb, &r2));
	assert_non_null(dns_mx(dns, "nx.example.test", mx_cb, &r3));
	run_until(&r.calls, 1);
	run_until(&r2.calls, 1);
	run_until(&r3.calls, 1);
	assert_int_equal(r.status, DNS_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.mx[0].host, "mx2.example.test");
	assert_int_equal(r.mx[0].pref, 10);
	assert_string_equal(r.mx[1].host, "mx1.example.test");
	assert_int_equal(r.mx[1].pref, 20);
	assert_int_equal(r2.status, DNS_NODATA);
	assert_int_equal(r2.n, 0);
	assert_int_equal(r3.status, DNS_NXDOMAIN);
	assert_int_equal(r3.n, 0);
	dns_free(dns);
}

static void
test_mx_bad_name(void **state)
{
	struct mx_result	 r = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);

	(void)state;
	/* An empty label: c-ares refuses it before sending anything. */
	assert_null(dns_mx(dns, "a..example.test", mx_cb, &r));
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, DNS_NXDOMAIN);
	dns_free(dns);
}

struct addrs_result {
	int			 calls;
	enum dns_status		 status;
	size_t			 n;
	struct sockaddr_storage	 ss[DNS_ADDRS_MAX];
};

static void
addrs_cb(enum dns_status status, const struct sockaddr_storage *ss,
    size_t n, void *arg)
{
	struct addrs_result	*r = arg;

	r->calls++;
	r->status = status;
	r->n = n;
	if (n > 0)
		memcpy(r->ss, ss, n * sizeof(*ss));
}

static void
test_addrs(void **state)
{
	struct addrs_result	 r = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct dns		*dns = new_dns(dnsmasq_servers, 0);
	char			 text[INET6_ADDRSTRLEN];
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	(void)state;
	assert_non_null(dns_addrs(dns, "good.example.test", addrs_cb, &r));
	assert_non_null(dns_addrs(dns, "nomx.example.test", addrs_cb, &r2));
	assert_non_null(dns_addrs(dns, "nx.example.test", addrs_cb, &r3));
	run_until(&r.calls, 1);
	run_until(&r2.calls, 1);
	run_until(&r3.calls, 1);

	assert_int_equal(r.status, DNS_OK);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ss[0].ss_family, AF_INET);
	sin = (struct sockaddr_in *)&r.ss[0];
	inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
	assert_string_equal(text, "127.0.0.7");
	assert_int_equal(r.ss[1].ss_family, AF_INET6);
	sin6 = (struct sockaddr_in6 *)&r.ss[1];
	inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
	assert_string_equal(text, "fd00::7");

	assert_int_equal(r2.status, DNS_OK);
	assert_int_equal(r2.n, 1);
	assert_int_equal(r2.ss[0].ss_family, AF_INET);

	assert_int_equal(r3.status, DNS_NXDOMAIN);
	assert_int_equal(r3.n, 0);
	dns_free(dns);
}

static void
test_new_errors(void **state)
{
	char	 err[256] = "";

	(void)state;
	assert_null(dns_new(base, "not an address", 0, err, sizeof(err)));
	assert_true(err[0] != '\0');
	err[0] = '\0';
	assert_null(dns_new(base, "127.0.0.1:53", 3600000, err, sizeof(err)));
	assert_true(err[0] != '\0');
	/* Both accepted forms, and the system's resolv.conf. */
	dns_free(new_dns("127.0.0.1:5353,[::1]:5353", 0));
	dns_free(new_dns(NULL, 0));
	dns_free(new_dns("", 0));
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fcrdns_confirmed),
		T(test_fcrdns_liar),
		T(test_fcrdns_nxdomain),
		T(test_fcrdns_invalid_name),
		T(test_fcrdns_second_name),
		T(test_fcrdns_ipv6),
		T(test_fcrdns_other_family),
		T(test_fcrdns_timeout),
		T(test_fcrdns_cache),
		T(test_fcrdns_ttl_zero),
		T(test_fcrdns_cache_bound),
		T(test_cancel),
		T(test_cancel_from_callback),
		T(test_free_from_callback),
		T(test_free_pending),
		T(test_mx),
		T(test_mx_bad_name),
		T(test_addrs),
		T(test_new_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
