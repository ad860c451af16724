/*-------------------------------------------------------------------------
 *
 * tsource.h
 *	  The trigger source: walbus-relay --source trigger reads the queue
 *	  that trigger-install made (docs/TRIGGER.md) instead of a replication
 *	  slot, and publishes the same frames.
 *
 * Every tick interval the relay inserts a tick, whose snapshot
 * (pg_current_snapshot()) it keeps, and reads the events of the
 * transactions visible in it but not in the previous tick's, ordered by
 * transaction id then event id (PgQ's batches).  A transaction that took
 * its first events long before it committed is in the batch of the tick
 * after its commit: never skipped, as an id cursor would.
 *
 * Each batch becomes records in the plugin's format (BEGIN, RELATION when
 * a table's definition is new or changed, INSERT/UPDATE/DELETE/TRUNCATE,
 * WITHDRAWN for a table no longer eligible, COMMIT), handed to the same
 * record handler as the slot's (records.h): frames, schema events, the
 * replay window, durable consumers and dedupe work unchanged.  A
 * transaction's position is synthetic: the k-th transaction (from 0) of
 * the batch of tick N commits at (N << 24) + 2k + 2 and ends one later; a
 * batch ends at (N + 1) << 24.  Batches are read again the same way after
 * a restart, so the keys (commit_lsn, pos) are the same.
 *
 * What every durable consumer acknowledged is deleted: once the relay's
 * flush position reaches the end of the batch of tick N, the events of
 * the transactions visible in N's snapshot and the ticks before N go, and
 * N is where a restarted relay resumes.
 *
 * wr_tsource_run returns the process's exit code.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_TSOURCE_H
#define WR_TSOURCE_H

#include "relay.h"

#define WR_TS_TICK_SHIFT 24

extern int wr_tsource_run(wr_relay *r);

#endif /* WR_TSOURCE_H */
