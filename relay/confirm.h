/*-------------------------------------------------------------------------
 *
 * confirm.h
 *	  The relay's flush policy: which WAL position it reports to the slot
 *	  as flushed, i.e. what PostgreSQL may forget.
 *
 * This is the one place that decides.  Today (best effort, no durable
 * consumers) a transaction counts as flushed once all of its envelopes
 * and its _txn message are handed to the bus, and a keepalive's WAL end
 * counts when no transaction is open (nothing received is unpublished, so
 * every commit before that position is on the bus).  With durable
 * consumers (issue 4) the same entry points will instead track the lowest
 * end LSN acknowledged by every consumer, and keepalives will advance the
 * position only when nothing is unacknowledged.
 *
 * Positions only move forward.  Single-threaded; no failure modes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CONFIRM_H
#define WR_CONFIRM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct wr_confirm
{
	uint64_t	flushed;		/* what the next status update reports */
	bool		txn_open;		/* a transaction is partly published */
} wr_confirm;

/* start: the slot's confirmed position when streaming (re)starts. */
extern void wr_confirm_init(wr_confirm *c, uint64_t start);
extern void wr_confirm_restart(wr_confirm *c, uint64_t slot_confirmed);
extern void wr_confirm_txn_begin(wr_confirm *c);
extern void wr_confirm_txn_published(wr_confirm *c, uint64_t end_lsn);
extern void wr_confirm_keepalive(wr_confirm *c, uint64_t wal_end);
static inline uint64_t
wr_confirm_flushed(const wr_confirm *c)
{
	return c->flushed;
}

#endif							/* WR_CONFIRM_H */
