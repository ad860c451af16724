/*-------------------------------------------------------------------------
 *
 * schema_events.c
 *	  Schema events on the _schema topic (see schema_events.h).
 *
 *-------------------------------------------------------------------------
 */
#include "schema_events.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "walbus_schema.h"

/* The topic of a definition; "" (length 0) when there is none. */
static size_t
wr_def_topic(const wr_relversion *v, char *buf, size_t cap)
{
	if (v == NULL)
	{
		buf[0] = '\0';
		return 0;
	}
	return wbe_topic_table(buf, cap, v->schema, strlen(v->schema), v->table,
						   strlen(v->table));
}

/*
 * Publish one event about rel (relid when rel is NULL) in the open
 * transaction: cur is the definition now (NULL for a withdrawal), prev the
 * one announced before (NULL when none).
 */
static bool
wr_schema_publish(wr_relay *r, uint32_t relid, wbs_event_kind kind,
				  const wr_relversion *cur, const wr_relversion *prev,
				  const char *reason, size_t reason_len, uint32_t pos)
{
	char		topic[WBE_TABLE_TOPIC_MAX + 1];
	char		prev_topic[WBE_TABLE_TOPIC_MAX + 1];
	size_t		topic_len;
	size_t		prev_len;
	bool		topic_moved;
	wbs_change *changes = NULL;
	uint32_t	nchanges = 0;
	wr_topic   *t;
	wr_frame   *f;

	prev_len = wr_def_topic(prev, prev_topic, sizeof(prev_topic));
	topic_len = cur != NULL ? wr_def_topic(cur, topic, sizeof(topic)) :
							  wr_def_topic(prev, topic, sizeof(topic));
	topic_moved = prev != NULL && cur != NULL &&
		(prev_len != topic_len || memcmp(prev_topic, topic, topic_len) != 0);

	if (cur != NULL && prev != NULL)
	{
		/* a DDL-sized allocation, only when a definition changed */
		changes = malloc(WBS_MAX_CHANGES * sizeof(wbs_change));
		if (changes == NULL)
		{
			wr_error("out of memory diffing relation %u: its schema event "
					 "is not published yet",
					 relid);
			r->pub.errors++;
			return false;
		}
		nchanges = wbs_diff(&prev->def, &cur->def, changes);
	}

	t = wr_pub_topic(&r->pub, WBE_TOPIC_SCHEMA, strlen(WBE_TOPIC_SCHEMA));
	if (t == NULL)
	{
		wr_error("out of memory creating topic %s", WBE_TOPIC_SCHEMA);
		r->pub.errors++;
		free(changes);
		return false;
	}
	f = wr_pub_frame(&r->pub, t, relid, 0, NULL, 0);
	if (f != NULL)
	{
		wbe_enc_change_start(&f->enc, WBE_SCHEMA, pos, 1);
		wbs_enc_event(&f->enc, kind, relid, topic, topic_len,
					  topic_moved ? prev_topic : NULL, prev_len,
					  cur != NULL ? &cur->def : NULL,
					  prev != NULL ? &prev->def : NULL, reason, reason_len,
					  changes, nchanges);
		wr_pub_frame_added(&r->pub, f, pos);
	}
	r->stats.schema_events++;
	wr_info("schema event %s: relation %u is %s%s%s (%u change%s)",
			wbs_event_name(kind), relid, topic, topic_moved ? ", was " : "",
			topic_moved ? prev_topic : "", nchanges, nchanges == 1 ? "" : "s");
	free(changes);
	return true;
}

/*
 * Change what rel's announcement state is, remembering what it was, so
 * that a transaction published again (wr_schema_undo) announces the same.
 */
static void
wr_schema_set(wr_relay *r, wr_rel *rel, const wr_relversion *announced,
			  bool withdrawn)
{
	wr_schema_log *log = &r->schema_log;

	if (log->n == log->cap)
	{
		uint32_t			  cap = log->cap ? log->cap * 2 : 64;
		wr_schema_undo_entry *n = realloc(log->e, cap * sizeof(*n));

		if (n == NULL)
		{
			/* cannot be undone: a republication may repeat an event */
			wr_warning("out of memory logging schema announcements");
			log->n = 0;
		}
		else
		{
			log->e = n;
			log->cap = cap;
		}
	}
	if (log->n < log->cap)
		log->e[log->n++] = (wr_schema_undo_entry) {r->txn.commit_lsn,
												   rel->relid, rel->announced,
												   rel->withdrawn};
	rel->announced = announced;
	rel->withdrawn = withdrawn;
}

void
wr_schema_undo(wr_relay *r, uint64_t from_commit_lsn)
{
	wr_schema_log *log = &r->schema_log;

	while (log->n > 0 && log->e[log->n - 1].commit_lsn >= from_commit_lsn)
	{
		wr_schema_undo_entry *e = &log->e[--log->n];
		wr_rel				 *rel = wr_relcache_get(&r->rels, e->relid);

		if (rel != NULL)
		{
			rel->announced = e->announced;
			rel->withdrawn = e->withdrawn;
		}
	}
}

void
wr_schema_forget(wr_relay *r, uint64_t flushed)
{
	wr_schema_log *log = &r->schema_log;
	uint32_t	   k = 0;

	/* a stream never starts again before what PostgreSQL has as flushed */
	while (k < log->n && log->e[k].commit_lsn < flushed)
		k++;
	if (k == 0)
		return;
	memmove(log->e, log->e + k, (log->n - k) * sizeof(*log->e));
	log->n -= k;
}

void
wr_schema_before_change(wr_relay *r, wr_rel *rel)
{
	wbs_event_kind kind;

	if (rel->announced == rel->current && !rel->withdrawn)
		return;
	if (rel->withdrawn)
		kind = WBS_TABLE_ELIGIBLE_AGAIN;
	else if (rel->announced == NULL)
		kind = WBS_TABLE_SEEN;
	else
		kind = WBS_TABLE_CHANGED;
	/* not published (out of memory): tried again before the next change */
	if (wr_schema_publish(r, rel->relid, kind, rel->current, rel->announced,
						  NULL, 0, wr_pos_before_item(r)))
		wr_schema_set(r, rel, rel->current, false);
}

void
wr_schema_withdrawn(wr_relay *r, const wb_record *rec, uint32_t pos)
{
	uint32_t			 relid = rec->u.withdrawn.relid;
	wr_rel				*rel = wr_relcache_get(&r->rels, relid);
	const wr_relversion *last = NULL;

	if (rel != NULL)
	{
		if (rel->withdrawn)
			return;
		/* what was announced, else what its last changes used */
		last = rel->announced != NULL ? rel->announced : rel->current;
	}
	if (!wr_schema_publish(r, relid,
						   rec->u.withdrawn.dropped ? WBS_TABLE_DROPPED :
													  WBS_TABLE_WITHDRAWN,
						   NULL, last, rec->u.withdrawn.reason.ptr,
						   rec->u.withdrawn.reason.len, pos) ||
		rel == NULL)
		return;
	/* an OID PostgreSQL hands out again is another table: seen anew */
	if (rec->u.withdrawn.dropped)
		wr_schema_set(r, rel, NULL, false);
	else
		wr_schema_set(r, rel, last, true);
}
