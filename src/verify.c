/*
 * verify.c: checks of the files and directories a config names (see
 * verify.h). Runs in `pillory check` and, for the postmaster warning, in
 * the parent at start-up and reload. Input is trusted configuration; the
 * point is to say clearly, before mail is lost, what an admin got wrong.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "addr.h"
#include "aliases.h"
#include "config.h"
#include "passwd_file.h"
#include "text.h"
#include "verify.h"

#define VERIFY_MSG_MAX	(2 * CONFIG_PATH_MAX + 512)

static void
say(verify_report_fn report, void *arg, enum verify_level level,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
say(verify_report_fn report, void *arg, enum verify_level level,
    const char *fmt, ...)
{
	char	msg[VERIFY_MSG_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(level, msg, arg);
}

/* An encrypted key cannot be used by a daemon: never prompt for it. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
verify_tls(const struct config *cfg, verify_report_fn report, void *arg)
{
	FILE		*fp;
	X509		*cert = NULL;
	EVP_PKEY	*key = NULL;
	int		 errors = 0;

	if (*cfg->tls_cert == '\0')
		return 0;
	if ((fp = fopen(cfg->tls_cert, "r")) == NULL) {
		say(report, arg, VERIFY_ERROR, "[tls] cert: %s: %s",
		    cfg->tls_cert, strerror(errno));
		errors++;
	} else {
		cert = PEM_read_X509(fp, NULL, no_passphrase, NULL);
		fclose(fp);
		if (cert == NULL) {
			say(report, arg, VERIFY_ERROR, "[tls] cert: %s: no PEM "
			    "certificate in it", cfg->tls_cert);
			errors++;
		} else if (X509_cmp_current_time(X509_get0_notAfter(cert)) <
		    0)
			say(report, arg, VERIFY_WARNING, "warning: [tls] cert: "
			    "%s: the certificate has expired", cfg->tls_cert);
	}
	if ((fp = fopen(cfg->tls_key, "r")) == NULL) {
		say(report, arg, VERIFY_ERROR, "[tls] key: %s: %s",
		    cfg->tls_key, strerror(errno));
		errors++;
	} else {
		key = PEM_read_PrivateKey(fp, NULL, no_passphrase, NULL);
		fclose(fp);
		if (key == NULL) {
			say(report, arg, VERIFY_ERROR, "[tls] key: %s: no PEM "
			    "private key in it (or it is encrypted)",
			    cfg->tls_key);
			errors++;
		}
	}
	if (cert != NULL && key != NULL &&
	    X509_check_private_key(cert, key) != 1) {
		say(report, arg, VERIFY_ERROR, "[tls] key: %s does not match "
		    "the certificate in [tls] cert %s", cfg->tls_key,
		    cfg->tls_cert);
		errors++;
	}
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(key);
	return errors;
}

int
verify_state_dir(const struct config *cfg, verify_report_fn report,
    void *arg)
{
	char		 parent[CONFIG_PATH_MAX];
	char		*slash;
	struct stat	 st;

	if (stat(cfg->state_dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		say(report, arg, VERIFY_ERROR, "[server] state_dir: %s: not a "
		    "directory", cfg->state_dir);
		return 1;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		say(report, arg, VERIFY_ERROR, "[server] state_dir: %s: %s",
		    cfg->state_dir, strerror(errno));
		return 1;
	}
	/* The server creates state_dir itself, but not its parents. */
	if (!text_copy(parent, cfg->state_dir, sizeof(parent)))
		return 0;
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		return 0;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &st) == -1) {
		say(report, arg, VERIFY_ERROR, "[server] state_dir: %s does not "
		    "exist, nor does its parent %s (%s)", cfg->state_dir,
		    parent, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		say(report, arg, VERIFY_ERROR, "[server] state_dir: %s: parent "
		    "%s is not a directory", cfg->state_dir, parent);
		return 1;
	}
	return 0;
}

void
verify_passwd_mode(const struct config *cfg, verify_report_fn report,
    void *arg)
{
	struct stat	st;

	if (*cfg->passwd_file == '\0' || stat(cfg->passwd_file, &st) == -1)
		return;
	if (st.st_mode & S_IROTH)
		say(report, arg, VERIFY_WARNING, "warning: [users] passwd_file: "
		    "%s is world-readable: every local user can read the "
		    "password hashes (chmod o-r %s)", cfg->passwd_file,
		    cfg->passwd_file);
}

/* Where mail for local@domain goes: true for a user, an alias or the
 * postmaster mailbox (which always exists, RFC 5321 4.5.1). */
static bool
local_goes_somewhere(const struct passwd_db *users,
    const struct alias_db *aliases, const char *local, const char *domain)
{
	char	key[ADDRESS_MAX + 1];

	if (!addr_lookup_key(local, domain, key))
		return false;
	if (users != NULL && passwd_file_has_user(users, key))
		return true;
	if (aliases != NULL && aliases_has(aliases, key))
		return true;
	return strcmp(local, "postmaster") == 0;
}

/* Check one target of the alias named name (both lower-case, NUL-ended). */
static void
check_target(const struct config *cfg, const struct passwd_db *users,
    const struct alias_db *aliases, const char *where, const char *name,
    const char *target, verify_report_fn report, void *arg)
{
	const char	*at = strrchr(target, '@'), *name_at;
	char		 local[LOCAL_PART_MAX + 1];
	size_t		 i;

	if (at != NULL) {
		if (!addr_domain_is_local(&cfg->domains, at + 1))
			return;		/* an outside address: forwarded */
		if (!text_copy_span(local, sizeof(local), target,
		    (size_t)(at - target)) ||
		    !local_goes_somewhere(users, aliases, local, at + 1))
			say(report, arg, VERIFY_WARNING, "%s: warning: alias "
			    "%s: target %s is neither a local user, an alias "
			    "nor an outside address: its mail goes nowhere",
			    where, name, target);
		return;
	}
	/* A bare target takes the domain of the address being expanded. */
	if ((name_at = strrchr(name, '@')) != NULL) {
		if (addr_domain_is_local(&cfg->domains, name_at + 1) &&
		    !local_goes_somewhere(users, aliases, target, name_at + 1))
			say(report, arg, VERIFY_WARNING, "%s: warning: alias "
			    "%s: target %s@%s is neither a local user, an "
			    "alias nor an outside address: its mail goes "
			    "nowhere", where, name, target, name_at + 1);
		return;
	}
	for (i = 0; i < cfg->domains.count; i++)
		if (!local_goes_somewhere(users, aliases, target,
		    cfg->domains.names[i]))
			say(report, arg, VERIFY_WARNING, "%s: warning: alias "
			    "%s: target %s@%s is neither a local user, an "
			    "alias nor an outside address: its mail goes "
			    "nowhere", where, name, target,
			    cfg->domains.names[i]);
}

void
verify_alias_targets(const struct config *cfg,
    const struct passwd_db *users, const struct alias_db *aliases,
    verify_report_fn report, void *arg)
{
	FILE		*fp;
	char		 line[ALIASES_LINE_MAX];
	char		 name[ADDRESS_MAX + 1], target[ADDRESS_MAX + 1];
	char		 where[CONFIG_PATH_MAX + 32];
	struct span	 nsp, tsp;
	const char	*why, *p, *end, *comma, *s, *e;
	size_t		 len, lineno = 0;

	if (*cfg->aliases_file == '\0' ||
	    (fp = fopen(cfg->aliases_file, "r")) == NULL)
		return;
	while (text_read_line(fp, line, sizeof(line), &len) == 1) {
		lineno++;
		if (aliases_parse_line(line, len, &nsp, &tsp, &why) != 0 ||
		    !text_copy_span(name, sizeof(name), nsp.p, nsp.len))
			continue;
		text_lower(name);
		text_printf(where, sizeof(where), "%s:%zu", cfg->aliases_file,
		    lineno);
		p = tsp.p;
		end = tsp.p + tsp.len;
		while (p < end) {
			comma = memchr(p, ',', (size_t)(end - p));
			e = comma != NULL ? comma : end;
			for (s = p; s < e && (*s == ' ' || *s == '\t'); s++)
				;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e > s && text_copy_span(target, sizeof(target), s,
			    (size_t)(e - s))) {
				text_lower(target);
				check_target(cfg, users, aliases, where, name,
				    target, report, arg);
			}
			if (comma == NULL)
				break;
			p = comma + 1;
		}
	}
	fclose(fp);
}

size_t
verify_postmaster(const struct config *cfg, const struct passwd_db *users,
    const struct alias_db *aliases, verify_report_fn report, void *arg)
{
	char	key[ADDRESS_MAX + 1];
	size_t	i, n = 0;

	for (i = 0; i < cfg->domains.count; i++) {
		if (!addr_lookup_key("postmaster", cfg->domains.names[i], key))
			continue;
		if ((users != NULL && passwd_file_has_user(users, key)) ||
		    (aliases != NULL && aliases_has(aliases, key)))
			continue;
		say(report, arg, VERIFY_WARNING, "warning: [users] "
		    "aliases_file: postmaster@%s has no alias and is not a "
		    "user: its mail lands in a mailbox nobody can read (add "
		    "\"postmaster: you@%s\")", cfg->domains.names[i],
		    cfg->domains.names[i]);
		n++;
	}
	return n;
}
