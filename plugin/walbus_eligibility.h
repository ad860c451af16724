/*-------------------------------------------------------------------------
 *
 * walbus_eligibility.h
 *	  Which tables walbus publishes (docs/PROTOCOL.md §3), and why not.
 *
 * The verdict is a pure function of a relation as the catalogs describe it
 * (in decoding: as of the change being decoded), the role the stream runs
 * as, and the client's table patterns.  It is shared by the plugin, which
 * caches it per relation, and by preflight checks that explain it to a
 * user, so every way to be refused has its own code and its own sentence.
 *
 * A partition is judged as what it is published as: its own storage and
 * replica identity (what its WAL carries), then its topmost partitioned
 * ancestor for everything else.
 *
 * Both functions read the catalogs and may ereport(ERROR) on catalog
 * trouble; they need a transaction (in decoding, the historic snapshot).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_ELIGIBILITY_H
#define WALBUS_ELIGIBILITY_H

#include "utils/relcache.h"

#include "walbus_options.h"

typedef enum WalbusEligibility
{
	WALBUS_ELIGIBLE = 0,
	WALBUS_NOT_A_TABLE, /* relkind other than 'r' or 'p' */
	WALBUS_TEMPORARY,	/* never decoded by PostgreSQL */
	WALBUS_UNLOGGED,	/* never decoded by PostgreSQL */
	WALBUS_NO_PRIMARY_KEY,
	WALBUS_KEY_DEFERRABLE, /* a DEFERRABLE primary key */
	WALBUS_MULTI_COLUMN_KEY,
	WALBUS_KEY_IS_GENERATED,  /* a GENERATED ... STORED key column */
	WALBUS_KEY_NOT_AUTOMATIC, /* no default, not an identity column */
	WALBUS_NOT_OWNER,		  /* role is not a member of the owner */
	WALBUS_REPLICA_IDENTITY_NOTHING,
	WALBUS_REPLICA_IDENTITY_OTHER_INDEX,
	WALBUS_NOT_INCLUDED, /* matches no include_tables pattern */
	WALBUS_EXCLUDED		 /* matches an exclude_tables pattern */
} WalbusEligibility;

/*
 * The verdict for changes of rel made while the stream runs as roleid.
 * filter may be NULL (no patterns).  *published_relid is the relation the
 * changes are (or would be) published as: rel itself or its topmost
 * partitioned ancestor, InvalidOid when rel was refused before that was
 * looked up.  A cache of verdicts must also drop a partition's verdict
 * when that relation changes.  When eligible, *key_attno is the
 * primary-key column's number in the published relation.  Either pointer
 * may be NULL.
 */
extern WalbusEligibility walbus_eligibility(Relation rel, Oid roleid,
											const WalbusTableFilter *filter,
											Oid		   *published_relid,
											AttrNumber *key_attno);

/*
 * The same verdict as a sentence for humans ("primary key has 2 columns
 * (a, b)", "eligible"), palloc'd in the current memory context.
 */
extern char *walbus_eligibility_reason(Relation rel, Oid roleid,
									   const WalbusTableFilter *filter);

#endif /* WALBUS_ELIGIBILITY_H */
