/*
 * import_parse.c: the pure half of `pillory import` (cmd_import.c). One
 * log line in, at most one event out. Runs in the CLI over logs whose text
 * is partly attacker-controlled (HELO names, addresses): every field is
 * copied with a bound and a field that does not fit makes the line
 * uninteresting, never a cut value.
 *
 * Line shapes: RFC 3164 syslog time ("Mmm dd hh:mm:ss", optional
 * fraction, no year), RFC 3339 time (RFC 5424 / rsyslog's
 * RSYSLOG_FileFormat, Postfix postlog), then "HOST IDENT[PID]: TEXT"; or a
 * `journalctl -o json` object (MESSAGE, SYSLOG_IDENTIFIER, _PID,
 * _HOSTNAME, __REALTIME_TIMESTAMP), read by a small bounded JSON reader
 * (RFC 8259) that keeps only string members.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "import_parse.h"
#include "policy_parse.h"
#include "text.h"

/* One span of the input. */
struct ispan {
	const char	*p;
	size_t		 len;
};

/* The parts of a log line every shape has. */
struct import_line {
	int64_t		 time_us;
	char		 host[DOMAIN_MAX + 1];
	char		 ident[64];
	char		 pid[16];
	char		 msg[IMPORT_MESSAGE_MAX];
	size_t		 msglen;
};

bool
import_format_from_name(const char *name, enum import_format *out)
{
	static const struct {
		const char		*name;
		enum import_format	 fmt;
	} names[] = {
		{ "auto", IMPORT_FORMAT_AUTO },
		{ "postfix", IMPORT_FORMAT_POSTFIX },
		{ "dovecot", IMPORT_FORMAT_DOVECOT },
		{ "journal-json", IMPORT_FORMAT_JOURNAL },
	};
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, name) == 0) {
			*out = names[i].fmt;
			return true;
		}
	return false;
}

static bool
digits(const char *p, size_t n, int *out)
{
	size_t	i;
	int	v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

/* "Mmm dd hh:mm:ss[.frac] " at *pp (RFC 3164 4.1.2). */
static bool
time_classic(const char **pp, const char *end, int64_t now_us,
    int64_t *us_out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char	*p = *pp;
	struct tm	 tm, nowtm;
	time_t		 t, now = (time_t)(now_us / 1000000);
	int		 mon, day, h, m, s, frac = 0, fdig = 0;

	if (end - p < 15)
		return false;
	for (mon = 0; mon < 12; mon++)
		if (memcmp(p, months + mon * 3, 3) == 0)
			break;
	if (mon == 12 || p[3] != ' ')
		return false;
	day = 0;
	if (p[4] == ' ') {
		if (!digits(p + 5, 1, &day))
			return false;
	} else if (!digits(p + 4, 2, &day))
		return false;
	if (p[6] != ' ' || !digits(p + 7, 2, &h) || p[9] != ':' ||
	    !digits(p + 10, 2, &m) || p[12] != ':' || !digits(p + 13, 2, &s))
		return false;
	if (day < 1 || day > 31 || h > 23 || m > 59 || s > 60)
		return false;
	p += 15;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, fdig++)
			if (fdig < 6)
				frac = frac * 10 + (*p - '0');
		if (fdig == 0)
			return false;
		for (; fdig < 6; fdig++)
			frac *= 10;
	}
	if (p >= end || *p != ' ')
		return false;
	localtime_r(&now, &nowtm);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = nowtm.tm_year;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		return false;
	if ((int64_t)t * 1000000 > now_us + IMPORT_FUTURE_SLACK_US) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = nowtm.tm_year - 1;
		tm.tm_mon = mon;
		tm.tm_mday = day;
		tm.tm_hour = h;
		tm.tm_min = m;
		tm.tm_sec = s;
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			return false;
	}
	*us_out = (int64_t)t * 1000000 + frac;
	*pp = p + 1;
	return true;
}

/* "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm) " (RFC 3339 5.6). */
static bool
time_rfc3339(const char **pp, const char *end, int64_t *us_out)
{
	const char	*p = *pp;
	struct tm	 tm;
	int		 y, mo, d, h, mi, s, frac = 0, fdig = 0, oh, om, sign;
	int64_t		 t;

	if (end - p < 20)
		return false;
	if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) ||
	    p[7] != '-' || !digits(p + 8, 2, &d) || (p[10] != 'T' &&
	    p[10] != 't') || !digits(p + 11, 2, &h) || p[13] != ':' ||
	    !digits(p + 14, 2, &mi) || p[16] != ':' || !digits(p + 17, 2, &s))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || s > 60)
		return false;
	p += 19;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, fdig++)
			if (fdig < 6)
				frac = frac * 10 + (*p - '0');
		if (fdig == 0)
			return false;
		for (; fdig < 6; fdig++)
			frac *= 10;
	}
	if (p >= end)
		return false;
	if (*p == 'Z' || *p == 'z') {
		sign = 0;
		oh = om = 0;
		p++;
	} else if ((*p == '+' || *p == '-') && end - p >= 6) {
		sign = *p == '+' ? 1 : -1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		p += 6;
	} else
		return false;
	if (p >= end || *p != ' ')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = (int64_t)timegm(&tm);
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*us_out = t * 1000000 + frac;
	*pp = p + 1;
	return true;
}

/* "HOST IDENT[PID]: TEXT" or "HOST IDENT: TEXT" after the time. */
static bool
syslog_rest(const char *p, const char *end, struct import_line *il)
{
	const char	*sp, *colon, *br;

	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    !text_copy_span(il->host, sizeof(il->host), p, (size_t)(sp - p)))
		return false;
	p = sp + 1;
	/* The tag ends at ": " (RFC 3164 4.1.3); Postfix never puts a
	 * space in its ident. */
	for (colon = p; colon < end && *colon != ' ' && *colon != ':';
	    colon++)
		;
	if (colon + 1 >= end || *colon != ':' || colon[1] != ' ')
		return false;
	br = memchr(p, '[', (size_t)(colon - p));
	if (br != NULL) {
		if (colon[-1] != ']' || !text_copy_span(il->pid,
		    sizeof(il->pid), br + 1, (size_t)(colon - 1 - br - 1)))
			return false;
	} else
		br = colon;
	if (!text_copy_span(il->ident, sizeof(il->ident), p,
	    (size_t)(br - p)))
		return false;
	p = colon + 2;
	if ((size_t)(end - p) >= sizeof(il->msg))
		return false;
	memcpy(il->msg, p, (size_t)(end - p));
	il->msglen = (size_t)(end - p);
	il->msg[il->msglen] = '\0';
	return true;
}

/*
 * Dovecot's own log_path lines have no host and no tag after the time:
 * "Mar  8 06:40:00 pop3-login: Info: Login: ...".
 */
static bool
dovecot_own(const char *p, const char *end, struct import_line *il)
{
	size_t	len = (size_t)(end - p);

	if (len < 12 || (memcmp(p, "pop3-login: ", 12) != 0 &&
	    memcmp(p, "imap-login: ", 12) != 0) || len >= sizeof(il->msg))
		return false;
	memset(il->host, 0, sizeof(il->host));
	memset(il->pid, 0, sizeof(il->pid));
	text_copy(il->ident, "dovecot", sizeof(il->ident));
	memcpy(il->msg, p, len);
	il->msg[len] = '\0';
	il->msglen = len;
	return true;
}

/* A JSON string at *pp into out (size bytes); false if malformed or too
 * long. \u escapes become UTF-8; surrogate pairs are joined. */
static bool
json_string(const char **pp, const char *end, char *out, size_t size,
    size_t *len_out)
{
	const char	*p = *pp;
	size_t		 n = 0;
	bool		 fits = true;

	if (p >= end || *p != '"')
		return false;
	for (p++; p < end && *p != '"'; p++) {
		unsigned	c = (unsigned char)*p;
		char		enc[4];
		size_t		elen = 1;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++p >= end)
				return false;
			switch (*p) {
			case '"': case '\\': case '/':
				enc[0] = *p;
				break;
			case 'b': enc[0] = '\b'; break;
			case 'f': enc[0] = '\f'; break;
			case 'n': enc[0] = '\n'; break;
			case 'r': enc[0] = '\r'; break;
			case 't': enc[0] = '\t'; break;
			case 'u': {
				unsigned	u = 0, lo = 0;
				int		i;

				if (end - p < 5)
					return false;
				for (i = 1; i <= 4; i++) {
					if (!isxdigit((unsigned char)p[i]))
						return false;
					u = u * 16 + (unsigned)(isdigit(
					    (unsigned char)p[i]) ? p[i] - '0' :
					    (tolower((unsigned char)p[i]) -
					    'a' + 10));
				}
				p += 4;
				if (u >= 0xd800 && u < 0xdc00 && end - p >= 7 &&
				    p[1] == '\\' && p[2] == 'u') {
					for (i = 3; i <= 6; i++) {
						if (!isxdigit(
						    (unsigned char)p[i]))
							return false;
						lo = lo * 16 + (unsigned)(
						    isdigit((unsigned char)p[i]) ?
						    p[i] - '0' : (tolower(
						    (unsigned char)p[i]) - 'a' +
						    10));
					}
					if (lo >= 0xdc00 && lo < 0xe000) {
						u = 0x10000 + ((u - 0xd800) <<
						    10) + (lo - 0xdc00);
						p += 6;
					}
				}
				if (u >= 0xd800 && u < 0xe000)
					u = 0xfffd;
				if (u < 0x80)
					enc[0] = (char)u;
				else if (u < 0x800) {
					enc[0] = (char)(0xc0 | (u >> 6));
					enc[1] = (char)(0x80 | (u & 0x3f));
					elen = 2;
				} else if (u < 0x10000) {
					enc[0] = (char)(0xe0 | (u >> 12));
					enc[1] = (char)(0x80 | ((u >> 6) &
					    0x3f));
					enc[2] = (char)(0x80 | (u & 0x3f));
					elen = 3;
				} else {
					enc[0] = (char)(0xf0 | (u >> 18));
					enc[1] = (char)(0x80 | ((u >> 12) &
					    0x3f));
					enc[2] = (char)(0x80 | ((u >> 6) &
					    0x3f));
					enc[3] = (char)(0x80 | (u & 0x3f));
					elen = 4;
				}
				break;
			}
			default:
				return false;
			}
		} else
			enc[0] = (char)c;
		if (out == NULL || n + elen >= size)
			fits = false;
		else {
			memcpy(out + n, enc, elen);
			n += elen;
		}
	}
	if (p >= end)
		return false;
	*pp = p + 1;
	if (out != NULL && size > 0)
		out[n < size ? n : size - 1] = '\0';
	if (len_out != NULL)
		*len_out = n;
	return fits || out == NULL;
}

static const char *
json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

/* Skip any JSON value that is not a string we keep: numbers, literals,
 * arrays and objects (nesting bounded). */
static bool
json_skip(const char **pp, const char *end)
{
	const char	*p = *pp;
	int		 depth = 0;

	do {
		p = json_ws(p, end);
		if (p >= end)
			return false;
		if (*p == '"') {
			if (!json_string(&p, end, NULL, 0, NULL))
				return false;
			continue;
		}
		if (*p == '[' || *p == '{') {
			if (++depth > 16)
				return false;
			p++;
			continue;
		}
		if (*p == ']' || *p == '}') {
			if (--depth < 0)
				return false;
			p++;
			continue;
		}
		if (*p == ',' || *p == ':') {
			if (depth == 0)
				return false;
			p++;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '+' &&
		    *p != '.')
			return false;
		while (p < end && (isalnum((unsigned char)*p) || *p == '-' ||
		    *p == '+' || *p == '.'))
			p++;
	} while (depth > 0);
	*pp = p;
	return true;
}

/* One `journalctl -o json` object into il. */
static bool
journal_line(const char *p, const char *end, struct import_line *il)
{
	char		 key[64], val[IMPORT_MESSAGE_MAX];
	size_t		 vlen;
	bool		 have_msg = false, have_time = false;

	p = json_ws(p, end);
	if (p >= end || *p != '{')
		return false;
	p = json_ws(p + 1, end);
	if (p < end && *p == '}')
		return false;
	for (;;) {
		const char *kp = p;

		if (!json_string(&p, end, key, sizeof(key), NULL)) {
			/* A key too long for us is one we do not want. */
			p = kp;
			if (!json_string(&p, end, NULL, 0, NULL))
				return false;
			key[0] = '\0';
		}
		p = json_ws(p, end);
		if (p >= end || *p != ':')
			return false;
		p = json_ws(p + 1, end);
		if (p < end && *p == '"') {
			const char *vp = p;

			if (!json_string(&p, end, val, sizeof(val), &vlen)) {
				p = vp;
				if (!json_string(&p, end, NULL, 0, NULL))
					return false;
				/* Too long: a message we do not take. */
				if (strcmp(key, "MESSAGE") == 0)
					return false;
				key[0] = '\0';
			}
			if (strcmp(key, "MESSAGE") == 0) {
				if (memchr(val, '\0', vlen) != NULL)
					return false;
				memcpy(il->msg, val, vlen + 1);
				il->msglen = vlen;
				have_msg = true;
			} else if (strcmp(key, "SYSLOG_IDENTIFIER") == 0)
				text_copy(il->ident, val, sizeof(il->ident));
			else if (strcmp(key, "_PID") == 0)
				text_copy(il->pid, val, sizeof(il->pid));
			else if (strcmp(key, "_HOSTNAME") == 0)
				text_copy(il->host, val, sizeof(il->host));
			else if (strcmp(key, "__REALTIME_TIMESTAMP") == 0) {
				int64_t	t = 0;
				size_t	i;

				for (i = 0; i < vlen && i < 18; i++) {
					if (val[i] < '0' || val[i] > '9')
						break;
					t = t * 10 + (val[i] - '0');
				}
				if (i == vlen && vlen > 0) {
					il->time_us = t;
					have_time = true;
				}
			}
		} else if (!json_skip(&p, end))
			return false;
		p = json_ws(p, end);
		if (p < end && *p == ',') {
			p = json_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			break;
		return false;
	}
	return have_msg && have_time;
}

/* Find needle in the message; NULL when absent. */
static const char *
msg_find(const struct import_line *il, const char *needle)
{
	return memmem(il->msg, il->msglen, needle, strlen(needle));
}

/* Copy what sits between open and the first close after it. */
static bool
between(const char *from, const char *end, const char *open,
    const char *close, char *out, size_t size)
{
	const char	*a, *b;

	if ((a = memmem(from, (size_t)(end - from), open, strlen(open))) ==
	    NULL)
		return false;
	a += strlen(open);
	if ((b = memmem(a, (size_t)(end - a), close, strlen(close))) == NULL)
		return false;
	return text_copy_span(out, size, a, (size_t)(b - a));
}

/* "NAME[IP]" at p: name and address (an IPv6 address has no brackets
 * inside). Returns the byte after ']' or NULL. */
static const char *
name_addr(const char *p, const char *end, char *name, size_t nsize,
    char *ip, size_t isize)
{
	const char	*lb, *rb;

	if ((lb = memchr(p, '[', (size_t)(end - p))) == NULL ||
	    (rb = memchr(lb, ']', (size_t)(end - lb))) == NULL)
		return NULL;
	if (memchr(p, ' ', (size_t)(lb - p)) != NULL)
		return NULL;
	if (!text_copy_span(name, nsize, p, (size_t)(lb - p)) ||
	    !text_copy_span(ip, isize, lb + 1, (size_t)(rb - lb - 1)) ||
	    *ip == '\0')
		return NULL;
	/* Postfix 3.x may log the port after the address. */
	if (strncmp(ip, "IPv6:", 5) == 0)
		memmove(ip, ip + 5, strlen(ip + 5) + 1);
	return rb + 1;
}

/* The last path component of the ident: "postfix/smtpd" -> "smtpd". */
static const char *
ident_service(const char *ident)
{
	const char	*slash = strrchr(ident, '/');

	return slash ? slash + 1 : ident;
}

static bool
is_postfix(const struct import_line *il)
{
	return strncmp(il->ident, "postfix", 7) == 0;
}

static enum import_event_type
postfix_smtpd(const struct import_line *il, const struct domain_list *local,
    struct import_event *ev)
{
	const char	*end = il->msg + il->msglen, *p, *semi;
	struct attack_record *rec = &ev->rec;
	char		 dom[DOMAIN_MAX + 2];

	if ((p = msg_find(il, "reject: RCPT from ")) != NULL) {
		p += strlen("reject: RCPT from ");
		if ((p = name_addr(p, end, rec->client_name,
		    sizeof(rec->client_name), rec->client_ip,
		    sizeof(rec->client_ip))) == NULL)
			return IMPORT_EVENT_NONE;
		while (p < end && *p != ' ')
			p++;	/* ":port:" when smtpd_client_port_logging */
		if (p >= end)
			return IMPORT_EVENT_NONE;
		p++;
		if ((semi = memmem(p, (size_t)(end - p), "; from=<", 8)) ==
		    NULL)
			return IMPORT_EVENT_NONE;
		if (memmem(p, (size_t)(semi - p), "Relay access denied",
		    19) == NULL)
			return IMPORT_EVENT_NONE;
		if (!text_copy_span(rec->reply, sizeof(rec->reply), p,
		    (size_t)(semi - p)) &&
		    !text_copy_span(rec->reply, sizeof(rec->reply), p, 9))
			return IMPORT_EVENT_NONE;
		if (!between(semi, end, "from=<", "> to=<", rec->from,
		    sizeof(rec->from)))
			return IMPORT_EVENT_NONE;
		p = memmem(semi, (size_t)(end - semi), "> to=<", 6);
		if (!between(p, end, "to=<", ">", rec->to, sizeof(rec->to)))
			return IMPORT_EVENT_NONE;
		/* helo=<...> is the last field: up to the final '>'. */
		if ((p = memmem(p, (size_t)(end - p), " helo=<", 7)) != NULL &&
		    end[-1] == '>')
			text_copy_span(rec->helo, sizeof(rec->helo), p + 7,
			    (size_t)(end - 1 - (p + 7)));
		rec->kind = local != NULL && policy_sender_domain(rec->from,
		    dom, sizeof(dom)) && addr_domain_is_local(local, dom) ?
		    ATTACK_SPOOFED_RELAY : ATTACK_RELAY;
		return IMPORT_EVENT_RECORD;
	}
	if (strncmp(il->msg, "warning: ", 9) == 0 &&
	    (p = msg_find(il, " authentication failed")) != NULL &&
	    msg_find(il, ": SASL ") != NULL) {
		if (name_addr(il->msg + 9, end, rec->client_name,
		    sizeof(rec->client_name), rec->client_ip,
		    sizeof(rec->client_ip)) == NULL)
			return IMPORT_EVENT_NONE;
		if ((p = msg_find(il, "sasl_username=")) != NULL) {
			const char *q = p + 14;

			while (q < end && *q != ',' && *q != ' ')
				q++;
			text_copy_span(rec->user, sizeof(rec->user), p + 14,
			    (size_t)(q - p - 14));
		}
		p = msg_find(il, ": SASL ") + 2;
		semi = memchr(p, ':', (size_t)(end - p));
		text_copy_span(rec->reply, sizeof(rec->reply), p,
		    (size_t)((semi ? semi : end) - p));
		rec->kind = ATTACK_AUTH_FAIL;
		return IMPORT_EVENT_RECORD;
	}
	return IMPORT_EVENT_NONE;
}

static enum import_event_type
postfix_postscreen(const struct import_line *il, struct import_event *ev)
{
	static const char *const events[] = {
		"PREGREET ", "BARE NEWLINE ", "COMMAND PIPELINING ",
	};
	const char	*end = il->msg + il->msglen, *p, *rb;
	struct attack_record *rec = &ev->rec;
	size_t		 i, n;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		n = strlen(events[i]);
		if (il->msglen > n && memcmp(il->msg, events[i], n) == 0)
			break;
	}
	if (i == sizeof(events) / sizeof(events[0]))
		return IMPORT_EVENT_NONE;
	if ((p = msg_find(il, " from [")) == NULL ||
	    (rb = memchr(p + 7, ']', (size_t)(end - p - 7))) == NULL ||
	    !text_copy_span(rec->client_ip, sizeof(rec->client_ip), p + 7,
	    (size_t)(rb - p - 7)) || *rec->client_ip == '\0')
		return IMPORT_EVENT_NONE;
	/* postscreen does not look names up. */
	text_copy(rec->client_name, "unknown", sizeof(rec->client_name));
	text_printf(rec->reply, sizeof(rec->reply), "postscreen %.*s",
	    (int)(n - 1), events[i]);
	rec->kind = ATTACK_PROTOCOL;
	return IMPORT_EVENT_RECORD;
}

/* Dovecot "pop3-login: [Info: ]Login: user=<u>, method=M, rip=IP, ...". */
static enum import_event_type
dovecot_login(const struct import_line *il, struct import_event *ev)
{
	const char	*end = il->msg + il->msglen, *p, *q;

	if (msg_find(il, "pop3-login: ") == NULL &&
	    msg_find(il, "imap-login: ") == NULL)
		return IMPORT_EVENT_NONE;
	if ((p = msg_find(il, "Login: user=<")) == NULL)
		return IMPORT_EVENT_NONE;
	if (!between(p, end, "user=<", ">", ev->grant_user,
	    sizeof(ev->grant_user)))
		return IMPORT_EVENT_NONE;
	if ((p = msg_find(il, ", rip=")) == NULL)
		return IMPORT_EVENT_NONE;
	p += 6;
	for (q = p; q < end && *q != ',' && *q != ' '; q++)
		;
	if (q == p || !text_copy_span(ev->grant_ip, sizeof(ev->grant_ip), p,
	    (size_t)(q - p)))
		return IMPORT_EVENT_NONE;
	return IMPORT_EVENT_GRANT;
}

enum import_event_type
import_parse_line(const char *line, size_t len, enum import_format fmt,
    int64_t now_us, const struct domain_list *local, struct import_event *ev)
{
	struct import_line	 il;
	const char		*p = line, *end = line + len;
	enum import_event_type	 t = IMPORT_EVENT_NONE;

	memset(ev, 0, sizeof(*ev));
	memset(&il, 0, sizeof(il));
	ev->type = IMPORT_EVENT_BAD;
	if (len > IMPORT_LINE_MAX || memchr(line, '\0', len) != NULL)
		return ev->type;
	if (len > 0 && line[len - 1] == '\r')
		end--;
	if (fmt == IMPORT_FORMAT_JOURNAL || (fmt == IMPORT_FORMAT_AUTO &&
	    json_ws(p, end) < end && *json_ws(p, end) == '{')) {
		if (!journal_line(p, end, &il))
			return ev->type;
	} else {
		if (!time_rfc3339(&p, end, &il.time_us) &&
		    !time_classic(&p, end, now_us, &il.time_us))
			return ev->type;
		if (!dovecot_own(p, end, &il) && !syslog_rest(p, end, &il))
			return ev->type;
	}
	ev->type = IMPORT_EVENT_NONE;
	ev->time_us = il.time_us;
	ev->rec.time_us = il.time_us;
	if (fmt != IMPORT_FORMAT_DOVECOT && is_postfix(&il)) {
		const char *svc = ident_service(il.ident);

		if (strcmp(svc, "smtpd") == 0)
			t = postfix_smtpd(&il, local, ev);
		else if (strcmp(svc, "postscreen") == 0)
			t = postfix_postscreen(&il, ev);
	} else if (fmt != IMPORT_FORMAT_POSTFIX && !is_postfix(&il))
		t = dovecot_login(&il, ev);
	if (t == IMPORT_EVENT_NONE) {
		memset(ev, 0, sizeof(*ev));
		return ev->type = IMPORT_EVENT_NONE;
	}
	ev->rec.time_us = il.time_us;
	text_printf(ev->key, sizeof(ev->key), "%lld %s %s[%s]: %s",
	    (long long)il.time_us, il.host, il.ident, il.pid, il.msg);
	return ev->type = t;
}
