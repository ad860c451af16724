/*-------------------------------------------------------------------------
 *
 * test_envelope.c
 *	  cmocka tests of the bus frame (layout 2) and control codecs shared by
 *	  the relay and libwalbus: topic quoting; encode/decode round trips of
 *	  every frame kind and change kind, and of every status field
 *	  (status_fields.h); the patched changes count; the relay's splice of
 *	  plugin record bytes into frames, checked value by value against the
 *	  record decoder (the differential test); and
 *	  hostile input (truncation at every byte, a table of malformed
 *	  frames, lying counts, random bytes).
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack/pack.h>

#include "mpread.h"
#include "walbus_control.h"
#include "walbus_envelope.h"
#include "walbus_backfill.h"
#include "walbus_schema.h"

/* deeper than the reader accepts */
#define MPR_MAX_DEPTH_TEST (MPR_MAX_DEPTH + 2)

#define lengthof(a) (sizeof(a) / sizeof((a)[0]))

/* A byte string literal and its length, NULs included. */
#define RAW(s) (s), (sizeof(s) - 1)

/* A growable buffer for the encoder. */
typedef struct buf
{
	char  *data;
	size_t len;
	size_t cap;
} buf;

static int
buf_write(void *ctx, const char *p, size_t n)
{
	buf *b = ctx;

	if (n == 0)
		return 0;
	if (b->len + n > b->cap)
	{
		size_t cap = b->cap ? b->cap * 2 : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->data = realloc(b->data, cap);
		assert_non_null(b->data);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static void
buf_free(buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* A write callback that refuses everything, to test stickiness. */
static int
write_fails(void *ctx, const char *p, size_t n)
{
	(void) ctx;
	(void) p;
	(void) n;
	return -1;
}

static const wbe_head head = {0x1234567890abcULL, 7, 3};
static const wbe_txn  txn = {4242, 0x16B3748, {1700000000, 123456000}};

/* ------------------------------------------------------------------ topics */

static void
test_topic_quoting(void **state)
{
	static const struct
	{
		const char *schema;
		const char *table;
		const char *topic;
	} cases[] = {
		{"public", "contacts", "public.contacts"},
		{"my.schema", "t", "\"my.schema\".t"},
		{"s", "a.b", "s.\"a.b\""},
		{"_private", "t", "\"_private\".t"},
		{"public", "_t", "public.\"_t\""},
		{"a\"b", "c", "\"a\"\"b\".c"},
		{"", "t", "\"\".t"},
		{"Upper", "MiXed", "Upper.MiXed"},
		{"ünï", "cødé", "ünï.cødé"},
	};

	(void) state;
	for (size_t i = 0; i < lengthof(cases); i++)
	{
		char   out[WBE_TABLE_TOPIC_MAX + 1];
		size_t n = wbe_topic_table(out, sizeof(out), cases[i].schema,
								   strlen(cases[i].schema), cases[i].table,
								   strlen(cases[i].table));

		assert_int_equal(n, strlen(cases[i].topic));
		assert_string_equal(out, cases[i].topic);
	}
}

static void
test_topic_prefixes(void **state)
{
	char out[64];
	char small[6];

	(void) state;
	assert_int_equal(wbe_topic_schema(out, sizeof(out), "public", 6), 7);
	assert_string_equal(out, "public.");
	assert_int_equal(wbe_topic_schema(out, sizeof(out), "a.b", 3), 6);
	assert_string_equal(out, "\"a.b\".");
	assert_int_equal(wbe_topic_message(out, sizeof(out), "audit", 5), 10);
	assert_string_equal(out, "_msg.audit");

	/* like snprintf: the full length is returned, output is truncated */
	assert_int_equal(wbe_topic_table(small, sizeof(small), "public", 6, "t",
									 1),
					 8);
	assert_string_equal(small, "publi");
}

/* ----------------------------------------------------------------- helpers */

static void
decode_ok(wbe_dec *d, const buf *b, wbe_frame *f)
{
	int rc = wbe_decode(d, b->data, b->len, f);

	if (rc != WB_OK)
		fail_msg("decode failed: %s", wbe_dec_errmsg(d));
}

static void
expect_malformed(const void *p, size_t len, const char *why_contains)
{
	wbe_dec	  d;
	wbe_frame f;
	int		  rc;

	wbe_dec_init(&d);
	rc = wbe_decode(&d, p, len, &f);
	if (rc == WB_OK)
		fail_msg("accepted malformed input (%s)",
				 why_contains ? why_contains : "?");
	assert_int_equal(rc, WB_EMALFORMED);
	if (why_contains && strstr(wbe_dec_errmsg(&d), why_contains) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", wbe_dec_errmsg(&d),
				 why_contains);
	/* a rejected frame hands out no pointers into the scratch arrays */
	assert_int_equal(f.nchanges, 0);
	assert_null(f.changes);
	assert_null(f.topics);
	wbe_dec_free(&d);
}

static void
assert_head(const wbe_frame *f, const char *topic)
{
	assert_int_equal(f->topic.len, strlen(topic));
	assert_memory_equal(f->topic.ptr, topic, f->topic.len);
	assert_int_equal(f->topic.ptr[f->topic.len], '\0');
	assert_true(f->head.run == head.run);
	assert_int_equal(f->head.seq, head.seq);
	assert_int_equal(f->head.tseq, head.tseq);
}

static void
assert_txn(const wbe_frame *f)
{
	assert_true(f->in_txn);
	assert_int_equal(f->txn.xid, txn.xid);
	assert_int_equal(f->txn.commit_lsn, txn.commit_lsn);
	assert_int_equal(f->txn.commit_time.sec, txn.commit_time.sec);
	assert_int_equal(f->txn.commit_time.nsec, txn.commit_time.nsec);
}

/*
 * Two values are equal when they have the same type and the same wire
 * meaning: floats compare by bit pattern, so NaN equals its own bits and
 * -0.0 differs from 0.0.
 */
static bool
value_eq(const wb_value *a, const wb_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type)
	{
		case WB_V_NIL:
		case WB_V_UNCHANGED_TOAST:
			return true;
		case WB_V_BOOL:
			return a->v.b == b->v.b;
		case WB_V_INT:
			return a->v.i == b->v.i;
		case WB_V_FLOAT32:
			return memcmp(&a->v.f32, &b->v.f32, sizeof(float)) == 0;
		case WB_V_FLOAT64:
			return memcmp(&a->v.f64, &b->v.f64, sizeof(double)) == 0;
		case WB_V_STR:
		case WB_V_BIN:
			return a->v.s.len == b->v.s.len &&
				(a->v.s.len == 0 ||
				 memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0);
		case WB_V_TIMESTAMP:
			return a->v.ts.sec == b->v.ts.sec && a->v.ts.nsec == b->v.ts.nsec;
	}
	return false;
}

static void
assert_value_eq(const wb_value *got, const wb_value *want, const char *what,
				unsigned i)
{
	if (!value_eq(got, want))
		fail_msg("%s %u differs (type %d, expected type %d)", what, i,
				 (int) got->type, (int) want->type);
}

/* The encoder's offset of the changes header, checked to be array32 0. */
static size_t
changes_hdr(const buf *b)
{
	static const unsigned char zero32[WBE_CHANGES_HDR_LEN] = {0xdd, 0, 0, 0,
															  0};

	assert_true(b->len >= WBE_CHANGES_HDR_LEN);
	assert_memory_equal(b->data + b->len - WBE_CHANGES_HDR_LEN, zero32,
						WBE_CHANGES_HDR_LEN);
	return b->len - WBE_CHANGES_HDR_LEN;
}

/* ------------------------------------------------------------ round trips */

/* One value of every type, each in a form the encoder picks differently. */
static void
all_types(wb_value *v, int *n)
{
	int i = 0;

	v[i].type = WB_V_INT;
	v[i++].v.i = -42;
	v[i].type = WB_V_STR;
	v[i].v.s.ptr = "ann";
	v[i++].v.s.len = 3;
	v[i++].type = WB_V_NIL;
	v[i].type = WB_V_BOOL;
	v[i++].v.b = true;
	v[i].type = WB_V_FLOAT32;
	v[i++].v.f32 = NAN;
	v[i].type = WB_V_FLOAT64;
	v[i++].v.f64 = -INFINITY;
	v[i].type = WB_V_BIN;
	v[i].v.s.ptr = "\0\1\2";
	v[i++].v.s.len = 3;
	v[i].type = WB_V_TIMESTAMP;
	v[i].v.ts.sec = -1; /* before 1970: the 96-bit form */
	v[i++].v.ts.nsec = 999999999;
	v[i++].type = WB_V_UNCHANGED_TOAST;
	v[i].type = WB_V_INT;
	v[i++].v.i = INT64_MIN;
	*n = i;
}

/* A table frame with every change kind, and every value type. */
static void
test_table_frame_roundtrip(void **state)
{
	buf			   b = {0};
	wb_enc		   e;
	wbe_dec		   d;
	wbe_frame	   f;
	wb_value	   v[16];
	int			   nv;
	size_t		   hdr;
	wb_value	   key = {.type = WB_V_INT, .v.i = 7};
	wb_value	   old = {.type = WB_V_STR, .v.s = {"six", 3}};
	const uint32_t flags = WB_TRUNCATE_CASCADE | WB_TRUNCATE_PARTIAL | 0x80;

	(void) state;
	all_types(v, &nv);
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_frame_table(&e, &head, &txn, 16385, 99);
	hdr = changes_hdr(&b);
	/* pos 5: insert */
	wbe_enc_change_start(&e, WBE_INSERT, 5, 1);
	wbe_enc_values_start(&e, nv);
	for (int i = 0; i < nv; i++)
		wb_enc_value(&e, &v[i]);
	/* pos 6: update without a key change */
	wbe_enc_change_start(&e, WBE_UPDATE, 6, 1);
	wbe_enc_values_start(&e, 2);
	wb_enc_value(&e, &key);
	wb_enc_v_str(&e, "x", 1);
	/* pos 7: update with the old key */
	wbe_enc_change_start(&e, WBE_UPDATE, 7, 2);
	wbe_enc_values_start(&e, 2);
	wb_enc_value(&e, &key);
	wb_enc_v_nil(&e);
	wb_enc_value(&e, &old);
	/* pos 8: delete */
	wbe_enc_change_start(&e, WBE_DELETE, 8, 1);
	wb_enc_value(&e, &old);
	/* pos 9: truncate, with a reserved bit that must come through */
	wbe_enc_truncate(&e, 9, flags);
	/* pos 10: insert of no columns (the decoder does not know the table) */
	wbe_enc_change_start(&e, WBE_INSERT, 10, 1);
	wbe_enc_values_start(&e, 0);
	wbe_patch_changes_count(b.data + hdr, 6);
	assert_false(wb_enc_failed(&e));

	wbe_dec_init(&d);
	decode_ok(&d, &b, &f);
	assert_int_equal(f.kind, WBE_FRAME_CHANGES);
	assert_head(&f, "public.contacts");
	assert_txn(&f);
	assert_int_equal(f.relid, 16385);
	assert_int_equal(f.schema_version, 99);
	assert_false(f.transactional);
	assert_int_equal(f.prefix.len, 0);
	assert_int_equal(f.ntopics, 0);
	assert_int_equal(f.nchanges, 6);
	for (uint32_t i = 0; i < f.nchanges; i++)
		assert_int_equal(f.changes[i].pos, 5 + i);

	assert_int_equal(f.changes[0].kind, WBE_INSERT);
	assert_int_equal(f.changes[0].nvalues, nv);
	for (int i = 0; i < nv; i++)
		assert_value_eq(&f.changes[0].values[i], &v[i], "insert value", i);
	assert_false(f.changes[0].has_key);
	assert_false(f.changes[0].has_old_key);

	assert_int_equal(f.changes[1].kind, WBE_UPDATE);
	assert_int_equal(f.changes[1].nvalues, 2);
	assert_int_equal(f.changes[1].values[0].v.i, 7);
	assert_memory_equal(f.changes[1].values[1].v.s.ptr, "x", 1);
	assert_false(f.changes[1].has_old_key);

	assert_int_equal(f.changes[2].kind, WBE_UPDATE);
	assert_int_equal(f.changes[2].values[1].type, WB_V_NIL);
	assert_true(f.changes[2].has_old_key);
	assert_value_eq(&f.changes[2].old_key, &old, "old key", 0);

	assert_int_equal(f.changes[3].kind, WBE_DELETE);
	assert_true(f.changes[3].has_key);
	assert_value_eq(&f.changes[3].key, &old, "key", 0);
	assert_int_equal(f.changes[3].nvalues, 0);
	assert_null(f.changes[3].values);

	assert_int_equal(f.changes[4].kind, WBE_TRUNCATE);
	assert_int_equal(f.changes[4].truncate_flags, flags);
	assert_false(f.changes[4].has_key);

	assert_int_equal(f.changes[5].kind, WBE_INSERT);
	assert_int_equal(f.changes[5].nvalues, 0);
	assert_null(f.changes[5].values);

	wbe_dec_free(&d);
	buf_free(&b);
}

static void
test_message_frames(void **state)
{
	buf		  b = {0};
	wb_enc	  e;
	wbe_dec	  d;
	wbe_frame f;
	size_t	  hdr;

	(void) state;
	wbe_dec_init(&d);

	/* non-transactional: one change, pos 0, no transaction keys */
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "_msg.audit", 10);
	wbe_enc_frame_messages(&e, &head, NULL, "audit", 5);
	hdr = changes_hdr(&b);
	wbe_enc_message(&e, WBE_POS_NONE, 0x200, "\xff\x00x", 3);
	wbe_patch_changes_count(b.data + hdr, 1);
	assert_false(wb_enc_failed(&e));
	decode_ok(&d, &b, &f);
	assert_int_equal(f.kind, WBE_FRAME_CHANGES);
	assert_head(&f, "_msg.audit");
	assert_false(f.transactional);
	assert_false(f.in_txn);
	assert_int_equal(f.txn.xid, 0);
	assert_int_equal(f.prefix.len, 5);
	assert_memory_equal(f.prefix.ptr, "audit", 5);
	assert_int_equal(f.relid, 0);
	assert_int_equal(f.nchanges, 1);
	assert_int_equal(f.changes[0].kind, WBE_MESSAGE);
	assert_int_equal(f.changes[0].pos, 0);
	assert_int_equal(f.changes[0].msg_lsn, 0x200);
	assert_int_equal(f.changes[0].content.len, 3);
	assert_memory_equal(f.changes[0].content.ptr, "\xff\x00x", 3);

	/* transactional: several, from pos 10; an empty prefix and content */
	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "_msg.", 5);
	wbe_enc_frame_messages(&e, &head, &txn, "", 0);
	hdr = changes_hdr(&b);
	wbe_enc_message(&e, 10, 0x300, "", 0);
	wbe_enc_message(&e, 11, 0x310, "b", 1);
	wbe_enc_message(&e, 12, UINT64_MAX, "cc", 2);
	wbe_patch_changes_count(b.data + hdr, 3);
	assert_false(wb_enc_failed(&e));
	decode_ok(&d, &b, &f);
	assert_true(f.transactional);
	assert_txn(&f);
	assert_int_equal(f.prefix.len, 0);
	assert_int_equal(f.nchanges, 3);
	assert_int_equal(f.changes[0].pos, 10);
	assert_int_equal(f.changes[0].content.len, 0);
	assert_int_equal(f.changes[1].msg_lsn, 0x310);
	assert_memory_equal(f.changes[1].content.ptr, "b", 1);
	assert_int_equal(f.changes[2].pos, 12);
	assert_true(f.changes[2].msg_lsn == UINT64_MAX);
	assert_memory_equal(f.changes[2].content.ptr, "cc", 2);

	wbe_dec_free(&d);
	buf_free(&b);
}

static void
test_commit_heartbeat_roundtrip(void **state)
{
	buf			  b = {0};
	wb_enc		  e;
	wbe_dec		  d;
	wbe_frame	  f;
	wbe_heartbeat hb = {{1700000001, 5}, 12, 0x100, 0xF0};

	(void) state;
	wbe_dec_init(&d);

	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_TXN, 4);
	wbe_enc_commit_start(&e, &head, &txn, 0x16B3800, 5, 3, 40, 2);
	wbe_enc_commit_topic(&e, "public.a", 8, 10, 2);
	wbe_enc_commit_topic(&e, "_msg.audit", 10, 4, 1);
	assert_false(wb_enc_failed(&e));
	decode_ok(&d, &b, &f);
	assert_int_equal(f.kind, WBE_FRAME_COMMIT);
	assert_head(&f, WBE_TOPIC_TXN);
	assert_txn(&f);
	assert_int_equal(f.end_lsn, 0x16B3800);
	assert_int_equal(f.first_seq, 5);
	assert_int_equal(f.nframes, 3);
	assert_int_equal(f.last_pos, 40);
	assert_int_equal(f.nchanges, 0);
	assert_int_equal(f.ntopics, 2);
	assert_memory_equal(f.topics[0].topic.ptr, "public.a", 8);
	assert_int_equal(f.topics[0].last_tseq, 10);
	assert_int_equal(f.topics[0].count, 2);
	assert_int_equal(f.topics[1].topic.len, 10);
	assert_memory_equal(f.topics[1].topic.ptr, "_msg.audit", 10);
	assert_int_equal(f.topics[1].last_tseq, 4);
	assert_int_equal(f.topics[1].count, 1);

	/* a transaction that published nothing */
	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_TXN, 4);
	wbe_enc_commit_start(&e, &head, &txn, 0x16B3800, 0, 0, 0, 0);
	decode_ok(&d, &b, &f);
	assert_int_equal(f.first_seq, 0);
	assert_int_equal(f.ntopics, 0);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_HEARTBEAT, 3);
	wbe_enc_heartbeat(&e, &head, &hb);
	decode_ok(&d, &b, &f);
	assert_int_equal(f.kind, WBE_FRAME_HEARTBEAT);
	assert_head(&f, WBE_TOPIC_HEARTBEAT);
	assert_false(f.in_txn);
	assert_int_equal(f.hb.time.sec, 1700000001);
	assert_int_equal(f.hb.time.nsec, 5);
	assert_int_equal(f.hb.txn_tseq, 12);
	assert_int_equal(f.hb.received_lsn, 0x100);
	assert_int_equal(f.hb.flushed_lsn, 0xF0);

	wbe_dec_free(&d);
	buf_free(&b);
}

/*
 * The changes count is patched big-endian into the array32 header, and
 * counts beyond what fixarray and array16 hold come through.  Many values
 * make the decoder's scratch array move while it reads; every change must
 * still see its own values.
 */
static void
test_patched_count(void **state)
{
	unsigned char			   hdr5[WBE_CHANGES_HDR_LEN] = {0xdd, 0, 0, 0, 0};
	static const unsigned char want[] = {0xdd, 0x01, 0x02, 0x03, 0x04};
	buf						   b = {0};
	wb_enc					   e;
	wbe_dec					   d;
	wbe_frame				   f;
	size_t					   hdr;
	const uint32_t			   nbig = 70000;
	const uint32_t			   nrows = 600;
	const uint32_t			   ncols = 7;

	(void) state;
	wbe_patch_changes_count(hdr5, 0x01020304);
	assert_memory_equal(hdr5, want, sizeof(want));

	wbe_dec_init(&d);
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "s.t", 3);
	wbe_enc_frame_table(&e, &head, &txn, 1, 2);
	hdr = changes_hdr(&b);
	for (uint32_t i = 0; i < nbig; i++)
		wbe_enc_truncate(&e, 1 + i, i);
	wbe_patch_changes_count(b.data + hdr, nbig);
	assert_false(wb_enc_failed(&e));
	decode_ok(&d, &b, &f);
	assert_int_equal(f.nchanges, nbig);
	for (uint32_t i = 0; i < nbig; i++)
	{
		assert_int_equal(f.changes[i].pos, 1 + i);
		assert_int_equal(f.changes[i].truncate_flags, i);
	}

	/* one count too many or too few is caught */
	wbe_patch_changes_count(b.data + hdr, nbig + 1);
	expect_malformed(b.data, b.len, NULL);
	wbe_patch_changes_count(b.data + hdr, nbig - 1);
	expect_malformed(b.data, b.len, "after the frame");

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "s.t", 3);
	wbe_enc_frame_table(&e, &head, &txn, 1, 2);
	hdr = changes_hdr(&b);
	for (uint32_t i = 0; i < nrows; i++)
	{
		/* every third row is a delete: rows without values in between */
		if (i % 3 == 2)
		{
			wbe_enc_change_start(&e, WBE_DELETE, 100 + i, 1);
			wb_enc_v_int(&e, -(int64_t) i);
			continue;
		}
		wbe_enc_change_start(&e, WBE_UPDATE, 100 + i, 1);
		wbe_enc_values_start(&e, ncols);
		for (uint32_t j = 0; j < ncols; j++)
			wb_enc_v_int(&e, (int64_t) i * 1000 + j);
	}
	wbe_patch_changes_count(b.data + hdr, nrows);
	assert_false(wb_enc_failed(&e));
	decode_ok(&d, &b, &f);
	assert_int_equal(f.nchanges, nrows);
	for (uint32_t i = 0; i < nrows; i++)
	{
		const wbe_change *c = &f.changes[i];

		if (i % 3 == 2)
		{
			assert_int_equal(c->kind, WBE_DELETE);
			assert_int_equal(c->key.v.i, -(int64_t) i);
			continue;
		}
		assert_int_equal(c->nvalues, ncols);
		for (uint32_t j = 0; j < ncols; j++)
			assert_int_equal(c->values[j].v.i, (int64_t) i * 1000 + j);
	}
	wbe_dec_free(&d);
	buf_free(&b);
}

/* The encoder refuses what the decoder would reject, and stays failed. */
static void
test_encoder_refuses(void **state)
{
	buf			  b = {0};
	wb_enc		  e;
	wbe_head	  h0 = {0, 1, 1};
	wbe_head	  hbig = {UINT64_C(1) << 53, 1, 1};
	wbe_heartbeat hb = {{1, 0}, 0, 0, 0};
	static const struct
	{
		wbe_kind kind;
		uint32_t nrest;
		bool	 ok;
	} shapes[] = {
		{WBE_INSERT, 1, true},		{WBE_INSERT, 2, false},
		{WBE_INSERT, 0, false},		{WBE_UPDATE, 1, true},
		{WBE_UPDATE, 2, true},		{WBE_UPDATE, 3, false},
		{WBE_DELETE, 1, true},		{WBE_DELETE, 2, false},
		{WBE_TRUNCATE, 1, true},	{WBE_TRUNCATE, 2, false},
		{WBE_MESSAGE, 2, true},		{WBE_MESSAGE, 1, false},
		{WBE_COMMIT, 1, false},		{WBE_HEARTBEAT, 1, false},
		{(wbe_kind) 'X', 1, false}, {WBE_UPDATE, UINT32_MAX, false},
	};

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "a\0b", 3);
	assert_true(wb_enc_failed(&e));
	wbe_enc_heartbeat(&e, &head, &hb);
	assert_int_equal(b.len, 0);

	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "", 0);
	assert_true(wb_enc_failed(&e));

	for (size_t i = 0; i < lengthof(shapes); i++)
	{
		b.len = 0;
		wb_enc_init(&e, buf_write, &b);
		wbe_enc_change_start(&e, shapes[i].kind, 1, shapes[i].nrest);
		if (wb_enc_failed(&e) == shapes[i].ok)
			fail_msg("change %c with %u more elements: %s", shapes[i].kind,
					 shapes[i].nrest, shapes[i].ok ? "refused" : "accepted");
		if (!shapes[i].ok)
			assert_int_equal(b.len, 0);
	}

	/* run and schema_version: 1 .. 2^53 - 1 */
	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_heartbeat(&e, &h0, &hb);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_frame_table(&e, &hbig, &txn, 1, 1);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_frame_table(&e, &head, &txn, 1, 0);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_frame_table(&e, &head, &txn, 1, UINT64_C(1) << 53);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_commit_start(&e, &h0, &txn, 1, 1, 1, 1, 0);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_frame_messages(&e, &h0, NULL, "p", 1);
	assert_true(wb_enc_failed(&e));
	assert_int_equal(b.len, 0);

	/* a table's changes always belong to a transaction; so does a commit */
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_frame_table(&e, &head, NULL, 1, 1);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_commit_start(&e, &head, NULL, 1, 1, 1, 1, 0);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_frame_messages(&e, &head, NULL, NULL, 0);
	assert_true(wb_enc_failed(&e));
	assert_int_equal(b.len, 0);

	/* a failing write sticks, raw bytes and the changes header included */
	wb_enc_init(&e, write_fails, NULL);
	wbe_enc_raw(&e, "\x90", 1);
	assert_true(wb_enc_failed(&e));
	wb_enc_init(&e, write_fails, NULL);
	wbe_enc_frame_table(&e, &head, &txn, 1, 1);
	assert_true(wb_enc_failed(&e));
	e.write = buf_write;
	e.ctx = &b;
	wbe_enc_raw(&e, "\x90", 1);
	wbe_enc_truncate(&e, 1, 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* --------------------------------------------------- differential: splice */

/* Encode one value with the record encoder's typed functions. */
static void
enc_v(wb_enc *e, const wb_value *v)
{
	switch (v->type)
	{
		case WB_V_NIL:
			wb_enc_v_nil(e);
			break;
		case WB_V_BOOL:
			wb_enc_v_bool(e, v->v.b);
			break;
		case WB_V_INT:
			wb_enc_v_int(e, v->v.i);
			break;
		case WB_V_FLOAT32:
			wb_enc_v_float32(e, v->v.f32);
			break;
		case WB_V_FLOAT64:
			wb_enc_v_float64(e, v->v.f64);
			break;
		case WB_V_STR:
			wb_enc_v_str(e, v->v.s.ptr, v->v.s.len);
			break;
		case WB_V_BIN:
			wb_enc_v_bin(e, v->v.s.ptr, v->v.s.len);
			break;
		case WB_V_TIMESTAMP:
			wb_enc_v_timestamp(e, v->v.ts);
			break;
		case WB_V_UNCHANGED_TOAST:
			wb_enc_v_unchanged_toast(e);
			break;
	}
}

#define DIFF_MAXV 96

/* Every value type, at the edges of each msgpack form. */
static int
diff_values(wb_value *v, char *big)
{
	/* clang-format off */
	static const int64_t ints[] = {
		0, 1, -1, 31, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
		(int64_t) UINT32_MAX + 1, INT64_MAX, INT64_MIN, -32, -33, -128, -129,
		-32768, -32769, INT32_MIN, (int64_t) INT32_MIN - 1
	};
	static const uint32_t f32bits[] = {
		0x00000000, 0x80000000, 0x3fc00000, 0x7fc00000, 0xffc00000,
		0x7fc12345, 0x7f800000, 0xff800000, 0x00000001, 0x7f7fffff
	};
	static const uint64_t f64bits[] = {
		0, UINT64_C(0x8000000000000000), UINT64_C(0x7ff8000000000000),
		UINT64_C(0x7ff80000000abcde), UINT64_C(0x7ff0000000000000),
		UINT64_C(0xfff0000000000000), UINT64_C(0x7fefffffffffffff),
		1, UINT64_C(0x400921fb54442d18)
	};
	static const wb_timestamp ts[] = {
		{0, 0}, {UINT32_MAX, 0}, {1700000000, 123456000},
		{(INT64_C(1) << 34) - 1, 999999999}, {INT64_C(1) << 34, 0},
		{-1, 999999999}, {INT64_MIN, 0}, {INT64_MAX, 999999999}, {1, 1}
	};
	/* clang-format on */
	static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
	int					n = 0;

	v[n++].type = WB_V_NIL;
	v[n].type = WB_V_BOOL;
	v[n++].v.b = true;
	v[n].type = WB_V_BOOL;
	v[n++].v.b = false;
	for (size_t i = 0; i < lengthof(ints); i++)
	{
		v[n].type = WB_V_INT;
		v[n++].v.i = ints[i];
	}
	for (size_t i = 0; i < lengthof(f32bits); i++)
	{
		v[n].type = WB_V_FLOAT32;
		memcpy(&v[n++].v.f32, &f32bits[i], 4);
	}
	for (size_t i = 0; i < lengthof(f64bits); i++)
	{
		v[n].type = WB_V_FLOAT64;
		memcpy(&v[n++].v.f64, &f64bits[i], 8);
	}
	for (size_t i = 0; i < lengthof(lens); i++)
	{
		v[n].type = WB_V_STR;
		v[n].v.s.ptr = big;
		v[n++].v.s.len = (uint32_t) lens[i];
		v[n].type = WB_V_BIN;
		v[n].v.s.ptr = big + 1;
		v[n++].v.s.len = (uint32_t) lens[i];
	}
	v[n].type = WB_V_STR;
	v[n].v.s.ptr = "ünï\0cødé";
	v[n++].v.s.len = (uint32_t) sizeof("ünï\0cødé") - 1;
	for (size_t i = 0; i < lengthof(ts); i++)
	{
		v[n].type = WB_V_TIMESTAMP;
		v[n++].v.ts = ts[i];
	}
	v[n++].type = WB_V_UNCHANGED_TOAST;
	assert_true(n <= DIFF_MAXV);
	return n;
}

/* The plugin records the differential test splices. */
typedef struct diff_rec
{
	wb_kind kind;
	int		first; /* values [first, first + n) of the list */
	int		n;
	int		old_key; /* index of the old key, or the delete key;
					  * -1: none */
} diff_rec;

/*
 * What the relay does with a plugin record: wb_decode validates it and
 * gives the bytes after relid as tail; the frame carries those bytes as
 * they are after the change's kind and pos.  Decoding the frame must give
 * every value the record decoder gave, and the spliced frame must be byte
 * for byte the frame the structured encoder writes from those values.
 */
static void
test_differential_splice(void **state)
{
	char		  *big = malloc(70001);
	wb_value	   v[DIFF_MAXV];
	int			   nv;
	diff_rec	   recs[8];
	int			   nrecs = 0;
	buf			   rb[lengthof(recs)];
	wb_dec		   rd[lengthof(recs)];
	wb_record	   rec[lengthof(recs)];
	buf			   spliced = {0};
	buf			   built = {0};
	wb_enc		   e;
	wbe_dec		   d;
	wbe_frame	   f;
	size_t		   hdr;
	const uint32_t pos0 = 41;

	(void) state;
	assert_non_null(big);
	for (int i = 0; i < 70001; i++)
		big[i] = (char) (i * 7 + 3);
	nv = diff_values(v, big);

	recs[nrecs++] = (diff_rec) {WB_INSERT, 0, nv, -1};
	recs[nrecs++] = (diff_rec) {WB_UPDATE, 0, nv, -1};
	recs[nrecs++] = (diff_rec) {WB_UPDATE, 3, 10, 14}; /* INT64_MAX */
	recs[nrecs++] = (diff_rec) {WB_UPDATE, nv - 12, 12, nv - 1};
	recs[nrecs++] = (diff_rec) {WB_INSERT, 5, 0, -1};
	/* deletes by an int, a str and a timestamp key */
	recs[nrecs++] = (diff_rec) {WB_DELETE, 0, 0, 16};
	recs[nrecs++] = (diff_rec) {WB_DELETE, 0, 0, nv - 12};
	recs[nrecs++] = (diff_rec) {WB_DELETE, 0, 0, nv - 3};
	assert_int_equal(nrecs, lengthof(recs));

	/* the plugin's records, decoded by the record decoder */
	for (int r = 0; r < nrecs; r++)
	{
		size_t used;
		int	   rc;

		memset(&rb[r], 0, sizeof(rb[r]));
		wb_enc_init(&e, buf_write, &rb[r]);
		if (recs[r].kind == WB_INSERT)
			wb_enc_insert_start(&e, 16385, recs[r].n);
		else if (recs[r].kind == WB_UPDATE)
			wb_enc_update_start(&e, 16385, recs[r].n, recs[r].old_key >= 0);
		else
			wb_enc_delete_start(&e, 16385);
		for (int i = 0; i < recs[r].n; i++)
			enc_v(&e, &v[recs[r].first + i]);
		if (recs[r].old_key >= 0)
			enc_v(&e, &v[recs[r].old_key]);
		assert_false(wb_enc_failed(&e));

		wb_dec_init(&rd[r]);
		rc = wb_decode(&rd[r], rb[r].data, rb[r].len, &rec[r], &used);
		if (rc != WB_OK)
			fail_msg("record %d: %s", r, wb_dec_errmsg(&rd[r]));
		assert_int_equal(used, rb[r].len);
		assert_int_equal(rec[r].kind, recs[r].kind);
	}

	/* the relay's frame: kind, pos, then the record's tail as it is */
	wb_enc_init(&e, buf_write, &spliced);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_frame_table(&e, &head, &txn, 16385, 99);
	hdr = changes_hdr(&spliced);
	for (int r = 0; r < nrecs; r++)
	{
		wb_str tail;

		if (rec[r].kind == WB_DELETE)
		{
			tail = rec[r].u.del.tail;
			wbe_enc_change_start(&e, WBE_DELETE, pos0 + r, 1);
		}
		else
		{
			tail = rec[r].u.change.tail;
			wbe_enc_change_start(&e, (wbe_kind) rec[r].kind, pos0 + r,
								 rec[r].u.change.has_old_key ? 2 : 1);
		}
		/* the tail is the end of the record's own bytes */
		assert_true(tail.ptr + tail.len == rb[r].data + rb[r].len);
		wbe_enc_raw(&e, tail.ptr, tail.len);
	}
	wbe_patch_changes_count(spliced.data + hdr, nrecs);
	assert_false(wb_enc_failed(&e));

	/* the same frame from the decoded values, through the encoder */
	wb_enc_init(&e, buf_write, &built);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_frame_table(&e, &head, &txn, 16385, 99);
	hdr = changes_hdr(&built);
	for (int r = 0; r < nrecs; r++)
	{
		if (rec[r].kind == WB_DELETE)
		{
			wbe_enc_change_start(&e, WBE_DELETE, pos0 + r, 1);
			wb_enc_value(&e, &rec[r].u.del.key);
			continue;
		}
		wbe_enc_change_start(&e, (wbe_kind) rec[r].kind, pos0 + r,
							 rec[r].u.change.has_old_key ? 2 : 1);
		wbe_enc_values_start(&e, rec[r].u.change.nvalues);
		for (uint32_t i = 0; i < rec[r].u.change.nvalues; i++)
			wb_enc_value(&e, &rec[r].u.change.values[i]);
		if (rec[r].u.change.has_old_key)
			wb_enc_value(&e, &rec[r].u.change.old_key);
	}
	wbe_patch_changes_count(built.data + hdr, nrecs);
	assert_false(wb_enc_failed(&e));
	assert_int_equal(built.len, spliced.len);
	assert_memory_equal(built.data, spliced.data, spliced.len);

	/* and the frame decoder agrees with the record decoder, value by value */
	wbe_dec_init(&d);
	decode_ok(&d, &spliced, &f);
	assert_int_equal(f.nchanges, nrecs);
	for (int r = 0; r < nrecs; r++)
	{
		const wbe_change *c = &f.changes[r];

		assert_int_equal(c->kind, (wbe_kind) rec[r].kind);
		assert_int_equal(c->pos, pos0 + r);
		if (rec[r].kind == WB_DELETE)
		{
			assert_true(c->has_key);
			assert_value_eq(&c->key, &rec[r].u.del.key, "delete key", r);
			assert_value_eq(&c->key, &v[recs[r].old_key], "delete key", r);
			continue;
		}
		assert_int_equal(c->nvalues, rec[r].u.change.nvalues);
		for (uint32_t i = 0; i < c->nvalues; i++)
		{
			assert_value_eq(&c->values[i], &rec[r].u.change.values[i], "value",
							i);
			/* and both equal what the plugin encoded */
			assert_value_eq(&c->values[i], &v[recs[r].first + i], "value", i);
		}
		assert_int_equal(c->has_old_key, rec[r].u.change.has_old_key);
		if (c->has_old_key)
		{
			assert_value_eq(&c->old_key, &rec[r].u.change.old_key, "old key",
							r);
			assert_value_eq(&c->old_key, &v[recs[r].old_key], "old key", r);
		}
	}

	wbe_dec_free(&d);
	for (int r = 0; r < nrecs; r++)
	{
		wb_dec_free(&rd[r]);
		buf_free(&rb[r]);
	}
	buf_free(&spliced);
	buf_free(&built);
	free(big);
}

/* ------------------------------------------------------------ hostile input */

/* Valid frames of every kind, for truncation and mutation tests. */
static void
valid_frames(buf *out, int *n)
{
	wb_enc		  e;
	wb_value	  key = {.type = WB_V_STR, .v.s = {"hello", 5}};
	wbe_heartbeat hb = {{1700000001, 5}, 12, 0x100, 0xF0};
	size_t		  hdr;
	int			  i = 0;

	memset(out, 0, 5 * sizeof(buf));
	wb_enc_init(&e, buf_write, &out[i]);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_frame_table(&e, &head, &txn, 1, 2);
	hdr = out[i].len - WBE_CHANGES_HDR_LEN;
	wbe_enc_change_start(&e, WBE_UPDATE, 1, 2);
	wbe_enc_values_start(&e, 2);
	wb_enc_value(&e, &key);
	wb_enc_v_timestamp(&e, txn.commit_time);
	wb_enc_value(&e, &key);
	wbe_enc_change_start(&e, WBE_DELETE, 2, 1);
	wb_enc_value(&e, &key);
	wbe_enc_truncate(&e, 3, 1);
	wbe_patch_changes_count(out[i].data + hdr, 3);
	assert_false(wb_enc_failed(&e));
	i++;

	wb_enc_init(&e, buf_write, &out[i]);
	wbe_enc_topic(&e, "_msg.p", 6);
	wbe_enc_frame_messages(&e, &head, NULL, "p", 1);
	hdr = out[i].len - WBE_CHANGES_HDR_LEN;
	wbe_enc_message(&e, 0, 5, "xy", 2);
	wbe_patch_changes_count(out[i].data + hdr, 1);
	assert_false(wb_enc_failed(&e));
	i++;

	wb_enc_init(&e, buf_write, &out[i]);
	wbe_enc_topic(&e, "_msg.p", 6);
	wbe_enc_frame_messages(&e, &head, &txn, "p", 1);
	hdr = out[i].len - WBE_CHANGES_HDR_LEN;
	wbe_enc_message(&e, 4, 5, "xy", 2);
	wbe_enc_message(&e, 5, 6, "", 0);
	wbe_patch_changes_count(out[i].data + hdr, 2);
	assert_false(wb_enc_failed(&e));
	i++;

	wb_enc_init(&e, buf_write, &out[i]);
	wbe_enc_topic(&e, WBE_TOPIC_TXN, 4);
	wbe_enc_commit_start(&e, &head, &txn, 9, 1, 2, 3, 1);
	wbe_enc_commit_topic(&e, "public.contacts", 15, 3, 2);
	assert_false(wb_enc_failed(&e));
	i++;

	wb_enc_init(&e, buf_write, &out[i]);
	wbe_enc_topic(&e, WBE_TOPIC_HEARTBEAT, 3);
	wbe_enc_heartbeat(&e, &head, &hb);
	assert_false(wb_enc_failed(&e));
	i++;
	*n = i;
}

static void
test_truncated_everywhere(void **state)
{
	buf		  b[5];
	int		  nb;
	wbe_dec	  d;
	wbe_frame f;

	(void) state;
	valid_frames(b, &nb);
	wbe_dec_init(&d);
	for (int k = 0; k < nb; k++)
	{
		decode_ok(&d, &b[k], &f);
		/* every proper prefix fails cleanly, in a buffer of its own size */
		for (size_t n = 0; n < b[k].len; n++)
		{
			char *copy = malloc(n ? n : 1);

			memcpy(copy, b[k].data, n);
			expect_malformed(copy, n, NULL);
			free(copy);
		}
		buf_free(&b[k]);
	}
	wbe_dec_free(&d);
}

/*
 * A frame built key by key, so that each hostile case below differs from a
 * valid frame in one named way.  Keys are written in the order of these
 * bits ("changes" last, as the relay writes it) or in reverse.
 */
enum
{
	S_RUN = 1 << 0,
	S_SEQ = 1 << 1,
	S_TSEQ = 1 << 2,
	S_KIND = 1 << 3,
	S_XID = 1 << 4,
	S_CLSN = 1 << 5,
	S_CTIME = 1 << 6,
	S_RELID = 1 << 7,
	S_SV = 1 << 8,
	S_TRANS = 1 << 9,
	S_PREFIX = 1 << 10,
	S_END_LSN = 1 << 11,
	S_FIRST_SEQ = 1 << 12,
	S_FRAMES = 1 << 13,
	S_LAST_POS = 1 << 14,
	S_TOPICS = 1 << 15,
	S_TIME = 1 << 16,
	S_TXN_TSEQ = 1 << 17,
	S_RLSN = 1 << 18,
	S_FLSN = 1 << 19,
	S_CHANGES = 1 << 20,
	S_NKEYS = 21
};

#define S_HEAD	  (S_RUN | S_SEQ | S_TSEQ | S_KIND)
#define S_TXN	  (S_XID | S_CLSN | S_CTIME)
#define S_TABLE	  (S_HEAD | S_TXN | S_RELID | S_SV | S_CHANGES)
#define S_MSG	  (S_HEAD | S_TRANS | S_PREFIX | S_CHANGES)
#define S_MSG_TXN (S_MSG | S_TXN)
#define S_COMMIT \
	(S_HEAD | S_TXN | S_END_LSN | S_FIRST_SEQ | S_FRAMES | S_LAST_POS | \
	 S_TOPICS)
#define S_HB (S_HEAD | S_TIME | S_TXN_TSEQ | S_RLSN | S_FLSN)

/* Names and default values (msgpack bytes) of the keys above. */
static const struct
{
	const char *name;
	const char *val;
	size_t		len;
} s_keys[S_NKEYS] = {
	{"run", RAW("\x01")},
	{"seq", RAW("\x01")},
	{"tseq", RAW("\x01")},
	{"kind", NULL, 0}, /* the spec's kind */
	{"xid", RAW("\x07")},
	{"commit_lsn", RAW("\xcd\x01\x00")},
	{"commit_time", RAW("\xd6\xff\x00\x00\x00\x01")},
	{"relid", RAW("\xcd\x40\x01")},
	{"schema_version", RAW("\x05")},
	{"transactional", RAW("\xc2")},
	{"prefix", RAW("\xa1p")},
	{"end_lsn", RAW("\xcd\x02\x00")},
	{"first_seq", RAW("\x01")},
	{"frames", RAW("\x01")},
	{"last_pos", RAW("\x01")},
	{"topics", RAW("\x91\x93\xa3s.t\x01\x01")},
	{"time", RAW("\xd6\xff\x00\x00\x00\x01")},
	{"txn_tseq", RAW("\x00")},
	{"received_lsn", RAW("\x00")},
	{"flushed_lsn", RAW("\x00")},
	{"changes", NULL, 0}, /* by topic, see spec_changes */
};

/* Default changes: one insert at pos 1, or one message at pos 0 or 1. */
#define CH_INSERT "\x91\x93\x49\x01\x91\x01"
#define CH_MSG_NT "\x91\x94\x4d\x00\x01\xc4\x00"
#define CH_MSG_T  "\x91\x94\x4d\x01\x01\xc4\x00"
static const char ch_insert[] = CH_INSERT;
static const char ch_msg_nt[] = CH_MSG_NT;
static const char ch_msg_t[] = CH_MSG_T;

typedef struct spec
{
	const char *what; /* expected in the error; NULL: accepted */
	const char *topic;
	const char *kind;
	uint32_t	keys;
	uint32_t	ov; /* the key whose value is ovval */
	const char *ovval;
	size_t		ovlen;
	uint32_t	dup;   /* a key written twice */
	const char *extra; /* an unknown key, with value extraval */
	const char *extraval;
	size_t		extralen;
	const char *after; /* bytes after the map */
	size_t		afterlen;
	bool		reverse; /* keys in reverse order */
	uint32_t	ov2;	 /* a second key overridden */
	const char *ov2val;
	size_t		ov2len;
} spec;

/* The value a spec gives the key bit, if it overrides it. */
static bool
spec_override(const spec *s, uint32_t bit, const char **val, size_t *len)
{
	if (bit == s->ov)
	{
		*val = s->ovval;
		*len = s->ovlen;
		return true;
	}
	if (bit == s->ov2)
	{
		*val = s->ov2val;
		*len = s->ov2len;
		return true;
	}
	return false;
}

static void
spec_put_key(msgpack_packer *pk, buf *b, const spec *s, int k)
{
	uint32_t	bit = 1u << k;
	const char *val = s_keys[k].val;
	size_t		len = s_keys[k].len;
	size_t		nlen = strlen(s_keys[k].name);

	msgpack_pack_str(pk, nlen);
	msgpack_pack_str_body(pk, s_keys[k].name, nlen);
	if (spec_override(s, bit, &val, &len))
	{
		buf_write(b, val, len);
		return;
	}
	if (bit == S_KIND)
	{
		msgpack_pack_str(pk, strlen(s->kind));
		msgpack_pack_str_body(pk, s->kind, strlen(s->kind));
		return;
	}
	if (bit == S_CHANGES)
	{
		/* a transactional message frame: "transactional" overridden */
		bool		msg = strncmp(s->topic, "_msg.", 5) == 0;
		const char *tv;
		size_t		tlen;
		bool		txn_msg = msg && spec_override(s, S_TRANS, &tv, &tlen) &&
			tlen == 1 && tv[0] == '\xc3';

		val = !msg ? ch_insert : txn_msg ? ch_msg_t : ch_msg_nt;
		len = !msg	? sizeof(ch_insert) - 1 :
			txn_msg ? sizeof(ch_msg_t) - 1 :
					  sizeof(ch_msg_nt) - 1;
	}
	buf_write(b, val, len);
}

static void
spec_build(const spec *s, buf *b)
{
	msgpack_packer pk;
	uint32_t	   npairs = 0;

	b->len = 0;
	msgpack_packer_init(&pk, b, buf_write);
	buf_write(b, s->topic, strlen(s->topic) + 1);
	for (int k = 0; k < S_NKEYS; k++)
		if (s->keys & (1u << k))
			npairs++;
	if (s->dup)
		npairs++;
	if (s->extra)
		npairs++;
	msgpack_pack_map(&pk, npairs);
	if (s->extra)
	{
		msgpack_pack_str(&pk, strlen(s->extra));
		msgpack_pack_str_body(&pk, s->extra, strlen(s->extra));
		buf_write(b, s->extraval, s->extralen);
	}
	for (int i = 0; i < S_NKEYS; i++)
	{
		int k = s->reverse ? S_NKEYS - 1 - i : i;

		if (s->keys & (1u << k))
			spec_put_key(&pk, b, s, k);
		if (s->dup == (1u << k))
			spec_put_key(&pk, b, s, k);
	}
	if (s->after)
		buf_write(b, s->after, s->afterlen);
}

#define TABLE	"s.t", "changes", S_TABLE
#define MSG		"_msg.p", "changes", S_MSG
#define MSG_TXN "_msg.p", "changes", S_MSG_TXN
#define COMMIT	"_txn", "commit", S_COMMIT
#define HB		"_hb", "heartbeat", S_HB
#define TRUE_	S_TRANS, RAW("\xc3")
#define NEST8	"\x91\x91\x91\x91\x91\x91\x91\x91"

/* Frames a decoder must accept: the defaults and what msgpack allows. */
/* clang-format off */
static const spec accepted[] = {
	{NULL, TABLE},
	{NULL, MSG},
	{NULL, MSG_TXN, TRUE_},
	{NULL, COMMIT},
	{NULL, HB},
	/* any key order: "changes" before "kind" and "transactional" */
	{NULL, TABLE,.reverse = true},
	{NULL, MSG_TXN, TRUE_,.reverse = true},
	{NULL, MSG,.reverse = true},
	{NULL, COMMIT,.reverse = true},
	/* any integer width, the kind letter's included */
	{NULL, TABLE, S_CHANGES, RAW("\x91\x93\xcc\x49\x01\x91\x01")},
	{NULL, TABLE, S_CHANGES, RAW("\x91\x93\xcd\x00\x49\x01\x91\x01")},
	{NULL, TABLE, S_CHANGES, RAW("\x91\x93\xd0\x49\x01\x91\x01")},
	{NULL, TABLE, S_CHANGES,
	RAW("\x91\x93\xcf\x00\x00\x00\x00\x00\x00\x00\x49"
		"\xd3\x00\x00\x00\x00\x00\x00\x00\x01\x91\x01")},
	{NULL, TABLE, S_RUN, RAW("\xcf\x00\x1f\xff\xff\xff\xff\xff\xff")},
	{NULL, TABLE, S_SV, RAW("\xcf\x00\x1f\xff\xff\xff\xff\xff\xff")},
	{NULL, TABLE, S_XID, RAW("\xce\xff\xff\xff\xff")},
	/* any container width */
	{NULL, TABLE, S_CHANGES,
	RAW("\xdc\x00\x01\xdc\x00\x03\x49\x01\xdd\x00\x00\x00\x01\x01")},
	/* a first pos near 2^32 */
	{NULL, TABLE, S_CHANGES,
	RAW("\x92\x93\x54\xce\xff\xff\xff\xfe\x00\x93\x54\xce\xff\xff\xff\xff\x00")},
	/* truncate flags: any value */
	{NULL, TABLE, S_CHANGES, RAW("\x91\x93\x54\x01\xce\xff\xff\xff\xff")},
	/* a timestamp in its 96-bit form */
	{NULL, TABLE, S_CTIME,
	RAW("\xc7\x0c\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff")},
	/* unknown keys, however nested or large: skipped */
	{NULL, TABLE,.extra = "future",.extraval = RAW("\x92\x81\xa1" "a\xc0\xa1" "b")},
	{NULL, HB,.extra = "huge",.extraval = RAW("\xcf\xff\xff\xff\xff\xff\xff\xff\xff")},
	{NULL, MSG,.extra = "values",.extraval = RAW("\x90")},
	{NULL, COMMIT,.extra = "pos",.extraval = RAW("\x01")},
	/* reserved topics without a meaning yet: another kind name is fine */
	{NULL, "_msg.", "changes", S_MSG, S_PREFIX, RAW("\xa0")},
};

/* One frame each, differing from a valid one in one way. */
static const spec hostile[] = {
	/* positions */
	{"increase", TABLE, S_CHANGES, RAW("\x92\x93\x49\x02\x90\x93\x49\x01\x90")},
	{"increase", TABLE, S_CHANGES, RAW("\x92\x93\x49\x02\x90\x93\x49\x02\x90")},
	{"increase", TABLE, S_CHANGES,
	RAW("\x92\x93\x54\xce\xff\xff\xff\xff\x00\x93\x54\x00\x00")},
	{"pos 0", TABLE, S_CHANGES, RAW("\x91\x93\x49\x00\x90")},
	{"pos 0", MSG_TXN, S_CHANGES, RAW(CH_MSG_NT),.reverse = true,
	.ov2 = S_TRANS,.ov2val = RAW("\xc3")},
	{"exactly one", MSG, S_CHANGES, RAW(CH_MSG_T)},
	{"exactly one", MSG, S_CHANGES,
	RAW("\x92\x94\x4d\x00\x01\xc4\x00\x94\x4d\x01\x01\xc4\x00")},
	{"pos", TABLE, S_CHANGES,
	RAW("\x91\x93\x49\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x90")},
	{"pos", TABLE, S_CHANGES, RAW("\x91\x93\x49\xff\x90")},
	/* change kinds against topics */
	{"message on a table topic", TABLE, S_CHANGES, RAW(CH_MSG_T)},
	{"insert on a message topic", MSG_TXN, S_CHANGES, RAW(CH_INSERT),
	.ov2 = S_TRANS,.ov2val = RAW("\xc3")},
	{"truncate on a message", MSG, S_CHANGES, RAW("\x91\x93\x54\x00\x00")},
	{"unknown kind 88", TABLE, S_CHANGES, RAW("\x91\x93\x58\x01\x90")},
	{"unknown kind 67", TABLE, S_CHANGES, RAW("\x91\x93\x43\x01\x90")},
	{"non-negative", TABLE, S_CHANGES, RAW("\x91\x93\xd0\xb7\x01\x90")},
	{"expected an integer", TABLE, S_CHANGES, RAW("\x91\x93\xa1I\x01\x90")},
	/* shapes of changes */
	{"no changes", TABLE, S_CHANGES, RAW("\x90")},
	{"no changes", MSG, S_CHANGES, RAW("\xdd\x00\x00\x00\x00")},
	{"insert of 4 elements", TABLE, S_CHANGES, RAW("\x91\x94\x49\x01\x90\xc0")},
	{"array of 5 elements", TABLE, S_CHANGES, RAW("\x91\x95\x55\x01\x90\xc0\xc0")},
	{"delete of 4 elements", TABLE, S_CHANGES, RAW("\x91\x94\x44\x01\xc0\xc0")},
	{"array of 2 elements", TABLE, S_CHANGES, RAW("\x91\x92\x54\x01\xc0")},
	{"message of 3", MSG, S_CHANGES, RAW("\x91\x93\x4d\x00\x01\xc0")},
	{"of 1 elements", TABLE, S_CHANGES, RAW("\x91\x91\x49\xc0\xc0")},
	{"of 0 elements", TABLE, S_CHANGES, RAW("\x91\x90\xc0\xc0\xc0")},
	{"array, found", TABLE, S_CHANGES, RAW("\x91\x49\x01\x90\xc0")},
	{"array, found", TABLE, S_CHANGES, RAW("\x81\xa1x\x90")},
	{"values", TABLE, S_CHANGES, RAW("\x91\x93\x49\x01\xc0")},
	{"value 1", TABLE, S_CHANGES, RAW("\x91\x93\x49\x01\x92\x01\x90")},
	{"value 0", TABLE, S_CHANGES, RAW("\x91\x93\x49\x01\x91\x80")},
	{"value 0", TABLE, S_CHANGES, RAW("\x91\x93\x49\x01\x91\xd4\x05\x00")},
	{"key", TABLE, S_CHANGES, RAW("\x91\x93\x44\x01\x91\x01")},
	{"old key", TABLE, S_CHANGES, RAW("\x91\x94\x55\x01\x90\x80")},
	{"flags", TABLE, S_CHANGES, RAW("\x91\x93\x54\x01\xa1x")},
	{"flags", TABLE, S_CHANGES,
	RAW("\x91\x93\x54\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00")},
	{"content", MSG, S_CHANGES, RAW("\x91\x94\x4d\x00\x01\xa1x")},
	{"lsn", MSG, S_CHANGES, RAW("\x91\x94\x4d\x00\xff\xc4\x00")},
	/* counts that lie */
	{"array of", TABLE, S_CHANGES, RAW("\xdd\xff\xff\xff\xff\x93\x49\x01\x90")},
	{"changes in", TABLE, S_CHANGES, RAW("\xdc\x00\x02\x93\x49\x01\x90")},
	{"array of", TABLE, S_CHANGES, RAW("\x91\x93\x49\x01\xdd\x00\x10\x00\x00\x01")},
	{"array of", TABLE, S_CHANGES, RAW("\x91\x93\x49\x01\x92\x01")},
	{"string of", TABLE, S_CHANGES, RAW("\x91\x93\x49\x01\x91\xdb\x7f\xff\xff\xff")},
	{"binary of", MSG, S_CHANGES, RAW("\x91\x94\x4d\x00\x01\xc6\x7f\xff\xff\xff")},
	{"topics in", COMMIT, S_TOPICS, RAW("\xdc\x00\x03\x93\xa0\x01\x01")},
	{"topic entry 0 of 2", COMMIT, S_TOPICS, RAW("\x91\x92\xa1x\x01")},
	{"topic entry 0", COMMIT, S_TOPICS, RAW("\x91\x93\x01\x01\x01")},
	{"topic entry 0", COMMIT, S_TOPICS,
	RAW("\x91\x93\xa0\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00")},
	/* repeated keys */
	{"repeated", TABLE,.dup = S_RELID},
	{"repeated", TABLE,.dup = S_KIND},
	{"repeated", TABLE,.dup = S_CHANGES},
	{"repeated", MSG,.dup = S_TRANS},
	{"repeated", HB,.dup = S_TIME},
	/* missing keys */
	{"lacks the key \"relid\"", "s.t", "changes", S_TABLE & ~S_RELID},
	{"lacks the key \"schema_version\"", "s.t", "changes", S_TABLE & ~S_SV},
	{"lacks the key \"xid\"", "s.t", "changes", S_TABLE & ~S_XID},
	{"lacks the key \"commit_time\"", "s.t", "changes", S_TABLE & ~S_CTIME},
	{"lacks the key \"changes\"", "s.t", "changes", S_TABLE & ~S_CHANGES},
	{"lacks the key \"run\"", "s.t", "changes", S_TABLE & ~S_RUN},
	{"lacks the key \"tseq\"", "_hb", "heartbeat", S_HB & ~S_TSEQ},
	{"no \"kind\"", "s.t", "changes", S_TABLE & ~S_KIND},
	{"lacks the key \"transactional\"", "_msg.p", "changes", S_MSG & ~S_TRANS},
	{"lacks the key \"prefix\"", "_msg.p", "changes", S_MSG & ~S_PREFIX},
	{"lacks the key \"xid\"", "_msg.p", "changes", S_MSG, TRUE_},
	{"lacks the key \"changes\"", "_msg.p", "changes", S_MSG & ~S_CHANGES},
	{"lacks the key \"topics\"", "_txn", "commit", S_COMMIT & ~S_TOPICS},
	{"lacks the key \"last_pos\"", "_txn", "commit", S_COMMIT & ~S_LAST_POS},
	{"lacks the key \"commit_lsn\"", "_txn", "commit", S_COMMIT & ~S_CLSN},
	{"lacks the key \"time\"", "_hb", "heartbeat", S_HB & ~S_TIME},
	/* keys of another kind */
	{"key \"end_lsn\" of another kind", "s.t", "changes", S_TABLE | S_END_LSN},
	{"key \"transactional\" of another", "s.t", "changes", S_TABLE | S_TRANS},
	{"key \"relid\" of another kind", "_msg.p", "changes", S_MSG | S_RELID},
	{"key \"xid\" of another kind", "_msg.p", "changes", S_MSG_TXN},
	{"key \"xid\" of another kind", "_hb", "heartbeat", S_HB | S_XID},
	{"key \"relid\" of another kind", "_txn", "commit", S_COMMIT | S_RELID},
	{"carries none", "_txn", "commit", S_COMMIT | S_CHANGES},
	{"carries none", "_hb", "heartbeat", S_HB | S_CHANGES},
	/* kinds against topics */
	{"changes frame cannot be on this topic", "_hb", "changes", S_TABLE & ~S_CHANGES},
	{"changes frame cannot be on this topic", "_other", "changes", S_TABLE & ~S_CHANGES},
	{"commit frame cannot be on this topic", "s.t", "commit", S_COMMIT},
	{"commit frame cannot be on this topic", "_msg.p", "commit", S_COMMIT},
	{"heartbeat frame cannot", "_txn", "heartbeat", S_HB},
	{"heartbeat frame cannot", "_hbx", "heartbeat", S_HB},
	{"heartbeat frame cannot", "s.t", "heartbeat", S_HB},
	{"unknown kind \"bogus\"", "s.t", "bogus", S_TABLE},
	{"bus layout 1", "s.t", "insert", S_TABLE},
	{"expected a string", TABLE, S_KIND, RAW("\x01")},
	/* wrong types and ranges */
	{"run", TABLE, S_RUN, RAW("\x00")},
	{"run", TABLE, S_RUN, RAW("\xcf\x00\x20\x00\x00\x00\x00\x00\x00")},
	{"run", TABLE, S_RUN, RAW("\xa1x")},
	{"run", TABLE, S_RUN, RAW("\xff")},
	{"schema_version", TABLE, S_SV, RAW("\x00")},
	{"schema_version", TABLE, S_SV, RAW("\xcf\xff\xff\xff\xff\xff\xff\xff\xff")},
	{"seq", TABLE, S_SEQ, RAW("\xca\x00\x00\x00\x00")},
	{"xid", TABLE, S_XID, RAW("\xcf\x00\x00\x00\x01\x00\x00\x00\x00")},
	{"relid", TABLE, S_RELID, RAW("\xa1x")},
	{"relid", TABLE, S_RELID, RAW("\xd0\xff")},
	{"commit_time", TABLE, S_CTIME, RAW("\x01")},
	{"nanoseconds", TABLE, S_CTIME,
	RAW("\xc7\x0c\xff\x3b\x9a\xca\x00" "\x00\x00\x00\x00\x00\x00\x00\x00")},
	{"timestamp of 5", TABLE, S_CTIME, RAW("\xc7\x05\xff\x00\x00\x00\x00\x00")},
	{"extension 1", TABLE, S_CTIME, RAW("\xd6\x01\x00\x00\x00\x01")},
	{"transactional", MSG, S_TRANS, RAW("\x01")},
	{"prefix", MSG, S_PREFIX, RAW("\xc4\x01p")},
	{"changes", TABLE, S_CHANGES, RAW("\x80")},
	{"changes", TABLE, S_CHANGES, RAW("\xc0")},
	{"end_lsn", COMMIT, S_END_LSN, RAW("\xc0")},
	{"frames", COMMIT, S_FRAMES, RAW("\xcf\x00\x00\x00\x01\x00\x00\x00\x00")},
	{"topics", COMMIT, S_TOPICS, RAW("\x80")},
	{"time", HB, S_TIME, RAW("\xc0")},
	{"flushed_lsn", HB, S_FLSN, RAW("\xd3\xff\xff\xff\xff\xff\xff\xff\xff")},
	/* what follows the map, and what an unknown key may not hold */
	{"1 bytes after the frame", TABLE,.after = RAW("\xc0")},
	{"bytes after the frame", HB,.after = RAW("\x81\xa1x\x01")},
	{"nesting", TABLE,.extra = "deep",
	.extraval = RAW(NEST8 NEST8 NEST8 NEST8 "\x91\x91\xc0")},
	{"invalid", TABLE,.extra = "bad",.extraval = RAW("\xc1")},
	{"string of 255", TABLE,.extra = "cut",.extraval = RAW("\xd9\xff")},
};
/* clang-format on */

static void
run_specs(const spec *specs, size_t n)
{
	buf		  b = {0};
	wbe_dec	  d;
	wbe_frame f;

	wbe_dec_init(&d);
	for (size_t i = 0; i < n; i++)
	{
		int rc;

		spec_build(&specs[i], &b);
		rc = wbe_decode(&d, b.data, b.len, &f);
		if (specs[i].what == NULL)
		{
			if (rc != WB_OK)
				fail_msg("case %zu rejected: %s", i, wbe_dec_errmsg(&d));
			continue;
		}
		if (rc == WB_OK)
			fail_msg("case %zu (\"%s\") accepted", i, specs[i].what);
		assert_int_equal(rc, WB_EMALFORMED);
		if (strstr(wbe_dec_errmsg(&d), specs[i].what) == NULL)
			fail_msg("case %zu: error \"%s\" does not mention \"%s\"", i,
					 wbe_dec_errmsg(&d), specs[i].what);
		/* and the message names the topic */
		if (strstr(wbe_dec_errmsg(&d), specs[i].topic) == NULL)
			fail_msg("case %zu: error \"%s\" does not name the topic", i,
					 wbe_dec_errmsg(&d));
	}
	wbe_dec_free(&d);
	buf_free(&b);
}

static void
test_accepted_variants(void **state)
{
	buf		  b = {0};
	wbe_dec	  d;
	wbe_frame f;

	(void) state;
	run_specs(accepted, lengthof(accepted));

	/* what the reversed message frame decodes to */
	wbe_dec_init(&d);
	spec_build(&accepted[6], &b);
	decode_ok(&d, &b, &f);
	assert_true(f.transactional);
	assert_true(f.in_txn);
	assert_int_equal(f.txn.xid, 7);
	assert_int_equal(f.changes[0].pos, 1);
	assert_int_equal(f.changes[0].kind, WBE_MESSAGE);

	/* the wide kind letter is still 'I' */
	spec_build(&accepted[12], &b);
	decode_ok(&d, &b, &f);
	assert_int_equal(f.changes[0].kind, WBE_INSERT);
	assert_int_equal(f.changes[0].pos, 1);
	assert_int_equal(f.changes[0].values[0].v.i, 1);
	wbe_dec_free(&d);
	buf_free(&b);
}

static void
test_hostile_frames(void **state)
{
	(void) state;
	run_specs(hostile, lengthof(hostile));
}

/* What is wrong before the map: the topic, the container, its count. */
static void
test_hostile_bytes(void **state)
{
	/* clang-format off */
	static const unsigned char map32_huge[] = {'t', 0, 0xdf, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char str_too_long[] = {'t', 0, 0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
	static const unsigned char not_a_map[] = {'t', 0, 0x92, 0x01, 0x02};
	static const unsigned char no_topic[] = {0, 0x80};
	static const unsigned char no_nul[] = {'t', 'o', 'p'};
	static const unsigned char empty_map[] = {'t', 0, 0x80};
	static const unsigned char key_not_str[] = {'t', 0, 0x81, 0x01, 0x01};
	static const unsigned char nothing[] = {'t', 0};
	/* clang-format on */

	(void) state;
	expect_malformed(map32_huge, sizeof(map32_huge), "map of");
	expect_malformed(str_too_long, sizeof(str_too_long), "string of");
	expect_malformed(not_a_map, sizeof(not_a_map), "expected a map");
	expect_malformed(no_topic, sizeof(no_topic), "no topic");
	expect_malformed(no_nul, sizeof(no_nul), "no topic");
	expect_malformed(no_nul, 0, "no topic");
	expect_malformed(empty_map, sizeof(empty_map), "kind");
	expect_malformed(key_not_str, sizeof(key_not_str), "key 0");
	expect_malformed(nothing, sizeof(nothing), "topic \"t\"");
}

/* At most 1664 values in a change, like in a plugin record. */
static void
test_too_many_values(void **state)
{
	buf		  b = {0};
	wb_enc	  e;
	wbe_dec	  d;
	wbe_frame f;
	size_t	  hdr;

	(void) state;
	for (int n = WB_MAX_COLUMNS; n <= WB_MAX_COLUMNS + 1; n++)
	{
		b.len = 0;
		wb_enc_init(&e, buf_write, &b);
		wbe_enc_topic(&e, "s.t", 3);
		wbe_enc_frame_table(&e, &head, &txn, 1, 2);
		hdr = changes_hdr(&b);
		wbe_enc_change_start(&e, WBE_INSERT, 1, 1);
		wbe_enc_values_start(&e, n);
		for (int i = 0; i < n; i++)
			wb_enc_v_nil(&e);
		wbe_patch_changes_count(b.data + hdr, 1);
		assert_false(wb_enc_failed(&e));
		if (n == WB_MAX_COLUMNS)
		{
			wbe_dec_init(&d);
			decode_ok(&d, &b, &f);
			assert_int_equal(f.changes[0].nvalues, WB_MAX_COLUMNS);
			wbe_dec_free(&d);
		}
		else
			expect_malformed(b.data, b.len, "1665 values, more than 1664");
	}
	buf_free(&b);
}

/* Random bytes, and random damage to valid frames, never crash. */
static void
test_random_bytes(void **state)
{
	unsigned char data[64];
	buf			  valid[5];
	int			  nvalid;
	wbe_dec		  d;
	wbe_frame	  f;
	unsigned int  seed = 12345;

	(void) state;
	wbe_dec_init(&d);
	for (int iter = 0; iter < 20000; iter++)
	{
		size_t n = 2 + rand_r(&seed) % (sizeof(data) - 2);

		data[0] = 't';
		data[1] = 0;
		for (size_t i = 2; i < n; i++)
			data[i] = (unsigned char) rand_r(&seed);
		/* bias towards maps so decoding goes deeper */
		if (iter % 2)
			data[2] = 0x80 | (data[2] & 0x0f);
		(void) wbe_decode(&d, data, n, &f);
	}

	valid_frames(valid, &nvalid);
	for (int iter = 0; iter < 20000; iter++)
	{
		buf			  *v = &valid[iter % nvalid];
		unsigned char *copy = malloc(v->len);
		int			   flips = 1 + rand_r(&seed) % 3;

		memcpy(copy, v->data, v->len);
		for (int k = 0; k < flips; k++)
			copy[rand_r(&seed) % v->len] = (unsigned char) rand_r(&seed);
		if (wbe_decode(&d, copy, v->len, &f) == WB_OK)
		{
			/* whatever was accepted is a whole, consistent frame */
			for (uint32_t i = 1; i < f.nchanges; i++)
				assert_true(f.changes[i].pos > f.changes[i - 1].pos);
		}
		free(copy);
	}
	for (int k = 0; k < nvalid; k++)
		buf_free(&valid[k]);
	wbe_dec_free(&d);
}

static void
test_kind_names(void **state)
{
	(void) state;
	assert_string_equal(wbe_kind_name(WBE_INSERT), "insert");
	assert_string_equal(wbe_kind_name(WBE_UPDATE), "update");
	assert_string_equal(wbe_kind_name(WBE_DELETE), "delete");
	assert_string_equal(wbe_kind_name(WBE_TRUNCATE), "truncate");
	assert_string_equal(wbe_kind_name(WBE_MESSAGE), "message");
	assert_string_equal(wbe_kind_name(WBE_COMMIT), "commit");
	assert_string_equal(wbe_kind_name(WBE_HEARTBEAT), "heartbeat");
	assert_null(wbe_kind_name((wbe_kind) 'F'));
}

/* ---------------------------------------------------------------- control */

static void
test_control_requests(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wbc_request req;
	char		err[160];
	/* clang-format off */
	static const unsigned char unknown_op[] = {0x81, 0xa2, 'o', 'p', 0xa4, 'b', 'o', 'o', 'm'};
	static const unsigned char no_op[] = {0x80};
	static const unsigned char bad_relid[] = {0x82, 0xa2, 'o', 'p', 0xa6, 's', 'c', 'h', 'e', 'm', 'a', 0xa5, 'r', 'e', 'l', 'i', 'd', 0xa1, 'x'};
	/* clang-format on */

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_schema_request(&e, 16385, 1234567);
	assert_int_equal(wbc_decode_request(b.data, b.len, &req, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(req.op, WBC_OP_SCHEMA);
	assert_true(req.has_relid && req.has_schema_version);
	assert_int_equal(req.relid, 16385);
	assert_int_equal(req.schema_version, 1234567);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_status_request(&e);
	assert_int_equal(wbc_decode_request(b.data, b.len, &req, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(req.op, WBC_OP_STATUS);

	assert_int_equal(wbc_decode_request(unknown_op, sizeof(unknown_op), &req,
										err, sizeof(err)),
					 WB_OK);
	assert_int_equal(req.op, WBC_OP_UNKNOWN);
	assert_memory_equal(req.op_name.ptr, "boom", 4);
	assert_int_equal(wbc_decode_request(no_op, sizeof(no_op), &req, err,
										sizeof(err)),
					 WB_EMALFORMED);
	assert_int_equal(wbc_decode_request(bad_relid, sizeof(bad_relid), &req,
										err, sizeof(err)),
					 WB_EMALFORMED);
	assert_int_equal(wbc_decode_request("", 0, &req, err, sizeof(err)),
					 WB_EMALFORMED);
	buf_free(&b);
}

static void
test_control_responses(void **state)
{
	buf		   b = {0};
	wb_enc	   e;
	char	   err[160];
	bool	   ok;
	wb_str	   code, msg;
	wbc_schema sc;
	wbc_status st = {0}, got;

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	{
		wbc_column cols[2] = {
			{{"id", 2}, 23, -1, {"integer", 7}, 1},
			{{"price", 5}, 1700, 655366, {"numeric(10,2)", 13}, 3},
		};
		wbc_schema def = {16385, 77, {"public", 6}, {"contacts", 8}, 2200,
						  0,	 2,	 cols};

		wbc_enc_table(&e, &def, true);
	}
	assert_false(wb_enc_failed(&e));
	assert_int_equal(wbc_decode_result(b.data, b.len, &ok, &code, &msg, err,
									   sizeof(err)),
					 WB_OK);
	assert_true(ok);
	assert_int_equal(wbc_decode_schema(b.data, b.len, &sc, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(sc.relid, 16385);
	assert_int_equal(sc.schema_version, 77);
	assert_memory_equal(sc.table.ptr, "contacts", 8);
	assert_int_equal(sc.ncolumns, 2);
	assert_memory_equal(sc.columns[1].name.ptr, "price", 5);
	assert_int_equal(sc.columns[1].typoid, 1700);
	assert_int_equal(sc.columns[1].typmod, 655366);
	assert_int_equal(sc.columns[0].typmod, -1);
	assert_memory_equal(sc.columns[1].typname.ptr, "numeric(10,2)", 13);
	assert_int_equal(sc.columns[0].attnum, 1);
	assert_int_equal(sc.columns[1].attnum, 3);
	assert_int_equal(sc.schema_oid, 2200);
	free(sc.columns);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_error(&e, WBC_ERR_NOT_FOUND, "no such version");
	assert_int_equal(wbc_decode_result(b.data, b.len, &ok, &code, &msg, err,
									   sizeof(err)),
					 WB_OK);
	assert_false(ok);
	assert_memory_equal(code.ptr, "not_found", 9);
	assert_memory_equal(msg.ptr, "no such version", 15);

	b.len = 0;
	st.run = 99;
	st.slot = (wb_str) {"walbus", 6};
	st.state = (wb_str) {"streaming", 9};
	st.delivery = (wb_str) {"best_effort", 11};
	st.flushed_lsn = 0x16B3748;
	st.lag_bytes = 10;
	st.control_requests = 3;
	st.nconsumers = 2;
	st.consumers[0].name = (wb_str) {"crm", 3};
	st.consumers[0].connected = 1;
	st.consumers[0].acked_lsn = 0x16B0000;
	st.consumers[1].name = (wb_str) {"erp", 3};
	st.consumers[1].over_lag_limit = 1;
	st.consumers[1].lag_bytes = 1 << 30;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_status(&e, &st);
	assert_int_equal(wbc_decode_status(b.data, b.len, &got, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(got.run, 99);
	assert_memory_equal(got.slot.ptr, "walbus", 6);
	assert_memory_equal(got.state.ptr, "streaming", 9);
	assert_int_equal(got.flushed_lsn, 0x16B3748);
	assert_int_equal(got.lag_bytes, 10);
	assert_int_equal(got.control_requests, 3);
	assert_int_equal(got.nconsumers, 2);
	assert_memory_equal(got.consumers[0].name.ptr, "crm", 3);
	assert_int_equal(got.consumers[0].connected, 1);
	assert_int_equal(got.consumers[0].acked_lsn, 0x16B0000);
	assert_int_equal(got.consumers[1].connected, 0);
	assert_int_equal(got.consumers[1].over_lag_limit, 1);
	assert_int_equal(got.consumers[1].lag_bytes, 1 << 30);

	/* more consumers than a status may list: refused both ways */
	st.nconsumers = WBC_MAX_CONSUMERS + 1;
	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_status(&e, &st);
	assert_true(wb_enc_failed(&e));
	{
		/* {"consumers": array16 of 17 empty maps} */
		unsigned char many[1 + 10 + 3 + WBC_MAX_CONSUMERS + 1];
		size_t		  n = 0;

		many[n++] = 0x81;
		many[n++] = 0xa9;
		memcpy(many + n, "consumers", 9);
		n += 9;
		many[n++] = 0xdc;
		many[n++] = 0;
		many[n++] = WBC_MAX_CONSUMERS + 1;
		for (int i = 0; i <= WBC_MAX_CONSUMERS; i++)
			many[n++] = 0x80;
		assert_int_equal(wbc_decode_status(many, n, &got, err, sizeof(err)),
						 WB_EMALFORMED);
	}
	buf_free(&b);
}

/*
 * Every field of WBC_STATUS_FIELDS, each with a value of its own (numbers
 * above 32 bits, strings spelling the field's name), survives encode and
 * decode; the response's keys are "ok", "consumers" and the list's names
 * in the list's order, nothing else.
 */
#define STATUS_SET_UINT(f)			st.f = v++;
#define STATUS_SET_LSN(f)			st.f = v++;
#define STATUS_SET_FLAG(f)			st.f = v++ & 1;
#define STATUS_SET_STR(f)			st.f = (wb_str) {#f, sizeof(#f) - 1};
#define STATUS_SET(name, kind, doc) STATUS_SET_##kind(name)
#define STATUS_CHECK_UINT(f)		assert_int_equal(got.f, v++);
#define STATUS_CHECK_LSN(f)			assert_int_equal(got.f, v++);
#define STATUS_CHECK_FLAG(f)		assert_int_equal(got.f, v++ & 1);
#define STATUS_CHECK_STR(f) \
	assert_int_equal(got.f.len, sizeof(#f) - 1); \
	assert_memory_equal(got.f.ptr, #f, sizeof(#f) - 1);
#define STATUS_CHECK(name, kind, doc) STATUS_CHECK_##kind(name)
#define STATUS_NAME(name, kind, doc)  #name,

static void
test_status_every_field(void **state)
{
	static const char *const names[] = {WBC_STATUS_FIELDS(STATUS_NAME)};
	buf						 b = {0};
	wb_enc					 e;
	wbc_status				 st = {0}, got;
	char					 err[160];
	uint64_t				 v;
	mpr						 r;
	uint32_t				 n;

	(void) state;
	v = UINT64_C(0x1234500000001);
	WBC_STATUS_FIELDS(STATUS_SET)
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_status(&e, &st);
	assert_false(wb_enc_failed(&e));

	memset(&got, 0xA5, sizeof(got));
	assert_int_equal(wbc_decode_status(b.data, b.len, &got, err, sizeof(err)),
					 WB_OK);
	v = UINT64_C(0x1234500000001);
	WBC_STATUS_FIELDS(STATUS_CHECK)
	assert_int_equal(got.nconsumers, 0);

	mpr_init(&r, b.data, b.len);
	assert_true(mpr_map(&r, &n));
	assert_int_equal(n, 2 + lengthof(names));
	for (uint32_t i = 0; i < n; i++)
	{
		wb_str key;

		assert_true(mpr_str(&r, &key));
		if (i == 0)
			assert_true(mpr_str_eq(key, "ok"));
		else if (i == 1)
			assert_true(mpr_str_eq(key, "consumers"));
		else
			assert_true(mpr_str_eq(key, names[i - 2]));
		mpr_skip(&r);
	}
	assert_false(r.failed);
	assert_int_equal(mpr_left(&r), 0);
	buf_free(&b);
}

/* hello, ack and replay: round trips and hostile replies. */
static void
test_control_durable(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wbc_request req;
	wbc_hello	h = {7, true, 0x1000, 0xF00, 3, 0x2000}, hg;
	wbc_replay	rp;
	uint64_t	flushed;
	char		err[160];
	wb_str		prefixes[2] = {{"public.contacts\0", 16}, {"sales.", 6}};
	/* {"status": "data", "messages": array of 200 elements, none present} */
	/* clang-format off */
	static const unsigned char lying[] = {0x82, 0xa6, 's', 't', 'a', 't', 'u', 's',
		0xa4, 'd', 'a', 't', 'a', 0xa8, 'm', 'e', 's', 's', 'a', 'g', 'e', 's',
	0xdc, 0x00, 0xc8};
	/* clang-format on */

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_ack_request(&e, "crm", 3, 0x16B3748, 12, 0x16B3800, NULL);
	assert_int_equal(wbc_decode_request(b.data, b.len, &req, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(req.op, WBC_OP_ACK);
	assert_true(req.has_consumer && req.has_key);
	assert_false(req.has_release);
	assert_memory_equal(req.consumer.ptr, "crm", 3);
	assert_int_equal(req.commit_lsn, 0x16B3748);
	assert_int_equal(req.pos, 12);
	assert_int_equal(req.end_lsn, 0x16B3800);

	/* an ack that lets the window forget further than it applied */
	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_ack_request(&e, "crm", 3, 0x16B3748, 12, 0x16B3800,
						&(wbc_key) {.lsn = 0x16B4000, .pos = 3});
	assert_int_equal(wbc_decode_request(b.data, b.len, &req, err, sizeof(err)),
					 WB_OK);
	assert_true(req.has_key && req.has_release);
	assert_int_equal(req.release.lsn, 0x16B4000);
	assert_int_equal(req.release.pos, 3);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_replay_request(&e, NULL, 0, 5, WBC_POS_COMMIT, prefixes, 2, 4096);
	assert_int_equal(wbc_decode_request(b.data, b.len, &req, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(req.op, WBC_OP_REPLAY);
	assert_false(req.has_consumer);
	assert_true(req.has_key);
	assert_int_equal(req.pos, WBC_POS_COMMIT);
	assert_int_equal(req.nprefixes, 2);
	assert_int_equal(req.prefixes[0].len, 16);
	assert_memory_equal(req.prefixes[1].ptr, "sales.", 6);
	assert_int_equal(req.max_bytes, 4096);

	/* more prefixes than a request may carry: refused both ways */
	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_replay_request(&e, "x", 1, 1, 1, prefixes, WBC_MAX_PREFIXES + 1,
						   0);
	assert_true(wb_enc_failed(&e));

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_hello_request(&e, "crm", 3);
	assert_int_equal(wbc_decode_request(b.data, b.len, &req, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(req.op, WBC_OP_HELLO);
	assert_false(req.has_key);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_hello(&e, &h);
	assert_int_equal(wbc_decode_hello(b.data, b.len, &hg, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(hg.run, 7);
	assert_true(hg.durable);
	assert_int_equal(hg.acked_lsn, 0x1000);
	assert_int_equal(hg.acked_commit_lsn, 0xF00);
	assert_int_equal(hg.acked_pos, 3);
	assert_int_equal(hg.flushed_lsn, 0x2000);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_ack(&e, 0x3000);
	assert_int_equal(wbc_decode_ack(b.data, b.len, &flushed, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(flushed, 0x3000);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_replay_start(&e, WBC_REPLAY_DATA, 7, 42, true, 2);
	wbc_enc_replay_message(&e, "a\0\x80", 3);
	wbc_enc_replay_message(&e, "bc\0\x80", 4);
	assert_false(wb_enc_failed(&e));
	assert_int_equal(wbc_decode_replay(b.data, b.len, &rp, err, sizeof(err)),
					 WB_OK);
	assert_memory_equal(rp.status.ptr, "data", 4);
	assert_int_equal(rp.run, 7);
	assert_int_equal(rp.last_seq, 42);
	assert_true(rp.end);
	assert_int_equal(rp.nmessages, 2);
	assert_int_equal(rp.messages[1].len, 4);
	assert_memory_equal(rp.messages[1].ptr, "bc\0\x80", 4);
	free(rp.messages);

	/* every prefix of a reply fails cleanly; a lying count is caught */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(wbc_decode_replay(b.data, n, &rp, err, sizeof(err)),
						 WB_EMALFORMED);
	assert_int_equal(wbc_decode_replay(lying, sizeof(lying), &rp, err,
									   sizeof(err)),
					 WB_EMALFORMED);
	assert_null(rp.messages);
	buf_free(&b);
}

/* ---------------------------------------------------------- schema events */

static bool
change_is(const wbs_change *c, wbs_change_kind kind, int32_t attnum,
		  const char *from, const char *to)
{
	return c->kind == kind && c->attnum == attnum &&
		(from == NULL ? c->from.ptr == NULL :
						(c->from.len == strlen(from) &&
						 memcmp(c->from.ptr, from, c->from.len) == 0)) &&
		(to == NULL ? c->to.ptr == NULL :
					  (c->to.len == strlen(to) &&
					   memcmp(c->to.ptr, to, c->to.len) == 0));
}

/* clang-format off */
#define COL(n, oid, mod, t, att) {{n, sizeof(n) - 1}, oid, mod, {t, sizeof(t) - 1}, att}
/* clang-format on */

/*
 * The diff goes by attnum: a new name on the same attnum is a rename, a
 * new attnum an added column, a DROP and ADD of one name two changes.
 */
static void
test_schema_diff(void **state)
{
	wbc_column a_cols[] = {
		COL("id", 23, -1, "integer", 1),
		COL("name", 25, -1, "text", 2),
		COL("score", 1700, 655366, "numeric(10,2)", 3),
		COL("email", 25, -1, "text", 4),
	};
	wbc_column b_cols[] = {
		COL("id", 23, -1, "integer", 1),
		COL("full_name", 25, -1, "text", 2),
		COL("score", 1700, 786438, "numeric(12,2)", 3),
		COL("email", 25, -1, "text", 6),
		COL("born", 1082, -1, "date", 7),
	};
	wbc_schema a = {16400, 11, {"public", 6}, {"contacts", 8}, 2200,
					0,	   4,  a_cols};
	wbc_schema b = {16400, 12, {"crm", 3}, {"people", 6}, 2200, 0, 5, b_cols};
	wbs_change out[WBS_MAX_CHANGES];
	uint32_t   n;

	(void) state;
	assert_int_equal(wbs_diff(&a, &a, out), 0);

	n = wbs_diff(&a, &b, out);
	assert_int_equal(n, 7);
	assert_true(
		change_is(&out[0], WBS_TABLE_RENAMED, 0, "contacts", "people"));
	/* same schema OID, new name: the schema was renamed */
	assert_true(change_is(&out[1], WBS_SCHEMA_RENAMED, 0, "public", "crm"));
	/* email dropped (attnum 4) and added again (6): never a rename */
	assert_true(change_is(&out[2], WBS_COLUMN_DROPPED, 4, "email", NULL));
	assert_true(
		change_is(&out[3], WBS_COLUMN_RENAMED, 2, "name", "full_name"));
	assert_true(change_is(&out[4], WBS_COLUMN_TYPE_CHANGED, 3, "numeric(10,2)",
						  "numeric(12,2)"));
	assert_true(change_is(&out[5], WBS_COLUMN_ADDED, 6, NULL, "email"));
	assert_true(change_is(&out[6], WBS_COLUMN_ADDED, 7, NULL, "born"));

	/* another schema OID: SET SCHEMA; the key moves to attnum 6 */
	b.schema_oid = 16390;
	b.key_index = 3;
	n = wbs_diff(&a, &b, out);
	assert_true(change_is(&out[1], WBS_TABLE_MOVED, 0, "public", "crm"));
	assert_true(change_is(&out[n - 1], WBS_KEY_CHANGED, 6, "id", "email"));
	assert_int_equal(out[n - 1].from_attnum, 1);
}

static void
test_schema_event_roundtrip(void **state)
{
	wbc_column a_cols[] = {COL("id", 23, -1, "integer", 1),
						   COL("name", 25, -1, "text", 2)};
	wbc_column b_cols[] = {COL("id", 23, -1, "integer", 1),
						   COL("nick", 25, -1, "text", 2)};
	wbc_schema a = {16400, 11, {"public", 6}, {"contacts", 8}, 2200,
					0,	   2,  a_cols};
	wbc_schema b = {16400, 12, {"public", 6}, {"people", 6}, 2200,
					0,	   2,  b_cols};
	wbs_change changes[WBS_MAX_CHANGES];
	uint32_t   n = wbs_diff(&a, &b, changes);
	buf		   bb = {0};
	wb_enc	   e;
	wbs_event  ev;
	char	   err[160];
	wbe_dec	   d;
	wbe_frame  f;
	wbe_head   h = {7, 1, 1};
	wbe_txn	   t = {740, 0x1000, {1700000000, 0}};

	(void) state;
	/* a frame on _schema with one event */
	wb_enc_init(&e, buf_write, &bb);
	wbe_enc_topic(&e, WBE_TOPIC_SCHEMA, strlen(WBE_TOPIC_SCHEMA));
	wbe_enc_frame_schema(&e, &h, &t, 16400);
	wbe_patch_changes_count(bb.data + bb.len - WBE_CHANGES_HDR_LEN, 1);
	wbe_enc_change_start(&e, WBE_SCHEMA, 3, 1);
	wbs_enc_event(&e, WBS_TABLE_CHANGED, 16400, "public.people", 13,
				  "public.contacts", 15, &b, &a, NULL, 0, changes, n);
	assert_false(wb_enc_failed(&e));

	wbe_dec_init(&d);
	assert_int_equal(wbe_decode(&d, bb.data, bb.len, &f), WB_OK);
	assert_int_equal(f.relid, 16400);
	assert_true(f.in_txn);
	assert_int_equal(f.nchanges, 1);
	assert_int_equal(f.changes[0].kind, WBE_SCHEMA);
	assert_int_equal(f.changes[0].pos, 3);

	assert_int_equal(wbs_decode_event(f.changes[0].content.ptr,
									  f.changes[0].content.len, &ev, err,
									  sizeof(err)),
					 WB_OK);
	assert_int_equal(ev.kind, WBS_TABLE_CHANGED);
	assert_int_equal(ev.relid, 16400);
	assert_memory_equal(ev.topic.ptr, "public.people", 13);
	assert_memory_equal(ev.previous_topic.ptr, "public.contacts", 15);
	assert_true(ev.has_table && ev.has_previous);
	assert_int_equal(ev.table.schema_version, 12);
	assert_int_equal(ev.table.columns[1].attnum, 2);
	assert_memory_equal(ev.previous.columns[1].name.ptr, "name", 4);
	assert_null(ev.reason.ptr);
	assert_int_equal(ev.nchanges, 2);
	assert_true(
		change_is(&ev.changes[0], WBS_TABLE_RENAMED, 0, "contacts", "people"));
	assert_true(
		change_is(&ev.changes[1], WBS_COLUMN_RENAMED, 2, "name", "nick"));
	wbs_event_free(&ev);

	/* a withdrawal: no definition, a reason */
	bb.len = 0;
	wb_enc_init(&e, buf_write, &bb);
	wbs_enc_event(&e, WBS_TABLE_WITHDRAWN, 16400, "public.people", 13, NULL, 0,
				  NULL, &b, "not owned", 9, NULL, 0);
	assert_int_equal(wbs_decode_event(bb.data, bb.len, &ev, err, sizeof(err)),
					 WB_OK);
	assert_false(ev.has_table);
	assert_true(ev.has_previous);
	assert_memory_equal(ev.reason.ptr, "not owned", 9);
	wbs_event_free(&ev);

	/* malformed: an unknown event, a missing relid, a schema event that is
	 * not a map inside a frame */
	{
		/* clang-format off */
		static const char unknown[] = "\x83\xa5" "event" "\xa3" "zap"
			"\xa5" "relid" "\x01" "\xa5" "topic" "\xa1" "t";
		static const char norelid[] = "\x82\xa5" "event" "\xaa" "table_seen"
			"\xa5" "topic" "\xa1" "t";
		/* clang-format on */

		assert_int_equal(wbs_decode_event(unknown, sizeof(unknown) - 1, &ev,
										  err, sizeof(err)),
						 WB_EMALFORMED);
		assert_non_null(strstr(err, "unknown event"));
		assert_int_equal(wbs_decode_event(norelid, sizeof(norelid) - 1, &ev,
										  err, sizeof(err)),
						 WB_EMALFORMED);
	}
	bb.len = 0;
	wb_enc_init(&e, buf_write, &bb);
	wbe_enc_topic(&e, WBE_TOPIC_SCHEMA, strlen(WBE_TOPIC_SCHEMA));
	wbe_enc_frame_schema(&e, &h, &t, 16400);
	wbe_patch_changes_count(bb.data + bb.len - WBE_CHANGES_HDR_LEN, 1);
	wbe_enc_change_start(&e, WBE_SCHEMA, 3, 1);
	wb_enc_v_int(&e, 5);
	assert_int_equal(wbe_decode(&d, bb.data, bb.len, &f), WB_EMALFORMED);
	assert_non_null(strstr(wbe_dec_errmsg(&d), "is a map"));

	wbe_dec_free(&d);
	free(bb.data);
}

/* Read changes on table topics, backfill events on _backfill. */
static void
test_backfill_frames(void **state)
{
	buf		  bb = {0};
	wb_enc	  e;
	wbe_dec	  d;
	wbe_frame f;
	wbb_event ev = {WBB_FAILED,
					9,
					16400,
					{"public.t", 8},
					12,
					3,
					{"the table was dropped", 21}};
	wbb_event got;
	char	  err[160];
	wbe_head  h = {7, 1, 1};
	wbe_txn	  t = {740, 0x1000, {1700000000, 0}};

	(void) state;
	wbe_dec_init(&d);
	wb_enc_init(&e, buf_write, &bb);
	wbe_enc_topic(&e, WBE_TOPIC_BACKFILL, strlen(WBE_TOPIC_BACKFILL));
	wbe_enc_frame_schema(&e, &h, &t, 16400);
	wbe_patch_changes_count(bb.data + bb.len - WBE_CHANGES_HDR_LEN, 1);
	wbe_enc_change_start(&e, WBE_BACKFILL, 4, 1);
	wbb_enc_event(&e, &ev);
	assert_false(wb_enc_failed(&e));
	assert_int_equal(wbe_decode(&d, bb.data, bb.len, &f), WB_OK);
	assert_int_equal(f.changes[0].kind, WBE_BACKFILL);
	assert_int_equal(wbb_decode_event(f.changes[0].content.ptr,
									  f.changes[0].content.len, &got, err,
									  sizeof(err)),
					 WB_OK);
	assert_int_equal(got.kind, WBB_FAILED);
	assert_int_equal(got.backfill, 9);
	assert_int_equal(got.rows, 12);
	assert_memory_equal(got.reason.ptr, "the table was dropped", 21);
	assert_memory_equal(got.topic.ptr, "public.t", 8);

	/* a read is an insert's shape, on a table topic only */
	bb.len = 0;
	wb_enc_init(&e, buf_write, &bb);
	wbe_enc_topic(&e, "public.t", 8);
	wbe_enc_frame_table(&e, &h, &t, 16400, 5);
	wbe_patch_changes_count(bb.data + bb.len - WBE_CHANGES_HDR_LEN, 1);
	wbe_enc_change_start(&e, WBE_READ, 6, 1);
	wbe_enc_values_start(&e, 1);
	wb_enc_v_int(&e, 42);
	assert_int_equal(wbe_decode(&d, bb.data, bb.len, &f), WB_OK);
	assert_int_equal(f.changes[0].kind, WBE_READ);
	assert_int_equal(f.changes[0].nvalues, 1);
	assert_int_equal(f.changes[0].values[0].v.i, 42);
	assert_string_equal(wbe_kind_name(WBE_READ), "read");

	bb.len = 0;
	wb_enc_init(&e, buf_write, &bb);
	wbe_enc_topic(&e, WBE_TOPIC_BACKFILL, strlen(WBE_TOPIC_BACKFILL));
	wbe_enc_frame_schema(&e, &h, &t, 16400);
	wbe_patch_changes_count(bb.data + bb.len - WBE_CHANGES_HDR_LEN, 1);
	wbe_enc_change_start(&e, WBE_READ, 6, 1);
	wbe_enc_values_start(&e, 1);
	wb_enc_v_int(&e, 42);
	assert_int_equal(wbe_decode(&d, bb.data, bb.len, &f), WB_EMALFORMED);

	/* malformed events: unknown kind, no topic */
	{
		/* clang-format off */
		static const char unknown[] = "\x83\xa5" "event" "\xa3" "zap"
			"\xa8" "backfill" "\x01" "\xa5" "topic" "\xa1" "t";
		static const char notopic[] = "\x82\xa5" "event" "\xa4" "done"
			"\xa8" "backfill" "\x01";
		/* clang-format on */

		assert_int_equal(wbb_decode_event(unknown, sizeof(unknown) - 1, &got,
										  err, sizeof(err)),
						 WB_EMALFORMED);
		assert_non_null(strstr(err, "unknown backfill event"));
		assert_int_equal(wbb_decode_event(notopic, sizeof(notopic) - 1, &got,
										  err, sizeof(err)),
						 WB_EMALFORMED);
	}
	wbe_dec_free(&d);
	free(bb.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_quoting),
		cmocka_unit_test(test_topic_prefixes),
		cmocka_unit_test(test_table_frame_roundtrip),
		cmocka_unit_test(test_message_frames),
		cmocka_unit_test(test_commit_heartbeat_roundtrip),
		cmocka_unit_test(test_patched_count),
		cmocka_unit_test(test_encoder_refuses),
		cmocka_unit_test(test_differential_splice),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_accepted_variants),
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_control_requests),
		cmocka_unit_test(test_control_responses),
		cmocka_unit_test(test_status_every_field),
		cmocka_unit_test(test_control_durable),
		cmocka_unit_test(test_schema_diff),
		cmocka_unit_test(test_schema_event_roundtrip),
		cmocka_unit_test(test_backfill_frames),
	};

	return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
