/*
 * relay.c: the relay decision (README, "Relay control"). A recipient
 * outside our domains is accepted only from a client that proved who it
 * is: a trusted network, SMTP AUTH, or a live POP-before-SMTP grant.
 * MAIL FROM, HELO and the address the client connected to are never a
 * licence; they only classify the refusal (the seed's attack forged our
 * own domain as sender).
 * Routing tricks and address literals are never interpreted, so they can
 * never route mail out through a local address.
 */
#include "relay.h"

struct relay_decision
relay_decide(const struct relay_input *in)
{
	struct relay_decision	d = { RELAY_DENY, false, ATTACK_RELAY };
	bool			licensed = in->client_trusted ||
	    in->client_authenticated || in->client_pop_grant;
	enum attack_kind	relay_kind = in->sender_local ?
	    ATTACK_SPOOFED_RELAY : ATTACK_RELAY;

	if (in->rcpt_literal) {
		/*
		 * We have no mailbox at an address literal and never route to
		 * one; from an unlicensed client it is a relay probe.
		 */
		d.verdict = licensed ? RELAY_DENY_LITERAL : RELAY_DENY;
		d.is_attack = !licensed;
		d.kind = relay_kind;
		return d;
	}
	if (in->rcpt_local_domain) {
		if (in->rcpt_routing && !licensed) {
			/* user%victim@ours, "a@victim"@ours, victim!user@ours:
			 * the classic ways to bounce mail off an MX. */
			d.verdict = RELAY_DENY;
			d.is_attack = true;
			d.kind = relay_kind;
			return d;
		}
		if (in->sender_local && !licensed &&
		    in->reject_forged_local_sender) {
			d.verdict = RELAY_DENY_FORGED_LOCAL;
			d.is_attack = true;
			d.kind = ATTACK_FORGED_LOCAL;
			return d;
		}
		d.verdict = RELAY_DELIVER_LOCAL;
		return d;
	}
	if (licensed) {
		d.verdict = RELAY_ALLOW;
		return d;
	}
	d.verdict = RELAY_DENY;
	d.is_attack = true;
	d.kind = relay_kind;
	return d;
}

const char *
relay_verdict_name(enum relay_verdict verdict)
{
	switch (verdict) {
	case RELAY_DELIVER_LOCAL:
		return "deliver-local";
	case RELAY_ALLOW:
		return "allow";
	case RELAY_DENY:
		return "deny";
	case RELAY_DENY_FORGED_LOCAL:
		return "deny-forged-local";
	case RELAY_DENY_LITERAL:
		return "deny-literal";
	}
	return "?";
}
