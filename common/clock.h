/*-------------------------------------------------------------------------
 *
 * clock.h
 *	  walbus's one clock: milliseconds of CLOCK_MONOTONIC, for timers,
 *	  deadlines and timeouts (never for timestamps anyone else reads).
 *
 * A header of its own, so that the programs and modules that keep time
 * (the relay's stream, control socket, backfills, trigger source and
 * metrics; walbus-tap's --timeout) do not depend on one another for it.
 * Header-only: the call is a vDSO clock_gettime, and inlining it keeps
 * it one.  No state; thread-safe.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_CLOCK_H
#define WALBUS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
wclock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* WALBUS_CLOCK_H */
