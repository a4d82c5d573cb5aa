/*
 * bounce.c: delivery status notifications (bounce.h). Runs in the engine
 * on the event loop. RFC 3464 (delivery-status), RFC 6522
 * (multipart/report), RFC 3463 (status codes), RFC 3834 5
 * (Auto-Submitted), RFC 5321 4.5.5 (null reverse-path), 6.3 (a Received
 * line for loop counting). The addresses, remote replies and original
 * header quoted here are untrusted: control characters are replaced and
 * every line is bounded; the report's own MIME boundary is random.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "bounce.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "passwd_file.h"
#include "spool.h"
#include "text.h"
#include "xalloc.h"

struct bounce_out {
	bounce_line_cb	 emit;
	void		*arg;
};

/* Emit one line, control characters but TAB (and, with ascii, non-ASCII)
 * shown as '?', cut to BOUNCE_LINE_MAX. */
static void
put_clean(struct bounce_out *o, const char *s, bool ascii)
{
	char	line[BOUNCE_LINE_MAX + 1];
	size_t	i;

	for (i = 0; s[i] != '\0' && i < BOUNCE_LINE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		line[i] = (c < 0x20 && c != '\t') || c == 0x7f ||
		    (ascii && c >= 0x80) ? '?' : (char)c;
	}
	line[i] = '\0';
	o->emit(line, i, o->arg);
}

static void
put(struct bounce_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct bounce_out *o, const char *fmt, ...)
{
	char	line[BOUNCE_LINE_MAX * 2];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	put_clean(o, line, true);
}

static void
rfc5322_date(time_t t, char *out, size_t size)
{
	struct tm	tm;

	localtime_r(&t, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* "3 hours", "45 minutes", "2 days". */
static void
span_text(time_t secs, char *out, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 2 * 86400)
		text_printf(out, size, "%lld days", (long long)secs / 86400);
	else if (secs >= 2 * 3600)
		text_printf(out, size, "%lld hours", (long long)secs / 3600);
	else
		text_printf(out, size, "%lld minutes", (long long)secs / 60);
}

/* A diagnostic from a remote reply starts with its three digits. */
static bool
diag_is_smtp(const char *d)
{
	return d != NULL && d[0] >= '2' && d[0] <= '5' && d[1] >= '0' &&
	    d[1] <= '9' && d[2] >= '0' && d[2] <= '9' &&
	    (d[3] == ' ' || d[3] == '\0');
}

static bool
any_action(const struct bounce_report *r, enum bounce_action a)
{
	size_t	i;

	for (i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].action == a)
			return true;
	return false;
}

static void
human_part(const struct bounce_report *r, struct bounce_out *o)
{
	char	t1[64], t2[64];
	size_t	i;
	bool	failed = any_action(r, BOUNCE_FAILED);

	put(o, "This is the mail system at host %s.", r->hostname);
	put(o, "%s", "");
	if (failed) {
		put(o, "I'm sorry to have to inform you that your message "
		    "could not");
		put(o, "be delivered to one or more recipients. Its header "
		    "is attached below.");
	} else {
		span_text(r->now - r->arrival, t1, sizeof(t1));
		span_text(r->retry_until - r->arrival, t2, sizeof(t2));
		put(o, "THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND "
		    "YOUR MESSAGE.");
		put(o, "%s", "");
		put(o, "Your message could not be delivered for %s.", t1);
		put(o, "It will be retried until it is %s old.", t2);
	}
	put(o, "%s", "");
	put(o, "For further assistance, please send mail to postmaster.");
	put(o, "%s", "");
	for (i = 0; i < r->nrcpts; i++) {
		const struct bounce_rcpt *rc = &r->rcpts[i];

		if (rc->action == BOUNCE_DELAYED && failed)
			put(o, "<%s>: still being retried", rc->addr);
		else if (rc->remote != NULL && rc->remote[0] != '\0' &&
		    diag_is_smtp(rc->diag))
			put(o, "<%s>: host %s said:", rc->addr, rc->remote);
		else
			put(o, "<%s>:", rc->addr);
		if (rc->diag != NULL && rc->diag[0] != '\0')
			put(o, "    %s", rc->diag);
		put(o, "%s", "");
	}
}

static void
status_part(const struct bounce_report *r, struct bounce_out *o)
{
	char	date[64];
	size_t	i;

	/* RFC 3464 2.2: the per-message fields. */
	put(o, "Reporting-MTA: dns; %s", r->hostname);
	put(o, "X-Pillory-Queue-ID: %s", r->queue_id);
	rfc5322_date(r->arrival, date, sizeof(date));
	put(o, "Arrival-Date: %s", date);
	/* RFC 3464 2.3: one group per recipient. */
	for (i = 0; i < r->nrcpts; i++) {
		const struct bounce_rcpt *rc = &r->rcpts[i];

		put(o, "%s", "");
		put(o, "Final-Recipient: rfc822; %s", rc->addr);
		put(o, "Action: %s", rc->action == BOUNCE_FAILED ? "failed" :
		    "delayed");
		put(o, "Status: %s", rc->status && rc->status[0] ? rc->status :
		    (rc->action == BOUNCE_FAILED ? "5.0.0" : "4.0.0"));
		if (rc->remote != NULL && rc->remote[0] != '\0')
			put(o, "Remote-MTA: dns; %s", rc->remote);
		if (rc->diag != NULL && rc->diag[0] != '\0')
			put(o, "Diagnostic-Code: %s; %s",
			    diag_is_smtp(rc->diag) ? "smtp" : "X-Pillory",
			    rc->diag);
		if (rc->action == BOUNCE_DELAYED) {
			rfc5322_date(r->retry_until, date, sizeof(date));
			put(o, "Will-Retry-Until: %s", date);
		}
	}
}

/* The original header, line by line; a line that could pass for our
 * boundary is indented (which also keeps it inside its header field). */
static void
headers_part(const struct bounce_report *r, const char *boundary,
    struct bounce_out *o)
{
	size_t		 pos = 0, blen = strlen(boundary);
	char		 line[BOUNCE_LINE_MAX + 1];

	while (pos < r->headers_len) {
		const char	*p = r->headers + pos, *nl;
		size_t		 len;

		nl = memchr(p, '\n', r->headers_len - pos);
		len = nl ? (size_t)(nl - p) : r->headers_len - pos;
		pos += len + (nl ? 1 : 0);
		if (len == 0)
			break;		/* the end of the header */
		if (len >= 2 + blen && p[0] == '-' && p[1] == '-' &&
		    memcmp(p + 2, boundary, blen) == 0) {
			line[0] = ' ';
			text_copy_span(line + 1, sizeof(line) - 1, p, len);
		} else
			text_copy_span(line, sizeof(line), p, len);
		put_clean(o, line, false);
	}
}

void
bounce_format(const struct bounce_report *r, const char *msg_id,
    const char *boundary, bounce_line_cb emit, void *arg)
{
	struct bounce_out	 o = { emit, arg };
	char			 date[64];
	bool			 failed = any_action(r, BOUNCE_FAILED);
	bool			 eight = false;
	size_t			 i;

	for (i = 0; i < r->headers_len; i++)
		if ((unsigned char)r->headers[i] >= 0x80)
			eight = true;
	rfc5322_date(r->now, date, sizeof(date));
	/* RFC 5321 6.3: a hop like any other, counted against loops. */
	put(&o, "Received: by %s (pillory) id %s; %s", r->hostname, msg_id,
	    date);
	put(&o, "Date: %s", date);
	put(&o, "From: Mail Delivery System <MAILER-DAEMON@%s>", r->hostname);
	put(&o, "To: <%s>", r->sender);
	put(&o, "Subject: %s", failed ? "Undelivered Mail Returned to Sender" :
	    "Delayed Mail (still being retried)");
	put(&o, "Message-ID: <%s@%s>", msg_id, r->hostname);
	put(&o, "Auto-Submitted: auto-replied");
	put(&o, "MIME-Version: 1.0");
	put(&o, "Content-Type: multipart/report; report-type=delivery-status;");
	put(&o, "\tboundary=\"%s\"", boundary);
	put(&o, "%s", "");
	put(&o, "This is a MIME-encapsulated message.");
	put(&o, "%s", "");
	put(&o, "--%s", boundary);
	put(&o, "Content-Description: Notification");
	put(&o, "Content-Type: text/plain; charset=us-ascii");
	put(&o, "%s", "");
	human_part(r, &o);
	put(&o, "--%s", boundary);
	put(&o, "Content-Description: Delivery report");
	put(&o, "Content-Type: message/delivery-status");
	put(&o, "%s", "");
	status_part(r, &o);
	put(&o, "%s", "");
	put(&o, "--%s", boundary);
	put(&o, "Content-Description: Undelivered Message Headers");
	put(&o, "Content-Type: text/rfc822-headers");
	if (eight)
		put(&o, "Content-Transfer-Encoding: 8bit");
	put(&o, "%s", "");
	headers_part(r, boundary, &o);
	put(&o, "%s", "");
	put(&o, "--%s--", boundary);
}

char *
bounce_read_headers(const char *path, size_t *len_out)
{
	char	*buf;
	size_t	 have = 0, i;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	buf = xmalloc(BOUNCE_HEADERS_MAX + 1);
	while (have < BOUNCE_HEADERS_MAX) {
		n = read(fd, buf + have, BOUNCE_HEADERS_MAX - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int e = errno;

			close(fd);
			free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	/* Up to the empty line that ends the header. */
	for (i = 0; i < have; i++) {
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] == '\n')) {
			have = i;
			break;
		}
	}
	/* Cut on a line end when the header went on past the maximum. */
	if (have == BOUNCE_HEADERS_MAX)
		while (have > 0 && buf[have - 1] != '\n')
			have--;
	buf[have] = '\0';
	*len_out = have;
	return buf;
}

/* ------------------------------------------------------------ sending */

struct bounce_commit {
	bounce_done_cb	 cb;
	void		*arg;
	char		 id[SPOOL_ID_MAX];
	bool		 remote;
};

struct bounce_targets {
	struct engine		*eng;
	struct spool_msg	*msg;
	size_t			 n;
	bool			 remote;
};

static void
line_to_spool(const char *line, size_t len, void *arg)
{
	spool_msg_line(arg, line, len);
}

static bool
is_local_cb(const char *domain, void *arg)
{
	struct bounce_targets	*t = arg;

	return addr_domain_is_local(&t->eng->cfg->domains, domain);
}

/* One final address: a mailbox of ours, or somewhere else. */
static void
target_cb(const char *addr, void *arg)
{
	struct bounce_targets	*t = arg;
	const struct engine	*eng = t->eng;
	const char		*at = strrchr(addr, '@');
	char			 local[LOCAL_PART_MAX + 1];

	if (at == NULL)
		return;
	if (!addr_domain_is_local(&eng->cfg->domains, at + 1)) {
		spool_msg_add_remote(t->msg, addr);
		t->remote = true;
		t->n++;
		return;
	}
	if (!text_copy_span(local, sizeof(local), addr, (size_t)(at - addr)))
		return;
	if (((eng->users != NULL && passwd_file_has_user(eng->users, addr)) ||
	    strcmp(local, "postmaster") == 0) && spool_name_is_safe(local) &&
	    spool_name_is_safe(at + 1)) {
		spool_msg_add_mailbox(t->msg, at + 1, local);
		t->n++;
	}
}

static void
commit_cb(int status, void *arg)
{
	struct bounce_commit	*c = arg;

	c->cb(status, status == 0 && c->remote ? c->id : NULL, c->arg);
	free(c);
}

enum bounce_send_result
bounce_send(struct engine *eng, const struct bounce_report *r,
    bounce_done_cb cb, void *arg)
{
	struct bounce_targets	 t = { eng, NULL, 0, false };
	struct bounce_commit	*c;
	const char		*at = strrchr(r->sender, '@');
	char			 key[ADDRESS_MAX + 1], boundary[80];
	char			 local[LOCAL_PART_MAX + 1];
	char			 domain[DOMAIN_MAX + 1];
	uint64_t		 rnd[2];

	if (at == NULL || r->sender[0] == '\0') {
		log_info("bounce %s: no sender address; dropped",
		    r->queue_id);
		return BOUNCE_DROPPED;
	}
	if ((t.msg = spool_msg_new(eng->spool)) == NULL)
		return BOUNCE_TRY_LATER;
	text_copy(domain, at + 1, sizeof(domain));
	text_lower(domain);
	if (addr_domain_is_local(&eng->cfg->domains, domain)) {
		/* One of ours: the same resolution as an incoming RCPT. */
		if (!text_copy_span(local, sizeof(local), r->sender,
		    (size_t)(at - r->sender)) ||
		    !addr_lookup_key(local, domain, key)) {
			spool_msg_abort(t.msg);
			return BOUNCE_DROPPED;
		}
		if (eng->aliases != NULL && aliases_has(eng->aliases, key)) {
			if (aliases_expand(eng->aliases, key, is_local_cb,
			    target_cb, &t) < 0)
				t.n = 0;
		} else
			target_cb(key, &t);
	} else {
		spool_msg_add_remote(t.msg, r->sender);
		t.remote = true;
		t.n++;
	}
	if (t.n == 0) {
		log_warn("bounce %s: sender <%s> is local but has no mailbox; "
		    "dropped", r->queue_id, r->sender);
		spool_msg_abort(t.msg);
		return BOUNCE_DROPPED;
	}
	spool_msg_set_sender(t.msg, "");
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		FATAL("getrandom");
	text_printf(boundary, sizeof(boundary), "%s.%016llx%016llx/%s",
	    spool_msg_id(t.msg), (unsigned long long)rnd[0],
	    (unsigned long long)rnd[1], r->hostname);
	if (strlen(boundary) > 70)	/* RFC 2046 5.1.1 */
		text_printf(boundary, sizeof(boundary), "%s.%016llx%016llx",
		    spool_msg_id(t.msg), (unsigned long long)rnd[0],
		    (unsigned long long)rnd[1]);
	bounce_format(r, spool_msg_id(t.msg), boundary, line_to_spool, t.msg);
	c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	c->remote = t.remote;
	text_copy(c->id, spool_msg_id(t.msg), sizeof(c->id));
	log_info("bounce %s: report %s to <%s> (%zu rcpts)", r->queue_id,
	    c->id, r->sender, r->nrcpts);
	spool_msg_commit(t.msg, commit_cb, c);
	return BOUNCE_SENT;
}
