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
 * its schema (renaming one sends no relcache invalidation for its tables)
 * or to the type of one of its columns (type names in RELATION records),
 * or any change to a role or to role membership (ownership verdicts).
 * Entries are never removed during a stream, so pointers to them stay
 * valid.
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

#include "utils/relcache.h"

#include "walbus_eligibility.h"
#include "walbus_options.h"
#include "walbus_values.h"

/* A column of a published relation, in RELATION record order. */
typedef struct WalbusColumn
{
	AttrNumber	attno;			/* in the published relation */
	uint32		type_hash;		/* TYPEOID syscache hash of its type */
	WalbusValueInfo value;
} WalbusColumn;

typedef struct WalbusRelEntry
{
	Oid			relid;			/* hash key */
	bool		valid;			/* cleared by invalidation callbacks */
	MemoryContext cxt;			/* holds everything the entry points to */
	WalbusEligibility verdict;
	uint32		namespace_hash; /* NAMESPACEOID syscache hash of its schema */

	/*
	 * The entry of the relation changes are published as (this entry for a
	 * plain table), and its generation when this entry was built: a newer
	 * generation means the mapping below is stale.  NULL when unknown.
	 */
	struct WalbusRelEntry *published;
	uint32		published_generation;

	/* For decoding a change of this relation; set only when eligible. */
	AttrNumber *src_attno;		/* per published column: attno here */
	Datum	   *values;			/* heap_deform_tuple scratch, natts long */
	bool	   *isnull;

	/* As a published relation; set only when eligible. */
	uint32		generation;		/* bumped at every rebuild */
	int			ncolumns;
	WalbusColumn *columns;
	int			key_index;		/* index in columns of the primary key */
	char	   *relation_record;	/* the encoded RELATION record */
	int			relation_record_len;
	bool		relation_sent;	/* written in this stream, still current */
} WalbusRelEntry;

/* Start a session's cache; filter must outlive it. */
extern void walbus_relcache_init(const WalbusTableFilter *filter, Oid roleid);
extern void walbus_relcache_destroy(void);

/*
 * The up-to-date entry of rel, the relation a change arrived on.
 * Allocates in the current memory context while rebuilding.
 */
extern WalbusRelEntry *walbus_relcache_get(Relation rel);

#endif							/* WALBUS_RELCACHE_H */
