/*
 * emit.h: the one emitter of the public site. Every byte of HTML, Atom
 * (XML) and JSON that the publisher writes goes through a struct emit, and
 * every string that did not come from our own source code (addresses,
 * HELO names, client names, senders, log lines: attacker-controlled; the
 * host name and message texts: trusted, but escaped all the same) goes
 * through emit_text() (HTML and XML text and quoted attribute values) or
 * emit_json() (a JSON string). emit_raw() and emit_fmt() are for markup
 * and numbers that our code writes, never for data.
 *
 * Pure: no I/O. Runs in the publisher thread and in `pillory publish`.
 * Out of memory is a tier-3 error (abort with file:line), as everywhere.
 *
 * Escaping rules (tested in tests/unit/test_emit.c, fuzzed by
 * tests/fuzz/fuzz_emit.c):
 *   text: & < > " ' become &amp; &lt; &gt; &quot; &#39;; C0 controls other
 *     than TAB and LF, CR, DEL, C1 controls, U+FFFE/U+FFFF and invalid
 *     UTF-8 become U+FFFD (XML 1.0 2.2 forbids most of them, HTML calls
 *     them parse errors); the result is valid UTF-8 in HTML and XML.
 *   json: RFC 8259 7 plus: < > & ' as \u003c \u003e \u0026 \u0027 (so
 *     "</script>" and "<!--" never appear), DEL as \u007f, U+2028 and
 *     U+2029 escaped (JavaScript line terminators), invalid UTF-8 as
 *     \ufffd.
 */
#ifndef EMIT_H
#define EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing output buffer; zero it or use emit_init(). */
struct emit {
	char	*buf;		/* NUL-terminated when cap > 0 */
	size_t	 len;
	size_t	 cap;
};

/* An empty emitter. */
void emit_init(struct emit *e);
/* Forget the contents, keep the memory. */
void emit_reset(struct emit *e);
/* Free the memory; e is empty afterwards. */
void emit_free(struct emit *e);

/* Our own markup or text, copied as it is. Never for data. */
void emit_raw(struct emit *e, const char *s);
void emit_rawn(struct emit *e, const char *s, size_t n);
/* printf for numbers and our own constant tokens. Never pass data
 * through %s: use emit_text() or emit_json(). */
void emit_fmt(struct emit *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* s escaped for HTML or XML text and double-quoted attribute values. */
void emit_text(struct emit *e, const char *s);
void emit_textn(struct emit *e, const char *s, size_t n);

/* s as a quoted JSON string, escaped as above. */
void emit_json(struct emit *e, const char *s);
void emit_jsonn(struct emit *e, const char *s, size_t n);

/* A decimal number: plain, or grouped by thousands with ','. */
void emit_u64(struct emit *e, uint64_t v);
void emit_u64_grouped(struct emit *e, uint64_t v);

/*
 * A message text with placeholders {1} .. {9} replaced by args[0] ..
 * args[8] (missing arguments become nothing; "{{" is a literal '{'). Both
 * the text and the arguments go through emit_text(): message tables and
 * the values put into them are plain text, never markup.
 */
void emit_template(struct emit *e, const char *tmpl,
    const char *const *args, size_t nargs);

/*
 * The length of the UTF-8 sequence at s (n bytes left) when it is a
 * valid, shortest-form encoding of a scalar value, with its code point in
 * *cp_out; 0 when it is not. Exposed for the tests and the fuzzer.
 */
size_t emit_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp_out);

#endif
