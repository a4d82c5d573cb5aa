/*
 * submit_parse.c: the request lines of the local submission socket
 * (submit_parse.h). Pure; the input comes from any local user.
 */
#include <string.h>

#include "submit_parse.h"
#include "text.h"

static const char *const status_names[SUBMIT_STATUS_COUNT] = {
	[SUBMIT_OK] = "ok",
	[SUBMIT_USAGE] = "usage",
	[SUBMIT_DATAERR] = "dataerr",
	[SUBMIT_NOUSER] = "nouser",
	[SUBMIT_NOPERM] = "noperm",
	[SUBMIT_TEMPFAIL] = "tempfail",
};

/* "<addr>" into out; the null path "<>" gives "". */
static int
parse_addr(const char *p, size_t len, char *out)
{
	size_t	i;

	if (len < 2 || p[0] != '<' || p[len - 1] != '>')
		return -1;
	p++;
	len -= 2;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>')
			return -1;
	}
	return text_copy_span(out, ADDRESS_MAX + 1, p, len) ? 0 : -1;
}

int
submit_parse_line(const char *line, size_t len, struct submit_line *out)
{
	size_t		i;
	uint64_t	n = 0;

	memset(out, 0, sizeof(*out));
	if (len == 6 && memcmp(line, "RELOAD", 6) == 0) {
		out->verb = SUBMIT_RELOAD;
		return 0;
	}
	if (len < 6 || line[4] != ' ')
		return -1;
	if (memcmp(line, "MAIL", 4) == 0) {
		out->verb = SUBMIT_MAIL;
		return parse_addr(line + 5, len - 5, out->addr);
	}
	if (memcmp(line, "RCPT", 4) == 0) {
		out->verb = SUBMIT_RCPT;
		if (parse_addr(line + 5, len - 5, out->addr) == -1 ||
		    *out->addr == '\0')
			return -1;
		return 0;
	}
	if (memcmp(line, "DATA", 4) == 0) {
		out->verb = SUBMIT_DATA;
		if (len - 5 > 19)
			return -1;
		for (i = 5; i < len; i++) {
			if (line[i] < '0' || line[i] > '9')
				return -1;
			n = n * 10 + (uint64_t)(line[i] - '0');
		}
		out->size = n;
		return 0;
	}
	return -1;
}

const char *
submit_status_name(enum submit_status st)
{
	if ((int)st < 0 || st >= SUBMIT_STATUS_COUNT)
		return "tempfail";
	return status_names[st];
}

int
submit_status_parse(const char *line, size_t len)
{
	size_t	i, n;

	for (i = 0; i < SUBMIT_STATUS_COUNT; i++) {
		n = strlen(status_names[i]);
		if (len >= n && memcmp(line, status_names[i], n) == 0 &&
		    (len == n || line[n] == ' '))
			return (int)i;
	}
	return -1;
}
