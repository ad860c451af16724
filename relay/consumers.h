/*-------------------------------------------------------------------------
 *
 * consumers.h
 *	  Durable consumers: the names configured with --durable, and what each
 *	  has acknowledged through the control socket (docs/DELIVERY.md).
 *
 * Each consumer has two positions: acked_key, the last change it has
 * applied (which the replay window must keep everything after, while the
 * consumer is connected), and acked_end, the end LSN of the last whole
 * transaction it has applied (which the flush policy in confirm.c takes
 * the minimum of).  A consumer counts as connected for the window while it
 * made a request within the consumer timeout; a stopped or crashed one
 * stops holding the stream back and is served by a rewind when it returns.
 * Nothing is persisted: at start every consumer's acked_end is the slot's
 * confirmed position, which is at most what each had acknowledged.
 *
 * Positions only move forward.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CONSUMERS_H
#define WR_CONSUMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "window.h"

typedef struct wr_consumer
{
	const char *name;  /* owned by the config */
	bool		heard; /* made a request in this process */
	int64_t		last_heard_ms;
	wr_wkey		acked_key;
	wr_wkey		released_key; /* window may forget up to here: at least
							   * acked_key, more when the consumer
							   * buffers what it has not applied yet */
	uint64_t	acked_end;
	bool		over_lag; /* past the lag limit, warned */
	int64_t		lag_warned_ms;
	uint64_t	acks;
	uint64_t	replays;
	uint64_t	rewinds;
} wr_consumer;

typedef struct wr_consumers
{
	wr_consumer c[WR_MAX_CONSUMERS];
	int			n;
	int64_t		timeout_ms;
	uint64_t	lag_limit;
	uint64_t	lag_warnings; /* times a consumer crossed the limit */
} wr_consumers;

extern void wr_consumers_init(wr_consumers *cs, const wr_config *cfg);
/* The slot's confirmed position, what every consumer has at least acked. */
extern void wr_consumers_start(wr_consumers *cs, uint64_t slot_confirmed);
extern wr_consumer *wr_consumers_find(wr_consumers *cs, const char *name,
									  size_t len);
extern void			wr_consumers_heard(wr_consumer *c, int64_t now_ms);
/* release: NULL, or a key past key the window may forget up to */
extern void wr_consumers_ack(wr_consumer *c, wr_wkey key, uint64_t end_lsn,
							 const wr_wkey *release, int64_t now_ms);

/* What the window must keep: the lowest released_key of connected
 * consumers (everything, i.e. the highest key, when none is connected). */
extern wr_wkey wr_consumers_hold(const wr_consumers *cs, int64_t now_ms);
/* Lowest acked_end over all consumers; UINT64_MAX when there are none. */
extern uint64_t wr_consumers_min_end(const wr_consumers *cs);
/* Log loudly (rate-limited) when a consumer's acks lag received_lsn by
 * more than the limit, and once when it is back under. */
extern void wr_consumers_check_lag(wr_consumers *cs, uint64_t received_lsn,
								   int64_t now_ms);
extern int	wr_consumers_over_lag(const wr_consumers *cs);
extern bool wr_consumer_connected(const wr_consumers *cs, const wr_consumer *c,
								  int64_t now_ms);

#endif /* WR_CONSUMERS_H */
