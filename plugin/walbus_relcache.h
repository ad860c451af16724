/*-------------------------------------------------------------------------
 *
 * walbus_relcache.h
 *	  Per-relation cache of the walbus plugin: eligibility verdict, the
 *	  relation changes are published as, column mapping, and the encoded
 *	  RELATION record with whether this stream has sent it.
 *
 * One entry per relation a change arrived on, plus one per partition root
 * (the published relation of its partitions).  An entry is rebuilt, from
 * the Relation of the change being decoded, when an invalidation touched
 * it: a relcache invalidation of the relation or of its root, a change to
 * its schema (renaming one sends no relcache invalidation for its tables),
 * to the type of one of its columns or to that type's schema (type names
 * in RELATION records), or any change to a role or to role membership
 * (ownership verdicts).  Invalidation callbacks find the entries a type or
 * a schema matters to through a reverse index, so their cost does not
 * grow with the number of entries.
 *
 * An entry whose relation was dropped is freed at the next commit callback
 * (walbus_relcache_forget_dropped), so that a stream over many short-lived
 * tables neither grows nor slows down.  Entries are never freed at any
 * other time: a pointer returned by walbus_relcache_get stays valid until
 * the callback that got it returns.  In protocol version 2 the relids of
 * freed entries whose RELATION this session sent are queued, so that the
 * commit callback can tell consumers the table was dropped (a WITHDRAWN
 * record, docs/PROTOCOL.md §4 X).
 *
 * The cache lives from walbus_relcache_init to walbus_relcache_destroy, one
 * decoding session; its memory hangs off CacheMemoryContext, so a session
 * ended by an ERROR leaves no dangling pointer for the invalidation
 * callbacks, and the next session's init discards it.  Backend-only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_RELCACHE_H
#define WALBUS_RELCACHE_H

#include "access/tupdesc.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "utils/relcache.h"

#include "walbus_eligibility.h"
#include "walbus_options.h"
#include "walbus_values.h"

/* A column of a published relation, in RELATION record order. */
typedef struct WalbusColumn
{
	AttrNumber		attno; /* in the published relation */
	WalbusValueInfo value;
} WalbusColumn;

typedef struct WalbusRelEntry
{
	Oid				  relid; /* hash key */
	bool			  valid; /* cleared by invalidation callbacks */
	uint64			  epoch; /* walbus_relcache's epoch when built */
	MemoryContext	  cxt;	 /* holds everything the entry points to */
	WalbusEligibility verdict;

	/*
	 * The schemas and types this entry was built from, each linked into the
	 * reverse index that invalidation callbacks look up (in cxt).
	 */
	struct WalbusDepLink *deps;
	int					  ndeps;

	/* In the list of entries to check for a dropped relation. */
	bool	   check_dropped;
	dlist_node check_node;

	/*
	 * The entry of the relation changes are published as (this entry for a
	 * plain table), and its generation when this entry was built: another
	 * generation, or no entry for published_relid, means the mapping below
	 * is stale.  NULL when unknown.
	 */
	struct WalbusRelEntry *published;
	Oid					   published_relid;
	uint64				   published_generation;

	/* For decoding a change of this relation; set only when eligible. */
	AttrNumber *src_attno; /* per published column: attno here */
	Datum	   *values;	   /* heap_deform_tuple scratch, natts long */
	bool	   *isnull;

	/* As a published relation; set only when eligible. */
	uint64		  generation; /* unique to each build in a session */
	int			  ncolumns;
	WalbusColumn *columns;
	int			  key_index;	   /* index in columns of the primary key */
	char		 *relation_record; /* the encoded RELATION record */
	int			  relation_record_len;
	bool		  relation_sent; /* is the last one this stream sent */

	/*
	 * A copy of the last RELATION record this stream sent for the relation,
	 * kept across rebuilds, ineligible ones included: a definition the
	 * consumer already holds is not sent again.  NULL when this session has
	 * sent none, or none since a WITHDRAWN record told the consumer to
	 * forget it (walbus_relcache_withdrawn).  Outside cxt.
	 */
	char *sent_record;
	int	  sent_record_len;
} WalbusRelEntry;

/*
 * The columns of a relation described by desc that its RELATION records
 * list and its rows carry (not dropped, not generated), in that order, with
 * their value mapping prepared in cxt; columns has room for desc->natts.
 * Returns how many.  Shared with walbus_row(), whose rows must match the
 * stream's byte for byte.
 */
extern int walbus_columns_prepare(TupleDesc desc, WalbusColumn *columns,
								  MemoryContext cxt);

/*
 * Start a session's cache; filter must outlive it.  proto_version decides
 * the layout of the RELATION records built (docs/PROTOCOL.md §4 R) and
 * whether dropped relations are queued for WITHDRAWN records (2 and up).
 */
/*
 * The RELATION record of rel, with key_attno its primary-key column, in
 * the newest format version, as a stream of that version would send it
 * (walbus_relation() in SQL, for backfills).
 */
extern void walbus_relation_record(StringInfo buf, Relation rel,
								   AttrNumber key_attno);

extern void walbus_relcache_init(const WalbusTableFilter *filter, Oid roleid,
								 int proto_version);
extern void walbus_relcache_destroy(void);

/*
 * The up-to-date entry of rel, the relation a change arrived on.
 * Allocates in the current memory context while rebuilding.
 */
extern WalbusRelEntry *walbus_relcache_get(Relation rel);

/* entry's RELATION record was written to the stream. */
extern void walbus_relcache_relation_sent(WalbusRelEntry *entry);

/*
 * A WITHDRAWN record for entry's relation was written to the stream: the
 * consumer has forgotten its definition, so the next RELATION is sent even
 * if it is the same as the last one.
 */
extern void walbus_relcache_withdrawn(WalbusRelEntry *entry);

/*
 * Free the entries of relations that invalidations touched and that the
 * catalog no longer has.  Call from the commit callback, which runs with
 * the committing transaction's last historic snapshot (later than that of
 * any change decoded before it) and holds no entry pointer.  In version 2,
 * queues the relid of each freed entry that had its RELATION sent (and not
 * withdrawn since), for walbus_relcache_next_dropped.  Allocates, in the
 * cache's own context, before it frees anything.
 */
extern void walbus_relcache_forget_dropped(void);

/*
 * Take the oldest relid queued by walbus_relcache_forget_dropped (in the
 * order invalidations first named the relations in the transaction); false
 * when the queue is empty, which it then stays until the next
 * walbus_relcache_forget_dropped.
 */
extern bool walbus_relcache_next_dropped(Oid *relid);

#endif /* WALBUS_RELCACHE_H */
