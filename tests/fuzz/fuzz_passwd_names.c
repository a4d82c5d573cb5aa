/*
 * fuzz_passwd_names.c: libFuzzer target for the user-name list the auth
 * process hands the engine on SIGHUP (passwd_file_load_names_fp and
 * passwd_file_write_names in src/passwd_file.c). Whatever loads must
 * write back to a list that loads to the same users.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passwd_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct passwd_db	*db, *again;
	char			 err[512], *buf = NULL, *line, *nl;
	size_t			 len = 0;
	FILE			*fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return (0);
	db = passwd_file_load_names_fp(fp, "fuzz", err, sizeof(err));
	fclose(fp);
	if (db == NULL) {
		if (strncmp(err, "fuzz:", 5) != 0)
			abort();
		return (0);
	}
	if ((fp = open_memstream(&buf, &len)) == NULL)
		abort();
	if (!passwd_file_write_names(db, fp))
		abort();
	fclose(fp);
	if ((fp = fmemopen(buf, len == 0 ? 1 : len, "r")) == NULL)
		abort();
	if (len == 0)
		fgetc(fp);
	again = passwd_file_load_names_fp(fp, "again", err, sizeof(err));
	fclose(fp);
	if (again == NULL ||
	    passwd_file_count(again) != passwd_file_count(db))
		abort();
	for (line = buf; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			abort();
		*nl = '\0';
		if (!passwd_file_has_user(db, line) ||
		    !passwd_file_has_user(again, line) ||
		    passwd_file_verify(again, line, ""))
			abort();
	}
	passwd_file_free(again);
	passwd_file_free(db);
	free(buf);
	return (0);
}
