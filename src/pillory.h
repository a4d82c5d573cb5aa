/*
 * pillory.h: the shared vocabulary of every module: protocol limits (with
 * the RFC sections they come from), attack kinds, and the span type that
 * parsers hand back. Nothing here does I/O.
 */
#ifndef PILLORY_H
#define PILLORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PILLORY_VERSION "0.1.0"

/* RFC 5321 4.5.3.1.4: a command line is at most 512 octets with CRLF. */
#define SMTP_COMMAND_LINE_MAX	512
/* RFC 1870 and friends add parameters to MAIL; leave room for them. */
#define SMTP_COMMAND_EXT_ROOM	512
#define SMTP_LINE_MAX		(SMTP_COMMAND_LINE_MAX + SMTP_COMMAND_EXT_ROOM)
/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with CRLF. */
#define SMTP_TEXT_LINE_MAX	1000
/* RFC 5321 4.5.3.1.1 local part, 4.5.3.1.2 domain, 4.5.3.1.3 path. */
#define LOCAL_PART_MAX		64
#define DOMAIN_MAX		255
#define PATH_MAX_OCTETS		256
/* An address written out as local@domain, quotes included. */
#define ADDRESS_MAX		(LOCAL_PART_MAX * 2 + 2 + 1 + DOMAIN_MAX)
/* RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted. */
#define SMTP_RECIPIENTS_MIN	100
/* HELO/EHLO argument we keep (a domain or an address literal). */
#define HELO_MAX		DOMAIN_MAX
/* Textual IPv6 address with brackets, zone and NUL. */
#define IPADDR_TEXT_MAX		64
/* Session identifiers are 16 hex digits. */
#define SESSION_ID_MAX		17
/* Alias expansion depth (sendmail and Postfix use about 1000; 8 is
 * already more than any real alias chain needs). */
#define ALIAS_DEPTH_MAX		8
/* Targets one address may expand to, after all levels. */
#define ALIAS_TARGETS_MAX	1000
/* RFC 5321 6.3: a message with too many Received headers is looping. */
#define RECEIVED_HOPS_MAX	100

/* Attack kinds, as the README names them; the names are an interface. */
enum attack_kind {
	ATTACK_RELAY = 0,	/* outside sender to outside recipient */
	ATTACK_SPOOFED_RELAY,	/* local-domain sender to outside recipient */
	ATTACK_FORGED_LOCAL,	/* local sender to local recipient, from outside */
	ATTACK_AUTH_FAIL,
	ATTACK_PROTOCOL,
	ATTACK_BANNED,
	ATTACK_BLOCKLISTED,	/* listed by a [defense] dnsbl zone */
	ATTACK_KIND_COUNT
};

/* A run of bytes inside a buffer somebody else owns. */
struct span {
	const char	*p;
	size_t		 len;
};

#endif
