/*-------------------------------------------------------------------------
 *
 * control_msg.c
 *	  Encoder/decoder pairs of the relay's control protocol; see
 *	  walbus_control.h for the contract and docs/PROTOCOL.md (Part 2) for the spec.
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_control.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_pack.h"

#include "mpread.h"


static void
wbc_put_key(wb_enc *e, msgpack_packer *pk, const char *key)
{
	wb_pack_str(e, pk, key, strlen(key));
}

static void
wbc_kv_uint(wb_enc *e, msgpack_packer *pk, const char *key, uint64_t v)
{
	wbc_put_key(e, pk, key);
	msgpack_pack_uint64(pk, v);
}

static void
wbc_kv_str(wb_enc *e, msgpack_packer *pk, const char *key, const char *s,
		   size_t len)
{
	wbc_put_key(e, pk, key);
	wb_pack_str(e, pk, s, len);
}

static void
wbc_ok(wb_enc *e, msgpack_packer *pk, bool ok)
{
	wbc_put_key(e, pk, "ok");
	if (ok)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

/* Copy a reader failure into the caller's buffer. */
static int
wbc_failed(const mpr *r, char *errbuf, size_t errlen)
{
	if (errlen > 0)
		snprintf(errbuf, errlen, "%s", r->errmsg);
	return WB_EMALFORMED;
}

/* ------------------------------------------------------------- requests */

/* clang-format off */
static const struct
{
	const char *name;
	wbc_op		op;
}			wbc_ops[] = {
	{"status", WBC_OP_STATUS},
	{"schema", WBC_OP_SCHEMA},
	{"hello", WBC_OP_HELLO},
	{"ack", WBC_OP_ACK},
	{"replay", WBC_OP_REPLAY},
	{"backfill", WBC_OP_BACKFILL}
};
/* clang-format on */

void
wbc_enc_status_request(wb_enc *e)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 1);
	wbc_kv_str(e, &pk, "op", "status", 6);
}

void
wbc_enc_schema_request(wb_enc *e, uint32_t relid, uint64_t schema_version)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 3);
	wbc_kv_str(e, &pk, "op", "schema", 6);
	wbc_kv_uint(e, &pk, "relid", relid);
	wbc_kv_uint(e, &pk, "schema_version", schema_version);
}

static void
wbc_kv_bool(wb_enc *e, msgpack_packer *pk, const char *key, bool v)
{
	wbc_put_key(e, pk, key);
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
wbc_enc_hello_request(wb_enc *e, const char *consumer, size_t len)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 2);
	wbc_kv_str(e, &pk, "op", "hello", 5);
	wbc_kv_str(e, &pk, "consumer", consumer, len);
}

void
wbc_enc_ack_request(wb_enc *e, const char *consumer, size_t len,
					uint64_t commit_lsn, uint32_t pos, uint64_t end_lsn,
					const wbc_key *release)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, release != NULL ? 7 : 5);
	wbc_kv_str(e, &pk, "op", "ack", 3);
	wbc_kv_str(e, &pk, "consumer", consumer, len);
	wbc_kv_uint(e, &pk, "commit_lsn", commit_lsn);
	wbc_kv_uint(e, &pk, "pos", pos);
	wbc_kv_uint(e, &pk, "end_lsn", end_lsn);
	if (release != NULL)
	{
		wbc_kv_uint(e, &pk, "release_commit_lsn", release->lsn);
		wbc_kv_uint(e, &pk, "release_pos", release->pos);
	}
}

void
wbc_enc_replay_request(wb_enc *e, const char *consumer, size_t len,
					   uint64_t commit_lsn, uint32_t pos,
					   const wb_str *prefixes, uint32_t nprefixes,
					   uint64_t max_bytes)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	if (nprefixes > WBC_MAX_PREFIXES)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, consumer != NULL ? 6 : 5);
	wbc_kv_str(e, &pk, "op", "replay", 6);
	if (consumer != NULL)
		wbc_kv_str(e, &pk, "consumer", consumer, len);
	wbc_kv_uint(e, &pk, "commit_lsn", commit_lsn);
	wbc_kv_uint(e, &pk, "pos", pos);
	wbc_kv_uint(e, &pk, "max_bytes", max_bytes);
	wbc_put_key(e, &pk, "prefixes");
	msgpack_pack_array(&pk, nprefixes);
	for (uint32_t i = 0; i < nprefixes; i++)
	{
		msgpack_pack_bin(&pk, prefixes[i].len);
		msgpack_pack_bin_body(&pk, prefixes[i].ptr, prefixes[i].len);
	}
}

/* "prefixes": an array of binaries, at most WBC_MAX_PREFIXES. */
static void
wbc_read_prefixes(mpr *r, wbc_request *out)
{
	uint32_t n;

	if (!mpr_array(r, &n))
		return;
	if (n > WBC_MAX_PREFIXES)
	{
		mpr_fail(r, "%u prefixes, more than %d", n, WBC_MAX_PREFIXES);
		return;
	}
	for (uint32_t i = 0; i < n && !r->failed; i++)
		mpr_bin(r, &out->prefixes[i]);
	out->nprefixes = n;
}

int
wbc_decode_request(const void *buf, size_t len, wbc_request *out, char *errbuf,
				   size_t errlen)
{
	mpr		 r;
	uint32_t n;
	bool	 has_op = false;
	bool	 has_lsn = false;
	bool	 has_release_lsn = false;
	bool	 has_release_pos = false;
	bool	 has_pos = false;

	memset(out, 0, sizeof(*out));
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n; i++)
	{
		wb_str key;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "op"))
		{
			if (!mpr_str(&r, &out->op_name))
				break;
			has_op = true;
			for (size_t j = 0; j < sizeof(wbc_ops) / sizeof(wbc_ops[0]); j++)
				if (mpr_str_eq(out->op_name, wbc_ops[j].name))
					out->op = wbc_ops[j].op;
		}
		else if (mpr_str_eq(key, "relid"))
			out->has_relid = mpr_uint32(&r, &out->relid);
		else if (mpr_str_eq(key, "schema_version"))
			out->has_schema_version = mpr_uint(&r, &out->schema_version);
		else if (mpr_str_eq(key, "consumer"))
			out->has_consumer = mpr_str(&r, &out->consumer);
		else if (mpr_str_eq(key, "commit_lsn"))
			has_lsn = mpr_uint(&r, &out->commit_lsn);
		else if (mpr_str_eq(key, "pos"))
			has_pos = mpr_uint32(&r, &out->pos);
		else if (mpr_str_eq(key, "end_lsn"))
			mpr_uint(&r, &out->end_lsn);
		else if (mpr_str_eq(key, "release_commit_lsn"))
			has_release_lsn = mpr_uint(&r, &out->release.lsn);
		else if (mpr_str_eq(key, "release_pos"))
			has_release_pos = mpr_uint32(&r, &out->release.pos);
		else if (mpr_str_eq(key, "max_bytes"))
			mpr_uint(&r, &out->max_bytes);
		else if (mpr_str_eq(key, "schema") && mpr_peek(&r) == MPR_STR)
			mpr_str(&r, &out->schema);
		else if (mpr_str_eq(key, "table"))
			out->has_table = mpr_str(&r, &out->table);
		else if (mpr_str_eq(key, "prefixes"))
			wbc_read_prefixes(&r, out);
		else
			mpr_skip(&r);
	}
	out->has_key = has_lsn && has_pos;
	out->has_release = has_release_lsn && has_release_pos;
	if (!r.failed && mpr_left(&r) != 0)
		mpr_fail(&r, "%zu bytes after the request", mpr_left(&r));
	if (!r.failed && !has_op)
		mpr_fail(&r, "request has no \"op\"");
	if (r.failed)
		return wbc_failed(&r, errbuf, errlen);
	return WB_OK;
}

void
wbc_enc_backfill_request(wb_enc *e, const char *schema, size_t schema_len,
						 const char *table, size_t table_len)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 3);
	wbc_kv_str(e, &pk, "op", "backfill", 8);
	wbc_kv_str(e, &pk, "schema", schema, schema_len);
	wbc_kv_str(e, &pk, "table", table, table_len);
}

/* ------------------------------------------------------------ responses */

void
wbc_enc_backfill(wb_enc *e, const wbc_backfill *b)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 5);
	wbc_ok(e, &pk, true);
	wbc_kv_uint(e, &pk, "backfill", b->backfill);
	wbc_kv_uint(e, &pk, "relid", b->relid);
	wbc_kv_str(e, &pk, "topic", b->topic.ptr, b->topic.len);
	wbc_kv_bool(e, &pk, "queued", b->queued);
}

int
wbc_decode_backfill(const void *buf, size_t len, wbc_backfill *out,
					char *errbuf, size_t errlen)
{
	mpr		 r;
	uint32_t n;
	bool	 has_id = false;

	memset(out, 0, sizeof(*out));
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n && !r.failed; i++)
	{
		wb_str key;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "backfill"))
			has_id = mpr_uint(&r, &out->backfill);
		else if (mpr_str_eq(key, "relid"))
			mpr_uint32(&r, &out->relid);
		else if (mpr_str_eq(key, "topic"))
			mpr_str(&r, &out->topic);
		else if (mpr_str_eq(key, "queued"))
			mpr_bool(&r, &out->queued);
		else
			mpr_skip(&r);
	}
	if (!r.failed && (!has_id || out->topic.ptr == NULL))
		mpr_fail(&r, "backfill response lacks \"backfill\" or \"topic\"");
	if (r.failed)
		return wbc_failed(&r, errbuf, errlen);
	return WB_OK;
}

void
wbc_enc_error(wb_enc *e, const char *code, const char *message)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 3);
	wbc_ok(e, &pk, false);
	wbc_kv_str(e, &pk, "error", code, strlen(code));
	wbc_kv_str(e, &pk, "message", message, strlen(message));
}

void
wbc_enc_table(wb_enc *e, const wbc_schema *s, bool with_ok)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 7 + (with_ok ? 1 : 0));
	if (with_ok)
		wbc_ok(e, &pk, true);
	wbc_kv_uint(e, &pk, "relid", s->relid);
	wbc_kv_uint(e, &pk, "schema_version", s->schema_version);
	wbc_kv_str(e, &pk, "schema", s->schema.ptr, s->schema.len);
	wbc_kv_str(e, &pk, "table", s->table.ptr, s->table.len);
	wbc_kv_uint(e, &pk, "schema_oid", s->schema_oid);
	wbc_kv_uint(e, &pk, "key_index", s->key_index);
	wbc_put_key(e, &pk, "columns");
	msgpack_pack_array(&pk, s->ncolumns);
	for (uint32_t i = 0; i < s->ncolumns; i++)
	{
		const wbc_column *c = &s->columns[i];

		msgpack_pack_map(&pk, 5);
		wbc_kv_uint(e, &pk, "attnum",
					(uint64_t) (c->attnum > 0 ? c->attnum : 0));
		wbc_kv_str(e, &pk, "name", c->name.ptr, c->name.len);
		wbc_kv_uint(e, &pk, "type_oid", c->typoid);
		wbc_put_key(e, &pk, "typmod");
		msgpack_pack_int32(&pk, c->typmod);
		wbc_kv_str(e, &pk, "type", c->typname.ptr, c->typname.len);
	}
}

/*
 * The status fields, by key, for both directions: WBC_STATUS_FIELDS
 * (status_fields.h) in its order, which is the order on the wire.
 */
#define WBC_STATUS_IS_STR_UINT false
#define WBC_STATUS_IS_STR_LSN  false
#define WBC_STATUS_IS_STR_FLAG false
#define WBC_STATUS_IS_STR_STR  true
#define WBC_STATUS_ENTRY(name, kind, doc) \
	{#name, offsetof(wbc_status, name), WBC_STATUS_IS_STR_##kind},

static const struct
{
	const char *key;
	size_t		offset;
	bool		is_str;
} wbc_status_fields[] = {WBC_STATUS_FIELDS(WBC_STATUS_ENTRY)};

#define WBC_NSTATUS (sizeof(wbc_status_fields) / sizeof(wbc_status_fields[0]))

void
wbc_enc_status(wb_enc *e, const wbc_status *st)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	if (st->nconsumers > WBC_MAX_CONSUMERS)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 2 + WBC_NSTATUS);
	wbc_ok(e, &pk, true);
	wbc_put_key(e, &pk, "consumers");
	msgpack_pack_array(&pk, st->nconsumers);
	for (uint32_t i = 0; i < st->nconsumers; i++)
	{
		const wbc_consumer_status *c = &st->consumers[i];

		msgpack_pack_map(&pk, 7);
		wbc_kv_str(e, &pk, "name", c->name.ptr, c->name.len);
		wbc_kv_bool(e, &pk, "connected", c->connected != 0);
		wbc_kv_uint(e, &pk, "acked_lsn", c->acked_lsn);
		wbc_kv_uint(e, &pk, "lag_bytes", c->lag_bytes);
		wbc_kv_bool(e, &pk, "over_lag_limit", c->over_lag_limit != 0);
		wbc_kv_uint(e, &pk, "acks", c->acks);
		wbc_kv_uint(e, &pk, "rewinds", c->rewinds);
	}
	for (size_t i = 0; i < WBC_NSTATUS; i++)
	{
		const char *field = (const char *) st + wbc_status_fields[i].offset;

		if (wbc_status_fields[i].is_str)
		{
			const wb_str *s = (const wb_str *) field;

			wbc_kv_str(e, &pk, wbc_status_fields[i].key, s->ptr, s->len);
		}
		else
			wbc_kv_uint(e, &pk, wbc_status_fields[i].key,
						*(const uint64_t *) field);
	}
}

int
wbc_decode_result(const void *buf, size_t len, bool *ok, wb_str *code,
				  wb_str *message, char *errbuf, size_t errlen)
{
	mpr		 r;
	uint32_t n;
	bool	 has_ok = false;

	*ok = false;
	code->ptr = message->ptr = "";
	code->len = message->len = 0;
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n && !r.failed; i++)
	{
		wb_str key;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "ok"))
			has_ok = mpr_bool(&r, ok);
		else if (mpr_str_eq(key, "error"))
			mpr_str(&r, code);
		else if (mpr_str_eq(key, "message"))
			mpr_str(&r, message);
		else
			mpr_skip(&r);
	}
	if (!r.failed && !has_ok)
		mpr_fail(&r, "response has no \"ok\"");
	if (r.failed)
		return wbc_failed(&r, errbuf, errlen);
	return WB_OK;
}

static bool
wbc_read_column(mpr *r, wbc_column *c)
{
	uint32_t n;
	int64_t	 typmod = -1;

	if (!mpr_map(r, &n))
		return false;
	memset(c, 0, sizeof(*c));
	c->typmod = -1;
	for (uint32_t i = 0; i < n && !r->failed; i++)
	{
		wb_str key;

		if (!mpr_str(r, &key))
			return false;
		if (mpr_str_eq(key, "name"))
			mpr_str(r, &c->name);
		else if (mpr_str_eq(key, "type_oid"))
			mpr_uint32(r, &c->typoid);
		else if (mpr_str_eq(key, "typmod"))
		{
			if (mpr_int(r, &typmod) &&
				(typmod < INT32_MIN || typmod > INT32_MAX))
				mpr_fail(r, "typmod %lld out of range", (long long) typmod);
			c->typmod = (int32_t) typmod;
		}
		else if (mpr_str_eq(key, "type"))
			mpr_str(r, &c->typname);
		else if (mpr_str_eq(key, "attnum"))
		{
			uint32_t attnum = 0;

			if (mpr_uint32(r, &attnum) && attnum > INT16_MAX)
				mpr_fail(r, "attnum %u out of range", attnum);
			c->attnum = (int32_t) attnum;
		}
		else
			mpr_skip(r);
	}
	if (!r->failed && c->name.ptr == NULL)
		mpr_fail(r, "column without a name");
	return !r->failed;
}

int
wbc_decode_schema(const void *buf, size_t len, wbc_schema *out, char *errbuf,
				  size_t errlen)
{
	mpr		 r;
	uint32_t n;
	bool	 has_columns = false;

	memset(out, 0, sizeof(*out));
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n && !r.failed; i++)
	{
		wb_str key;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "relid"))
			mpr_uint32(&r, &out->relid);
		else if (mpr_str_eq(key, "schema_version"))
			mpr_uint(&r, &out->schema_version);
		else if (mpr_str_eq(key, "schema"))
			mpr_str(&r, &out->schema);
		else if (mpr_str_eq(key, "table"))
			mpr_str(&r, &out->table);
		else if (mpr_str_eq(key, "key_index"))
			mpr_uint32(&r, &out->key_index);
		else if (mpr_str_eq(key, "schema_oid"))
			mpr_uint32(&r, &out->schema_oid);
		else if (mpr_str_eq(key, "columns") && !has_columns)
		{
			uint32_t nc;

			has_columns = true;
			if (!mpr_array(&r, &nc))
				break;
			if (nc > WB_MAX_COLUMNS)
			{
				mpr_fail(&r, "%u columns, more than %d", nc, WB_MAX_COLUMNS);
				break;
			}
			out->columns = calloc(nc ? nc : 1, sizeof(wbc_column));
			if (out->columns == NULL)
			{
				if (errlen > 0)
					snprintf(errbuf, errlen, "out of memory");
				return WB_ENOMEM;
			}
			out->ncolumns = nc;
			for (uint32_t j = 0; j < nc; j++)
				if (!wbc_read_column(&r, &out->columns[j]))
					break;
		}
		else
			mpr_skip(&r);
	}
	if (!r.failed &&
		(!has_columns || out->schema.ptr == NULL || out->table.ptr == NULL))
		mpr_fail(&r, "schema response lacks columns, schema or table");
	if (!r.failed && out->ncolumns > 0 && out->key_index >= out->ncolumns)
		mpr_fail(&r, "key_index %u out of %u columns", out->key_index,
				 out->ncolumns);
	if (r.failed)
	{
		free(out->columns);
		out->columns = NULL;
		return wbc_failed(&r, errbuf, errlen);
	}
	return WB_OK;
}

static void
wbc_read_consumers(mpr *r, wbc_status *out)
{
	uint32_t n;

	if (!mpr_array(r, &n))
		return;
	if (n > WBC_MAX_CONSUMERS)
	{
		mpr_fail(r, "%u consumers, more than %d", n, WBC_MAX_CONSUMERS);
		return;
	}
	for (uint32_t i = 0; i < n && !r->failed; i++)
	{
		wbc_consumer_status *c = &out->consumers[i];
		uint32_t			 nk;

		if (!mpr_map(r, &nk))
			return;
		for (uint32_t k = 0; k < nk && !r->failed; k++)
		{
			wb_str key;
			bool   b = false;

			if (!mpr_str(r, &key))
				return;
			if (mpr_str_eq(key, "name"))
				mpr_str(r, &c->name);
			else if (mpr_str_eq(key, "connected"))
			{
				mpr_bool(r, &b);
				c->connected = b;
			}
			else if (mpr_str_eq(key, "over_lag_limit"))
			{
				mpr_bool(r, &b);
				c->over_lag_limit = b;
			}
			else if (mpr_str_eq(key, "acked_lsn"))
				mpr_uint(r, &c->acked_lsn);
			else if (mpr_str_eq(key, "lag_bytes"))
				mpr_uint(r, &c->lag_bytes);
			else if (mpr_str_eq(key, "acks"))
				mpr_uint(r, &c->acks);
			else if (mpr_str_eq(key, "rewinds"))
				mpr_uint(r, &c->rewinds);
			else
				mpr_skip(r);
		}
	}
	out->nconsumers = n;
}

int
wbc_decode_status(const void *buf, size_t len, wbc_status *out, char *errbuf,
				  size_t errlen)
{
	mpr		 r;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n && !r.failed; i++)
	{
		wb_str key;
		bool   known = false;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "consumers"))
		{
			wbc_read_consumers(&r, out);
			continue;
		}
		for (size_t j = 0; j < WBC_NSTATUS && !known; j++)
		{
			char *field;

			if (!mpr_str_eq(key, wbc_status_fields[j].key))
				continue;
			known = true;
			field = (char *) out + wbc_status_fields[j].offset;
			if (wbc_status_fields[j].is_str)
				mpr_str(&r, (wb_str *) field);
			else
				mpr_uint(&r, (uint64_t *) field);
		}
		if (!known)
			mpr_skip(&r);
	}
	if (r.failed)
		return wbc_failed(&r, errbuf, errlen);
	return WB_OK;
}

/* --------------------------------------------- durable consumer responses */

void
wbc_enc_hello(wb_enc *e, const wbc_hello *h)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 7);
	wbc_ok(e, &pk, true);
	wbc_kv_uint(e, &pk, "run", h->run);
	wbc_kv_bool(e, &pk, "durable", h->durable);
	wbc_kv_uint(e, &pk, "acked_lsn", h->acked_lsn);
	wbc_kv_uint(e, &pk, "acked_commit_lsn", h->acked_commit_lsn);
	wbc_kv_uint(e, &pk, "acked_pos", h->acked_pos);
	wbc_kv_uint(e, &pk, "flushed_lsn", h->flushed_lsn);
}

void
wbc_enc_ack(wb_enc *e, uint64_t flushed_lsn)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 2);
	wbc_ok(e, &pk, true);
	wbc_kv_uint(e, &pk, "flushed_lsn", flushed_lsn);
}

void
wbc_enc_replay_start(wb_enc *e, const char *status, uint64_t run,
					 uint64_t last_seq, bool end, uint32_t nmessages)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 6);
	wbc_ok(e, &pk, true);
	wbc_kv_str(e, &pk, "status", status, strlen(status));
	wbc_kv_uint(e, &pk, "run", run);
	wbc_kv_uint(e, &pk, "last_seq", last_seq);
	wbc_kv_bool(e, &pk, "end", end);
	wbc_put_key(e, &pk, "messages");
	msgpack_pack_array(&pk, nmessages);
}

void
wbc_enc_replay_message(wb_enc *e, const void *msg, size_t len)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	if (len > UINT32_MAX)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_bin(&pk, len);
	msgpack_pack_bin_body(&pk, msg, len);
}

int
wbc_decode_hello(const void *buf, size_t len, wbc_hello *out, char *errbuf,
				 size_t errlen)
{
	mpr		 r;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n && !r.failed; i++)
	{
		wb_str key;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "run"))
			mpr_uint(&r, &out->run);
		else if (mpr_str_eq(key, "durable"))
			mpr_bool(&r, &out->durable);
		else if (mpr_str_eq(key, "acked_lsn"))
			mpr_uint(&r, &out->acked_lsn);
		else if (mpr_str_eq(key, "acked_commit_lsn"))
			mpr_uint(&r, &out->acked_commit_lsn);
		else if (mpr_str_eq(key, "acked_pos"))
			mpr_uint32(&r, &out->acked_pos);
		else if (mpr_str_eq(key, "flushed_lsn"))
			mpr_uint(&r, &out->flushed_lsn);
		else
			mpr_skip(&r);
	}
	if (r.failed)
		return wbc_failed(&r, errbuf, errlen);
	return WB_OK;
}

int
wbc_decode_ack(const void *buf, size_t len, uint64_t *flushed_lsn,
			   char *errbuf, size_t errlen)
{
	mpr		 r;
	uint32_t n;

	*flushed_lsn = 0;
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n && !r.failed; i++)
	{
		wb_str key;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "flushed_lsn"))
			mpr_uint(&r, flushed_lsn);
		else
			mpr_skip(&r);
	}
	if (r.failed)
		return wbc_failed(&r, errbuf, errlen);
	return WB_OK;
}

int
wbc_decode_replay(const void *buf, size_t len, wbc_replay *out, char *errbuf,
				  size_t errlen)
{
	mpr		 r;
	uint32_t n;
	bool	 has_messages = false;

	memset(out, 0, sizeof(*out));
	mpr_init(&r, buf, len);
	if (!mpr_map(&r, &n))
		return wbc_failed(&r, errbuf, errlen);
	for (uint32_t i = 0; i < n && !r.failed; i++)
	{
		wb_str key;

		if (!mpr_str(&r, &key))
			break;
		if (mpr_str_eq(key, "status"))
			mpr_str(&r, &out->status);
		else if (mpr_str_eq(key, "run"))
			mpr_uint(&r, &out->run);
		else if (mpr_str_eq(key, "last_seq"))
			mpr_uint(&r, &out->last_seq);
		else if (mpr_str_eq(key, "end"))
			mpr_bool(&r, &out->end);
		else if (mpr_str_eq(key, "messages") && !has_messages)
		{
			uint32_t nm;

			has_messages = true;
			/* each element is at least one byte: mpr_array checked nm */
			if (!mpr_array(&r, &nm))
				break;
			out->messages = malloc((nm ? nm : 1) * sizeof(wb_str));
			if (out->messages == NULL)
			{
				if (errlen > 0)
					snprintf(errbuf, errlen, "out of memory");
				return WB_ENOMEM;
			}
			out->nmessages = nm;
			for (uint32_t j = 0; j < nm && !r.failed; j++)
				mpr_bin(&r, &out->messages[j]);
		}
		else
			mpr_skip(&r);
	}
	if (!r.failed && out->status.ptr == NULL)
		mpr_fail(&r, "replay response has no \"status\"");
	if (r.failed)
	{
		free(out->messages);
		out->messages = NULL;
		out->nmessages = 0;
		return wbc_failed(&r, errbuf, errlen);
	}
	return WB_OK;
}
