/*
 * sendmail_parse.c: the pure parsers of the sendmail(8) interface
 * (sendmail_parse.h). Runs in the `pillory sendmail` command, as the user
 * who runs it; its input (arguments, message headers) is that user's, so
 * everything is bounded and malformed input is an error, never a crash.
 * Implements the address-list syntax of RFC 5322 3.4 (with 3.2.2 CFWS and
 * 3.2.4 quoted strings) and the usual sendmail command-line conventions.
 */
#include <string.h>

#include "sendmail_parse.h"
#include "text.h"

/* Options that take a value and are ignored (sendmail and Postfix). */
static const char ignored_with_value[] = "NRVBXLhOo";

int
sendmail_parse_args(int argc, char **argv, struct sendmail_opts *o,
    char *err, size_t errlen)
{
	int		 i;
	const char	*a, *val;
	char		 c;

	memset(o, 0, sizeof(*o));
	o->first_rcpt = argc;
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		c = a[1];
		/* The classic -oX forms. */
		if (c == 'o') {
			if (strcmp(a, "-oi") == 0)
				o->ignore_dots = true;
			else if (a[2] == '\0' && ++i >= argc)
				goto missing;
			/* -odi, -odb, -oem, -oep, -oA..., -o OPTION: the
			 * delivery mode is always "at once" and errors go to
			 * the exit status. */
			continue;
		}
		if (c == 'b') {
			if (strcmp(a, "-bm") == 0)
				o->mode = SENDMAIL_SEND;
			else if (strcmp(a, "-bp") == 0)
				o->mode = SENDMAIL_QUEUE;
			else if (strcmp(a, "-bi") == 0)
				o->mode = SENDMAIL_RELOAD;
			else {
				text_printf(err, errlen, "%s is not supported "
				    "(only -bm, -bp and -bi)", a);
				return -1;
			}
			continue;
		}
		if (c == 'f' || c == 'r' || c == 'F' || c == 'C' ||
		    strchr(ignored_with_value, c) != NULL) {
			if (a[2] != '\0')
				val = a + 2;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				goto missing;
			if (c == 'f' || c == 'r')
				o->from = val;
			else if (c == 'F')
				o->fullname = val;
			else if (c == 'C')
				o->config = val;
			continue;
		}
		if (a[2] != '\0')
			goto unknown;
		switch (c) {
		case 't':
			o->from_headers = true;
			break;
		case 'i':
			o->ignore_dots = true;
			break;
		case 'v':	/* verbose */
		case 'm':	/* also to the sender (always) */
		case 'U':	/* initial user submission */
		case 'n':	/* no aliasing (aliases always apply) */
		case 'G':	/* gateway submission */
			break;
		default:
			goto unknown;
		}
	}
	o->first_rcpt = i;
	return 0;
missing:
	text_printf(err, errlen, "option %s needs a value", a);
	return -1;
unknown:
	text_printf(err, errlen, "unknown option %s", a);
	return -1;
}

struct addr_acc {
	char	text[ADDRESS_MAX + 1];	/* addr-spec being collected */
	size_t	len;
	bool	overflow;
	char	angle[ADDRESS_MAX + 1];	/* the last <...>, if any */
	size_t	alen;
	bool	aoverflow;
	bool	has_angle;
};

static void
acc_put(char *buf, size_t *len, bool *overflow, char c)
{
	if (*len >= ADDRESS_MAX) {
		*overflow = true;
		return;
	}
	buf[(*len)++] = c;
	buf[*len] = '\0';
}

/* End one member of the list; -1 when it was over the limits. */
static int
acc_flush(struct addr_acc *a, sendmail_addr_cb cb, void *arg, int *count)
{
	const char	*addr = a->has_angle ? a->angle : a->text;
	size_t		 n = a->has_angle ? a->alen : a->len;
	const char	*colon;
	int		 rc = 0;

	if (a->has_angle ? a->aoverflow : a->overflow) {
		rc = -1;
		goto out;
	}
	/* An obsolete route "@a,@b:x@y" (RFC 5322 4.4) keeps only x@y. */
	if (a->has_angle && n > 0 && addr[0] == '@' &&
	    (colon = strchr(addr, ':')) != NULL)
		addr = colon + 1;
	if (*addr != '\0') {
		cb(addr, arg);
		(*count)++;
	}
out:
	memset(a, 0, sizeof(*a));
	return rc;
}

int
sendmail_parse_addresses(const char *v, size_t len, sendmail_addr_cb cb,
    void *arg)
{
	struct addr_acc	 a;
	size_t		 i;
	int		 count = 0, depth;
	bool		 in_angle = false, in_group = false;
	unsigned char	 c;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < len; i++) {
		c = (unsigned char)v[i];
		if (c < 0x20 && c != '\t')
			return -1;
		if (c == 0x7f)
			return -1;
		if (c == '(') {
			/* Comments nest (RFC 5322 3.2.2). */
			for (depth = 1, i++; i < len && depth > 0; i++) {
				if (v[i] == '\\')
					i++;
				else if (v[i] == '(')
					depth++;
				else if (v[i] == ')')
					depth--;
			}
			if (depth > 0)
				return -1;
			i--;
			continue;
		}
		if (c == '"') {
			/* A quoted string: kept whole (it may be a quoted
			 * local part). */
			char	*buf = in_angle ? a.angle : a.text;
			size_t	*n = in_angle ? &a.alen : &a.len;
			bool	*ov = in_angle ? &a.aoverflow : &a.overflow;

			acc_put(buf, n, ov, '"');
			for (i++; i < len && v[i] != '"'; i++) {
				if ((unsigned char)v[i] < 0x20 &&
				    v[i] != '\t')
					return -1;
				if (v[i] == '\\') {
					acc_put(buf, n, ov, '\\');
					if (++i >= len)
						return -1;
				}
				acc_put(buf, n, ov, v[i]);
			}
			if (i >= len)
				return -1;
			acc_put(buf, n, ov, '"');
			continue;
		}
		if (in_angle) {
			if (c == '>')
				in_angle = false;
			else if (c == '<')
				return -1;
			else if (c != ' ' && c != '\t')
				acc_put(a.angle, &a.alen, &a.aoverflow,
				    (char)c);
			continue;
		}
		switch (c) {
		case '<':
			/* A new angle-addr replaces what came before (the
			 * display name). */
			a.has_angle = true;
			a.alen = 0;
			a.aoverflow = false;
			a.angle[0] = '\0';
			in_angle = true;
			break;
		case '>':
			return -1;
		case ',':
			if (acc_flush(&a, cb, arg, &count) == -1)
				return -1;
			break;
		case ':':
			/* "name:" starts a group; what came before was its
			 * display name. */
			if (in_group)
				return -1;
			in_group = true;
			memset(&a, 0, sizeof(a));
			break;
		case ';':
			if (!in_group)
				return -1;
			if (acc_flush(&a, cb, arg, &count) == -1)
				return -1;
			in_group = false;
			break;
		case ' ':
		case '\t':
			break;
		default:
			acc_put(a.text, &a.len, &a.overflow, (char)c);
			break;
		}
	}
	if (in_angle)
		return -1;
	if (acc_flush(&a, cb, arg, &count) == -1)
		return -1;
	return count;
}

size_t
sendmail_header_name(const char *line, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == ':')
			return i;
		if (c <= 0x20 || c >= 0x7f)
			return 0;
	}
	return 0;
}

bool
sendmail_header_is(const char *line, size_t len, const char *name)
{
	size_t	n = sendmail_header_name(line, len);

	return n > 0 && text_span_ieq(line, n, name);
}
