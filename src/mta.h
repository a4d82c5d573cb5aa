/*
 * mta.h: delivery to one destination: a domain by its MX records (RFC
 * 5321 5.1), or the configured relayhost. Finds the hosts and addresses,
 * refuses to deliver to ourselves, and runs SMTP sessions (mta_session.h)
 * until one of them carries the first job; that session then takes more
 * jobs for the same destination from the owner (queue.c).
 */
#ifndef MTA_H
#define MTA_H

#include <stdbool.h>
#include <stddef.h>

#include "mta_session.h"

struct engine;
struct mta;
struct mta_ctx;

/* Addresses (over all MX hosts) one delivery tries before it gives up. */
#define MTA_CONNECT_MAX		10

/*
 * What every delivery shares: the TLS client context and the addresses
 * of this host (for loop detection). Made once by queue_start(); NULL with
 * a reason in err when TLS cannot be set up.
 */
struct mta_ctx *mta_ctx_new(struct engine *eng, char *err, size_t errlen);
void mta_ctx_free(struct mta_ctx *ctx);

struct mta_ops {
	/* Another job for the same destination, or NULL. */
	struct mta_job	*(*next)(void *arg);
	/* A job is finished: every recipient has its result. */
	void		 (*done)(struct mta_job *job, void *arg);
	/* The connection is open and waits for mta_push() (next gave
	 * nothing); it closes after MTA_IDLE_TIME and then ends. */
	void		 (*idle)(void *arg);
	/*
	 * The delivery is over and freed. result is MTA_OK when some
	 * server was reached; otherwise MTA_TEMP or MTA_PERM with an RFC
	 * 3463 status and the reason, which the first job has got already
	 * and which the owner may give to other jobs waiting for the same
	 * destination.
	 */
	void		 (*end)(enum mta_result result, const char *status,
	    const char *why, void *arg);
};

struct mta_dest {
	const char	*name;		/* domain, or the relayhost setting */
	bool		 relay;		/* name is a relayhost setting */
	/* relayhost credentials file ("" none): lines "HOST USER:PASSWORD",
	 * HOST as in the relayhost setting, its bare host, or "*" */
	const char	*auth_file;
};

/*
 * Start delivering first (and then what ops->next gives) to dest. The
 * strings of dest are copied. Callbacks come from the event loop, never
 * from inside this call. The delivery frees itself after ops->end.
 */
struct mta *mta_start(struct mta_ctx *ctx, const struct mta_dest *dest,
    struct mta_job *first, const struct mta_ops *ops, void *arg);

/* Stop at once without callbacks (shutdown). NULL is ignored. */
void mta_free(struct mta *m);

/* Hand a job to a delivery that said idle (and has not ended). */
void mta_push(struct mta *m, struct mta_job *job);

/*
 * Split a relayhost setting: "host", "host:port", "[host]" or
 * "[host]:port" (an IPv6 literal needs the brackets). host_out holds
 * DOMAIN_MAX + 1; *port_out is default_port when none is given; *mx_out
 * says whether to look up MX records (no brackets, not an address).
 * False when the setting does not parse. Pure.
 */
bool mta_parse_relayhost(const char *text, char *host_out,
    unsigned *port_out, bool *mx_out, unsigned default_port);

/*
 * Find "HOST USER:PASSWORD" for relayhost in the credentials text (len
 * octets; '#' comments and blank lines skipped). HOST matches the setting
 * as written, its bare host (ASCII case ignored), or "*"; the first match
 * wins. user_out and pass_out hold size octets each. Returns 1 when
 * found, 0 when no line matches, -1 on a malformed line. Pure.
 */
int mta_parse_auth(const char *text, size_t len, const char *relayhost,
    char *user_out, char *pass_out, size_t size);

/*
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 2.5.5.2) in ss
 * becomes the IPv4 address a.b.c.d with the same port; anything else is
 * left as it is. Pure.
 */
void mta_addr_unmap(struct sockaddr_storage *ss);

/* True for 0.0.0.0 and :: (the unspecified addresses). Pure. */
bool mta_addr_is_unspecified(const struct sockaddr_storage *ss);

#endif
