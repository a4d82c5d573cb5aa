/*
 * envelope.c: parse and format the queue entry record (envelope.h) and
 * the retry schedule. Pure: no I/O. The text is ours (written by spool.c
 * and queue.c), but a damaged disk or a hand edit can put anything in it,
 * so the parser checks everything and never trusts a length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

#define ENVELOPE_MAGIC	"pillory-envelope 1"

static const char *const envelope_state_names[ENVELOPE_STATE_COUNT] = {
	"pending", "sent", "failed", "bounced",
};

/* Message-level keys that may appear once. */
enum envelope_key {
	KEY_ID, KEY_ARRIVAL, KEY_SENDER, KEY_SIZE, KEY_ATTEMPTS, KEY_NEXT_TRY,
	KEY_LAST_ERROR, KEY_WARNED, KEY_ACTIVE, KEY_RCPT, KEY_RCPT_STATE,
	KEY_RCPT_STATUS, KEY_RCPT_REMOTE, KEY_RCPT_DIAG, KEY_COUNT
};

static const char *const envelope_keys[KEY_COUNT] = {
	"id", "arrival", "sender", "size", "attempts", "next-try",
	"last-error", "warned", "active", "rcpt", "rcpt-state", "rcpt-status",
	"rcpt-remote", "rcpt-diag",
};

void
envelope_init(struct envelope *env, const char *id)
{
	memset(env, 0, sizeof(*env));
	text_copy(env->id, id, sizeof(env->id));
}

void
envelope_free(struct envelope *env)
{
	size_t	i;

	for (i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].addr);
		free(env->rcpts[i].remote);
		free(env->rcpts[i].diag);
	}
	free(env->rcpts);
	free(env->last_error);
	memset(env, 0, sizeof(*env));
}

struct envelope_rcpt *
envelope_add_rcpt(struct envelope *env, const char *addr)
{
	struct envelope_rcpt	*r;

	if (env->nrcpts == env->cap) {
		env->cap = env->cap ? env->cap * 2 : 4;
		env->rcpts = xreallocarray(env->rcpts, env->cap, sizeof(*r));
	}
	r = &env->rcpts[env->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrndup(addr, strlen(addr));
	return r;
}

void
envelope_set_text(char **field, const char *text)
{
	size_t	len;

	free(*field);
	*field = NULL;
	if (text == NULL || *text == '\0')
		return;
	len = strnlen(text, ENVELOPE_TEXT_MAX - 1);
	/* Do not cut a UTF-8 sequence in two. */
	if (text[len] != '\0')
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
	*field = xstrndup(text, len);
}

size_t
envelope_count(const struct envelope *env, enum envelope_rcpt_state st)
{
	size_t	i, n = 0;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == st)
			n++;
	return n;
}

const char *
envelope_state_name(enum envelope_rcpt_state st)
{
	if ((unsigned)st >= ENVELOPE_STATE_COUNT)
		FATAL("bad envelope recipient state");
	return envelope_state_names[st];
}

bool
envelope_id_is_valid(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (i >= ENVELOPE_ID_MAX - 1 ||
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z')))
			return false;
	}
	return i > 0;
}

uint64_t
envelope_retry_delay(const uint64_t *intervals, size_t n, unsigned attempts)
{
	uint64_t	d;

	if (n == 0)
		return ENVELOPE_RETRY_DEFAULT;
	d = intervals[attempts == 0 ? 0 :
	    (attempts - 1 < n ? attempts - 1 : n - 1)];
	return d == 0 ? 1 : d;
}

/* Plain decimal, no sign, no leading junk, at most 18 digits. */
static bool
parse_number(const char *p, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 18)
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* RFC 3463: class "." 1*3digit "." 1*3digit, class 2, 4 or 5. */
static bool
parse_status(const char *p, size_t len)
{
	size_t	i = 0, part, digits;

	if (len < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') ||
	    p[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
		if (digits == 0 || digits > 3)
			return false;
		if (part == 0) {
			if (i >= len || p[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

static int
lookup_key(const char *p, size_t len)
{
	int	k;

	for (k = 0; k < KEY_COUNT; k++)
		if (strlen(envelope_keys[k]) == len &&
		    memcmp(envelope_keys[k], p, len) == 0)
			return k;
	return -1;
}

int
envelope_parse(const char *buf, size_t len, struct envelope *env_out,
    char *err, size_t errlen)
{
	struct envelope		*env = env_out;
	struct envelope_rcpt	*rcpt = NULL;
	bool			 seen[KEY_COUNT] = { false };
	size_t			 pos = 0, lineno = 0, i;
	const char		*why = NULL;
	uint64_t		 num;

	memset(env, 0, sizeof(*env));
	if (len > ENVELOPE_MAX) {
		text_printf(err, errlen, "line 0: larger than %u octets",
		    (unsigned)ENVELOPE_MAX);
		return -1;
	}
	for (pos = 0; pos < len; pos++) {
		unsigned char c = (unsigned char)buf[pos];

		/* envelope_format() never writes one (not even TAB) */
		if ((c < 0x20 && c != '\n') || c == 0x7f) {
			text_printf(err, errlen, "line 0: control character "
			    "(NUL, CR, ...) in the file");
			return -1;
		}
	}
	pos = 0;
	while (pos < len) {
		const char	*line = buf + pos, *nl, *sp, *val;
		size_t		 llen, klen, vlen;
		int		 k;

		lineno++;
		if ((nl = memchr(line, '\n', len - pos)) == NULL) {
			why = "last line has no line end (cut short?)";
			goto fail;
		}
		llen = (size_t)(nl - line);
		pos += llen + 1;
		if (lineno == 1) {
			if (llen != strlen(ENVELOPE_MAGIC) ||
			    memcmp(line, ENVELOPE_MAGIC, llen) != 0) {
				why = "not a pillory-envelope 1 file";
				goto fail;
			}
			continue;
		}
		sp = memchr(line, ' ', llen);
		klen = sp ? (size_t)(sp - line) : llen;
		val = sp ? sp + 1 : line + llen;
		vlen = sp ? llen - klen - 1 : 0;
		if ((k = lookup_key(line, klen)) == -1) {
			why = "unknown key";
			goto fail;
		}
		if (k < KEY_RCPT && seen[k]) {
			why = "key given twice";
			goto fail;
		}
		seen[k] = true;
		if (k > KEY_RCPT && rcpt == NULL) {
			why = "recipient attribute before any rcpt";
			goto fail;
		}
		switch (k) {
		case KEY_ID:
			if (!text_copy_span(env->id, sizeof(env->id), val,
			    vlen) || !envelope_id_is_valid(env->id)) {
				why = "bad id";
				goto fail;
			}
			break;
		case KEY_ARRIVAL:
		case KEY_SIZE:
		case KEY_ATTEMPTS:
		case KEY_NEXT_TRY:
			if (!parse_number(val, vlen, &num) ||
			    (k == KEY_ATTEMPTS && num > 1000000)) {
				why = "bad number";
				goto fail;
			}
			if (k == KEY_ARRIVAL)
				env->arrival = (int64_t)num;
			else if (k == KEY_SIZE)
				env->size = num;
			else if (k == KEY_ATTEMPTS)
				env->attempts = (unsigned)num;
			else
				env->next_try = (int64_t)num;
			break;
		case KEY_SENDER:
			if (!text_copy_span(env->sender, sizeof(env->sender),
			    val, vlen)) {
				why = "sender address too long";
				goto fail;
			}
			break;
		case KEY_WARNED:
		case KEY_ACTIVE:
			if (vlen != 1 || (val[0] != '0' && val[0] != '1')) {
				why = "expected 0 or 1";
				goto fail;
			}
			if (k == KEY_WARNED)
				env->warned = val[0] == '1';
			else
				env->active = val[0] == '1';
			break;
		case KEY_LAST_ERROR:
		case KEY_RCPT_REMOTE:
		case KEY_RCPT_DIAG:
			if (vlen >= ENVELOPE_TEXT_MAX) {
				why = "text too long";
				goto fail;
			}
			if (k == KEY_LAST_ERROR)
				env->last_error = xstrndup(val, vlen);
			else if (k == KEY_RCPT_REMOTE) {
				free(rcpt->remote);
				rcpt->remote = xstrndup(val, vlen);
			} else {
				free(rcpt->diag);
				rcpt->diag = xstrndup(val, vlen);
			}
			break;
		case KEY_RCPT:
			if (vlen == 0 || vlen > ADDRESS_MAX) {
				why = "bad recipient address";
				goto fail;
			}
			if (env->nrcpts >= ENVELOPE_RCPTS_MAX) {
				why = "too many recipients";
				goto fail;
			}
			rcpt = envelope_add_rcpt(env, "");
			free(rcpt->addr);
			rcpt->addr = xstrndup(val, vlen);
			break;
		case KEY_RCPT_STATE:
			for (i = 0; i < ENVELOPE_STATE_COUNT; i++)
				if (text_span_ieq(val, vlen,
				    envelope_state_names[i]))
					break;
			if (i == ENVELOPE_STATE_COUNT) {
				why = "unknown recipient state";
				goto fail;
			}
			rcpt->state = (enum envelope_rcpt_state)i;
			break;
		case KEY_RCPT_STATUS:
			if (!parse_status(val, vlen)) {
				why = "bad status code";
				goto fail;
			}
			text_copy_span(rcpt->status, sizeof(rcpt->status), val,
			    vlen);
			break;
		default:
			FATAL("envelope key table");
		}
	}
	if (lineno == 0) {
		why = "empty file";
		goto fail;
	}
	if (!seen[KEY_ID] || !seen[KEY_ARRIVAL] || !seen[KEY_SENDER] ||
	    env->nrcpts == 0) {
		why = "id, arrival, sender or rcpt missing";
		goto fail;
	}
	return 0;
fail:
	text_printf(err, errlen, "line %zu: %s", lineno, why);
	return -1;
}

/* Append "key value\n" with control characters of value shown as '?'. */
static void
put(char **buf, size_t *len, size_t *cap, const char *key, const char *val)
{
	size_t	klen = strlen(key), vlen = strlen(val), i, need;
	char	*p;

	need = *len + klen + 1 + vlen + 2;
	if (need > *cap) {
		while (need > *cap)
			*cap = *cap ? *cap * 2 : 1024;
		*buf = xreallocarray(*buf, *cap, 1);
	}
	p = *buf + *len;
	memcpy(p, key, klen);
	p[klen] = ' ';
	p += klen + 1;
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)val[i];

		p[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	p[vlen] = '\n';
	p[vlen + 1] = '\0';
	*len += klen + 1 + vlen + 1;
}

static void
put_number(char **buf, size_t *len, size_t *cap, const char *key,
    uint64_t v)
{
	char	num[32];

	text_printf(num, sizeof(num), "%llu", (unsigned long long)v);
	put(buf, len, cap, key, num);
}

char *
envelope_format(const struct envelope *env, size_t *len_out)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, i;

	put(&buf, &len, &cap, "pillory-envelope", "1");
	put(&buf, &len, &cap, "id", env->id);
	put_number(&buf, &len, &cap, "arrival", (uint64_t)env->arrival);
	put(&buf, &len, &cap, "sender", env->sender);
	if (env->size)
		put_number(&buf, &len, &cap, "size", env->size);
	if (env->attempts)
		put_number(&buf, &len, &cap, "attempts", env->attempts);
	if (env->next_try > 0)
		put_number(&buf, &len, &cap, "next-try",
		    (uint64_t)env->next_try);
	if (env->last_error != NULL)
		put(&buf, &len, &cap, "last-error", env->last_error);
	if (env->warned)
		put(&buf, &len, &cap, "warned", "1");
	if (env->active)
		put(&buf, &len, &cap, "active", "1");
	for (i = 0; i < env->nrcpts; i++) {
		const struct envelope_rcpt *r = &env->rcpts[i];

		put(&buf, &len, &cap, "rcpt", r->addr);
		if (r->state != ENVELOPE_PENDING)
			put(&buf, &len, &cap, "rcpt-state",
			    envelope_state_name(r->state));
		if (r->status[0] != '\0')
			put(&buf, &len, &cap, "rcpt-status", r->status);
		if (r->remote != NULL)
			put(&buf, &len, &cap, "rcpt-remote", r->remote);
		if (r->diag != NULL)
			put(&buf, &len, &cap, "rcpt-diag", r->diag);
	}
	*len_out = len;
	return buf;
}
