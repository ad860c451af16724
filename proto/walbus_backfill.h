/*-------------------------------------------------------------------------
 *
 * walbus_backfill.h
 *	  Backfill events: what the relay publishes on the _backfill topic
 *	  while it reads a table's existing rows into the stream.
 *
 * docs/PROTOCOL.md (Part 2, §E9) is the spec.  A backfill publishes the
 * rows it reads as 'R' (read) changes on the table's topic, chunk by
 * chunk, each chunk inside the transaction of its high watermark; the
 * events say when a backfill started, how far it got, and how it ended.
 * An event is one msgpack map, carried as the third element of an
 * ['B', pos, event] change in a "changes" frame on _backfill:
 *
 *	 event     str   "started", "progress", "done" or "failed"
 *	 backfill  uint  the backfill's id (unique per relay state)
 *	 relid     uint  the table
 *	 topic     str   its topic
 *	 rows      uint  rows published so far by this backfill
 *	 chunks    uint  chunks published so far
 *	 reason    str   "failed": why; else nil
 *
 * Encoder: through wb_enc, sticky errors, nothing allocated.  Decoder:
 * bounded; strings point into the buffer; nothing to free.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_BACKFILL_H
#define WALBUS_BACKFILL_H

#include <stdbool.h>
#include <stdint.h>

#include "walbus_proto.h"

typedef enum wbb_event_kind
{
	WBB_STARTED,
	WBB_PROGRESS,
	WBB_DONE,
	WBB_FAILED
} wbb_event_kind;

typedef struct wbb_event
{
	wbb_event_kind kind;
	uint64_t	   backfill;
	uint32_t	   relid;
	wb_str		   topic;
	uint64_t	   rows;
	uint64_t	   chunks;
	wb_str		   reason; /* ptr NULL when none */
} wbb_event;

/* "started", ...; NULL for values out of range. */
extern const char *wbb_event_name(wbb_event_kind kind);

extern void wbb_enc_event(wb_enc *e, const wbb_event *ev);

/* Decode the event map buf[0..len); WB_OK or WB_EMALFORMED (errbuf). */
extern int wbb_decode_event(const void *buf, size_t len, wbb_event *out,
							char *errbuf, size_t errlen);

#endif /* WALBUS_BACKFILL_H */
