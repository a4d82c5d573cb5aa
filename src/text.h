/*
 * text.h: bounded string copies (glibc 2.36 has no strlcpy) and the few
 * ASCII helpers the parsers share. Pure.
 */
#ifndef TEXT_H
#define TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Copy src into dst of size bytes, always NUL-terminated. Returns false when
 * src did not fit: callers treat truncation as invalid input. */
bool text_copy(char *dst, const char *src, size_t size);
/* Same for a span of len bytes (no NUL needed in src). */
bool text_copy_span(char *dst, size_t size, const char *src, size_t len);
/* Append src to the NUL-terminated dst; false on truncation. */
bool text_append(char *dst, const char *src, size_t size);
/* printf into dst; false on truncation or error. */
bool text_printf(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ASCII lower-case in place. */
void text_lower(char *s);
/* Case-insensitive ASCII compare of a span with a NUL-terminated word. */
bool text_span_ieq(const char *p, size_t len, const char *word);

struct sockaddr;

/* The address of sa as text ("192.0.2.1", "2001:db8::1"); a v4-mapped
 * IPv6 address is written as IPv4. "" for other families. */
void text_ip(const struct sockaddr *sa, char *out, size_t size);
struct sockaddr_storage;
/* The other way: ip (IPv4 or IPv6 text) into a zeroed *ss, port 0; false
 * when ip is neither. */
bool text_sockaddr(const char *ip, struct sockaddr_storage *ss);

#include <stdio.h>
/*
 * Read one line of a trusted config-like file into buf (max bytes, no NUL
 * added) without its "\n" (and a "\r" right before it). Returns 1 for a
 * line, 0 at end of file, -1 for a line longer than max, -2 on a read
 * error. A too-long line is never cut silently.
 */
int text_read_line(FILE *fp, char *buf, size_t max, size_t *len_out);

#endif
