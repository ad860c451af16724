/*-------------------------------------------------------------------------
 *
 * envelope.c
 *	  Encoder and decoder of bus frames, layout 2 (docs/PROTOCOL.md Part 2);
 *	  see walbus_envelope.h for the contract.
 *
 * The encoder packs with msgpack-c's header-only packer through the write
 * callback of wb_pack.h (the wb_enc sticky-error contract), and writes
 * column values with the proto library's wb_enc_value, or splices bytes the
 * record decoder validated, so that values on the bus have exactly the
 * plugin's encoding (PROTOCOL.md §5).  It refuses, by failing the encoder,
 * what its own decoder would reject.
 *
 * The decoder is built on the bounded reader in mpread.c.  It reads the map
 * in any key order, so what a "changes" array may hold is decided by the
 * topic (known before the map), and what depends on other keys (the kind,
 * "transactional") is checked once the whole map has been read.
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_envelope.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_pack.h"

#include "mpread.h"

/* Map keys.  Short words: they are repeated in every frame. */
#define K_RUN			"run"
#define K_SEQ			"seq"
#define K_TSEQ			"tseq"
#define K_KIND			"kind"
#define K_XID			"xid"
#define K_COMMIT_LSN	"commit_lsn"
#define K_COMMIT_TIME	"commit_time"
#define K_RELID			"relid"
#define K_SV			"schema_version"
#define K_TRANSACTIONAL "transactional"
#define K_PREFIX		"prefix"
#define K_CHANGES		"changes"
#define K_END_LSN		"end_lsn"
#define K_FIRST_SEQ		"first_seq"
#define K_FRAMES		"frames"
#define K_LAST_POS		"last_pos"
#define K_TOPICS		"topics"
#define K_TIME			"time"
#define K_TXN_TSEQ		"txn_tseq"
#define K_RECEIVED_LSN	"received_lsn"
#define K_FLUSHED_LSN	"flushed_lsn"

/* Names of the frame kinds, the values of "kind". */
#define FK_CHANGES	 "changes"
#define FK_COMMIT	 "commit"
#define FK_HEARTBEAT "heartbeat"

/*
 * run and schema_version stay below 2^53 so that they are exact in every
 * msgpack library (JavaScript's numbers among them), and are never 0, which
 * consumers use for "none".
 */
#define WBE_ID_LIMIT (UINT64_C(1) << 53)

/* msgpack's array32 marker: the changes array's fixed-width header. */
#define WBE_ARRAY32 0xdd

/*
 * The smallest change: a fixarray header and three one-byte elements (kind,
 * pos, and an empty values array, a nil key or small flags).  A declared
 * count of changes is checked against the bytes left with it before the
 * changes array is allocated.
 */
#define WBE_MIN_CHANGE_BYTES 4

/* The smallest commit topic entry: fixarray, fixstr "", two fixints. */
#define WBE_MIN_TOPIC_BYTES 4

static inline bool
wbe_id_ok(uint64_t v)
{
	return v != 0 && v < WBE_ID_LIMIT;
}

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
	bool quote = wbe_name_needs_quotes(name, len);

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
	size_t n = 0;

	wbe_put_name(dst, cap, &n, schema, schema_len);
	wbe_put(dst, cap, &n, '.');
	wbe_put_name(dst, cap, &n, table, table_len);
	return wbe_terminate(dst, cap, n);
}

size_t
wbe_topic_schema(char *dst, size_t cap, const char *schema, size_t schema_len)
{
	size_t n = 0;

	wbe_put_name(dst, cap, &n, schema, schema_len);
	wbe_put(dst, cap, &n, '.');
	return wbe_terminate(dst, cap, n);
}

size_t
wbe_topic_message(char *dst, size_t cap, const char *prefix, size_t prefix_len)
{
	size_t n = 0;

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
	size_t len = strlen(key);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, key, len);
}

static void
wbe_kv_str(wb_enc *e, msgpack_packer *pk, const char *key, const char *s,
		   size_t len)
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

/* The head and the frame's kind: 4 map entries (the caller checked run). */
static void
wbe_pack_head(wb_enc *e, msgpack_packer *pk, const wbe_head *h,
			  const char *kind)
{
	wbe_kv_uint(pk, K_RUN, h->run);
	wbe_kv_uint(pk, K_SEQ, h->seq);
	wbe_kv_uint(pk, K_TSEQ, h->tseq);
	wbe_kv_str(e, pk, K_KIND, kind, strlen(kind));
}

/* The transaction: 3 map entries. */
static void
wbe_txn_fields(wb_enc *e, msgpack_packer *pk, const wbe_txn *t)
{
	wbe_kv_uint(pk, K_XID, t->xid);
	wbe_kv_uint(pk, K_COMMIT_LSN, t->commit_lsn);
	wbe_kv_ts(e, pk, K_COMMIT_TIME, t->commit_time);
}

/*
 * The key "changes" and its array header, always the 5-byte array32 form
 * so that the caller can patch the count in place when the frame closes.
 */
static void
wbe_changes_header(wb_enc *e, msgpack_packer *pk)
{
	static const char hdr[WBE_CHANGES_HDR_LEN] = {(char) WBE_ARRAY32};

	wbe_key(pk, K_CHANGES);
	wb_enc_write_sticky(e, hdr, sizeof(hdr));
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
wbe_enc_frame_table(wb_enc *e, const wbe_head *h, const wbe_txn *t,
					uint32_t relid, uint64_t schema_version)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	/* every change of a table belongs to a transaction */
	if (!wbe_id_ok(h->run) || t == NULL || !wbe_id_ok(schema_version))
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 4 + 3 + 2 + 1);
	wbe_pack_head(e, &pk, h, FK_CHANGES);
	wbe_txn_fields(e, &pk, t);
	wbe_kv_uint(&pk, K_RELID, relid);
	wbe_kv_uint(&pk, K_SV, schema_version);
	wbe_changes_header(e, &pk);
}

void
wbe_enc_frame_messages(wb_enc *e, const wbe_head *h, const wbe_txn *t,
					   const char *prefix, size_t prefix_len)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	if (!wbe_id_ok(h->run) || prefix == NULL)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 4 + 2 + (t != NULL ? 3 : 0) + 1);
	wbe_pack_head(e, &pk, h, FK_CHANGES);
	wbe_key(&pk, K_TRANSACTIONAL);
	if (t != NULL)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	wbe_kv_str(e, &pk, K_PREFIX, prefix, prefix_len);
	if (t != NULL)
		wbe_txn_fields(e, &pk, t);
	wbe_changes_header(e, &pk);
}

void
wbe_enc_frame_schema(wb_enc *e, const wbe_head *h, const wbe_txn *t,
					 uint32_t relid)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	/* an event is part of the transaction whose change it precedes */
	if (!wbe_id_ok(h->run) || t == NULL)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 4 + 3 + 1 + 1);
	wbe_pack_head(e, &pk, h, FK_CHANGES);
	wbe_txn_fields(e, &pk, t);
	wbe_kv_uint(&pk, K_RELID, relid);
	wbe_changes_header(e, &pk);
}

void
wbe_patch_changes_count(void *hdr, uint32_t nchanges)
{
	uint8_t *p = hdr;

	/* p[0] stays the array32 marker the encoder wrote */
	p[1] = (uint8_t) (nchanges >> 24);
	p[2] = (uint8_t) (nchanges >> 16);
	p[3] = (uint8_t) (nchanges >> 8);
	p[4] = (uint8_t) nchanges;
}

/* Elements after kind and pos that the decoder accepts for each kind. */
static bool
wbe_change_shape_ok(wbe_kind kind, uint32_t nrest)
{
	switch (kind)
	{
		case WBE_UPDATE:
			return nrest == 1 || nrest == 2;
		case WBE_INSERT:
		case WBE_DELETE:
		case WBE_TRUNCATE:
			return nrest == 1;
		case WBE_MESSAGE:
			return nrest == 2;
		case WBE_SCHEMA:
		case WBE_READ:
		case WBE_BACKFILL:
			return nrest == 1;
		case WBE_COMMIT:
		case WBE_HEARTBEAT:
			break;
	}
	return false;
}

void
wbe_enc_change_start(wb_enc *e, wbe_kind kind, uint32_t pos, uint32_t nrest)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	if (!wbe_change_shape_ok(kind, nrest))
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_array(&pk, 2 + nrest);
	/* the letter is below 128: a positive fixint, as in the records */
	msgpack_pack_uint8(&pk, (uint8_t) kind);
	msgpack_pack_uint32(&pk, pos);
}

void
wbe_enc_values_start(wb_enc *e, uint32_t nvalues)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	msgpack_pack_array(&pk, nvalues);
}

void
wbe_enc_raw(wb_enc *e, const void *bytes, size_t len)
{
	if (e->failed || len == 0)
		return;
	wb_enc_write_sticky(e, bytes, len);
}

void
wbe_enc_truncate(wb_enc *e, uint32_t pos, uint32_t flags)
{
	WB_PACKER(pk, e);

	wbe_enc_change_start(e, WBE_TRUNCATE, pos, 1);
	if (e->failed)
		return;
	msgpack_pack_uint32(&pk, flags);
}

void
wbe_enc_message(wb_enc *e, uint32_t pos, uint64_t lsn, const char *content,
				size_t content_len)
{
	WB_PACKER(pk, e);

	wbe_enc_change_start(e, WBE_MESSAGE, pos, 2);
	if (e->failed)
		return;
	msgpack_pack_uint64(&pk, lsn);
	wb_enc_v_bin(e, content, content_len);
}

void
wbe_enc_commit_start(wb_enc *e, const wbe_head *h, const wbe_txn *t,
					 uint64_t end_lsn, uint64_t first_seq, uint32_t nframes,
					 uint32_t last_pos, uint32_t ntopics)
{
	WB_PACKER(pk, e);

	if (e->failed)
		return;
	if (!wbe_id_ok(h->run) || t == NULL)
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 4 + 3 + 5);
	wbe_pack_head(e, &pk, h, FK_COMMIT);
	wbe_txn_fields(e, &pk, t);
	wbe_kv_uint(&pk, K_END_LSN, end_lsn);
	wbe_kv_uint(&pk, K_FIRST_SEQ, first_seq);
	wbe_kv_uint(&pk, K_FRAMES, nframes);
	wbe_kv_uint(&pk, K_LAST_POS, last_pos);
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
	if (!wbe_id_ok(h->run))
	{
		e->failed = 1;
		return;
	}
	msgpack_pack_map(&pk, 4 + 4);
	wbe_pack_head(e, &pk, h, FK_HEARTBEAT);
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
		case WBE_SCHEMA:
			return "schema";
		case WBE_READ:
			return "read";
		case WBE_BACKFILL:
			return "backfill";
		case WBE_COMMIT:
			return "commit";
		case WBE_HEARTBEAT:
			return "heartbeat";
	}
	return NULL;
}

static const char *
wbe_frame_kind_name(wbe_frame_kind kind)
{
	switch (kind)
	{
		case WBE_FRAME_CHANGES:
			return FK_CHANGES;
		case WBE_FRAME_COMMIT:
			return FK_COMMIT;
		case WBE_FRAME_HEARTBEAT:
			return FK_HEARTBEAT;
	}
	return "?";
}

/* What a topic may carry, decided from its bytes before the map is read. */
typedef enum wbe_topic_class
{
	TC_TABLE,	  /* "schema.table": changes of a table */
	TC_MESSAGE,	  /* "_msg.prefix": logical messages */
	TC_TXN,		  /* "_txn": commit frames */
	TC_HEARTBEAT, /* "_hb": heartbeats */
	TC_SCHEMA,	  /* "_schema": schema events */
	TC_BACKFILL,  /* "_backfill": backfill events */
	TC_RESERVED	  /* any other '_' topic: nothing known */
} wbe_topic_class;

static wbe_topic_class
wbe_classify_topic(wb_str topic)
{
	size_t mlen = strlen(WBE_TOPIC_MSG_PREFIX);

	if (topic.ptr[0] != WBE_TOPIC_RESERVED)
		return TC_TABLE;
	if (topic.len >= mlen &&
		memcmp(topic.ptr, WBE_TOPIC_MSG_PREFIX, mlen) == 0)
		return TC_MESSAGE;
	if (mpr_str_eq(topic, WBE_TOPIC_TXN))
		return TC_TXN;
	if (mpr_str_eq(topic, WBE_TOPIC_HEARTBEAT))
		return TC_HEARTBEAT;
	if (mpr_str_eq(topic, WBE_TOPIC_SCHEMA))
		return TC_SCHEMA;
	if (mpr_str_eq(topic, WBE_TOPIC_BACKFILL))
		return TC_BACKFILL;
	return TC_RESERVED;
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
	F_RELID = 1 << 7,
	F_SV = 1 << 8,
	F_TRANSACTIONAL = 1 << 9,
	F_PREFIX = 1 << 10,
	F_CHANGES = 1 << 11,
	F_END_LSN = 1 << 12,
	F_FIRST_SEQ = 1 << 13,
	F_FRAMES = 1 << 14,
	F_LAST_POS = 1 << 15,
	F_TOPICS = 1 << 16,
	F_TIME = 1 << 17,
	F_TXN_TSEQ = 1 << 18,
	F_RECEIVED_LSN = 1 << 19,
	F_FLUSHED_LSN = 1 << 20
};

#define F_HEAD (F_RUN | F_SEQ | F_TSEQ | F_KIND)
#define F_TXN  (F_XID | F_COMMIT_LSN | F_COMMIT_TIME)

/* clang-format off */
static const struct
{
	const char *name;
	uint32_t	bit;
}			wbe_keys[] = {
	{K_RUN, F_RUN}, {K_SEQ, F_SEQ}, {K_TSEQ, F_TSEQ}, {K_KIND, F_KIND},
	{K_XID, F_XID}, {K_COMMIT_LSN, F_COMMIT_LSN},
	{K_COMMIT_TIME, F_COMMIT_TIME}, {K_RELID, F_RELID}, {K_SV, F_SV},
	{K_TRANSACTIONAL, F_TRANSACTIONAL}, {K_PREFIX, F_PREFIX},
	{K_CHANGES, F_CHANGES}, {K_END_LSN, F_END_LSN},
	{K_FIRST_SEQ, F_FIRST_SEQ}, {K_FRAMES, F_FRAMES},
	{K_LAST_POS, F_LAST_POS}, {K_TOPICS, F_TOPICS}, {K_TIME, F_TIME},
	{K_TXN_TSEQ, F_TXN_TSEQ}, {K_RECEIVED_LSN, F_RECEIVED_LSN},
	{K_FLUSHED_LSN, F_FLUSHED_LSN}
};
/* clang-format on */

static uint32_t
wbe_key_bit(wb_str key)
{
	for (size_t i = 0; i < sizeof(wbe_keys) / sizeof(wbe_keys[0]); i++)
		if (mpr_str_eq(key, wbe_keys[i].name))
			return wbe_keys[i].bit;
	return 0;
}

/* The name of the lowest key in bits, for error messages. */
static const char *
wbe_key_name(uint32_t bits)
{
	for (size_t i = 0; i < sizeof(wbe_keys) / sizeof(wbe_keys[0]); i++)
		if (bits & wbe_keys[i].bit)
			return wbe_keys[i].name;
	return "?";
}

/*
 * Keys a frame requires, which are also all the known keys it allows:
 * a known key of another kind is rejected rather than ignored, since it
 * means the producer and this decoder disagree about the frame.
 */
static uint32_t
wbe_required(wbe_frame_kind kind, wbe_topic_class tc, bool transactional)
{
	switch (kind)
	{
		case WBE_FRAME_CHANGES:
			if (tc == TC_MESSAGE)
				return F_HEAD | F_TRANSACTIONAL | F_PREFIX | F_CHANGES |
					(transactional ? F_TXN : 0);
			if (tc == TC_SCHEMA || tc == TC_BACKFILL)
				return F_HEAD | F_TXN | F_RELID | F_CHANGES;
			return F_HEAD | F_TXN | F_RELID | F_SV | F_CHANGES;
		case WBE_FRAME_COMMIT:
			return F_HEAD | F_TXN | F_END_LSN | F_FIRST_SEQ | F_FRAMES |
				F_LAST_POS | F_TOPICS;
		case WBE_FRAME_HEARTBEAT:
			return F_HEAD | F_TIME | F_TXN_TSEQ | F_RECEIVED_LSN |
				F_FLUSHED_LSN;
	}
	return 0;
}

/* State of one wbe_decode call. */
typedef struct wbe_parse
{
	wbe_dec		   *d;
	mpr				r;
	wbe_frame	   *out;
	wbe_topic_class tc;
	uint32_t		nvalues; /* values used in d->values so far */
	int				rc;		 /* WB_ENOMEM when an allocation failed */
} wbe_parse;

/*
 * Put context in front of the reader's error message ("change 3: ..."), so
 * that the message says where, not only what.
 */
static bool wbe_where(mpr *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool
wbe_where(mpr *r, const char *fmt, ...)
{
	char	where[48];
	char	what[sizeof(r->errmsg)];
	size_t	used;
	size_t	wlen;
	va_list ap;

	if (!r->failed)
		return true;
	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	memcpy(what, r->errmsg, sizeof(what));
	/* where fits; the end of what gives way if both do not */
	used = (size_t) snprintf(r->errmsg, sizeof(r->errmsg), "%s: ", where);
	wlen = strnlen(what, sizeof(r->errmsg) - 1 - used);
	memcpy(r->errmsg + used, what, wlen);
	r->errmsg[used + wlen] = '\0';
	return false;
}

static int
wbe_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap;
	void	*p;

	if (need <= *cap)
		return WB_OK;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap = (ncap > UINT32_MAX / 2) ? need : ncap * 2;
	if ((size_t) ncap > SIZE_MAX / elem)
		return WB_ENOMEM;
	p = realloc(*arr, (size_t) ncap * elem);
	if (p == NULL)
		return WB_ENOMEM;
	*arr = p;
	*cap = ncap;
	return WB_OK;
}

/*
 * The values array of an insert or update, appended to d->values.  The
 * change records only the count: the array may move while later changes
 * grow it, so wbe_decode points each change at its values once the whole
 * frame has been read.
 */
static bool
wbe_read_values(wbe_parse *ps, wbe_change *c, uint32_t idx)
{
	mpr		*r = &ps->r;
	uint32_t n;

	if (!mpr_array(r, &n))
		return wbe_where(r, "change %u, values", idx);
	if (n > WB_MAX_COLUMNS)
		return mpr_fail(r,
						"change %u has %u values, more than %d "
						"(the most columns a row can have)",
						idx, n, WB_MAX_COLUMNS);
	/* cannot happen below 4 GiB of input, but must not wrap */
	if ((uint64_t) ps->nvalues + n > UINT32_MAX)
		return mpr_fail(r, "more than %u values in a frame", UINT32_MAX);
	if ((ps->rc = wbe_grow((void **) &ps->d->values, &ps->d->values_cap,
						   ps->nvalues + n, sizeof(wb_value))) != WB_OK)
		return mpr_fail(r, "out of memory for %u values", ps->nvalues + n);
	for (uint32_t i = 0; i < n; i++)
		if (!mpr_value(r, &ps->d->values[ps->nvalues + i]))
			return wbe_where(r, "change %u, value %u", idx, i);
	ps->nvalues += n;
	c->nvalues = n;
	return true;
}

/* Which change kinds a topic may carry. */
static bool
wbe_kind_on_topic(wbe_topic_class tc, uint64_t kind)
{
	switch (kind)
	{
		case WBE_INSERT:
		case WBE_UPDATE:
		case WBE_DELETE:
		case WBE_TRUNCATE:
		case WBE_READ:
			return tc == TC_TABLE;
		case WBE_MESSAGE:
			return tc == TC_MESSAGE;
		case WBE_SCHEMA:
			return tc == TC_SCHEMA;
		case WBE_BACKFILL:
			return tc == TC_BACKFILL;
	}
	return false;
}

/* A topic's class, as error messages about its changes name it. */
static const char *
wbe_topic_class_name(wbe_topic_class tc)
{
	if (tc == TC_TABLE)
		return "table";
	if (tc == TC_SCHEMA)
		return "schema";
	if (tc == TC_BACKFILL)
		return "backfill";
	return "message";
}

/* One change array: ['I', pos, values] and the other shapes of the header. */
static bool
wbe_read_change(wbe_parse *ps, wbe_change *c, uint32_t idx)
{
	mpr		*r = &ps->r;
	uint32_t m;
	uint64_t kind;

	memset(c, 0, sizeof(*c));
	if (!mpr_array(r, &m))
		return wbe_where(r, "change %u", idx);
	/* kind, pos, and one or two elements the kind decides */
	if (m < 3 || m > 4)
		return mpr_fail(r, "change %u: array of %u elements", idx, m);
	if (!mpr_uint(r, &kind))
		return wbe_where(r, "change %u", idx);
	if (kind != WBE_INSERT && kind != WBE_UPDATE && kind != WBE_DELETE &&
		kind != WBE_TRUNCATE && kind != WBE_MESSAGE && kind != WBE_SCHEMA &&
		kind != WBE_READ && kind != WBE_BACKFILL)
		return mpr_fail(r, "change %u: unknown kind %llu", idx,
						(unsigned long long) kind);
	c->kind = (wbe_kind) kind;
	if (!wbe_kind_on_topic(ps->tc, kind))
		return mpr_fail(r, "change %u: %s on a %s topic", idx,
						wbe_kind_name(c->kind), wbe_topic_class_name(ps->tc));
	if (!wbe_change_shape_ok(c->kind, m - 2))
		return mpr_fail(r, "change %u: %s of %u elements", idx,
						wbe_kind_name(c->kind), m);
	if (!mpr_uint32(r, &c->pos))
		return wbe_where(r, "change %u, pos", idx);

	switch (c->kind)
	{
		case WBE_INSERT:
		case WBE_UPDATE:
		case WBE_READ:
			if (!wbe_read_values(ps, c, idx))
				return false;
			if (m == 4)
			{
				c->has_old_key = true;
				if (!mpr_value(r, &c->old_key))
					return wbe_where(r, "change %u, old key", idx);
			}
			return true;
		case WBE_DELETE:
			c->has_key = true;
			if (!mpr_value(r, &c->key))
				return wbe_where(r, "change %u, key", idx);
			return true;
		case WBE_TRUNCATE:
			if (!mpr_uint32(r, &c->truncate_flags))
				return wbe_where(r, "change %u, flags", idx);
			return true;
		case WBE_MESSAGE:
			if (!mpr_uint(r, &c->msg_lsn))
				return wbe_where(r, "change %u, lsn", idx);
			if (!mpr_bin(r, &c->content))
				return wbe_where(r, "change %u, content", idx);
			return true;
		case WBE_SCHEMA:
		case WBE_BACKFILL:
		{
			/* validated as a whole here, read by its own decoder */
			const uint8_t *start = r->p;

			if (mpr_peek(r) != MPR_MAP)
				return mpr_fail(r, "change %u: a %s event is a map", idx,
								wbe_kind_name(c->kind));
			if (!mpr_skip(r))
				return wbe_where(r, "change %u, event", idx);
			c->content.ptr = (const char *) start;
			c->content.len = (uint32_t) (r->p - start);
			return true;
		}
		case WBE_COMMIT:
		case WBE_HEARTBEAT:
			break; /* not change kinds: refused above */
	}
	return mpr_fail(r, "change %u: kind %d", idx, (int) c->kind);
}

/* The "changes" array: at least one change, increasing positions. */
static bool
wbe_read_changes(wbe_parse *ps)
{
	mpr		*r = &ps->r;
	wbe_dec *d = ps->d;
	uint32_t n;

	if (ps->tc != TC_TABLE && ps->tc != TC_MESSAGE && ps->tc != TC_SCHEMA &&
		ps->tc != TC_BACKFILL)
		return mpr_fail(r, "\"changes\" on a topic that carries none");
	if (!mpr_array(r, &n))
		return false;
	if (n == 0)
		return mpr_fail(r, "no changes");
	if (n > mpr_left(r) / WBE_MIN_CHANGE_BYTES)
		return mpr_fail(r, "%u changes in %zu bytes", n, mpr_left(r));
	if ((ps->rc = wbe_grow((void **) &d->changes, &d->changes_cap, n,
						   sizeof(wbe_change))) != WB_OK)
		return mpr_fail(r, "out of memory for %u changes", n);
	for (uint32_t i = 0; i < n; i++)
	{
		if (!wbe_read_change(ps, &d->changes[i], i))
			return false;
		if (i > 0 && d->changes[i].pos <= d->changes[i - 1].pos)
			return mpr_fail(r,
							"change %u has pos %u after pos %u: "
							"positions in a frame increase",
							i, d->changes[i].pos, d->changes[i - 1].pos);
	}
	ps->out->nchanges = n;
	ps->out->changes = d->changes;
	return true;
}

static bool
wbe_read_topics(wbe_parse *ps)
{
	mpr		*r = &ps->r;
	wbe_dec *d = ps->d;
	uint32_t n;
	uint32_t m;

	if (!mpr_array(r, &n))
		return false;
	if (n > mpr_left(r) / WBE_MIN_TOPIC_BYTES)
		return mpr_fail(r, "%u topics in %zu bytes", n, mpr_left(r));
	if ((ps->rc = wbe_grow((void **) &d->topics, &d->topics_cap, n,
						   sizeof(wbe_txn_topic))) != WB_OK)
		return mpr_fail(r, "out of memory for %u topics", n);
	for (uint32_t i = 0; i < n; i++)
	{
		wbe_txn_topic *t = &d->topics[i];

		if (!mpr_array(r, &m))
			return wbe_where(r, "topic entry %u", i);
		if (m != 3)
			return mpr_fail(r, "topic entry %u of %u elements, expected 3", i,
							m);
		if (!mpr_str(r, &t->topic) || !mpr_uint(r, &t->last_tseq) ||
			!mpr_uint32(r, &t->count))
			return wbe_where(r, "topic entry %u", i);
	}
	ps->out->ntopics = n;
	ps->out->topics = d->topics;
	return true;
}

static bool
wbe_read_kind(mpr *r, wbe_frame_kind *kind)
{
	static const char *const layout1[] = {"insert", "update", "delete",
										  "truncate", "message"};
	wb_str					 s;

	if (!mpr_str(r, &s))
		return false;
	if (mpr_str_eq(s, FK_CHANGES))
		*kind = WBE_FRAME_CHANGES;
	else if (mpr_str_eq(s, FK_COMMIT))
		*kind = WBE_FRAME_COMMIT;
	else if (mpr_str_eq(s, FK_HEARTBEAT))
		*kind = WBE_FRAME_HEARTBEAT;
	else
	{
		/* say so when a relay of the previous layout is on the bus */
		for (size_t i = 0; i < sizeof(layout1) / sizeof(layout1[0]); i++)
			if (mpr_str_eq(s, layout1[i]))
				return mpr_fail(r,
								"kind \"%s\" is of bus layout 1; this "
								"decoder reads layout %d",
								layout1[i], WBE_LAYOUT);
		return mpr_fail(r, "unknown kind \"%.*s\"",
						(int) (s.len > 32 ? 32 : s.len), s.ptr);
	}
	return true;
}

/* run and schema_version: 1 .. 2^53 - 1. */
static bool
wbe_read_id(mpr *r, uint64_t *v)
{
	if (!mpr_uint(r, v))
		return false;
	if (!wbe_id_ok(*v))
		return mpr_fail(r, "%llu is not in 1 .. 2^53-1",
						(unsigned long long) *v);
	return true;
}

/* Read the value of one known key into the frame. */
static bool
wbe_read_field(wbe_parse *ps, uint32_t bit)
{
	mpr		  *r = &ps->r;
	wbe_frame *out = ps->out;

	switch (bit)
	{
		case F_RUN:
			return wbe_read_id(r, &out->head.run);
		case F_SEQ:
			return mpr_uint(r, &out->head.seq);
		case F_TSEQ:
			return mpr_uint(r, &out->head.tseq);
		case F_KIND:
			return wbe_read_kind(r, &out->kind);
		case F_XID:
			return mpr_uint32(r, &out->txn.xid);
		case F_COMMIT_LSN:
			return mpr_uint(r, &out->txn.commit_lsn);
		case F_COMMIT_TIME:
			return mpr_timestamp(r, &out->txn.commit_time);
		case F_RELID:
			return mpr_uint32(r, &out->relid);
		case F_SV:
			return wbe_read_id(r, &out->schema_version);
		case F_TRANSACTIONAL:
			return mpr_bool(r, &out->transactional);
		case F_PREFIX:
			return mpr_str(r, &out->prefix);
		case F_CHANGES:
			return wbe_read_changes(ps);
		case F_END_LSN:
			return mpr_uint(r, &out->end_lsn);
		case F_FIRST_SEQ:
			return mpr_uint(r, &out->first_seq);
		case F_FRAMES:
			return mpr_uint32(r, &out->nframes);
		case F_LAST_POS:
			return mpr_uint32(r, &out->last_pos);
		case F_TOPICS:
			return wbe_read_topics(ps);
		case F_TIME:
			return mpr_timestamp(r, &out->hb.time);
		case F_TXN_TSEQ:
			return mpr_uint(r, &out->hb.txn_tseq);
		case F_RECEIVED_LSN:
			return mpr_uint(r, &out->hb.received_lsn);
		case F_FLUSHED_LSN:
			return mpr_uint(r, &out->hb.flushed_lsn);
	}
	/* a key this layout does not know: a newer relay's addition */
	return mpr_skip(r);
}

/*
 * What needs the whole map: the kind against the topic, the key set of the
 * kind, and the positions, whose rule depends on "transactional".
 */
static bool
wbe_check_frame(wbe_parse *ps, uint32_t seen)
{
	mpr		  *r = &ps->r;
	wbe_frame *out = ps->out;
	uint32_t   required;
	bool	   topic_ok;

	if (!(seen & F_KIND))
		return mpr_fail(r, "no \"kind\"");
	switch (out->kind)
	{
		case WBE_FRAME_CHANGES:
			topic_ok = ps->tc == TC_TABLE || ps->tc == TC_MESSAGE ||
				ps->tc == TC_SCHEMA || ps->tc == TC_BACKFILL;
			break;
		case WBE_FRAME_COMMIT:
			topic_ok = ps->tc == TC_TXN;
			break;
		case WBE_FRAME_HEARTBEAT:
			topic_ok = ps->tc == TC_HEARTBEAT;
			break;
		default:
			topic_ok = false;
			break;
	}
	if (!topic_ok)
		return mpr_fail(r, "a %s frame cannot be on this topic",
						wbe_frame_kind_name(out->kind));

	required = wbe_required(out->kind, ps->tc, out->transactional);
	if ((seen & required) != required)
		return mpr_fail(r, "%s frame lacks the key \"%s\"",
						wbe_frame_kind_name(out->kind),
						wbe_key_name(required & ~seen));
	if (seen & ~required)
		return mpr_fail(r, "%s frame has the key \"%s\" of another kind",
						wbe_frame_kind_name(out->kind),
						wbe_key_name(seen & ~required));

	if (out->kind != WBE_FRAME_CHANGES)
		return true;
	if (ps->tc == TC_MESSAGE && !out->transactional)
	{
		if (out->nchanges != 1 || out->changes[0].pos != WBE_POS_NONE)
			return mpr_fail(r,
							"a non-transactional message frame holds "
							"exactly one change, with pos 0 (has %u, the "
							"first with pos %u)",
							out->nchanges, out->changes[0].pos);
	}
	else if (out->changes[0].pos == WBE_POS_NONE)
		return mpr_fail(r, "pos 0 in a transaction (positions start at 1)");
	return true;
}

void
wbe_dec_init(wbe_dec *d)
{
	memset(d, 0, sizeof(*d));
}

void
wbe_dec_free(wbe_dec *d)
{
	free(d->changes);
	free(d->values);
	free(d->topics);
	memset(d, 0, sizeof(*d));
}

int
wbe_decode(wbe_dec *d, const void *buf, size_t len, wbe_frame *out)
{
	const char *sep = memchr(buf, '\0', len);
	wbe_parse	ps;
	mpr		   *r = &ps.r;
	uint32_t	npairs;
	uint32_t	seen = 0;
	uint32_t	off = 0;
	size_t		tlen;

	memset(out, 0, sizeof(*out));
	d->errmsg[0] = '\0';
	if (sep == NULL || sep == (const char *) buf)
	{
		snprintf(d->errmsg, sizeof(d->errmsg),
				 "no topic: a bus message starts with a topic and a NUL");
		return WB_EMALFORMED;
	}
	tlen = (size_t) (sep - (const char *) buf);
	/* wb_str holds 32 bits; a longer topic would shift the map's bounds */
	if (tlen > UINT32_MAX)
	{
		snprintf(d->errmsg, sizeof(d->errmsg), "topic of %zu bytes", tlen);
		return WB_EMALFORMED;
	}
	out->topic.ptr = buf;
	out->topic.len = (uint32_t) tlen;

	ps.d = d;
	ps.out = out;
	ps.tc = wbe_classify_topic(out->topic);
	ps.nvalues = 0;
	ps.rc = WB_OK;
	mpr_init(r, sep + 1, len - tlen - 1);
	if (mpr_map(r, &npairs))
	{
		for (uint32_t i = 0; i < npairs && !r->failed; i++)
		{
			wb_str	 key;
			uint32_t bit;

			if (!mpr_str(r, &key))
			{
				wbe_where(r, "key %u", i);
				break;
			}
			bit = wbe_key_bit(key);
			if (bit & seen)
			{
				mpr_fail(r, "key \"%.*s\" repeated", (int) key.len, key.ptr);
				break;
			}
			seen |= bit;
			if (!wbe_read_field(&ps, bit))
				wbe_where(r, "\"%.*s\"", (int) (key.len > 24 ? 24 : key.len),
						  key.ptr);
		}
	}
	if (!r->failed && mpr_left(r) != 0)
		mpr_fail(r, "%zu bytes after the frame", mpr_left(r));
	if (!r->failed)
		wbe_check_frame(&ps, seen);
	if (r->failed)
	{
		wb_str topic = out->topic;

		snprintf(d->errmsg, sizeof(d->errmsg), "topic \"%.*s\": %s",
				 (int) (topic.len > 48 ? 48 : topic.len), topic.ptr,
				 r->errmsg);
		/* rejected whole: no pointers into half-filled scratch arrays */
		memset(out, 0, sizeof(*out));
		out->topic = topic;
		return ps.rc != WB_OK ? ps.rc : WB_EMALFORMED;
	}

	/* d->values has stopped moving: point each row at its values */
	for (uint32_t i = 0; i < out->nchanges; i++)
	{
		wbe_change *c = &out->changes[i];

		if (c->nvalues > 0)
			c->values = d->values + off;
		off += c->nvalues;
	}
	out->in_txn = (seen & F_TXN) == F_TXN;
	return WB_OK;
}
