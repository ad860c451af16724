/*-------------------------------------------------------------------------
 *
 * wb_encode.c
 *	  Encoder of walbus version-1 records (docs/PROTOCOL.md §4 and §5).
 *
 * Every function appends msgpack bytes through the caller's wb_write_fn,
 * using msgpack-c's packer.  The packer's functions are static inline in
 * <msgpack/pack.h>, so this file needs msgpack-c's headers but not its
 * library: nothing here links against libmsgpackc.
 *
 * Errors are sticky: the packer writes through wb_enc_write_sticky, which
 * stops forwarding once a write has failed and records the failure in the
 * encoder.  Arguments the format cannot represent (a string over 4 GiB,
 * nsec out of range, an unknown value type) fail the encoder the same way,
 * so a caller checks wb_enc_failed() once per record.  Nothing is
 * allocated; the packer lives on the stack of each call, which keeps the
 * per-column path of the plugin to a few stores and the write callback.
 *
 * Thread safety: an encoder belongs to one thread at a time; no globals.
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_proto.h"

#include "wb_pack.h"

/* The write callback of every packer in proto/ (wb_pack.h). */
int
wb_enc_write_sticky(void *data, const char *buf, size_t len)
{
	wb_enc	   *e = (wb_enc *) data;

	if (e->failed)
		return -1;
	if (e->write(e->ctx, buf, len) != 0)
	{
		e->failed = 1;
		return -1;
	}
	return 0;
}

/* A packer writing through e; two pointers, built on each call's stack. */
static inline msgpack_packer
wb_packer(wb_enc *e)
{
	WB_PACKER(pk, e);

	return pk;
}

void
wb_enc_init(wb_enc *e, wb_write_fn write, void *ctx)
{
	e->write = write;
	e->ctx = ctx;
	e->failed = 0;
}

/* Array header plus the kind letter, which is below 128: a positive fixint. */
static void
wb_pack_head(msgpack_packer *pk, size_t nelems, wb_kind kind)
{
	msgpack_pack_array(pk, nelems);
	msgpack_pack_uint8(pk, (uint8_t) kind);
}

/* str32 is the largest msgpack str/bin; a longer one cannot be encoded. */
static bool
wb_len_ok(wb_enc *e, size_t len)
{
	if (len > UINT32_MAX)
	{
		e->failed = 1;
		return false;
	}
	return true;
}

void
wb_pack_str(wb_enc *e, msgpack_packer *pk, const char *s, size_t len)
{
	if (!wb_len_ok(e, len))
		return;
	msgpack_pack_str(pk, len);
	/* skip empty bodies: callbacks may not expect a NULL pointer */
	if (len > 0)
		msgpack_pack_str_body(pk, s, len);
}

static void
wb_pack_bin(wb_enc *e, msgpack_packer *pk, const void *p, size_t len)
{
	if (!wb_len_ok(e, len))
		return;
	msgpack_pack_bin(pk, len);
	if (len > 0)
		msgpack_pack_bin_body(pk, p, len);
}

/*
 * msgpack_pack_timestamp picks the smallest of the three forms.  nsec must
 * be below 10^9: the 64-bit form has 30 bits for it, and decoders reject
 * larger values anyway.
 */
static void
wb_pack_timestamp(wb_enc *e, msgpack_packer *pk, wb_timestamp ts)
{
	msgpack_timestamp mts;

	if (ts.nsec >= 1000000000u)
	{
		e->failed = 1;
		return;
	}
	mts.tv_sec = ts.sec;
	mts.tv_nsec = ts.nsec;
	msgpack_pack_timestamp(pk, &mts);
}

/* ---------------------------------------------------------- whole records */

void
wb_enc_begin(wb_enc *e, uint32_t xid, uint64_t final_lsn,
			 wb_timestamp commit_time)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 4, WB_BEGIN);
	msgpack_pack_uint32(&pk, xid);
	msgpack_pack_uint64(&pk, final_lsn);
	wb_pack_timestamp(e, &pk, commit_time);
}

void
wb_enc_commit(wb_enc *e, uint64_t commit_lsn, uint64_t end_lsn,
			  wb_timestamp commit_time)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 4, WB_COMMIT);
	msgpack_pack_uint64(&pk, commit_lsn);
	msgpack_pack_uint64(&pk, end_lsn);
	wb_pack_timestamp(e, &pk, commit_time);
}

void
wb_enc_message(wb_enc *e, bool transactional, uint64_t lsn,
			   const char *prefix, size_t prefix_len,
			   const char *content, size_t content_len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 5, WB_MESSAGE);
	if (transactional)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msgpack_pack_uint64(&pk, lsn);
	wb_pack_str(e, &pk, prefix, prefix_len);
	wb_pack_bin(e, &pk, content, content_len);
}

/* ------------------------------------------- records with a variable part */

void
wb_enc_relation_start(wb_enc *e, uint32_t relid,
					  const char *schema, size_t schema_len,
					  const char *table, size_t table_len,
					  uint32_t key_index, uint32_t ncolumns)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 6, WB_RELATION);
	msgpack_pack_uint32(&pk, relid);
	wb_pack_str(e, &pk, schema, schema_len);
	wb_pack_str(e, &pk, table, table_len);
	msgpack_pack_uint32(&pk, key_index);
	msgpack_pack_array(&pk, ncolumns);
}

void
wb_enc_column(wb_enc *e, const char *name, size_t name_len,
			  uint32_t typoid, int32_t typmod,
			  const char *typname, size_t typname_len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_array(&pk, 4);
	wb_pack_str(e, &pk, name, name_len);
	msgpack_pack_uint32(&pk, typoid);
	msgpack_pack_int32(&pk, typmod);
	wb_pack_str(e, &pk, typname, typname_len);
}

void
wb_enc_insert_start(wb_enc *e, uint32_t relid, uint32_t ncolumns)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 3, WB_INSERT);
	msgpack_pack_uint32(&pk, relid);
	msgpack_pack_array(&pk, ncolumns);
}

void
wb_enc_update_start(wb_enc *e, uint32_t relid, uint32_t ncolumns,
					bool has_old_key)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, has_old_key ? 4 : 3, WB_UPDATE);
	msgpack_pack_uint32(&pk, relid);
	msgpack_pack_array(&pk, ncolumns);
}

void
wb_enc_delete_start(wb_enc *e, uint32_t relid)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 3, WB_DELETE);
	msgpack_pack_uint32(&pk, relid);
}

void
wb_enc_truncate_start(wb_enc *e, uint32_t flags, uint32_t nrelids)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 3, WB_TRUNCATE);
	msgpack_pack_uint32(&pk, flags);
	msgpack_pack_array(&pk, nrelids);
}

void
wb_enc_relid(wb_enc *e, uint32_t relid)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_uint32(&pk, relid);
}

/* ----------------------------------------------------------------- values */

void
wb_enc_v_nil(wb_enc *e)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_nil(&pk);
}

void
wb_enc_v_bool(wb_enc *e, bool b)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	if (b)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
}

void
wb_enc_v_int(wb_enc *e, int64_t i)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_int64(&pk, i);
}

void
wb_enc_v_float32(wb_enc *e, float f)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_float(&pk, f);
}

void
wb_enc_v_float64(wb_enc *e, double d)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_double(&pk, d);
}

void
wb_enc_v_str(wb_enc *e, const char *s, size_t len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_str(e, &pk, s, len);
}

void
wb_enc_v_bin(wb_enc *e, const void *p, size_t len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_bin(e, &pk, p, len);
}

void
wb_enc_v_timestamp(wb_enc *e, wb_timestamp ts)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_timestamp(e, &pk, ts);
}

/* ext 1 with an empty payload: msgpack-c writes it as ext8, c7 00 01. */
void
wb_enc_v_unchanged_toast(wb_enc *e)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_ext(&pk, 0, WB_EXT_UNCHANGED_TOAST);
}

void
wb_enc_value(wb_enc *e, const wb_value *v)
{
	switch (v->type)
	{
		case WB_V_NIL:
			wb_enc_v_nil(e);
			return;
		case WB_V_BOOL:
			wb_enc_v_bool(e, v->v.b);
			return;
		case WB_V_INT:
			wb_enc_v_int(e, v->v.i);
			return;
		case WB_V_FLOAT32:
			wb_enc_v_float32(e, v->v.f32);
			return;
		case WB_V_FLOAT64:
			wb_enc_v_float64(e, v->v.f64);
			return;
		case WB_V_STR:
			wb_enc_v_str(e, v->v.s.ptr, v->v.s.len);
			return;
		case WB_V_BIN:
			wb_enc_v_bin(e, v->v.s.ptr, v->v.s.len);
			return;
		case WB_V_TIMESTAMP:
			wb_enc_v_timestamp(e, v->v.ts);
			return;
		case WB_V_UNCHANGED_TOAST:
			wb_enc_v_unchanged_toast(e);
			return;
	}
	/* a value type this version does not know */
	e->failed = 1;
}

/* ------------------------------------------------------------------ misc */

const char *
wb_kind_name(int kind)
{
	switch (kind)
	{
		case WB_BEGIN:
			return "begin";
		case WB_COMMIT:
			return "commit";
		case WB_RELATION:
			return "relation";
		case WB_INSERT:
			return "insert";
		case WB_UPDATE:
			return "update";
		case WB_DELETE:
			return "delete";
		case WB_TRUNCATE:
			return "truncate";
		case WB_MESSAGE:
			return "message";
	}
	return "unknown";
}

/*
 * PostgreSQL counts microseconds from 2000-01-01 00:00 UTC.  Division
 * floors so that nsec stays in 0..999999999 for instants before 2000:
 * -1 us is 1999-12-31 23:59:59.999999000.
 */
wb_timestamp
wb_timestamp_from_pg(int64_t pg_usec)
{
	wb_timestamp ts;
	int64_t		sec = pg_usec / 1000000;
	int64_t		usec = pg_usec % 1000000;

	if (usec < 0)
	{
		sec -= 1;
		usec += 1000000;
	}
	ts.sec = sec + WB_PG_EPOCH_OFFSET_SEC;
	ts.nsec = (uint32_t) usec * 1000u;
	return ts;
}
