/*
 * addr.h: address classification for relay decisions: is a domain one of
 * ours, and does a local part try to route mail somewhere else. Pure.
 */
#ifndef ADDR_H
#define ADDR_H

#include "pillory.h"
#include "smtp_parse.h"

/* A list of local domains, lower-case, owned by the config. */
struct domain_list {
	char	**names;
	size_t	  count;
};

/*
 * True when domain (already lower-case, as smtp_parse produces) is exactly
 * one of the local domains. Subdomains and look-alikes are not local;
 * address literals are never local.
 */
bool addr_domain_is_local(const struct domain_list *domains, const char *domain);

/*
 * True when the local part carries a routing trick: '%' (the percent
 * hack), '!' (UUCP bang path), '@' (only possible when quoted), or it was
 * quoted around any of these. pillory never interprets them; a caller that
 * sees true refuses the address for clients that may not relay.
 */
bool addr_local_has_routing(const struct smtp_path *path);

/*
 * Lower-case key "local@domain" used for user and alias lookup; out holds
 * ADDRESS_MAX + 1 bytes. Returns false if it does not fit.
 */
bool addr_lookup_key(const char *local, const char *domain, char *out);

#endif
