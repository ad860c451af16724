/*-------------------------------------------------------------------------
 *
 * backfill_event.c
 *	  Backfill events (see walbus_backfill.h).
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_backfill.h"

#include <stdio.h>
#include <string.h>

#include "mpread.h"
#include "wb_pack.h"

static const char *const wbb_names[] = {
	[WBB_STARTED] = "started",
	[WBB_PROGRESS] = "progress",
	[WBB_DONE] = "done",
	[WBB_FAILED] = "failed",
};

#define WBB_NNAMES (sizeof(wbb_names) / sizeof(wbb_names[0]))

const char *
wbb_event_name(wbb_event_kind kind)
{
	return (unsigned) kind < WBB_NNAMES ? wbb_names[kind] : NULL;
}

static void
wbb_key(wb_enc *e, msgpack_packer *pk, const char *key)
{
	wb_pack_str(e, pk, key, strlen(key));
}

void
wbb_enc_event(wb_enc *e, const wbb_event *ev)
{
	WB_PACKER(pk, e);
	const char *name = wbb_event_name(ev->kind);

	if (e->failed)
		return;
	if (name == NULL || ev->topic.ptr == NULL)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 7);
	wbb_key(e, &pk, "event");
	wb_pack_str(e, &pk, name, strlen(name));
	wbb_key(e, &pk, "backfill");
	msgpack_pack_uint64(&pk, ev->backfill);
	wbb_key(e, &pk, "relid");
	msgpack_pack_uint32(&pk, ev->relid);
	wbb_key(e, &pk, "topic");
	wb_pack_str(e, &pk, ev->topic.ptr, ev->topic.len);
	wbb_key(e, &pk, "rows");
	msgpack_pack_uint64(&pk, ev->rows);
	wbb_key(e, &pk, "chunks");
	msgpack_pack_uint64(&pk, ev->chunks);
	wbb_key(e, &pk, "reason");
	if (ev->reason.ptr != NULL)
		wb_pack_str(e, &pk, ev->reason.ptr, ev->reason.len);
	else
		msgpack_pack_nil(&pk);
}

int
wbb_decode_event(const void *buf, size_t len, wbb_event *out, char *errbuf,
				 size_t errlen)
{
	mpr		 r;
	uint32_t n;
	bool	 has_event = false;
	bool	 has_id = false;

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
				bool   known = false;

				if (!mpr_str(&r, &s))
					break;
				for (size_t k = 0; k < WBB_NNAMES; k++)
					if (mpr_str_eq(s, wbb_names[k]))
					{
						out->kind = (wbb_event_kind) k;
						known = true;
					}
				if (!known)
				{
					mpr_fail(&r, "unknown backfill event \"%.*s\"",
							 (int) (s.len > 32 ? 32 : s.len), s.ptr);
					break;
				}
				has_event = true;
			}
			else if (mpr_str_eq(key, "backfill"))
				has_id = mpr_uint(&r, &out->backfill);
			else if (mpr_str_eq(key, "relid"))
				mpr_uint32(&r, &out->relid);
			else if (mpr_str_eq(key, "topic"))
				mpr_str(&r, &out->topic);
			else if (mpr_str_eq(key, "rows"))
				mpr_uint(&r, &out->rows);
			else if (mpr_str_eq(key, "chunks"))
				mpr_uint(&r, &out->chunks);
			else if (mpr_str_eq(key, "reason") && mpr_peek(&r) == MPR_NIL)
				mpr_nil(&r);
			else if (mpr_str_eq(key, "reason"))
				mpr_str(&r, &out->reason);
			else
				mpr_skip(&r);
		}
	}
	if (!r.failed && (!has_event || !has_id || out->topic.ptr == NULL))
		mpr_fail(&r,
				 "a backfill event needs \"event\", \"backfill\" and "
				 "\"topic\"");
	if (r.failed)
	{
		if (errlen > 0)
			snprintf(errbuf, errlen, "%s", r.errmsg);
		return WB_EMALFORMED;
	}
	return WB_OK;
}
