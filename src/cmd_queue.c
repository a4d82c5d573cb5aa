/*
 * cmd_queue.c: `pillory queue [list | show ID | flush | delete ID]`. Talks
 * to the running daemon over its control socket (control.h); when no
 * daemon answers, list and show read the spool directly, read-only.
 * Runs as a command-line tool; the envelopes it reads are ours, the
 * message headers it shows are not (control characters are masked).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "envelope.h"
#include "queue.h"
#include "text.h"

#define CMD_QUEUE_PATH_MAX	(CONFIG_PATH_MAX + 64)

struct cmd_queue_list {
	struct envelope	*items;
	size_t		 count, cap;
};

/* The answers of the subcommands, one table. */
struct cmd_queue_sub {
	const char	*name;
	bool		 needs_id;
	bool		 offline;	/* works without the daemon */
	int		(*run)(const struct config *, const char *);
};

static int	queue_list(const struct config *, const char *);
static int	queue_show(const struct config *, const char *);
static int	queue_flush(const struct config *, const char *);
static int	queue_delete(const struct config *, const char *);

static const struct cmd_queue_sub cmd_queue_subs[] = {
	{ "list", false, true, queue_list },
	{ "show", true, true, queue_show },
	{ "flush", false, false, queue_flush },
	{ "delete", true, false, queue_delete },
};

static void
paths(const struct config *cfg, char *sock, char *dir)
{
	text_printf(sock, CMD_QUEUE_PATH_MAX, "%s/%s", cfg->state_dir,
	    CONTROL_SOCKET);
	text_printf(dir, CMD_QUEUE_PATH_MAX, "%s/queue", cfg->state_dir);
}

static void
add_record(const char *data, size_t len, void *arg)
{
	struct cmd_queue_list	*l = arg;
	char			 err[256];

	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->items = realloc(l->items, l->cap * sizeof(*l->items));
		if (l->items == NULL) {
			fprintf(stderr, "pillory: out of memory\n");
			exit(1);
		}
	}
	if (envelope_parse(data, len, &l->items[l->count], err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "pillory: bad envelope from the daemon: %s\n",
		    err);
		envelope_free(&l->items[l->count]);
		return;
	}
	l->count++;
}

static void
list_free(struct cmd_queue_list *l)
{
	size_t	i;

	for (i = 0; i < l->count; i++)
		envelope_free(&l->items[i]);
	free(l->items);
}

/* Every ID.env of the spool directory, read-only. */
static int
read_spool(const char *dir, struct cmd_queue_list *l)
{
	DIR		*d;
	struct dirent	*de;
	char		 id[ENVELOPE_ID_MAX], err[CMD_QUEUE_PATH_MAX + 256];
	size_t		 len;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "pillory: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".env") != 0 ||
		    !text_copy_span(id, sizeof(id), de->d_name, len - 4) ||
		    !envelope_id_is_valid(id))
			continue;
		if (l->count == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->items = realloc(l->items, l->cap *
			    sizeof(*l->items));
			if (l->items == NULL) {
				fprintf(stderr, "pillory: out of memory\n");
				exit(1);
			}
		}
		if (queue_read_envelope(dir, id, &l->items[l->count], err,
		    sizeof(err)) == -1) {
			if (errno != ENOENT)	/* gone meanwhile: fine */
				fprintf(stderr, "pillory: %s\n", err);
			envelope_free(&l->items[l->count]);
			continue;
		}
		l->count++;
	}
	closedir(d);
	return 0;
}

/*
 * Ask the daemon; when nobody listens and offline is allowed, *offline
 * is set and the caller reads the spool. Returns 0, 1 (error answer,
 * printed) or -1 (no daemon and offline not allowed, printed).
 */
static int
ask(const struct config *cfg, const char *request, bool offline_ok,
    struct cmd_queue_list *l, bool *offline, char *msg, size_t msglen)
{
	char	sock[CMD_QUEUE_PATH_MAX], dir[CMD_QUEUE_PATH_MAX];
	int	rc;

	paths(cfg, sock, dir);
	*offline = false;
	rc = control_request(sock, request, add_record, l, msg, msglen);
	if (rc == 0)
		return 0;
	if (rc == 1) {
		fprintf(stderr, "pillory: %s\n", msg);
		return 1;
	}
	if (rc == -1 && (errno == ENOENT || errno == ECONNREFUSED) &&
	    offline_ok) {
		*offline = true;
		return 0;
	}
	if (rc == -1)
		fprintf(stderr, "pillory: %s: %s (is pillory running?)\n",
		    sock, strerror(errno));
	else
		fprintf(stderr, "pillory: %s: %s\n", sock, msg);
	return -1;
}

static void
age_text(long long secs, char *out, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		text_printf(out, size, "%llds", secs);
	else if (secs < 2 * 3600)
		text_printf(out, size, "%lldm", secs / 60);
	else if (secs < 2 * 86400)
		text_printf(out, size, "%lldh", secs / 3600);
	else
		text_printf(out, size, "%lldd", secs / 86400);
}

static void
next_text(const struct envelope *env, time_t now, char *out, size_t size)
{
	char	t[32];

	if (env->active)
		text_copy(out, "active", size);
	else if (envelope_count(env, ENVELOPE_PENDING) == 0 &&
	    envelope_count(env, ENVELOPE_FAILED) == 0)
		text_copy(out, "-", size);
	else if (env->next_try <= now)
		text_copy(out, "now", size);
	else {
		age_text((long long)(env->next_try - now), t, sizeof(t));
		text_printf(out, size, "in %s", t);
	}
}

static int
by_arrival(const void *a, const void *b)
{
	const struct envelope	*x = a, *y = b;

	if (x->arrival != y->arrival)
		return x->arrival < y->arrival ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
queue_list(const struct config *cfg, const char *arg)
{
	struct cmd_queue_list	 l = { NULL, 0, 0 };
	char			 msg[1024], sock[CMD_QUEUE_PATH_MAX];
	char			 dir[CMD_QUEUE_PATH_MAX], age[32], next[32];
	time_t			 now = time(NULL);
	size_t			 i, j, pending = 0;
	bool			 offline;
	int			 rc;

	(void)arg;
	if ((rc = ask(cfg, "list", true, &l, &offline, msg, sizeof(msg))) != 0)
		return 1;
	if (offline) {
		paths(cfg, sock, dir);
		fprintf(stderr, "pillory: not running; read from %s\n", dir);
		if (read_spool(dir, &l) == -1)
			return 1;
	}
	if (l.count > 1)
		qsort(l.items, l.count, sizeof(*l.items), by_arrival);
	if (l.count > 0)
		printf("%-22s %-6s %-8s %s\n", "ID", "AGE", "NEXT TRY",
		    "SENDER");
	for (i = 0; i < l.count; i++) {
		const struct envelope *env = &l.items[i];

		age_text((long long)(now - env->arrival), age, sizeof(age));
		next_text(env, now, next, sizeof(next));
		printf("%-22s %-6s %-8s <%s>\n", env->id, age, next,
		    env->sender);
		if (env->last_error != NULL)
			printf("    last error: %s\n", env->last_error);
		for (j = 0; j < env->nrcpts; j++) {
			const struct envelope_rcpt *r = &env->rcpts[j];

			printf("    <%s> %s\n", r->addr,
			    envelope_state_name(r->state));
			if (r->state == ENVELOPE_PENDING)
				pending++;
		}
	}
	if (l.count == 0)
		printf("queue is empty\n");
	else
		printf("-- %zu message%s, %zu recipient%s pending\n", l.count,
		    l.count == 1 ? "" : "s", pending, pending == 1 ? "" : "s");
	list_free(&l);
	return 0;
}

static void
print_date(const char *label, int64_t t, time_t now)
{
	char		date[64], age[32];
	struct tm	tm;
	time_t		tt = (time_t)t;

	localtime_r(&tt, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", &tm);
	age_text((long long)(t > now ? t - now : now - t), age, sizeof(age));
	printf("%-11s %s (%s %s)\n", label, date, age, t > now ? "from now" :
	    "ago");
}

static int
queue_show(const struct config *cfg, const char *id)
{
	struct cmd_queue_list	 l = { NULL, 0, 0 };
	struct envelope		*env;
	char			 req[CONTROL_LINE_MAX], msg[1024];
	char			 sock[CMD_QUEUE_PATH_MAX];
	char			 dir[CMD_QUEUE_PATH_MAX];
	char			 path[CMD_QUEUE_PATH_MAX];
	char			 err[CMD_QUEUE_PATH_MAX + 256];
	char			*headers;
	time_t			 now = time(NULL);
	size_t			 i, hlen;
	bool			 offline;

	paths(cfg, sock, dir);
	if (!envelope_id_is_valid(id)) {
		fprintf(stderr, "pillory: %s: not a queue id\n", id);
		return 1;
	}
	text_printf(req, sizeof(req), "show %s", id);
	if (ask(cfg, req, true, &l, &offline, msg, sizeof(msg)) != 0)
		return 1;
	if (offline) {
		l.items = calloc(1, sizeof(*l.items));
		if (l.items == NULL ||
		    queue_read_envelope(dir, id, &l.items[0], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "pillory: no such message: %s (%s)\n",
			    id, l.items ? err : "out of memory");
			if (l.items != NULL)
				envelope_free(&l.items[0]);
			free(l.items);
			return 1;
		}
		l.count = 1;
	}
	if (l.count != 1) {
		list_free(&l);
		fprintf(stderr, "pillory: broken answer from the daemon\n");
		return 1;
	}
	env = &l.items[0];
	printf("%-11s %s%s\n", "id:", env->id, env->active ?
	    " (delivery in progress)" : "");
	print_date("arrival:", env->arrival, now);
	printf("%-11s <%s>\n", "sender:", env->sender);
	if (env->size)
		printf("%-11s %llu octets\n", "size:",
		    (unsigned long long)env->size);
	printf("%-11s %u\n", "attempts:", env->attempts);
	if (env->next_try > 0 && (envelope_count(env, ENVELOPE_PENDING) > 0 ||
	    envelope_count(env, ENVELOPE_FAILED) > 0))
		print_date("next try:", env->next_try, now);
	if (env->last_error != NULL)
		printf("%-11s %s\n", "last error:", env->last_error);
	printf("%-11s %s\n", "warned:", env->warned ? "yes, delay notice "
	    "sent" : "no");
	for (i = 0; i < env->nrcpts; i++) {
		const struct envelope_rcpt *r = &env->rcpts[i];

		printf("recipient: <%s> %s", r->addr,
		    envelope_state_name(r->state));
		if (r->status[0] != '\0')
			printf(" %s", r->status);
		if (r->remote != NULL)
			printf(" via %s", r->remote);
		printf("\n");
		if (r->diag != NULL)
			printf("    %s\n", r->diag);
	}
	text_printf(path, sizeof(path), "%s/%s.msg", dir, id);
	if ((headers = bounce_read_headers(path, &hlen)) != NULL) {
		printf("header:\n");
		for (i = 0; i < hlen; i++) {
			unsigned char c = (unsigned char)headers[i];

			if (i == 0 || headers[i - 1] == '\n')
				fputs("    ", stdout);
			putchar(c == '\n' || c == '\t' || (c >= 0x20 &&
			    c != 0x7f) ? c : '?');
		}
		if (hlen > 0 && headers[hlen - 1] != '\n')
			putchar('\n');
		free(headers);
	}
	list_free(&l);
	return 0;
}

static int
queue_flush(const struct config *cfg, const char *arg)
{
	struct cmd_queue_list	l = { NULL, 0, 0 };
	char			msg[1024];
	bool			offline;

	(void)arg;
	if (ask(cfg, "flush", false, &l, &offline, msg, sizeof(msg)) != 0)
		return 1;
	printf("%s\n", msg);
	list_free(&l);
	return 0;
}

static int
queue_delete(const struct config *cfg, const char *id)
{
	struct cmd_queue_list	l = { NULL, 0, 0 };
	char			req[CONTROL_LINE_MAX], msg[1024];
	bool			offline;

	if (!envelope_id_is_valid(id)) {
		fprintf(stderr, "pillory: %s: not a queue id\n", id);
		return 1;
	}
	text_printf(req, sizeof(req), "delete %s", id);
	if (ask(cfg, req, false, &l, &offline, msg, sizeof(msg)) != 0)
		return 1;
	printf("%s\n", msg);
	list_free(&l);
	return 0;
}

int
cmd_queue(const struct config *cfg, int argc, char **argv)
{
	const char	*name = argc > 1 ? argv[1] : "list";
	size_t		 i;

	for (i = 0; i < sizeof(cmd_queue_subs) / sizeof(cmd_queue_subs[0]);
	    i++) {
		const struct cmd_queue_sub *s = &cmd_queue_subs[i];

		if (strcmp(name, s->name) != 0)
			continue;
		if (argc != (s->needs_id ? 3 : argc > 1 ? 2 : 1))
			break;
		return s->run(cfg, s->needs_id ? argv[2] : NULL);
	}
	fprintf(stderr, "usage: pillory [-c FILE] queue [list | show ID | "
	    "flush | delete ID]\n");
	return 2;
}

const struct cmd_entry cmd_queue_entry = {
	.name = "queue",
	.usage = "[list | show ID | flush | delete ID]",
	.help = "the outbound queue: list it, show one message, try everything "
	    "now, delete one",
	.needs_config = true,
	.run = cmd_queue,
};
