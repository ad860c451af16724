/*-------------------------------------------------------------------------
 *
 * envelope.c
 *	  Encoder and decoder of bus envelopes (docs/PROTOCOL.md (Part 2)); see
 *	  walbus_envelope.h for the contract.
 *
 * The encoder packs with msgpack-c's header-only packer through the
 * write callback of wb_pack.h (the wb_enc sticky-error contract), and writes
 * column values with the proto library's wb_enc_value so that values on
 * the bus have exactly the plugin's encoding (PROTOCOL.md §5).  The
 * decoder is built on the bounded reader in mpread.c.
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_pack.h"

#include "mpread.h"

/* Map keys.  Short words: they are repeated in every message. */
#define K_RUN		"run"
#define K_SEQ		"seq"
#define K_TSEQ		"tseq"
#define K_KIND		"kind"
#define K_XID		"xid"
#define K_COMMIT_LSN "commit_lsn"
#define K_COMMIT_TIME "commit_time"
#define K_POS		"pos"
#define K_RELID		"relid"
#define K_SV		"schema_version"
#define K_VALUES	"values"
#define K_KEY		"key"
#define K_OLD_KEY	"old_key"
#define K_FLAGS		"flags"
#define K_TRANSACTIONAL "transactional"
#define K_LSN		"lsn"
#define K_PREFIX	"prefix"
#define K_CONTENT	"content"
#define K_END_LSN	"end_lsn"
#define K_FIRST_SEQ	"first_seq"
#define K_CHANGES	"changes"
#define K_TOPICS	"topics"
#define K_TIME		"time"
#define K_TXN_TSEQ	"txn_tseq"
#define K_RECEIVED_LSN "received_lsn"
#define K_FLUSHED_LSN "flushed_lsn"

/* ----------------------------------------------------------------- topics */

static bool
wbe_name_needs_quotes(const char *name, size_t len)
{
	if (len == 0 || name[0] == WBE_TOPIC_RESERVED)
		return true;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '.' || name[i] == '"')
			return true;
	return false;
}

/* Append one byte if there is room; always count it. */
static inline void
wbe_put(char *dst, size_t cap, size_t *n, char c)
{
	if (*n + 1 < cap)
		dst[*n] = c;
	(*n)++;
}

static void
wbe_put_name(char *dst, size_t cap, size_t *n, const char *name, size_t len)
{
	bool		quote = wbe_name_needs_quotes(name, len);

	if (quote)
		wbe_put(dst, cap, n, '"');
	for (size_t i = 0; i < len; i++)
	{
		if (quote && name[i] == '"')
			wbe_put(dst, cap, n, '"');
		wbe_put(dst, cap, n, name[i]);
	}
	if (quote)
		wbe_put(dst, cap, n, '"');
}

static size_t
wbe_terminate(char *dst, size_t cap, size_t n)
{
	if (cap > 0)
		dst[n < cap ? n : cap - 1] = '\0';
	return n;
}

size_t
wbe_topic_table(char *dst, size_t cap, const char *schema, size_t schema_len,
				const char *table, size_t table_len)
{
	size_t		n = 0;

	wbe_put_name(dst, cap, &n, schema, schema_len);
	wbe_put(dst, cap, &n, '.');
	wbe_put_name(dst, cap, &n, table, table_len);
	return wbe_terminate(dst, cap, n);
}

size_t
wbe_topic_schema(char *dst, size_t cap, const char *schema, size_t schema_len)
{
	size_t		n = 0;

	wbe_put_name(dst, cap, &n, schema, schema_len);
	wbe_put(dst, cap, &n, '.');
	return wbe_terminate(dst, cap, n);
}

size_t
wbe_topic_message(char *dst, size_t cap, const char *prefix, size_t prefix_len)
{
	size_t		n = 0;

	for (const char *p = WBE_TOPIC_MSG_PREFIX; *p; p++)
		wbe_put(dst, cap, &n, *p);
	for (size_t i = 0; i < prefix_len; i++)
		wbe_put(dst, cap, &n, prefix[i]);
	return wbe_terminate(dst, cap, n);
}

/* ---------------------------------------------------------------- encoder */


static void
wbe_key(msgpack_packer *pk, const char *key)
{
	size_t		len = strlen(key);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, key, len);
}

static void
wbe_kv_str(wb_enc *e, msgpack_packer *pk, const char *key,
		   const char *s, size_t len)
{
	wbe_key(pk, key);
	wb_pack_str(e, pk, s, len);
}

static void
wbe_kv_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
	wbe_key(pk, key);
	msgpack_pack_uint64(pk, v);
}

static void
wbe_kv_ts(wb_enc *e, msgpack_packer *pk, const char *key, wb_timestamp ts)
{
	wbe_key(pk, key);
	wb_enc_v_timestamp(e, ts);
}

/* The head and kind: 4 map entries. */
static void
wbe_pack_head(wb_enc *e, msgpack_packer *pk, const wbe_head *h, wbe_kind kind)
{
	const char *name = wbe_kind_name(kind);

	if (name == NULL)
	{
		e->failed = 1;
		return;
	}
	wbe_kv_uint(pk, K_RUN, h->run);
	wbe_kv_uint(pk, K_SEQ, h->seq);
	wbe_kv_uint(pk, K_TSEQ, h->tseq);
	wbe_kv_str(e, pk, K_KIND, name, strlen(name));
}

/* The transaction: 4 map entries (3 when with_pos is false). */
static void
wbe_txn_fields(wb_enc *e, msgpack_packer *pk, const wbe_txn *t, bool with_pos)
{
	wbe_kv_uint(pk, K_XID, t->xid);
	wbe_kv_uint(pk, K_COMMIT_LSN, t->commit_lsn);
	wbe_kv_ts(e, pk, K_COMMIT_TIME, t->commit_time);
	if (with_pos)
		wbe_kv_uint(pk, K_POS, t->pos);
}

void
wbe_enc_topic(wb_enc *e, const char *topic, size_t len)
{
	if (e->failed)
		return;
	if (len == 0 || memchr(topic, '\0', len) != NULL)
	{
		e->failed = 1;
		return;
	}
	if (e->write(e->ctx, topic, len) != 0 || e->write(e->ctx, "", 1) != 0)
		e->failed = 1;
}

void
wbe_enc_change_start(wb_enc *e, const wbe_head *h, wbe_kind kind,
					 const wbe_txn *t, uint32_t relid,
					 uint64_t schema_version, uint32_t nvalues,
					 bool has_old_key)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	if (kind != WBE_INSERT && kind != WBE_UPDATE)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 4 + 4 + 3 + (has_old_key ? 1 : 0));
	wbe_pack_head(e, &pk, h, kind);
	wbe_txn_fields(e, &pk, t, true);
	wbe_kv_uint(&pk, K_RELID, relid);
	wbe_kv_uint(&pk, K_SV, schema_version);
	wbe_key(&pk, K_VALUES);
	msgpack_pack_array(&pk, nvalues);
}

void
wbe_enc_old_key(wb_enc *e, const wb_value *old_key)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	wbe_key(&pk, K_OLD_KEY);
	wb_enc_value(e, old_key);
}

void
wbe_enc_delete(wb_enc *e, const wbe_head *h, const wbe_txn *t,
			   uint32_t relid, uint64_t schema_version, const wb_value *key)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 4 + 4 + 3);
	wbe_pack_head(e, &pk, h, WBE_DELETE);
	wbe_txn_fields(e, &pk, t, true);
	wbe_kv_uint(&pk, K_RELID, relid);
	wbe_kv_uint(&pk, K_SV, schema_version);
	wbe_key(&pk, K_KEY);
	wb_enc_value(e, key);
}

void
wbe_enc_truncate(wb_enc *e, const wbe_head *h, const wbe_txn *t,
				 uint32_t relid, uint64_t schema_version, uint32_t flags)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 4 + 4 + 3);
	wbe_pack_head(e, &pk, h, WBE_TRUNCATE);
	wbe_txn_fields(e, &pk, t, true);
	wbe_kv_uint(&pk, K_RELID, relid);
	wbe_kv_uint(&pk, K_SV, schema_version);
	wbe_kv_uint(&pk, K_FLAGS, flags);
}

void
wbe_enc_message(wb_enc *e, const wbe_head *h, const wbe_txn *t,
				uint64_t lsn, const char *prefix, size_t prefix_len,
				const char *content, size_t content_len)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 4 + 4 + (t != NULL ? 4 : 0));
	wbe_pack_head(e, &pk, h, WBE_MESSAGE);
	wbe_key(&pk, K_TRANSACTIONAL);
	if (t != NULL)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	wbe_kv_uint(&pk, K_LSN, lsn);
	wbe_kv_str(e, &pk, K_PREFIX, prefix, prefix_len);
	wbe_key(&pk, K_CONTENT);
	wb_enc_v_bin(e, content, content_len);
	if (t != NULL)
		wbe_txn_fields(e, &pk, t, true);
}

void
wbe_enc_commit_start(wb_enc *e, const wbe_head *h, const wbe_txn *t,
					 uint64_t end_lsn, uint64_t first_seq, uint32_t nchanges,
					 uint32_t ntopics)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 4 + 3 + 4);
	wbe_pack_head(e, &pk, h, WBE_COMMIT);
	wbe_txn_fields(e, &pk, t, false);
	wbe_kv_uint(&pk, K_END_LSN, end_lsn);
	wbe_kv_uint(&pk, K_FIRST_SEQ, first_seq);
	wbe_kv_uint(&pk, K_CHANGES, nchanges);
	wbe_key(&pk, K_TOPICS);
	msgpack_pack_array(&pk, ntopics);
}

void
wbe_enc_commit_topic(wb_enc *e, const char *topic, size_t len,
					 uint64_t last_tseq, uint32_t count)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_array(&pk, 3);
	wb_pack_str(e, &pk, topic, len);
	msgpack_pack_uint64(&pk, last_tseq);
	msgpack_pack_uint32(&pk, count);
}

void
wbe_enc_heartbeat(wb_enc *e, const wbe_head *h, const wbe_heartbeat *hb)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_map(&pk, 4 + 4);
	wbe_pack_head(e, &pk, h, WBE_HEARTBEAT);
	wbe_kv_ts(e, &pk, K_TIME, hb->time);
	wbe_kv_uint(&pk, K_TXN_TSEQ, hb->txn_tseq);
	wbe_kv_uint(&pk, K_RECEIVED_LSN, hb->received_lsn);
	wbe_kv_uint(&pk, K_FLUSHED_LSN, hb->flushed_lsn);
}

/* ---------------------------------------------------------------- decoder */

const char *
wbe_kind_name(wbe_kind kind)
{
	switch (kind)
	{
		case WBE_INSERT:
			return "insert";
		case WBE_UPDATE:
			return "update";
		case WBE_DELETE:
			return "delete";
		case WBE_TRUNCATE:
			return "truncate";
		case WBE_MESSAGE:
			return "message";
		case WBE_COMMIT:
			return "commit";
		case WBE_HEARTBEAT:
			return "heartbeat";
	}
	return NULL;
}

static bool
wbe_kind_parse(wb_str s, wbe_kind *kind)
{
	static const wbe_kind all[] = {
		WBE_INSERT, WBE_UPDATE, WBE_DELETE, WBE_TRUNCATE, WBE_MESSAGE,
		WBE_COMMIT, WBE_HEARTBEAT
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (mpr_str_eq(s, wbe_kind_name(all[i])))
		{
			*kind = all[i];
			return true;
		}
	return false;
}

/* One bit per known key, to reject duplicates and find missing ones. */
enum
{
	F_RUN = 1 << 0,
	F_SEQ = 1 << 1,
	F_TSEQ = 1 << 2,
	F_KIND = 1 << 3,
	F_XID = 1 << 4,
	F_COMMIT_LSN = 1 << 5,
	F_COMMIT_TIME = 1 << 6,
	F_POS = 1 << 7,
	F_RELID = 1 << 8,
	F_SV = 1 << 9,
	F_VALUES = 1 << 10,
	F_KEY = 1 << 11,
	F_OLD_KEY = 1 << 12,
	F_FLAGS = 1 << 13,
	F_TRANSACTIONAL = 1 << 14,
	F_LSN = 1 << 15,
	F_PREFIX = 1 << 16,
	F_CONTENT = 1 << 17,
	F_END_LSN = 1 << 18,
	F_FIRST_SEQ = 1 << 19,
	F_CHANGES = 1 << 20,
	F_TOPICS = 1 << 21,
	F_TIME = 1 << 22,
	F_TXN_TSEQ = 1 << 23,
	F_RECEIVED_LSN = 1 << 24,
	F_FLUSHED_LSN = 1 << 25
};

#define F_HEAD	(F_RUN | F_SEQ | F_TSEQ | F_KIND)
#define F_TXN	(F_XID | F_COMMIT_LSN | F_COMMIT_TIME | F_POS)

static const struct
{
	const char *name;
	uint32_t	bit;
}			wbe_keys[] = {
	{K_RUN, F_RUN}, {K_SEQ, F_SEQ}, {K_TSEQ, F_TSEQ}, {K_KIND, F_KIND},
	{K_XID, F_XID}, {K_COMMIT_LSN, F_COMMIT_LSN},
	{K_COMMIT_TIME, F_COMMIT_TIME}, {K_POS, F_POS}, {K_RELID, F_RELID},
	{K_SV, F_SV}, {K_VALUES, F_VALUES}, {K_KEY, F_KEY},
	{K_OLD_KEY, F_OLD_KEY}, {K_FLAGS, F_FLAGS},
	{K_TRANSACTIONAL, F_TRANSACTIONAL}, {K_LSN, F_LSN},
	{K_PREFIX, F_PREFIX}, {K_CONTENT, F_CONTENT}, {K_END_LSN, F_END_LSN},
	{K_FIRST_SEQ, F_FIRST_SEQ}, {K_CHANGES, F_CHANGES},
	{K_TOPICS, F_TOPICS}, {K_TIME, F_TIME}, {K_TXN_TSEQ, F_TXN_TSEQ},
	{K_RECEIVED_LSN, F_RECEIVED_LSN}, {K_FLUSHED_LSN, F_FLUSHED_LSN}
};

static uint32_t
wbe_key_bit(wb_str key)
{
	for (size_t i = 0; i < sizeof(wbe_keys) / sizeof(wbe_keys[0]); i++)
		if (mpr_str_eq(key, wbe_keys[i].name))
			return wbe_keys[i].bit;
	return 0;
}

/* Keys each kind requires; others it allows are listed in wbe_allowed. */
static uint32_t
wbe_required(wbe_kind kind, bool transactional)
{
	switch (kind)
	{
		case WBE_INSERT:
		case WBE_UPDATE:
			return F_HEAD | F_TXN | F_RELID | F_SV | F_VALUES;
		case WBE_DELETE:
			return F_HEAD | F_TXN | F_RELID | F_SV | F_KEY;
		case WBE_TRUNCATE:
			return F_HEAD | F_TXN | F_RELID | F_SV | F_FLAGS;
		case WBE_MESSAGE:
			return F_HEAD | F_TRANSACTIONAL | F_LSN | F_PREFIX | F_CONTENT |
				(transactional ? F_TXN : 0);
		case WBE_COMMIT:
			return F_HEAD | F_XID | F_COMMIT_LSN | F_COMMIT_TIME |
				F_END_LSN | F_FIRST_SEQ | F_CHANGES | F_TOPICS;
		case WBE_HEARTBEAT:
			return F_HEAD | F_TIME | F_TXN_TSEQ | F_RECEIVED_LSN |
				F_FLUSHED_LSN;
	}
	return 0;
}

static uint32_t
wbe_allowed(wbe_kind kind, bool transactional)
{
	if (kind == WBE_UPDATE)
		return wbe_required(kind, transactional) | F_OLD_KEY;
	return wbe_required(kind, transactional);
}

static int
wbe_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t	ncap;
	void	   *p;

	if (need <= *cap)
		return WB_OK;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap = (ncap > UINT32_MAX / 2) ? need : ncap * 2;
	p = realloc(*arr, (size_t) ncap * elem);
	if (p == NULL)
		return WB_ENOMEM;
	*arr = p;
	*cap = ncap;
	return WB_OK;
}

static bool
wbe_read_values(wbe_dec *d, mpr *r, wbe_envelope *out, int *rc)
{
	uint32_t	n;

	if (!mpr_array(r, &n))
		return false;
	if (n > WB_MAX_COLUMNS)
		return mpr_fail(r, "%u values, more than %d columns", n,
						WB_MAX_COLUMNS);
	if ((*rc = wbe_grow((void **) &d->values, &d->values_cap, n,
						sizeof(wb_value))) != WB_OK)
		return mpr_fail(r, "out of memory for %u values", n);
	for (uint32_t i = 0; i < n; i++)
		if (!mpr_value(r, &d->values[i]))
			return false;
	out->nvalues = n;
	out->values = d->values;
	return true;
}

static bool
wbe_read_topics(wbe_dec *d, mpr *r, wbe_envelope *out, int *rc)
{
	uint32_t	n;
	uint32_t	m;

	if (!mpr_array(r, &n))
		return false;
	if ((*rc = wbe_grow((void **) &d->topics, &d->topics_cap, n,
						sizeof(wbe_txn_topic))) != WB_OK)
		return mpr_fail(r, "out of memory for %u topics", n);
	for (uint32_t i = 0; i < n; i++)
	{
		wbe_txn_topic *t = &d->topics[i];

		if (!mpr_array(r, &m))
			return false;
		if (m != 3)
			return mpr_fail(r, "topic entry of %u elements, expected 3", m);
		if (!mpr_str(r, &t->topic) || !mpr_uint(r, &t->last_tseq) ||
			!mpr_uint32(r, &t->count))
			return false;
	}
	out->ntopics = n;
	out->topics = d->topics;
	return true;
}

/* Read the value of one known key into out. */
static bool
wbe_read_field(wbe_dec *d, mpr *r, uint32_t bit, wbe_envelope *out, int *rc)
{
	wb_str		s;

	switch (bit)
	{
		case F_RUN:
			return mpr_uint(r, &out->head.run);
		case F_SEQ:
			return mpr_uint(r, &out->head.seq);
		case F_TSEQ:
			return mpr_uint(r, &out->head.tseq);
		case F_KIND:
			if (!mpr_str(r, &s))
				return false;
			if (!wbe_kind_parse(s, &out->kind))
				return mpr_fail(r, "unknown kind \"%.*s\"",
								(int) (s.len > 32 ? 32 : s.len), s.ptr);
			return true;
		case F_XID:
			return mpr_uint32(r, &out->txn.xid);
		case F_COMMIT_LSN:
			return mpr_uint(r, &out->txn.commit_lsn);
		case F_COMMIT_TIME:
			return mpr_timestamp(r, &out->txn.commit_time);
		case F_POS:
			return mpr_uint32(r, &out->txn.pos);
		case F_RELID:
			return mpr_uint32(r, &out->relid);
		case F_SV:
			return mpr_uint(r, &out->schema_version);
		case F_VALUES:
			return wbe_read_values(d, r, out, rc);
		case F_KEY:
			out->has_key = true;
			return mpr_value(r, &out->key);
		case F_OLD_KEY:
			out->has_old_key = true;
			return mpr_value(r, &out->old_key);
		case F_FLAGS:
			return mpr_uint32(r, &out->truncate_flags);
		case F_TRANSACTIONAL:
			return mpr_bool(r, &out->transactional);
		case F_LSN:
			return mpr_uint(r, &out->msg_lsn);
		case F_PREFIX:
			return mpr_str(r, &out->prefix);
		case F_CONTENT:
			return mpr_bin(r, &out->content);
		case F_END_LSN:
			return mpr_uint(r, &out->end_lsn);
		case F_FIRST_SEQ:
			return mpr_uint(r, &out->first_seq);
		case F_CHANGES:
			return mpr_uint32(r, &out->nchanges);
		case F_TOPICS:
			return wbe_read_topics(d, r, out, rc);
		case F_TIME:
			return mpr_timestamp(r, &out->hb.time);
		case F_TXN_TSEQ:
			return mpr_uint(r, &out->hb.txn_tseq);
		case F_RECEIVED_LSN:
			return mpr_uint(r, &out->hb.received_lsn);
		case F_FLUSHED_LSN:
			return mpr_uint(r, &out->hb.flushed_lsn);
	}
	return mpr_skip(r);
}

void
wbe_dec_init(wbe_dec *d)
{
	memset(d, 0, sizeof(*d));
}

void
wbe_dec_free(wbe_dec *d)
{
	free(d->values);
	free(d->topics);
	memset(d, 0, sizeof(*d));
}

int
wbe_decode(wbe_dec *d, const void *buf, size_t len, wbe_envelope *out)
{
	const char *sep = memchr(buf, '\0', len);
	mpr			r;
	uint32_t	npairs;
	uint32_t	seen = 0;
	uint32_t	required;
	int			rc = WB_OK;

	memset(out, 0, sizeof(*out));
	d->errmsg[0] = '\0';
	if (sep == NULL || sep == (const char *) buf)
	{
		snprintf(d->errmsg, sizeof(d->errmsg),
				 "no topic: a bus message starts with a topic and a NUL");
		return WB_EMALFORMED;
	}
	out->topic.ptr = buf;
	out->topic.len = (uint32_t) (sep - (const char *) buf);

	mpr_init(&r, sep + 1, len - out->topic.len - 1);
	if (mpr_map(&r, &npairs))
	{
		for (uint32_t i = 0; i < npairs && !r.failed; i++)
		{
			wb_str		key;
			uint32_t	bit;

			if (!mpr_str(&r, &key))
				break;
			bit = wbe_key_bit(key);
			if (bit & seen)
			{
				mpr_fail(&r, "key \"%.*s\" repeated", (int) key.len, key.ptr);
				break;
			}
			seen |= bit;
			wbe_read_field(d, &r, bit, out, &rc);
		}
	}
	if (!r.failed && mpr_left(&r) != 0)
		mpr_fail(&r, "%zu bytes after the envelope", mpr_left(&r));
	if (!r.failed && !(seen & F_KIND))
		mpr_fail(&r, "no \"kind\"");
	if (!r.failed)
	{
		required = wbe_required(out->kind, out->transactional);
		if ((seen & required) != required)
			mpr_fail(&r, "%s envelope lacks a required key (have 0x%x, "
					 "need 0x%x)", wbe_kind_name(out->kind), seen, required);
		else if (seen & ~wbe_allowed(out->kind, out->transactional))
			mpr_fail(&r, "%s envelope has a key of another kind (0x%x)",
					 wbe_kind_name(out->kind),
					 seen & ~wbe_allowed(out->kind, out->transactional));
	}
	if (r.failed)
	{
		snprintf(d->errmsg, sizeof(d->errmsg), "topic \"%.*s\": %s",
				 (int) (out->topic.len > 64 ? 64 : out->topic.len),
				 out->topic.ptr, r.errmsg);
		return rc != WB_OK ? rc : WB_EMALFORMED;
	}
	out->in_txn = (seen & F_COMMIT_LSN) != 0;
	return WB_OK;
}
