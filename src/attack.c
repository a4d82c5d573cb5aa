/*
 * attack.c: the attack vocabulary, pure: kind names and masks, the
 * incident rule, network and login keys, incident sender lists, the site's
 * text line and JSON form of a record (RFC 3339 times) and the --since time
 * parser. The store backends, the attack log writer, the CLI and the
 * publisher all build on it; it depends on none of them. Every string in a
 * record is attacker-controlled: the formatters escape it, JSON through
 * emit.c's one escaper.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attack.h"
#include "clock.h"
#include "emit.h"
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
attack_incident_joins(int64_t first_us, int64_t last_us, int64_t t_us)
{
	if (t_us >= last_us)
		return (t_us - last_us < ATTACK_INCIDENT_GAP_US);
	if (t_us >= first_us)
		return (true);
	return (first_us - t_us < ATTACK_INCIDENT_GAP_US);
}

const char *
attack_sender(const struct attack_record *rec)
{
	switch (rec->kind) {
	case ATTACK_RELAY:
	case ATTACK_SPOOFED_RELAY:
	case ATTACK_FORGED_LOCAL:
		return (rec->from);
	default:
		return (rec->from[0] != '\0' ? rec->from : NULL);
	}
}

bool
attack_senders_add(char *list, size_t listlen, const char *sender)
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
	if (count >= ATTACK_SENDERS_MAX)
		return (false);
	if (have + (have > 0 ? 1 : 0) + nlen >= listlen)
		return (false);
	if (have > 0)
		list[have++] = ',';
	memcpy(list + have, norm, nlen + 1);
	return (true);
}

bool
attack_network_key(const char *ip, struct attack_netkey *key_out)
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
attack_login_key(const char *ip, char *out, size_t outlen)
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
attack_network_format(const struct attack_netkey *key, char *out,
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
attack_network_of(const char *ip, char *out, size_t outlen)
{
	struct attack_netkey	key;

	return (attack_network_key(ip, &key) &&
	    attack_network_format(&key, out, outlen));
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

/* str as a JSON string through the site's one escaper (emit.c). */
static void
outbuf_json(struct outbuf *ob, const char *str)
{
	struct emit	e;

	emit_init(&e);
	emit_json(&e, str);
	outbuf_add(ob, e.buf, e.len);
	emit_free(&e);
}

bool
attack_json_escape(const char *s, char *out, size_t outlen)
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
attack_format_time(int64_t t_us, bool with_us, char *out, size_t outlen)
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
		if (!text_printf(buf, sizeof(buf), "%s%s", ATTACK_MASK,
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
attack_format_line(const struct attack_record *rec, bool mask, char *out,
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
		outbuf_field(&ob, "user", mask ? ATTACK_MASK : rec->user,
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
attack_format_json(const struct attack_record *rec, bool mask, char *out,
    size_t outlen)
{
	struct outbuf	ob;
	char		stamp[48], port[16];

	outbuf_init(&ob, out, outlen);
	if (!attack_format_time(rec->time_us, true, stamp, sizeof(stamp)))
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
	    mask && rec->user[0] != '\0' ? ATTACK_MASK : rec->user);
	if (rec->node[0] != '\0')
		outbuf_json_key(&ob, "node", rec->node);
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


bool
attack_parse_time(const char *s, int64_t now_us, int64_t *us_out)
{
	struct tm	 tm, chk;
	const char	*p;
	time_t		 t;
	uint64_t	 dur;
	int64_t		 frac = 0, scale = 100000;
	int		 hh, mm, ss, oh, om, sign;
	bool		 local;

	/* A duration back from now; anything beyond a few centuries is a
	 * typo. */
	if (clock_parse_duration(s, true, 400ULL * 366 * 86400, &dur)) {
		*us_out = now_us - (int64_t)dur * 1000000;
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

