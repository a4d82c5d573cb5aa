/*
 * cmd_report.c: `pillory report INCIDENT [--to ADDR] [--send]`, the abuse
 * report of one incident (report.h, RFC 5965), printed on stdout or, with
 * --send, queued for delivery from postmaster of the first local domain.
 *
 * Runs in the CLI process, as the admin (root or the daemon's user). Reads
 * the store read-only. --send writes ID.msg and ID.env into
 * STATE_DIR/queue the way the SMTP server does (message first, envelope
 * last, each fsynced, renamed into place, the directory fsynced; owned by
 * the queue directory's owner), then asks the running daemon over
 * control.sock ("notify ID") to load and try it now; without a daemon it
 * goes at the next start, when the queue is resumed.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asn.h"
#include "atomic_file.h"
#include "attack.h"
#include "attrib.h"
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "envelope.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "text.h"
#include "xalloc.h"

struct report_recs {
	struct attack_record	*v;
	size_t			 n;
	size_t			 cap;
};

static void
report_usage(FILE *fp)
{
	fprintf(fp, "usage: pillory report INCIDENT [--to ADDR] [--send]\n"
	    "  INCIDENT    an incident id (pillory stats, the page's #N)\n"
	    "  --to ADDR   recipient (default abuse@ the attacker's "
	    "registrable domain)\n"
	    "  --send      queue it from postmaster@ the first local domain "
	    "instead of\n              printing it\n");
}

static int
report_collect(const struct attack_record *rec, void *arg)
{
	struct report_recs	*rr = arg;
	struct attack_record	*p;
	size_t			 ncap;

	if (rr->n == rr->cap) {
		ncap = rr->cap == 0 ? 64 : rr->cap * 2;
		p = xreallocarray(rr->v, ncap, sizeof(*p));
		rr->v = p;
		rr->cap = ncap;
	}
	rr->v[rr->n++] = *rec;
	return (0);
}

/* A plain mailbox: local@domain, printable ASCII, no spaces or <>. */
static bool
report_addr_is_ok(const char *a)
{
	const char	*at = strrchr(a, '@');
	size_t		 i;

	if (at == NULL || at == a || at[1] == '\0' ||
	    strlen(a) > ADDRESS_MAX)
		return (false);
	for (i = 0; a[i] != '\0'; i++)
		if ((unsigned char)a[i] <= 0x20 ||
		    (unsigned char)a[i] >= 0x7f || a[i] == '<' || a[i] == '>' ||
		    a[i] == '"' || a[i] == ',')
			return (false);
	return (true);
}

static int
report_write_file(int dirfd, const char *name, const char *data, size_t len,
    const struct stat *owner)
{
	ssize_t	w;
	size_t	off = 0;
	int	fd;

	if ((fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY |
	    O_CLOEXEC, 0600)) == -1)
		return (-1);
	/* The daemon runs as the queue directory's owner and must read and
	 * replace what we write. */
	if (geteuid() == 0 && fchown(fd, owner->st_uid, owner->st_gid) == -1)
		goto fail;
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	return (close(fd));
fail:
	close(fd);
	(void)unlinkat(dirfd, name, 0);
	return (-1);
}

/*
 * Put the message into STATE_DIR/queue as id. Returns 0, or -1 with a
 * message in err (nothing left behind).
 */
static int
report_enqueue(const struct config *cfg, const char *id, const char *from,
    const char *to, const char *msg, size_t msglen, char *err,
    size_t errlen)
{
	struct envelope		 env;
	struct atomic_file	 af;
	struct stat		 st;
	char			 dir[CONFIG_PATH_MAX + 16], name[64], tmp[64];
	char			*text;
	size_t			 len;
	int			 dirfd, rc = -1;

	if (!text_printf(dir, sizeof(dir), "%s/queue", cfg->state_dir)) {
		(void)text_printf(err, errlen, "%s: path too long",
		    cfg->state_dir);
		return (-1);
	}
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(dirfd, &st) == -1) {
		(void)text_printf(err, errlen, "%s: %s (is the daemon set "
		    "up?)", dir, strerror(errno));
		if (dirfd != -1)
			close(dirfd);
		return (-1);
	}
	envelope_init(&env, id);
	env.arrival = (int64_t)time(NULL);
	(void)text_copy(env.sender, from, sizeof(env.sender));
	(void)envelope_add_rcpt(&env, to);
	text = envelope_format(&env, &len);
	envelope_free(&env);
	(void)text_printf(name, sizeof(name), "%s.msg", id);
	if (report_write_file(dirfd, name, msg, msglen, &st) == -1) {
		(void)text_printf(err, errlen, "%s/%s: %s", dir, name,
		    strerror(errno));
		goto done;
	}
	/* The envelope last: a .msg alone is an orphan the queue removes. */
	(void)text_printf(tmp, sizeof(tmp), "%s.env.tmp", id);
	(void)text_printf(name, sizeof(name), "%s.env", id);
	af = (struct atomic_file){ .dirfd = dirfd, .tmp = tmp, .name = name,
	    .mode = 0600, .flags = ATOMIC_FILE_FRESH | ATOMIC_FILE_DIRSYNC |
	    (geteuid() == 0 ? ATOMIC_FILE_CHOWN : 0), .uid = st.st_uid,
	    .gid = st.st_gid };
	if (atomic_file_write(&af, text, len, NULL) == -1) {
		(void)text_printf(err, errlen, "%s/%s: %s", dir, name,
		    strerror(errno));
		(void)unlinkat(dirfd, tmp, 0);
		(void)text_printf(name, sizeof(name), "%s.msg", id);
		(void)unlinkat(dirfd, name, 0);
		goto done;
	}
	rc = 0;
done:
	free(text);
	close(dirfd);
	return (rc);
}

/*
 * `pillory report INCIDENT [--to ADDR] [--send]`. Returns 0; 1 when the
 * incident does not exist, the store or the ASN file cannot be read, no
 * recipient is known, or queueing fails; 2 on bad arguments.
 */
int
cmd_report(const struct config *cfg, int argc, char **argv)
{
	struct report_input	 r;
	struct report_recs	 rr;
	struct store_incident	 in;
	struct store_query	 q;
	struct attrib		 at;
	struct asn_db		*asn = NULL;
	struct store		*st = NULL;
	struct timespec		 ts;
	const char		*to = NULL, *idarg = NULL;
	char			 err[1024], toaddr[ADDRESS_MAX + 1];
	char			 from[ADDRESS_MAX + 1], qid[ENVELOPE_ID_MAX];
	char			 msgid[ENVELOPE_ID_MAX + DOMAIN_MAX + 8];
	char			 sock[CONFIG_PATH_MAX + 32], reply[256];
	char			*msg = NULL, *end;
	unsigned long long	 id;
	size_t			 len;
	bool			 send = false;
	int			 i, rc = 1, c;

	memset(&rr, 0, sizeof(rr));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--send") == 0)
			send = true;
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strncmp(argv[i], "--to=", 5) == 0)
			to = argv[i] + 5;
		else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			report_usage(stdout);
			return (0);
		} else if (argv[i][0] != '-' && idarg == NULL)
			idarg = argv[i];
		else {
			fprintf(stderr, "pillory report: bad argument \"%s\"\n",
			    argv[i]);
			report_usage(stderr);
			return (2);
		}
	}
	if (idarg == NULL) {
		report_usage(stderr);
		return (2);
	}
	if (*idarg == '#')
		idarg++;
	errno = 0;
	id = strtoull(idarg, &end, 10);
	if (*idarg < '0' || *idarg > '9' || *end != '\0' || errno != 0 ||
	    id == 0 || id > INT64_MAX) {
		fprintf(stderr, "pillory report: \"%s\" is not an incident "
		    "id\n", idarg);
		return (2);
	}
	if (to != NULL && !report_addr_is_ok(to)) {
		fprintf(stderr, "pillory report: --to: \"%s\" is not a plain "
		    "address (local@domain)\n", to);
		return (2);
	}
	if (cfg->domains.count == 0) {
		fprintf(stderr, "pillory report: [server] domains is empty: "
		    "no postmaster to send from\n");
		return (1);
	}
	if (cfg->attacklog_asn_db != NULL && *cfg->attacklog_asn_db != '\0' &&
	    (asn = asn_db_load(cfg->attacklog_asn_db, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "pillory report: warning: %s; no AS "
		    "attribution\n", err);
	if ((st = store_open_config(cfg, true, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pillory report: %s\n", err);
		goto done;
	}
	if ((c = store_incident_get(st, (int64_t)id, &in)) != 0) {
		if (c == 1)
			fprintf(stderr, "pillory report: no incident %llu "
			    "(pillory stats lists them)\n", id);
		else
			fprintf(stderr, "pillory report: %s\n",
			    store_errmsg(st));
		goto done;
	}
	memset(&q, 0, sizeof(q));
	q.kind = -1;
	q.client_ip = in.client_ip;
	q.since_us = in.first_us;
	q.until_us = in.last_us + 1;
	q.limit = REPORT_LINES_MAX;
	if (store_query(st, &q, report_collect, &rr) != 0) {
		fprintf(stderr, "pillory report: %s\n", store_errmsg(st));
		goto done;
	}
	(void)attrib_of(asn, in.client_ip, in.client_name, &at);
	if (to == NULL) {
		if (at.org_domain[0] == '\0') {
			fprintf(stderr, "pillory report: the attacker's domain "
			    "is not known (no forward-confirmed name): give "
			    "the abuse address with --to ADDR\n");
			goto done;
		}
		(void)text_printf(toaddr, sizeof(toaddr), "abuse@%s",
		    at.org_domain);
		to = toaddr;
	}
	(void)text_printf(from, sizeof(from), "postmaster@%s",
	    cfg->domains.names[0]);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Letters and digits, as the spool's ids: safe as a file name. */
	(void)text_printf(qid, sizeof(qid), "%09llxr%05lx%05x",
	    (unsigned long long)ts.tv_sec, (long)(ts.tv_nsec / 1000) & 0xfffff,
	    (unsigned)getpid() & 0xfffff);
	(void)text_printf(msgid, sizeof(msgid), "%s.report@%s", qid,
	    cfg->hostname);

	memset(&r, 0, sizeof(r));
	r.in = &in;
	r.recs = rr.v;
	r.nrecs = rr.n;
	r.attr = &at;
	r.hostname = cfg->hostname;
	r.from = from;
	r.to = to;
	r.message_id = msgid;
	r.now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	r.mask = cfg->publish_mask_recipients;
	msg = report_build(&r, &len);

	if (!send) {
		if (fwrite(msg, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, "pillory report: stdout: %s\n",
			    strerror(errno));
			goto done;
		}
		rc = 0;
		goto done;
	}
	if (report_enqueue(cfg, qid, from, to, msg, len, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "pillory report: %s\n", err);
		goto done;
	}
	(void)text_printf(sock, sizeof(sock), "%s/%s", cfg->state_dir,
	    CONTROL_SOCKET);
	(void)text_printf(err, sizeof(err), "notify %s", qid);
	c = control_request(sock, err, NULL, NULL, reply, sizeof(reply));
	if (c == 0)
		printf("queued %s: abuse report on incident %llu to <%s>\n",
		    qid, id, to);
	else
		printf("queued %s: abuse report on incident %llu to <%s>; the "
		    "daemon did not take it now (%s): it goes when the "
		    "daemon (re)starts\n", qid, id, to,
		    c == -1 ? "not running" : reply);
	rc = 0;
done:
	free(msg);
	free(rr.v);
	store_close(st);
	asn_db_free(asn);
	return (rc);
}

const struct cmd_entry cmd_report_entry = {
	.name = "report",
	.usage = "INCIDENT [--to ADDR] [--send]",
	.help = "an abuse report (RFC 5965) on one incident: print it, or queue "
	    "it",
	.needs_config = true,
	.run = cmd_report,
};
