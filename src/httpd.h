/*
 * httpd.h: the optional built-in HTTP server for the public site
 * ([publish] http_listen): static files from the site directory,
 * read-only, with libevent's evhttp on the engine's event loop.
 *
 * The root parent binds the sockets (httpd_bind(), port 80 needs root);
 * the engine, after the privilege drop, serves them (httpd_start(),
 * httpd_add_socket()). Requests are attacker-controlled: only GET and
 * HEAD (405 with Allow otherwise), paths made of [A-Za-z0-9._-] segments
 * under the directory (no "..", no percent-encoded dots or slashes, no
 * NUL or backslash, no dot-files, no symbolic links; 400 or 404), regular
 * files only, ETag and Last-Modified with 304 (RFC 9110 13.1), "/" is
 * index.html. Responses carry a Content-Security-Policy that forbids
 * scripts, as a second wall behind the emitter's escaping.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct config;
struct config_endpoint;
struct httpd;

/* Requests and headers larger than this are refused by evhttp. */
#define HTTPD_HEADERS_MAX	8192
/* Request bodies (we take none) beyond this are refused with 413. */
#define HTTPD_BODY_MAX		8192
/* Idle and read timeout of a connection, seconds; also the time allowed
 * for each request after the first (whose limit is http_header_timeout). */
#define HTTPD_TIMEOUT_S		30
/* Longest cleaned path we look up. */
#define HTTPD_PATH_MAX		256

/*
 * A listening TCP socket for ep (SO_REUSEADDR, non-blocking, close on
 * exec): the fd, or -1 with a message in err (a start-up error).
 */
int httpd_bind(const struct config_endpoint *ep, char *err, size_t errlen);

/*
 * Serve dir (it need not exist yet: the publisher makes it) on the
 * listening socket fd, which httpd owns from now on, even on failure.
 * NULL with a message in err on failure. Free with httpd_free().
 */
struct httpd *httpd_start(struct event_base *base, int fd, const char *dir,
    char *err, size_t errlen);

/* Serve on one more listening socket (owned by h from now on); -1 with a
 * message in err on failure. */
int httpd_add_socket(struct httpd *h, int fd, char *err, size_t errlen);

/*
 * Take the connection limits ([publish] http_max_connections,
 * http_max_connections_per_ip, http_header_timeout) from *cfgp, read
 * afresh for every connection (a reload swaps the pointer). Without
 * this call: 256, 16 and 10 s.
 */
void httpd_set_config(struct httpd *h, struct config *const *cfgp);

/* Close the sockets and connections, free h (NULL is fine). Call before
 * the event base is freed. */
void httpd_free(struct httpd *h);

/*
 * Pure helpers, exposed for the tests.
 */

enum httpd_path_result {
	HTTPD_PATH_OK,		/* out holds a relative path to look up */
	HTTPD_PATH_BAD,		/* malformed or a traversal attempt: 400 */
	HTTPD_PATH_NOT_FOUND	/* well-formed but nothing we serve: 404 */
};

/*
 * The request path (still percent-encoded, without the query) as a path
 * relative to the site directory in out (outlen bytes): "/" and a
 * trailing '/' mean index.html.
 */
enum httpd_path_result httpd_path_clean(const char *path, char *out,
    size_t outlen);

/* Content-Type for a file name, by its extension. */
const char *httpd_content_type(const char *name);

/*
 * True when an If-None-Match field value matches etag (a quoted
 * entity-tag), by the weak comparison of RFC 9110 8.8.3.2: "*" or any
 * listed tag with the same opaque value, W/ or not.
 */
bool httpd_etag_match(const char *header, const char *etag);

#endif
