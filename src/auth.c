/*
 * auth.c: the engine's client of the auth process (auth.h), and the
 * per-address failure throttle. Runs on the event loop. Passwords pass
 * through here only inside a request frame, which is wiped when libevent
 * has sent it.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth.h"
#include "ipc.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

#define REQ_BUCKETS	1024
#define FAIL_BUCKETS	4096
#define DELAY_MAX	5	/* seconds added to a throttled answer */

struct auth_req {
	uint32_t		 id;
	auth_cb			 cb;
	void			*arg;
	struct auth_client	*ac;
	struct sockaddr_storage	 sa;
	bool			 cancelled;
	bool			 answered;
	enum auth_result	 result;
	struct event		*delay;
	struct auth_req		*next;
};

/* Failures from one address (IPv4, or the IPv6 /64). */
struct fail {
	uint8_t		 key[17];
	unsigned	 count;
	time_t		 first;
	time_t		 blocked_until;
	struct fail	*next;
};

struct auth_client {
	struct event_base	*base;
	struct bufferevent	*bev;
	void			(*dead_cb)(void *);
	void			*dead_arg;
	bool			 dead;
	uint32_t		 next_id;
	struct auth_req		*reqs[REQ_BUCKETS];
	struct fail		*fails[FAIL_BUCKETS];
};

static void
fail_key(const struct sockaddr *sa, uint8_t key[17])
{
	memset(key, 0, 17);
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = 4;
			memcpy(key + 1, a->s6_addr + 12, 4);
		} else {
			/* One host usually owns a whole /64. */
			key[0] = 6;
			memcpy(key + 1, a->s6_addr, 8);
		}
		return;
	}
	key[0] = 4;
	memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
}

static struct fail **
fail_find(struct auth_client *ac, const uint8_t key[17], time_t now)
{
	uint32_t	 h = 2166136261u;
	struct fail	**pp, *f;
	size_t		 i;

	for (i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	pp = &ac->fails[h % FAIL_BUCKETS];
	while ((f = *pp) != NULL) {
		/* Drop what has aged out while we walk past it. */
		if (f->blocked_until <= now && now - f->first > AUTH_WINDOW) {
			*pp = f->next;
			free(f);
			continue;
		}
		if (memcmp(f->key, key, 17) == 0)
			return pp;
		pp = &f->next;
	}
	return pp;
}

void
auth_note_failure(struct auth_client *ac, const struct sockaddr *sa)
{
	uint8_t		 key[17];
	time_t		 now = time(NULL);
	struct fail	**pp, *f;

	fail_key(sa, key);
	pp = fail_find(ac, key, now);
	if ((f = *pp) == NULL) {
		f = xcalloc(1, sizeof(*f));
		memcpy(f->key, key, 17);
		f->first = now;
		*pp = f;
	}
	if (++f->count >= AUTH_BLOCK_AFTER && f->blocked_until <= now) {
		f->blocked_until = now + AUTH_BLOCK_TIME;
		log_info("auth: address blocked for %ds after %u failures",
		    AUTH_BLOCK_TIME, f->count);
	}
}

static unsigned
failures(struct auth_client *ac, const struct sockaddr *sa)
{
	uint8_t		 key[17];
	struct fail	*f;

	fail_key(sa, key);
	f = *fail_find(ac, key, time(NULL));
	return f ? f->count : 0;
}

bool
auth_is_blocked(struct auth_client *ac, const struct sockaddr *sa)
{
	uint8_t		 key[17];
	time_t		 now = time(NULL);
	struct fail	*f;

	if (ac == NULL)
		return false;
	fail_key(sa, key);
	f = *fail_find(ac, key, now);
	return f != NULL && f->blocked_until > now;
}

static void
req_unlink(struct auth_client *ac, struct auth_req *r)
{
	struct auth_req	**pp;

	for (pp = &ac->reqs[r->id % REQ_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	FATAL("auth request not in table");
}

static void
req_finish(struct auth_req *r)
{
	if (r->delay != NULL)
		event_free(r->delay);
	if (!r->cancelled)
		r->cb(r->result, r->arg);
	free(r);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	req_finish(arg);
}

/* An answer for r: deliver it now, or later for a throttled address. */
static void
req_answer(struct auth_client *ac, struct auth_req *r,
    enum auth_result result)
{
	unsigned	n;

	req_unlink(ac, r);
	r->answered = true;
	r->result = result;
	if (result == AUTH_FAIL)
		auth_note_failure(ac, (struct sockaddr *)&r->sa);
	n = failures(ac, (struct sockaddr *)&r->sa);
	if (result == AUTH_FAIL && n >= AUTH_SLOW_AFTER && !r->cancelled &&
	    !ac->dead) {
		struct timeval tv = { (time_t)(n - AUTH_SLOW_AFTER + 1), 0 };

		if (tv.tv_sec > DELAY_MAX)
			tv.tv_sec = DELAY_MAX;
		r->delay = evtimer_new(ac->base, delay_cb, r);
		if (r->delay == NULL)
			FATAL("evtimer_new");
		evtimer_add(r->delay, &tv);
		return;
	}
	req_finish(r);
}

static void
fail_all(struct auth_client *ac)
{
	size_t		 i;
	struct auth_req	*r;

	for (i = 0; i < REQ_BUCKETS; i++)
		while ((r = ac->reqs[i]) != NULL) {
			ac->reqs[i] = r->next;
			r->result = AUTH_TEMPFAIL;
			r->answered = true;
			req_finish(r);
		}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct auth_client	*ac = arg;
	struct ipc_auth_res	 res;
	uint32_t		 type;
	char			 payload[IPC_PAYLOAD_MAX];
	struct auth_req		*r;

	while (ipc_take(bufferevent_get_input(bev), &type, payload) == 1) {
		if (type != IPC_AUTH_RES)
			FATAL("unexpected frame from the auth process");
		memcpy(&res, payload, sizeof(res));
		for (r = ac->reqs[res.id % REQ_BUCKETS]; r != NULL;
		    r = r->next)
			if (r->id == res.id)
				break;
		if (r == NULL)
			FATAL("auth answer for no request");
		if (res.result != AUTH_OK && res.result != AUTH_FAIL)
			FATAL("bad auth result");
		req_answer(ac, r, (enum auth_result)res.result);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct auth_client	*ac = arg;

	(void)bev;
	(void)what;
	if (ac->dead)
		return;
	ac->dead = true;
	log_err("the auth process is gone: no login can be checked");
	fail_all(ac);
	ac->dead_cb(ac->dead_arg);
}

struct auth_client *
auth_client_new(struct event_base *base, int fd, void (*dead_cb)(void *),
    void *arg)
{
	struct auth_client	*ac = xcalloc(1, sizeof(*ac));

	ac->base = base;
	ac->dead_cb = dead_cb;
	ac->dead_arg = arg;
	evutil_make_socket_nonblocking(fd);
	ac->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (ac->bev == NULL)
		FATAL("bufferevent_socket_new");
	bufferevent_setcb(ac->bev, read_cb, NULL, event_cb, ac);
	bufferevent_enable(ac->bev, EV_READ | EV_WRITE);
	return ac;
}

void
auth_client_free(struct auth_client *ac)
{
	size_t		 i;
	struct fail	*f;

	if (ac == NULL)
		return;
	ac->dead = true;
	fail_all(ac);
	for (i = 0; i < FAIL_BUCKETS; i++)
		while ((f = ac->fails[i]) != NULL) {
			ac->fails[i] = f->next;
			free(f);
		}
	/* bufferevent_free may close the socket only later, in a loop that
	 * no longer runs; the auth process must see EOF now. */
	shutdown(bufferevent_getfd(ac->bev), SHUT_RDWR);
	bufferevent_free(ac->bev);
	free(ac);
}

/* libevent is done with a frame that held a password: wipe it. */
static void
wipe_frame(const void *data, size_t len, void *arg)
{
	(void)arg;
	explicit_bzero((void *)data, len);
	free((void *)data);
}

static void
send_frame(struct auth_client *ac, uint32_t type, const void *payload,
    uint32_t len)
{
	struct ipc_hdr	 h = { type, len };
	char		*frame = xmalloc(sizeof(h) + len);

	memcpy(frame, &h, sizeof(h));
	memcpy(frame + sizeof(h), payload, len);
	if (evbuffer_add_reference(bufferevent_get_output(ac->bev), frame,
	    sizeof(h) + len, wipe_frame, NULL) == -1)
		FATAL("evbuffer_add_reference");
}

struct auth_req *
auth_verify(struct auth_client *ac, const char *user, const char *password,
    const struct sockaddr *sa, auth_cb cb, void *arg)
{
	struct auth_req		*r = xcalloc(1, sizeof(*r));
	struct ipc_auth_req	*q = xcalloc(1, sizeof(*q));

	r->ac = ac;
	r->cb = cb;
	r->arg = arg;
	r->id = ++ac->next_id;
	memcpy(&r->sa, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	r->next = ac->reqs[r->id % REQ_BUCKETS];
	ac->reqs[r->id % REQ_BUCKETS] = r;
	q->id = r->id;
	if (ac->dead || !text_copy(q->user, user, sizeof(q->user)) ||
	    !text_copy(q->password, password, sizeof(q->password))) {
		/* Too long to be anybody's: a plain failure, answered on
		 * the loop like any other. */
		explicit_bzero(q, sizeof(*q));
		free(q);
		req_unlink(ac, r);
		r->answered = true;
		r->result = ac->dead ? AUTH_TEMPFAIL : AUTH_FAIL;
		r->delay = evtimer_new(ac->base, delay_cb, r);
		if (r->delay == NULL)
			FATAL("evtimer_new");
		if (r->result == AUTH_FAIL)
			auth_note_failure(ac, sa);
		event_active(r->delay, EV_TIMEOUT, 0);
		return r;
	}
	text_lower(q->user);
	send_frame(ac, IPC_AUTH_REQ, q, sizeof(*q));
	explicit_bzero(q, sizeof(*q));
	free(q);
	return r;
}

void
auth_cancel(struct auth_req *r)
{
	if (r == NULL)
		return;
	if (r->answered) {
		/* Waiting on our own timer: nothing else refers to it. */
		event_free(r->delay);
		free(r);
		return;
	}
	r->cancelled = true;	/* freed when the answer arrives */
}
