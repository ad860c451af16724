/*-------------------------------------------------------------------------
 *
 * schema_event.c
 *	  Schema events and the diff of two table definitions (see
 *	  walbus_schema.h).
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpread.h"
#include "wb_pack.h"

static const char *const wbs_event_names[] = {
	[WBS_TABLE_SEEN] = "table_seen",
	[WBS_TABLE_CHANGED] = "table_changed",
	[WBS_TABLE_WITHDRAWN] = "table_withdrawn",
	[WBS_TABLE_DROPPED] = "table_dropped",
	[WBS_TABLE_ELIGIBLE_AGAIN] = "table_eligible_again",
};

static const char *const wbs_change_names[] = {
	[WBS_TABLE_RENAMED] = "table_renamed",
	[WBS_SCHEMA_RENAMED] = "schema_renamed",
	[WBS_TABLE_MOVED] = "table_moved",
	[WBS_COLUMN_ADDED] = "column_added",
	[WBS_COLUMN_DROPPED] = "column_dropped",
	[WBS_COLUMN_RENAMED] = "column_renamed",
	[WBS_COLUMN_TYPE_CHANGED] = "column_type_changed",
	[WBS_KEY_CHANGED] = "key_changed",
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *
wbs_event_name(wbs_event_kind kind)
{
	if ((unsigned) kind >= NELEMS(wbs_event_names))
		return NULL;
	return wbs_event_names[kind];
}

const char *
wbs_change_name(wbs_change_kind kind)
{
	if ((unsigned) kind >= NELEMS(wbs_change_names))
		return NULL;
	return wbs_change_names[kind];
}

/* ------------------------------------------------------------------ diff */

static bool
wbs_str_eq(wb_str a, wb_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/*
 * The same column in both definitions: by attnum, which survives renames.
 * Definitions from a version 1 plugin carry no attnums; they are matched
 * by name, so a rename reads as a drop and an add there.
 */
static bool
wbs_same_column(const wbc_column *a, const wbc_column *b)
{
	if (a->attnum != 0 && b->attnum != 0)
		return a->attnum == b->attnum;
	return wbs_str_eq(a->name, b->name);
}

static const wbc_column *
wbs_find_column(const wbc_schema *s, const wbc_column *like)
{
	for (uint32_t i = 0; i < s->ncolumns; i++)
		if (wbs_same_column(&s->columns[i], like))
			return &s->columns[i];
	return NULL;
}

static wb_str
wbs_none(void)
{
	return (wb_str) {NULL, 0};
}

uint32_t
wbs_diff(const wbc_schema *prev, const wbc_schema *cur, wbs_change *out)
{
	uint32_t		  n = 0;
	const wbc_column *pk = NULL;
	const wbc_column *ck = NULL;

#define WBS_ADD(...) \
	do \
	{ \
		if (n < WBS_MAX_CHANGES) \
			out[n++] = (wbs_change) {__VA_ARGS__}; \
	} while (0)

	if (!wbs_str_eq(prev->table, cur->table))
		WBS_ADD(.kind = WBS_TABLE_RENAMED, .from = prev->table,
				.to = cur->table);
	if (prev->schema_oid != 0 && cur->schema_oid != 0 &&
		prev->schema_oid != cur->schema_oid)
		WBS_ADD(.kind = WBS_TABLE_MOVED, .from = prev->schema,
				.to = cur->schema);
	else if (!wbs_str_eq(prev->schema, cur->schema))
		WBS_ADD(.kind = (prev->schema_oid != 0 ? WBS_SCHEMA_RENAMED :
												 WBS_TABLE_MOVED),
				.from = prev->schema, .to = cur->schema);

	for (uint32_t i = 0; i < prev->ncolumns; i++)
	{
		const wbc_column *p = &prev->columns[i];

		if (wbs_find_column(cur, p) == NULL)
			WBS_ADD(.kind = WBS_COLUMN_DROPPED, .attnum = p->attnum,
					.from = p->name, .to = wbs_none());
	}
	for (uint32_t i = 0; i < cur->ncolumns; i++)
	{
		const wbc_column *c = &cur->columns[i];
		const wbc_column *p = wbs_find_column(prev, c);

		if (p == NULL)
		{
			WBS_ADD(.kind = WBS_COLUMN_ADDED, .attnum = c->attnum,
					.from = wbs_none(), .to = c->name);
			continue;
		}
		if (!wbs_str_eq(p->name, c->name))
			WBS_ADD(.kind = WBS_COLUMN_RENAMED, .attnum = c->attnum,
					.from = p->name, .to = c->name);
		if (p->typoid != c->typoid || p->typmod != c->typmod ||
			!wbs_str_eq(p->typname, c->typname))
			WBS_ADD(.kind = WBS_COLUMN_TYPE_CHANGED, .attnum = c->attnum,
					.from = p->typname, .to = c->typname);
	}

	if (prev->key_index < prev->ncolumns)
		pk = &prev->columns[prev->key_index];
	if (cur->key_index < cur->ncolumns)
		ck = &cur->columns[cur->key_index];
	if (pk != NULL && ck != NULL && !wbs_same_column(pk, ck))
		WBS_ADD(.kind = WBS_KEY_CHANGED, .attnum = ck->attnum,
				.from_attnum = pk->attnum, .from = pk->name, .to = ck->name);
#undef WBS_ADD
	return n;
}

/* --------------------------------------------------------------- encoder */

static void
wbs_key(wb_enc *e, msgpack_packer *pk, const char *key)
{
	wb_pack_str(e, pk, key, strlen(key));
}

static void
wbs_str_or_nil(wb_enc *e, msgpack_packer *pk, const char *s, size_t len)
{
	if (s == NULL)
		msgpack_pack_nil(pk);
	else
		wb_pack_str(e, pk, s, len);
}

void
wbs_enc_event(wb_enc *e, wbs_event_kind kind, uint32_t relid,
			  const char *topic, size_t topic_len, const char *previous_topic,
			  size_t previous_topic_len, const wbc_schema *table,
			  const wbc_schema *previous, const char *reason,
			  size_t reason_len, const wbs_change *changes, uint32_t nchanges)
{
	WB_PACKER(pk, e);
	const char *name = wbs_event_name(kind);

	if (e->failed)
		return;
	if (name == NULL || topic == NULL)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 8);
	wbs_key(e, &pk, "event");
	wb_pack_str(e, &pk, name, strlen(name));
	wbs_key(e, &pk, "relid");
	msgpack_pack_uint32(&pk, relid);
	wbs_key(e, &pk, "topic");
	wb_pack_str(e, &pk, topic, topic_len);
	wbs_key(e, &pk, "previous_topic");
	wbs_str_or_nil(e, &pk, previous_topic, previous_topic_len);
	wbs_key(e, &pk, "table");
	if (table != NULL)
		wbc_enc_table(e, table, false);
	else
		msgpack_pack_nil(&pk);
	wbs_key(e, &pk, "previous");
	if (previous != NULL)
		wbc_enc_table(e, previous, false);
	else
		msgpack_pack_nil(&pk);
	wbs_key(e, &pk, "reason");
	wbs_str_or_nil(e, &pk, reason, reason_len);
	wbs_key(e, &pk, "changes");
	msgpack_pack_array(&pk, nchanges);
	for (uint32_t i = 0; i < nchanges; i++)
	{
		const wbs_change *c = &changes[i];
		const char		 *cname = wbs_change_name(c->kind);

		if (cname == NULL)
		{
			e->failed = 1;
			return;
		}
		msgpack_pack_map(&pk, c->kind == WBS_KEY_CHANGED ? 5 : 4);
		wbs_key(e, &pk, "change");
		wb_pack_str(e, &pk, cname, strlen(cname));
		wbs_key(e, &pk, "attnum");
		msgpack_pack_int32(&pk, c->attnum);
		if (c->kind == WBS_KEY_CHANGED)
		{
			wbs_key(e, &pk, "from_attnum");
			msgpack_pack_int32(&pk, c->from_attnum);
		}
		wbs_key(e, &pk, "from");
		wbs_str_or_nil(e, &pk, c->from.ptr, c->from.len);
		wbs_key(e, &pk, "to");
		wbs_str_or_nil(e, &pk, c->to.ptr, c->to.len);
	}
}

/* --------------------------------------------------------------- decoder */

static bool
wbs_lookup(const char *const *names, size_t n, wb_str s, int *out)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && mpr_str_eq(s, names[i]))
		{
			*out = (int) i;
			return true;
		}
	return false;
}

/* A str, or nil (ptr NULL). */
static bool
wbs_read_opt_str(mpr *r, wb_str *s)
{
	*s = wbs_none();
	if (mpr_peek(r) == MPR_NIL)
		return mpr_nil(r);
	return mpr_str(r, s);
}

static bool
wbs_read_int32(mpr *r, int32_t *v)
{
	int64_t i;

	if (!mpr_int(r, &i))
		return false;
	if (i < INT16_MIN || i > INT16_MAX)
		return mpr_fail(r, "attnum %lld out of range", (long long) i);
	*v = (int32_t) i;
	return true;
}

/* A definition map, or nil: decoded by the schema response's decoder. */
static bool
wbs_read_table(mpr *r, bool *has, wbc_schema *out, int *rc)
{
	const uint8_t *start = r->p;
	char		   err[160];

	*has = false;
	if (mpr_peek(r) == MPR_NIL)
		return mpr_nil(r);
	if (mpr_peek(r) != MPR_MAP)
		return mpr_fail(r, "a definition is a map or nil");
	if (!mpr_skip(r))
		return false;
	*rc = wbc_decode_schema(start, (size_t) (r->p - start), out, err,
							sizeof(err));
	if (*rc != WB_OK)
		return mpr_fail(r, "%s", err);
	*has = true;
	return true;
}

static bool
wbs_read_change(mpr *r, wbs_change *c, uint32_t idx)
{
	uint32_t n;
	bool	 has_kind = false;

	memset(c, 0, sizeof(*c));
	if (!mpr_map(r, &n))
		return false;
	for (uint32_t i = 0; i < n && !r->failed; i++)
	{
		wb_str key;

		if (!mpr_str(r, &key))
			return false;
		if (mpr_str_eq(key, "change"))
		{
			wb_str s;
			int	   k;

			if (!mpr_str(r, &s))
				return false;
			if (!wbs_lookup(wbs_change_names, NELEMS(wbs_change_names), s, &k))
				return mpr_fail(r, "change %u: unknown change \"%.*s\"", idx,
								(int) (s.len > 32 ? 32 : s.len), s.ptr);
			c->kind = (wbs_change_kind) k;
			has_kind = true;
		}
		else if (mpr_str_eq(key, "attnum"))
			wbs_read_int32(r, &c->attnum);
		else if (mpr_str_eq(key, "from_attnum"))
			wbs_read_int32(r, &c->from_attnum);
		else if (mpr_str_eq(key, "from"))
			wbs_read_opt_str(r, &c->from);
		else if (mpr_str_eq(key, "to"))
			wbs_read_opt_str(r, &c->to);
		else
			mpr_skip(r);
	}
	if (!r->failed && !has_kind)
		return mpr_fail(r, "change %u has no \"change\"", idx);
	return !r->failed;
}

void
wbs_event_free(wbs_event *ev)
{
	free(ev->table.columns);
	free(ev->previous.columns);
	free(ev->changes);
	memset(ev, 0, sizeof(*ev));
}

int
wbs_decode_event(const void *buf, size_t len, wbs_event *out, char *errbuf,
				 size_t errlen)
{
	mpr		 r;
	uint32_t n;
	int		 rc = WB_OK;
	bool	 has_event = false;
	bool	 has_relid = false;

	memset(out, 0, sizeof(*out));
	mpr_init(&r, buf, len);
	if (mpr_map(&r, &n))
	{
		for (uint32_t i = 0; i < n && !r.failed; i++)
		{
			wb_str key;

			if (!mpr_str(&r, &key))
				break;
			if (mpr_str_eq(key, "event"))
			{
				wb_str s;
				int	   k;

				if (!mpr_str(&r, &s))
					break;
				if (!wbs_lookup(wbs_event_names, NELEMS(wbs_event_names), s,
								&k))
				{
					mpr_fail(&r, "unknown event \"%.*s\"",
							 (int) (s.len > 32 ? 32 : s.len), s.ptr);
					break;
				}
				out->kind = (wbs_event_kind) k;
				has_event = true;
			}
			else if (mpr_str_eq(key, "relid"))
				has_relid = mpr_uint32(&r, &out->relid);
			else if (mpr_str_eq(key, "topic"))
				mpr_str(&r, &out->topic);
			else if (mpr_str_eq(key, "previous_topic"))
				wbs_read_opt_str(&r, &out->previous_topic);
			else if (mpr_str_eq(key, "table") && !out->has_table)
				wbs_read_table(&r, &out->has_table, &out->table, &rc);
			else if (mpr_str_eq(key, "previous") && !out->has_previous)
				wbs_read_table(&r, &out->has_previous, &out->previous, &rc);
			else if (mpr_str_eq(key, "reason"))
				wbs_read_opt_str(&r, &out->reason);
			else if (mpr_str_eq(key, "changes") && out->changes == NULL)
			{
				uint32_t nc;

				if (!mpr_array(&r, &nc))
					break;
				if (nc > WBS_MAX_CHANGES)
				{
					mpr_fail(&r, "%u changes, more than %d", nc,
							 WBS_MAX_CHANGES);
					break;
				}
				out->changes = calloc(nc ? nc : 1, sizeof(wbs_change));
				if (out->changes == NULL)
				{
					rc = WB_ENOMEM;
					mpr_fail(&r, "out of memory for %u changes", nc);
					break;
				}
				out->nchanges = nc;
				for (uint32_t j = 0; j < nc; j++)
					if (!wbs_read_change(&r, &out->changes[j], j))
						break;
			}
			else
				mpr_skip(&r);
		}
	}
	if (!r.failed && (!has_event || !has_relid || out->topic.ptr == NULL))
		mpr_fail(&r,
				 "a schema event needs \"event\", \"relid\" and \"topic\"");
	if (!r.failed && out->has_table && out->table.relid != out->relid)
		mpr_fail(&r, "definition of relation %u in an event about %u",
				 out->table.relid, out->relid);
	if (r.failed)
	{
		wbs_event_free(out);
		if (errlen > 0)
			snprintf(errbuf, errlen, "%s", r.errmsg);
		return rc != WB_OK ? rc : WB_EMALFORMED;
	}
	return WB_OK;
}
