/*
 * spool.h: durable acceptance of messages. A message is written as it
 * arrives to STATE_DIR/tmp; at the end of DATA it is committed: each local
 * mailbox gets its own copy, headed by Return-Path and Delivered-To (RFC
 * 5321 4.4), fsynced and linked into the Maildir's new/; for outside
 * recipients the text is fsynced and linked into the outbound queue
 * (STATE_DIR/queue: ID.msg + ID.env); then every directory touched is
 * fsynced. Only then does the session get
 * its callback and reply 250. Commits run on worker threads that take
 * every commit waiting at that moment as one batch (group commit), so many
 * sessions finishing DATA together share the directory fsyncs and the
 * file system's journal commits, and the event loop never waits on disk.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "pillory.h"

struct event_base;
struct spool;
struct spool_msg;

#define SPOOL_ID_MAX	24	/* 20 hex digits and NUL */

/*
 * Create STATE_DIR/{tmp,queue,mail} if missing, delete leftovers in tmp
 * (never acknowledged), start the commit threads and hook their
 * completions into base. Returns NULL with a message on failure.
 */
struct spool *spool_open(const char *state_dir, const char *hostname,
    struct event_base *base, char *err, size_t errlen);
/* Wait for every commit in flight, deliver their callbacks, stop. */
void spool_close(struct spool *sp);

/* Start a message; NULL when the tmp file cannot be created (451). */
struct spool_msg *spool_msg_new(struct spool *sp);
const char *spool_msg_id(const struct spool_msg *msg);
/* Append one line of message text (no line end; stored with LF). Returns
 * -1 after a write error; the error sticks and the commit fails. */
int spool_msg_line(struct spool_msg *msg, const char *line, size_t len);
/* Octets as they would go on the wire with CRLF line ends. */
uint64_t spool_msg_wire_size(const struct spool_msg *msg);
/* Envelope: sender (may be "" for <>), mailbox and remote recipients.
 * domain and user name a Maildir under STATE_DIR/mail; they must be safe
 * path components (the caller checks with spool_name_is_safe). */
void spool_msg_set_sender(struct spool_msg *msg, const char *sender);
/* The sender for the outbound queue when it differs (SRS for forwards);
 * Maildir copies keep the one above in Return-Path. */
void spool_msg_set_queue_sender(struct spool_msg *msg, const char *sender);
void spool_msg_add_mailbox(struct spool_msg *msg, const char *domain,
    const char *user);
/* The same, remembering the address the mail was sent to (an alias, or
 * the user's address in another case) for the delivery log line. */
void spool_msg_add_mailbox_orig(struct spool_msg *msg, const char *domain,
    const char *user, const char *orig);
void spool_msg_add_remote(struct spool_msg *msg, const char *rcpt);
/* Drop the message: unlink the tmp file and free. */
void spool_msg_abort(struct spool_msg *msg);

/* status 0: durable everywhere; -1: nothing was delivered (reply 451). */
typedef void (*spool_done_cb)(int status, void *arg);
/* Hand msg to the commit threads; msg belongs to the spool from now on.
 * cb runs later on the event loop, exactly once. */
void spool_msg_commit(struct spool_msg *msg, spool_done_cb cb, void *arg);

/* Called on the event loop after each commit that put ID.env into the
 * queue (before the session's own callback): queue.c's queue_notify(). */
typedef void (*spool_queued_cb)(const char *id, void *arg);
void spool_set_queued_cb(struct spool *sp, spool_queued_cb cb, void *arg);

/* True for a non-empty name without '/', NUL or a leading '.'. */
bool spool_name_is_safe(const char *name);

#endif
