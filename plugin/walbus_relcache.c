/*-------------------------------------------------------------------------
 *
 * walbus_relcache.c
 *	  The walbus plugin's per-relation cache (see walbus_relcache.h).
 *
 * Invalidation only clears flags; the work happens at the next change of
 * the relation, from the Relation decoding hands us, which describes the
 * table as of that change.  A rebuilt RELATION record identical to the last
 * one sent is not sent again: invalidations also come from VACUUM, ANALYZE,
 * index builds and other sessions, a table may be ineligible for a while,
 * and consumers need a RELATION only when the definition they hold is no
 * longer right (in version 2, a WITHDRAWN record tells them to forget it,
 * and so does walbus_relcache_withdrawn here).
 *
 * Invalidation callbacks may run whenever the catalog is read, in the
 * middle of a rebuild too, and outside any transaction (the reorder buffer
 * runs a transaction's invalidations after aborting the transaction it
 * decoded in).  So they never read the catalog, never allocate and never
 * free: they clear flags, bump the epoch and list entries to check.  Only
 * walbus_relcache_forget_dropped, at a commit, looks those up and frees the
 * ones whose relation is gone; the reverse index and the lists are only
 * changed by code that does not read the catalog meanwhile, so a callback
 * always finds them whole, even after an ERROR ended a session midway.
 *
 * Protocol version 2 adds a queue of dropped relids for WITHDRAWN records.
 * Callbacks never look at it; walbus_relcache_forget_dropped makes room in
 * it for every entry before it frees any (no entry can be added while it
 * runs), so it holds at most as many relids as there were entries, and an
 * allocation failure leaves the cache as it was.  The commit callback
 * empties it right after.
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

/* A catalog object entries are built from: a schema or a type. */
typedef struct WalbusDepKey
{
	int	   cacheid;	  /* NAMESPACEOID or TYPEOID */
	uint32 hashvalue; /* its hash value in that syscache */
} WalbusDepKey;

/* The entries built from one object: an entry of walbus_dep_hash. */
typedef struct WalbusDep
{
	WalbusDepKey key;	/* hash key */
	dlist_head	 links; /* of WalbusDepLink, never empty */
} WalbusDep;

/* One entry's use of one object. */
typedef struct WalbusDepLink
{
	dlist_node		node; /* in dep->links */
	WalbusRelEntry *entry;
	WalbusDep	   *dep;
} WalbusDepLink;

static HTAB					   *walbus_rel_hash = NULL;
static HTAB					   *walbus_dep_hash = NULL; /* the reverse index */
static MemoryContext			walbus_rel_cxt = NULL;
static const WalbusTableFilter *walbus_rel_filter = NULL;
static Oid						walbus_rel_roleid = InvalidOid;
static int						walbus_rel_version = WB_PROTO_VERSION_MIN;

/*
 * Version 2: relids of dropped relations whose RELATION this session sent,
 * waiting for the commit callback: walbus_dropped[walbus_dropped_next ..
 * walbus_ndropped) are pending.  In walbus_rel_cxt.
 */
static Oid *walbus_dropped = NULL;
static int	walbus_dropped_cap = 0;
static int	walbus_ndropped = 0;
static int	walbus_dropped_next = 0;

/*
 * Entries whose relation a relcache invalidation named: dropped, maybe.
 * walbus_check_all stands for every entry (the invalidation named none).
 */
static dlist_head walbus_check_list = DLIST_STATIC_INIT(walbus_check_list);
static bool		  walbus_check_all = false;

/*
 * Bumped by invalidations that may concern every entry (a cache reset, a
 * role change), which makes every entry built before stale in O(1).
 */
static uint64 walbus_epoch = 0;

/* The last generation given to a build; never reused in a backend. */
static uint64 walbus_generation = 0;

static bool	 walbus_entry_is_current(const WalbusRelEntry *entry);
static void	 walbus_entry_rebuild(WalbusRelEntry *entry, Relation rel);
static void	 walbus_encode_relation(StringInfo buf, Relation rel,
									AttrNumber key_attno, int version);
static void	 walbus_set_columns(WalbusRelEntry *entry, Relation rel,
								AttrNumber key_attno);
static void	 walbus_set_mapping(WalbusRelEntry *entry, Relation rel,
								Relation published_rel);
static Oid	 walbus_type_namespace(Oid typid);
static char *walbus_type_name(Oid typid, int32 typmod);
static void walbus_entry_depend(WalbusRelEntry *entry, int cacheid, Oid objid);
static void walbus_entry_undepend(WalbusRelEntry *entry);
static void walbus_entry_to_check(WalbusRelEntry *entry);
static void walbus_dropped_reserve(long n);
static void walbus_entry_free(WalbusRelEntry *entry);
static void walbus_relcache_cb(Datum arg, Oid relid);
static void walbus_dependency_cb(Datum arg, int cacheid, uint32 hashvalue);
static void walbus_membership_cb(Datum arg, int cacheid, uint32 hashvalue);

/* Generated columns are computed by readers, and dropped ones are gone. */
#define WALBUS_COLUMN_PUBLISHED(attr) \
	(!(attr)->attisdropped && (attr)->attgenerated == '\0')

void
walbus_relcache_init(const WalbusTableFilter *filter, Oid roleid,
					 int proto_version)
{
	static bool callbacks_registered = false;
	HASHCTL		ctl;

	/* a session ended by an ERROR never reached walbus_relcache_destroy */
	walbus_relcache_destroy();

	walbus_rel_cxt = AllocSetContextCreate(CacheMemoryContext,
										   "walbus relation cache",
										   ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(WalbusDepKey);
	ctl.entrysize = sizeof(WalbusDep);
	ctl.hcxt = walbus_rel_cxt;
	walbus_dep_hash = hash_create("walbus relation cache dependencies", 64,
								  &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	/* last: callbacks look at nothing while walbus_rel_hash is NULL */
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(WalbusRelEntry);
	walbus_rel_hash = hash_create("walbus relation cache", 128, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	walbus_rel_filter = filter;
	walbus_rel_roleid = roleid;
	walbus_rel_version = proto_version;

	/* callbacks cannot be unregistered: register them once per backend */
	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(walbus_relcache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, walbus_dependency_cb,
									  (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, walbus_dependency_cb,
									  (Datum) 0);
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
	walbus_rel_hash = NULL;
	walbus_dep_hash = NULL;
	walbus_rel_filter = NULL;
	dlist_init(&walbus_check_list);
	walbus_check_all = false;
	walbus_dropped = NULL;
	walbus_dropped_cap = 0;
	walbus_ndropped = 0;
	walbus_dropped_next = 0;
	if (walbus_rel_cxt)
		MemoryContextDelete(walbus_rel_cxt);
	walbus_rel_cxt = NULL;
}

WalbusRelEntry *
walbus_relcache_get(Relation rel)
{
	Oid				relid = RelationGetRelid(rel);
	WalbusRelEntry *entry;
	bool			found;

	entry = hash_search(walbus_rel_hash, &relid, HASH_ENTER, &found);
	if (!found)
	{
		memset(entry, 0, sizeof(WalbusRelEntry));
		entry->relid = relid;
		entry->cxt = AllocSetContextCreate(walbus_rel_cxt, "walbus relation",
										   ALLOCSET_SMALL_SIZES);
	}
	if (!walbus_entry_is_current(entry))
		walbus_entry_rebuild(entry, rel);
	return entry;
}

/*
 * Valid itself, and built against the current state of its root.  The
 * root's entry is looked up by relid, not followed by pointer: it may have
 * been freed since (a detached partition outlives its dropped root).
 */
static bool
walbus_entry_is_current(const WalbusRelEntry *entry)
{
	const WalbusRelEntry *published;

	if (!entry->valid || entry->epoch != walbus_epoch)
		return false;
	if (entry->published == NULL || entry->published == entry)
		return true;
	published = hash_search(walbus_rel_hash, &entry->published_relid,
							HASH_FIND, NULL);
	return published != NULL && published->valid &&
		published->epoch == walbus_epoch &&
		published->generation == entry->published_generation;
}

static void
walbus_entry_rebuild(WalbusRelEntry *entry, Relation rel)
{
	Oid				  relid = RelationGetRelid(rel);
	Oid				  published_relid;
	AttrNumber		  key_attno = InvalidAttrNumber;
	WalbusEligibility verdict;
	Relation		  published_rel = NULL;
	WalbusRelEntry	 *published = NULL;
	StringInfoData	  record;
	int				  maxdeps = 1;
	MemoryContext	  oldcxt;

	/* set first, so that an invalidation arriving while we build wins */
	entry->valid = true;
	entry->epoch = walbus_epoch;

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
		walbus_encode_relation(&record, rel, key_attno, walbus_rel_version);
		/* its schema, then each column's type and the type's schema */
		maxdeps += 2 * RelationGetDescr(rel)->natts;
	}

	/* the links live in cxt: out of the reverse index before the reset */
	walbus_entry_undepend(entry);
	MemoryContextReset(entry->cxt);
	entry->verdict = verdict;
	entry->published = published;
	entry->published_relid = published ? published->relid : InvalidOid;
	entry->published_generation = published ? published->generation : 0;
	entry->generation = ++walbus_generation;
	entry->src_attno = NULL;
	entry->values = NULL;
	entry->isnull = NULL;
	entry->ncolumns = 0;
	entry->columns = NULL;
	entry->relation_record = NULL;
	entry->relation_record_len = 0;
	entry->relation_sent = false;

	oldcxt = MemoryContextSwitchTo(entry->cxt);
	entry->deps = palloc(maxdeps * sizeof(WalbusDepLink));
	walbus_entry_depend(entry, NAMESPACEOID, RelationGetNamespace(rel));
	if (verdict == WALBUS_ELIGIBLE)
	{
		if (published == entry)
		{
			walbus_set_columns(entry, rel, key_attno);
			entry->relation_record = palloc(record.len);
			memcpy(entry->relation_record, record.data, record.len);
			entry->relation_record_len = record.len;
			entry->relation_sent = entry->sent_record != NULL &&
				entry->sent_record_len == record.len &&
				memcmp(entry->sent_record, record.data, record.len) == 0;
		}
		walbus_set_mapping(entry, rel, published_rel);
	}
	MemoryContextSwitchTo(oldcxt);

	if (published_rel && published_rel != rel)
		RelationClose(published_rel);
}

void
walbus_relcache_relation_sent(WalbusRelEntry *entry)
{
	char *copy = MemoryContextAlloc(walbus_rel_cxt,
									entry->relation_record_len);

	memcpy(copy, entry->relation_record, entry->relation_record_len);
	if (entry->sent_record)
		pfree(entry->sent_record);
	entry->sent_record = copy;
	entry->sent_record_len = entry->relation_record_len;
	entry->relation_sent = true;
}

void
walbus_relcache_withdrawn(WalbusRelEntry *entry)
{
	if (entry->sent_record)
		pfree(entry->sent_record);
	entry->sent_record = NULL;
	entry->sent_record_len = 0;
	entry->relation_sent = false;
}

/*
 * The RELATION record of rel (docs/PROTOCOL.md §4): every name converted
 * to UTF-8, columns in attribute order.  Version 2 adds each column's
 * attnum and the schema's OID, which stay the same across renames, so that
 * consumers can key what they keep on them rather than on names.
 */
void
walbus_relation_record(StringInfo buf, Relation rel, AttrNumber key_attno)
{
	walbus_encode_relation(buf, rel, key_attno, WB_PROTO_VERSION_MAX);
}

static void
walbus_encode_relation(StringInfo buf, Relation rel, AttrNumber key_attno,
					   int version)
{
	TupleDesc desc = RelationGetDescr(rel);
	Oid		  schema_oid = InvalidOid; /* 0 asks for version 1 */
	int		  ncolumns = 0;
	int		  key_index = -1;
	wb_enc	  enc;

	if (version >= 2)
		schema_oid = RelationGetNamespace(rel);

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
		elog(ERROR,
			 "primary key column %d of relation \"%s\" is not published",
			 key_attno, RelationGetRelationName(rel));

	wb_enc_init(&enc, walbus_append, buf);
	{
		const char *schema = get_namespace_name(RelationGetNamespace(rel));
		const char *table = RelationGetRelationName(rel);
		size_t		schema_len;
		size_t		table_len;

		schema = walbus_to_utf8(schema, strlen(schema), &schema_len);
		table = walbus_to_utf8(table, strlen(table), &table_len);
		wb_enc_relation_start(&enc, RelationGetRelid(rel), schema, schema_len,
							  table, table_len, key_index, ncolumns,
							  schema_oid);
	}
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		const char		 *name;
		const char		 *typname;
		size_t			  name_len;
		size_t			  typname_len;

		if (!WALBUS_COLUMN_PUBLISHED(attr))
			continue;
		name = walbus_to_utf8(NameStr(attr->attname),
							  strlen(NameStr(attr->attname)), &name_len);
		typname = walbus_type_name(attr->atttypid, attr->atttypmod);
		typname = walbus_to_utf8(typname, strlen(typname), &typname_len);
		wb_enc_column(&enc, name, name_len, attr->atttypid, attr->atttypmod,
					  typname, typname_len,
					  OidIsValid(schema_oid) ? attr->attnum : 0);
	}
	if (OidIsValid(schema_oid))
		wb_enc_relation_finish(&enc, schema_oid);
	if (wb_enc_failed(&enc))
		elog(ERROR, "could not encode the RELATION record of \"%s\"",
			 RelationGetRelationName(rel));
}

/*
 * The published columns and their value mapping, in RELATION order, and
 * what their type names are made of: the type and, unless it is
 * pg_catalog, which cannot be renamed, the type's schema.
 */
static void
walbus_set_columns(WalbusRelEntry *entry, Relation rel, AttrNumber key_attno)
{
	TupleDesc desc = RelationGetDescr(rel);

	entry->columns = palloc(desc->natts * sizeof(WalbusColumn));
	entry->ncolumns = walbus_columns_prepare(desc, entry->columns, entry->cxt);
	for (int i = 0; i < entry->ncolumns; i++)
	{
		AttrNumber attno = entry->columns[i].attno;
		Oid		   typid = TupleDescAttr(desc, attno - 1)->atttypid;
		Oid		   nspid;

		if (attno == key_attno)
			entry->key_index = i;
		walbus_entry_depend(entry, TYPEOID, typid);
		nspid = walbus_type_namespace(typid);
		if (nspid != PG_CATALOG_NAMESPACE)
			walbus_entry_depend(entry, NAMESPACEOID, nspid);
	}
}

int
walbus_columns_prepare(TupleDesc desc, WalbusColumn *columns,
					   MemoryContext cxt)
{
	int ncolumns = 0;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		WalbusColumn	 *col;

		if (!WALBUS_COLUMN_PUBLISHED(attr))
			continue;
		col = &columns[ncolumns++];
		col->attno = attr->attnum;
		walbus_value_prepare(&col->value, attr->atttypid, cxt);
	}
	return ncolumns;
}

/*
 * Where each published column is found in a tuple of rel.  Partitions may
 * order their columns differently from their root (columns dropped before
 * attaching, or a table created separately and attached), so columns are
 * matched by name, as tuple routing does.
 */
static void
walbus_set_mapping(WalbusRelEntry *entry, Relation rel, Relation published_rel)
{
	const WalbusRelEntry *published = entry->published;
	int					  natts = RelationGetDescr(rel)->natts;
	AttrMap				 *map = NULL;

	if (published_rel != rel)
		map = build_attrmap_by_name_if_req(RelationGetDescr(rel),
										   RelationGetDescr(published_rel));

	entry->src_attno = palloc(published->ncolumns * sizeof(AttrNumber));
	for (int i = 0; i < published->ncolumns; i++)
	{
		AttrNumber attno = published->columns[i].attno;

		entry->src_attno[i] = map ? map->attnums[attno - 1] : attno;
		if (entry->src_attno[i] <= 0 || entry->src_attno[i] > natts)
			elog(ERROR,
				 "column %d of relation \"%s\" has no counterpart in \"%s\"",
				 attno, RelationGetRelationName(published_rel),
				 RelationGetRelationName(rel));
	}
	if (map)
		free_attrmap(map);
	entry->values = palloc(natts * sizeof(Datum));
	entry->isnull = palloc(natts * sizeof(bool));
}

/* The schema of a type (of its element type, for an array: the same). */
static Oid
walbus_type_namespace(Oid typid)
{
	HeapTuple tup;
	Oid		  nspid;

	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nspid = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);
	return nspid;
}

/*
 * The type as format_type prints it, schema-qualified unless it lives in
 * pg_catalog, so that the name does not depend on the stream's search_path.
 */
static char *
walbus_type_name(Oid typid, int32 typmod)
{
	bits16 flags = FORMAT_TYPE_TYPEMOD_GIVEN;

	if (walbus_type_namespace(typid) != PG_CATALOG_NAMESPACE)
		flags |= FORMAT_TYPE_FORCE_QUALIFY;
	return format_type_extended(typid, typmod, flags);
}

/*
 * Record in the reverse index that entry was built from object objid of
 * syscache cacheid (NAMESPACEOID or TYPEOID), once per object.  Needs room
 * in entry->deps.  Reads no catalog, so a callback never sees a half-made
 * link.
 */
static void
walbus_entry_depend(WalbusRelEntry *entry, int cacheid, Oid objid)
{
	WalbusDepKey   key;
	WalbusDep	  *dep;
	WalbusDepLink *link;
	bool		   found;

	key.cacheid = cacheid;
	key.hashvalue = GetSysCacheHashValue1(cacheid, ObjectIdGetDatum(objid));
	dep = hash_search(walbus_dep_hash, &key, HASH_ENTER, &found);
	if (!found)
		dlist_init(&dep->links);
	else if (dlist_container(WalbusDepLink, node, dlist_tail_node(&dep->links))
				 ->entry == entry)
		return; /* an entry's links are made together */

	link = &entry->deps[entry->ndeps];
	link->entry = entry;
	link->dep = dep;
	dlist_push_tail(&dep->links, &link->node);
	entry->ndeps++;
}

/* Take entry out of the reverse index, dropping objects no entry uses. */
static void
walbus_entry_undepend(WalbusRelEntry *entry)
{
	while (entry->ndeps > 0)
	{
		WalbusDepLink *link = &entry->deps[--entry->ndeps];

		dlist_delete(&link->node);
		if (dlist_is_empty(&link->dep->links))
			hash_search(walbus_dep_hash, &link->dep->key, HASH_REMOVE, NULL);
	}
	entry->deps = NULL;
}

/* List entry for walbus_relcache_forget_dropped, once. */
static void
walbus_entry_to_check(WalbusRelEntry *entry)
{
	if (entry->check_dropped)
		return;
	entry->check_dropped = true;
	dlist_push_tail(&walbus_check_list, &entry->check_node);
}

/*
 * An entry's relation is gone as of the historic snapshot of a commit
 * callback.  Decoding runs in commit order and every committed catalog
 * change reaches the snapshots of the transactions decoded after it, so
 * the relation cannot come back in this stream (a new relation that gets
 * the same OID is another relation, and gets its RELATION anew).  Entries
 * that invalidations named but that still exist stay, invalid, and are
 * rebuilt at their next change.
 *
 * The relcache invalidation of a DROP is run when decoding reaches the end
 * of the dropping command, before the transaction's commit callback (with
 * wal_level = logical, PostgreSQL 14 and later log invalidations per
 * command), so a table is found gone in the commit callback of the
 * transaction that dropped it.  Were an invalidation to arrive only after
 * that callback, the entry would be found gone at the next one, which is
 * just as correct: its WITHDRAWN record would then come in that later
 * transaction.
 */
void
walbus_relcache_forget_dropped(void)
{
	if (walbus_rel_hash == NULL)
		return;

	if (walbus_check_all)
	{
		HASH_SEQ_STATUS status;
		WalbusRelEntry *entry;

		walbus_check_all = false;
		hash_seq_init(&status, walbus_rel_hash);
		while ((entry = hash_seq_search(&status)) != NULL)
			walbus_entry_to_check(entry);
	}

	if (walbus_rel_version >= 2 && !dlist_is_empty(&walbus_check_list))
		walbus_dropped_reserve(hash_get_num_entries(walbus_rel_hash));

	while (!dlist_is_empty(&walbus_check_list))
	{
		dlist_node	   *node = dlist_pop_head_node(&walbus_check_list);
		WalbusRelEntry *entry = dlist_container(WalbusRelEntry, check_node,
												node);

		entry->check_dropped = false;
		/* a catalog read: callbacks may list entries again meanwhile */
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->relid)))
		{
			/* the consumer holds its definition: tell it the table is gone */
			if (walbus_rel_version >= 2 && entry->sent_record != NULL)
				walbus_dropped[walbus_ndropped++] = entry->relid;
			walbus_entry_free(entry);
		}
	}
}

bool
walbus_relcache_next_dropped(Oid *relid)
{
	if (walbus_dropped_next >= walbus_ndropped)
	{
		walbus_dropped_next = 0;
		walbus_ndropped = 0;
		return false;
	}
	*relid = walbus_dropped[walbus_dropped_next++];
	return true;
}

/*
 * Room in the dropped queue for n more relids.  Called with the number of
 * entries, before any is freed: each entry is freed, and queued, at most
 * once.  Grows by doubling, so that a cache growing by one entry per
 * transaction does not reallocate at every commit.
 */
static void
walbus_dropped_reserve(long n)
{
	long needed = walbus_ndropped + n;
	int	 newcap;

	if (needed <= walbus_dropped_cap)
		return;
	newcap = Max(walbus_dropped_cap * 2, 16);
	while (newcap < needed)
		newcap *= 2;
	if (walbus_dropped == NULL)
		walbus_dropped = MemoryContextAlloc(walbus_rel_cxt,
											newcap * sizeof(Oid));
	else
		walbus_dropped = repalloc(walbus_dropped, newcap * sizeof(Oid));
	walbus_dropped_cap = newcap;
}

static void
walbus_entry_free(WalbusRelEntry *entry)
{
	Oid relid = entry->relid;

	if (entry->check_dropped)
		dlist_delete(&entry->check_node);
	walbus_entry_undepend(entry);
	if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	if (entry->sent_record)
		pfree(entry->sent_record);
	hash_search(walbus_rel_hash, &relid, HASH_REMOVE, NULL);
}

/*
 * A relation changed, or was dropped: its entry is rebuilt at its next
 * change, or freed at the next commit if the relation is gone.  InvalidOid
 * means every relation may have (a cache reset).
 */
static void
walbus_relcache_cb(Datum arg, Oid relid)
{
	WalbusRelEntry *entry;

	if (walbus_rel_hash == NULL)
		return;
	if (!OidIsValid(relid))
	{
		walbus_epoch++;
		walbus_check_all = true;
		return;
	}
	entry = hash_search(walbus_rel_hash, &relid, HASH_FIND, NULL);
	if (entry)
	{
		entry->valid = false;
		walbus_entry_to_check(entry);
	}
}

/*
 * A schema or a type changed (hashvalue 0: maybe all of them).  Renaming a
 * schema changes the names its tables are published under, which table
 * patterns may match differently, and the names of the types in it;
 * renaming or moving a type changes the RELATION records of the tables
 * with a column of that type.  Each table creates types and every DDL
 * statement touches some, so the callback finds the entries concerned in
 * the reverse index rather than walking the cache.  Partitions follow
 * their root's entry.
 */
static void
walbus_dependency_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	WalbusDepKey key;
	WalbusDep	*dep;
	dlist_iter	 iter;

	if (walbus_rel_hash == NULL)
		return;
	if (hashvalue == 0)
	{
		walbus_epoch++;
		return;
	}
	key.cacheid = cacheid;
	key.hashvalue = hashvalue;
	dep = hash_search(walbus_dep_hash, &key, HASH_FIND, NULL);
	if (dep == NULL)
		return;
	dlist_foreach(iter, &dep->links)
		dlist_container(WalbusDepLink, node, iter.cur)->entry->valid = false;
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
	walbus_epoch++;
}
