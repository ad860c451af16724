/*-------------------------------------------------------------------------
 *
 * walbus_relcache.c
 *	  The walbus plugin's per-relation cache (see walbus_relcache.h).
 *
 * Invalidation only clears flags; the work happens at the next change of
 * the relation, from the Relation decoding hands us, which describes the
 * table as of that change.  A rebuilt RELATION record identical to the one
 * already sent is not sent again: invalidations also come from VACUUM,
 * ANALYZE, index builds and other sessions, and consumers need a RELATION
 * only when the definition they hold is no longer right.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/attmap.h"
#include "access/htup_details.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "walbus_relcache.h"

static HTAB *walbus_rel_hash = NULL;
static MemoryContext walbus_rel_cxt = NULL;
static const WalbusTableFilter *walbus_rel_filter = NULL;
static Oid	walbus_rel_roleid = InvalidOid;

static bool walbus_entry_is_current(const WalbusRelEntry *entry);
static void walbus_entry_rebuild(WalbusRelEntry *entry, Relation rel);
static void walbus_encode_relation(StringInfo buf, Relation rel,
								   AttrNumber key_attno);
static void walbus_set_columns(WalbusRelEntry *entry, Relation rel,
							   AttrNumber key_attno);
static void walbus_set_mapping(WalbusRelEntry *entry, Relation rel,
							   Relation published_rel);
static char *walbus_type_name(Oid typid, int32 typmod);
static void walbus_invalidate_all(void);
static void walbus_relcache_cb(Datum arg, Oid relid);
static void walbus_namespace_cb(Datum arg, int cacheid, uint32 hashvalue);
static void walbus_type_cb(Datum arg, int cacheid, uint32 hashvalue);
static void walbus_membership_cb(Datum arg, int cacheid, uint32 hashvalue);

/* Generated columns are computed by readers, and dropped ones are gone. */
#define WALBUS_COLUMN_PUBLISHED(attr) \
	(!(attr)->attisdropped && (attr)->attgenerated == '\0')

void
walbus_relcache_init(const WalbusTableFilter *filter, Oid roleid)
{
	static bool callbacks_registered = false;
	HASHCTL		ctl;

	/* a session ended by an ERROR never reached walbus_relcache_destroy */
	walbus_relcache_destroy();

	walbus_rel_cxt = AllocSetContextCreate(CacheMemoryContext,
										   "walbus relation cache",
										   ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(WalbusRelEntry);
	ctl.hcxt = walbus_rel_cxt;
	walbus_rel_hash = hash_create("walbus relation cache", 128, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	walbus_rel_filter = filter;
	walbus_rel_roleid = roleid;

	/* callbacks cannot be unregistered: register them once per backend */
	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(walbus_relcache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, walbus_namespace_cb,
									  (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, walbus_type_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, walbus_membership_cb,
									  (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, walbus_membership_cb,
									  (Datum) 0);
		callbacks_registered = true;
	}
}

void
walbus_relcache_destroy(void)
{
	if (walbus_rel_cxt)
		MemoryContextDelete(walbus_rel_cxt);
	walbus_rel_cxt = NULL;
	walbus_rel_hash = NULL;
	walbus_rel_filter = NULL;
}

WalbusRelEntry *
walbus_relcache_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	WalbusRelEntry *entry;
	bool		found;

	entry = hash_search(walbus_rel_hash, &relid, HASH_ENTER, &found);
	if (!found)
	{
		memset(entry, 0, sizeof(WalbusRelEntry));
		entry->relid = relid;
		entry->cxt = AllocSetContextCreate(walbus_rel_cxt,
										   "walbus relation",
										   ALLOCSET_SMALL_SIZES);
	}
	if (!walbus_entry_is_current(entry))
		walbus_entry_rebuild(entry, rel);
	return entry;
}

/* Valid itself, and built against the current state of its root. */
static bool
walbus_entry_is_current(const WalbusRelEntry *entry)
{
	const WalbusRelEntry *published = entry->published;

	if (!entry->valid)
		return false;
	if (published == NULL || published == entry)
		return true;
	return published->valid &&
		published->generation == entry->published_generation;
}

static void
walbus_entry_rebuild(WalbusRelEntry *entry, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			published_relid;
	AttrNumber	key_attno = InvalidAttrNumber;
	WalbusEligibility verdict;
	Relation	published_rel = NULL;
	WalbusRelEntry *published = NULL;
	StringInfoData record;
	bool		still_sent = false;
	MemoryContext oldcxt;

	/* set first, so that an invalidation arriving while we build wins */
	entry->valid = true;

	verdict = walbus_eligibility(rel, walbus_rel_roleid, walbus_rel_filter,
								 &published_relid, &key_attno);
	if (published_relid == relid)
	{
		published = entry;
		published_rel = rel;
	}
	else if (OidIsValid(published_relid))
	{
		published_rel = RelationIdGetRelation(published_relid);
		if (!RelationIsValid(published_rel))
			elog(ERROR, "could not open relation with OID %u",
				 published_relid);
		published = walbus_relcache_get(published_rel);

		/*
		 * The root's cached verdict may predate a catalog change that
		 * reached only this partition's entry.  A partition published
		 * under a root that is not must never be emitted (the root has no
		 * columns or RELATION record to send): judge the root afresh, and
		 * follow it.
		 */
		if (verdict == WALBUS_ELIGIBLE &&
			published->verdict != WALBUS_ELIGIBLE)
		{
			published->valid = false;
			published = walbus_relcache_get(published_rel);
			if (published->verdict != WALBUS_ELIGIBLE)
				verdict = published->verdict;
		}
	}

	if (verdict == WALBUS_ELIGIBLE && published == entry)
	{
		initStringInfo(&record);
		walbus_encode_relation(&record, rel, key_attno);
		still_sent = entry->relation_sent &&
			entry->relation_record_len == record.len &&
			memcmp(entry->relation_record, record.data, record.len) == 0;
	}

	MemoryContextReset(entry->cxt);
	entry->verdict = verdict;
	entry->namespace_hash =
		GetSysCacheHashValue1(NAMESPACEOID,
							  ObjectIdGetDatum(RelationGetNamespace(rel)));
	entry->published = published;
	entry->published_generation = published ? published->generation : 0;
	entry->generation++;
	entry->src_attno = NULL;
	entry->values = NULL;
	entry->isnull = NULL;
	entry->ncolumns = 0;
	entry->columns = NULL;
	entry->relation_record = NULL;
	entry->relation_record_len = 0;
	entry->relation_sent = false;

	if (verdict == WALBUS_ELIGIBLE)
	{
		oldcxt = MemoryContextSwitchTo(entry->cxt);
		if (published == entry)
		{
			walbus_set_columns(entry, rel, key_attno);
			entry->relation_record = palloc(record.len);
			memcpy(entry->relation_record, record.data, record.len);
			entry->relation_record_len = record.len;
			entry->relation_sent = still_sent;
		}
		walbus_set_mapping(entry, rel, published_rel);
		MemoryContextSwitchTo(oldcxt);
	}

	if (published_rel && published_rel != rel)
		RelationClose(published_rel);
}

/*
 * The RELATION record of rel (docs/PROTOCOL.md §4): every name converted
 * to UTF-8, columns in attribute order.
 */
static void
walbus_encode_relation(StringInfo buf, Relation rel, AttrNumber key_attno)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			ncolumns = 0;
	int			key_index = -1;
	wb_enc		enc;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!WALBUS_COLUMN_PUBLISHED(attr))
			continue;
		if (attr->attnum == key_attno)
			key_index = ncolumns;
		ncolumns++;
	}
	if (key_index < 0)
		elog(ERROR, "primary key column %d of relation \"%s\" is not published",
			 key_attno, RelationGetRelationName(rel));

	wb_enc_init(&enc, walbus_append, buf);
	{
		const char *schema = get_namespace_name(RelationGetNamespace(rel));
		const char *table = RelationGetRelationName(rel);
		size_t		schema_len;
		size_t		table_len;

		schema = walbus_to_utf8(schema, strlen(schema), &schema_len);
		table = walbus_to_utf8(table, strlen(table), &table_len);
		wb_enc_relation_start(&enc, RelationGetRelid(rel),
							  schema, schema_len, table, table_len,
							  key_index, ncolumns);
	}
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		const char *name;
		const char *typname;
		size_t		name_len;
		size_t		typname_len;

		if (!WALBUS_COLUMN_PUBLISHED(attr))
			continue;
		name = walbus_to_utf8(NameStr(attr->attname),
							  strlen(NameStr(attr->attname)), &name_len);
		typname = walbus_type_name(attr->atttypid, attr->atttypmod);
		typname = walbus_to_utf8(typname, strlen(typname), &typname_len);
		wb_enc_column(&enc, name, name_len, attr->atttypid, attr->atttypmod,
					  typname, typname_len);
	}
	if (wb_enc_failed(&enc))
		elog(ERROR, "could not encode the RELATION record of \"%s\"",
			 RelationGetRelationName(rel));
}

/* The published columns and their value mapping, in RELATION order. */
static void
walbus_set_columns(WalbusRelEntry *entry, Relation rel, AttrNumber key_attno)
{
	TupleDesc	desc = RelationGetDescr(rel);

	entry->columns = palloc(desc->natts * sizeof(WalbusColumn));
	entry->ncolumns = 0;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		WalbusColumn *col;

		if (!WALBUS_COLUMN_PUBLISHED(attr))
			continue;
		if (attr->attnum == key_attno)
			entry->key_index = entry->ncolumns;
		col = &entry->columns[entry->ncolumns++];
		col->attno = attr->attnum;
		col->type_hash = GetSysCacheHashValue1(TYPEOID,
											   ObjectIdGetDatum(attr->atttypid));
		walbus_value_prepare(&col->value, attr->atttypid, entry->cxt);
	}
}

/*
 * Where each published column is found in a tuple of rel.  Partitions may
 * order their columns differently from their root (columns dropped before
 * attaching, or a table created separately and attached), so columns are
 * matched by name, as tuple routing does.
 */
static void
walbus_set_mapping(WalbusRelEntry *entry, Relation rel,
				   Relation published_rel)
{
	const WalbusRelEntry *published = entry->published;
	int			natts = RelationGetDescr(rel)->natts;
	AttrMap    *map = NULL;

	if (published_rel != rel)
		map = build_attrmap_by_name_if_req(RelationGetDescr(rel),
										   RelationGetDescr(published_rel));

	entry->src_attno = palloc(published->ncolumns * sizeof(AttrNumber));
	for (int i = 0; i < published->ncolumns; i++)
	{
		AttrNumber	attno = published->columns[i].attno;

		entry->src_attno[i] = map ? map->attnums[attno - 1] : attno;
		if (entry->src_attno[i] <= 0 || entry->src_attno[i] > natts)
			elog(ERROR, "column %d of relation \"%s\" has no counterpart in \"%s\"",
				 attno, RelationGetRelationName(published_rel),
				 RelationGetRelationName(rel));
	}
	if (map)
		free_attrmap(map);
	entry->values = palloc(natts * sizeof(Datum));
	entry->isnull = palloc(natts * sizeof(bool));
}

/*
 * The type as format_type prints it, schema-qualified unless it lives in
 * pg_catalog, so that the name does not depend on the stream's search_path.
 */
static char *
walbus_type_name(Oid typid, int32 typmod)
{
	HeapTuple	tup;
	Oid			nspid;
	bits16		flags = FORMAT_TYPE_TYPEMOD_GIVEN;

	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nspid = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);

	if (nspid != PG_CATALOG_NAMESPACE)
		flags |= FORMAT_TYPE_FORCE_QUALIFY;
	return format_type_extended(typid, typmod, flags);
}

static void
walbus_invalidate_all(void)
{
	HASH_SEQ_STATUS status;
	WalbusRelEntry *entry;

	if (walbus_rel_hash == NULL)
		return;
	hash_seq_init(&status, walbus_rel_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->valid = false;
}

/* A relation changed; InvalidOid means every relation may have. */
static void
walbus_relcache_cb(Datum arg, Oid relid)
{
	WalbusRelEntry *entry;

	if (walbus_rel_hash == NULL)
		return;
	if (!OidIsValid(relid))
	{
		walbus_invalidate_all();
		return;
	}
	entry = hash_search(walbus_rel_hash, &relid, HASH_FIND, NULL);
	if (entry)
		entry->valid = false;
}

/*
 * A schema changed (hashvalue 0: maybe all of them).  Renaming one changes
 * the names its tables are published under, and table patterns may match
 * them differently.  Partitions follow their root's entry.
 */
static void
walbus_namespace_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS status;
	WalbusRelEntry *entry;

	if (walbus_rel_hash == NULL)
		return;
	hash_seq_init(&status, walbus_rel_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (hashvalue == 0 || entry->namespace_hash == hashvalue)
			entry->valid = false;
}

/*
 * A type changed (hashvalue 0: maybe all of them): the RELATION records of
 * tables with a column of that type may name it differently now.  Types
 * are created with every table, so only the tables using this one are
 * dropped.
 */
static void
walbus_type_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS status;
	WalbusRelEntry *entry;

	if (walbus_rel_hash == NULL)
		return;
	hash_seq_init(&status, walbus_rel_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		for (int i = 0; i < entry->ncolumns && entry->valid; i++)
			if (hashvalue == 0 || entry->columns[i].type_hash == hashvalue)
				entry->valid = false;
	}
}

/*
 * Role membership changed, or a role did (becoming or ceasing to be a
 * superuser makes it a member of every role, or of none).  Which roles an
 * ownership verdict relied on is not recorded, and such changes are rare:
 * drop every verdict.
 */
static void
walbus_membership_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	walbus_invalidate_all();
}
