/*-------------------------------------------------------------------------
 *
 * cursor.h
 *	  libwalbus's cursor: the frame being delivered, one change per
 *	  walbus_recv, with repeats dropped by key and each change filled into
 *	  the public walbus_change.
 *
 * A bus message is a frame of one or more changes (bus layout 2,
 * walbus_envelope.h); walbus_recv still returns one change per call.  The
 * cursor holds the frame being delivered and the index of its next change,
 * for frames from the bus and from replay pages alike; commit and
 * heartbeat frames count as one change.  The frame's bytes stay allocated
 * (by whoever loaded it) until the frame is used up, which is what keeps
 * the pointers of a walbus_change valid until the next walbus_recv.
 *
 * Repeats.  Every transactional change is keyed by (commit_lsn, pos), pos
 * WBC_POS_COMMIT for a commit frame on _txn; keys grow along the stream,
 * so any change whose key is not above the last key processed (the
 * client's have_last/last) is a repeat (after a rewind, a relay restart,
 * or a frame that straddles the key a replay started after) and is
 * dropped.  Taking a change tells durable.c what was delivered and which
 * commit frame was seen (durable.h).  Single owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_CURSOR_H
#define WALBUS_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "walbus_backfill.h"
#include "walbus_client.h"
#include "walbus_envelope.h"
#include "walbus_schema.h"

typedef struct walbus_cursor
{
	bool	  active;	/* frame has changes not yet taken */
	bool	  from_bus; /* it came from the bus, else a replay page */
	wbe_frame frame;
	uint32_t  next;			   /* index of the next change to take */
	uint32_t  count;		   /* changes in the frame */
	bool	  selected;		   /* a filter selects its topic */
	bool	  table_known;	   /* table and table_rc hold the lookup */
	const walbus_table *table; /* of relid and schema_version */
	int					table_rc;
	char table_err[256]; /* the lookup's message when it failed */
} walbus_cursor;

/* The schema or backfill event of the change being taken. */
typedef struct wcu_events
{
	bool				  have_event;
	int					  event_rc; /* why not, when have_event is false */
	wbs_event			  event;
	walbus_schema_event	  sev; /* its public form */
	walbus_schema_change *sev_changes;
	char				 *sev_strings;
	walbus_backfill_event bev;
	char				  bev_strings[WBE_TABLE_TOPIC_MAX + 1 + 512];
} wcu_events;

/*
 * Make the frame just decoded into c->cur.frame the one to deliver from.
 * from_bus: its bytes are the bus's (busrecv.h), else a replay page's.
 */
extern void wcu_load(walbus_client *c, bool from_bus);

/*
 * The next change of the cursor's frame into *out.  Returns true when *out
 * is to be returned (*rc says how: an error keeps the change for the next
 * call when it may pass, as a failed table lookup), false when the frame
 * has nothing more to deliver.
 */
extern bool wcu_take(walbus_client *c, walbus_change *out, int *rc);

/* Forget the event of the change last taken. */
extern void wcu_events_free(wcu_events *ev);

#endif /* WALBUS_CURSOR_H */
