/*-------------------------------------------------------------------------
 *
 * records.h
 *	  Turn the plugin's records (docs/PROTOCOL.md) into changes in bus
 *	  frames (docs/PROTOCOL.md (Part 2)) as each arrives.
 *
 * Nothing of a transaction is buffered beyond the open frame: a change
 * goes into the publisher's open frame when its record is handled (the
 * frame is sent at a topic switch, at its size cap or as soon as no more
 * input is ready, publisher.h), and the transaction's end is published on
 * _txn when its COMMIT arrives, which is also when the flush policy hears
 * of it.
 * After a reconnect the server resends transactions the slot had not
 * confirmed; those this process already published completely are skipped
 * (a half-published one is published again from its first change, so
 * subscribers may see its first changes twice, with the same commit_lsn
 * and pos).
 *
 * wr_records_handle returns false, after logging why, only for a stream
 * that breaks the protocol (the relay cannot continue safely).
 * Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_RECORDS_H
#define WR_RECORDS_H

#include <stdbool.h>

#include "relay.h"

extern bool wr_records_handle(wr_relay *r, const wb_record *rec);

/*
 * Take a RELATION record (from the stream, or one a backfill read): cache
 * it and set the relation's topic.  NULL when out of memory (logged).
 */
extern wr_rel *wr_records_relation(wr_relay *r, const wb_record *rec);
/* The connection was lost: forget the open transaction. */
extern void wr_records_reset(wr_relay *r);

#endif /* WR_RECORDS_H */
