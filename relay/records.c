/*-------------------------------------------------------------------------
 *
 * records.c
 *	  From plugin records to bus envelopes (see records.h).
 *
 *-------------------------------------------------------------------------
 */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Transactional messages go to the replay window under (commit_lsn, pos). */
static void
wr_rec_keep(wr_relay *r, wr_pubmsg *m)
{
	m->keep = true;
	m->key.lsn = r->txn.commit_lsn;
	m->key.pos = r->txn.pos;
}

static bool
wr_rec_relation(wr_relay *r, const wb_record *rec)
{
	bool		changed;
	wr_rel	   *rel = wr_relcache_update(&r->rels, rec, &changed);
	const wr_relversion *v;
	char		topic[WBE_TABLE_TOPIC_MAX + 1];
	size_t		len;

	if (rel == NULL)
	{
		wr_error("out of memory caching relation %u", rec->u.relation.relid);
		return false;
	}
	if (!changed && rel->topic != NULL)
		return true;
	v = rel->current;
	len = wbe_topic_table(topic, sizeof(topic), v->schema, strlen(v->schema),
						  v->table, strlen(v->table));
	rel->topic = wr_pub_topic(&r->pub, topic, len);
	if (rel->topic == NULL)
	{
		wr_error("out of memory creating topic %s", topic);
		return false;
	}
	wr_debug("relation %u is %s, schema version %llu", v->relid, topic,
			 (unsigned long long) v->schema_version);
	return true;
}

/* The relation a change refers to, checked against the change's width. */
static wr_rel *
wr_rec_rel(wr_relay *r, uint32_t relid, uint32_t nvalues, bool check_width)
{
	wr_rel	   *rel = wr_relcache_get(&r->rels, relid);

	if (rel == NULL || rel->current == NULL)
	{
		wr_error("protocol error: change of relation %u before its RELATION "
				 "record", relid);
		return NULL;
	}
	if (check_width && nvalues != rel->current->ncolumns)
	{
		wr_error("protocol error: change of relation %u has %u values but "
				 "its RELATION record %u columns", relid, nvalues,
				 rel->current->ncolumns);
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

static bool
wr_rec_change(wr_relay *r, const wb_record *rec)
{
	bool		is_delete = rec->kind == WB_DELETE;
	uint32_t	relid = is_delete ? rec->u.del.relid : rec->u.change.relid;
	wr_rel	   *rel;
	wr_pubmsg	m;

	if (!wr_rec_in_txn(r, rec))
		return false;
	rel = wr_rec_rel(r, relid, is_delete ? 0 : rec->u.change.nvalues,
					 !is_delete);
	if (rel == NULL)
		return false;
	if (r->skip_txn)
		return true;

	r->txn.pos++;
	r->stats.changes++;
	if (!wr_pub_start(&r->pub, &m, rel->topic, true))
		return true;
	wr_rec_keep(r, &m);
	if (is_delete)
		wbe_enc_delete(&m.enc, &m.head, &r->txn, relid,
					   rel->current->schema_version, &rec->u.del.key);
	else
	{
		wbe_enc_change_start(&m.enc, &m.head,
							 rec->kind == WB_INSERT ? WBE_INSERT : WBE_UPDATE,
							 &r->txn, relid, rel->current->schema_version,
							 rec->u.change.nvalues,
							 rec->u.change.has_old_key);
		for (uint32_t i = 0; i < rec->u.change.nvalues; i++)
			wb_enc_value(&m.enc, &rec->u.change.values[i]);
		if (rec->u.change.has_old_key)
			wbe_enc_old_key(&m.enc, &rec->u.change.old_key);
	}
	wr_pub_finish(&r->pub, &m);
	return true;
}

/* One envelope per truncated table, so each table's subscribers see it. */
static bool
wr_rec_truncate(wr_relay *r, const wb_record *rec)
{
	if (!wr_rec_in_txn(r, rec))
		return false;
	for (uint32_t i = 0; i < rec->u.truncate.nrelids; i++)
	{
		uint32_t	relid = rec->u.truncate.relids[i];
		wr_rel	   *rel = wr_relcache_get(&r->rels, relid);
		wr_pubmsg	m;

		if (rel == NULL || rel->current == NULL)
		{
			wr_error("protocol error: TRUNCATE of relation %u before its "
					 "RELATION record", relid);
			return false;
		}
		if (r->skip_txn)
			continue;
		r->txn.pos++;
		r->stats.changes++;
		if (!wr_pub_start(&r->pub, &m, rel->topic, true))
			continue;
		wr_rec_keep(r, &m);
		wbe_enc_truncate(&m.enc, &m.head, &r->txn, relid,
						 rel->current->schema_version,
						 rec->u.truncate.flags);
		wr_pub_finish(&r->pub, &m);
	}
	return true;
}

static bool
wr_rec_message(wr_relay *r, const wb_record *rec)
{
	bool		transactional = rec->u.message.transactional;
	wb_str		prefix = rec->u.message.prefix;
	size_t		cap = strlen(WBE_TOPIC_MSG_PREFIX) + prefix.len + 1;
	char	   *topic;
	wr_topic   *t;
	wr_pubmsg	m;

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
	if (transactional)
		r->txn.pos++;
	r->stats.messages++;
	if (!wr_pub_start(&r->pub, &m, t, transactional))
		return true;
	if (transactional)
		wr_rec_keep(r, &m);
	wbe_enc_message(&m.enc, &m.head, transactional ? &r->txn : NULL,
					rec->u.message.lsn, prefix.ptr, prefix.len,
					rec->u.message.content.ptr, rec->u.message.content.len);
	wr_pub_finish(&r->pub, &m);
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
	r->txn.pos = 0;

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
				 "published", r->txn.xid, WR_LSN_ARGS(r->txn.commit_lsn));
		return true;
	}
	wr_pub_txn_begin(&r->pub);
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
		wr_pub_txn_commit(&r->pub, &r->txn, rec->u.commit.end_lsn);
		r->last_commit_lsn = rec->u.commit.commit_lsn;
	}
	wr_confirm_txn_published(&r->confirm, rec->u.commit.end_lsn);
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
	}
	wr_error("protocol error: record of unknown kind %d", (int) rec->kind);
	return false;
}

void
wr_records_reset(wr_relay *r)
{
	if (r->in_txn && !r->skip_txn)
		wr_pub_txn_abandon(&r->pub);
	r->in_txn = false;
	r->skip_txn = false;
}
