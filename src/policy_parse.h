/*
 * policy_parse.h: pure parser for Postfix's SMTPD access policy delegation
 * protocol (Postfix SMTPD_POLICY_README): a request is "name=value" lines,
 * each ended by LF, and an empty line ends the request. Unknown names are
 * ignored (Postfix adds attributes over time). Also the pure parser of the
 * [policy] listen items ("host:port", "[v6]:port" or "unix:PATH").
 */
#ifndef POLICY_PARSE_H
#define POLICY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "pillory.h"

/* Longest attribute line without its LF. Postfix's own attributes are
 * bounded by its SMTP limits; 2048 leaves room for long names. */
#define POLICY_LINE_MAX		2048
/* Most bytes one request may take, all lines together. */
#define POLICY_REQUEST_MAX	32768
/* Longest unix:PATH path (sun_path is 108 bytes with its NUL). */
#define POLICY_UNIX_PATH_MAX	107

/* The attributes pillory uses; each is empty when absent. */
struct policy_request {
	char	request[32];		/* "smtpd_access_policy" */
	char	protocol_state[16];	/* CONNECT, EHLO, HELO, MAIL, RCPT ... */
	char	protocol_name[16];	/* SMTP, ESMTP */
	char	client_address[IPADDR_TEXT_MAX];
	char	client_name[DOMAIN_MAX + 1];	/* verified, or "unknown" */
	char	reverse_client_name[DOMAIN_MAX + 1];
	char	helo_name[HELO_MAX + 1];
	char	sender[ADDRESS_MAX + 1];
	char	recipient[ADDRESS_MAX + 1];
	char	sasl_username[ADDRESS_MAX + 1];
	char	queue_id[32];
	char	instance[64];
	char	server_port[8];
	size_t	lines;			/* attribute lines taken */
	size_t	bytes;			/* request bytes taken, LFs included */
	bool	bad;			/* a line was malformed or too long */
};

enum policy_line_result {
	POLICY_LINE_MORE,	/* attribute taken (or ignored): read on */
	POLICY_LINE_END,	/* empty line: the request is complete */
	POLICY_LINE_BAD,	/* malformed; req->bad is set, read on */
};

/* Reset req for a new request. */
void policy_request_init(struct policy_request *req);

/*
 * Take one line (len bytes, without its LF; a trailing CR is part of the
 * value as in Postfix, so it is refused) into req. A line without '=', a
 * NUL, an empty name, a value too long for its field, a line longer than
 * POLICY_LINE_MAX or a request past POLICY_REQUEST_MAX sets req->bad and
 * returns POLICY_LINE_BAD; the caller still reads to the empty line and
 * answers. Pure: no I/O, no allocation.
 */
enum policy_line_result policy_parse_line(struct policy_request *req,
    const char *line, size_t len);

/* Whether a [policy] listen item is a TCP endpoint or a unix socket. */
struct policy_listen_item {
	bool	is_unix;
	char	path[POLICY_UNIX_PATH_MAX + 1];	/* unix: absolute path */
	char	endpoint[IPADDR_TEXT_MAX + 8];	/* tcp: "host:port" text */
};

/*
 * Parse one [policy] listen item: "unix:/abs/path" or anything else as a
 * TCP endpoint text (checked by the caller with config_parse_endpoint()).
 * False with a static message in *why_out on a bad unix path or an item
 * too long.
 */
bool policy_listen_item_parse(const char *text, struct policy_listen_item *out,
    const char **why_out);

/*
 * Parse the [policy] listen value (comma-separated items, see
 * policy_listen_item_parse()) into items (max entries), *n_out set. False
 * with a message in err on a bad item (config_load's check and serve).
 */
bool policy_listen_parse(const char *value, struct policy_listen_item *items,
    size_t max, size_t *n_out, char *err, size_t errlen);

/*
 * The domain of a sender address ("user@Example.ORG" -> "example.org" into
 * out, lower-cased); false for the null sender, no '@', or too long.
 */
bool policy_sender_domain(const char *sender, char *out, size_t size);

#endif
