/*
 * policy_parse.c: the pure half of the Postfix policy service (policyd.c):
 * one attribute line at a time of the SMTPD access policy delegation
 * protocol (Postfix SMTPD_POLICY_README, "Protocol description"). Runs in
 * the engine; its input comes from Postfix but carries client-controlled
 * values (HELO name, sender, recipient), so every copy is bounded and a
 * value that does not fit is invalid, never cut.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "policy_parse.h"
#include "text.h"

void
policy_request_init(struct policy_request *req)
{
	memset(req, 0, sizeof(*req));
}

/* The attributes kept, by name; everything else is ignored. */
struct policy_attr {
	const char	*name;
	size_t		 offset;
	size_t		 size;
};

#define A(n) { #n, offsetof(struct policy_request, n), \
	sizeof(((struct policy_request *)0)->n) }
static const struct policy_attr policy_attrs[] = {
	A(request),
	A(protocol_state),
	A(protocol_name),
	A(client_address),
	A(client_name),
	A(reverse_client_name),
	A(helo_name),
	A(sender),
	A(recipient),
	A(sasl_username),
	A(queue_id),
	A(instance),
	A(server_port),
};
#undef A

static enum policy_line_result
policy_bad(struct policy_request *req)
{
	req->bad = true;
	return POLICY_LINE_BAD;
}

enum policy_line_result
policy_parse_line(struct policy_request *req, const char *line, size_t len)
{
	const char	*eq;
	size_t		 namelen, vlen, i;

	req->bytes += len + 1;
	if (len == 0)
		return POLICY_LINE_END;
	req->lines++;
	if (len > POLICY_LINE_MAX || req->bytes > POLICY_REQUEST_MAX)
		return policy_bad(req);
	if (memchr(line, '\0', len) != NULL)
		return policy_bad(req);
	if ((eq = memchr(line, '=', len)) == NULL || eq == line)
		return policy_bad(req);
	namelen = (size_t)(eq - line);
	vlen = len - namelen - 1;
	for (i = 0; i < sizeof(policy_attrs) / sizeof(policy_attrs[0]); i++) {
		const struct policy_attr *a = &policy_attrs[i];
		char *field = (char *)req + a->offset;

		if (strlen(a->name) != namelen ||
		    memcmp(a->name, line, namelen) != 0)
			continue;
		/* Postfix never sends CR: one here is a broken client. */
		if (vlen >= a->size || memchr(eq + 1, '\r', vlen) != NULL)
			return policy_bad(req);
		memcpy(field, eq + 1, vlen);
		field[vlen] = '\0';
		return POLICY_LINE_MORE;
	}
	return POLICY_LINE_MORE;
}

bool
policy_listen_item_parse(const char *text, struct policy_listen_item *out,
    const char **why_out)
{
	size_t	len = strlen(text);

	memset(out, 0, sizeof(*out));
	if (strncmp(text, "unix:", 5) == 0) {
		out->is_unix = true;
		if (text[5] != '/') {
			*why_out = "unix: needs an absolute path";
			return false;
		}
		if (len - 5 > POLICY_UNIX_PATH_MAX) {
			*why_out = "unix: path too long for a socket";
			return false;
		}
		memcpy(out->path, text + 5, len - 5 + 1);
		return true;
	}
	if (len >= sizeof(out->endpoint)) {
		*why_out = "endpoint too long";
		return false;
	}
	memcpy(out->endpoint, text, len + 1);
	return true;
}

bool
policy_sender_domain(const char *sender, char *out, size_t size)
{
	const char	*at = strrchr(sender, '@');
	size_t		 len, i;

	if (at == NULL || at[1] == '\0')
		return false;
	len = strlen(at + 1);
	if (len >= size)
		return false;
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)at[1 + i]);
	out[len] = '\0';
	/* A trailing dot names the same domain. */
	if (len > 0 && out[len - 1] == '.')
		out[len - 1] = '\0';
	return true;
}

bool
policy_listen_parse(const char *value, struct policy_listen_item *items,
    size_t max, size_t *n_out, char *err, size_t errlen)
{
	const char	*p = value, *why = NULL;
	char		 one[POLICY_UNIX_PATH_MAX + 16];

	*n_out = 0;
	while (*p != '\0') {
		const char	*end = strchr(p, ',');
		size_t		 len = end ? (size_t)(end - p) : strlen(p);
		struct config_endpoint ep;

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			snprintf(err, errlen, "[policy] listen: empty item");
			return false;
		}
		if (*n_out >= max) {
			snprintf(err, errlen, "[policy] listen: too many items");
			return false;
		}
		if (!text_copy_span(one, sizeof(one), p, len)) {
			snprintf(err, errlen, "[policy] listen: item too long");
			return false;
		}
		if (!policy_listen_item_parse(one, &items[*n_out], &why)) {
			snprintf(err, errlen, "[policy] listen: %s: %s", one,
			    why);
			return false;
		}
		if (!items[*n_out].is_unix &&
		    !config_parse_endpoint(one, &ep)) {
			snprintf(err, errlen, "[policy] listen: %s: expected "
			    "host:port, [v6]:port or unix:/path", one);
			return false;
		}
		(*n_out)++;
		p = end ? end + 1 : p + len;
		if (end == NULL)
			break;
	}
	return true;
}
