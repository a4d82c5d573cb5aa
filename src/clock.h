/*
 * clock.h: the two clocks the daemon reads, in microseconds. Records,
 * grants and bans carry wall-clock time (they are shown and stored);
 * timeouts and rates use the monotonic clock (a clock step must not end
 * them early or late).
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* CLOCK_REALTIME: microseconds since the epoch. */
int64_t clock_now_us(void);
/* CLOCK_MONOTONIC: microseconds since an arbitrary start. */
int64_t clock_mono_us(void);

#endif
