/*
 * attacklog.c: the attack log engine and the record vocabulary around it.
 *
 * Runs in the unprivileged engine process. Sessions on the event loop call
 * attacklog_record(), which copies the record into a bounded in-memory
 * queue under a mutex and signals a condition variable; it never touches
 * the disk. One writer thread takes everything queued at once and writes
 * it with store_insert_batch(), one transaction per batch, so a flood of
 * thousands of attempts per second costs one commit per batch and a crash
 * loses at most what was queued. The same thread purges records older than
 * `retention` at most once an hour.
 *
 *	event loop			writer thread
 *	attacklog_record() --lock--> pending[]  --swap--> batch[] -> store
 *
 * The rest of the file is pure: kind names, incident grouping, the site's
 * text line and JSON form of a record (RFC 3339 times), and the --since
 * time parser. Every string in a record is attacker-controlled; the
 * formatters escape it.
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacklog.h"
#include "attacklog_hold.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "text.h"

static const char *const attack_kind_names[ATTACK_KIND_COUNT] = {
	[ATTACK_RELAY] = "relay",
	[ATTACK_SPOOFED_RELAY] = "spoofed-relay",
	[ATTACK_FORGED_LOCAL] = "forged-local",
	[ATTACK_AUTH_FAIL] = "auth-fail",
	[ATTACK_PROTOCOL] = "protocol",
	[ATTACK_BANNED] = "banned",
	[ATTACK_BLOCKLISTED] = "blocklisted",
};

const char *
attack_kind_name(enum attack_kind kind)
{
	if ((int)kind < 0 || kind >= ATTACK_KIND_COUNT)
		return ("unknown");
	return (attack_kind_names[kind]);
}

int
attack_kind_from_name(const char *name)
{
	int	i;

	for (i = 0; i < ATTACK_KIND_COUNT; i++) {
		if (strcmp(attack_kind_names[i], name) == 0)
			return (i);
	}
	return (-1);
}

bool
attack_kinds_mask(char *const *names, size_t n, uint32_t *mask_out,
    const char **bad_out)
{
	size_t	i;
	int	k;

	*mask_out = 0;
	for (i = 0; i < n; i++) {
		if ((k = attack_kind_from_name(names[i])) < 0) {
			*bad_out = names[i];
			return (false);
		}
		*mask_out |= ATTACK_KIND_BIT(k);
	}
	return (true);
}

bool
attack_kind_is_targeted(enum attack_kind kind)
{
	return (kind == ATTACK_SPOOFED_RELAY || kind == ATTACK_FORGED_LOCAL);
}

/* Kinds whose record is a MAIL FROM / RCPT TO pair: the seed's format. */
static bool
attack_kind_is_envelope(enum attack_kind kind)
{
	return (kind == ATTACK_RELAY || kind == ATTACK_SPOOFED_RELAY ||
	    kind == ATTACK_FORGED_LOCAL);
}

bool
attacklog_incident_joins(int64_t first_us, int64_t last_us, int64_t t_us)
{
	if (t_us >= last_us)
		return (t_us - last_us < ATTACKLOG_INCIDENT_GAP_US);
	if (t_us >= first_us)
		return (true);
	return (first_us - t_us < ATTACKLOG_INCIDENT_GAP_US);
}

bool
attacklog_senders_add(char *list, size_t listlen, const char *sender)
{
	char		 norm[ADDRESS_MAX + 1];
	const char	*p, *comma;
	size_t		 have, nlen, count, i;

	if (sender[0] == '\0')
		sender = "<>";
	if (!text_copy(norm, sender, sizeof(norm)))
		return (false);
	for (i = 0; norm[i] != '\0'; i++) {
		if (norm[i] == ',')
			norm[i] = ';';
	}
	nlen = strlen(norm);
	have = strnlen(list, listlen);
	if (have >= listlen)
		return (false);

	count = 0;
	for (p = list; have > 0; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = list + have;
		count++;
		if ((size_t)(comma - p) == nlen && memcmp(p, norm, nlen) == 0)
			return (false);
		if (*comma == '\0')
			break;
	}
	if (count >= ATTACKLOG_SENDERS_MAX)
		return (false);
	if (have + (have > 0 ? 1 : 0) + nlen >= listlen)
		return (false);
	if (have > 0)
		list[have++] = ',';
	memcpy(list + have, norm, nlen + 1);
	return (true);
}

bool
attacklog_network_key(const char *ip, struct attacklog_netkey *key_out)
{
	char		 buf[IPADDR_TEXT_MAX];
	size_t		 len;
	char		*pct;
	struct in_addr	 a4;
	struct in6_addr	 a6;

	memset(key_out, 0, sizeof(*key_out));
	if (ip[0] == '[') {
		if (!text_copy(buf, ip + 1, sizeof(buf)))
			return (false);
		len = strlen(buf);
		if (len == 0 || buf[len - 1] != ']')
			return (false);
		buf[len - 1] = '\0';
	} else if (!text_copy(buf, ip, sizeof(buf)))
		return (false);
	if ((pct = strchr(buf, '%')) != NULL)
		*pct = '\0';

	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memcpy(key_out->addr, &a4, 3);
		return (true);
	}
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return (false);
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(key_out->addr, &a6.s6_addr[12], 3);
		return (true);
	}
	key_out->v6 = 1;
	memcpy(key_out->addr, a6.s6_addr, 6);
	return (true);
}

bool
attacklog_login_key(const char *ip, char *out, size_t outlen)
{
	/* Room for the closing ']' of a bracketed address too. */
	char		 buf[IPADDR_TEXT_MAX + 2], text[INET6_ADDRSTRLEN];
	size_t		 len;
	char		*pct;
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (ip[0] == '[') {
		if (!text_copy(buf, ip + 1, sizeof(buf)))
			return (false);
		len = strlen(buf);
		if (len == 0 || buf[len - 1] != ']')
			return (false);
		buf[len - 1] = '\0';
	} else if (!text_copy(buf, ip, sizeof(buf)))
		return (false);
	if ((pct = strchr(buf, '%')) != NULL)
		*pct = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return (inet_ntop(AF_INET, &a4, text, sizeof(text)) != NULL &&
		    text_copy(out, text, outlen));
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return (false);
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return (inet_ntop(AF_INET, &a6.s6_addr[12], text,
		    sizeof(text)) != NULL && text_copy(out, text, outlen));
	/* One site, one /64 (RFC 4291 2.5.1 interface identifiers). */
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)) == NULL)
		return (false);
	return (text_printf(out, outlen, "%s/64", text));
}

bool
attacklog_network_format(const struct attacklog_netkey *key, char *out,
    size_t outlen)
{
	struct in6_addr	a6;
	char		text[INET6_ADDRSTRLEN];

	if (!key->v6)
		return (text_printf(out, outlen, "%u.%u.%u.0/24",
		    key->addr[0], key->addr[1], key->addr[2]));
	memset(&a6, 0, sizeof(a6));
	memcpy(a6.s6_addr, key->addr, 6);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)) == NULL)
		return (false);
	return (text_printf(out, outlen, "%s/48", text));
}

bool
attacklog_network_of(const char *ip, char *out, size_t outlen)
{
	struct attacklog_netkey	key;

	return (attacklog_network_key(ip, &key) &&
	    attacklog_network_format(&key, out, outlen));
}

/*
 * A bounded output buffer: appends never overflow, the first one that does
 * not fit marks the buffer failed and later appends do nothing.
 */
struct outbuf {
	char	*p;
	size_t	 cap;
	size_t	 len;
	bool	 failed;
};

static void
outbuf_init(struct outbuf *ob, char *p, size_t cap)
{
	ob->p = p;
	ob->cap = cap;
	ob->len = 0;
	ob->failed = (cap == 0);
	if (cap > 0)
		p[0] = '\0';
}

static void
outbuf_add(struct outbuf *ob, const char *s, size_t n)
{
	if (ob->failed)
		return;
	if (n >= ob->cap - ob->len) {
		ob->failed = true;
		return;
	}
	memcpy(ob->p + ob->len, s, n);
	ob->len += n;
	ob->p[ob->len] = '\0';
}

static void
outbuf_str(struct outbuf *ob, const char *s)
{
	outbuf_add(ob, s, strlen(s));
}

static void
outbuf_hex(struct outbuf *ob, const char *prefix, unsigned char c)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 b[8];
	size_t			 n;

	n = strlen(prefix);
	memcpy(b, prefix, n);
	b[n++] = hex[c >> 4];
	b[n++] = hex[c & 0xf];
	outbuf_add(ob, b, n);
}

/* Text for a terminal: control characters, DEL and '\' become \xHH. */
static void
outbuf_text(struct outbuf *ob, const char *s, size_t n)
{
	size_t	i, run;

	for (i = 0; i < n; i = run) {
		for (run = i; run < n; run++) {
			unsigned char c = (unsigned char)s[run];

			if (c < 0x20 || c == 0x7f || c == '\\')
				break;
		}
		outbuf_add(ob, s + i, run - i);
		if (run < n)
			outbuf_hex(ob, "\\x", (unsigned char)s[run++]);
	}
}

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t
utf8_valid_len(const unsigned char *s, size_t n)
{
	uint32_t	cp;
	size_t		len, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return (0);
	if (len > n)
		return (0);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates, beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);
	return (len);
}

static void
outbuf_json(struct outbuf *ob, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 n = strlen(str), i, run, vl = 0;

	outbuf_add(ob, "\"", 1);
	for (i = 0; i < n; i = run) {
		for (run = i; run < n; run += vl) {
			unsigned char c = s[run];

			if (c < 0x20 || c == '"' || c == '\\' || c == '<' ||
			    c == '>' || c == '&' || c == 0x7f)
				break;
			if ((vl = utf8_valid_len(s + run, n - run)) == 0)
				break;
		}
		outbuf_add(ob, str + i, run - i);
		if (run >= n)
			break;
		if (s[run] == '"')
			outbuf_add(ob, "\\\"", 2);
		else if (s[run] == '\\')
			outbuf_add(ob, "\\\\", 2);
		else if (s[run] < 0x80)
			outbuf_hex(ob, "\\u00", s[run]);
		else
			outbuf_str(ob, "\\ufffd");
		run++;
	}
	outbuf_add(ob, "\"", 1);
}

bool
attacklog_json_escape(const char *s, char *out, size_t outlen)
{
	struct outbuf	ob;

	outbuf_init(&ob, out, outlen);
	outbuf_json(&ob, s);
	return (!ob.failed);
}

static void
time_split(int64_t t_us, time_t *sec_out, long *usec_out)
{
	int64_t	sec = t_us / 1000000, usec = t_us % 1000000;

	if (usec < 0) {
		usec += 1000000;
		sec--;
	}
	*sec_out = (time_t)sec;
	*usec_out = (long)usec;
}

bool
attacklog_format_time(int64_t t_us, bool with_us, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		sec;
	long		usec, off;
	char		base[32], frac[16];

	time_split(t_us, &sec, &usec);
	if (localtime_r(&sec, &tm) == NULL)
		return (false);
	if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return (false);
	frac[0] = '\0';
	if (with_us && !text_printf(frac, sizeof(frac), ".%06ld", usec))
		return (false);
	off = tm.tm_gmtoff / 60;
	return (text_printf(out, outlen, "%s%s%c%02ld:%02ld", base, frac,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60));
}

/* The client's name, "unknown" when the record has none. */
static const char *
client_name(const struct attack_record *rec)
{
	return (rec->client_name[0] != '\0' ? rec->client_name : "unknown");
}

/* The recipient with its local part (up to the last '@') masked. */
static void
outbuf_rcpt(struct outbuf *ob, const char *to, bool mask, bool json)
{
	char		 buf[ADDRESS_MAX + 16];
	const char	*at;

	if (mask && to[0] != '\0') {
		at = strrchr(to, '@');
		if (!text_printf(buf, sizeof(buf), "%s%s", ATTACKLOG_MASK,
		    at != NULL ? at : "")) {
			ob->failed = true;
			return;
		}
		to = buf;
	}
	if (json)
		outbuf_json(ob, to);
	else
		outbuf_text(ob, to, strlen(to));
}

static void
outbuf_field(struct outbuf *ob, const char *key, const char *val,
    const char *open, const char *close)
{
	outbuf_str(ob, " ");
	outbuf_str(ob, key);
	outbuf_str(ob, open);
	outbuf_text(ob, val, strlen(val));
	outbuf_str(ob, close);
}

bool
attacklog_format_line(const struct attack_record *rec, bool mask, char *out,
    size_t outlen)
{
	struct outbuf	ob;
	struct tm	tm;
	time_t		sec;
	long		usec;
	char		stamp[32];

	outbuf_init(&ob, out, outlen);
	time_split(rec->time_us, &sec, &usec);
	if (localtime_r(&sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
		return (false);
	outbuf_str(&ob, stamp);
	outbuf_str(&ob, "  ");
	outbuf_text(&ob, client_name(rec), strlen(client_name(rec)));
	outbuf_str(&ob, " [");
	outbuf_text(&ob, rec->client_ip, strlen(rec->client_ip));
	outbuf_str(&ob, "]");

	if (attack_kind_is_envelope(rec->kind)) {
		outbuf_field(&ob, "from", rec->from, "=<", ">");
		outbuf_str(&ob, " to=<");
		outbuf_rcpt(&ob, rec->to, mask, false);
		outbuf_str(&ob, ">");
		if (rec->withdrawn)
			outbuf_str(&ob, " withdrawn");
		return (!ob.failed);
	}

	outbuf_str(&ob, " ");
	outbuf_str(&ob, attack_kind_name(rec->kind));
	if (rec->helo[0] != '\0')
		outbuf_field(&ob, "helo", rec->helo, "=<", ">");
	if (rec->from[0] != '\0')
		outbuf_field(&ob, "from", rec->from, "=<", ">");
	if (rec->to[0] != '\0') {
		outbuf_str(&ob, " to=<");
		outbuf_rcpt(&ob, rec->to, mask, false);
		outbuf_str(&ob, ">");
	}
	if (rec->user[0] != '\0')
		outbuf_field(&ob, "user", mask ? ATTACKLOG_MASK : rec->user,
		    "=<", ">");
	if (rec->reply[0] != '\0')
		outbuf_field(&ob, "reply", rec->reply, "=\"", "\"");
	if (rec->withdrawn)
		outbuf_str(&ob, " withdrawn");
	return (!ob.failed);
}

static void
outbuf_json_key(struct outbuf *ob, const char *key, const char *val)
{
	outbuf_str(ob, ",\"");
	outbuf_str(ob, key);
	outbuf_str(ob, "\":");
	outbuf_json(ob, val);
}

bool
attacklog_format_json(const struct attack_record *rec, bool mask, char *out,
    size_t outlen)
{
	struct outbuf	ob;
	char		stamp[48], port[16];

	outbuf_init(&ob, out, outlen);
	if (!attacklog_format_time(rec->time_us, true, stamp, sizeof(stamp)))
		return (false);
	outbuf_str(&ob, "{\"time\":");
	outbuf_json(&ob, stamp);
	outbuf_json_key(&ob, "kind", attack_kind_name(rec->kind));
	outbuf_json_key(&ob, "client_ip", rec->client_ip);
	outbuf_json_key(&ob, "client_name", client_name(rec));
	outbuf_json_key(&ob, "helo", rec->helo);
	outbuf_json_key(&ob, "from", rec->from);
	outbuf_str(&ob, ",\"to\":");
	outbuf_rcpt(&ob, rec->to, mask, true);
	(void)text_printf(port, sizeof(port), "%d", rec->port);
	outbuf_str(&ob, ",\"port\":");
	outbuf_str(&ob, port);
	outbuf_json_key(&ob, "session", rec->session);
	outbuf_json_key(&ob, "reply", rec->reply);
	outbuf_json_key(&ob, "user",
	    mask && rec->user[0] != '\0' ? ATTACKLOG_MASK : rec->user);
	if (rec->withdrawn)
		outbuf_str(&ob, ",\"withdrawn\":true");
	outbuf_str(&ob, "}");
	return (!ob.failed);
}

/* Exactly n decimal digits at s into *out. */
static bool
parse_digits(const char *s, int n, int *out)
{
	int	i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (false);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (true);
}

/* "YYYY-MM-DD" at s into tm (date fields only), range-checked. */
static bool
parse_date(const char *s, struct tm *tm)
{
	int	y, mo, d;

	if (!parse_digits(s, 4, &y) || s[4] != '-' ||
	    !parse_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !parse_digits(s + 8, 2, &d))
		return (false);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return (false);
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	return (true);
}

static bool
parse_duration(const char *s, int64_t *us_out)
{
	char		*end;
	unsigned long long n;
	int64_t		 unit;

	if (s[0] < '0' || s[0] > '9')
		return (false);
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end == s || end[0] == '\0' || end[1] != '\0')
		return (false);
	switch (*end) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return (false);
	}
	/* Anything beyond a few centuries is a typo. */
	if (n > (unsigned long long)(400LL * 366 * 86400) / (uint64_t)unit)
		return (false);
	*us_out = (int64_t)n * unit * 1000000;
	return (true);
}

bool
attacklog_parse_time(const char *s, int64_t now_us, int64_t *us_out)
{
	struct tm	 tm, chk;
	const char	*p;
	time_t		 t;
	int64_t		 dur, frac = 0, scale = 100000;
	int		 hh, mm, ss, oh, om, sign;
	bool		 local;

	if (parse_duration(s, &dur)) {
		*us_out = now_us - dur;
		return (true);
	}
	if (!parse_date(s, &tm))
		return (false);
	p = s + 10;
	if (*p == '\0') {
		/* A date alone: local midnight. */
		tm.tm_isdst = -1;
		chk = tm;
		if ((t = mktime(&tm)) == (time_t)-1 ||
		    tm.tm_mday != chk.tm_mday)
			return (false);
		*us_out = (int64_t)t * 1000000;
		return (true);
	}
	/* RFC 3339 5.6: date-time = full-date "T" full-time; 'T', 't' or
	 * (as the RFC allows readers) a space. */
	if (*p != 'T' && *p != 't' && *p != ' ')
		return (false);
	p++;
	if (!parse_digits(p, 2, &hh) || p[2] != ':' ||
	    !parse_digits(p + 3, 2, &mm) || p[5] != ':' ||
	    !parse_digits(p + 6, 2, &ss))
		return (false);
	if (hh > 23 || mm > 59 || ss > 60)
		return (false);
	p += 8;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return (false);
		for (; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	local = false;
	oh = om = 0;
	sign = 1;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = (*p == '-') ? -1 : 1;
		if (!parse_digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !parse_digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return (false);
		p += 6;
	} else
		local = true;
	if (*p != '\0')
		return (false);

	chk = tm;
	if (local) {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	} else
		t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != chk.tm_mday)
		return (false);
	t -= (time_t)sign * (oh * 3600 + om * 60);
	*us_out = (int64_t)t * 1000000 + frac;
	return (true);
}

/*
 * The engine.
 */

struct attacklog_login {
	char		key[IPADDR_TEXT_MAX + 4];	/* attacklog_login_key() */
	int64_t		time_us;
};

struct attacklog {
	struct store		*st;
	uint64_t		 retention_us;	/* 0: keep forever */
	int64_t			 withdraw_window_us;	/* writer only */
	int64_t			 next_window_us;	/* under mu */
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	/* Under mu: */
	struct attack_record	*pending;
	size_t			 npending;
	size_t			 cappending;
	struct attacklog_login	*logins;	/* ATTACKLOG_LOGINS_MAX */
	size_t			 nlogins;
	bool			 stopping;
	struct attacklog_counters c;
	void			(*on_write)(void *);
	void			*on_write_arg;
	/* Writer thread only: */
	struct attack_record	*batch;
	size_t			 capbatch;
	struct attacklog_login	*login_batch;	/* ATTACKLOG_LOGINS_MAX */
	int64_t			 next_purge_mono_us;
	uint64_t		 dropped_logged;
	int64_t			 last_drop_log_mono_us;
};

/* Give up on a batch after this many failed attempts. */
#define ATTACKLOG_WRITE_TRIES		3
/* Log queue drops at most this often. */
#define ATTACKLOG_DROP_LOG_US		(60LL * 1000000)
/* The writer gives back a batch array larger than this after use. */
#define ATTACKLOG_BATCH_KEEP		1024

static int64_t
mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static int64_t
real_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

bool
attacklog_db_path(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen)
{
	if (cfg->attacklog_db != NULL && cfg->attacklog_db[0] != '\0') {
		if (text_copy(out, cfg->attacklog_db, outlen))
			return (true);
		snprintf(err, errlen, "[attacklog] db: path too long");
		return (false);
	}
	if (cfg->state_dir == NULL || cfg->state_dir[0] == '\0') {
		snprintf(err, errlen, "attack log: neither [attacklog] db nor "
		    "[server] state_dir is set");
		return (false);
	}
	if (text_printf(out, outlen, "%s/attacklog.db", cfg->state_dir))
		return (true);
	snprintf(err, errlen, "[server] state_dir: path too long");
	return (false);
}

struct store *
attacklog_store_open(const struct config *cfg, bool readonly, char *err,
    size_t errlen)
{
	char		 path[CONFIG_PATH_MAX + 32];
	const char	*backend = "sqlite";

	if (!attacklog_db_path(cfg, path, sizeof(path), err, errlen))
		return (NULL);
	/* A URL names the shared PostgreSQL store of several MX hosts. */
	if (strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0)
		backend = "postgresql";
	return (store_open(backend, path, readonly, err, errlen));
}

static void
attacklog_lock(struct attacklog *al)
{
	if (pthread_mutex_lock(&al->mu) != 0)
		FATAL("pthread_mutex_lock");
}

static void
attacklog_unlock(struct attacklog *al)
{
	if (pthread_mutex_unlock(&al->mu) != 0)
		FATAL("pthread_mutex_unlock");
}

/* Every string field of a queued record ends inside its array. */
#define FIELD_TERMINATE(r, f) ((r)->f[sizeof((r)->f) - 1] = '\0')

bool
attacklog_record(struct attacklog *al, const struct attack_record *rec)
{
	struct attack_record	*r;
	size_t			 ncap;
	bool			 high;

	if (al == NULL)
		return false;
	attacklog_lock(al);
	if (al->npending >= ATTACKLOG_QUEUE_MAX || al->stopping) {
		al->c.dropped++;
		attacklog_unlock(al);
		return true;
	}
	if (al->npending == al->cappending) {
		ncap = al->cappending == 0 ? 64 : al->cappending * 2;
		if (ncap > ATTACKLOG_QUEUE_MAX)
			ncap = ATTACKLOG_QUEUE_MAX;
		r = reallocarray(al->pending, ncap, sizeof(*r));
		if (r == NULL)
			FATAL("out of memory");
		al->pending = r;
		al->cappending = ncap;
	}
	r = &al->pending[al->npending++];
	*r = *rec;
	FIELD_TERMINATE(r, client_ip);
	FIELD_TERMINATE(r, client_name);
	FIELD_TERMINATE(r, helo);
	FIELD_TERMINATE(r, from);
	FIELD_TERMINATE(r, to);
	FIELD_TERMINATE(r, user);
	FIELD_TERMINATE(r, session);
	FIELD_TERMINATE(r, reply);
	al->c.recorded++;
	if (al->npending == 1)
		pthread_cond_signal(&al->cv);
	high = al->npending >= ATTACKLOG_BACKLOG_HIGH;
	attacklog_unlock(al);
	return high;
}

void
attacklog_login(struct attacklog *al, const char *client_ip, int64_t time_us)
{
	struct attacklog_login	l;

	if (al == NULL || !attacklog_login_key(client_ip, l.key,
	    sizeof(l.key)))
		return;
	l.time_us = time_us;
	attacklog_lock(al);
	if (al->nlogins >= ATTACKLOG_LOGINS_MAX || al->stopping) {
		al->c.dropped++;
		attacklog_unlock(al);
		return;
	}
	al->logins[al->nlogins++] = l;
	pthread_cond_signal(&al->cv);
	attacklog_unlock(al);
}

void
attacklog_on_write(struct attacklog *al, void (*cb)(void *), void *arg)
{
	attacklog_lock(al);
	al->on_write = cb;
	al->on_write_arg = arg;
	attacklog_unlock(al);
}

void
attacklog_reload(struct attacklog *al, const struct config *cfg)
{
	if (al == NULL)
		return;
	attacklog_lock(al);
	al->next_window_us = (int64_t)cfg->publish_withdraw_window * 1000000;
	attacklog_unlock(al);
}

void
attacklog_counters(struct attacklog *al, struct attacklog_counters *out)
{
	attacklog_lock(al);
	*out = al->c;
	attacklog_unlock(al);
}

/* Writer thread: one batch to the store, retried a few times. */
static void
attacklog_write(struct attacklog *al, size_t n)
{
	void	(*cb)(void *);
	void	*cbarg;
	int	 try;

	for (try = 1; try <= ATTACKLOG_WRITE_TRIES; try++) {
		if (store_insert_batch(al->st, al->batch, n) == 0) {
			attacklog_lock(al);
			al->c.written += n;
			cb = al->on_write;
			cbarg = al->on_write_arg;
			attacklog_unlock(al);
			if (cb != NULL)
				cb(cbarg);
			return;
		}
		log_err("attack log: writing %zu records (try %d of %d): %s",
		    n, try, ATTACKLOG_WRITE_TRIES, store_errmsg(al->st));
		if (try < ATTACKLOG_WRITE_TRIES) {
			struct timespec ts = { 0, 200 * 1000 * 1000 * try };

			nanosleep(&ts, NULL);
		}
	}
	log_err("attack log: %zu records lost", n);
	attacklog_lock(al);
	al->c.dropped += n;
	attacklog_unlock(al);
}

/* Writer thread: the logins taken with the last batch. */
static void
attacklog_write_logins(struct attacklog *al, size_t n)
{
	uint64_t	withdrawn, total = 0;
	size_t		i;
	bool		changed = false;
	void		(*cb)(void *);
	void		*cbarg;

	for (i = 0; i < n; i++) {
		withdrawn = 0;
		if (store_login(al->st, al->login_batch[i].key,
		    al->login_batch[i].time_us, al->withdraw_window_us,
		    &withdrawn) != 0) {
			log_err("attack log: login %s: %s",
			    al->login_batch[i].key, store_errmsg(al->st));
			continue;
		}
		changed = true;
		total += withdrawn;
	}
	if (total > 0)
		log_info("attack log: %llu records withdrawn: their clients "
		    "logged in", (unsigned long long)total);
	if (!changed || total == 0)
		return;
	attacklog_lock(al);
	cb = al->on_write;
	cbarg = al->on_write_arg;
	attacklog_unlock(al);
	if (cb != NULL)
		cb(cbarg);
}

/* Writer thread: purge by retention when it is due. */
static void
attacklog_purge_due(struct attacklog *al)
{
	uint64_t	deleted = 0;
	int64_t		now = mono_us();

	if (al->retention_us == 0 || now < al->next_purge_mono_us)
		return;
	al->next_purge_mono_us = now + ATTACKLOG_PURGE_INTERVAL_US;
	if (store_purge(al->st, real_us() - (int64_t)al->retention_us,
	    &deleted) != 0) {
		log_err("attack log: purge: %s", store_errmsg(al->st));
		return;
	}
	if (deleted > 0)
		log_info("attack log: purged %llu records older than %llu s",
		    (unsigned long long)deleted,
		    (unsigned long long)(al->retention_us / 1000000));
	attacklog_lock(al);
	al->c.purged += deleted;
	attacklog_unlock(al);
}

/* Writer thread: report drops, at most once a minute (or when stopping). */
static void
attacklog_log_drops(struct attacklog *al, uint64_t dropped, bool force)
{
	int64_t	now = mono_us();

	if (dropped == al->dropped_logged)
		return;
	if (!force && now - al->last_drop_log_mono_us < ATTACKLOG_DROP_LOG_US)
		return;
	log_warn("attack log: queue full, %llu records dropped "
	    "(%llu in total)",
	    (unsigned long long)(dropped - al->dropped_logged),
	    (unsigned long long)dropped);
	al->dropped_logged = dropped;
	al->last_drop_log_mono_us = now;
}

/* A batch waits at most this long for company, and no longer than it
 * takes to gather this many records. */
#define ATTACKLOG_LINGER_US	20000
#define ATTACKLOG_LINGER_MAX	4096

static void *
attacklog_writer(void *arg)
{
	struct attacklog	*al = arg;
	struct attack_record	*swap;
	struct timespec		 ts;
	size_t			 n, cap, nlogins;
	uint64_t		 dropped;
	int64_t			 wake;
	bool			 stopping;

	attacklog_lock(al);
	for (;;) {
		while (al->npending == 0 && al->nlogins == 0 &&
		    !al->stopping) {
			if (al->retention_us != 0 &&
			    mono_us() >= al->next_purge_mono_us)
				break;
			wake = al->retention_us != 0 ?
			    al->next_purge_mono_us : mono_us() + 3600000000LL;
			ts.tv_sec = (time_t)(wake / 1000000);
			ts.tv_nsec = (long)(wake % 1000000) * 1000;
			(void)pthread_cond_timedwait(&al->cv, &al->mu, &ts);
		}
		/*
		 * Linger a moment so that records arriving one by one share a
		 * transaction: a transaction per record costs more than the
		 * record, and wakes this thread for every refused RCPT.
		 */
		wake = mono_us() + ATTACKLOG_LINGER_US;
		while (al->npending > 0 && al->npending < ATTACKLOG_LINGER_MAX &&
		    !al->stopping && mono_us() < wake) {
			ts.tv_sec = (time_t)(wake / 1000000);
			ts.tv_nsec = (long)(wake % 1000000) * 1000;
			(void)pthread_cond_timedwait(&al->cv, &al->mu, &ts);
		}
		/* Take everything queued: swap the arrays. */
		swap = al->batch;
		cap = al->capbatch;
		al->batch = al->pending;
		al->capbatch = al->cappending;
		n = al->npending;
		al->pending = swap;
		al->cappending = cap;
		al->npending = 0;
		{
			struct attacklog_login *lswap = al->login_batch;

			al->login_batch = al->logins;
			al->logins = lswap;
		}
		nlogins = al->nlogins;
		al->nlogins = 0;
		if (al->withdraw_window_us != al->next_window_us) {
			al->withdraw_window_us = al->next_window_us;
			store_set_withdraw_window(al->st,
			    al->withdraw_window_us);
		}
		stopping = al->stopping;
		dropped = al->c.dropped;
		attacklog_unlock(al);

		if (n > 0)
			attacklog_write(al, n);
		/* After the batch: a login withdraws records just written. */
		if (nlogins > 0)
			attacklog_write_logins(al, nlogins);
		if (al->capbatch > ATTACKLOG_BATCH_KEEP) {
			free(al->batch);
			al->batch = NULL;
			al->capbatch = 0;
		}
		if (!stopping)
			attacklog_purge_due(al);
		attacklog_log_drops(al, dropped, stopping);

		attacklog_lock(al);
		if (stopping && al->npending == 0 && al->nlogins == 0)
			break;
	}
	attacklog_unlock(al);
	return (NULL);
}

struct attacklog *
attacklog_open(const struct config *cfg, char *err, size_t errlen)
{
	struct attacklog	*al;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	int			 rc;

	if ((al = calloc(1, sizeof(*al))) == NULL) {
		snprintf(err, errlen, "attack log: out of memory");
		return (NULL);
	}
	if ((al->st = attacklog_store_open(cfg, false, err, errlen)) == NULL)
		goto fail;
	al->retention_us = cfg->retention * 1000000;
	al->withdraw_window_us = (int64_t)cfg->publish_withdraw_window *
	    1000000;
	al->next_window_us = al->withdraw_window_us;
	store_set_withdraw_window(al->st, al->withdraw_window_us);
	al->logins = calloc(ATTACKLOG_LOGINS_MAX, sizeof(*al->logins));
	al->login_batch = calloc(ATTACKLOG_LOGINS_MAX,
	    sizeof(*al->login_batch));
	if (al->logins == NULL || al->login_batch == NULL)
		FATAL("out of memory");
	al->next_purge_mono_us = mono_us();
	if (pthread_mutex_init(&al->mu, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&al->cv, &ca) != 0)
		FATAL("pthread init");
	pthread_condattr_destroy(&ca);
	/* Signals are the event loop's business: the writer blocks them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&al->thread, NULL, attacklog_writer, al);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "attack log: writer thread: %s",
		    strerror(rc));
		pthread_cond_destroy(&al->cv);
		pthread_mutex_destroy(&al->mu);
		goto fail;
	}
	return (al);
fail:
	store_close(al->st);
	free(al->logins);
	free(al->login_batch);
	free(al);
	return (NULL);
}

void
attacklog_close(struct attacklog *al)
{
	if (al == NULL)
		return;
	/* Records waiting for a client's name go now, under "unknown". */
	attacklog_hold_close(al);
	attacklog_lock(al);
	al->stopping = true;
	pthread_cond_signal(&al->cv);
	attacklog_unlock(al);
	if (pthread_join(al->thread, NULL) != 0)
		FATAL("pthread_join");
	store_close(al->st);
	pthread_cond_destroy(&al->cv);
	pthread_mutex_destroy(&al->mu);
	free(al->pending);
	free(al->batch);
	free(al->logins);
	free(al->login_batch);
	free(al);
}
