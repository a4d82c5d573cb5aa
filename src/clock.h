/*
 * clock.h: the two clocks the daemon reads, in microseconds. Records,
 * grants and bans carry wall-clock time (they are shown and stored);
 * timeouts and rates use the monotonic clock (a clock step must not end
 * them early or late).
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* CLOCK_REALTIME: microseconds since the epoch. */
int64_t clock_now_us(void);
/* CLOCK_MONOTONIC: microseconds since an arbitrary start. */
int64_t clock_mono_us(void);

/*
 * A duration as the config, the CLI and --since write it: digits and one
 * unit, s, m, h, d or w ("90s", "10m", "1w"); a bare number is seconds
 * unless unit_required. Into *secs; false for anything else or past
 * max_secs.
 */
bool clock_parse_duration(const char *s, bool unit_required,
    uint64_t max_secs, uint64_t *secs);

#endif
