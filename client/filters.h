/*-------------------------------------------------------------------------
 *
 * filters.h
 *	  libwalbus's subscriptions: the filters walbus_subscribe adds, which
 *	  topics they select, and the tables the client follows by relid.
 *
 * Every client's sub0 socket subscribes to everything and filters here.
 * nng filters at receive time, before the client has read what came
 * before: a table renamed in a transaction would have its next frames, on
 * the new topic, dropped by nng before the client learned of the rename
 * from the schema event just ahead of them.  Filtering here sees the event
 * first, so subscriptions follow renames exactly.  Reserved topics are
 * delivered only when a filter names them, except the schema events of
 * selected tables.
 *
 * Following.  A table is selected by name when its first frame arrives;
 * from then on the client follows its relid: a schema event that renames
 * or moves it adds its new topic to the filters (marked "followed"), and
 * after a relay restart, whose first event about a table carries no
 * previous name, the relid alone is enough.  A dropped table is forgotten.
 *
 * A change of filters re-selects the rest of the frame being delivered;
 * the caller's own (un)subscriptions also reset best-effort loss detection
 * (what it judged no longer holds).  Functions that can fail return
 * WALBUS_OK or an error said with walbus_fail.  Single owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_FILTERS_H
#define WALBUS_FILTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "walbus_client.h"
#include "walbus_envelope.h"
#include "walbus_schema.h"

typedef struct wfl_filter
{
	char  *bytes; /* topic, or prefix when is_prefix */
	size_t len;
	bool   is_prefix;
	bool   followed; /* added by following a renamed table */
} wfl_filter;

typedef struct wfl_filters
{
	wfl_filter *list;
	int			n;
	int			cap;
	whm			followed; /* relid -> followed or forgotten */
} wfl_filters;

extern void wfl_init(wfl_filters *fs);
extern void wfl_free(wfl_filters *fs);

/* Does a filter select this topic? ("*" selects no reserved topic) */
extern bool wfl_selected(const walbus_client *c, const char *topic,
						 size_t len);

/*
 * What the client looks at: the reserved topics (they prove completeness)
 * and the selected ones (a wgc_receives_fn: arg is the client).
 */
extern bool wfl_receives(void *arg, const char *topic, size_t len);

/*
 * Does the client take this frame?  What it receives, and a frame of a
 * followed table under a topic not selected yet (its topic is then
 * followed).
 */
extern bool wfl_takes(walbus_client *c, const wbe_frame *fr);

/* A frame of a selected table was loaded: follow its relid. */
extern void wfl_follow_relid(walbus_client *c, uint32_t relid);

/*
 * A schema event: is it wanted (about a table selected or followed, or
 * "_schema" subscribed)?  Follows the table it is about, or forgets it.
 */
extern bool wfl_schema_event(walbus_client *c, const wbs_event *ev);

/* A backfill event about relid, on topic: is it wanted? */
extern bool wfl_backfill_wanted(walbus_client *c, uint32_t relid,
								wb_str topic);

#endif /* WALBUS_FILTERS_H */
