/*-------------------------------------------------------------------------
 *
 * walbus_sql.c
 *	  SQL-callable functions of walbus.so.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "walbus_eligibility.h"

PG_FUNCTION_INFO_V1(walbus_eligibility_sql);

Datum
walbus_eligibility_sql(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = relation_open(relid, AccessShareLock);
	char	   *reason = walbus_eligibility_reason(rel, GetUserId(), NULL);

	relation_close(rel, AccessShareLock);
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}
