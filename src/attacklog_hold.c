/*
 * attacklog_hold.c: records wait for their client's name (attacklog_hold.h).
 *
 * Runs on the engine's event loop. The DNS request's argument is the hold,
 * not the session, so a session may close while its look-up runs: the
 * hold then becomes an orphan that writes its records and frees itself
 * when the answer (or the resolver's timeout) comes.
 *
 *	new --answer--> KNOWN --release--> freed
 *	new --release--> ORPHAN --answer--> records written, freed
 *
 * Input: the records are our own; the name comes from dns.c, which only
 * returns valid host names or "unknown".
 */
#include <stdlib.h>
#include <string.h>

#include "attacklog.h"
#include "attacklog_hold.h"
#include "dns.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

struct attacklog_hold {
	struct attacklog	*al;
	struct dns_req		*req;
	bool			 known;
	bool			 released;	/* the session is gone */
	char			 name[DOMAIN_MAX + 1];
	attacklog_hold_cb	 cb;
	void			*cbarg;
	struct attack_record	*held;
	size_t			 nheld, capheld;
	struct attacklog_hold	*prev, *next;	/* holds_all */
};

/* Every live hold, for attacklog_hold_close(), and the records they
 * hold together. Event loop only. */
static struct attacklog_hold	*holds_all;
static size_t			 held_total;

static void
hold_unlink(struct attacklog_hold *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		holds_all = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
}

static void
hold_free(struct attacklog_hold *h)
{
	hold_unlink(h);
	free(h->held);
	free(h);
}

/* Write what is held under the current name ("unknown" until known). */
static void
hold_flush(struct attacklog_hold *h)
{
	size_t	i;

	for (i = 0; i < h->nheld; i++) {
		(void)text_copy(h->held[i].client_name, h->name,
		    sizeof(h->held[i].client_name));
		(void)attacklog_record(h->al, &h->held[i]);
	}
	held_total -= h->nheld;
	h->nheld = 0;
}

static void
hold_dns_done(const char *name, void *arg)
{
	struct attacklog_hold	*h = arg;

	h->req = NULL;
	h->known = true;
	(void)text_copy(h->name, name, sizeof(h->name));
	if (h->nheld > 0)
		log_debug("attack log: %zu records held for the name %s",
		    h->nheld, h->name);
	hold_flush(h);
	if (h->released) {
		hold_free(h);
		return;
	}
	if (h->cb != NULL)
		h->cb(h->name, h->cbarg);
}

struct attacklog_hold *
attacklog_hold_new(struct attacklog *al, struct dns *dns,
    const struct sockaddr *sa, attacklog_hold_cb cb, void *arg)
{
	struct attacklog_hold	*h;

	h = xcalloc(1, sizeof(*h));
	h->al = al;
	h->cb = cb;
	h->cbarg = arg;
	(void)text_copy(h->name, "unknown", sizeof(h->name));
	h->next = holds_all;
	if (holds_all != NULL)
		holds_all->prev = h;
	holds_all = h;
	if (dns == NULL) {
		hold_dns_done("unknown", h);
		return (h);
	}
	/* A cache hit calls hold_dns_done() before this returns (and
	 * returns NULL): req stays as that call left it. */
	h->req = dns_fcrdns(dns, sa, hold_dns_done, h);
	return (h);
}

const char *
attacklog_hold_name(const struct attacklog_hold *h)
{
	return (h->known ? h->name : NULL);
}

bool
attacklog_hold_record(struct attacklog_hold *h,
    const struct attack_record *rec)
{
	struct attack_record	 r;
	struct attack_record	*grown;
	size_t			 ncap;

	if (h->al == NULL)
		return (false);
	if (h->known || h->nheld >= ATTACKLOG_HOLD_MAX ||
	    held_total >= ATTACKLOG_HOLD_TOTAL_MAX) {
		r = *rec;
		(void)text_copy(r.client_name, h->name, sizeof(r.client_name));
		return (attacklog_record(h->al, &r));
	}
	if (h->nheld == h->capheld) {
		ncap = h->capheld == 0 ? 4 : h->capheld * 2;
		if (ncap > ATTACKLOG_HOLD_MAX)
			ncap = ATTACKLOG_HOLD_MAX;
		grown = xreallocarray(h->held, ncap, sizeof(*grown));
		h->held = grown;
		h->capheld = ncap;
	}
	h->held[h->nheld++] = *rec;
	held_total++;
	return (false);
}

void
attacklog_hold_release(struct attacklog_hold *h)
{
	if (h == NULL)
		return;
	h->cb = NULL;
	h->cbarg = NULL;
	if (h->known || h->req == NULL) {
		hold_flush(h);
		hold_free(h);
		return;
	}
	/* The look-up goes on; hold_dns_done() writes and frees. */
	h->released = true;
}

void
attacklog_hold_close(struct attacklog *al)
{
	struct attacklog_hold	*h, *next;

	for (h = holds_all; h != NULL; h = next) {
		next = h->next;
		if (h->al != al)
			continue;
		hold_flush(h);
		if (h->released) {
			/* Its DNS request dies with the resolver. */
			hold_free(h);
			continue;
		}
		h->al = NULL;
	}
}
