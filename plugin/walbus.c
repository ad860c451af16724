/*-------------------------------------------------------------------------
 *
 * walbus.c
 *	  The walbus logical decoding output plugin: its callbacks.
 *
 * Writes one msgpack record (docs/PROTOCOL.md §4) per OutputPluginWrite,
 * for eligible tables only (walbus_eligibility.c).  BEGIN is held back
 * until a transaction has something to emit, so transactions that touched
 * only ineligible tables leave nothing in the stream; a RELATION record is
 * written just before the first change that needs it.
 *
 * Protocol version 2 also tells consumers when a table they hold the
 * definition of leaves the stream (WITHDRAWN records): at its first change
 * after it became ineligible, since PostgreSQL tells an output plugin of
 * catalog changes only through the changes that follow them, and at the
 * commit of the transaction that dropped it.
 *
 * Memory: each callback runs in a private context that is reset when it
 * returns, so nothing grows with the size of a transaction; the relation
 * cache has its own long-lived context (walbus_relcache.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_inherits.h"
#include "miscadmin.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "walbus_eligibility.h"
#include "walbus_options.h"
#include "walbus_proto.h"
#include "walbus_relcache.h"
#include "walbus_values.h"

PG_MODULE_MAGIC;

/*
 * While skipping changes, let the walsender send a keepalive (if one is
 * due) every this many changes: often enough that a long run of ineligible
 * changes does not time the receiver out, rarely enough to cost nothing.
 */
#define WALBUS_SKIPPED_PER_PROGRESS 100

/* The reason of a WITHDRAWN record for a dropped table. */
#define WALBUS_DROPPED_REASON "the table was dropped"

/* Plugin-lifetime state: one decoding session. */
typedef struct WalbusState
{
	WalbusOptions opts;
	Oid			  roleid;	  /* the role ownership verdicts are for */
	MemoryContext change_cxt; /* per-callback work, reset after each */
	int			  skipped;	  /* changes skipped since last progress */
} WalbusState;


/* Per-transaction state, in txn->output_plugin_private. */
typedef struct WalbusTxn
{
	bool begin_sent;
} WalbusTxn;

extern void _PG_output_plugin_init(OutputPluginCallbacks *cb);

static void walbus_decode_startup(LogicalDecodingContext *ctx,
								  OutputPluginOptions *opt, bool is_init);
static void walbus_decode_begin(LogicalDecodingContext *ctx,
								ReorderBufferTXN	   *txn);
static void walbus_decode_change(LogicalDecodingContext *ctx,
								 ReorderBufferTXN *txn, Relation relation,
								 ReorderBufferChange *change);
static bool walbus_all_leaves_truncated(Oid root, int nrelations,
										Relation relations[]);
static void walbus_write_truncate(LogicalDecodingContext *ctx, uint32 flags,
								  WalbusRelEntry **published,
								  const bool *partial, int npublished,
								  bool want_partial);
static void walbus_decode_truncate(LogicalDecodingContext *ctx,
								   ReorderBufferTXN *txn, int nrelations,
								   Relation				relations[],
								   ReorderBufferChange *change);
static void walbus_decode_message(LogicalDecodingContext *ctx,
								  ReorderBufferTXN		 *txn,
								  XLogRecPtr message_lsn, bool transactional,
								  const char *prefix, Size message_size,
								  const char *message);
static void walbus_decode_commit(LogicalDecodingContext *ctx,
								 ReorderBufferTXN *txn, XLogRecPtr commit_lsn);
static bool walbus_decode_filter_by_origin(LogicalDecodingContext *ctx,
										   RepOriginId			   origin_id);
static void walbus_decode_shutdown(LogicalDecodingContext *ctx);

static void walbus_skipped(LogicalDecodingContext *ctx);
static void walbus_write_begin(LogicalDecodingContext *ctx,
							   ReorderBufferTXN		  *txn);
static void walbus_write_relation(LogicalDecodingContext *ctx,
								  WalbusRelEntry		 *published);
static bool walbus_write_refused(LogicalDecodingContext *ctx,
								 ReorderBufferTXN *txn, WalbusRelEntry *entry,
								 Relation relation);
static void walbus_write_withdrawn(LogicalDecodingContext *ctx, Oid relid,
								   bool dropped, const char *reason);
static void walbus_write_change(LogicalDecodingContext *ctx,
								WalbusRelEntry *entry, Relation relation,
								ReorderBufferChange *change);
static void walbus_encode_row(wb_enc *enc, WalbusRelEntry *entry);
static void walbus_finish_record(LogicalDecodingContext *ctx, wb_enc *enc);

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = walbus_decode_startup;
	cb->begin_cb = walbus_decode_begin;
	cb->change_cb = walbus_decode_change;
	cb->truncate_cb = walbus_decode_truncate;
	cb->message_cb = walbus_decode_message;
	cb->commit_cb = walbus_decode_commit;
	cb->filter_by_origin_cb = walbus_decode_filter_by_origin;
	cb->shutdown_cb = walbus_decode_shutdown;
}

/*
 * Options are checked only when decoding starts: creating a slot takes no
 * options, and decodes no change that would need them.
 */
static void
walbus_decode_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
					  bool is_init)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(ctx->context);
	WalbusState	 *state = palloc0(sizeof(WalbusState));

	if (!is_init)
	{
		walbus_options_parse(ctx->output_plugin_options, &state->opts);
		walbus_utf8_prepare();
	}
	state->change_cxt = AllocSetContextCreate(ctx->context, "walbus change",
											  ALLOCSET_DEFAULT_SIZES);
	ctx->output_plugin_private = state;
	MemoryContextSwitchTo(oldcxt);

	opt->output_type = OUTPUT_PLUGIN_BINARY_OUTPUT;
	opt->receive_rewrites = false;

	/* the role decides ownership verdicts: the one this stream runs as */
	state->roleid = GetUserId();
	walbus_relcache_init(&state->opts.filter, state->roleid,
						 state->opts.proto_version);
}

static void
walbus_decode_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	txn->output_plugin_private = MemoryContextAllocZero(ctx->context,
														sizeof(WalbusTxn));
}

static void
walbus_decode_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					 Relation relation, ReorderBufferChange *change)
{
	WalbusState	   *state = ctx->output_plugin_private;
	MemoryContext	oldcxt = MemoryContextSwitchTo(state->change_cxt);
	WalbusRelEntry *entry = walbus_relcache_get(relation);

	if (entry->verdict == WALBUS_ELIGIBLE)
	{
		walbus_write_begin(ctx, txn);
		walbus_write_relation(ctx, entry->published);
		walbus_write_change(ctx, entry, relation, change);
	}
	else if (!walbus_write_refused(ctx, txn, entry, relation))
		walbus_skipped(ctx);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * One record for the eligible relations of a TRUNCATE statement, each
 * named once as what it is published as (truncating a partitioned table
 * arrives as its partitions).
 */
static void
walbus_decode_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					   int nrelations, Relation relations[],
					   ReorderBufferChange *change)
{
	WalbusState		*state = ctx->output_plugin_private;
	MemoryContext	 oldcxt = MemoryContextSwitchTo(state->change_cxt);
	WalbusRelEntry **published = palloc(nrelations * sizeof(WalbusRelEntry *));
	bool			*partial = palloc(nrelations * sizeof(bool));
	int				 npublished = 0;
	bool			 withdrawn = false;
	uint32			 flags = 0;

	for (int i = 0; i < nrelations; i++)
	{
		WalbusRelEntry *entry = walbus_relcache_get(relations[i]);
		bool			seen = false;

		if (entry->verdict != WALBUS_ELIGIBLE)
		{
			withdrawn |= walbus_write_refused(ctx, txn, entry, relations[i]);
			continue;
		}
		for (int j = 0; j < npublished && !seen; j++)
			seen = (published[j] == entry->published);
		if (!seen)
		{
			published[npublished] = entry->published;
			partial[npublished] = entry->published != entry &&
				!walbus_all_leaves_truncated(entry->published->relid,
											 nrelations, relations);
			npublished++;
		}
	}

	if (npublished == 0)
	{
		if (!withdrawn)
			walbus_skipped(ctx);
	}
	else
	{
		walbus_write_begin(ctx, txn);
		for (int i = 0; i < npublished; i++)
			walbus_write_relation(ctx, published[i]);

		if (change->data.truncate.cascade)
			flags |= WB_TRUNCATE_CASCADE;
		if (change->data.truncate.restart_seqs)
			flags |= WB_TRUNCATE_RESTART_IDENTITY;

		/* whole tables in one record, partly truncated roots in another */
		walbus_write_truncate(ctx, flags, published, partial, npublished,
							  false);
		walbus_write_truncate(ctx, flags | WB_TRUNCATE_PARTIAL, published,
							  partial, npublished, true);
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * Whether a TRUNCATE of these relations emptied every leaf partition of the
 * partitioned table root.  Changes to partitions are published under their
 * root, so "TRUNCATE part_2" cannot be told as a TRUNCATE of the root: that
 * would make consumers delete rows that still exist in the other
 * partitions.  Such a root is sent with WB_TRUNCATE_PARTIAL instead, which
 * tells consumers that an unknown subset of its rows is gone.
 */
static bool
walbus_all_leaves_truncated(Oid root, int nrelations, Relation relations[])
{
	List	 *tree = find_all_inheritors(root, NoLock, NULL);
	ListCell *lc;

	foreach(lc, tree)
	{
		Oid	 relid = lfirst_oid(lc);
		bool found = false;

		if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
			continue;
		for (int i = 0; i < nrelations && !found; i++)
			found = (RelationGetRelid(relations[i]) == relid);
		if (!found)
			return false;
	}
	return true;
}

/* One TRUNCATE record for the published relations whose partial flag is want_partial. */
static void
walbus_write_truncate(LogicalDecodingContext *ctx, uint32 flags,
					  WalbusRelEntry **published, const bool *partial,
					  int npublished, bool want_partial)
{
	uint32 n = 0;
	wb_enc enc;

	for (int i = 0; i < npublished; i++)
		n += (partial[i] == want_partial);
	if (n == 0)
		return;

	OutputPluginPrepareWrite(ctx, true);
	wb_enc_init(&enc, walbus_append, ctx->out);
	wb_enc_truncate_start(&enc, flags, n);
	for (int i = 0; i < npublished; i++)
		if (partial[i] == want_partial)
			wb_enc_relid(&enc, published[i]->relid);
	walbus_finish_record(ctx, &enc);
}

/*
 * A transactional message belongs to its transaction and opens it like a
 * change; a non-transactional one is written at once, outside any
 * BEGIN/COMMIT.
 */
static void
walbus_decode_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					  XLogRecPtr message_lsn, bool transactional,
					  const char *prefix, Size message_size,
					  const char *message)
{
	WalbusState	 *state = ctx->output_plugin_private;
	MemoryContext oldcxt;
	const char	 *utf8_prefix;
	size_t		  prefix_len;
	wb_enc		  enc;

	if (!state->opts.messages)
		return;

	oldcxt = MemoryContextSwitchTo(state->change_cxt);
	if (transactional)
		walbus_write_begin(ctx, txn);

	utf8_prefix = walbus_to_utf8(prefix, strlen(prefix), &prefix_len);
	OutputPluginPrepareWrite(ctx, true);
	wb_enc_init(&enc, walbus_append, ctx->out);
	wb_enc_message(&enc, transactional, message_lsn, utf8_prefix, prefix_len,
				   message, message_size);
	walbus_finish_record(ctx, &enc);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * COMMIT only closes a BEGIN that was sent.  Progress is reported at every
 * commit, flagged as skipped when nothing was sent, so that a walsender
 * can confirm an all-ineligible transaction to synchronous standbys.
 *
 * The commit callback is also where the relation cache forgets dropped
 * relations: the catalog can be read here, as of the end of the
 * transaction, which has already run its DROPs' invalidations (they are
 * run at the end of each command; see walbus_relcache_forget_dropped).  In
 * version 2, each dropped table whose RELATION this session sent gets a
 * WITHDRAWN record before the COMMIT, which opens the transaction if
 * nothing else did: a DROP TABLE alone comes out as BEGIN, WITHDRAWN,
 * COMMIT.
 */
static void
walbus_decode_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					 XLogRecPtr commit_lsn)
{
	WalbusState	 *state = ctx->output_plugin_private;
	WalbusTxn	 *txndata = txn->output_plugin_private;
	bool		  begin_sent;
	MemoryContext oldcxt;
	Oid			  dropped_relid;
	wb_enc		  enc;

	oldcxt = MemoryContextSwitchTo(state->change_cxt);
	walbus_relcache_forget_dropped();
	while (walbus_relcache_next_dropped(&dropped_relid))
	{
		walbus_write_begin(ctx, txn);
		walbus_write_withdrawn(ctx, dropped_relid, true,
							   WALBUS_DROPPED_REASON);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);

	begin_sent = txndata->begin_sent;
	pfree(txndata);
	txn->output_plugin_private = NULL;

	state->skipped = 0;
	OutputPluginUpdateProgress(ctx, !begin_sent);
	if (!begin_sent)
		return;

	OutputPluginPrepareWrite(ctx, true);
	wb_enc_init(&enc, walbus_append, ctx->out);
	wb_enc_commit(&enc, commit_lsn, txn->end_lsn,
				  wb_timestamp_from_pg(txn->xact_time.commit_time));
	walbus_finish_record(ctx, &enc);
}

/* With origin 'none', changes replayed by a replication origin are dropped. */
static bool
walbus_decode_filter_by_origin(LogicalDecodingContext *ctx,
							   RepOriginId			   origin_id)
{
	WalbusState *state = ctx->output_plugin_private;

	return state->opts.skip_origin && origin_id != InvalidRepOriginId;
}

static void
walbus_decode_shutdown(LogicalDecodingContext *ctx)
{
	walbus_relcache_destroy();
}

/*
 * A change or truncate produced nothing.  In a walsender the keepalives
 * are only sent from writes and progress updates, so a long run of skipped
 * changes must report progress now and then.
 */
static void
walbus_skipped(LogicalDecodingContext *ctx)
{
	WalbusState *state = ctx->output_plugin_private;

	if (++state->skipped >= WALBUS_SKIPPED_PER_PROGRESS)
	{
		state->skipped = 0;
		OutputPluginUpdateProgress(ctx, false);
	}
}

/* The transaction's BEGIN, unless already written. */
static void
walbus_write_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	WalbusTxn *txndata = txn->output_plugin_private;
	wb_enc	   enc;

	if (txndata->begin_sent)
		return;

	OutputPluginPrepareWrite(ctx, true);
	wb_enc_init(&enc, walbus_append, ctx->out);
	wb_enc_begin(&enc, txn->xid, txn->final_lsn,
				 wb_timestamp_from_pg(txn->xact_time.commit_time));
	walbus_finish_record(ctx, &enc);
	txndata->begin_sent = true;
}

/*
 * The published relation's RELATION record, unless the last one this
 * stream sent for it is the same.  Not a last write: the change that needs
 * it follows at the same LSN.
 */
static void
walbus_write_relation(LogicalDecodingContext *ctx, WalbusRelEntry *published)
{
	if (published->relation_sent)
		return;

	OutputPluginPrepareWrite(ctx, false);
	appendBinaryStringInfo(ctx->out, published->relation_record,
						   published->relation_record_len);
	OutputPluginWrite(ctx, false);
	walbus_relcache_relation_sent(published);
}

/*
 * Version 2: a change of relation was refused.  The consumer may still hold
 * the definition of what relation's changes were published as: the
 * published relation (a partition's root) when the verdict got that far,
 * and relation itself if it was once published under its own name (before
 * it was attached as a partition, say).  Each of them whose RELATION this
 * session sent gets one WITHDRAWN record, with the sentence walbus_tables
 * shows for that table (a root is refused for what the root is, so its own
 * sentence says why), and its sent RELATION is forgotten, so that the
 * definition is sent again should the table become eligible again.  A
 * partition refused for its own replica identity, before its root was
 * looked up, withdraws no root: the root's other partitions are still
 * published.  Returns whether anything was written.
 */
static bool
walbus_write_refused(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					 WalbusRelEntry *entry, Relation relation)
{
	WalbusState	   *state = ctx->output_plugin_private;
	WalbusRelEntry *withdraw[2];
	int				nwithdraw = 0;

	if (state->opts.proto_version < 2)
		return false;
	if (entry->published != NULL && entry->published->sent_record != NULL)
		withdraw[nwithdraw++] = entry->published;
	if (entry->published != entry && entry->sent_record != NULL)
		withdraw[nwithdraw++] = entry;
	if (nwithdraw == 0)
		return false;

	walbus_write_begin(ctx, txn);
	for (int i = 0; i < nwithdraw; i++)
	{
		Oid		 relid = withdraw[i]->relid;
		Relation table = relation;
		char	*reason;

		if (relid != RelationGetRelid(relation))
		{
			table = RelationIdGetRelation(relid);
			if (!RelationIsValid(table))
				elog(ERROR, "could not open relation with OID %u", relid);
		}
		reason = walbus_eligibility_reason(table, state->roleid,
										   &state->opts.filter);
		if (table != relation)
			RelationClose(table);
		walbus_write_withdrawn(ctx, relid, false, reason);
		walbus_relcache_withdrawn(withdraw[i]);
	}
	return true;
}

/* A WITHDRAWN record: relid has left the stream, for reason. */
static void
walbus_write_withdrawn(LogicalDecodingContext *ctx, Oid relid, bool dropped,
					   const char *reason)
{
	const char *utf8_reason;
	size_t		reason_len;
	wb_enc		enc;

	utf8_reason = walbus_to_utf8(reason, strlen(reason), &reason_len);
	OutputPluginPrepareWrite(ctx, true);
	wb_enc_init(&enc, walbus_append, ctx->out);
	wb_enc_withdrawn(&enc, relid, dropped, utf8_reason, reason_len);
	walbus_finish_record(ctx, &enc);
}

static void
walbus_write_change(LogicalDecodingContext *ctx, WalbusRelEntry *entry,
					Relation relation, ReorderBufferChange *change)
{
	WalbusRelEntry		  *published = entry->published;
	TupleDesc			   desc = RelationGetDescr(relation);
	AttrNumber			   key_attno = entry->src_attno[published->key_index];
	ReorderBufferTupleBuf *newtuple = change->data.tp.newtuple;
	ReorderBufferTupleBuf *oldtuple = change->data.tp.oldtuple;
	WalbusValueInfo		  *key_info =
		&published->columns[published->key_index].value;
	Datum  old_key;
	bool   old_key_isnull;
	bool   has_old_key = false;
	wb_enc enc;

	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			if (newtuple == NULL)
				elog(ERROR, "walbus: insert into \"%s\" without a new tuple",
					 RelationGetRelationName(relation));
			heap_deform_tuple(&newtuple->tuple, desc, entry->values,
							  entry->isnull);
			OutputPluginPrepareWrite(ctx, true);
			wb_enc_init(&enc, walbus_append, ctx->out);
			wb_enc_insert_start(&enc, published->relid, published->ncolumns);
			walbus_encode_row(&enc, entry);
			break;

		case REORDER_BUFFER_CHANGE_UPDATE:
			if (newtuple == NULL)
				elog(ERROR, "walbus: update of \"%s\" without a new tuple",
					 RelationGetRelationName(relation));
			heap_deform_tuple(&newtuple->tuple, desc, entry->values,
							  entry->isnull);

			/*
			 * The old tuple is in the WAL when the key changed, when the
			 * key is stored out of line, or with REPLICA IDENTITY FULL;
			 * only a key that differs is sent.  A key still TOASTed on disk
			 * in the new tuple was not changed and is taken from the old
			 * one, so that the row stays identifiable.
			 */
			if (oldtuple != NULL)
			{
				Datum *new_key = &entry->values[key_attno - 1];

				old_key = heap_getattr(&oldtuple->tuple, key_attno, desc,
									   &old_key_isnull);
				if (!old_key_isnull && !entry->isnull[key_attno - 1])
				{
					if (key_info->typlen == -1 &&
						VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(*new_key)))
						*new_key = old_key;
					else
						has_old_key = !walbus_value_equal(key_info, old_key,
														  *new_key);
				}
			}

			OutputPluginPrepareWrite(ctx, true);
			wb_enc_init(&enc, walbus_append, ctx->out);
			wb_enc_update_start(&enc, published->relid, published->ncolumns,
								has_old_key);
			walbus_encode_row(&enc, entry);
			if (has_old_key)
				walbus_value_encode(&enc, key_info, old_key, false);
			break;

		case REORDER_BUFFER_CHANGE_DELETE:
			/* replica identity DEFAULT or FULL always logs the key */
			if (oldtuple == NULL)
				elog(ERROR, "walbus: delete from \"%s\" carries no old key",
					 RelationGetRelationName(relation));
			old_key = heap_getattr(&oldtuple->tuple, key_attno, desc,
								   &old_key_isnull);
			OutputPluginPrepareWrite(ctx, true);
			wb_enc_init(&enc, walbus_append, ctx->out);
			wb_enc_delete_start(&enc, published->relid);
			walbus_value_encode(&enc, key_info, old_key, old_key_isnull);
			break;

		default:
			elog(ERROR, "walbus: unexpected change action %d",
				 (int) change->action);
	}
	walbus_finish_record(ctx, &enc);
}

/* The deformed tuple in entry's scratch arrays, in published order. */
static void
walbus_encode_row(wb_enc *enc, WalbusRelEntry *entry)
{
	WalbusRelEntry *published = entry->published;

	for (int i = 0; i < published->ncolumns; i++)
	{
		int src = entry->src_attno[i] - 1;

		walbus_value_encode(enc, &published->columns[i].value,
							entry->values[src], entry->isnull[src]);
	}
}

/* Check the encoder once per record, then hand the record over. */
static void
walbus_finish_record(LogicalDecodingContext *ctx, wb_enc *enc)
{
	if (wb_enc_failed(enc))
		elog(ERROR, "walbus: could not encode a record");
	OutputPluginWrite(ctx, true);
}
