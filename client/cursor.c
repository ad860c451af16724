/*-------------------------------------------------------------------------
 *
 * cursor.c
 *	  libwalbus's cursor: taking the changes of the frame being delivered
 *	  and filling walbus_change (see cursor.h for the contract).
 *
 *-------------------------------------------------------------------------
 */
#include "client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool wcu_schema_wanted(walbus_client *c, const wbe_change *ch);
static bool wcu_backfill_wanted(walbus_client *c, const wbe_change *ch);
static int	wcu_fill(walbus_client *c, const wbe_change *ch,
					 walbus_change *out);

void
wcu_load(walbus_client *c, bool from_bus)
{
	walbus_cursor *cur = &c->cur;

	cur->active = true;
	cur->from_bus = from_bus;
	cur->next = 0;
	cur->count = cur->frame.kind == WBE_FRAME_CHANGES ? cur->frame.nchanges :
														1;
	cur->selected = wfl_selected(c, cur->frame.topic.ptr,
								 cur->frame.topic.len);
	if (cur->selected && cur->frame.kind == WBE_FRAME_CHANGES &&
		cur->frame.schema_version != 0)
		wfl_follow_relid(c, cur->frame.relid);
	cur->table_known = false;
	cur->table = NULL;
}

bool
wcu_take(walbus_client *c, walbus_change *out, int *rc)
{
	walbus_cursor	*cur = &c->cur;
	const wbe_frame *fr = &cur->frame;

	*rc = WALBUS_OK;
	while (cur->next < cur->count)
	{
		const wbe_change *ch =
			fr->kind == WBE_FRAME_CHANGES ? &fr->changes[cur->next] : NULL;
		wbc_key k = {0, 0};
		bool	selected;

		if (fr->in_txn)
		{
			k.lsn = fr->txn.commit_lsn;
			k.pos = ch != NULL ? ch->pos : WBC_POS_COMMIT;
			if (c->have_last && wbc_key_cmp(k, c->last) <= 0)
			{
				cur->next++;
				c->stats.duplicates++;
				continue;
			}
		}
		selected = cur->selected;
		if (ch != NULL && ch->kind == WBE_SCHEMA)
			selected = wcu_schema_wanted(c, ch);
		else if (ch != NULL && ch->kind == WBE_BACKFILL)
			selected = wcu_backfill_wanted(c, ch);
		if (selected)
		{
			*rc = wcu_fill(c, ch, out);

			/*
			 * The table could not be looked up for now (the relay is
			 * restarting, a timeout): nothing moves, so the next call
			 * returns this change again instead of skipping it.
			 */
			if (*rc != WALBUS_OK && *rc != WALBUS_ESCHEMA &&
				*rc != WALBUS_EPROTO)
				return true;
		}
		cur->next++;
		if (fr->in_txn)
		{
			c->have_last = true;
			c->last = k;
			if (fr->kind == WBE_FRAME_COMMIT)
				wdu_commit_taken(c, k, fr->end_lsn);
		}
		if (!selected)
			continue;
		if (fr->in_txn)
			wdu_delivered(c, k);
		c->stats.delivered++;
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- events */

void
wcu_events_free(wcu_events *ev)
{
	if (ev->have_event)
		wbs_event_free(&ev->event);
	ev->have_event = false;
	free(ev->sev_changes);
	ev->sev_changes = NULL;
	free(ev->sev_strings);
	ev->sev_strings = NULL;
}

/*
 * The schema event of change ch: decode it, say whether the caller wants
 * it and follow the table it is about (wfl_schema_event).  A malformed
 * event is wanted: wcu_fill reports it.
 */
static bool
wcu_schema_wanted(walbus_client *c, const wbe_change *ch)
{
	wcu_events *evs = &c->events;
	char		err[160];
	int			rc;

	wcu_events_free(evs);
	rc = wbs_decode_event(ch->content.ptr, ch->content.len, &evs->event, err,
						  sizeof(err));
	if (rc != WB_OK)
	{
		/* out of memory: the change stays, and is decoded again */
		evs->event_rc =
			walbus_fail(c, rc == WB_ENOMEM ? WALBUS_ENOMEM : WALBUS_EPROTO,
						"%s schema event: %s",
						rc == WB_ENOMEM ? "cannot keep a" : "malformed", err);
		return true;
	}
	evs->have_event = true;
	return wfl_schema_event(c, &evs->event);
}

/*
 * The backfill event of change ch, decoded into c->events.bev: wanted when
 * the caller subscribed to "_backfill" or selects (or follows) the table.
 * A malformed event is wanted: wcu_fill reports it.
 */
static bool
wcu_backfill_wanted(walbus_client *c, const wbe_change *ch)
{
	wcu_events *evs = &c->events;
	wbb_event	ev;
	char		err[160];
	size_t		tlen;
	size_t		rlen;

	memset(&evs->bev, 0, sizeof(evs->bev));
	if (wbb_decode_event(ch->content.ptr, ch->content.len, &ev, err,
						 sizeof(err)) != WB_OK)
	{
		evs->event_rc = walbus_fail(c, WALBUS_EPROTO,
									"malformed backfill event: %s", err);
		return true;
	}
	/* the strings, NUL-terminated, cut to what the arena holds */
	tlen = ev.topic.len < WBE_TABLE_TOPIC_MAX ? ev.topic.len :
												WBE_TABLE_TOPIC_MAX;
	rlen = ev.reason.len < 511 ? ev.reason.len : 511;
	memcpy(evs->bev_strings, ev.topic.ptr, tlen);
	evs->bev_strings[tlen] = '\0';
	evs->bev.topic = evs->bev_strings;
	if (ev.reason.ptr != NULL)
	{
		memcpy(evs->bev_strings + tlen + 1, ev.reason.ptr, rlen);
		evs->bev_strings[tlen + 1 + rlen] = '\0';
		evs->bev.reason = evs->bev_strings + tlen + 1;
	}
	evs->bev.event = wbb_event_name(ev.kind);
	evs->bev.backfill = ev.backfill;
	evs->bev.relid = ev.relid;
	evs->bev.rows = ev.rows;
	evs->bev.chunks = ev.chunks;
	evs->event_rc = WALBUS_OK;
	return wfl_backfill_wanted(c, ev.relid, ev.topic);
}

/* A NUL-terminated copy of s in the arena at *cursor; NULL for none. */
static const char *
wcu_sev_put(char **cursor, wb_str s)
{
	char *p = *cursor;

	if (s.ptr == NULL)
		return NULL;
	memcpy(p, s.ptr, s.len);
	p[s.len] = '\0';
	*cursor += s.len + 1;
	return p;
}

/* The public form of the schema event, valid until the next walbus_recv. */
static int
wcu_sev_build(walbus_client *c)
{
	wcu_events			*evs = &c->events;
	const wbs_event		*ev = &evs->event;
	walbus_schema_event *sev = &evs->sev;
	size_t size = ev->topic.len + 1 + ev->previous_topic.len + 1 +
		ev->reason.len + 1;
	char *cursor;

	for (uint32_t i = 0; i < ev->nchanges; i++)
		size += ev->changes[i].from.len + 1 + ev->changes[i].to.len + 1;
	memset(sev, 0, sizeof(*sev));
	evs->sev_strings = malloc(size);
	evs->sev_changes = calloc(ev->nchanges ? ev->nchanges : 1,
							  sizeof(walbus_schema_change));
	if (evs->sev_strings == NULL || evs->sev_changes == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	cursor = evs->sev_strings;
	sev->event = wbs_event_name(ev->kind);
	sev->relid = ev->relid;
	sev->topic = wcu_sev_put(&cursor, ev->topic);
	sev->previous_topic = wcu_sev_put(&cursor, ev->previous_topic);
	sev->reason = wcu_sev_put(&cursor, ev->reason);
	for (uint32_t i = 0; i < ev->nchanges; i++)
	{
		const wbs_change	 *from = &ev->changes[i];
		walbus_schema_change *to = &evs->sev_changes[i];

		to->change = wbs_change_name(from->kind);
		to->attnum = from->attnum;
		to->from_attnum = from->from_attnum;
		to->from = wcu_sev_put(&cursor, from->from);
		to->to = wcu_sev_put(&cursor, from->to);
	}
	sev->nchanges = ev->nchanges;
	sev->changes = evs->sev_changes;
	/* the definitions go to the table cache: changes after need no request */
	if (ev->has_table &&
		(sev->table = wcc_remember(&c->control, &ev->table)) == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	if (ev->has_previous &&
		(sev->previous = wcc_remember(&c->control, &ev->previous)) == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	return WALBUS_OK;
}

/* ------------------------------------------------------------------ fill */

/*
 * The table of the cursor's frame, looked up once per frame.  A definitive
 * answer (found, or unknown to the relay) holds for all of its changes; a
 * failed request is tried again at the next change, as a relay that is
 * restarting may answer it.
 */
static const walbus_table *
wcu_frame_table(walbus_client *c, int *rc)
{
	walbus_cursor	   *cur = &c->cur;
	const walbus_table *t;

	if (cur->table_known)
	{
		*rc = cur->table_rc;
		if (*rc != WALBUS_OK)
			walbus_fail(c, *rc, "%s", cur->table_err);
		return cur->table;
	}
	t = wcc_table(&c->control, cur->frame.relid, cur->frame.schema_version,
				  rc);
	if (t == NULL)
		walbus_fail(c, *rc, "%s", c->control.errmsg);
	if (*rc == WALBUS_OK || *rc == WALBUS_ESCHEMA)
	{
		cur->table_known = true;
		cur->table = t;
		cur->table_rc = *rc;
		snprintf(cur->table_err, sizeof(cur->table_err), "%s", c->errmsg);
	}
	return t;
}

/*
 * Fill *out from the cursor's frame and one of its changes (ch NULL for a
 * commit or heartbeat frame); resolve its table if we can.
 */
static int
wcu_fill(walbus_client *c, const wbe_change *ch, walbus_change *out)
{
	const wbe_frame *fr = &c->cur.frame;
	wcu_events		*evs = &c->events;
	int				 rc = WALBUS_OK;

	memset(out, 0, sizeof(*out));
	out->topic = fr->topic.ptr; /* NUL-terminated by the separator */
	out->run = fr->head.run;
	out->seq = fr->head.seq;
	out->tseq = fr->head.tseq;
	out->in_txn = fr->in_txn;
	out->xid = fr->txn.xid;
	out->commit_lsn = fr->txn.commit_lsn;
	out->commit_time = fr->txn.commit_time;
	switch (fr->kind)
	{
		case WBE_FRAME_CHANGES:
			out->kind = (walbus_kind) ch->kind;
			out->pos = ch->pos;
			if (ch->kind == WBE_SCHEMA)
			{
				out->relid = fr->relid;
				if (!evs->have_event)
					return evs->event_rc; /* wcu_schema_wanted said why */
				if ((rc = wcu_sev_build(c)) != WALBUS_OK)
					return rc;
				out->schema_event = &evs->sev;
				return WALBUS_OK;
			}
			if (ch->kind == WBE_BACKFILL)
			{
				out->relid = fr->relid;
				if (evs->bev.event == NULL)
					return evs->event_rc;
				out->backfill_event = &evs->bev;
				return WALBUS_OK;
			}
			out->relid = fr->relid;
			out->schema_version = fr->schema_version;
			out->nvalues = ch->nvalues;
			out->values = ch->values;
			out->key = ch->has_key ? &ch->key : NULL;
			out->old_key = ch->has_old_key ? &ch->old_key : NULL;
			out->truncate_flags = ch->truncate_flags;
			out->transactional = fr->transactional;
			out->message_lsn = ch->msg_lsn;
			out->prefix = fr->prefix;
			out->content = ch->content;
			break;
		case WBE_FRAME_COMMIT:
			out->kind = WALBUS_COMMIT;
			out->pos = WALBUS_POS_COMMIT;
			out->end_lsn = fr->end_lsn;
			out->nchanges = fr->last_pos;
			break;
		case WBE_FRAME_HEARTBEAT:
			out->kind = WALBUS_HEARTBEAT;
			out->time = fr->hb.time;
			out->received_lsn = fr->hb.received_lsn;
			out->flushed_lsn = fr->hb.flushed_lsn;
			break;
	}

	if (fr->kind != WBE_FRAME_CHANGES || fr->schema_version == 0 ||
		!c->have_control)
		return WALBUS_OK;
	out->table = wcu_frame_table(c, &rc);
	if (out->table == NULL)
		return rc;
	if ((out->kind == WALBUS_INSERT || out->kind == WALBUS_UPDATE ||
		 out->kind == WALBUS_READ) &&
		out->table->ncolumns != ch->nvalues)
	{
		walbus_fail(c, WALBUS_ESCHEMA,
					"change on %s has %u values for %u columns", out->topic,
					ch->nvalues, out->table->ncolumns);
		out->table = NULL;
		return WALBUS_ESCHEMA;
	}
	if (out->key == NULL && out->table->key_index < ch->nvalues)
		out->key = &ch->values[out->table->key_index];
	return WALBUS_OK;
}
