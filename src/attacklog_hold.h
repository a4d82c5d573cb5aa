/*
 * attacklog_hold.h: a connection's client name and the attack records
 * that wait for it. A record must carry the forward-confirmed name
 * whenever one exists, even when the client sends its whole attempt
 * before the look-up ends (bots pipeline: PROXY header, EHLO, MAIL, RCPT
 * and QUIT in one write). So the record waits, never the session: records
 * made before the name is known are held here and handed to the attack
 * log when the look-up ends (bounded by the DNS timeout: a timeout gives
 * "unknown"), also after the session has closed, because the hold
 * outlives the session that made it.
 *
 * Runs on the engine's event loop only (not thread-safe). One hold per
 * SMTP or POP3 connection, created when the client's address is known.
 */
#ifndef ATTACKLOG_HOLD_H
#define ATTACKLOG_HOLD_H

#include <sys/socket.h>
#include <stdbool.h>

struct attacklog;
struct attack_record;
struct dns;
struct attacklog_hold;

/* Records one connection holds while its name is looked up (max_errors
 * ends a session long before), and all connections together (about 28 MB);
 * past either, records are written at once, under the name known then
 * ("unknown"). */
#define ATTACKLOG_HOLD_MAX	64
#define ATTACKLOG_HOLD_TOTAL_MAX	16384

/* Called once when the name is known (valid during the call). */
typedef void (*attacklog_hold_cb)(const char *name, void *arg);

/*
 * Start the FCrDNS look-up of sa (dns may be NULL: the name is "unknown"
 * at once) and return the connection's hold. cb (may be NULL) is called
 * with the name when the look-up ends, possibly before this returns (a
 * cache hit), never after attacklog_hold_release(). al may be NULL (no
 * attack log: records are dropped). Never fails (out of memory aborts).
 */
struct attacklog_hold *attacklog_hold_new(struct attacklog *al,
    struct dns *dns, const struct sockaddr *sa, attacklog_hold_cb cb,
    void *arg);

/* The confirmed name or "unknown" once the look-up ended, else NULL. */
const char *attacklog_hold_name(const struct attacklog_hold *h);

/*
 * Record rec (its client_name is filled in here): at once when the name
 * is known, else when the look-up ends. Returns attacklog_record()'s
 * backlog signal (true: slow the client down); false while held.
 */
bool attacklog_hold_record(struct attacklog_hold *h,
    const struct attack_record *rec);

/*
 * The session is gone: its callback is never called again. Held records
 * are still written when the look-up ends; the hold frees itself then.
 * NULL is fine.
 */
void attacklog_hold_release(struct attacklog_hold *h);

/*
 * Shutdown (attacklog_close() calls it first): write every record held for
 * al under the name known now, free the holds whose sessions are gone, and
 * detach the others from al (their later records are dropped). The DNS
 * resolver is freed afterwards, without running its callbacks.
 */
void attacklog_hold_close(struct attacklog *al);

#endif
