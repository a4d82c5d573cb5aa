/*
 * fuzz_smtp_parse.c: libFuzzer target for smtp_parse.c and addr.c.
 *
 * The input is one command line without CRLF. It goes through
 * smtp_parse_command(); MAIL, RCPT, HELO and EHLO arguments then go
 * through their own parsers, smtp_path_format() and the addr_* functions.
 * The raw input is also handed to the argument parsers directly, so that
 * they see NUL, CR, LF and 8-bit octets that smtp_parse_command() would
 * have stopped.
 *
 * Besides memory safety, it checks the contracts: outputs are bounded and
 * NUL-terminated, domains are lower case, a literal is never local, a
 * lookup key always fits, and what smtp_path_format() writes parses back
 * to the same path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "smtp_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 name_local[] = "example.test";
static char	 name_literal[] = "[127.0.0.1]";
static char	*names[] = { name_local, name_literal };
static const struct domain_list fuzz_domains = { names, 2 };

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
check_path(const struct smtp_path *path)
{
	size_t	local_len, domain_len, i;
	char	key[ADDRESS_MAX + 1];

	local_len = strnlen(path->local, sizeof(path->local));
	domain_len = strnlen(path->domain, sizeof(path->domain));
	check(local_len <= LOCAL_PART_MAX);
	check(domain_len <= DOMAIN_MAX);
	for (i = 0; i < domain_len; i++)
		check(path->domain[i] < 'A' || path->domain[i] > 'Z');
	check(path->domain_is_literal == (path->domain[0] == '['));
	if (path->is_null || path->is_bare_postmaster)
		check(domain_len == 0);
	else
		check(domain_len > 0);
	if (path->domain_is_literal)
		check(!addr_domain_is_local(&fuzz_domains, path->domain));
	(void)addr_domain_is_local(&fuzz_domains, path->domain);
	(void)addr_local_has_routing(path);
	check(addr_lookup_key(path->local, path->domain, key));
	check(strlen(key) == local_len + 1 + domain_len);
}

/* Format path, wrap it as "<prefix><out>" and parse it again. */
static void
check_round_trip(const struct smtp_path *path, bool is_mail)
{
	struct smtp_path	 again;
	struct smtp_mail_params	 params;
	char			 out[ADDRESS_MAX + 1];
	char			 line[ADDRESS_MAX + 16];
	const char		*prefix = is_mail ? "FROM:<" : "TO:<";
	size_t			 n, plen = strlen(prefix);
	struct span		 s;
	enum smtp_path_result	 r;

	n = smtp_path_format(path, out);
	check(n <= ADDRESS_MAX);
	check(strlen(out) == n);
	if (path->is_null)
		check(n == 0);

	memcpy(line, prefix, plen);
	memcpy(line + plen, out, n);
	line[plen + n] = '>';
	s.p = line;
	s.len = plen + n + 1;
	if (is_mail)
		r = smtp_parse_mail(s, &again, &params);
	else
		r = smtp_parse_rcpt(s, &again);
	check(r == SMTP_PATH_OK);
	check(again.is_null == path->is_null);
	check(again.is_bare_postmaster == path->is_bare_postmaster);
	check(again.domain_is_literal == path->domain_is_literal);
	check(!again.had_source_route);
	check(strcmp(again.local, path->local) == 0);
	check(strcmp(again.domain, path->domain) == 0);
}

static void
fuzz_mail(struct span arg)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 params;

	if (smtp_parse_mail(arg, &path, &params) != SMTP_PATH_OK)
		return;
	check(!path.is_bare_postmaster);
	if (params.body != SMTP_BODY_NONE)
		check(params.body == SMTP_BODY_7BIT ||
		    params.body == SMTP_BODY_8BITMIME);
	check_path(&path);
	check_round_trip(&path, true);
}

static void
fuzz_rcpt(struct span arg)
{
	struct smtp_path	path;

	if (smtp_parse_rcpt(arg, &path) != SMTP_PATH_OK)
		return;
	check(!path.is_null);
	check_path(&path);
	check_round_trip(&path, false);
}

static void
fuzz_helo(struct span arg)
{
	char	out[HELO_MAX + 1];

	if (!smtp_parse_helo(arg, out)) {
		check(out[0] == '\0');
		return;
	}
	check(arg.len > 0 && arg.len <= HELO_MAX);
	check(strlen(out) == arg.len);
	check(memcmp(out, arg.p, arg.len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*line = (const char *)data;
	struct smtp_command	 cmd;
	struct span		 raw = { line, size };

	if (smtp_parse_command(line, size, &cmd) == SMTP_PARSE_OK) {
		check(cmd.verb > SMTP_VERB_UNKNOWN &&
		    cmd.verb < SMTP_VERB_COUNT);
		check(cmd.arg.p >= line && cmd.arg.p + cmd.arg.len <=
		    line + size);
		check(strcmp(smtp_verb_name(cmd.verb), "UNKNOWN") != 0);
		switch (cmd.verb) {
		case SMTP_VERB_MAIL:
			fuzz_mail(cmd.arg);
			break;
		case SMTP_VERB_RCPT:
			fuzz_rcpt(cmd.arg);
			break;
		case SMTP_VERB_HELO:
		case SMTP_VERB_EHLO:
			fuzz_helo(cmd.arg);
			break;
		default:
			break;
		}
	} else
		check(cmd.verb == SMTP_VERB_UNKNOWN);

	fuzz_mail(raw);
	fuzz_rcpt(raw);
	fuzz_helo(raw);
	return 0;
}
