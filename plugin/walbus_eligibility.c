/*-------------------------------------------------------------------------
 *
 * walbus_eligibility.c
 *	  The eligibility rules of docs/PROTOCOL.md §3, with a reason for each
 *	  refusal.
 *
 * One judging routine serves both the verdict and its explanation: it
 * writes the sentence only when asked for it, so the two cannot disagree.
 * The rules are checked in the order of the spec, and the first failing
 * one is the verdict.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "walbus_eligibility.h"

static WalbusEligibility walbus_judge(Relation rel, Oid roleid,
									  const WalbusTableFilter *filter,
									  Oid					  *published_relid,
									  AttrNumber *key_attno, StringInfo why);
static WalbusEligibility walbus_judge_storage(Relation rel, StringInfo why);
static WalbusEligibility walbus_judge_table(Relation rel, Oid roleid,
											AttrNumber *key_attno,
											StringInfo	why);
static bool				 walbus_key_is_deferrable(Relation rel);
static WalbusEligibility walbus_judge_replica_identity(Relation	  rel,
													   StringInfo why);
static WalbusEligibility walbus_judge_filter(Relation				  rel,
											 const WalbusTableFilter *filter,
											 StringInfo				  why);

WalbusEligibility
walbus_eligibility(Relation rel, Oid roleid, const WalbusTableFilter *filter,
				   Oid *published_relid, AttrNumber *key_attno)
{
	return walbus_judge(rel, roleid, filter, published_relid, key_attno, NULL);
}

char *
walbus_eligibility_reason(Relation rel, Oid roleid,
						  const WalbusTableFilter *filter)
{
	StringInfoData why;

	initStringInfo(&why);
	if (walbus_judge(rel, roleid, filter, NULL, NULL, &why) == WALBUS_ELIGIBLE)
		appendStringInfoString(&why, "eligible");
	return why.data;
}

/*
 * The whole verdict.  A partition's own storage and replica identity are
 * judged on the partition, because its WAL is what decoding reads: a
 * partition with REPLICA IDENTITY NOTHING logs no key for deletes even when
 * its root logs one.  Everything else is judged on the topmost ancestor,
 * which is what the changes are published as.
 */
static WalbusEligibility
walbus_judge(Relation rel, Oid roleid, const WalbusTableFilter *filter,
			 Oid *published_relid, AttrNumber *key_attno, StringInfo why)
{
	WalbusEligibility verdict;
	Relation		  table = rel;

	if (published_relid)
		*published_relid = InvalidOid;
	verdict = walbus_judge_storage(rel, why);
	if (verdict != WALBUS_ELIGIBLE)
		return verdict;

	if (rel->rd_rel->relispartition)
	{
		Oid root_relid;

		verdict = walbus_judge_replica_identity(rel, why);
		if (verdict != WALBUS_ELIGIBLE)
			return verdict;

		root_relid = llast_oid(get_partition_ancestors(RelationGetRelid(rel)));
		table = RelationIdGetRelation(root_relid);
		if (!RelationIsValid(table))
			elog(ERROR, "could not open relation with OID %u", root_relid);
		if (published_relid)
			*published_relid = root_relid;
		if (why)
			appendStringInfo(why, "partition of %s.%s: ",
							 get_namespace_name(RelationGetNamespace(table)),
							 RelationGetRelationName(table));
		verdict = walbus_judge_storage(table, why);
	}
	else if (published_relid)
		*published_relid = RelationGetRelid(rel);

	if (verdict == WALBUS_ELIGIBLE)
		verdict = walbus_judge_table(table, roleid, key_attno, why);
	if (verdict == WALBUS_ELIGIBLE)
		verdict = walbus_judge_filter(table, filter, why);

	if (verdict == WALBUS_ELIGIBLE && why)
		resetStringInfo(why);
	if (table != rel)
		RelationClose(table);
	return verdict;
}

/* Rule 1: a table PostgreSQL decodes at all. */
static WalbusEligibility
walbus_judge_storage(Relation rel, StringInfo why)
{
	char relkind = rel->rd_rel->relkind;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
	{
		if (why)
			appendStringInfoString(why,
								   "not an ordinary or partitioned table");
		return WALBUS_NOT_A_TABLE;
	}
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
	{
		if (why)
			appendStringInfoString(why, "temporary table: never decoded");
		return WALBUS_TEMPORARY;
	}
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED)
	{
		if (why)
			appendStringInfoString(why, "unlogged table: never decoded");
		return WALBUS_UNLOGGED;
	}
	return WALBUS_ELIGIBLE;
}

/*
 * Rules 2 to 5 on a table that is published under its own name (a plain
 * table or the root of a partition tree).
 */
static WalbusEligibility
walbus_judge_table(Relation rel, Oid roleid, AttrNumber *key_attno,
				   StringInfo why)
{
	TupleDesc		  desc = RelationGetDescr(rel);
	Oid				  pkoid = RelationGetPrimaryKeyIndex(rel);
	HeapTuple		  indtup;
	Form_pg_index	  index;
	int				  nkeys;
	AttrNumber		  attno;
	Form_pg_attribute attr;
	WalbusEligibility verdict;

	if (!OidIsValid(pkoid))
	{
		if (walbus_key_is_deferrable(rel))
		{
			if (why && rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL)
				appendStringInfoString(
					why,
					"primary key is deferrable: rows may share a key within a transaction");
			else if (why)
				appendStringInfoString(
					why,
					"primary key is deferrable: PostgreSQL logs no key for its deletes");
			return WALBUS_KEY_DEFERRABLE;
		}
		if (why)
			appendStringInfoString(why, "no primary key");
		return WALBUS_NO_PRIMARY_KEY;
	}

	indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkoid));
	if (!HeapTupleIsValid(indtup))
		elog(ERROR, "cache lookup failed for index %u", pkoid);
	index = (Form_pg_index) GETSTRUCT(indtup);
	nkeys = index->indnkeyatts;
	attno = index->indkey.values[0];
	if (nkeys != 1)
	{
		if (why)
		{
			appendStringInfo(why, "primary key has %d columns (", nkeys);
			for (int i = 0; i < nkeys; i++)
				appendStringInfo(
					why, "%s%s", i > 0 ? ", " : "",
					NameStr(TupleDescAttr(desc, index->indkey.values[i] - 1)
								->attname));
			appendStringInfoChar(why, ')');
		}
		ReleaseSysCache(indtup);
		return WALBUS_MULTI_COLUMN_KEY;
	}
	ReleaseSysCache(indtup);

	attr = TupleDescAttr(desc, attno - 1);
	if (attr->attgenerated)
	{
		if (why)
			appendStringInfo(why,
							 "primary key column %s is a generated column",
							 NameStr(attr->attname));
		return WALBUS_KEY_IS_GENERATED;
	}
	if (!attr->atthasdef && !attr->attidentity)
	{
		if (why)
			appendStringInfo(
				why,
				"primary key column %s has no default and is not an identity column",
				NameStr(attr->attname));
		return WALBUS_KEY_NOT_AUTOMATIC;
	}

	if (!is_member_of_role(roleid, rel->rd_rel->relowner))
	{
		if (why)
			appendStringInfo(
				why, "owned by role %s, of which role %s is not a member",
				GetUserNameFromId(rel->rd_rel->relowner, false),
				GetUserNameFromId(roleid, false));
		return WALBUS_NOT_OWNER;
	}

	verdict = walbus_judge_replica_identity(rel, why);
	if (verdict != WALBUS_ELIGIBLE)
		return verdict;

	if (key_attno)
		*key_attno = attno;
	return WALBUS_ELIGIBLE;
}

/*
 * Whether rel has a DEFERRABLE primary key.  PostgreSQL does not count one
 * as the primary key (RelationGetPrimaryKeyIndex) nor, therefore, as the
 * default replica identity: a key that may be shared by two rows until the
 * end of a statement or transaction cannot identify a row in the WAL, so
 * deletes log no key.  With REPLICA IDENTITY FULL they log the whole row,
 * but rows may still share the key within a transaction.  Either way the
 * table is refused, with a reason that names the key rather than "no
 * primary key".
 */
static bool
walbus_key_is_deferrable(Relation rel)
{
	List	 *indexes = RelationGetIndexList(rel);
	ListCell *lc;
	bool	  deferrable = false;

	foreach(lc, indexes)
	{
		Oid			  indexoid = lfirst_oid(lc);
		HeapTuple	  indtup;
		Form_pg_index index;

		indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(indtup))
			elog(ERROR, "cache lookup failed for index %u", indexoid);
		index = (Form_pg_index) GETSTRUCT(indtup);
		deferrable = index->indisprimary && !index->indimmediate;
		ReleaseSysCache(indtup);
		if (deferrable)
			break;
	}
	list_free(indexes);
	return deferrable;
}

/*
 * Rule 5: what the WAL of a delete carries.  USING INDEX the primary key
 * itself carries the key just as DEFAULT does, so only another index is
 * refused.
 */
static WalbusEligibility
walbus_judge_replica_identity(Relation rel, StringInfo why)
{
	switch (rel->rd_rel->relreplident)
	{
		case REPLICA_IDENTITY_DEFAULT:
		case REPLICA_IDENTITY_FULL:
			return WALBUS_ELIGIBLE;
		case REPLICA_IDENTITY_NOTHING:
			if (why)
				appendStringInfoString(
					why,
					"replica identity NOTHING: deletes would carry no key");
			return WALBUS_REPLICA_IDENTITY_NOTHING;
		default:
		{
			Oid replidx = RelationGetReplicaIndex(rel);

			if (OidIsValid(replidx) &&
				replidx == RelationGetPrimaryKeyIndex(rel))
				return WALBUS_ELIGIBLE;
			if (why)
				appendStringInfo(
					why,
					"replica identity USING INDEX %s: deletes would not carry the primary key",
					get_rel_name(replidx));
			return WALBUS_REPLICA_IDENTITY_OTHER_INDEX;
		}
	}
}

/* Rule 6: the client's patterns, matched against the published name. */
static WalbusEligibility
walbus_judge_filter(Relation rel, const WalbusTableFilter *filter,
					StringInfo why)
{
	char				*schema;
	const char			*table = RelationGetRelationName(rel);
	const WalbusPattern *match;

	if (filter == NULL || (filter->include == NIL && filter->exclude == NIL))
		return WALBUS_ELIGIBLE;

	schema = get_namespace_name(RelationGetNamespace(rel));
	if (filter->include != NIL &&
		walbus_pattern_find(filter->include, schema, table) == NULL)
	{
		if (why)
			appendStringInfoString(
				why, "not matched by any include_tables pattern");
		return WALBUS_NOT_INCLUDED;
	}
	match = walbus_pattern_find(filter->exclude, schema, table);
	if (match)
	{
		if (why)
			appendStringInfo(why, "excluded by exclude_tables pattern %s",
							 match->text);
		return WALBUS_EXCLUDED;
	}
	return WALBUS_ELIGIBLE;
}
