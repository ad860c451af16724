/*-------------------------------------------------------------------------
 *
 * walbus_row.c
 *	  walbus_row() and walbus_key(): a table's row encoded as the plugin
 *	  encodes it in the stream.
 *
 * A backfill reads a table's existing rows while its changes stream.  The
 * relay splices those rows into the bus as if they were streamed changes,
 * and tells a backfilled row from a streamed one by comparing their keys
 * byte for byte, so both must come out of the same code: the published
 * columns of walbus_columns_prepare (as RELATION records list them) and
 * walbus_value_encode (docs/PROTOCOL.md §5).
 *
 *   walbus_row(rel regclass, r anyelement) RETURNS bytea
 *	   the values array of an INSERT record of row r of table rel
 *   walbus_key(rel regclass, r anyelement) RETURNS bytea
 *	   the key of a DELETE record of r; rel must be eligible for the role
 *
 * The relay calls them for millions of rows, so whatever depends on the
 * table alone is worked out at the first call and kept in fn_extra for the
 * rest of the query: the column mapping, a descriptor to deform r with, the
 * values array's header and, for walbus_key, the eligibility verdict.  It
 * is rebuilt when rel differs from the last call's, when the table's row
 * type may have changed (every relcache invalidation of the table resets
 * the typcache's identifier of the row type: ALTER TABLE, a new owner, a
 * new primary key), and for walbus_key when the role changed.  A change of
 * role membership alone invalidates no relation, so a call site (one
 * statement, or one PL/pgSQL expression for a transaction) keeps the
 * verdict it found through one.  Each call works in a context of its own,
 * reset before it returns, so that detoasted copies and output function
 * results do not pile up in the caller's context over a long scan; only
 * the result is allocated in the caller's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "walbus_eligibility.h"
#include "walbus_proto.h"
#include "walbus_relcache.h"
#include "walbus_values.h"

/* Room for the longest msgpack array header (array 32: 5 bytes). */
#define WALBUS_ARRAY_HEADER_MAX 8

/* What walbus_row and walbus_key keep in fn_extra, per call site. */
typedef struct WalbusRowCache
{
	Oid				relid;		/* InvalidOid until built */
	Oid				rowtype;	/* the table's row type */
	TypeCacheEntry *typentry;	/* rowtype's: typcache entries are never
								 * freed */
	uint64			tupdesc_id; /* typentry->tupDesc_identifier as built */
	Oid				roleid;		/* walbus_key: the role judged eligible */

	/* In rel_cxt, which is reset at every rebuild. */
	TupleDesc	  desc;	  /* a copy: the typcache's may be freed */
	Datum		 *values; /* heap_deform_tuple scratch, natts long */
	bool		 *isnull;
	WalbusColumn *columns; /* published columns, RELATION order */
	int			  ncolumns;
	int			  key_index; /* walbus_key: in columns; else -1 */
	char		  header[WALBUS_ARRAY_HEADER_MAX]; /* of the values array */
	int			  header_len;

	MemoryContext rel_cxt;
	MemoryContext call_cxt; /* one call's work, reset after it */
} WalbusRowCache;

PG_FUNCTION_INFO_V1(walbus_row_sql);
PG_FUNCTION_INFO_V1(walbus_key_sql);

static WalbusRowCache *walbus_row_cache_get(FunctionCallInfo fcinfo,
											const char *fname, bool want_key,
											HeapTupleHeader *row);
static WalbusRowCache *walbus_row_cache_build(FunctionCallInfo fcinfo,
											  const char	  *fname,
											  bool			   want_key);
static void			   walbus_row_check_table(Relation rel);
static void walbus_row_check_key(WalbusRowCache *cache, Relation rel);
static void walbus_row_values_header(WalbusRowCache *cache, Oid relid);
static void walbus_row_type_mismatch(Oid relid, const char *fname, Oid typid)
	pg_attribute_noreturn();
static void walbus_row_encode(wb_enc *enc, WalbusColumn *col, Datum value,
							  bool isnull);
static void walbus_row_tuple(HeapTupleData *tuple, HeapTupleHeader row);
static void walbus_row_bytea_start(StringInfo buf);

/*
 * The published columns of row r as one msgpack array: the bytes of the
 * values element of an INSERT record of the row.
 */
Datum
walbus_row_sql(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row;
	WalbusRowCache *cache = walbus_row_cache_get(fcinfo, "walbus_row", false,
												 &row);
	HeapTupleData	tuple;
	StringInfoData	buf;
	MemoryContext	oldcxt;
	wb_enc			enc;

	walbus_row_tuple(&tuple, row);
	walbus_row_bytea_start(&buf);
	appendBinaryStringInfo(&buf, cache->header, cache->header_len);

	/* buf keeps growing in the caller's context: repalloc stays put */
	oldcxt = MemoryContextSwitchTo(cache->call_cxt);
	heap_deform_tuple(&tuple, cache->desc, cache->values, cache->isnull);
	wb_enc_init(&enc, walbus_append, &buf);
	for (int i = 0; i < cache->ncolumns; i++)
	{
		WalbusColumn *col = &cache->columns[i];

		walbus_row_encode(&enc, col, cache->values[col->attno - 1],
						  cache->isnull[col->attno - 1]);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(cache->call_cxt);

	if (wb_enc_failed(&enc))
		elog(ERROR, "walbus: could not encode a row of relation %u",
			 cache->relid);
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

/*
 * The primary-key value of row r, as the key element of a DELETE record of
 * the row.
 */
Datum
walbus_key_sql(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row;
	WalbusRowCache *cache = walbus_row_cache_get(fcinfo, "walbus_key", true,
												 &row);
	WalbusColumn   *key = &cache->columns[cache->key_index];
	HeapTupleData	tuple;
	StringInfoData	buf;
	MemoryContext	oldcxt;
	Datum			value;
	bool			isnull;
	wb_enc			enc;

	walbus_row_tuple(&tuple, row);
	walbus_row_bytea_start(&buf);

	oldcxt = MemoryContextSwitchTo(cache->call_cxt);
	value = heap_getattr(&tuple, key->attno, cache->desc, &isnull);
	wb_enc_init(&enc, walbus_append, &buf);
	walbus_row_encode(&enc, key, value, isnull);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(cache->call_cxt);

	if (wb_enc_failed(&enc))
		elog(ERROR, "walbus: could not encode a key of relation %u",
			 cache->relid);
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

/*
 * The call site's cache, up to date for this call's rel and role, and the
 * row argument, checked to be a row of rel.  The checks that need the
 * catalog are made when the cache is built; a call that finds it current
 * only compares a few numbers.
 */
static WalbusRowCache *
walbus_row_cache_get(FunctionCallInfo fcinfo, const char *fname, bool want_key,
					 HeapTupleHeader *row)
{
	WalbusRowCache *cache = fcinfo->flinfo->fn_extra;
	MemoryContext	oldcxt;
	Oid				typid;

	if (cache == NULL || !OidIsValid(cache->relid) ||
		cache->relid != PG_GETARG_OID(0) ||
		cache->typentry->tupDesc_identifier != cache->tupdesc_id ||
		(want_key && cache->roleid != GetUserId()))
		cache = walbus_row_cache_build(fcinfo, fname, want_key);

	/* the build checked that the argument's type is a row type */
	oldcxt = MemoryContextSwitchTo(cache->call_cxt);
	*row = PG_GETARG_HEAPTUPLEHEADER(1);
	MemoryContextSwitchTo(oldcxt);
	typid = HeapTupleHeaderGetTypeId(*row);
	if (typid != cache->rowtype)
		walbus_row_type_mismatch(cache->relid, fname, typid);
	return cache;
}

static WalbusRowCache *
walbus_row_cache_build(FunctionCallInfo fcinfo, const char *fname,
					   bool want_key)
{
	FmgrInfo	   *flinfo = fcinfo->flinfo;
	WalbusRowCache *cache = flinfo->fn_extra;
	Oid				relid = PG_GETARG_OID(0);
	Oid				argtype = get_fn_expr_argtype(flinfo, 1);
	Relation		rel;
	TupleDesc		desc;
	MemoryContext	oldcxt;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(flinfo->fn_mcxt,
									   sizeof(WalbusRowCache));
		cache->rel_cxt = AllocSetContextCreate(flinfo->fn_mcxt,
											   "walbus row cache",
											   ALLOCSET_SMALL_SIZES);
		cache->call_cxt = AllocSetContextCreate(flinfo->fn_mcxt, "walbus row",
												ALLOCSET_DEFAULT_SIZES);
		flinfo->fn_extra = cache;
	}
	/* not valid until the end: an ERROR midway leaves it to be rebuilt */
	cache->relid = InvalidOid;
	MemoryContextReset(cache->rel_cxt);

	/*
	 * Kept locked to the end of the transaction, as the scan that read the
	 * rows keeps it: the definition cached here then stays the table's.
	 */
	rel = relation_open(relid, AccessShareLock);
	walbus_row_check_table(rel);

	/*
	 * A row of an unknown type (record) may still be one of rel's: its
	 * datum says, and is checked at every call.
	 */
	if (!OidIsValid(argtype) || !type_is_rowtype(argtype) ||
		(getBaseType(argtype) != RECORDOID &&
		 getBaseType(argtype) != rel->rd_rel->reltype))
		walbus_row_type_mismatch(relid, fname, argtype);

	/*
	 * The identifier first: an invalidation arriving while the rest is
	 * read changes it, and the next call rebuilds.
	 */
	cache->rowtype = rel->rd_rel->reltype;
	cache->typentry = lookup_type_cache(cache->rowtype, TYPECACHE_TUPDESC);
	cache->tupdesc_id = cache->typentry->tupDesc_identifier;

	walbus_utf8_prepare();
	desc = RelationGetDescr(rel);
	oldcxt = MemoryContextSwitchTo(cache->rel_cxt);
	cache->desc = CreateTupleDescCopy(desc);
	cache->values = palloc(desc->natts * sizeof(Datum));
	cache->isnull = palloc(desc->natts * sizeof(bool));
	cache->columns = palloc(desc->natts * sizeof(WalbusColumn));
	cache->ncolumns = walbus_columns_prepare(desc, cache->columns,
											 cache->rel_cxt);
	MemoryContextSwitchTo(oldcxt);

	cache->key_index = -1;
	if (want_key)
		walbus_row_check_key(cache, rel);
	walbus_row_values_header(cache, relid);

	relation_close(rel, NoLock);
	cache->relid = relid;
	return cache;
}

/*
 * rel must be a table whose changes are published under its own name: an
 * ordinary or partitioned table, not a partition, whose rows go out in its
 * root's column order.
 */
static void
walbus_row_check_table(Relation rel)
{
	char relkind = rel->rd_rel->relkind;
	Oid	 root;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail_relkind_not_supported(relkind)));
	if (rel->rd_rel->relispartition)
	{
		root = llast_oid(get_partition_ancestors(RelationGetRelid(rel)));
		/* clang-format off */
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partition", RelationGetRelationName(rel)),
				 errdetail("walbus publishes the rows of a partition as rows of its root table, \"%s\".",
						   get_rel_name(root)),
				 errhint("Pass the root table, and rows read from it.")));
		/* clang-format on */
	}
}

/*
 * walbus_key: the verdict the plugin gives rel for this role, and where
 * its key is.  Patterns are options of a stream, so none applies here.
 */
static void
walbus_row_check_key(WalbusRowCache *cache, Relation rel)
{
	Oid		   roleid = GetUserId();
	AttrNumber key_attno = InvalidAttrNumber;

	/* clang-format off */
	if (walbus_eligibility(rel, roleid, NULL, NULL, &key_attno) !=
		WALBUS_ELIGIBLE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not published by walbus: %s",
						RelationGetRelationName(rel),
						walbus_eligibility_reason(rel, roleid, NULL)),
				 errhint("The view walbus_tables gives the verdict of every table for the current role.")));
	/* clang-format on */

	for (int i = 0; i < cache->ncolumns; i++)
		if (cache->columns[i].attno == key_attno)
			cache->key_index = i;
	if (cache->key_index < 0)
		elog(ERROR,
			 "primary key column %d of relation \"%s\" is not published",
			 key_attno, RelationGetRelationName(rel));
	cache->roleid = roleid;
}

/*
 * The msgpack header of the values array, exactly as an INSERT record has
 * it.  proto writes that header only as part of wb_enc_insert_start.  An
 * INSERT and a DELETE record of one relid start alike, [kind, relid, ...],
 * each kind a one-byte fixint (docs/PROTOCOL.md §4), so the header is what
 * the INSERT's start writes beyond the DELETE's.
 */
static void
walbus_row_values_header(WalbusRowCache *cache, Oid relid)
{
	StringInfoData ins;
	StringInfoData del;
	wb_enc		   enc;

	initStringInfo(&ins);
	wb_enc_init(&enc, walbus_append, &ins);
	wb_enc_insert_start(&enc, relid, cache->ncolumns);
	initStringInfo(&del);
	wb_enc_init(&enc, walbus_append, &del);
	wb_enc_delete_start(&enc, relid);

	cache->header_len = ins.len - del.len;
	if (cache->header_len <= 0 || cache->header_len > WALBUS_ARRAY_HEADER_MAX)
		elog(ERROR, "walbus: unexpected INSERT record start of %d bytes",
			 ins.len);
	memcpy(cache->header, ins.data + del.len, cache->header_len);
	pfree(ins.data);
	pfree(del.data);
}

/* The row argument is not a row of table relid: typid is what it is. */
static void
walbus_row_type_mismatch(Oid relid, const char *fname, Oid typid)
{
	/* clang-format off */
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("argument of %s must be a row of table \"%s\"",
					fname, get_rel_name(relid)),
			 !OidIsValid(typid) ? 0 :
			 type_is_rowtype(typid) ?
			 errdetail("It is a row of type %s.", format_type_be(typid)) :
			 errdetail("It is of type %s.", format_type_be(typid)),
			 errhint("Pass the table's whole-row reference, as in SELECT %s('t'::regclass, t.*) FROM t.",
					 fname)));
	/* clang-format on */
}

/*
 * One value, as walbus_value_encode writes it in a change record.  A row
 * read by SQL is whole: a value in it still stored out of line is part of
 * the row, not one that an update left alone, so it is fetched here rather
 * than sent as the unchanged marker.  (PostgreSQL flattens whole-row
 * values, so none comes that way today; this keeps the promise if one
 * ever does.)
 */
static void
walbus_row_encode(wb_enc *enc, WalbusColumn *col, Datum value, bool isnull)
{
	WalbusValueInfo *info = &col->value;

	if (!isnull && info->typlen == -1 &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value)))
		value = PointerGetDatum(
			detoast_external_attr((struct varlena *) DatumGetPointer(value)));
	walbus_value_encode(enc, info, value, isnull);
}

/* A HeapTuple over a composite datum, for heap_deform_tuple. */
static void
walbus_row_tuple(HeapTupleData *tuple, HeapTupleHeader row)
{
	tuple->t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = row;
}

/* A buffer for the result, in the caller's context, its header left blank. */
static void
walbus_row_bytea_start(StringInfo buf)
{
	initStringInfo(buf);
	appendStringInfoSpaces(buf, VARHDRSZ);
}
