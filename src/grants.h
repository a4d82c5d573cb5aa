/*
 * grants.h: POP-before-SMTP relay grants. A successful POP3 login grants
 * its client address relay for [relay] pop_before_smtp; the grant lives in
 * the store (it survives a restart and is shared by every MX host of a
 * PostgreSQL store) and is checked by the relay decision.
 */
#ifndef GRANTS_H
#define GRANTS_H

#include <sys/socket.h>
#include <time.h>

#include "pillory.h"

struct engine;

/* Grant (or renew) relay for sa on behalf of user until now + the
 * configured time. No-op when pop_before_smtp is 0. */
void grants_add(struct engine *eng, const struct sockaddr *sa,
    const char *user);

/* True when sa has a live grant; its user is copied into user_out
 * (ADDRESS_MAX + 1 bytes) when not NULL. */
bool grants_check(struct engine *eng, const struct sockaddr *sa,
    char *user_out);

/* The store key of sa: the address, or for IPv6 with prefix6 < 128 the
 * network ("2001:db8::/64"). out holds IPADDR_TEXT_MAX + 4 bytes. */
bool grants_key(const struct sockaddr *sa, unsigned prefix6, char *out,
    size_t size);

#endif
