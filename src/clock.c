/*
 * clock.c: the daemon's two clocks (clock.h).
 */
#include <time.h>

#include "clock.h"

int64_t
clock_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool
clock_parse_duration(const char *s, bool unit_required, uint64_t max_secs,
    uint64_t *secs)
{
	uint64_t	v = 0, mul = 1;
	size_t		i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return false;
	switch (s[i]) {
	case '\0':
		if (unit_required)
			return false;
		break;
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	case 'w':
		mul = 7 * 86400;
		break;
	default:
		return false;
	}
	if (s[i] != '\0' && s[i + 1] != '\0')
		return false;
	if (v > max_secs / mul)
		return false;
	*secs = v * mul;
	return true;
}
