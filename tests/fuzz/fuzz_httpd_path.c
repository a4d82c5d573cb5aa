/*
 * fuzz_httpd_path.c: libFuzzer target for the HTTP path cleaner
 * (httpd_path_clean in src/httpd.c). Whatever the request path, an OK
 * result is a relative path inside the site: no leading '/', no ".."
 * segment, no empty segment, only [A-Za-z0-9._-] and '/', NUL-terminated
 * within the buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			 path[2048], out[512];
	const char		*p, *seg;
	size_t			 outlen, n;
	enum httpd_path_result	 r;

	if (size < 1 || size >= sizeof(path))
		return (0);
	/* The first byte picks the output size: short buffers too. */
	outlen = 1 + data[0] % sizeof(out);
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	r = httpd_path_clean(path, out, outlen);
	if (r != HTTPD_PATH_OK)
		return (0);
	n = strnlen(out, outlen);
	if (n == outlen || n == 0 || out[0] == '/')
		abort();
	for (p = out; *p != '\0'; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-/", *p) == NULL)
			abort();
	for (seg = out; seg != NULL; seg = (p = strchr(seg, '/')) ?
	    p + 1 : NULL) {
		if (*seg == '/' || *seg == '\0')
			abort();		/* empty segment */
		if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' ||
		    seg[2] == '\0'))
			abort();		/* traversal */
	}
	return (0);
}
