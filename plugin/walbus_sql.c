/*-------------------------------------------------------------------------
 *
 * walbus_sql.c
 *	  SQL-callable eligibility verdict of walbus.so (the row encoders
 *	  walbus_row() and walbus_key() are in walbus_row.c).
 *
 * walbus_eligibility(regclass) returns the eligibility verdict of a table
 * for the current role, as the sentence walbus_eligibility_reason() gives:
 * "eligible", or why its changes are not published.  It lets a user (and
 * the tests) see the decision the plugin makes, without a slot:
 *
 *   CREATE FUNCTION walbus_eligibility(regclass) RETURNS text
 *     AS 'walbus', 'walbus_eligibility_sql' LANGUAGE C STRICT STABLE;
 *
 * Table patterns are options of a stream, so they are not judged here.
 *
 * walbus_relation(regclass) returns the table's RELATION record, in the
 * newest format version, exactly as a stream would send it before a
 * change of the table now: a backfill publishes the rows it read under the
 * definition they were read with, taken in the same snapshot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "walbus_eligibility.h"
#include "walbus_relcache.h"

PG_FUNCTION_INFO_V1(walbus_eligibility_sql);
PG_FUNCTION_INFO_V1(walbus_relation_sql);

Datum
walbus_eligibility_sql(PG_FUNCTION_ARGS)
{
	Oid		 relid = PG_GETARG_OID(0);
	Relation rel = relation_open(relid, AccessShareLock);
	char	*reason = walbus_eligibility_reason(rel, GetUserId(), NULL);

	relation_close(rel, AccessShareLock);
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}

/*
 * The RELATION record of a table the plugin publishes for the current
 * role; an error, with the reason, for any other.
 */
Datum
walbus_relation_sql(PG_FUNCTION_ARGS)
{
	Oid				  relid = PG_GETARG_OID(0);
	Relation		  rel = relation_open(relid, AccessShareLock);
	Oid				  published = InvalidOid;
	AttrNumber		  key_attno = InvalidAttrNumber;
	WalbusEligibility verdict;
	StringInfoData	  buf;
	bytea			 *result;

	verdict = walbus_eligibility(rel, GetUserId(), NULL, &published,
								 &key_attno);
	if (verdict != WALBUS_ELIGIBLE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("walbus does not publish relation \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("%s",
						   walbus_eligibility_reason(rel, GetUserId(),
													 NULL))));
	/* clang-format off */
	if (published != relid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("walbus publishes the rows of \"%s\" under its partitioned root \"%s\"",
						RelationGetRelationName(rel),
						get_rel_name(published)),
				 errhint("Ask for the root's definition.")));
	/* clang-format on */
	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	walbus_relation_record(&buf, rel, key_attno);
	relation_close(rel, AccessShareLock);
	result = (bytea *) buf.data;
	SET_VARSIZE(result, buf.len);
	PG_RETURN_BYTEA_P(result);
}
