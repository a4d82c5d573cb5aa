/*
 * passwd_file.h: the user database, a Dovecot-style passwd-file
 * ("user@domain:{SCHEME}crypt-hash[:more:fields]"), and crypt(3) password
 * checks against it. Loaded and used only by the auth process; the line
 * parser is pure and fuzzed on its own.
 */
#ifndef PASSWD_FILE_H
#define PASSWD_FILE_H

#include <stdio.h>

#include "pillory.h"

/* Longest line accepted, without its newline; longer is a load error. */
#define PASSWD_FILE_LINE_MAX	4096
/* Room for "{SCHEME}" plus the longest crypt(3) output (CRYPT_OUTPUT_SIZE). */
#define PASSWD_FILE_HASH_MAX	(32 + 384)

struct passwd_db;

/*
 * Parse one line of len octets (no newline). Returns 0 and fills the spans
 * (pointing into line) for an entry; 1 for a blank or '#' comment line
 * (spans untouched); -1 for a malformed line, with a static message in
 * *why. The user must be "local@domain". A password without "{SCHEME}"
 * has scheme "CRYPT" (a static string). Whatever the scheme, the hash must
 * be a crypt(3) string libcrypt can check. Fields after the password are
 * ignored.
 */
int passwd_file_parse_line(const char *line, size_t len,
    struct span *user_out, struct span *scheme_out, struct span *hash_out,
    const char **why);

/*
 * Read the passwd-file at path. Returns a database the caller frees with
 * passwd_file_free(), or NULL with "PATH:LINE: message" (or "PATH:
 * message" when the file cannot be read) in err. Users are lower-cased;
 * the same user twice is an error.
 */
struct passwd_db *passwd_file_load(const char *path, char *err,
    size_t errlen);

/* The same from an open stream (read to its end, not closed); path names
 * it in messages. With fp NULL, path is opened and read. */
struct passwd_db *passwd_file_load_fp(FILE *fp, const char *path, char *err,
    size_t errlen);

/*
 * The user names alone, one a line, for a process that must know who
 * exists but never how to check them (the engine, after a SIGHUP read by
 * the root side). Returns false on a write error.
 */
bool passwd_file_write_names(const struct passwd_db *db, FILE *fp);

/*
 * Read what passwd_file_write_names() wrote: a database with every user
 * and no hash (passwd_file_verify() fails for all). NULL with "PATH:LINE:
 * message" in err for a line that is no user name, or a duplicate.
 */
struct passwd_db *passwd_file_load_names_fp(FILE *fp, const char *path,
    char *err, size_t errlen);

/* True when key ("local@domain", lower-case) is a user. */
bool passwd_file_has_user(const struct passwd_db *db, const char *key);
/* A copy with the user names only (no hashes), owned by the caller (free
 * with passwd_file_free()), for a thread that must not share db. NULL for
 * NULL. */
struct passwd_db *passwd_file_copy_names(const struct passwd_db *db);

/*
 * True when password matches key's hash. Runs one crypt(3) whether or not
 * the user exists (an unknown user costs the same as a wrong password) and
 * compares in constant time. False for unknown users and on any error.
 */
bool passwd_file_verify(const struct passwd_db *db, const char *key,
    const char *password);

/* Number of users. */
size_t passwd_file_count(const struct passwd_db *db);

/* Wipe every hash but keep the user names: the engine needs to know who
 * exists, never how to check them. passwd_file_verify() then fails. */
void passwd_file_forget_hashes(struct passwd_db *db);

/* Wipe every hash and free the database; NULL is allowed. */
void passwd_file_free(struct passwd_db *db);

/*
 * Hash password with a fresh random salt. scheme is "SHA512-CRYPT" (also
 * when NULL or ""), "SHA256-CRYPT", "BLF-CRYPT" or "YESCRYPT" (ASCII case
 * ignored). Writes "{SCHEME}hash" into out (outlen bytes;
 * PASSWD_FILE_HASH_MAX is always enough). Returns false for an unknown
 * scheme, a libcrypt failure or when out is too small.
 */
bool passwd_file_hash(const char *scheme, const char *password, char *out,
    size_t outlen);

#endif
