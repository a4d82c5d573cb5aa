/*
 * verify.h: checks of what a config names, beyond its syntax: the TLS
 * certificate and key, state_dir, the passwd-file's mode, alias targets
 * and each local domain's postmaster. `pillory check` runs them all;
 * `serve` repeats the postmaster warning at start-up. Runs in the parent
 * (or the command-line tool); every input is trusted configuration.
 */
#ifndef VERIFY_H
#define VERIFY_H

#include <stddef.h>

#include "pillory.h"

struct config;
struct passwd_db;
struct alias_db;

enum verify_level {
	VERIFY_WARNING,		/* worth fixing; the server runs anyway */
	VERIFY_ERROR,		/* the server would not start or not work */
};

/* Receives one finding; msg names the key ("[tls] cert: ...") or the
 * place ("FILE:LINE: ...") and is complete without a prefix. */
typedef void (*verify_report_fn)(enum verify_level level, const char *msg,
    void *arg);

/*
 * [tls] cert and key: both readable, the certificate PEM, the key a PEM
 * private key that belongs to the certificate; a certificate past its
 * notAfter is a warning. Nothing to do when cert is empty. Returns the
 * number of errors reported.
 */
int verify_tls(const struct config *cfg, verify_report_fn report, void *arg);

/*
 * [server] state_dir: a directory, or missing with a parent directory the
 * server can create it in. Returns the number of errors reported.
 */
int verify_state_dir(const struct config *cfg, verify_report_fn report,
    void *arg);

/* Warn when [users] passwd_file can be read by every local user. */
void verify_passwd_mode(const struct config *cfg, verify_report_fn report,
    void *arg);

/*
 * Warn, as "FILE:LINE: warning: ...", for each alias target in local
 * domains that is neither a user, another alias nor postmaster: mail for
 * it goes nowhere. A bare target under a bare name is checked in every
 * local domain. users and aliases may be NULL (no such file). Lines the
 * parser refuses were already errors when aliases was loaded; they are
 * skipped here.
 */
void verify_alias_targets(const struct config *cfg,
    const struct passwd_db *users, const struct alias_db *aliases,
    verify_report_fn report, void *arg);

/*
 * Warn for each local domain whose postmaster (RFC 5321 4.5.1) is neither
 * an alias nor a user: its mail lands in a Maildir nobody can log in to.
 * Returns the number of such domains. Pure: no I/O apart from report().
 */
size_t verify_postmaster(const struct config *cfg,
    const struct passwd_db *users, const struct alias_db *aliases,
    verify_report_fn report, void *arg);

#endif
