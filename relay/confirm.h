/*-------------------------------------------------------------------------
 *
 * confirm.h
 *	  The relay's flush policy: which WAL position it reports to the slot
 *	  as flushed, i.e. what PostgreSQL may forget.
 *
 * This is the one place that decides.  Best effort (no durable
 * consumers): a transaction counts as flushed once all of its frames
 * and its _txn frame are handed to the bus, and a keepalive's WAL end
 * counts when no transaction is open (nothing received is unpublished, so
 * every commit before that position is on the bus).  Durable: only the
 * lowest end LSN that every durable consumer has acknowledged counts
 * (wr_confirm_acked), and a keepalive's WAL end only when no transaction
 * is open and every transaction received has been acknowledged by all.
 * JetStream (wr_confirm_jetstream, jetstream.h) is one more gate of the
 * same kind: the position never passes the end LSN of the newest
 * transaction JetStream has acknowledged entirely, and with durable
 * consumers too, it is the lower of the two.
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
	uint64_t flushed;		/* what the next status update reports */
	bool	 txn_open;		/* a transaction is partly published */
	bool	 durable;		/* durable consumers are configured */
	uint64_t last_end;		/* end LSN of the last transaction received */
	uint64_t acked;			/* lowest end LSN acked by every consumer */
	bool	 jetstream;		/* JetStream must acknowledge too */
	uint64_t js_acked;		/* newest end LSN JetStream has entirely */
	uint64_t keepalive_end; /* a keepalive's WAL end waiting for the gates */
} wr_confirm;

/* start: the slot's confirmed position when streaming (re)starts. */
extern void wr_confirm_init(wr_confirm *c, uint64_t start, bool durable);
/* Durable: the lowest end LSN every consumer has acknowledged. */
extern void wr_confirm_acked(wr_confirm *c, uint64_t min_acked_end);
/*
 * What wr_confirm_flushed would say after wr_confirm_acked: for answers
 * given before the loop applies an ack (requests.h).
 */
extern uint64_t wr_confirm_flushed_if_acked(const wr_confirm *c,
											uint64_t		  min_acked_end);
/* Gate on JetStream from now on (after wr_confirm_init). */
extern void wr_confirm_jetstream(wr_confirm *c);
/* JetStream: the newest end LSN whose frames it has all acknowledged. */
extern void wr_confirm_js_acked(wr_confirm *c, uint64_t acked_end);
extern void wr_confirm_restart(wr_confirm *c, uint64_t slot_confirmed);
extern void wr_confirm_txn_begin(wr_confirm *c);
extern void wr_confirm_txn_published(wr_confirm *c, uint64_t end_lsn);
extern void wr_confirm_keepalive(wr_confirm *c, uint64_t wal_end);
static inline uint64_t
wr_confirm_flushed(const wr_confirm *c)
{
	return c->flushed;
}

#endif /* WR_CONFIRM_H */
