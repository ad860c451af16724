/*-------------------------------------------------------------------------
 *
 * filters.c
 *	  libwalbus's subscriptions, topic selection and following (see
 *	  filters.h for the contract).
 *
 *-------------------------------------------------------------------------
 */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

/*
 * Values in the followed map (entries are never removed: a dropped
 * table's relid is marked forgotten).
 */
#define WFL_FOLLOWED  ((void *) 1)
#define WFL_FORGOTTEN ((void *) 2)

void
wfl_init(wfl_filters *fs)
{
	memset(fs, 0, sizeof(*fs));
	whm_init(&fs->followed);
}

void
wfl_free(wfl_filters *fs)
{
	whm_free(&fs->followed, NULL);
	for (int i = 0; i < fs->n; i++)
		free(fs->list[i].bytes);
	free(fs->list);
	fs->list = NULL;
	fs->n = fs->cap = 0;
}

/*
 * After a (un)subscription: loss detection observes afresh when reset (the
 * caller's own subscriptions: what it judged before no longer holds), and
 * the rest of the frame being delivered follows the new filters.
 */
static void
wfl_changed(walbus_client *c, bool reset)
{
	if (reset)
		wgc_reset(&c->gaps);
	if (c->cur.active)
		c->cur.selected = wfl_selected(c, c->cur.frame.topic.ptr,
									   c->cur.frame.topic.len);
}

/* Parse a filter: a trailing '*' makes it a prefix. */
static void
wfl_parse(const char *filter, size_t *len, bool *is_prefix)
{
	*len = strlen(filter);
	*is_prefix = *len > 0 && filter[*len - 1] == '*';
	if (*is_prefix)
		(*len)--;
}

/* Append a filter of len bytes; WALBUS_ENOMEM (said) when out of memory. */
static int
wfl_add(walbus_client *c, const char *bytes, size_t len, bool is_prefix,
		bool followed)
{
	wfl_filters *fs = &c->filters;
	wfl_filter	*f;

	if (fs->n == fs->cap)
	{
		int			ncap = fs->cap ? fs->cap * 2 : 8;
		wfl_filter *n = realloc(fs->list, ncap * sizeof(wfl_filter));

		if (n == NULL)
			return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
		fs->list = n;
		fs->cap = ncap;
	}
	f = &fs->list[fs->n];
	if ((f->bytes = malloc(len + 1)) == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	memcpy(f->bytes, bytes, len);
	f->bytes[len] = '\0';
	f->len = len;
	f->is_prefix = is_prefix;
	f->followed = followed;
	fs->n++;
	return WALBUS_OK;
}

static int
wfl_find(const wfl_filters *fs, const char *bytes, size_t len, bool is_prefix)
{
	for (int i = 0; i < fs->n; i++)
		if (fs->list[i].len == len && fs->list[i].is_prefix == is_prefix &&
			memcmp(fs->list[i].bytes, bytes, len) == 0)
			return i;
	return -1;
}

/* Remove filter i (order does not matter). */
static void
wfl_remove(wfl_filters *fs, int i)
{
	free(fs->list[i].bytes);
	fs->list[i] = fs->list[--fs->n];
}

int
walbus_subscribe(walbus_client *c, const char *filter)
{
	size_t len;
	bool   is_prefix;
	int	   i;

	if (filter == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: no filter");
	if (!wbr_is_open(&c->bus))
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	wfl_parse(filter, &len, &is_prefix);
	if (!is_prefix && len == 0)
		return walbus_fail(
			c, WALBUS_EINVAL,
			"subscribe: empty topic (use \"*\" for all tables)");
	if ((i = wfl_find(&c->filters, filter, len, is_prefix)) >= 0)
	{
		c->filters.list[i].followed = false;
		return WALBUS_OK;
	}
	if (wfl_add(c, filter, len, is_prefix, false) != WALBUS_OK)
		return WALBUS_ENOMEM;
	wfl_changed(c, true);
	return WALBUS_OK;
}

int
walbus_unsubscribe(walbus_client *c, const char *filter)
{
	size_t len;
	bool   is_prefix;
	int	   i;

	if (filter == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "unsubscribe: no filter");
	wfl_parse(filter, &len, &is_prefix);
	if ((i = wfl_find(&c->filters, filter, len, is_prefix)) < 0)
		return walbus_fail(c, WALBUS_EINVAL, "not subscribed to \"%s\"",
						   filter);
	wfl_remove(&c->filters, i);
	wfl_changed(c, true);
	return WALBUS_OK;
}

int
walbus_subscribe_table(walbus_client *c, const char *schema, const char *table)
{
	char   topic[WBE_TABLE_TOPIC_MAX + 1];
	size_t n;

	if (schema == NULL || table == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: no schema or table");
	n = wbe_topic_table(topic, sizeof(topic), schema, strlen(schema), table,
						strlen(table));
	if (n >= sizeof(topic))
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: name too long");
	return walbus_subscribe(c, topic);
}

int
walbus_subscribe_schema(walbus_client *c, const char *schema)
{
	char   topic[WBE_TABLE_TOPIC_MAX + 2];
	size_t n;

	if (schema == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: no schema");
	n = wbe_topic_schema(topic, sizeof(topic) - 1, schema, strlen(schema));
	if (n >= sizeof(topic) - 1)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: name too long");
	topic[n] = '*';
	topic[n + 1] = '\0';
	return walbus_subscribe(c, topic);
}

bool
wfl_selected(const walbus_client *c, const char *topic, size_t len)
{
	bool reserved = len > 0 && topic[0] == WBE_TOPIC_RESERVED;

	for (int i = 0; i < c->filters.n; i++)
	{
		const wfl_filter *f = &c->filters.list[i];
		bool f_reserved = f->len > 0 && f->bytes[0] == WBE_TOPIC_RESERVED;

		if (reserved != f_reserved)
			continue;
		if (f->is_prefix ? len >= f->len : len == f->len)
			if (memcmp(topic, f->bytes, f->len) == 0)
				return true;
	}
	return false;
}

bool
wfl_receives(void *arg, const char *topic, size_t len)
{
	const walbus_client *c = arg;

	if (len > 0 && topic[0] == WBE_TOPIC_RESERVED)
		return true;
	return wfl_selected(c, topic, len);
}

/* ---------------------------------------------------------- following */

static bool
wfl_follows(const walbus_client *c, uint32_t relid)
{
	return whm_get(&c->filters.followed, &relid, sizeof(relid)) ==
		WFL_FOLLOWED;
}

/*
 * Out of memory, relid is not remembered: the table is still followed by
 * topic, and only a relay restart followed by a rename could lose it.
 */
void
wfl_follow_relid(walbus_client *c, uint32_t relid)
{
	if (!wfl_follows(c, relid))
		(void) whm_put(&c->filters.followed, &relid, sizeof(relid),
					   WFL_FOLLOWED);
}

/*
 * Select topic too, for a followed table that now lives there.  Loss
 * detection is not reset: the socket received every frame all along.
 */
static int
wfl_follow_topic(walbus_client *c, wb_str topic)
{
	if (topic.len == 0 || wfl_selected(c, topic.ptr, topic.len))
		return WALBUS_OK;
	if (wfl_add(c, topic.ptr, topic.len, false, true) != WALBUS_OK)
		return WALBUS_ENOMEM;
	wfl_changed(c, false);
	return WALBUS_OK;
}

/* Drop the filter following added for topic, if any. */
static void
wfl_unfollow_topic(walbus_client *c, wb_str topic)
{
	wfl_filters *fs = &c->filters;

	for (int i = 0; i < fs->n; i++)
		if (fs->list[i].followed && !fs->list[i].is_prefix &&
			fs->list[i].len == topic.len &&
			memcmp(fs->list[i].bytes, topic.ptr, topic.len) == 0)
		{
			wfl_remove(fs, i);
			wfl_changed(c, false);
			return;
		}
}

/*
 * A frame of a followed table under a topic not selected yet: its schema
 * event was lost (the loss is reported on _schema), and following it by
 * relid keeps its changes coming.
 */
bool
wfl_takes(walbus_client *c, const wbe_frame *fr)
{
	if (wfl_receives(c, fr->topic.ptr, fr->topic.len))
		return true;
	if (fr->kind != WBE_FRAME_CHANGES || fr->schema_version == 0 ||
		!wfl_follows(c, fr->relid))
		return false;
	return wfl_follow_topic(c, fr->topic) == WALBUS_OK;
}

bool
wfl_schema_event(walbus_client *c, const wbs_event *ev)
{
	bool table_wanted;

	table_wanted = wfl_follows(c, ev->relid) ||
		wfl_selected(c, ev->topic.ptr, ev->topic.len) ||
		(ev->previous_topic.ptr != NULL &&
		 wfl_selected(c, ev->previous_topic.ptr, ev->previous_topic.len));
	if (table_wanted)
	{
		if (ev->kind == WBS_TABLE_DROPPED)
		{
			/* PostgreSQL may give its OID and name to another table later */
			if (wfl_follows(c, ev->relid))
				(void) whm_put(&c->filters.followed, &ev->relid,
							   sizeof(ev->relid), WFL_FORGOTTEN);
			wfl_unfollow_topic(c, ev->topic);
		}
		else
		{
			wfl_follow_relid(c, ev->relid);
			if (ev->kind != WBS_TABLE_WITHDRAWN)
				wfl_follow_topic(c, ev->topic);
		}
	}
	return table_wanted ||
		wfl_selected(c, WBE_TOPIC_SCHEMA, strlen(WBE_TOPIC_SCHEMA));
}

bool
wfl_backfill_wanted(walbus_client *c, uint32_t relid, wb_str topic)
{
	return wfl_follows(c, relid) || wfl_selected(c, topic.ptr, topic.len) ||
		wfl_selected(c, WBE_TOPIC_BACKFILL, strlen(WBE_TOPIC_BACKFILL));
}
