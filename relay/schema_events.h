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
 * Events are changes of the transaction they appear in: each takes the
 * next pos, goes into the replay window, and counts in the commit's proof
 * like any other frame, so durable consumers get them exactly in order,
 * before the first change that uses the new definition.  Nothing is
 * announced for transactions skipped after a reconnect (their events, if
 * any, went out before it).
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

/* A WITHDRAWN record in the open (not skipped) transaction. */
extern void wr_schema_withdrawn(wr_relay *r, const wb_record *rec);

#endif							/* WR_SCHEMA_EVENTS_H */
