/*-------------------------------------------------------------------------
 *
 * clock.h
 *	  The relay's one clock: milliseconds of CLOCK_MONOTONIC, for timers,
 *	  deadlines and timeouts (never for timestamps anyone else reads).
 *
 * A header of its own, so that the modules that keep time (the stream, the
 * control socket, backfills, the trigger source, metrics) do not depend on
 * one another for it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CLOCK_H
#define WR_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
wr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif							/* WR_CLOCK_H */
