/*
 * relay.h: the one relay decision. Pure: given what is known about the
 * client and one recipient, say whether the recipient is delivered here,
 * relayed, or refused, and whether the refusal is an attack. Runs in the
 * engine; its inputs come from untrusted clients but are already parsed.
 */
#ifndef RELAY_H
#define RELAY_H

#include "pillory.h"

struct relay_input {
	/* How the client proved itself (any one licenses relaying). */
	bool	client_trusted;		/* in [relay] trusted_networks */
	bool	client_authenticated;	/* SMTP AUTH succeeded */
	bool	client_pop_grant;	/* live POP-before-SMTP grant */
	/* MAIL FROM, for classification only: never a licence. */
	bool	sender_null;
	bool	sender_local;		/* domain is one of ours */
	/* The recipient. */
	bool	rcpt_local_domain;
	bool	rcpt_literal;		/* user@[192.0.2.1] */
	bool	rcpt_routing;		/* % ! or quoted @ in the local part */
	bool	reject_forged_local_sender;
};

enum relay_verdict {
	RELAY_DELIVER_LOCAL = 0,	/* look the user up; 550 5.1.1 if none */
	RELAY_ALLOW,			/* outside recipient, client licensed */
	RELAY_DENY,			/* 554 5.7.1 relay access denied */
	RELAY_DENY_FORGED_LOCAL,	/* 550 5.7.1 local sender from outside */
	RELAY_DENY_LITERAL,		/* 550 5.7.1 address literal recipient */
};

struct relay_decision {
	enum relay_verdict	verdict;
	bool			is_attack;	/* record it in the attack log */
	enum attack_kind	kind;		/* valid when is_attack */
};

/* Decide for one recipient. Never fails. */
struct relay_decision relay_decide(const struct relay_input *in);

/* "deliver-local", "allow", ... for logs. */
const char *relay_verdict_name(enum relay_verdict verdict);

#endif
