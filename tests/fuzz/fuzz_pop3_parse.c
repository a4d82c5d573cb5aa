/*
 * fuzz_pop3_parse.c: libFuzzer target for pop3_parse.c.
 *
 * The input is one command line without CRLF. It goes through
 * pop3_parse_command(), pop3_parse_sasl_line() and, raw and as every
 * argument, pop3_parse_number(). Besides memory safety it checks the
 * contracts: arguments are spans inside the line within their limits,
 * the verb is set exactly when it was recognised, PASS is the verbatim
 * rest of the line, numbers are in range and spelled with digits only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
check_number(struct span arg)
{
	unsigned	n, z;
	size_t		i;

	if (pop3_parse_number(arg, false, &n)) {
		check(n >= 1 && n <= POP3_NUMBER_MAX);
		check(pop3_parse_number(arg, true, &z) && z == n);
		for (i = 0; i < arg.len; i++)
			check(arg.p[i] >= '0' && arg.p[i] <= '9');
	} else
		check(n == 0);
	if (pop3_parse_number(arg, true, &z))
		check(z <= POP3_NUMBER_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*line = (const char *)data;
	struct pop3_command	 cmd;
	enum pop3_parse_result	 r;
	struct span		 raw = { line, size };
	bool			 cancel;
	unsigned		 i, j;

	r = pop3_parse_command(line, size, &cmd);
	check(cmd.verb >= POP3_VERB_UNKNOWN && cmd.verb < POP3_VERB_COUNT);
	if (r == POP3_PARSE_UNKNOWN || r == POP3_PARSE_EMPTY)
		check(cmd.verb == POP3_VERB_UNKNOWN);
	if (r == POP3_PARSE_OK) {
		check(cmd.verb != POP3_VERB_UNKNOWN);
		check(size + 2 <= POP3_LINE_MAX);
		check(memchr(line, '\0', size) == NULL);
		check(memchr(line, '\r', size) == NULL);
		check(memchr(line, '\n', size) == NULL);
		check(cmd.nargs <= POP3_ARGS_MAX);
		for (i = 0; i < cmd.nargs; i++) {
			struct span a = cmd.args[i];

			check(a.p >= line && a.p + a.len <= line + size);
			if (cmd.verb == POP3_VERB_PASS) {
				check(a.len > 0 && a.len <= AUTH_PASSWORD_MAX);
				check(a.p + a.len == line + size);
				continue;
			}
			check(a.len > 0);
			for (j = 0; j < a.len; j++)
				check(a.p[j] > ' ' && a.p[j] < 0x7f);
			check(a.len <= (cmd.verb == POP3_VERB_AUTH && i == 1 ?
			    SASL_RESPONSE_MAX : AUTH_USER_MAX));
			if (cmd.verb != POP3_VERB_AUTH &&
			    cmd.verb != POP3_VERB_USER &&
			    cmd.verb != POP3_VERB_APOP)
				check(a.len <= POP3_ARG_MAX &&
				    size + 2 <= POP3_COMMAND_LINE_MAX);
			check_number(a);
		}
	} else
		check(r > POP3_PARSE_OK && r <= POP3_PARSE_SYNTAX);
	check(strcmp(pop3_verb_name(cmd.verb), "") != 0);

	r = pop3_parse_sasl_line(line, size, &cancel);
	if (r == POP3_PARSE_OK)
		check(size <= SASL_RESPONSE_MAX);
	if (cancel)
		check(r == POP3_PARSE_OK && size == 1 && line[0] == '*');
	check_number(raw);
	return 0;
}
