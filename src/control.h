/*
 * control.h: the daemon's local control socket (STATE_DIR/control.sock,
 * a SOCK_STREAM unix socket) and its client for `pillory queue`. Only
 * root and the daemon's own user may talk to it (SO_PEERCRED).
 *
 * Protocol, one request per connection: the client sends one line (at
 * most CONTROL_LINE_MAX octets with its LF): "list", "show ID", "flush"
 * or "delete ID". The server answers with zero or more records, each
 * "record N\n" and N octets (an envelope, see envelope.h), then one final
 * line "ok TEXT\n" or "error TEXT\n", and closes.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct control;

#define CONTROL_SOCKET		"control.sock"
#define CONTROL_LINE_MAX	512
/* Largest record the client accepts. */
#define CONTROL_RECORD_MAX	(16 * 1024 * 1024 + 4096)
/* Seconds a connection may take, either side. */
#define CONTROL_TIMEOUT		30

/*
 * Handle request line cmd (without its LF): append records with
 * control_record() and end with control_end() into out.
 */
typedef void (*control_handler)(const char *cmd, struct evbuffer *out,
    void *arg);

/*
 * Listen on path (a stale socket there is replaced; mode 0600), on base.
 * Returns NULL with a reason in err (the path too long for sun_path, bind
 * or listen failed).
 */
struct control *control_start(struct event_base *base, const char *path,
    control_handler handler, void *arg, char *err, size_t errlen);

/* Close the listener and every connection, remove the socket file.
 * NULL is ignored. */
void control_stop(struct control *c);

/*
 * Requests whose first word is word ("bans", "bans reload") go to handler
 * instead of the socket's own handler. A NULL handler removes the route.
 * At most a few routes; a bug (abort) past that.
 */
void control_route(const char *word, control_handler handler, void *arg);

/* Append one record of len octets to a reply. */
void control_record(struct evbuffer *out, const char *data, size_t len);

/* End a reply: "ok TEXT" or "error TEXT" (one line; control characters
 * become '?'). */
void control_end(struct evbuffer *out, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A record of the answer, valid during the call. */
typedef void (*control_record_cb)(const char *data, size_t len, void *arg);

/*
 * Client: send cmd to the daemon at path and read its answer, blocking
 * (at most CONTROL_TIMEOUT seconds per read). Records go to cb; the final
 * line's TEXT to msg. Returns 0 for "ok", 1 for "error", -1 when nobody
 * listens (errno ENOENT or ECONNREFUSED: the daemon is not running, or
 * EACCES), -2 for a broken or unexpected answer.
 */
int control_request(const char *path, const char *cmd, control_record_cb cb,
    void *arg, char *msg, size_t msglen);

#endif
