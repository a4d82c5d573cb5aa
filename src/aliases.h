/*
 * aliases.h: the aliases file ("address: target, target, ...") and alias
 * expansion for local recipients. Loaded from trusted configuration at
 * start-up; the line parser is pure and fuzzed on its own.
 */
#ifndef ALIASES_H
#define ALIASES_H

#include <stdio.h>

#include "pillory.h"

/* Longest line accepted, without its newline; longer is a load error. */
#define ALIASES_LINE_MAX	4096

struct alias_db;

/*
 * Parse one line of len octets (no newline). Returns 0 for an entry, with
 * name_out (before the ':') and targets_out (the list after it, outer
 * white space trimmed) pointing into line; 1 for a blank or '#' comment
 * line (spans untouched); -1 for a malformed line with a static message in
 * *why. A name is "local@domain" or a bare local part. Targets are
 * separated by ',' and each is an address or a bare local part; pipes,
 * files, :include: and quoted local parts are refused, as are lines that
 * start with white space (no continuation lines).
 */
int aliases_parse_line(const char *line, size_t len, struct span *name_out,
    struct span *targets_out, const char **why);

/*
 * Read the aliases file at path. Returns a database the caller frees with
 * aliases_free(), or NULL with "PATH:LINE: message" (or "PATH: message"
 * when the file cannot be read) in err. Names and targets are lower-cased;
 * the same name twice is an error.
 */
struct alias_db *aliases_load(const char *path, char *err, size_t errlen);

/* The same from an open stream (read to its end, not closed); path names
 * it in messages. With fp NULL, path is opened and read. */
struct alias_db *aliases_load_fp(FILE *fp, const char *path, char *err,
    size_t errlen);

/*
 * Expand key ("local@domain", lower-case, domain local). An entry for the
 * whole address wins over one for the bare local part. A bare-local-part
 * target means that local part in the domain of the address being
 * expanded. Targets whose domain is_local() accepts are expanded again;
 * others are final. An address without an entry is final, and so is a
 * target that is already being expanded (self reference, loops): it is
 * delivered to as it is. emit() is called once per distinct final
 * address, in file order, depth first.
 *
 * Returns the number of addresses emitted (at least 1), or -1 when key is
 * not "local@domain", when a chain needs more than ALIAS_DEPTH_MAX
 * expansions, or when more than ALIAS_TARGETS_MAX distinct addresses
 * would be emitted (or expanded). On -1 some addresses may already have
 * been emitted: the caller discards them and refuses the recipient.
 */
int aliases_expand(const struct alias_db *db, const char *key,
    bool (*is_local)(const char *domain, void *arg),
    void (*emit)(const char *addr, void *arg), void *arg);

/*
 * Sender ownership (RFC 6409 6.1): may the logged-in user (lower-case
 * "local@domain") use key (lower-case "local@domain") as MAIL FROM? True
 * when key is user, or when key's domain is local (is_local) and key's
 * expansion delivers to user. An alias never makes an address in a
 * foreign domain anybody's: a bare-local-part entry applies to the local
 * domains only. db may be NULL (no aliases).
 */
bool aliases_sender_owned(const struct alias_db *db, const char *key,
    const char *user, bool (*is_local)(const char *domain, void *arg),
    void *arg);

/* True when key ("local@domain", lower-case) or its local part has an entry. */
bool aliases_has(const struct alias_db *db, const char *key);
/* A deep copy owned by the caller (aliases_free()), for a thread that must
 * not share db. NULL for NULL. */
struct alias_db *aliases_copy(const struct alias_db *db);

/* Number of entries. */
size_t aliases_count(const struct alias_db *db);

/* Free the database; NULL is allowed. */
void aliases_free(struct alias_db *db);

#endif
