/*
 * fuzz_attacklog.c: libFuzzer target for the pure parts of attacklog.c
 * that read text: the --since time parser, the login key a record is
 * withdrawn by, the network key of the top lists, the kinds list of
 * [publish] kinds, and the line and JSON formatters over records whose
 * fields are arbitrary bytes (every field of a record is attacker text).
 *
 * Contracts checked besides memory safety: a login key is an IPv4
 * address or ends in "/64"; the same address gives the same key with
 * brackets; a formatted line is one line (no control characters); the
 * JSON form is one line without a raw '<' (safe inside HTML) and carries
 * "withdrawn":true exactly when the record is withdrawn.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "fuzz_attacklog: check at line %d\n", line);
		abort();
	}
}
#define check(ok)	check_at((ok), __LINE__)

/* The input split at NUL bytes into up to n NUL-terminated fields. */
static size_t
fields(const uint8_t *data, size_t size, char *buf, char **f, size_t n)
{
	size_t	i, k = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	f[k++] = buf;
	for (i = 0; i < size && k < n; i++) {
		if (buf[i] == '\0')
			f[k++] = buf + i + 1;
	}
	return (k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attack_record	 rec;
	struct attack_netkey	 nk;
	char			*buf, *f[8], key[IPADDR_TEXT_MAX + 4];
	char			 key2[IPADDR_TEXT_MAX + 4], br[IPADDR_TEXT_MAX + 4];
	char			 line[ATTACK_LINE_MAX], json[ATTACK_JSON_MAX];
	const char		*bad;
	uint32_t		 mask;
	int64_t			 t;
	size_t			 n, i, len;

	if (size > 4096)
		return (0);
	if ((buf = malloc(size + 1)) == NULL)
		abort();
	n = fields(data, size, buf, f, 8);

	(void)attack_parse_time(f[0], 1015569170LL * 1000000, &t);
	(void)attack_network_key(f[0], &nk);
	if (attack_login_key(f[0], key, sizeof(key))) {
		len = strlen(key);
		check(len > 0);
		if (strchr(key, ':') != NULL)
			check(len > 3 && strcmp(key + len - 3, "/64") == 0);
		if (f[0][0] != '[' && strlen(f[0]) < IPADDR_TEXT_MAX &&
		    text_printf(br, sizeof(br), "[%s]", f[0])) {
			check(attack_login_key(br, key2, sizeof(key2)));
			check(strcmp(key, key2) == 0);
		}
	}
	(void)attack_kinds_mask(f, n, &mask, &bad);

	memset(&rec, 0, sizeof(rec));
	rec.time_us = (int64_t)(size * 1000003) - 5000000;
	rec.kind = (enum attack_kind)(size % (ATTACK_KIND_COUNT + 1));
	rec.withdrawn = (size & 1) != 0;
	rec.port = 25;
	(void)text_copy(rec.client_ip, n > 0 ? f[0] : "", sizeof(rec.client_ip));
	(void)text_copy(rec.client_name, n > 1 ? f[1] : "",
	    sizeof(rec.client_name));
	(void)text_copy(rec.helo, n > 2 ? f[2] : "", sizeof(rec.helo));
	(void)text_copy(rec.from, n > 3 ? f[3] : "", sizeof(rec.from));
	(void)text_copy(rec.to, n > 4 ? f[4] : "", sizeof(rec.to));
	(void)text_copy(rec.user, n > 5 ? f[5] : "", sizeof(rec.user));
	(void)text_copy(rec.reply, n > 6 ? f[6] : "", sizeof(rec.reply));
	for (i = 0; i < 2; i++) {
		if (attack_format_line(&rec, i == 1, line, sizeof(line))) {
			for (len = 0; line[len] != '\0'; len++)
				check((unsigned char)line[len] >= 0x20 &&
				    line[len] != 0x7f);
		}
		if (attack_format_json(&rec, i == 1, json, sizeof(json))) {
			check(strchr(json, '\n') == NULL);
			check(strchr(json, '<') == NULL);
			check((strstr(json, "\"withdrawn\":true") != NULL) ==
			    rec.withdrawn);
		}
	}
	free(buf);
	return (0);
}
