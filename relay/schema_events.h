/*-------------------------------------------------------------------------
 *
 * schema_events.h
 *	  The relay's _schema topic: schema events in stream order.
 *
 * PostgreSQL gives a logical decoding plugin a relation's definition only
 * with its next change, so the plugin sends a RELATION record just before
 * the first change that follows a DDL, and a WITHDRAWN record when a table
 * it had sent leaves the stream (no longer eligible at its next change, or
 * dropped, in the DROP's transaction).  The relay keeps, per relid, the
 * definition it last announced on _schema in this run; before publishing a
 * change of a table whose current definition is not that one, it
 * publishes one event: table_seen (nothing announced yet in this run),
 * table_changed (with the diff by attnum, walbus_schema.h) or
 * table_eligible_again (after a withdrawal).  A WITHDRAWN record becomes
 * table_withdrawn or table_dropped at once.
 *
 * Events are changes of the transaction they appear in: an event before
 * the k-th change has pos 2k - 1 (relay.h), a withdrawal the pos of its
 * record, 2k; each goes into the replay window and counts in the commit's
 * proof like any other frame, so durable consumers get them exactly in
 * order, before the first change that uses the new definition.  Nothing
 * is announced for transactions skipped after a reconnect (their events,
 * if any, went out before it).  Every change of the announcement state is
 * logged with its transaction's commit LSN: when the stream starts again
 * (an abandoned transaction published again, a rewind), wr_schema_undo
 * rolls the state back to where the first transaction published again
 * began, so that each publication of a transaction announces the same
 * things under the same keys.
 *
 * Failures (out of memory) are logged and counted like any frame the
 * publisher cannot build; they never stop the relay.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_SCHEMA_EVENTS_H
#define WR_SCHEMA_EVENTS_H

#include "relay.h"

/* Before the next change of rel in the open (not skipped) transaction. */
extern void wr_schema_before_change(wr_relay *r, wr_rel *rel);

/* A WITHDRAWN record in the open (not skipped) transaction, at pos. */
extern void wr_schema_withdrawn(wr_relay *r, const wb_record *rec,
								uint32_t pos);

/*
 * The stream starts again and will publish every transaction whose commit
 * is at or after from_commit_lsn again: forget what they announced.
 */
extern void wr_schema_undo(wr_relay *r, uint64_t from_commit_lsn);

/* Transactions before flushed are never published again. */
extern void wr_schema_forget(wr_relay *r, uint64_t flushed);

#endif /* WR_SCHEMA_EVENTS_H */
