/*
 * text.c: bounded string helpers shared by every module. Pure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

bool
text_copy(char *dst, const char *src, size_t size)
{
	return text_copy_span(dst, size, src, strlen(src));
}

bool
text_copy_span(char *dst, size_t size, const char *src, size_t len)
{
	if (size == 0)
		return false;
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

bool
text_append(char *dst, const char *src, size_t size)
{
	size_t	have = strnlen(dst, size);

	if (have >= size)
		return false;
	return text_copy(dst + have, src, size - have);
}

bool
text_printf(char *dst, size_t size, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

void
text_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

bool
text_span_ieq(const char *p, size_t len, const char *word)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		char a = p[i], b = word[i];

		if (b == '\0')
			return false;
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return word[len] == '\0';
}
