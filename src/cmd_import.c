/*
 * cmd_import.c: `pillory import [--format F] [--follow] [--node NAME]
 * FILE|-`: Postfix and Dovecot logs into the store. Relay refusals, SASL
 * failures and postscreen events become attack records with the log's time
 * and client name; Dovecot POP3/IMAP logins become POP-before-SMTP grants
 * (expiring [relay] pop_before_smtp after the login). Every line taken is
 * remembered by a SHA-256 of its normalised form, so importing the same
 * lines twice adds nothing. --follow tails a file across rotation (a new
 * inode at the path) and truncation, or reads a pipe such as
 * `journalctl -f -o json` until it ends. Runs as a CLI tool; the log text
 * is untrusted and goes through import_parse.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attacklog.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "grants.h"
#include "import_parse.h"
#include "store.h"
#include "text.h"

/* How often --follow looks for new lines and for rotation. */
#define IMPORT_POLL_US		200000

struct import_ctx {
	const struct config	*cfg;
	struct store		*st;
	enum import_format	 fmt;
	const char		*node;
	const struct domain_list *local;
	uint64_t		 records, grants, dups, bad, lines;
	bool			 failed;
};

/* The input: a fd with a buffer of one line at most. */
struct import_reader {
	int		 fd;
	const char	*path;		/* NULL for stdin */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 offset;
	char		*buf;
	size_t		 len;
	bool		 skipping;	/* inside a line over IMPORT_LINE_MAX */
};


/* 0 when key is new (and now remembered), 1 when seen, -1 on error. */
static int
import_seen(struct import_ctx *ic, const char *key)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;
	char		hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return -1;
	for (i = 0; i < mdlen; i++)
		text_printf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	return ic->st->ops->import_mark(ic->st, hex);
}

static void
import_grant(struct import_ctx *ic, const struct import_event *ev)
{
	struct sockaddr_storage	 ss;
	char			 key[IPADDR_TEXT_MAX + 8], user[ADDRESS_MAX + 1];
	int64_t			 expires, have = 0;
	int			 rc;

	if (ic->cfg->pop_before_smtp == 0 ||
	    !text_sockaddr(ev->grant_ip, &ss) ||
	    !grants_key((struct sockaddr *)&ss,
	    (unsigned)ic->cfg->pop_before_smtp_v6_prefix, key, sizeof(key)))
		return;
	expires = ev->time_us + (int64_t)ic->cfg->pop_before_smtp * 1000000;
	if (expires <= clock_now_us())
		return;		/* an old login: its grant is over */
	/* Never shorten a grant a later login gave. */
	rc = ic->st->ops->grant_get(ic->st, key, clock_now_us(), user, sizeof(user),
	    &have);
	if (rc == 0 && have >= expires)
		return;
	if (ic->st->ops->grant_put(ic->st, key, ev->grant_user,
	    expires) != 0) {
		fprintf(stderr, "pillory import: grant %s: %s\n", key,
		    ic->st->ops->errmsg(ic->st));
		ic->failed = true;
		return;
	}
	ic->grants++;
}

static void
import_line(struct import_ctx *ic, const char *line, size_t len)
{
	struct import_event	*ev;
	enum import_event_type	 t;
	int			 rc;

	if ((ev = malloc(sizeof(*ev))) == NULL)
		abort();
	ic->lines++;
	t = import_parse_line(line, len, ic->fmt, clock_now_us(), ic->local, ev);
	if (t == IMPORT_EVENT_BAD && len > 0)
		ic->bad++;
	if (t != IMPORT_EVENT_RECORD && t != IMPORT_EVENT_GRANT)
		goto done;
	if ((rc = import_seen(ic, ev->key)) == -1) {
		fprintf(stderr, "pillory import: %s\n",
		    ic->st->ops->errmsg(ic->st));
		ic->failed = true;
		goto done;
	}
	if (rc == 1) {
		ic->dups++;
		goto done;
	}
	if (t == IMPORT_EVENT_GRANT) {
		import_grant(ic, ev);
		goto done;
	}
	text_copy(ev->rec.session, ic->node ? ic->node : "import",
	    sizeof(ev->rec.session));
	if (store_insert_batch(ic->st, &ev->rec, 1) != 0) {
		fprintf(stderr, "pillory import: %s\n", store_errmsg(ic->st));
		ic->failed = true;
		goto done;
	}
	ic->records++;
done:
	free(ev);
}

/* Take every complete line in the buffer; keep a partial one. */
static void
import_drain(struct import_ctx *ic, struct import_reader *r, bool at_end)
{
	size_t	start = 0;
	char	*lf;

	while (start < r->len && (lf = memchr(r->buf + start, '\n',
	    r->len - start)) != NULL) {
		size_t n = (size_t)(lf - (r->buf + start));

		if (r->skipping) {
			r->skipping = false;
			ic->bad++;
		} else
			import_line(ic, r->buf + start, n);
		start += n + 1;
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	if (r->len > IMPORT_LINE_MAX) {
		/* No LF within the ceiling: throw the line away. */
		r->len = 0;
		r->skipping = true;
	}
	if (at_end && r->len > 0) {
		if (!r->skipping)
			import_line(ic, r->buf, r->len);
		r->len = 0;
		r->skipping = false;
	}
}

/* Read what is there; 1 on data, 0 at end of file, -1 on error. */
static int
import_fill(struct import_reader *r)
{
	ssize_t	n;

	n = read(r->fd, r->buf + r->len, IMPORT_LINE_MAX + 2 - r->len);
	if (n < 0)
		return errno == EINTR ? 1 : -1;
	if (n == 0)
		return 0;
	r->len += (size_t)n;
	r->offset += n;
	return 1;
}

static int
import_open(struct import_reader *r)
{
	struct stat	st;

	if ((r->fd = open(r->path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(r->fd, &st) == 0) {
		r->dev = st.st_dev;
		r->ino = st.st_ino;
	}
	r->offset = 0;
	return 0;
}

/* --follow on a file: rotated (another file at the path) or truncated? */
static void
import_check_rotation(struct import_ctx *ic, struct import_reader *r)
{
	struct stat	st;

	if (r->path == NULL)
		return;
	if (stat(r->path, &st) == -1)
		return;		/* between rename and create: wait */
	if (st.st_dev != r->dev || st.st_ino != r->ino) {
		/* The old file is complete: take its tail, then switch. */
		while (import_fill(r) == 1)
			import_drain(ic, r, false);
		import_drain(ic, r, true);
		close(r->fd);
		if (import_open(r) == -1)
			r->fd = -1;
		return;
	}
	if (st.st_size < r->offset) {
		lseek(r->fd, 0, SEEK_SET);
		r->offset = 0;
		r->len = 0;
		r->skipping = false;
	}
}

int
cmd_import(const struct config *cfg, int argc, char **argv)
{
	struct import_ctx	 ic;
	struct import_reader	 r;
	char			 err[1024];
	const char		*file = NULL;
	bool			 follow = false;
	int			 i, rc;

	memset(&ic, 0, sizeof(ic));
	memset(&r, 0, sizeof(r));
	ic.cfg = cfg;
	ic.fmt = IMPORT_FORMAT_AUTO;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (!import_format_from_name(argv[++i], &ic.fmt)) {
				fprintf(stderr, "pillory import: unknown format "
				    "\"%s\" (auto, postfix, dovecot, "
				    "journal-json)\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--follow") == 0)
			follow = true;
		else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc) {
			ic.node = argv[++i];
			if (strlen(ic.node) >= SESSION_ID_MAX) {
				fprintf(stderr, "pillory import: --node: at "
				    "most %d characters\n", SESSION_ID_MAX - 1);
				return 2;
			}
		} else if (file == NULL && (argv[i][0] != '-' ||
		    strcmp(argv[i], "-") == 0))
			file = argv[i];
		else
			goto usage;
	}
	if (file == NULL)
		goto usage;
	ic.local = cfg->policy_default_domains.count > 0 ?
	    &cfg->policy_default_domains : &cfg->domains;
	if (strcmp(file, "-") == 0)
		r.fd = STDIN_FILENO;
	else {
		r.path = file;
		if (import_open(&r) == -1) {
			fprintf(stderr, "pillory import: %s: %s\n", file,
			    strerror(errno));
			return 1;
		}
	}
	/* Importing into a fresh install: the daemon may not have run yet
	 * (it gives state_dir to [server] user when it starts). */
	if (*cfg->attacklog_db == '\0')
		(void)mkdir(cfg->state_dir, 0700);
	if ((ic.st = store_open_config(cfg, false, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "pillory import: %s\n", err);
		return 1;
	}
	if ((r.buf = malloc(IMPORT_LINE_MAX + 2)) == NULL)
		abort();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		if (r.fd == -1) {
			/* Rotated away and not yet re-created. */
			usleep(IMPORT_POLL_US);
			if (import_open(&r) == -1)
				continue;
		}
		rc = import_fill(&r);
		if (rc == 1) {
			import_drain(&ic, &r, false);
			continue;
		}
		if (rc == -1) {
			fprintf(stderr, "pillory import: read: %s\n",
			    strerror(errno));
			ic.failed = true;
			break;
		}
		if (!follow || r.path == NULL) {
			import_drain(&ic, &r, true);
			break;
		}
		/* A file being written: the last line may be unfinished,
		 * so keep it until its LF arrives. */
		usleep(IMPORT_POLL_US);
		import_check_rotation(&ic, &r);
	}
	printf("imported %llu records, %llu grants from %llu lines "
	    "(%llu already imported, %llu not log lines)\n",
	    (unsigned long long)ic.records, (unsigned long long)ic.grants,
	    (unsigned long long)ic.lines, (unsigned long long)ic.dups,
	    (unsigned long long)ic.bad);
	free(r.buf);
	if (r.fd > STDIN_FILENO)
		close(r.fd);
	store_close(ic.st);
	return ic.failed ? 1 : 0;
usage:
	fprintf(stderr, "usage: pillory [-c FILE] import [--format auto|"
	    "postfix|dovecot|journal-json] [--follow] [--node NAME] "
	    "FILE|-\n");
	return 2;
}

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.usage = "[--format auto|postfix|dovecot|journal-json] [--follow] "
	    "[--node NAME] FILE|-",
	.help = "take Postfix refusals, SASL failures, postscreen events and "
	    "Dovecot logins from mail logs",
	.needs_config = true,
	.run = cmd_import,
};
