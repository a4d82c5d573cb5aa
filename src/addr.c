/*
 * addr.c: address classification for relay decisions: is a domain one of
 * ours, does a local part try to route mail elsewhere, and the lower-case
 * key used to look an address up.
 *
 * Runs in the unprivileged engine. Its inputs are paths that smtp_parse.c
 * has already checked (RFC 5321 4.1.2), and the local domain list from the
 * configuration. Pure: no I/O, no allocation.
 *
 * RFC 5321 2.4 and 4.1.2: domains compare case-insensitively; local parts
 * are case-sensitive on the wire, but pillory's own users and aliases are
 * looked up case-insensitively. RFC 5321 3.6.1 and appendix C: pillory
 * never interprets source routes, the percent hack or bang paths.
 */
#include <string.h>

#include "addr.h"

static char
to_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

static bool
case_equal(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (to_lower(*a) != to_lower(*b))
			return false;
	return *a == *b;
}

/*
 * addr_domain_is_local: see addr.h. Exact comparison, ignoring ASCII case
 * on both sides; a NULL list, a NULL or empty domain, or an address literal
 * ("[...]") is never local, even if the list names the literal.
 */
bool
addr_domain_is_local(const struct domain_list *domains, const char *domain)
{
	size_t	i;

	if (domains == NULL || domain == NULL || domain[0] == '\0' ||
	    domain[0] == '[')
		return false;
	for (i = 0; i < domains->count; i++)
		if (domains->names[i] != NULL &&
		    case_equal(domains->names[i], domain))
			return true;
	return false;
}

/*
 * addr_local_has_routing: see addr.h. path->local has its quoting already
 * undone, so a quoted "a@b" or "a%b" shows its '@' or '%' here.
 */
bool
addr_local_has_routing(const struct smtp_path *path)
{
	return strpbrk(path->local, "%!@") != NULL;
}

/*
 * addr_lookup_key: see addr.h. Writes "local@domain" in ASCII lower case,
 * with the local part as stored (no quoting added). On false, out is the
 * empty string.
 */
bool
addr_lookup_key(const char *local, const char *domain, char *out)
{
	size_t	local_len, domain_len, i;

	out[0] = '\0';
	local_len = strlen(local);
	domain_len = strlen(domain);
	if (local_len > ADDRESS_MAX || domain_len > ADDRESS_MAX - local_len ||
	    local_len + domain_len + 1 > ADDRESS_MAX)
		return false;
	for (i = 0; i < local_len; i++)
		out[i] = to_lower(local[i]);
	out[local_len] = '@';
	for (i = 0; i < domain_len; i++)
		out[local_len + 1 + i] = to_lower(domain[i]);
	out[local_len + 1 + domain_len] = '\0';
	return true;
}
