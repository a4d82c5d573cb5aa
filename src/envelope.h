/*
 * envelope.h: the queue entry record STATE_DIR/queue/ID.env, version 1,
 * and the retry arithmetic of the queue. Pure: parse and format work on
 * memory; queue.c and cmd_queue.c do the file I/O.
 *
 * The file is text, one "key value" per line, LF line ends, the value
 * running to the end of the line (addresses may hold spaces when quoted):
 *
 *	pillory-envelope 1		always first
 *	id ID				the queue id (file name stem)
 *	arrival UNIX			when the SMTP server accepted it
 *	sender ADDR			empty for the null sender <>
 *	size OCTETS			optional: size with CRLF line ends
 *	attempts N			optional: delivery attempts so far
 *	next-try UNIX			optional: not before this
 *	last-error TEXT			optional: why the last attempt failed
 *	warned 1			optional: delay notice sent
 *	active 1			only in control-socket answers
 *	rcpt ADDR			one per recipient, in order
 *	rcpt-state STATE		optional, after its rcpt: pending,
 *					sent, failed, bounced (default pending)
 *	rcpt-status X.Y.Z		optional: last RFC 3463 status
 *	rcpt-remote HOST		optional: remote MTA that answered
 *	rcpt-diag TEXT			optional: its reply, or our reason
 *
 * The SMTP server (spool.c) writes the first five kinds; the queue
 * rewrites the whole file (temp, fsync, rename) as delivery goes on.
 * Recipient states: "sent" got a 250 from the remote side; "failed" got a
 * permanent failure that still has to be reported to the sender;
 * "bounced" has been reported (or could not be: null sender). An entry is
 * finished when no recipient is pending or failed.
 */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pillory.h"

/* Largest envelope file read; bigger is refused as corrupt. */
#define ENVELOPE_MAX		(16 * 1024 * 1024)
/* Recipients in one entry: the largest [smtp] max_recipients. */
#define ENVELOPE_RCPTS_MAX	100000
/* Queue id: as spool.h SPOOL_ID_MAX, letters and digits only. */
#define ENVELOPE_ID_MAX		24
/* RFC 3463 status "x.yyy.zzz" and NUL. */
#define ENVELOPE_STATUS_MAX	12
/* Diagnostic and last-error text kept (longer is cut, on a character). */
#define ENVELOPE_TEXT_MAX	512
/* Retry interval when the config gives none. */
#define ENVELOPE_RETRY_DEFAULT	300

enum envelope_rcpt_state {
	ENVELOPE_PENDING = 0,
	ENVELOPE_SENT,
	ENVELOPE_FAILED,
	ENVELOPE_BOUNCED,
	ENVELOPE_STATE_COUNT
};

struct envelope_rcpt {
	char				*addr;
	enum envelope_rcpt_state	 state;
	char				 status[ENVELOPE_STATUS_MAX];
	char				*remote;	/* NULL: none */
	char				*diag;		/* NULL: none */
};

struct envelope {
	char			 id[ENVELOPE_ID_MAX];
	int64_t			 arrival;
	char			 sender[ADDRESS_MAX + 1];
	uint64_t		 size;		/* 0: unknown */
	unsigned		 attempts;
	int64_t			 next_try;	/* 0: at once */
	char			*last_error;	/* NULL: none */
	bool			 warned;
	bool			 active;	/* never written to disk */
	struct envelope_rcpt	*rcpts;
	size_t			 nrcpts, cap;
};

/*
 * Parse len octets of envelope text into env_out (which the caller later
 * gives to envelope_free(), also after a failure). Returns 0, or -1 with
 * "line N: reason" in err. Refuses: a missing or different first line,
 * a missing id/arrival/sender or no rcpt, an id that is not 1 to
 * ENVELOPE_ID_MAX - 1 letters and digits, duplicate message keys,
 * unknown keys, rcpt-* before any rcpt, control characters (NUL, CR,
 * TAB, DEL) anywhere, a last line without LF, addresses longer than
 * ADDRESS_MAX, texts longer than ENVELOPE_TEXT_MAX, more than
 * ENVELOPE_RCPTS_MAX recipients, numbers that are not plain decimal, and
 * len above ENVELOPE_MAX.
 */
int envelope_parse(const char *buf, size_t len, struct envelope *env_out,
    char *err, size_t errlen);

/*
 * Format env as envelope text (what envelope_parse() reads back) into a
 * new buffer of *len_out octets, NUL-terminated; the caller frees it.
 * Control characters in texts become '?', so one value is one line.
 */
char *envelope_format(const struct envelope *env, size_t *len_out);

/* Start an empty envelope with the given id (letters and digits). */
void envelope_init(struct envelope *env, const char *id);

/* Add a pending recipient; the address is copied. */
struct envelope_rcpt *envelope_add_rcpt(struct envelope *env,
    const char *addr);

/* Replace a text field (last_error, rcpt remote/diag) with a copy of text,
 * cut to ENVELOPE_TEXT_MAX - 1 octets; NULL or "" clears it. */
void envelope_set_text(char **field, const char *text);

/* Free what env holds (not env itself); env is then empty. */
void envelope_free(struct envelope *env);

/* Recipients in state st. */
size_t envelope_count(const struct envelope *env,
    enum envelope_rcpt_state st);

/* "pending", "sent", "failed", "bounced". */
const char *envelope_state_name(enum envelope_rcpt_state st);

/* True for 1 to ENVELOPE_ID_MAX - 1 ASCII letters and digits: safe as a
 * file name stem. */
bool envelope_id_is_valid(const char *id);

/*
 * Seconds to wait after the attempts-th failed attempt (attempts >= 1):
 * intervals[attempts - 1], the last interval repeating; n == 0 gives
 * ENVELOPE_RETRY_DEFAULT; never less than 1.
 */
uint64_t envelope_retry_delay(const uint64_t *intervals, size_t n,
    unsigned attempts);

#endif
