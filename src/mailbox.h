/*
 * mailbox.h: a Maildir as one POP3 session sees it (RFC 1939): a snapshot
 * of new/ and cur/ taken at open, numbered 1..N in delivery order, with
 * stable unique ids (UIDL), sizes with CRLF line ends, deletions applied
 * only at commit (the UPDATE state), and a streaming reader that sends a
 * message (RETR) or its head (TOP) CRLF-converted and dot-stuffed. Runs in
 * the engine; the Maildir is ours (written by spool.c), the message text
 * in it is not trusted.
 */
#ifndef MAILBOX_H
#define MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct mailbox;
struct mailbox_reader;

/* RFC 1939 7: a unique-id is 1 to 70 characters in 0x21..0x7E. */
#define MAILBOX_UID_MAX		70
/* Messages one session lists; a larger mailbox fails to open (E2BIG). */
#define MAILBOX_MESSAGES_MAX	1000000
/* Octets read from a message file at a time. */
#define MAILBOX_CHUNK		16384

/*
 * Open the Maildir at path (DIR with new/ and cur/): list the messages and
 * take the in-process lock on path. A missing Maildir, or a missing new/
 * or cur/, is an empty mailbox. Returns 0 and sets *mb_out, or -1 with
 * errno: EBUSY when path is already open in this process, E2BIG above
 * MAILBOX_MESSAGES_MAX, ENAMETOOLONG, or the error of opendir/read. The
 * lock lives in memory only, so a crash never leaves it stale. Free with
 * mailbox_close().
 */
int mailbox_open(const char *path, struct mailbox **mb_out);

/* Release the lock and free mb, changing nothing on disk (a session that
 * ends without QUIT). NULL is fine. Open readers must be closed first. */
void mailbox_close(struct mailbox *mb);

/* True when path is open (locked) in this process. */
bool mailbox_is_locked(const char *path);

/* Number of messages in the snapshot, deleted ones included: message
 * numbers run from 1 to this. */
size_t mailbox_count(const struct mailbox *mb);

/* True when n is a message number of mb that is not marked deleted. */
bool mailbox_exists(const struct mailbox *mb, unsigned n);

/* Size of message n with CRLF line ends (RFC 1939 LIST); n must exist. */
uint64_t mailbox_size(const struct mailbox *mb, unsigned n);

/* Unique id of message n (NUL-terminated, at most MAILBOX_UID_MAX
 * characters in 0x21..0x7E): the Maildir base name before ':' when it
 * fits, else that name without its ",S=..." fields, else "h" and 32 hex
 * digits of its SHA-256. Stable across sessions and across the move from
 * new/ to cur/. n must exist. */
const char *mailbox_uid(const struct mailbox *mb, unsigned n);

/* Messages not marked deleted and their total size (RFC 1939 STAT). */
void mailbox_stat(const struct mailbox *mb, size_t *count_out,
    uint64_t *octets_out);

/* Mark n deleted; false when n does not exist or is already marked. */
bool mailbox_delete(struct mailbox *mb, unsigned n);

/* Unmark every message (RFC 1939 RSET). */
void mailbox_reset(struct mailbox *mb);

/*
 * The UPDATE state (RFC 1939 6): unlink the messages marked deleted, move
 * the rest of new/ to cur/ (":2,S" for retrieved ones, ":2," for others;
 * the base name, and so the UID, stays), and fsync the directories
 * touched. A message already gone counts as removed. Returns 0, or -1
 * when some marked message could not be removed. mb stays open (close it
 * afterwards); call once.
 */
int mailbox_commit(struct mailbox *mb);

/*
 * Start sending message n (which must exist): for RETR (top false) the
 * whole message, marked retrieved; for TOP (top true) the header, the
 * blank line and the first lines lines of the body. NULL with errno when
 * the file cannot be opened (ENOENT: removed behind our back).
 */
struct mailbox_reader *mailbox_reader_open(struct mailbox *mb, unsigned n,
    bool top, unsigned lines);

/*
 * Append converted text to out until it holds at least target octets or
 * the message ends: LF becomes CRLF (CRLF stays), a line starting with
 * '.' gets another '.' (RFC 1939 3), and at the end a CRLF is added when
 * the last line lacks one, then ".\r\n". Reads MAILBOX_CHUNK octets at a
 * time, so a huge message never sits in memory. Returns 1 when more is
 * to come, 0 when the terminator has been written, -1 on a read error
 * (the response is cut: the caller must drop the connection).
 */
int mailbox_reader_fill(struct mailbox_reader *r, struct evbuffer *out,
    size_t target);

/* Close the file and free r. NULL is fine. */
void mailbox_reader_close(struct mailbox_reader *r);

#endif
