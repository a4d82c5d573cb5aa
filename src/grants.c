/*
 * grants.c: POP-before-SMTP grants (grants.h) on the engine's loop. They
 * live in the store so that a restart keeps them and `pillory grants
 * revoke` ends one at once; a point lookup in SQLite's page cache costs
 * microseconds and is only made for recipients that need a licence.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "engine.h"
#include "grants.h"
#include "log.h"
#include "store.h"
#include "text.h"

bool
grants_key(const struct sockaddr *sa, unsigned prefix6, char *out,
    size_t size)
{
	char			 a[IPADDR_TEXT_MAX];
	struct in6_addr		 net;
	unsigned		 i;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    a, sizeof(a));
		return text_copy(out, a, size);
	}
	if (sa->sa_family != AF_INET6)
		return false;
	net = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&net)) {
		inet_ntop(AF_INET, net.s6_addr + 12, a, sizeof(a));
		return text_copy(out, a, size);
	}
	if (prefix6 >= 128) {
		inet_ntop(AF_INET6, &net, a, sizeof(a));
		return text_copy(out, a, size);
	}
	for (i = 0; i < 16; i++) {
		int keep = (int)prefix6 - (int)i * 8;

		net.s6_addr[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));
	}
	inet_ntop(AF_INET6, &net, a, sizeof(a));
	return text_printf(out, size, "%s/%u", a, prefix6);
}

void
grants_add(struct engine *eng, const struct sockaddr *sa, const char *user)
{
	const struct config	*cfg = eng->cfg;
	char			 key[IPADDR_TEXT_MAX + 8];

	if (cfg->pop_before_smtp == 0 || eng->store == NULL ||
	    !grants_key(sa, (unsigned)cfg->pop_before_smtp_v6_prefix, key,
	    sizeof(key)))
		return;
	if (store_grant_put(eng->store, key, user, clock_now_us() +
	    (int64_t)cfg->pop_before_smtp * 1000000) != 0) {
		log_err("grant %s for %s: %s", key, user,
		    eng->store->ops->errmsg(eng->store));
		return;
	}
	log_info("grant %s user=%s for %llus", key, user,
	    (unsigned long long)cfg->pop_before_smtp);
}

bool
grants_check(struct engine *eng, const struct sockaddr *sa, char *user_out)
{
	const struct config	*cfg = eng->cfg;
	char			 key[IPADDR_TEXT_MAX + 8];
	char			 user[ADDRESS_MAX + 1];
	int			 rc;

	if (cfg->pop_before_smtp == 0 || eng->store == NULL ||
	    !grants_key(sa, (unsigned)cfg->pop_before_smtp_v6_prefix, key,
	    sizeof(key)))
		return false;
	rc = store_grant_get(eng->store, key, clock_now_us(), user,
	    sizeof(user), NULL);
	if (rc == -1) {
		/* Fail closed: no proof, no relay. */
		log_err("grant lookup %s: %s", key,
		    eng->store->ops->errmsg(eng->store));
		return false;
	}
	if (rc == 0 && user_out != NULL)
		text_copy(user_out, user, ADDRESS_MAX + 1);
	return rc == 0;
}
