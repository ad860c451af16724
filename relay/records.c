/*-------------------------------------------------------------------------
 *
 * records.c
 *	  From plugin records to changes in bus frames (see records.h).
 *
 *-------------------------------------------------------------------------
 */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mpread.h"
#include "backfill.h"
#include "schema_events.h"

wr_rel *
wr_records_relation(wr_relay *r, const wb_record *rec)
{
	bool				 changed;
	wr_rel				*rel = wr_relcache_update(&r->rels, rec, &changed);
	const wr_relversion *v;
	char				 topic[WBE_TABLE_TOPIC_MAX + 1];
	size_t				 len;

	if (rel == NULL)
	{
		wr_error("out of memory caching relation %u", rec->u.relation.relid);
		return NULL;
	}
	if (!changed && rel->topic != NULL)
		return rel;
	v = rel->current;
	len = wbe_topic_table(topic, sizeof(topic), v->schema, strlen(v->schema),
						  v->table, strlen(v->table));
	rel->topic = wr_pub_topic(&r->pub, topic, len);
	if (rel->topic == NULL)
	{
		wr_error("out of memory creating topic %s", topic);
		return NULL;
	}
	wr_debug("relation %u is %s, schema version %llu", v->relid, topic,
			 (unsigned long long) v->schema_version);
	return rel;
}

/* A RELATION from the stream: a backfill reading the table reads again. */
static bool
wr_rec_relation(wr_relay *r, const wb_record *rec)
{
	const wr_rel *rel = wr_relcache_get(&r->rels, rec->u.relation.relid);
	uint64_t before = rel && rel->current ? rel->current->schema_version : 0;

	if ((rel = wr_records_relation(r, rec)) == NULL)
		return false;
	if (rel->current->schema_version != before)
		wr_backfill_invalidate(r, rec->u.relation.relid);
	return true;
}

/* The relation a change refers to, checked against the change's width. */
static wr_rel *
wr_rec_rel(wr_relay *r, uint32_t relid, uint32_t nvalues, bool check_width)
{
	wr_rel *rel = wr_relcache_get(&r->rels, relid);

	if (rel == NULL || rel->current == NULL)
	{
		wr_error("protocol error: change of relation %u before its RELATION "
				 "record",
				 relid);
		return NULL;
	}
	if (check_width && nvalues != rel->current->ncolumns)
	{
		wr_error("protocol error: change of relation %u has %u values but "
				 "its RELATION record %u columns",
				 relid, nvalues, rel->current->ncolumns);
		return NULL;
	}
	return rel;
}

static bool
wr_rec_in_txn(wr_relay *r, const wb_record *rec)
{
	if (!r->in_txn)
	{
		wr_error("protocol error: %s record outside a transaction",
				 wb_kind_name(rec->kind));
		return false;
	}
	return true;
}

/*
 * The keys a change of a table being backfilled touches (backfill.h): the
 * row's key (a DELETE's key; the key column of an INSERT's or UPDATE's
 * values) and, when an UPDATE changed it, the old one.
 */
static void
wr_rec_backfill_keys(wr_relay *r, const wr_rel *rel, const wb_record *rec)
{
	wb_str key = {NULL, 0};
	wb_str old_key = {NULL, 0};

	if (rec->kind == WB_DELETE)
		key = rec->u.del.tail;
	else
	{
		mpr		 m;
		uint32_t n;

		/* the tail is the values array, then the old key if any */
		mpr_init(&m, rec->u.change.tail.ptr, rec->u.change.tail.len);
		if (mpr_array(&m, &n))
			for (uint32_t i = 0; i < n && !m.failed; i++)
			{
				const char *at = (const char *) m.p;

				mpr_skip(&m);
				if (i == rel->current->key_index)
					key = (wb_str) {at, (uint32_t) ((const char *) m.p - at)};
			}
		if (rec->u.change.has_old_key && !m.failed)
			old_key = (wb_str) {(const char *) m.p,
								(uint32_t) (rec->u.change.tail.len -
											((const char *) m.p -
											 rec->u.change.tail.ptr))};
	}
	if (key.ptr == NULL)
	{
		/* cannot tell which row: the chunk is read again */
		wr_backfill_invalidate(r, rel->relid);
		return;
	}
	wr_backfill_change(r, rel->relid, key, old_key);
}

/*
 * INSERT, UPDATE, DELETE: the record was validated by the decoder, so the
 * bytes of its values, old key or key (its tail) are copied into the frame
 * as they are, not decoded and encoded again (docs/PROTOCOL.md E4).
 */
static bool
wr_rec_change(wr_relay *r, const wb_record *rec)
{
	bool	  is_delete = rec->kind == WB_DELETE;
	uint32_t  relid = is_delete ? rec->u.del.relid : rec->u.change.relid;
	wb_str	  tail = is_delete ? rec->u.del.tail : rec->u.change.tail;
	bool	  has_old_key = !is_delete && rec->u.change.has_old_key;
	wr_rel	 *rel;
	wr_frame *f;
	uint32_t  pos;

	if (!wr_rec_in_txn(r, rec))
		return false;
	rel = wr_rec_rel(r, relid, is_delete ? 0 : rec->u.change.nvalues,
					 !is_delete);
	if (rel == NULL)
		return false;
	if (r->skip_txn)
		return true;

	if (wr_backfill_watching(r, relid))
		wr_rec_backfill_keys(r, rel, rec);
	wr_schema_before_change(r, rel);
	pos = wr_pos_item(r);
	r->stats.changes++;
	f = wr_pub_frame(&r->pub, rel->topic, relid, rel->current->schema_version,
					 NULL, 0);
	if (f == NULL)
		return true;
	wbe_enc_change_start(&f->enc, (wbe_kind) rec->kind, pos,
						 has_old_key ? 2 : 1);
	wbe_enc_raw(&f->enc, tail.ptr, tail.len);
	wr_pub_frame_added(&r->pub, f, pos);
	return true;
}

/* One change per truncated table, so each table's subscribers see it. */
static bool
wr_rec_truncate(wr_relay *r, const wb_record *rec)
{
	if (!wr_rec_in_txn(r, rec))
		return false;
	for (uint32_t i = 0; i < rec->u.truncate.nrelids; i++)
	{
		uint32_t  relid = rec->u.truncate.relids[i];
		wr_rel	 *rel = wr_relcache_get(&r->rels, relid);
		wr_frame *f;
		uint32_t  pos;

		if (rel == NULL || rel->current == NULL)
		{
			wr_error("protocol error: TRUNCATE of relation %u before its "
					 "RELATION record",
					 relid);
			return false;
		}
		if (r->skip_txn)
			continue;
		/* every key of the table changed: a chunk being read is stale */
		wr_backfill_invalidate(r, relid);
		wr_schema_before_change(r, rel);
		pos = wr_pos_item(r);
		r->stats.changes++;
		f = wr_pub_frame(&r->pub, rel->topic, relid,
						 rel->current->schema_version, NULL, 0);
		if (f == NULL)
			continue;
		wbe_enc_truncate(&f->enc, pos, rec->u.truncate.flags);
		wr_pub_frame_added(&r->pub, f, pos);
	}
	return true;
}

static bool
wr_rec_message(wr_relay *r, const wb_record *rec)
{
	uint32_t  pos;
	bool	  transactional = rec->u.message.transactional;
	wb_str	  prefix = rec->u.message.prefix;
	wb_str	  content = rec->u.message.content;
	size_t	  cap = strlen(WBE_TOPIC_MSG_PREFIX) + prefix.len + 1;
	char	 *topic;
	wr_topic *t;
	wr_frame *f;

	if (transactional && !wr_rec_in_txn(r, rec))
		return false;
	if (transactional && r->skip_txn)
		return true;
	if ((topic = malloc(cap)) == NULL)
	{
		wr_error("out of memory for a message topic");
		return false;
	}
	wbe_topic_message(topic, cap, prefix.ptr, prefix.len);
	t = wr_pub_topic(&r->pub, topic, cap - 1);
	free(topic);
	if (t == NULL)
	{
		wr_error("out of memory for a message topic");
		return false;
	}
	r->stats.messages++;
	if (!transactional)
	{
		wr_pub_message(&r->pub, t, rec->u.message.lsn, prefix.ptr, prefix.len,
					   content.ptr, content.len);
		return true;
	}
	pos = wr_pos_item(r);
	f = wr_pub_frame(&r->pub, t, 0, 0, prefix.ptr, prefix.len);
	if (f == NULL)
		return true;
	wbe_enc_message(&f->enc, pos, rec->u.message.lsn, content.ptr,
					content.len);
	wr_pub_frame_added(&r->pub, f, pos);
	/* a backfill's watermark: published like any message, then acted on */
	if (prefix.len == strlen(WR_BF_WM_PREFIX) &&
		memcmp(prefix.ptr, WR_BF_WM_PREFIX, prefix.len) == 0)
		wr_backfill_watermark(r, content);
	return true;
}

/* A table left the stream: a schema event (schema_events.h). */
static bool
wr_rec_withdrawn(wr_relay *r, const wb_record *rec)
{
	if (!wr_rec_in_txn(r, rec))
		return false;
	if (!r->skip_txn)
	{
		wr_backfill_invalidate(r, rec->u.withdrawn.relid);
		wr_schema_withdrawn(r, rec, wr_pos_item(r));
	}
	return true;
}

static bool
wr_rec_begin(wr_relay *r, const wb_record *rec)
{
	if (r->in_txn)
	{
		wr_error("protocol error: BEGIN inside a transaction");
		return false;
	}
	r->in_txn = true;
	r->txn.xid = rec->u.begin.xid;
	r->txn.commit_lsn = rec->u.begin.final_lsn;
	r->txn.commit_time = rec->u.begin.commit_time;
	r->txn_pos = 0;
	r->txn_items = 0;

	/*
	 * Even a skipped transaction holds the flush position back until its
	 * COMMIT: keepalives received in its middle must not move it.
	 */
	wr_confirm_txn_begin(&r->confirm);

	/* resent after a reconnect, but this process published it already */
	r->skip_txn = r->txn.commit_lsn <= r->last_commit_lsn;
	if (r->skip_txn)
	{
		wr_debug("skipping transaction %u at " WR_LSN_FMT ": already "
				 "published",
				 r->txn.xid, WR_LSN_ARGS(r->txn.commit_lsn));
		return true;
	}
	wr_pub_txn_begin(&r->pub, &r->txn);
	return true;
}

static bool
wr_rec_commit(wr_relay *r, const wb_record *rec)
{
	if (!wr_rec_in_txn(r, rec))
		return false;
	r->in_txn = false;
	if (!r->skip_txn)
	{
		r->txn.commit_lsn = rec->u.commit.commit_lsn;
		r->stats.transactions++;
		wr_pub_txn_commit(&r->pub, rec->u.commit.commit_lsn,
						  rec->u.commit.end_lsn, r->txn_pos);
		r->last_commit_lsn = rec->u.commit.commit_lsn;
	}
	/* its frames (or, skipped, their first publication) are all sent */
	wr_js_txn_end(&r->js, rec->u.commit.end_lsn);
	wr_confirm_txn_published(&r->confirm, rec->u.commit.end_lsn);
	wr_backfill_commit(r, r->txn.xid);
	return true;
}

bool
wr_records_handle(wr_relay *r, const wb_record *rec)
{
	switch (rec->kind)
	{
		case WB_BEGIN:
			return wr_rec_begin(r, rec);
		case WB_COMMIT:
			return wr_rec_commit(r, rec);
		case WB_RELATION:
			return wr_rec_relation(r, rec);
		case WB_INSERT:
		case WB_UPDATE:
		case WB_DELETE:
			return wr_rec_change(r, rec);
		case WB_TRUNCATE:
			return wr_rec_truncate(r, rec);
		case WB_MESSAGE:
			return wr_rec_message(r, rec);
		case WB_WITHDRAWN:
			return wr_rec_withdrawn(r, rec);
	}
	wr_error("protocol error: record of unknown kind %d", (int) rec->kind);
	return false;
}

void
wr_records_reset(wr_relay *r)
{
	if (r->in_txn && !r->skip_txn)
	{
		wr_pub_txn_abandon(&r->pub);
		/* it will be published again from its first change */
		wr_schema_undo(r, r->txn.commit_lsn);
	}
	r->in_txn = false;
	r->skip_txn = false;
}
