/*
 * cmd_sendmail.c: the Unix mail interface (README "Installing"):
 * `sendmail` (also `pillory sendmail`), `mailq` and `newaliases`, chosen by
 * the name the program was called by. sendmail reads a message on stdin,
 * completes its header (RFC 5322 3.6: Date, From, Message-ID), finds the
 * recipients (arguments, and with -t the To/Cc/Bcc fields) and hands it
 * to the running daemon over STATE_DIR/submit.sock (protocol in
 * submit_parse.h). No set-user-ID bit: the daemon learns who we are from
 * the socket. Runs as the calling user, who also supplies all the input.
 * Exit codes are sysexits.h's, as programs that call sendmail expect.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "sendmail_parse.h"
#include "spool.h"
#include "submit.h"
#include "submit_parse.h"
#include "text.h"

/* Seconds to wait for the daemon's answer (it fsyncs first). */
#define SENDMAIL_ANSWER_TIMEOUT	120
/* Room for the header fields we add, over max_message_size. */
#define SENDMAIL_HEADER_ROOM	4096

struct buf {
	char	*p;
	size_t	 len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			fprintf(stderr, "sendmail: out of memory\n");
			exit(EX_OSERR);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

struct rcpts {
	char	**items;
	size_t	  count;
	const char *domain;	/* appended to a bare user name */
	bool	  too_long;
};

static void
rcpt_add(const char *addr, void *arg)
{
	struct rcpts	*r = arg;
	char		 full[ADDRESS_MAX + 1];
	size_t		 i;

	if (strchr(addr, '@') != NULL)
		text_copy(full, addr, sizeof(full));
	else if (!text_printf(full, sizeof(full), "%s@%s", addr, r->domain)) {
		r->too_long = true;
		return;
	}
	for (i = 0; i < r->count; i++)
		if (strcmp(r->items[i], full) == 0)
			return;
	if ((r->items = reallocarray(r->items, r->count + 1,
	    sizeof(char *))) == NULL || (r->items[r->count] = strdup(full)) ==
	    NULL) {
		fprintf(stderr, "sendmail: out of memory\n");
		exit(EX_OSERR);
	}
	r->count++;
}

/* Read all of stdin, at most max octets; NULL past it. */
static char *
read_stdin(size_t max, size_t *len_out)
{
	struct buf	b = { NULL, 0, 0 };
	char		chunk[65536];
	size_t		n;

	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (b.len + n > max) {
			free(b.p);
			return NULL;
		}
		buf_add(&b, chunk, n);
	}
	*len_out = b.len;
	return b.p;
}

/* A display name as an atom run, or a quoted string (RFC 5322 3.2.4);
 * NULL for one we cannot write as plain ASCII. */
static bool
format_name(const char *name, char *out, size_t size)
{
	const char	*p;
	bool		 plain = true;
	size_t		 o = 0;

	for (p = name; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return false;
		if (strchr("()<>[]:;@\\,.\"", *p) != NULL)
			plain = false;
	}
	if (plain)
		return text_copy(out, name, size);
	if (size < 3)
		return false;
	out[o++] = '"';
	for (p = name; *p != '\0'; p++) {
		if (o + 4 >= size)
			return false;
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '"';
	out[o] = '\0';
	return true;
}

struct message {
	struct buf	 out;		/* the text we send */
	bool		 has_from, has_date, has_msgid;
	struct rcpts	*rcpts;
	bool		 bad_header;
};

/* One header field (lines[first..last]): keep it, or not for Bcc; with
 * -t, take its addresses. */
static void
header_field(struct message *m, char **lines, size_t *lens, size_t first,
    size_t last, bool take_rcpts)
{
	const char	*l = lines[first];
	size_t		 n = lens[first], i;
	bool		 bcc = sendmail_header_is(l, n, "Bcc");
	struct buf	 v = { NULL, 0, 0 };
	size_t		 name = sendmail_header_name(l, n);

	if (sendmail_header_is(l, n, "From"))
		m->has_from = true;
	else if (sendmail_header_is(l, n, "Date"))
		m->has_date = true;
	else if (sendmail_header_is(l, n, "Message-ID"))
		m->has_msgid = true;
	if (take_rcpts && (bcc || sendmail_header_is(l, n, "To") ||
	    sendmail_header_is(l, n, "Cc"))) {
		buf_add(&v, l + name + 1, n - name - 1);
		for (i = first + 1; i <= last; i++)
			buf_add(&v, lines[i], lens[i]);
		if (sendmail_parse_addresses(v.p, v.len, rcpt_add,
		    m->rcpts) < 0)
			m->bad_header = true;
		free(v.p);
	}
	if (bcc)
		return;		/* RFC 5322 3.6.3: Bcc is not passed on */
	for (i = first; i <= last; i++) {
		buf_add(&m->out, lines[i], lens[i]);
		buf_add(&m->out, "\n", 1);
	}
}

static int
connect_daemon(const struct config *cfg, char *path, size_t pathlen)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { SENDMAIL_ANSWER_TIMEOUT, 0 };
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!text_printf(path, pathlen, "%s/%s", cfg->state_dir,
	    SUBMIT_SOCKET) || !text_copy(sun.sun_path, path,
	    sizeof(sun.sun_path))) {
		fprintf(stderr, "sendmail: %s/%s: path too long\n",
		    cfg->state_dir, SUBMIT_SOCKET);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "sendmail: socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "sendmail: the pillory mail daemon is not "
		    "running or not reachable (%s: %s); mail not sent\n", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static bool
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Send req, read the one-line answer; returns a sysexits.h code. */
static int
transact(const struct config *cfg, const char *req, size_t reqlen,
    char *id, size_t idlen)
{
	static const int	 codes[SUBMIT_STATUS_COUNT] = {
		[SUBMIT_OK] = EX_OK,
		[SUBMIT_USAGE] = EX_SOFTWARE,
		[SUBMIT_DATAERR] = EX_DATAERR,
		[SUBMIT_NOUSER] = EX_NOUSER,
		[SUBMIT_NOPERM] = EX_NOPERM,
		[SUBMIT_TEMPFAIL] = EX_TEMPFAIL,
	};
	char	 path[CONFIG_PATH_MAX + 16], answer[512];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, st;
	char	*nl = NULL;
	const char *text;

	if ((fd = connect_daemon(cfg, path, sizeof(path))) == -1)
		return EX_UNAVAILABLE;
	/* A refusal may come before we finished writing: read it anyway. */
	if (write_all(fd, req, reqlen))
		shutdown(fd, SHUT_WR);
	while (len < sizeof(answer) - 1 && (nl = memchr(answer, '\n',
	    len)) == NULL) {
		n = read(fd, answer + len, sizeof(answer) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > 0)
		nl = memchr(answer, '\n', len);
	if (nl == NULL || (st = submit_status_parse(answer,
	    (size_t)(nl - answer))) < 0) {
		fprintf(stderr, "sendmail: no valid answer from the mail "
		    "daemon at %s; mail may not have been sent\n", path);
		return EX_PROTOCOL;
	}
	*nl = '\0';
	text = strchr(answer, ' ') ? strchr(answer, ' ') + 1 : "";
	if (st != SUBMIT_OK) {
		fprintf(stderr, "sendmail: %s\n", text);
		return codes[st];
	}
	text_copy(id, text, idlen);
	return EX_OK;
}

static const struct config *
load(const struct sendmail_opts *o, struct config **owned)
{
	char	err[1024];

	*owned = config_load(o->config ? o->config : config_default_path(),
	    err, sizeof(err));
	if (*owned == NULL)
		fprintf(stderr, "sendmail: %s\n", err);
	return *owned;
}

static int
do_reload(const struct config *cfg)
{
	char	id[64];
	int	rc = transact(cfg, "RELOAD\n", 7, id, sizeof(id));

	if (rc == EX_OK)
		printf("pillory: the mail daemon is reloading its "
		    "configuration and aliases\n");
	return rc;
}

static int
do_send(const struct config *cfg, const struct sendmail_opts *o, int argc,
    char **argv)
{
	struct rcpts	 r = { NULL, 0, cfg->domains.names[0], false };
	struct message	 m;
	struct buf	 req = { NULL, 0, 0 };
	struct passwd	*pw = getpwuid(getuid());
	char		 sender[ADDRESS_MAX + 1], login[64], line[1200];
	char		 name[256], host[256], date[64], id[64];
	char		*text, **lines = NULL, *p, *end;
	size_t		*lens = NULL, nlines = 0, len, i, first;
	bool		 in_headers = true;
	time_t		 now = time(NULL);
	struct tm	 tm;
	int		 rc;

	memset(&m, 0, sizeof(m));
	m.rcpts = &r;
	if (pw != NULL && spool_name_is_safe(pw->pw_name))
		text_copy(login, pw->pw_name, sizeof(login));
	else
		text_printf(login, sizeof(login), "uid%u", (unsigned)getuid());
	/* The envelope sender: -f, or the caller at our first domain. */
	if (o->from != NULL) {
		const char *f = o->from;
		size_t fl = strlen(f);

		if (fl >= 2 && f[0] == '<' && f[fl - 1] == '>') {
			f++;
			fl -= 2;
		}
		if (!text_copy_span(sender, sizeof(sender), f, fl)) {
			fprintf(stderr, "sendmail: -f: address too long\n");
			return EX_DATAERR;
		}
		if (*sender != '\0' && strchr(sender, '@') == NULL &&
		    !text_printf(sender, sizeof(sender), "%.*s@%s", (int)fl,
		    f, r.domain)) {
			fprintf(stderr, "sendmail: -f: address too long\n");
			return EX_DATAERR;
		}
	} else
		text_printf(sender, sizeof(sender), "%s@%s", login, r.domain);

	for (i = (size_t)o->first_rcpt; i < (size_t)argc; i++)
		if (sendmail_parse_addresses(argv[i], strlen(argv[i]),
		    rcpt_add, &r) < 0) {
			fprintf(stderr, "sendmail: bad recipient '%s'\n",
			    argv[i]);
			return EX_DATAERR;
		}
	if ((text = read_stdin(cfg->max_message_size, &len)) == NULL) {
		fprintf(stderr, "sendmail: message larger than the limit of "
		    "%llu octets\n", (unsigned long long)cfg->max_message_size);
		return EX_DATAERR;
	}
	if (memchr(text, '\0', len) != NULL) {
		fprintf(stderr, "sendmail: message contains NUL octets\n");
		return EX_DATAERR;
	}
	/* Split into lines: LF or CRLF ends a line; without -i a line with
	 * a single dot ends the message. */
	for (p = text; p < text + len; p = end + 1) {
		end = memchr(p, '\n', (size_t)(text + len - p));
		if (end == NULL)
			end = text + len;
		*end = '\0';
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		if (!o->ignore_dots && strcmp(p, ".") == 0)
			break;
		if (strlen(p) > 998) {
			fprintf(stderr, "sendmail: line %zu is longer than 998 "
			    "octets (RFC 5322 2.1.1)\n", nlines + 1);
			return EX_DATAERR;
		}
		if ((lines = reallocarray(lines, nlines + 1, sizeof(*lines))) ==
		    NULL || (lens = reallocarray(lens, nlines + 1,
		    sizeof(*lens))) == NULL) {
			fprintf(stderr, "sendmail: out of memory\n");
			return EX_OSERR;
		}
		lines[nlines] = p;
		lens[nlines++] = strlen(p);
	}
	/* Header fields up to the first empty line (or the first line that
	 * is no header field: the body then starts there). */
	i = 0;
	if (nlines > 0 && strncmp(lines[0], "From ", 5) == 0)
		i = 1;		/* an mbox separator line */
	for (; i < nlines && in_headers;) {
		if (lens[i] == 0)
			break;
		if (sendmail_header_name(lines[i], lens[i]) == 0) {
			in_headers = false;
			break;
		}
		first = i++;
		while (i < nlines && lens[i] > 0 && (lines[i][0] == ' ' ||
		    lines[i][0] == '\t'))
			i++;
		header_field(&m, lines, lens, first, i - 1, o->from_headers);
	}
	if (m.bad_header) {
		fprintf(stderr, "sendmail: malformed address in To, Cc or Bcc\n");
		return EX_DATAERR;
	}
	if (r.too_long) {
		fprintf(stderr, "sendmail: recipient address too long\n");
		return EX_DATAERR;
	}
	if (r.count == 0) {
		fprintf(stderr, "sendmail: no recipients%s\n",
		    o->from_headers ? " in To, Cc or Bcc" :
		    " (give them as arguments, or -t)");
		return EX_USAGE;
	}
	/* RFC 5322 3.6: Date and From are required; Message-ID should be. */
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (!m.has_date) {
		text_printf(line, sizeof(line), "Date: %s\n", date);
		buf_str(&m.out, line);
	}
	if (!m.has_from) {
		const char *full = o->fullname;
		char gecos[256] = "";

		if (full == NULL && pw != NULL && pw->pw_gecos != NULL) {
			text_copy(gecos, pw->pw_gecos, sizeof(gecos));
			gecos[strcspn(gecos, ",")] = '\0';
			full = gecos;
		}
		if (full != NULL && *full != '\0' &&
		    format_name(full, name, sizeof(name)))
			text_printf(line, sizeof(line), "From: %s <%s>\n", name,
			    *sender ? sender : "MAILER-DAEMON");
		else
			text_printf(line, sizeof(line), "From: %s\n",
			    *sender ? sender : "MAILER-DAEMON");
		buf_str(&m.out, line);
	}
	if (!m.has_msgid) {
		uint64_t rnd = ((uint64_t)arc4random() << 32) | arc4random();

		text_copy(host, cfg->hostname, sizeof(host));
		strftime(date, sizeof(date), "%Y%m%d%H%M%S", &tm);
		text_printf(line, sizeof(line), "Message-ID: <%s.%ld.%016llx@%s>"
		    "\n", date, (long)getpid(), (unsigned long long)rnd, host);
		buf_str(&m.out, line);
	}
	if (!in_headers || i == nlines)
		buf_add(&m.out, "\n", 1);	/* the header ends here */
	for (; i < nlines; i++) {
		buf_add(&m.out, lines[i], lens[i]);
		buf_add(&m.out, "\n", 1);
	}
	/* The request: envelope, then the text. */
	text_printf(line, sizeof(line), "MAIL <%s>\n", sender);
	buf_str(&req, line);
	for (i = 0; i < r.count; i++) {
		text_printf(line, sizeof(line), "RCPT <%s>\n", r.items[i]);
		buf_str(&req, line);
	}
	text_printf(line, sizeof(line), "DATA %zu\n", m.out.len);
	buf_str(&req, line);
	buf_add(&req, m.out.p, m.out.len);
	rc = transact(cfg, req.p, req.len, id, sizeof(id));
	free(req.p);
	free(m.out.p);
	for (i = 0; i < r.count; i++)
		free(r.items[i]);
	free(r.items);
	free(lines);
	free(lens);
	free(text);
	return rc;
}

int
cmd_sendmail(const struct config *unused, int argc, char **argv)
{
	struct sendmail_opts	 o;
	struct config		*cfg;
	char			 err[256];
	int			 rc;

	(void)unused;
	signal(SIGPIPE, SIG_IGN);
	if (sendmail_parse_args(argc, argv, &o, err, sizeof(err)) == -1) {
		fprintf(stderr, "sendmail: %s\nusage: sendmail [-t] [-i] "
		    "[-f ADDR] [-F NAME] [-C FILE] [RECIPIENT ...]\n", err);
		return EX_USAGE;
	}
	if (load(&o, &cfg) == NULL)
		return EX_CONFIG;
	switch (o.mode) {
	case SENDMAIL_QUEUE: {
		char *av[] = { (char *)"queue", (char *)"list", NULL };

		rc = cmd_queue(cfg, 2, av);
		break;
	}
	case SENDMAIL_RELOAD:
		rc = do_reload(cfg);
		break;
	default:
		rc = do_send(cfg, &o, argc, argv);
		break;
	}
	config_free(cfg);
	return rc;
}

const struct cmd_entry cmd_sendmail_entry = {
	.name = "sendmail",
	.usage = "[-t] [-i] [-f ADDR] [-F NAME] [RECIPIENT ...]",
	.help = "send the message on stdin through the running daemon",
	.needs_config = false,
	.link_name = true,
	.run = cmd_sendmail,
};
