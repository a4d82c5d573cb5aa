/*
 * passwd_file.c: the user database. A Dovecot-compatible passwd-file
 * (doc: Dovecot "passwd-file" auth database): one user a line,
 *
 *	user@domain:{SCHEME}hash[:uid:gid:gecos:home:shell:extra]
 *
 * where only the first two fields mean anything to pillory. Every hash
 * must be a crypt(3) string (SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT,
 * YESCRYPT, and the legacy CRYPT and MD5-CRYPT) because verification is
 * crypt_r() from libcrypt and nothing else; plain-text schemes are refused
 * at load time rather than silently never matching.
 *
 * Runs in the auth process only: the file is trusted configuration, but
 * passwords arriving to passwd_file_verify() come from the network (via
 * the engine) and are treated as hostile. The line parser is pure and has
 * its own fuzz target. Hashes are wiped when the database is freed.
 */

#include <sys/types.h>

#include <crypt.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "passwd_file.h"
#include "text.h"
#include "line_table.h"
#include "xalloc.h"

struct passwd_entry {
	char	*key;		/* lower-case "local@domain" */
	char	*hash;		/* crypt(3) string, same allocation as key */
	size_t	 size;		/* of that allocation, for wiping */
	size_t	 line;		/* in the file, for duplicate errors */
};

struct passwd_db {
	struct passwd_entry	*entries;	/* sorted by key */
	size_t			 count;
	size_t			 cap;
};

static const struct line_table_entries passwd_entries = {
	.what = "user",
	.size = sizeof(struct passwd_entry),
	.key_off = offsetof(struct passwd_entry, key),
	.line_off = offsetof(struct passwd_entry, line),
};

/* Setting used for unknown users when the database is empty. */
static const char passwd_dummy_setting[] = "$6$pilloryunknown$";

/*
 * Dovecot schemes whose "hash" is the password itself. A 13-octet one
 * would pass for a DES hash and then never match: say so at load time.
 */
static const char *const passwd_plain_schemes[] = {
	"PLAIN", "CLEAR", "CLEARTEXT", "PLAIN-TRUNC",
};

/* The schemes passwd_file_hash() writes, and their crypt(3) prefixes. */
static const struct {
	const char	*name;
	const char	*prefix;
} passwd_schemes[] = {
	{ "SHA512-CRYPT",	"$6$" },
	{ "SHA256-CRYPT",	"$5$" },
	{ "BLF-CRYPT",		"$2b$" },
	{ "YESCRYPT",		"$y$" },
};

static bool
is_crypt_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '/' || c == '$' ||
	    c == ',' || c == '=');
}

/* Dovecot scheme names: "SHA512-CRYPT", "BLF-CRYPT", "CRYPT", ... */
static bool
is_scheme_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
}

/*
 * Is p[0..len) a crypt(3) hash libcrypt can check? Shape first (modular
 * "$id$...$hash", BSDi "_" + 19, or traditional DES, 13 octets), then
 * crypt_checksalt() for whether this libcrypt knows and allows the method.
 */
static bool
passwd_hash_is_crypt(const char *p, size_t len, const char **why)
{
	char	buf[CRYPT_OUTPUT_SIZE];
	size_t	i, dollars = 0;

	if (len == 0) {
		*why = "empty password hash";
		return (false);
	}
	if (len >= sizeof(buf)) {
		*why = "password hash too long";
		return (false);
	}
	for (i = 0; i < len; i++) {
		if (!is_crypt_char(p[i]) && !(i == 0 && p[i] == '_'))
			goto not_crypt;
		if (p[i] == '$')
			dollars++;
	}
	if (p[0] == '$') {
		if (dollars < 3 || p[1] == '$' || p[len - 1] == '$')
			goto not_crypt;
	} else if (p[0] == '_') {
		if (len != 20 || dollars != 0)
			goto not_crypt;
	} else if (len != 13 || dollars != 0)
		goto not_crypt;

	memcpy(buf, p, len);
	buf[len] = '\0';
	switch (crypt_checksalt(buf)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_METHOD_LEGACY:
	case CRYPT_SALT_TOO_CHEAP:
		return (true);
	case CRYPT_SALT_METHOD_DISABLED:
		*why = "crypt(3) method disabled in this libcrypt";
		return (false);
	default:
		*why = "unknown crypt(3) method";
		return (false);
	}

not_crypt:
	*why = "password is not a crypt(3) hash";
	return (false);
}

/* "local@domain": one '@', both parts non-empty and within RFC 5321. */
static bool
passwd_user_is_valid(const char *p, size_t len, const char **why)
{
	const char	*at = NULL;
	size_t		 i;

	if (len == 0) {
		*why = "empty user";
		return (false);
	}
	for (i = 0; i < len; i++) {
		if (p[i] <= ' ' || p[i] > '~') {
			*why = "user contains a space or non-ASCII octet";
			return (false);
		}
		if (p[i] == '@') {
			if (at != NULL) {
				*why = "user contains more than one '@'";
				return (false);
			}
			at = p + i;
		}
	}
	if (at == NULL) {
		*why = "user is not local@domain";
		return (false);
	}
	if (at == p || at == p + len - 1) {
		*why = "user has an empty local part or domain";
		return (false);
	}
	/* RFC 5321 4.5.3.1.1 and 4.5.3.1.2. */
	if ((size_t)(at - p) > LOCAL_PART_MAX ||
	    (size_t)(p + len - at - 1) > DOMAIN_MAX) {
		*why = "user local part or domain too long";
		return (false);
	}
	return (true);
}

/*
 * Parse one passwd-file line; see passwd_file.h. The spans point into
 * line; scheme_out may point to the static "CRYPT".
 */
int
passwd_file_parse_line(const char *line, size_t len, struct span *user_out,
    struct span *scheme_out, struct span *hash_out, const char **why)
{
	const char	*end = line + len, *colon, *pw, *pwend, *close, *h;
	struct span	 scheme;
	size_t		 i;

	if (len > PASSWD_FILE_LINE_MAX) {
		*why = "line too long";
		return (-1);
	}
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		continue;
	if (i == len || line[i] == '#')
		return (1);
	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < ' ' && line[i] != '\t') {
			*why = "control character in line";
			return (-1);
		}
	}

	if ((colon = memchr(line, ':', len)) == NULL) {
		*why = "missing ':' after user";
		return (-1);
	}
	if (!passwd_user_is_valid(line, (size_t)(colon - line), why))
		return (-1);

	pw = colon + 1;
	if ((pwend = memchr(pw, ':', (size_t)(end - pw))) == NULL)
		pwend = end;
	if (pw == pwend) {
		*why = "empty password field";
		return (-1);
	}
	if (*pw == '{') {
		close = memchr(pw, '}', (size_t)(pwend - pw));
		if (close == NULL) {
			*why = "unterminated {SCHEME}";
			return (-1);
		}
		scheme.p = pw + 1;
		scheme.len = (size_t)(close - scheme.p);
		if (scheme.len == 0) {
			*why = "empty {SCHEME}";
			return (-1);
		}
		for (i = 0; i < scheme.len; i++) {
			if (!is_scheme_char(scheme.p[i])) {
				*why = "bad character in {SCHEME}";
				return (-1);
			}
		}
		for (i = 0; i < sizeof(passwd_plain_schemes) /
		    sizeof(passwd_plain_schemes[0]); i++) {
			if (text_span_ieq(scheme.p, scheme.len,
			    passwd_plain_schemes[i])) {
				*why = "plain-text passwords are not supported";
				return (-1);
			}
		}
		h = close + 1;
	} else {
		/* Dovecot's default scheme for passwd-file is CRYPT. */
		scheme.p = "CRYPT";
		scheme.len = 5;
		h = pw;
	}
	if (!passwd_hash_is_crypt(h, (size_t)(pwend - h), why))
		return (-1);

	user_out->p = line;
	user_out->len = (size_t)(colon - line);
	*scheme_out = scheme;
	hash_out->p = h;
	hash_out->len = (size_t)(pwend - h);
	return (0);
}

static int
passwd_key_cmp(const void *key, const void *elem)
{
	const struct passwd_entry	*e = elem;

	return (strcmp(key, e->key));
}

static void
passwd_add(struct passwd_db *db, struct span user, struct span hash,
    size_t line)
{
	struct passwd_entry	*e;

	e = line_table_add(&passwd_entries, (void **)&db->entries,
	    &db->count, &db->cap);
	e->size = user.len + 1 + hash.len + 1;
	e->key = xmalloc(e->size);
	memcpy(e->key, user.p, user.len);
	e->key[user.len] = '\0';
	text_lower(e->key);
	e->hash = e->key + user.len + 1;
	memcpy(e->hash, hash.p, hash.len);
	e->hash[hash.len] = '\0';
	e->line = line;
}

/*
 * Load the passwd-file at path; see passwd_file.h. The line buffer is
 * wiped before return because it held hashes.
 */
struct passwd_db *
passwd_file_load(const char *path, char *err, size_t errlen)
{
	return (passwd_file_load_fp(NULL, path, err, errlen));
}

/* One line of the file (line_table.h): parse and add. */
static int
passwd_load_line(void *arg, const char *line, size_t len, size_t lineno,
    const char **why)
{
	struct passwd_db	*db = arg;
	struct span		 user, scheme, hash;
	int			 r;

	r = passwd_file_parse_line(line, len, &user, &scheme, &hash, why);
	if (r == 0)
		passwd_add(db, user, hash, lineno);
	return (r);
}

/* The same from an open stream; see passwd_file.h. */
struct passwd_db *
passwd_file_load_fp(FILE *fp, const char *path, char *err, size_t errlen)
{
	struct passwd_db	*db;
	/* The lines hold password hashes: the buffer is wiped. */
	struct line_table	 lt = { .path = path,
				    .max = PASSWD_FILE_LINE_MAX, .wipe = true,
				    .line = passwd_load_line };

	db = xcalloc(1, sizeof(*db));
	lt.arg = db;
	if (line_table_read(&lt, fp, err, errlen) == -1 ||
	    line_table_sort(&passwd_entries, db->entries, db->count, path,
	    err, errlen) == -1) {
		passwd_file_free(db);
		return (NULL);
	}
	return (db);
}

/* Write the user names; see passwd_file.h. */
bool
passwd_file_write_names(const struct passwd_db *db, FILE *fp)
{
	size_t	i;

	for (i = 0; db != NULL && i < db->count; i++)
		if (fprintf(fp, "%s\n", db->entries[i].key) < 0)
			return (false);
	return (fflush(fp) == 0);
}

/* True for a name passwd_file_write_names() can have written. */
static bool
passwd_name_ok(const char *p, size_t len)
{
	const char	*at = memchr(p, '@', len);
	size_t		 i;

	if (len == 0 || len > ADDRESS_MAX || at == NULL || at == p ||
	    at == p + len - 1)
		return (false);
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || p[i] == ':' ||
		    (unsigned char)p[i] >= 0x7f)
			return (false);
	return (true);
}

/* Read user names, one a line; see passwd_file.h. */
struct passwd_db *
passwd_file_load_names_fp(FILE *fp, const char *path, char *err,
    size_t errlen)
{
	struct passwd_db	*db;
	struct span		 user, none = { "", 0 };
	char			 buf[ADDRESS_MAX + 2];
	size_t			 lineno = 0, len;
	int			 r;

	db = xcalloc(1, sizeof(*db));
	while ((r = text_read_line(fp, buf, sizeof(buf), &len)) != 0) {
		lineno++;
		if (r < 0 || !passwd_name_ok(buf, len)) {
			snprintf(err, errlen, "%s:%zu: not a user name", path,
			    lineno);
			goto fail;
		}
		user.p = buf;
		user.len = len;
		passwd_add(db, user, none, lineno);
	}
	if (line_table_sort(&passwd_entries, db->entries, db->count, path,
	    err, errlen) == -1)
		goto fail;
	return (db);
fail:
	passwd_file_free(db);
	return (NULL);
}

static const struct passwd_entry *
passwd_find(const struct passwd_db *db, const char *key)
{
	if (db == NULL || key == NULL || db->count == 0)
		return (NULL);
	return (bsearch(key, db->entries, db->count, sizeof(db->entries[0]),
	    passwd_key_cmp));
}

/* True when key is a user; see passwd_file.h. */
bool
passwd_file_has_user(const struct passwd_db *db, const char *key)
{
	return (passwd_find(db, key) != NULL);
}

/* Constant-time equality of two crypt outputs (their lengths are public). */
static bool
passwd_hash_equal(const char *a, const char *b)
{
	size_t		la = strlen(a), lb = strlen(b), i;
	unsigned char	diff = 0;

	if (la != lb)
		return (false);
	for (i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return (diff == 0);
}

/*
 * Check password against key's hash; see passwd_file.h. For an unknown
 * user the first user's hash (or a fixed SHA512-CRYPT setting) is run
 * instead, so the reply takes as long as for a real one.
 */
bool
passwd_file_verify(const struct passwd_db *db, const char *key,
    const char *password)
{
	const struct passwd_entry	*e;
	struct crypt_data		*cd;
	const char			*setting, *out;
	bool				 ok = false;

	if (db == NULL || password == NULL)
		return (false);
	e = passwd_find(db, key);
	if (e != NULL)
		setting = e->hash;
	else if (db->count > 0)
		setting = db->entries[0].hash;
	else
		setting = passwd_dummy_setting;

	/* struct crypt_data is 32 KiB: keep it off the stack. */
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_r(password, setting, cd);
	/* libcrypt reports failure with a string starting with '*'. */
	if (out != NULL && out[0] != '*' && e != NULL)
		ok = passwd_hash_equal(out, e->hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return (ok);
}

/* Number of users; see passwd_file.h. */
size_t
passwd_file_count(const struct passwd_db *db)
{
	return (db == NULL ? 0 : db->count);
}

/* See passwd_file.h. An empty hash makes crypt_r fail, so verify is
 * always false afterwards. */
void
passwd_file_forget_hashes(struct passwd_db *db)
{
	size_t	i;

	if (db == NULL)
		return;
	for (i = 0; i < db->count; i++)
		explicit_bzero(db->entries[i].hash,
		    strlen(db->entries[i].hash));
}

/* Wipe and free; see passwd_file.h. */
void
passwd_file_free(struct passwd_db *db)
{
	size_t	i;

	if (db == NULL)
		return;
	for (i = 0; i < db->count; i++) {
		explicit_bzero(db->entries[i].key, db->entries[i].size);
		free(db->entries[i].key);
	}
	free(db->entries);
	free(db);
}

/* Hash a password with a fresh salt; see passwd_file.h. */
bool
passwd_file_hash(const char *scheme, const char *password, char *out,
    size_t outlen)
{
	struct crypt_data	*cd = NULL;
	const char		*name = NULL, *prefix = NULL, *h;
	char			*setting = NULL;
	size_t			 i;
	int			 n;
	bool			 ok = false;

	if (password == NULL || out == NULL || outlen == 0)
		return (false);
	if (scheme == NULL || *scheme == '\0')
		scheme = passwd_schemes[0].name;
	for (i = 0; i < sizeof(passwd_schemes) / sizeof(passwd_schemes[0]);
	    i++) {
		if (strcasecmp(scheme, passwd_schemes[i].name) == 0) {
			name = passwd_schemes[i].name;
			prefix = passwd_schemes[i].prefix;
			break;
		}
	}
	if (name == NULL)
		goto fail;

	/* libcrypt's default cost, except bcrypt whose default (2^5) is far
	 * below today's advice (OpenBSD uses 2^10); salt from getentropy(). */
	if ((setting = crypt_gensalt_ra(prefix, strcmp(prefix, "$2b$") == 0 ?
	    10 : 0, NULL, 0)) == NULL)
		goto fail;
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_r(password, setting, cd);
	if (h == NULL || h[0] == '*')
		goto fail;
	n = snprintf(out, outlen, "{%s}%s", name, h);
	if (n < 0 || (size_t)n >= outlen) {
		explicit_bzero(out, outlen);
		goto fail;
	}
	ok = true;

fail:
	if (cd != NULL) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	free(setting);
	if (!ok)
		out[0] = '\0';
	return (ok);
}

/* A names-only copy for another thread; see passwd_file.h. */
struct passwd_db *
passwd_file_copy_names(const struct passwd_db *db)
{
	struct passwd_db	*copy;
	size_t			 i, len;

	if (db == NULL)
		return (NULL);
	copy = xcalloc(1, sizeof(*copy));
	copy->entries = xcalloc(db->count == 0 ? 1 : db->count,
	    sizeof(*copy->entries));
	copy->count = copy->cap = db->count;
	for (i = 0; i < db->count; i++) {
		len = strlen(db->entries[i].key);
		copy->entries[i].size = len + 2;
		copy->entries[i].key = xcalloc(1, len + 2);
		memcpy(copy->entries[i].key, db->entries[i].key, len);
		copy->entries[i].hash = copy->entries[i].key + len + 1;
		copy->entries[i].line = db->entries[i].line;
	}
	return (copy);
}
