/*-------------------------------------------------------------------------
 *
 * walbus_schema.h
 *	  Schema events: what the relay publishes on the _schema topic when a
 *	  table's definition changes, and the diff of two definitions that
 *	  says what changed.
 *
 * docs/PROTOCOL.md (Part 2, §E8) is the spec and docs/SCHEMA.md says what a
 * worker does about each event.  Identity is the table's OID (relid) and
 * each column's attnum, never names or positions: a rename keeps both.
 * The diff therefore matches columns by attnum only: the same attnum with
 * another name is a rename, an attnum that appears is a new column, one
 * that disappears a dropped column; a DROP and an ADD of the same name is
 * never taken for a rename.
 *
 * An event is one msgpack map, carried as the third element of an
 * ['S', pos, event] change in a "changes" frame on _schema:
 *
 *	 event           str   what happened to the table, see wbs_event_kind
 *	 relid           uint  the table
 *	 topic           str   its topic now (for a withdrawal: its last one)
 *	 previous_topic  str   its topic before, when it changed; else nil
 *	 table           map   the definition now (as the control socket's
 *	                       "schema" answer, without "ok"); nil when withdrawn
 *	 previous        map   the definition before; nil when the relay has
 *	                       none (the table's first change in this relay run)
 *	 reason          str   withdrawals: why (as the walbus_tables view says)
 *	 changes         array what changed from previous to table, each a map:
 *	                       {"change": str, "attnum": int, "from": str|nil,
 *	                        "to": str|nil} (and "from_attnum" for a key change)
 *
 * Encoder: through wb_enc, sticky errors, nothing allocated.  Decoder:
 * bounded like the others; allocates the definitions' column arrays and
 * the changes array (wbs_event_free); strings point into the buffer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_SCHEMA_H
#define WALBUS_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "walbus_control.h"
#include "walbus_proto.h"

typedef enum wbs_event_kind
{
	WBS_TABLE_SEEN,			 /* first definition in this relay run */
	WBS_TABLE_CHANGED,		 /* a new definition: see changes */
	WBS_TABLE_WITHDRAWN,	 /* no longer eligible: see reason */
	WBS_TABLE_DROPPED,		 /* dropped */
	WBS_TABLE_ELIGIBLE_AGAIN /* eligible after a withdrawal: re-sync */
} wbs_event_kind;

typedef enum wbs_change_kind
{
	WBS_TABLE_RENAMED,		 /* from, to: table names */
	WBS_SCHEMA_RENAMED,		 /* from, to: its schema was renamed */
	WBS_TABLE_MOVED,		 /* from, to: ALTER TABLE ... SET SCHEMA */
	WBS_COLUMN_ADDED,		 /* attnum; to: name */
	WBS_COLUMN_DROPPED,		 /* attnum; from: name */
	WBS_COLUMN_RENAMED,		 /* attnum; from, to: names */
	WBS_COLUMN_TYPE_CHANGED, /* attnum; from, to: types as format_type */
	WBS_KEY_CHANGED			 /* from_attnum -> attnum; from, to: names */
} wbs_change_kind;

typedef struct wbs_change
{
	wbs_change_kind kind;
	int32_t			attnum;		 /* 0 for table-level changes */
	int32_t			from_attnum; /* WBS_KEY_CHANGED only */
	wb_str			from;		 /* ptr NULL when none */
	wb_str			to;
} wbs_change;

/* Most changes one event lists (a table has at most 1600 columns). */
#define WBS_MAX_CHANGES (2 * WB_MAX_COLUMNS + 8)

typedef struct wbs_event
{
	wbs_event_kind kind;
	uint32_t	   relid;
	wb_str		   topic;
	wb_str		   previous_topic; /* ptr NULL when none */
	bool		   has_table;
	wbc_schema	   table;
	bool		   has_previous;
	wbc_schema	   previous;
	wb_str		   reason; /* ptr NULL when none */
	uint32_t	   nchanges;
	wbs_change	  *changes;
} wbs_event;

/* "table_seen", "column_added", ...; NULL for values out of range. */
extern const char *wbs_event_name(wbs_event_kind kind);
extern const char *wbs_change_name(wbs_change_kind kind);

/*
 * What changed from prev to cur (the same relid), in this order: table
 * renamed, schema renamed or table moved, then by attnum each column
 * dropped, added, renamed, retyped, and last the key.  Writes at most
 * WBS_MAX_CHANGES entries into out (the caller's array); returns the count.
 * Strings point into prev and cur.
 */
extern uint32_t wbs_diff(const wbc_schema *prev, const wbc_schema *cur,
						 wbs_change *out);

/*
 * Write one event map.  topic/previous_topic, table/previous and reason
 * are left out (nil) when their pointer is NULL.
 */
extern void wbs_enc_event(wb_enc *e, wbs_event_kind kind, uint32_t relid,
						  const char *topic, size_t topic_len,
						  const char *previous_topic,
						  size_t previous_topic_len, const wbc_schema *table,
						  const wbc_schema *previous, const char *reason,
						  size_t reason_len, const wbs_change *changes,
						  uint32_t nchanges);

/*
 * Decode the event map buf[0..len).  On WB_OK free it with wbs_event_free;
 * on WB_EMALFORMED or WB_ENOMEM errbuf says why and nothing is held.
 */
extern int	wbs_decode_event(const void *buf, size_t len, wbs_event *out,
							 char *errbuf, size_t errlen);
extern void wbs_event_free(wbs_event *ev);

#endif /* WALBUS_SCHEMA_H */
