/*
 * smtp_rcpt.c: MAIL and RCPT of the SMTP session (smtp_session_int.h):
 * who may send as whom, the relay decision for each recipient (relay.c
 * decides, this file asks and records), and where each accepted
 * recipient goes (aliases, SRS, mailboxes, the queue).
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "aliases.h"
#include "config.h"
#include "engine.h"
#include "grants.h"
#include "log.h"
#include "passwd_file.h"
#include "relay.h"
#include "smtp_session_int.h"
#include "spool.h"
#include "srs.h"
#include "text.h"
#include "xalloc.h"

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	return xreallocarray(p, *cap, size);
}

static bool
str_in(char **list, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* A mailbox is stored as "domain/user", NUL, then the address the client
 * gave (orig_to in the delivery log line); str_in compares the first part. */
static void
add_mailbox(struct smtp_txn *t, const char *domain, const char *user,
    const char *orig)
{
	char	key[DOMAIN_MAX + LOCAL_PART_MAX + 2];
	char	*dup;
	size_t	 klen, olen = strlen(orig);

	text_printf(key, sizeof(key), "%s/%s", domain, user);
	if (str_in(t->mailboxes, t->nmailboxes, key))
		return;
	t->mailboxes = grow(t->mailboxes, &t->mbcap, t->nmailboxes,
	    sizeof(char *));
	klen = strlen(key);
	dup = xmalloc(klen + olen + 2);
	memcpy(dup, key, klen + 1);
	memcpy(dup + klen + 1, orig, olen + 1);
	t->mailboxes[t->nmailboxes++] = dup;
}

static void
add_remote(struct smtp_txn *t, const char *addr)
{
	char	*dup;

	if (str_in(t->remotes, t->nremotes, addr))
		return;
	t->remotes = grow(t->remotes, &t->rmcap, t->nremotes, sizeof(char *));
	dup = xstrdup(addr);
	t->remotes[t->nremotes++] = dup;
}

static bool
owner_is_local(const char *domain, void *arg)
{
	const struct smtp_session	*s = arg;

	return addr_domain_is_local(&conn_cfg(&s->conn)->domains, domain);
}

/* RFC 6409 6.1: a logged-in user may send as their own address, or as an
 * alias in a local domain that delivers to them; nobody else's. */
static bool
sender_owned(const struct smtp_session *s, const char *local,
    const char *domain)
{
	char	key[ADDRESS_MAX + 1];

	if (!addr_lookup_key(local, domain, key))
		return false;
	return aliases_sender_owned(s->conn.eng->aliases, key, s->auth_user,
	    owner_is_local, (void *)s);
}

void
smtp_cmd_mail(struct smtp_session *s, struct span arg)
{
	const struct config	*cfg = conn_cfg(&s->conn);
	struct smtp_txn		*t;
	struct smtp_mail_params	 params;
	struct smtp_path	 path;
	char			 buf[ADDRESS_MAX * 4 + 1];
	char			 addr[ADDRESS_MAX + 1];

	switch (smtp_parse_mail(arg, &path, &params)) {
	case SMTP_PATH_OK:
		break;
	case SMTP_PATH_BAD_PARAM:
		reply(s, "555 5.5.4 Unsupported or malformed MAIL parameter");
		smtp_error(s);
		return;
	case SMTP_PATH_LOCAL_TOO_LONG:
	case SMTP_PATH_DOMAIN_TOO_LONG:
	case SMTP_PATH_NO_DOMAIN:
		reply(s, "553 5.1.7 Sender address rejected: bad address "
		    "syntax");
		smtp_error(s);
		return;
	default:
		reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		smtp_error(s);
		return;
	}
	if (params.has_size && params.size > cfg->max_message_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (smtp_is_submission(s) && !s->authenticated) {
		/* RFC 6409 4.3 and 8314: submission is for logged-in users. */
		if (!s->conn.tls)
			reply(s, "530 5.7.0 Must issue a STARTTLS command "
			    "first");
		else
			reply(s, "530 5.7.0 Authentication required");
		smtp_error(s);
		return;
	}
	if (s->authenticated && !path.is_null &&
	    !sender_owned(s, path.local, path.domain)) {
		smtp_path_format(&path, addr);
		reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned "
		    "by user %s", addr, s->auth_user);
		log_info("%s sender mismatch user=%s from=<%s>", s->conn.sid,
		    s->auth_user, log_sanitize(addr, buf, sizeof(buf)));
		smtp_error(s);
		return;
	}
	if (path.domain_is_literal) {
		/* Nothing legitimate sends from an address literal; and it
		 * can never be one of our domains. Accept it (RFC 5321
		 * 4.1.3 allows it), it only classifies. */
	}
	t = xcalloc(1, sizeof(*t));
	t->from = path;
	smtp_path_format(&path, t->from_text);
	t->sender_local = !path.is_null &&
	    addr_domain_is_local(&cfg->domains, path.domain);
	s->txn = t;
	smtp_enter_state(s, SMTP_STATE_MAIL);
	log_debug("%s mail from=<%s>", s->conn.sid,
	    log_sanitize(t->from_text, buf, sizeof(buf)));
	reply(s, "250 2.1.0 Ok");
}

struct expand_ctx {
	struct smtp_session	*s;
	struct smtp_txn		*t;
	size_t			 delivered;
	bool			 alias;	/* addresses come from an alias */
	const char		*orig;	/* the recipient as given */
};

static bool
domain_is_local_cb(const char *domain, void *arg)
{
	struct expand_ctx	*x = arg;

	return addr_domain_is_local(&conn_cfg(&x->s->conn)->domains, domain);
}

/* One final address of an alias expansion (or the address itself). */
static void
expand_emit(const char *addr, void *arg)
{
	struct expand_ctx	*x = arg;
	const struct config	*cfg = conn_cfg(&x->s->conn);
	const char		*at = strrchr(addr, '@');
	char			 local[LOCAL_PART_MAX + 1];

	if (at == NULL)
		return;
	if (!addr_domain_is_local(&cfg->domains, at + 1)) {
		add_remote(x->t, addr);
		x->t->forwarded |= x->alias;
		x->delivered++;
		return;
	}
	if (!text_copy_span(local, sizeof(local), addr, (size_t)(at - addr)))
		return;
	if ((x->s->conn.eng->users != NULL &&
	    passwd_file_has_user(x->s->conn.eng->users, addr)) ||
	    strcmp(local, "postmaster") == 0) {
		if (!spool_name_is_safe(local))
			return;
		add_mailbox(x->t, at + 1, local, x->orig);
		x->delivered++;
		return;
	}
	/* A plain unknown recipient is the caller's 550; only a broken alias
	 * is the admin's business. */
	if (x->alias)
		log_warn("%s alias target <%s> is neither a user nor remote",
		    x->s->conn.sid, addr);
}

/* Resolve a local recipient into mailboxes and forwards; false if none.
 * orig names the recipient in delivery log lines (NULL: the address). */
static bool
resolve_local_as(struct smtp_session *s, const char *local,
    const char *domain, const char *orig)
{
	struct expand_ctx	 x = { s, s->txn, 0, false, NULL };
	char			 key[ADDRESS_MAX + 1];
	int			 n;

	if (!addr_lookup_key(local, domain, key))
		return false;
	x.orig = orig != NULL ? orig : key;
	if (s->conn.eng->aliases != NULL && aliases_has(s->conn.eng->aliases,
	    key)) {
		x.alias = true;
		n = aliases_expand(s->conn.eng->aliases, key,
		    domain_is_local_cb,
		    expand_emit, &x);
		if (n < 0)
			log_warn("%s alias expansion of <%s> over its limits",
			    s->conn.sid, key);
		return x.delivered > 0;
	}
	expand_emit(key, &x);
	return x.delivered > 0;
}

static bool
resolve_local(struct smtp_session *s, const char *local, const char *domain)
{
	return resolve_local_as(s, local, domain, NULL);
}

/*
 * RCPT to an SRS address in our domain: a bounce to a forward we made goes
 * to the original sender (a mailbox here, or back out through the queue);
 * a forged, expired or unknown one gets 550. False after the reply.
 */
static bool
srs_rcpt(struct smtp_session *s, const struct smtp_path *path,
    const char *addr)
{
	enum srs_result	 r;
	char		 orig[ADDRESS_MAX + 1], local[LOCAL_PART_MAX + 1];
	char		 b1[ADDRESS_MAX * 4 + 1], b2[ADDRESS_MAX * 4 + 1];
	const char	*at;

	r = srs_reverse_rcpt(conn_cfg(&s->conn), time(NULL), path->local, orig,
	    sizeof(orig));
	if (r == SRS_OK && (at = strrchr(orig, '@')) != NULL) {
		if (!addr_domain_is_local(&conn_cfg(&s->conn)->domains,
		    at + 1)) {
			add_remote(s->txn, orig);
			goto ok;
		}
		if (text_copy_span(local, sizeof(local), orig,
		    (size_t)(at - orig)) &&
		    resolve_local_as(s, local, at + 1, addr))
			goto ok;
	}
	reply(s, "550 5.1.1 <%s>: Recipient address rejected: %s", addr,
	    r == SRS_OK ? "User unknown" : r == SRS_EXPIRED ?
	    "SRS address expired" : "invalid SRS address");
	log_info("%s reject: RCPT from %s[%s]: 550 5.1.1 <%s>: Recipient "
	    "address rejected: SRS %s; from=<%s> to=<%s>", s->conn.sid,
	    s->conn.client_name, s->conn.peer_ip,
	    log_sanitize(addr, b1, sizeof(b1)), srs_result_name(r),
	    log_sanitize(s->txn->from_text, b2, sizeof(b2)), b1);
	smtp_error(s);
	return false;
ok:
	log_info("%s srs to=<%s> orig_to=<%s>", s->conn.sid,
	    log_sanitize(orig, b2, sizeof(b2)),
	    log_sanitize(addr, b1, sizeof(b1)));
	return true;
}

void
smtp_cmd_rcpt(struct smtp_session *s, struct span arg)
{
	const struct config	*cfg = conn_cfg(&s->conn);
	struct smtp_txn		*t = s->txn;
	struct smtp_path	 path;
	struct relay_input	 in;
	struct relay_decision	 d;
	char			 addr[ADDRESS_MAX + 1];
	char			 b1[ADDRESS_MAX * 4 + 1], b2[ADDRESS_MAX * 4 + 1];
	char			 b3[HELO_MAX * 4 + 1], text[256];
	char			 grant_user[ADDRESS_MAX + 1] = "";

	if (t->nrcpts >= cfg->max_recipients) {
		/* RFC 5321 4.5.3.1.10: 452, the client sends the rest in
		 * another transaction. */
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	switch (smtp_parse_rcpt(arg, &path)) {
	case SMTP_PATH_OK:
		break;
	case SMTP_PATH_BAD_PARAM:
		reply(s, "555 5.5.4 Unsupported RCPT parameter");
		smtp_error(s);
		return;
	case SMTP_PATH_LOCAL_TOO_LONG:
	case SMTP_PATH_DOMAIN_TOO_LONG:
	case SMTP_PATH_NO_DOMAIN:
		reply(s, "553 5.1.3 Recipient address rejected: bad address "
		    "syntax");
		smtp_error(s);
		return;
	default:
		reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		smtp_error(s);
		return;
	}
	if (path.is_bare_postmaster) {
		/* RFC 5321 4.1.1.3: <Postmaster> means ours, any domain. */
		text_copy(path.local, "postmaster", sizeof(path.local));
		text_copy(path.domain, cfg->domains.names[0],
		    sizeof(path.domain));
	}
	smtp_path_format(&path, addr);

	memset(&in, 0, sizeof(in));
	in.client_trusted = s->conn.trusted;
	in.client_authenticated = s->authenticated;
	in.sender_null = t->from.is_null;
	in.sender_local = t->sender_local;
	in.rcpt_literal = path.domain_is_literal;
	in.rcpt_local_domain = !path.domain_is_literal &&
	    addr_domain_is_local(&cfg->domains, path.domain);
	in.rcpt_routing = addr_local_has_routing(&path);
	in.reject_forged_local_sender = cfg->reject_forged_local_sender;
	/* The grant lookup reads the store: only when it can matter. */
	if (!in.client_trusted && !in.client_authenticated &&
	    !s->conn.proxy_unknown &&
	    (!in.rcpt_local_domain || in.sender_local || in.rcpt_routing))
		in.client_pop_grant = grants_check(s->conn.eng,
		    conn_sa(&s->conn), grant_user);
	d = relay_decide(&in);

	/* [defense] dnsbl: for relay and local mail alike, so the attempt
	 * is recorded with its envelope; proven clients are never refused. */
	if (s->dnsbl_zone[0] != '\0' && !in.client_trusted &&
	    !in.client_authenticated && !in.client_pop_grant &&
	    !grants_check(s->conn.eng, conn_sa(&s->conn),
	    NULL)) {
		text_printf(text, sizeof(text), "554 5.7.1 Service "
		    "unavailable; client [%s] blocked using %s",
		    s->conn.peer_ip,
		    s->dnsbl_zone);
		reply(s, "%s", text);
		log_info("%s reject: RCPT from %s[%s]: %s; from=<%s> "
		    "to=<%s> dnsbl=%s", s->conn.sid, s->conn.client_name,
		    s->conn.peer_ip,
		    text, log_sanitize(t->from_text, b2, sizeof(b2)),
		    log_sanitize(addr, b1, sizeof(b1)), s->dnsbl_zone);
		smtp_record(s, ATTACK_BLOCKLISTED, addr, text);
		smtp_error(s);
		return;
	}
	switch (d.verdict) {
	case RELAY_DELIVER_LOCAL:
		if (srs_is_srs(path.local, strlen(path.local))) {
			if (!srs_rcpt(s, &path, addr))
				return;
			break;
		}
		if (in.rcpt_routing ||
		    !resolve_local(s, path.local, path.domain)) {
			/* Refused at RCPT, so we never bounce to a forged
			 * sender later (no backscatter). */
			text_printf(text, sizeof(text),
			    "550 5.1.1 Recipient address rejected: "
			    "User unknown");
			reply(s, "550 5.1.1 <%s>: Recipient address rejected: "
			    "User unknown", addr);
			log_sanitize(addr, b1, sizeof(b1));
			log_info("%s reject: RCPT from %s[%s]: 550 5.1.1 <%s>: "
			    "Recipient address rejected: User unknown; "
			    "helo=<%s> from=<%s> to=<%s>", s->conn.sid,
			    s->conn.client_name, s->conn.peer_ip, b1,
			    log_sanitize(s->helo, b3, sizeof(b3)),
			    log_sanitize(t->from_text, b2, sizeof(b2)), b1);
			smtp_error(s);
			return;
		}
		break;
	case RELAY_ALLOW:
		add_remote(t, addr);
		log_info("%s relay ip=%s to=<%s> licence=%s%s%s", s->conn.sid,
		    s->conn.peer_ip, log_sanitize(addr, b1, sizeof(b1)),
		    s->conn.trusted ? "trusted-network" : s->authenticated ?
		    "auth" : "pop-before-smtp",
		    s->authenticated ? " user=" : in.client_pop_grant &&
		    !s->conn.trusted ? " grant-user=" : "",
		    s->authenticated ? s->auth_user : in.client_pop_grant &&
		    !s->conn.trusted ? grant_user : "");
		break;
	case RELAY_DENY:
	case RELAY_DENY_LITERAL:
		text_printf(text, sizeof(text), "554 5.7.1 Relay access denied");
		reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
		goto refused;
	case RELAY_DENY_FORGED_LOCAL:
		text_printf(text, sizeof(text), "550 5.7.1 Sender address "
		    "rejected: local sender from an unauthenticated client");
		reply(s, "550 5.7.1 <%s>: Sender address rejected: local "
		    "sender from an unauthenticated client", t->from_text);
		goto refused;
	}
	t->rcpts = grow(t->rcpts, &t->cap, t->nrcpts, sizeof(*t->rcpts));
	text_copy(t->rcpts[t->nrcpts++].addr, addr, ADDRESS_MAX + 1);
	smtp_enter_state(s, SMTP_STATE_RCPT);
	reply(s, "250 2.1.5 Ok");
	return;

refused:
	/* Postfix's wording first (what the client was told), then the
	 * fields. */
	log_info("%s reject: RCPT from %s[%s]: %s; helo=<%s> from=<%s> "
	    "to=<%s> verdict=%s%s%s", s->conn.sid, s->conn.client_name,
	    s->conn.peer_ip, text, log_sanitize(s->helo, b3, sizeof(b3)),
	    log_sanitize(t->from_text, b1, sizeof(b1)),
	    log_sanitize(addr, b2, sizeof(b2)),
	    relay_verdict_name(d.verdict), d.is_attack ? " attack=" : "",
	    d.is_attack ? attack_kind_name(d.kind) : "");
	if (d.is_attack)
		smtp_record(s, d.kind, addr, text);
	smtp_error(s);
}
