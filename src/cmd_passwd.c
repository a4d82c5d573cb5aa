/*
 * cmd_passwd.c: `pillory passwd [--scheme S]`: read one password line on
 * stdin and print "{SCHEME}hash" for the passwd-file. The password is wiped
 * from memory after use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "passwd_file.h"

#define PASSWORD_MAX	1024

int
cmd_passwd(const struct config *cfg, int argc, char **argv)
{
	const char	*scheme = "SHA512-CRYPT";
	char		 pw[PASSWORD_MAX + 2], out[512];
	size_t		 len;
	int		 rc = 1;

	(void)cfg;
	if (argc == 3 && strcmp(argv[1], "--scheme") == 0)
		scheme = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: pillory passwd [--scheme "
		    "SHA512-CRYPT|SHA256-CRYPT|BLF-CRYPT|YESCRYPT]\n");
		return 2;
	}
	if (fgets(pw, sizeof(pw), stdin) == NULL) {
		fprintf(stderr, "pillory passwd: no password on stdin\n");
		return 1;
	}
	len = strcspn(pw, "\r\n");
	if (len > PASSWORD_MAX || pw[len] == '\0') {
		if (len > PASSWORD_MAX) {
			fprintf(stderr, "pillory passwd: password too long\n");
			goto done;
		}
	}
	pw[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "pillory passwd: empty password\n");
		goto done;
	}
	if (!passwd_file_hash(scheme, pw, out, sizeof(out))) {
		fprintf(stderr, "pillory passwd: cannot hash with scheme %s\n",
		    scheme);
		goto done;
	}
	printf("%s\n", out);
	rc = 0;
done:
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

const struct cmd_entry cmd_passwd_entry = {
	.name = "passwd",
	.usage = "[--scheme SCHEME]",
	.help = "read a password on stdin, print a passwd-file hash",
	.needs_config = false,
	.run = cmd_passwd,
};
