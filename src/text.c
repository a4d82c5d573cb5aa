/*
 * text.c: bounded string helpers shared by every module. Pure.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

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

void
text_ip(const struct sockaddr *sa, char *out, size_t size)
{
	const struct sockaddr_in6	*sin6;

	*out = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)size);
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	sin6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		inet_ntop(AF_INET, sin6->sin6_addr.s6_addr + 12, out,
		    (socklen_t)size);
	else
		inet_ntop(AF_INET6, &sin6->sin6_addr, out, (socklen_t)size);
}

bool
text_sockaddr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

int
text_read_line(FILE *fp, char *buf, size_t max, size_t *len_out)
{
	size_t	len = 0;
	int	c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (len == max)
			return -1;
		buf[len++] = (char)c;
	}
	if (c == EOF) {
		if (ferror(fp))
			return -2;
		if (len == 0)
			return 0;
	}
	if (c == '\n' && len > 0 && buf[len - 1] == '\r')
		len--;
	*len_out = len;
	return 1;
}
