/*
 * store_spool.h: the on-disk spool of attack records a shared store could
 * not take (README "Several MX hosts: PostgreSQL"). While PostgreSQL is
 * down or slow, the attack log writer appends each batch to
 * STATE_DIR/store-spool/records (fsync'd, bounded in size) and writes it
 * to the store when it returns; every record carries a unique id, so a
 * batch replayed twice is stored once.
 *
 * File format: one record per line,
 *   P1 TAB uid TAB time_us TAB kind TAB port TAB withdrawn TAB client_ip
 *   TAB client_name TAB helo TAB from TAB to TAB user TAB session TAB
 *   reply TAB node LF
 * with '\', TAB, LF and CR inside a field written \\, \t, \n and \r. A
 * last line without its LF (a crash in the middle of an append) is
 * ignored.
 */
#ifndef STORE_SPOOL_H
#define STORE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attack.h"

/* Longest spool line, LF and NUL included (every field escaped). */
#define STORE_SPOOL_LINE_MAX	16384
/* Default bound of the spool's total size. */
#define STORE_SPOOL_MAX_BYTES	(256ULL * 1024 * 1024)
/* Records handed to the replay callback at once. */
#define STORE_SPOOL_CHUNK	1024

/* rec as one spool line with its LF; false when out is too small. Pure. */
bool store_spool_format(const struct attack_record *rec, char *out,
    size_t outlen);

/*
 * Parse one line (len bytes, without its LF) into rec. False with a
 * reason in *why on anything malformed: wrong field count, an unknown
 * escape, a field too long for the record, a bad number or kind. Pure.
 */
bool store_spool_parse(const char *line, size_t len,
    struct attack_record *rec, const char **why);

struct store_spool;

/* Open (creating, mode 0700) the spool directory dir. */
struct store_spool *store_spool_open(const char *dir, uint64_t max_bytes,
    char *err, size_t errlen);
void store_spool_close(struct store_spool *sp);

/* Bytes waiting in the spool. */
uint64_t store_spool_bytes(const struct store_spool *sp);

/*
 * Append n records and fsync. -1 with a message in err when the spool is
 * full (max_bytes) or the disk fails: then nothing was appended.
 */
int store_spool_append(struct store_spool *sp,
    const struct attack_record *recs, size_t n, char *err, size_t errlen);

typedef int (*store_spool_cb)(const struct attack_record *recs, size_t n,
    void *arg);

/*
 * Hand every spooled record to cb, at most STORE_SPOOL_CHUNK at a time,
 * oldest first, and remove the files once all went through. When cb
 * returns non-zero the rest stays for the next replay (records cb has
 * seen may be handed again: the store ignores a uid it has). Returns 0
 * when the spool is empty afterwards, -1 otherwise; *done_out (may be
 * NULL) counts the records cb accepted.
 */
int store_spool_replay(struct store_spool *sp, store_spool_cb cb, void *arg,
    uint64_t *done_out);

#endif
