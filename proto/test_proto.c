/*-------------------------------------------------------------------------
 *
 * test_proto.c
 *	  cmocka unit tests of the walbus record codec (record.c, on mpread.c).
 *
 * Round trips encode every record kind and value type with the encoder
 * into a growable buffer and compare the decoded record field by field;
 * the raw tails of changes must be the very bytes after relid.
 * Table-driven tests then feed the decoder every strict prefix of valid
 * records (all must be WB_ETRUNC), hand-written hostile byte strings
 * (each with the code it must produce) and a few whose whole message is
 * checked, since it must say what and where.  The encoder's sticky error
 * is checked with a write callback that fails after N bytes.
 *
 * Run with "make -C proto check"; exits nonzero if any test fails.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "walbus_proto.h"

/* ------------------------------------------------------- test helpers */

/* A growable output buffer for the encoder. */
typedef struct tbuf
{
	char  *data;
	size_t len;
	size_t cap;
} tbuf;

static int
tbuf_write(void *ctx, const char *buf, size_t len)
{
	tbuf *b = ctx;

	if (b->len + len > b->cap)
	{
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (b->data == NULL)
			return -1;
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return 0;
}

static void
tbuf_reset(tbuf *b)
{
	b->len = 0;
}

static void
tbuf_free(tbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Decode exactly one record that must span the whole buffer. */
static void
decode_whole(wb_dec *d, const tbuf *b, wb_record *r)
{
	size_t used = 0;
	int	   rc = wb_decode(d, b->data, b->len, r, &used);

	if (rc != WB_OK)
		fail_msg("wb_decode: %d: %s", rc, wb_dec_errmsg(d));
	assert_int_equal(used, b->len);
}

static void
assert_str_eq(wb_str s, const char *p, size_t len)
{
	assert_int_equal(s.len, len);
	if (len > 0)
		assert_memory_equal(s.ptr, p, len);
}

static wb_timestamp
ts_make(int64_t sec, uint32_t nsec)
{
	wb_timestamp ts = {sec, nsec};

	return ts;
}

static void
assert_ts_eq(wb_timestamp a, wb_timestamp b)
{
	assert_true(a.sec == b.sec);
	assert_int_equal(a.nsec, b.nsec);
}

/* Bitwise for floats, so NaN, -0.0 and infinities must survive exactly. */
static void
assert_value_eq(const wb_value *got, const wb_value *want)
{
	assert_int_equal(got->type, want->type);
	switch (want->type)
	{
		case WB_V_NIL:
		case WB_V_UNCHANGED_TOAST:
			break;
		case WB_V_BOOL:
			assert_int_equal(got->v.b, want->v.b);
			break;
		case WB_V_INT:
			assert_true(got->v.i == want->v.i);
			break;
		case WB_V_FLOAT32:
			assert_memory_equal(&got->v.f32, &want->v.f32, sizeof(float));
			break;
		case WB_V_FLOAT64:
			assert_memory_equal(&got->v.f64, &want->v.f64, sizeof(double));
			break;
		case WB_V_STR:
		case WB_V_BIN:
			assert_str_eq(got->v.s, want->v.s.ptr, want->v.s.len);
			break;
		case WB_V_TIMESTAMP:
			assert_ts_eq(got->v.ts, want->v.ts);
			break;
	}
}

static wb_value
v_int(int64_t i)
{
	wb_value v = {.type = WB_V_INT, .v.i = i};

	return v;
}

static wb_value
v_f32(float f)
{
	wb_value v = {.type = WB_V_FLOAT32, .v.f32 = f};

	return v;
}

static wb_value
v_f64(double f)
{
	wb_value v = {.type = WB_V_FLOAT64, .v.f64 = f};

	return v;
}

static wb_value
v_bytes(wb_vtype type, const char *p, size_t len)
{
	wb_value v = {.type = type, .v.s = {p, (uint32_t) len}};

	return v;
}

static wb_value
v_ts(int64_t sec, uint32_t nsec)
{
	wb_value v = {.type = WB_V_TIMESTAMP, .v.ts = {sec, nsec}};

	return v;
}

/* Big buffers shared by the tests that need long strings. */
#define LONG_LEN 70000 /* beyond str16 / bin16 */
static char long_text[LONG_LEN];
static char long_bin[LONG_LEN];

static int
setup_long(void **state)
{
	(void) state;
	for (size_t i = 0; i < LONG_LEN; i++)
	{
		long_text[i] = 'a' + (char) (i % 26);
		long_bin[i] = (char) (i * 7); /* includes NUL bytes */
	}
	return 0;
}

/* Every value type with its edge values. */
static size_t
all_values(wb_value *out)
{
	static const char	 nul_bin[] = {0, 1, 0, (char) 0xff, 0};
	static const char	 s31[] = "0123456789012345678901234567890";
	static const char	 s32[] = "01234567890123456789012345678901";
	static const int64_t ints[] = {0,
								   1,
								   -1,
								   127,
								   128,
								   255,
								   256,
								   -32,
								   -33,
								   -128,
								   -129,
								   32767,
								   32768,
								   65535,
								   65536,
								   -32768,
								   -32769,
								   INT32_MAX,
								   (int64_t) INT32_MAX + 1,
								   UINT32_MAX,
								   (int64_t) UINT32_MAX + 1,
								   INT32_MIN,
								   (int64_t) INT32_MIN - 1,
								   INT64_MAX,
								   INT64_MIN};
	size_t				 n = 0;
	wb_value			 nil = {.type = WB_V_NIL};
	wb_value			 toast = {.type = WB_V_UNCHANGED_TOAST};
	wb_value			 t = {.type = WB_V_BOOL, .v.b = true};
	wb_value			 f = {.type = WB_V_BOOL, .v.b = false};

	out[n++] = nil;
	out[n++] = t;
	out[n++] = f;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		out[n++] = v_int(ints[i]);
	out[n++] = v_f32(0.0f);
	out[n++] = v_f32(-0.0f);
	out[n++] = v_f32(1.5f);
	out[n++] = v_f32(NAN);
	out[n++] = v_f32(INFINITY);
	out[n++] = v_f32(-INFINITY);
	out[n++] = v_f32(FLT_MAX);
	out[n++] = v_f32(FLT_TRUE_MIN);
	out[n++] = v_f64(0.0);
	out[n++] = v_f64(-0.0);
	out[n++] = v_f64(0.1);
	out[n++] = v_f64(NAN);
	out[n++] = v_f64(-NAN);
	out[n++] = v_f64(INFINITY);
	out[n++] = v_f64(-INFINITY);
	out[n++] = v_f64(DBL_MAX);
	out[n++] = v_f64(DBL_TRUE_MIN);
	out[n++] = v_bytes(WB_V_STR, "", 0);
	out[n++] = v_bytes(WB_V_STR, "x", 1);
	out[n++] = v_bytes(WB_V_STR, s31, 31);
	out[n++] = v_bytes(WB_V_STR, s32, 32);
	out[n++] = v_bytes(WB_V_STR, "h\xc3\xa9llo", 6);
	out[n++] = v_bytes(WB_V_STR, long_text, 255);
	out[n++] = v_bytes(WB_V_STR, long_text, 256);
	out[n++] = v_bytes(WB_V_STR, long_text, 65535);
	out[n++] = v_bytes(WB_V_STR, long_text, 65536);
	out[n++] = v_bytes(WB_V_STR, long_text, LONG_LEN);
	out[n++] = v_bytes(WB_V_BIN, "", 0);
	out[n++] = v_bytes(WB_V_BIN, nul_bin, sizeof(nul_bin));
	out[n++] = v_bytes(WB_V_BIN, long_bin, 256);
	out[n++] = v_bytes(WB_V_BIN, long_bin, LONG_LEN);
	out[n++] = v_ts(0, 0);
	out[n++] = v_ts(1700000000, 0);
	out[n++] = v_ts(1700000000, 123456789);
	out[n++] = v_ts(UINT32_MAX, 0);
	out[n++] = v_ts((int64_t) UINT32_MAX + 1, 0);
	out[n++] = v_ts((INT64_C(1) << 34) - 1, 999999999);
	out[n++] = v_ts(INT64_C(1) << 34, 0); /* year 2514: timestamp96 */
	out[n++] = v_ts(-1, 999999999);
	out[n++] = v_ts(-62135596800, 0); /* year 1 */
	out[n++] = v_ts(INT64_MAX, 999999999);
	out[n++] = v_ts(INT64_MIN, 0);
	out[n++] = toast;
	return n;
}

#define MAX_TEST_VALUES 128

/* ------------------------------------------------------- round trips */

static void
test_begin_commit(void **state)
{
	/* clang-format off */
	static const wb_timestamp times[] = {
		{0, 0}, {946684800, 0}, {1700000000, 500}, {-1, 0},
		{INT64_C(1) << 40, 999999999}
	};
	/* clang-format on */
	tbuf	  b = {0};
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
	{
		tbuf_reset(&b);
		wb_enc_init(&e, tbuf_write, &b);
		wb_enc_begin(&e, UINT32_MAX - (uint32_t) i, UINT64_MAX - i, times[i]);
		assert_false(wb_enc_failed(&e));
		decode_whole(&d, &b, &r);
		assert_int_equal(r.kind, WB_BEGIN);
		assert_int_equal(r.u.begin.xid, UINT32_MAX - i);
		assert_true(r.u.begin.final_lsn == UINT64_MAX - i);
		assert_ts_eq(r.u.begin.commit_time, times[i]);

		tbuf_reset(&b);
		wb_enc_commit(&e, i, 0x16B3748 + i, times[i]);
		assert_false(wb_enc_failed(&e));
		decode_whole(&d, &b, &r);
		assert_int_equal(r.kind, WB_COMMIT);
		assert_true(r.u.commit.commit_lsn == i);
		assert_true(r.u.commit.end_lsn == 0x16B3748 + i);
		assert_ts_eq(r.u.commit.commit_time, times[i]);
	}
	wb_dec_free(&d);
	tbuf_free(&b);
}

/* One INSERT carrying every value type and edge value. */
static void
test_insert_all_values(void **state)
{
	wb_value  vals[MAX_TEST_VALUES];
	size_t	  n = all_values(vals);
	tbuf	  b = {0};
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_insert_start(&e, 16384, (uint32_t) n);
	for (size_t i = 0; i < n; i++)
		wb_enc_value(&e, &vals[i]);
	assert_false(wb_enc_failed(&e));
	decode_whole(&d, &b, &r);
	assert_int_equal(r.kind, WB_INSERT);
	assert_int_equal(r.u.change.relid, 16384);
	assert_int_equal(r.u.change.nvalues, n);
	for (size_t i = 0; i < n; i++)
		assert_value_eq(&r.u.change.values[i], &vals[i]);
	wb_dec_free(&d);
	tbuf_free(&b);
}

/* Each value type alone as a DELETE key and an UPDATE old key. */
static void
test_values_as_keys(void **state)
{
	wb_value  vals[MAX_TEST_VALUES];
	size_t	  n = all_values(vals);
	tbuf	  b = {0};
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	for (size_t i = 0; i < n; i++)
	{
		tbuf_reset(&b);
		wb_enc_init(&e, tbuf_write, &b);
		wb_enc_delete_start(&e, 7);
		wb_enc_value(&e, &vals[i]);
		assert_false(wb_enc_failed(&e));
		decode_whole(&d, &b, &r);
		assert_int_equal(r.kind, WB_DELETE);
		assert_int_equal(r.u.del.relid, 7);
		assert_value_eq(&r.u.del.key, &vals[i]);

		tbuf_reset(&b);
		wb_enc_update_start(&e, 8, 1, true);
		wb_enc_v_int(&e, 42);
		wb_enc_value(&e, &vals[i]);
		assert_false(wb_enc_failed(&e));
		decode_whole(&d, &b, &r);
		assert_int_equal(r.kind, WB_UPDATE);
		assert_true(r.u.change.has_old_key);
		assert_int_equal(r.u.change.nvalues, 1);
		assert_true(r.u.change.values[0].v.i == 42);
		assert_value_eq(&r.u.change.old_key, &vals[i]);
	}
	wb_dec_free(&d);
	tbuf_free(&b);
}

static void
test_update(void **state)
{
	tbuf	  b = {0};
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	wb_enc_init(&e, tbuf_write, &b);

	wb_enc_update_start(&e, 16384, 3, false);
	wb_enc_v_int(&e, 5);
	wb_enc_v_unchanged_toast(&e);
	wb_enc_v_nil(&e);
	assert_false(wb_enc_failed(&e));
	assert_int_equal((unsigned char) b.data[0], 0x93);
	decode_whole(&d, &b, &r);
	assert_int_equal(r.kind, WB_UPDATE);
	assert_false(r.u.change.has_old_key);
	assert_int_equal(r.u.change.nvalues, 3);
	assert_int_equal(r.u.change.values[1].type, WB_V_UNCHANGED_TOAST);
	assert_int_equal(r.u.change.values[2].type, WB_V_NIL);

	tbuf_reset(&b);
	wb_enc_update_start(&e, 16384, 2, true);
	wb_enc_v_int(&e, 6);
	wb_enc_v_str(&e, "new", 3);
	wb_enc_v_int(&e, 5);
	assert_false(wb_enc_failed(&e));
	assert_int_equal((unsigned char) b.data[0], 0x94);
	decode_whole(&d, &b, &r);
	assert_true(r.u.change.has_old_key);
	assert_int_equal(r.u.change.nvalues, 2);
	assert_true(r.u.change.values[0].v.i == 6);
	assert_str_eq(r.u.change.values[1].v.s, "new", 3);
	assert_int_equal(r.u.change.old_key.type, WB_V_INT);
	assert_true(r.u.change.old_key.v.i == 5);

	wb_dec_free(&d);
	tbuf_free(&b);
}

/*
 * tail: the bytes after relid, as they are in the record (the relay
 * splices them into bus frames).  Checked against bytes encoded on their
 * own, for every width of relid and with bytes after the record.
 */
static void
test_change_tail(void **state)
{
	static const struct
	{
		uint32_t relid;
		size_t	 relid_len; /* its msgpack encoding */
	} relids[] = {{7, 1}, {16384, 3}, {70000, 5}};
	tbuf	  b = {0};
	tbuf	  want = {0};
	wb_enc	  e;
	wb_enc	  w;
	wb_dec	  d;
	wb_record r;
	size_t	  used;

	(void) state;
	wb_dec_init(&d);
	for (size_t k = 0; k < sizeof(relids) / sizeof(relids[0]); k++)
	{
		uint32_t relid = relids[k].relid;
		size_t	 head = 2 + relids[k].relid_len; /* array, kind, relid */

		for (int shape = 0; shape < 4; shape++)
		{
			bool old_key = (shape == 2);

			tbuf_reset(&b);
			tbuf_reset(&want);
			wb_enc_init(&e, tbuf_write, &b);
			wb_enc_init(&w, tbuf_write, &want);
			if (shape == 3)
			{
				wb_enc_delete_start(&e, relid);
				wb_enc_v_str(&e, "k1", 2);
				wb_enc_v_str(&w, "k1", 2);
			}
			else
			{
				if (shape == 0)
					wb_enc_insert_start(&e, relid, 3);
				else
					wb_enc_update_start(&e, relid, 3, old_key);
				assert_int_equal(tbuf_write(&want, "\x93", 1), 0);
				wb_enc_v_int(&e, 1);
				wb_enc_v_unchanged_toast(&e);
				wb_enc_v_timestamp(&e, ts_make(1700000000, 5));
				wb_enc_v_int(&w, 1);
				wb_enc_v_unchanged_toast(&w);
				wb_enc_v_timestamp(&w, ts_make(1700000000, 5));
				if (old_key)
				{
					wb_enc_v_int(&e, -70000);
					wb_enc_v_int(&w, -70000);
				}
			}
			/* the next record must not leak into the tail */
			wb_enc_commit(&e, 1, 2, ts_make(0, 0));
			assert_false(wb_enc_failed(&e));
			assert_false(wb_enc_failed(&w));

			assert_int_equal(wb_decode(&d, b.data, b.len, &r, &used), WB_OK);
			assert_int_equal(used, head + want.len);
			if (shape == 3)
			{
				assert_int_equal(r.kind, WB_DELETE);
				assert_int_equal(r.u.del.relid, relid);
				assert_ptr_equal(r.u.del.tail.ptr, b.data + head);
				assert_str_eq(r.u.del.tail, want.data, want.len);
			}
			else
			{
				assert_int_equal(r.kind, shape == 0 ? WB_INSERT : WB_UPDATE);
				assert_int_equal(r.u.change.relid, relid);
				assert_int_equal(r.u.change.has_old_key, old_key);
				assert_ptr_equal(r.u.change.tail.ptr, b.data + head);
				assert_str_eq(r.u.change.tail, want.data, want.len);
			}
		}
	}
	wb_dec_free(&d);
	tbuf_free(&b);
	tbuf_free(&want);
}

/* RELATION with 1, a few, and the maximum number of columns. */
static void
test_relation(void **state)
{
	static const uint32_t counts[] = {1, 3, 16, 17, 200, WB_MAX_COLUMNS};
	tbuf				  b = {0};
	wb_enc				  e;
	wb_dec				  d;
	wb_record			  r;
	char				  name[32];

	(void) state;
	wb_dec_init(&d);
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
	{
		uint32_t n = counts[k];

		tbuf_reset(&b);
		wb_enc_init(&e, tbuf_write, &b);
		wb_enc_relation_start(&e, 16384 + n, "public", 6, long_text, 300,
							  n - 1, n, 0);
		for (uint32_t i = 0; i < n; i++)
		{
			int len = snprintf(name, sizeof(name), "col%u", i);

			wb_enc_column(&e, name, len, i == 0 ? 20 : 1700,
						  i == 0 ? -1 : INT32_MAX - (int32_t) i,
						  i == 0 ? "bigint" : "numeric(12,2)", i == 0 ? 6 : 13,
						  0);
		}
		assert_false(wb_enc_failed(&e));
		decode_whole(&d, &b, &r);
		assert_int_equal(r.kind, WB_RELATION);
		assert_int_equal(r.u.relation.relid, 16384 + n);
		assert_str_eq(r.u.relation.schema, "public", 6);
		assert_str_eq(r.u.relation.table, long_text, 300);
		assert_int_equal(r.u.relation.key_index, n - 1);
		assert_int_equal(r.u.relation.ncolumns, n);
		for (uint32_t i = 0; i < n; i++)
		{
			const wb_column *c = &r.u.relation.columns[i];
			int				 len = snprintf(name, sizeof(name), "col%u", i);

			assert_str_eq(c->name, name, len);
			assert_int_equal(c->typoid, i == 0 ? 20 : 1700);
			assert_int_equal(c->typmod, i == 0 ? -1 : INT32_MAX - (int32_t) i);
			if (i == 0)
				assert_str_eq(c->typname, "bigint", 6);
			else
				assert_str_eq(c->typname, "numeric(12,2)", 13);
		}
	}

	/* typmod extremes and the largest type OID */
	tbuf_reset(&b);
	wb_enc_relation_start(&e, UINT32_MAX, "", 0, "t", 1, 1, 2, 0);
	wb_enc_column(&e, "a", 1, UINT32_MAX, INT32_MIN, "x", 1, 0);
	wb_enc_column(&e, "", 0, 0, INT32_MAX, "", 0, 0);
	decode_whole(&d, &b, &r);
	assert_int_equal(r.u.relation.relid, UINT32_MAX);
	assert_int_equal(r.u.relation.columns[0].typoid, UINT32_MAX);
	assert_int_equal(r.u.relation.columns[0].typmod, INT32_MIN);
	assert_int_equal(r.u.relation.columns[1].typmod, INT32_MAX);
	assert_str_eq(r.u.relation.columns[1].name, "", 0);

	wb_dec_free(&d);
	tbuf_free(&b);
}

static void
test_truncate(void **state)
{
	static const uint32_t counts[] = {1, 2, 1000, WB_MAX_TRUNCATE_RELIDS};
	tbuf				  b = {0};
	wb_enc				  e;
	wb_dec				  d;
	wb_record			  r;

	(void) state;
	wb_dec_init(&d);
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
	{
		uint32_t n = counts[k];

		tbuf_reset(&b);
		wb_enc_init(&e, tbuf_write, &b);
		wb_enc_truncate_start(&e,
							  WB_TRUNCATE_CASCADE |
								  WB_TRUNCATE_RESTART_IDENTITY,
							  n);
		for (uint32_t i = 0; i < n; i++)
			wb_enc_relid(&e, UINT32_MAX - i * 977);
		assert_false(wb_enc_failed(&e));
		decode_whole(&d, &b, &r);
		assert_int_equal(r.kind, WB_TRUNCATE);
		assert_int_equal(r.u.truncate.flags, 3);
		assert_int_equal(r.u.truncate.nrelids, n);
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(r.u.truncate.relids[i], UINT32_MAX - i * 977);
	}
	wb_dec_free(&d);
	tbuf_free(&b);
}

static void
test_message(void **state)
{
	static const char content[] = "a\0b\0\0c";
	tbuf			  b = {0};
	wb_enc			  e;
	wb_dec			  d;
	wb_record		  r;

	(void) state;
	wb_dec_init(&d);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_message(&e, true, 0x1234567890ULL, "walbus.hb", 9, content,
				   sizeof(content));
	assert_false(wb_enc_failed(&e));
	decode_whole(&d, &b, &r);
	assert_int_equal(r.kind, WB_MESSAGE);
	assert_true(r.u.message.transactional);
	assert_true(r.u.message.lsn == 0x1234567890ULL);
	assert_str_eq(r.u.message.prefix, "walbus.hb", 9);
	assert_str_eq(r.u.message.content, content, sizeof(content));

	tbuf_reset(&b);
	wb_enc_message(&e, false, 0, "", 0, NULL, 0);
	decode_whole(&d, &b, &r);
	assert_false(r.u.message.transactional);
	assert_true(r.u.message.lsn == 0);
	assert_int_equal(r.u.message.prefix.len, 0);
	assert_int_equal(r.u.message.content.len, 0);

	tbuf_reset(&b);
	wb_enc_message(&e, false, UINT64_MAX, "p", 1, long_bin, LONG_LEN);
	decode_whole(&d, &b, &r);
	assert_true(r.u.message.lsn == UINT64_MAX);
	assert_str_eq(r.u.message.content, long_bin, LONG_LEN);

	wb_dec_free(&d);
	tbuf_free(&b);
}

/* A transaction's records in one buffer, walked with consumed. */
static void
test_concatenated(void **state)
{
	static const wb_kind kinds[] = {WB_BEGIN,	 WB_RELATION, WB_INSERT,
									WB_UPDATE,	 WB_UPDATE,	  WB_DELETE,
									WB_TRUNCATE, WB_MESSAGE,  WB_COMMIT,
									WB_MESSAGE};
	size_t				 nkinds = sizeof(kinds) / sizeof(kinds[0]);
	tbuf				 b = {0};
	wb_enc				 e;
	wb_dec				 d;
	wb_record			 r;
	size_t				 off = 0;
	size_t				 used;

	(void) state;
	wb_dec_init(&d);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_begin(&e, 740, 100, ts_make(1700000000, 1));
	wb_enc_relation_start(&e, 16384, "public", 6, "t", 1, 0, 2, 0);
	wb_enc_column(&e, "id", 2, 20, -1, "bigint", 6, 0);
	wb_enc_column(&e, "doc", 3, 25, -1, "text", 4, 0);
	wb_enc_insert_start(&e, 16384, 2);
	wb_enc_v_int(&e, 1);
	wb_enc_v_str(&e, long_text, LONG_LEN);
	wb_enc_update_start(&e, 16384, 2, false);
	wb_enc_v_int(&e, 1);
	wb_enc_v_unchanged_toast(&e);
	wb_enc_update_start(&e, 16384, 2, true);
	wb_enc_v_int(&e, 2);
	wb_enc_v_unchanged_toast(&e);
	wb_enc_v_int(&e, 1);
	wb_enc_delete_start(&e, 16384);
	wb_enc_v_int(&e, 2);
	wb_enc_truncate_start(&e, 0, 1);
	wb_enc_relid(&e, 16384);
	wb_enc_message(&e, true, 200, "x", 1, "y", 1);
	wb_enc_commit(&e, 300, 301, ts_make(1700000000, 1));
	wb_enc_message(&e, false, 400, "x", 1, "z", 1);
	assert_false(wb_enc_failed(&e));

	for (size_t i = 0; i < nkinds; i++)
	{
		int rc = wb_decode(&d, b.data + off, b.len - off, &r, &used);

		if (rc != WB_OK)
			fail_msg("record %zu: %s", i, wb_dec_errmsg(&d));
		assert_int_equal(r.kind, kinds[i]);
		if (i == 2)
			assert_str_eq(r.u.change.values[1].v.s, long_text, LONG_LEN);
		if (i == 4)
			assert_true(r.u.change.has_old_key);
		if (i == 9)
			assert_str_eq(r.u.message.content, "z", 1);
		off += used;
	}
	assert_int_equal(off, b.len);
	/* nothing left: an empty input is a record cut short */
	assert_int_equal(wb_decode(&d, b.data + off, 0, &r, &used), WB_ETRUNC);

	wb_dec_free(&d);
	tbuf_free(&b);
}

/* The bytes PROTOCOL.md spells out. */
static void
test_exact_bytes(void **state)
{
	static const struct
	{
		wb_timestamp  ts;
		size_t		  len; /* encoded size: 6, 10 or 15 */
		unsigned char head[3];
	} forms[] = {
		{{0, 0}, 6, {0xd6, 0xff, 0}},
		{{UINT32_MAX, 0}, 6, {0xd6, 0xff, 0}},
		{{(int64_t) UINT32_MAX + 1, 0}, 10, {0xd7, 0xff, 0}},
		{{1, 1}, 10, {0xd7, 0xff, 0}},
		{{(INT64_C(1) << 34) - 1, 999999999}, 10, {0xd7, 0xff, 0}},
		{{INT64_C(1) << 34, 0}, 15, {0xc7, 12, 0xff}},
		{{-1, 0}, 15, {0xc7, 12, 0xff}},
	};
	tbuf   b = {0};
	wb_enc e;

	(void) state;
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_v_unchanged_toast(&e);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "\xc7\x00\x01", 3);

	tbuf_reset(&b);
	wb_enc_delete_start(&e, 16384);
	wb_enc_v_int(&e, -33);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "\x93\x44\xcd\x40\x00\xd0\xdf", 7);

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
	{
		tbuf_reset(&b);
		wb_enc_v_timestamp(&e, forms[i].ts);
		assert_int_equal(b.len, forms[i].len);
		assert_memory_equal(b.data, forms[i].head, forms[i].len == 15 ? 3 : 2);
	}
	assert_false(wb_enc_failed(&e));
	tbuf_free(&b);
}

static void
test_timestamp_from_pg(void **state)
{
	static const struct
	{
		int64_t	 pg_usec;
		int64_t	 sec;
		uint32_t nsec;
	} cases[] = {
		{0, 946684800, 0},
		{1, 946684800, 1000},
		{-1, 946684799, 999999000},
		{999999, 946684800, 999999000},
		{1000000, 946684801, 0},
		{-1000000, 946684799, 0},
		{-1000001, 946684798, 999999000},
		{-946684800000000, 0, 0}, /* the Unix epoch */
		{-946684800000001, -1, 999999000},
		{-211813488000000000, -210866803200, 0}, /* PG's lowest */
		{INT64_MAX, 9224318721654, 775807000},
		{INT64_MIN, -9222425352055, 224192000},
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		wb_timestamp ts = wb_timestamp_from_pg(cases[i].pg_usec);

		assert_true(ts.sec == cases[i].sec);
		assert_int_equal(ts.nsec, cases[i].nsec);
	}
}

/*
 * Version 2: RELATION carries each column's attnum and the schema's OID,
 * WITHDRAWN says a table left the stream.  A RELATION must be all of one
 * version: 7 elements with 5-element columns, or 6 with 4.
 */
static void
test_version2_records(void **state)
{
	tbuf	  b = {0};
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;
	size_t	  used;
	size_t	  off;

	(void) state;
	wb_dec_init(&d);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_relation_start(&e, 16384, "public", 6, "t", 1, 1, 2, 2200);
	wb_enc_column(&e, "note", 4, 25, -1, "text", 4, 3);
	wb_enc_column(&e, "id", 2, 20, -1, "bigint", 6, 1);
	wb_enc_relation_finish(&e, 2200);
	wb_enc_withdrawn(&e, 16384, false, "primary key has 2 columns (a, b)", 32);
	wb_enc_withdrawn(&e, 16385, true, "dropped", 7);
	assert_false(wb_enc_failed(&e));

	assert_int_equal(wb_decode(&d, b.data, b.len, &r, &used), WB_OK);
	assert_int_equal(r.kind, WB_RELATION);
	assert_int_equal(r.u.relation.schema_oid, 2200);
	assert_int_equal(r.u.relation.ncolumns, 2);
	assert_int_equal(r.u.relation.key_index, 1);
	assert_int_equal(r.u.relation.columns[0].attnum, 3);
	assert_int_equal(r.u.relation.columns[1].attnum, 1);
	assert_str_eq(r.u.relation.columns[1].name, "id", 2);
	off = used;
	assert_int_equal(wb_decode(&d, b.data + off, b.len - off, &r, &used),
					 WB_OK);
	assert_int_equal(r.kind, WB_WITHDRAWN);
	assert_int_equal(r.u.withdrawn.relid, 16384);
	assert_false(r.u.withdrawn.dropped);
	assert_str_eq(r.u.withdrawn.reason, "primary key has 2 columns (a, b)",
				  32);
	off += used;
	assert_int_equal(wb_decode(&d, b.data + off, b.len - off, &r, &used),
					 WB_OK);
	assert_true(r.u.withdrawn.dropped);
	assert_int_equal(off + used, b.len);

	/* version 1 shape still decodes, attnum and schema_oid 0 */
	tbuf_reset(&b);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_relation_start(&e, 16384, "public", 6, "t", 1, 0, 1, 0);
	wb_enc_column(&e, "id", 2, 20, -1, "bigint", 6, 0);
	assert_int_equal(wb_decode(&d, b.data, b.len, &r, &used), WB_OK);
	assert_int_equal(r.u.relation.schema_oid, 0);
	assert_int_equal(r.u.relation.columns[0].attnum, 0);

	/* a 7-element RELATION with a version 1 column is malformed */
	tbuf_reset(&b);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_relation_start(&e, 16384, "public", 6, "t", 1, 0, 1, 2200);
	wb_enc_column(&e, "id", 2, 20, -1, "bigint", 6, 0);
	wb_enc_relation_finish(&e, 2200);
	assert_int_equal(wb_decode(&d, b.data, b.len, &r, &used), WB_EMALFORMED);
	assert_non_null(strstr(wb_dec_errmsg(&d), "expected 5"));

	/* and a 6-element one with a version 2 column */
	tbuf_reset(&b);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_relation_start(&e, 16384, "public", 6, "t", 1, 0, 1, 0);
	wb_enc_column(&e, "id", 2, 20, -1, "bigint", 6, 1);
	assert_int_equal(wb_decode(&d, b.data, b.len, &r, &used), WB_EMALFORMED);
	assert_non_null(strstr(wb_dec_errmsg(&d), "expected 4"));

	/* attnum 0 or negative is not a user column, schema_oid 0 no schema */
	tbuf_reset(&b);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_relation_start(&e, 16384, "public", 6, "t", 1, 0, 1, 2200);
	wb_enc_column(&e, "id", 2, 20, -1, "bigint", 6, -2);
	wb_enc_relation_finish(&e, 2200);
	assert_int_equal(wb_decode(&d, b.data, b.len, &r, &used), WB_EMALFORMED);
	{
		/* ['R', 1, "s", "t", 0, [["id", 20, -1, "bigint", 0]], 2200] */
		static const char zero_attnum[] =
			"\x97\x52\x01\xa1s\xa1t\x00\x91\x95\xa2id\x14\xff\xa6"
			"bigint"
			"\x00\xcd\x08\x98";
		/* ['R', 1, "s", "t", 0, [["id", 20, -1, "bigint", 1]], 0] */
		static const char zero_oid[] =
			"\x97\x52\x01\xa1s\xa1t\x00\x91\x95\xa2id\x14\xff\xa6"
			"bigint"
			"\x01\x00";

		assert_int_equal(wb_decode(&d, zero_attnum, sizeof(zero_attnum) - 1,
								   &r, &used),
						 WB_EMALFORMED);
		assert_non_null(strstr(wb_dec_errmsg(&d), "attnum"));
		assert_int_equal(wb_decode(&d, zero_oid, sizeof(zero_oid) - 1, &r,
								   &used),
						 WB_EMALFORMED);
		assert_non_null(strstr(wb_dec_errmsg(&d), "schema's OID"));
	}

	/* WITHDRAWN with a missing reason */
	tbuf_reset(&b);
	{
		static const char three[] = "\x93\x58\x01\xc3"; /* ['X', 1, true] */

		assert_int_equal(wb_decode(&d, three, 4, &r, &used), WB_EMALFORMED);
	}

	wb_dec_free(&d);
	tbuf_free(&b);
}

static void
test_kind_name(void **state)
{
	(void) state;
	assert_string_equal(wb_kind_name(WB_BEGIN), "begin");
	assert_string_equal(wb_kind_name(WB_COMMIT), "commit");
	assert_string_equal(wb_kind_name(WB_RELATION), "relation");
	assert_string_equal(wb_kind_name(WB_INSERT), "insert");
	assert_string_equal(wb_kind_name(WB_UPDATE), "update");
	assert_string_equal(wb_kind_name(WB_DELETE), "delete");
	assert_string_equal(wb_kind_name(WB_TRUNCATE), "truncate");
	assert_string_equal(wb_kind_name(WB_MESSAGE), "message");
	assert_string_equal(wb_kind_name(WB_WITHDRAWN), "withdrawn");
	assert_string_equal(wb_kind_name('Z'), "unknown");
	assert_string_equal(wb_kind_name(-1), "unknown");
}

/* ------------------------------------------------------- encoder errors */

/* A writer that accepts limit bytes in total, then fails every call. */
typedef struct limited
{
	tbuf   out;
	size_t limit;
	int	   calls_after_failure;
	int	   failed;
} limited;

static int
limited_write(void *ctx, const char *buf, size_t len)
{
	limited *l = ctx;

	if (l->failed)
		l->calls_after_failure++;
	if (l->out.len + len > l->limit)
	{
		l->failed = 1;
		return -1;
	}
	return tbuf_write(&l->out, buf, len);
}

static void
encode_stream(wb_enc *e)
{
	wb_enc_begin(e, 1, 2, ts_make(-5, 7));
	wb_enc_relation_start(e, 3, "s", 1, "t", 1, 0, 1, 0);
	wb_enc_column(e, "id", 2, 23, -1, "integer", 7, 0);
	wb_enc_insert_start(e, 3, 9);
	wb_enc_v_int(e, INT64_MIN);
	wb_enc_v_str(e, "text", 4);
	wb_enc_v_bin(e, "\0\1", 2);
	wb_enc_v_float32(e, 1.0f);
	wb_enc_v_float64(e, 2.0);
	wb_enc_v_bool(e, true);
	wb_enc_v_nil(e);
	wb_enc_v_timestamp(e, ts_make(INT64_C(1) << 35, 5));
	wb_enc_v_unchanged_toast(e);
	wb_enc_truncate_start(e, 1, 1);
	wb_enc_relid(e, 3);
	wb_enc_message(e, true, 9, "p", 1, "c", 1);
	wb_enc_commit(e, 10, 11, ts_make(0, 0));
}

/*
 * For every cut-off point: once the writer has failed, the encoder stays
 * failed and never calls it again, and what was written is a prefix of
 * the full stream.
 */
static void
test_sticky_error(void **state)
{
	limited full = {.limit = SIZE_MAX};
	wb_enc	e;

	(void) state;
	wb_enc_init(&e, limited_write, &full);
	encode_stream(&e);
	assert_false(wb_enc_failed(&e));

	for (size_t limit = 0; limit < full.out.len; limit++)
	{
		limited l = {.limit = limit};

		wb_enc_init(&e, limited_write, &l);
		encode_stream(&e);
		assert_true(wb_enc_failed(&e));
		assert_int_equal(l.calls_after_failure, 0);
		assert_true(l.out.len <= limit);
		if (l.out.len > 0)
			assert_memory_equal(l.out.data, full.out.data, l.out.len);
		tbuf_free(&l.out);
	}
	tbuf_free(&full.out);
}

/* Arguments the format cannot carry fail the encoder too. */
static void
test_encoder_rejects(void **state)
{
	tbuf	 b = {0};
	wb_enc	 e;
	wb_value bad = {.type = (wb_vtype) 99};

	(void) state;
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_v_timestamp(&e, ts_make(0, 1000000000));
	assert_true(wb_enc_failed(&e));
	wb_enc_v_int(&e, 1);
	assert_int_equal(b.len, 0);

	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_value(&e, &bad);
	assert_true(wb_enc_failed(&e));

	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_begin(&e, 1, 1, ts_make(0, UINT32_MAX));
	assert_true(wb_enc_failed(&e));
	tbuf_free(&b);
}

/* ------------------------------------------------------- decoder errors */

/*
 * Every strict prefix of every valid record is WB_ETRUNC, including those
 * with long strings and arrays.
 */
static void
test_prefixes_truncated(void **state)
{
	tbuf	  recs[12] = {{0}};
	size_t	  nrecs = 0;
	wb_value  vals[MAX_TEST_VALUES];
	size_t	  nvals = all_values(vals);
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;

	(void) state;
#define NEXT() (wb_enc_init(&e, tbuf_write, &recs[nrecs]), nrecs++)
	NEXT();
	wb_enc_begin(&e, 740, 1, ts_make(INT64_C(1) << 40, 3));
	NEXT();
	wb_enc_commit(&e, 1, 2, ts_make(5, 0));
	NEXT();
	wb_enc_relation_start(&e, 1, "public", 6, "t", 1, 1, 20, 0);
	for (int i = 0; i < 20; i++)
		wb_enc_column(&e, "c", 1, 25, i - 1, "text", 4, 0);
	NEXT();
	wb_enc_insert_start(&e, 1, (uint32_t) nvals);
	for (size_t i = 0; i < nvals; i++)
		wb_enc_value(&e, &vals[i]);
	NEXT();
	wb_enc_update_start(&e, 1, 1, false);
	wb_enc_v_unchanged_toast(&e);
	NEXT();
	wb_enc_update_start(&e, 1, 1, true);
	wb_enc_v_int(&e, 2);
	wb_enc_v_timestamp(&e, ts_make(-1, 0));
	NEXT();
	wb_enc_delete_start(&e, 1);
	wb_enc_v_str(&e, long_text, LONG_LEN);
	NEXT();
	wb_enc_truncate_start(&e, 2, 300);
	for (uint32_t i = 0; i < 300; i++)
		wb_enc_relid(&e, i * 100000);
	NEXT();
	wb_enc_message(&e, true, 1, "p", 1, long_bin, LONG_LEN);
#undef NEXT

	wb_dec_init(&d);
	for (size_t k = 0; k < nrecs; k++)
	{
		size_t used;

		assert_int_equal(wb_decode(&d, recs[k].data, recs[k].len, &r, &used),
						 WB_OK);
		assert_int_equal(used, recs[k].len);
		for (size_t len = 0; len < recs[k].len; len++)
		{
			int rc = wb_decode(&d, recs[k].data, len, &r, &used);

			if (rc != WB_ETRUNC)
				fail_msg("record %zu cut at %zu: got %d (%s)", k, len, rc,
						 wb_dec_errmsg(&d));
			assert_true(strlen(wb_dec_errmsg(&d)) > 0);
		}
		tbuf_free(&recs[k]);
	}
	wb_dec_free(&d);
}

typedef struct hostile
{
	const char *name;
	const char *bytes;
	size_t		len;
	int			expect;
} hostile;

/* clang-format off */
#define H(name, lit, code) {name, lit, sizeof(lit) - 1, code}
/* clang-format on */

/* A valid timestamp32 of 0 and BEGIN's fixed part, to build on. */
#define TS0 "\xd6\xff\x00\x00\x00\x00"

static const hostile hostiles[] = {
	H("empty input", "", WB_ETRUNC),
	H("array of 2^32-1 with 3 bytes left", "\xdd\xff\xff\xff\xff\x42\x01\x02",
	  WB_EMALFORMED),
	H("array16 of 6 with 2 bytes left", "\xdc\x00\x06\x52\x01", WB_ETRUNC),
	H("array32 header cut", "\xdd\x00\x00", WB_ETRUNC),
	H("values array of 2^32-1", "\x93\x49\x01\xdd\xff\xff\xff\xff\x00",
	  WB_EMALFORMED),
	H("values array of 1000, 3 bytes left",
	  "\x93\x49\x01\xdc\x03\xe8\x00\x00\x00", WB_ETRUNC),
	H("values array of 1665", "\x93\x49\x01\xdc\x06\x81\x00", WB_EMALFORMED),
	H("column array of 1665", "\x96\x52\x01\xa1s\xa1t\x00\xdc\x06\x81",
	  WB_EMALFORMED),
	H("relids array of 65537", "\x93\x54\x00\xdd\x00\x01\x00\x01\x00",
	  WB_EMALFORMED),
	H("str32 longer than the buffer", "\x96\x52\x01\xdb\x00\x00\x10\x00\x61",
	  WB_ETRUNC),
	H("str32 of 4 GiB", "\x96\x52\x01\xdb\xff\xff\xff\xff\x61", WB_EMALFORMED),
	H("str32 of exactly 1 GiB", "\x96\x52\x01\xdb\x40\x00\x00\x00\x61",
	  WB_EMALFORMED),
	H("bin32 longer than the buffer",
	  "\x95\x4d\xc3\x01\xa0\xc6\x00\x01\x00\x00\x00", WB_ETRUNC),
	H("ext32 of 4 GiB as a value", "\x93\x44\x01\xc9\xff\xff\xff\xff\x01",
	  WB_EMALFORMED),
	H("ext16 longer than the buffer", "\x93\x44\x01\xc8\x01\x00\xff\x00",
	  WB_ETRUNC),
	H("empty record array", "\x90", WB_EMALFORMED),
	H("unknown kind X", "\x93\x58\x01\x02", WB_EMALFORMED),
	H("lowercase kind b", "\x94\x62\x01\x01" TS0, WB_EMALFORMED),
	H("kind 0", "\x93\x00\x01\x02", WB_EMALFORMED),
	H("negative kind", "\x93\xff\x01\x02", WB_EMALFORMED),
	H("kind 2^64-1", "\x93\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02",
	  WB_EMALFORMED),
	H("kind as a str", "\x94\xa1\x42\x01\x01" TS0, WB_EMALFORMED),
	H("fixmap instead of array", "\x84\x42\x01\x01\x01", WB_EMALFORMED),
	H("map16 instead of array", "\xde\x00\x01\x42\x01", WB_EMALFORMED),
	H("map32 instead of array", "\xdf\xff\xff\xff\xff", WB_EMALFORMED),
	H("map as a value", "\x93\x44\x01\x81\x01\x02", WB_EMALFORMED),
	H("map as values", "\x93\x49\x01\x80", WB_EMALFORMED),
	H("array as a value", "\x93\x44\x01\x91\x01", WB_EMALFORMED),
	H("array as a value in values", "\x93\x49\x01\x91\x91\x01", WB_EMALFORMED),
	H("nil as record", "\xc0", WB_EMALFORMED),
	H("reserved byte c1 as a value", "\x93\x44\x01\xc1", WB_EMALFORMED),
	H("reserved byte c1 as record", "\xc1", WB_EMALFORMED),
	H("BEGIN with 3 elements", "\x93\x42\x01\x01", WB_EMALFORMED),
	H("BEGIN with 5 elements", "\x95\x42\x01\x01" TS0 "\x00", WB_EMALFORMED),
	H("COMMIT with 6 elements", "\x96\x43\x01\x01" TS0 "\x00\x00",
	  WB_EMALFORMED),
	H("UPDATE with 5 elements", "\x95\x55\x01\x90\x01\x01", WB_EMALFORMED),
	H("UPDATE with 2 elements", "\x92\x55\x01", WB_EMALFORMED),
	H("DELETE with 4 elements", "\x94\x44\x01\x01\x01", WB_EMALFORMED),
	H("INSERT with 4 elements", "\x94\x49\x01\x90\xc0", WB_EMALFORMED),
	H("TRUNCATE with 2 elements", "\x92\x54\x00", WB_EMALFORMED),
	H("MESSAGE with 4 elements", "\x94\x4d\xc3\x01\xa0", WB_EMALFORMED),
	H("RELATION with 5 elements", "\x95\x52\x01\xa0\xa0\x00", WB_EMALFORMED),
	H("xid of 2^32", "\x94\x42\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x01" TS0,
	  WB_EMALFORMED),
	H("negative xid", "\x94\x42\xff\x01" TS0, WB_EMALFORMED),
	H("negative xid as int32", "\x94\x42\xd2\xff\xff\xff\xff\x01" TS0,
	  WB_EMALFORMED),
	H("float where xid belongs", "\x94\x42\xca\x00\x00\x00\x00\x01" TS0,
	  WB_EMALFORMED),
	H("str where lsn belongs", "\x94\x42\x01\xa1\x31" TS0, WB_EMALFORMED),
	H("negative lsn", "\x94\x43\xd3\x80\x00\x00\x00\x00\x00\x00\x00\x01" TS0,
	  WB_EMALFORMED),
	H("relid of 2^32 as uint64",
	  "\x93\x44\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x01", WB_EMALFORMED),
	H("int value above INT64_MAX",
	  "\x93\x44\x01\xcf\x80\x00\x00\x00\x00\x00\x00\x00", WB_EMALFORMED),
	H("int where commit_time belongs", "\x94\x42\x01\x01\x00", WB_EMALFORMED),
	H("ext 1 where commit_time belongs", "\x94\x42\x01\x01\xc7\x00\x01",
	  WB_EMALFORMED),
	H("timestamp ext of 2 bytes", "\x94\x42\x01\x01\xd5\xff\x00\x00",
	  WB_EMALFORMED),
	H("timestamp ext of 5 bytes as a value",
	  "\x93\x44\x01\xc7\x05\xff\x00\x00\x00\x00\x00", WB_EMALFORMED),
	H("timestamp ext of 0 bytes as a value", "\x93\x44\x01\xc7\x00\xff",
	  WB_EMALFORMED),
	H("timestamp96 with nsec 10^9",
	  "\x93\x44\x01\xc7\x0c\xff\x3b\x9a\xca\x00\x00\x00\x00\x00\x00\x00\x00\x00",
	  WB_EMALFORMED),
	H("timestamp64 with nsec 2^30-1",
	  "\x93\x44\x01\xd7\xff\xff\xff\xff\xfc\x00\x00\x00\x00", WB_EMALFORMED),
	H("timestamp64 cut", "\x93\x44\x01\xd7\xff\x00\x00", WB_ETRUNC),
	H("ext type 7 as a value", "\x93\x44\x01\xd4\x07\x00", WB_EMALFORMED),
	H("ext type 7 empty", "\x93\x44\x01\xc7\x00\x07", WB_EMALFORMED),
	H("ext type -2 as a value", "\x93\x44\x01\xd6\xfe\x00\x00\x00\x00",
	  WB_EMALFORMED),
	H("unchanged marker with a payload", "\x93\x44\x01\xd4\x01\x00",
	  WB_EMALFORMED),
	H("column not an array", "\x96\x52\x01\xa1s\xa1t\x00\x91\xa2id",
	  WB_EMALFORMED),
	H("column with 3 elements",
	  "\x96\x52\x01\xa1s\xa1t\x00\x91\x93\xa2id\x14\xff", WB_EMALFORMED),
	H("column with 5 elements",
	  "\x96\x52\x01\xa1s\xa1t\x00\x91\x95\xa2id\x14\xff\xa0\xa0",
	  WB_EMALFORMED),
	H("column name a bin",
	  "\x96\x52\x01\xa1s\xa1t\x00\x91\x94\xc4\x02id\x14\xff\xa0",
	  WB_EMALFORMED),
	H("typmod above INT32_MAX",
	  "\x96\x52\x01\xa1s\xa1t\x00\x91\x94\xa2id\x14\xce\x80\x00\x00\x00\xa0",
	  WB_EMALFORMED),
	H("typmod below INT32_MIN",
	  "\x96\x52\x01\xa1s\xa1t\x00\x91\x94\xa2id\x14"
	  "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff\xa0",
	  WB_EMALFORMED),
	H("typmod as a str",
	  "\x96\x52\x01\xa1s\xa1t\x00\x91\x94\xa2id\x14\xa1\x31\xa0",
	  WB_EMALFORMED),
	H("key_index past the columns",
	  "\x96\x52\x01\xa1s\xa1t\x01\x91\x94\xa2id\x14\xff\xa0", WB_EMALFORMED),
	H("key_index with no columns", "\x96\x52\x01\xa1s\xa1t\x00\x90",
	  WB_EMALFORMED),
	H("schema as nil", "\x96\x52\x01\xc0\xa1t\x00\x90", WB_EMALFORMED),
	H("relid as float64", "\x93\x49\xcb\x00\x00\x00\x00\x00\x00\x00\x00\x90",
	  WB_EMALFORMED),
	H("relids element a str", "\x93\x54\x00\x91\xa1\x31", WB_EMALFORMED),
	H("relids element negative", "\x93\x54\x00\x91\xff", WB_EMALFORMED),
	H("truncate flags above 2^32",
	  "\x93\x54\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x90", WB_EMALFORMED),
	H("transactional as int", "\x95\x4d\x01\x01\xa0\xc4\x00", WB_EMALFORMED),
	H("message content as str", "\x95\x4d\xc3\x01\xa0\xa0", WB_EMALFORMED),
	H("message prefix as bin", "\x95\x4d\xc3\x01\xc4\x00\xc4\x00",
	  WB_EMALFORMED),
	H("values a str", "\x93\x49\x01\xa3\x61\x62\x63", WB_EMALFORMED),
	H("int16 cut", "\x93\x44\x01\xd1\x00", WB_ETRUNC),
	H("float64 cut", "\x93\x44\x01\xcb\x00\x00\x00", WB_ETRUNC),
	H("str8 length cut", "\x93\x44\x01\xd9", WB_ETRUNC),
};

static void
test_hostile(void **state)
{
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++)
	{
		const hostile *h = &hostiles[i];
		/* a heap copy, so ASan or valgrind catch any read past its end */
		char  *copy = malloc(h->len ? h->len : 1);
		size_t used = 12345;
		int	   rc;

		memcpy(copy, h->bytes, h->len);
		rc = wb_decode(&d, copy, h->len, &r, &used);
		if (rc != h->expect)
			fail_msg("%s: expected %d, got %d (%s)", h->name, h->expect, rc,
					 rc == WB_OK ? "ok" : wb_dec_errmsg(&d));
		assert_true(strlen(wb_dec_errmsg(&d)) > 0);
		assert_int_equal(used, 12345); /* untouched on failure */
		free(copy);
	}
	wb_dec_free(&d);
}

/* clang-format off */
#define M(lit, code, msg) {lit, sizeof(lit) - 1, code, msg}
/* clang-format on */

/*
 * Whole messages: what and where (byte offset of the object, field, index,
 * member), in the words walbus-dump prints.
 */
static const struct
{
	const char *bytes;
	size_t		len;
	int			expect;
	const char *msg;
} messages[] = {
	M("", WB_ETRUNC,
	  "byte 0, record: input ends at byte 0, 1 more bytes needed"),
	M("\x01", WB_EMALFORMED, "byte 0, record: expected array, got int"),
	M("\x94\x42\x01\x01\xd6\xff\x00", WB_ETRUNC,
	  "byte 4, commit_time: input ends at byte 7, 3 more bytes needed"),
	M("\x93\x5a\x01\x02", WB_EMALFORMED,
	  "byte 1, kind: unknown record kind 90"),
	M("\x90", WB_EMALFORMED, "byte 1, kind: empty record array"),
	M("\x95\x55\x01\x90\x01\x01", WB_EMALFORMED,
	  "byte 0, record: update record has 5 elements, expected 3 or 4"),
	M("\x9a", WB_EMALFORMED,
	  "byte 0, record: array of 10 elements, at most 7 allowed"),
	M("\x94\x42\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x01", WB_EMALFORMED,
	  "byte 2, xid: 4294967296 out of range (max 4294967295)"),
	M("\x94\x42\xff\x01" TS0, WB_EMALFORMED, "byte 2, xid: negative value -1"),
	M("\x94\x42\x01\x01\x01", WB_EMALFORMED,
	  "byte 4, commit_time: expected timestamp, got int"),
	M("\x93\x49\x01\x93\xc0\xa1x\x81\x01\x02", WB_EMALFORMED,
	  "byte 7, values[2]: expected value, got map"),
	M("\x93\x49\x01\x92\xc0\xd9\x05"
	  "ab",
	  WB_ETRUNC,
	  "byte 5, values[1]: input ends at byte 9, 3 more bytes needed"),
	M("\x93\x49\x01\x91\xc1", WB_EMALFORMED,
	  "byte 4, values[0]: expected value, got reserved byte 0xc1"),
	M("\x93\x49\x01\xdc\x06\x81", WB_EMALFORMED,
	  "byte 3, values: array of 1665 elements, at most 1664 allowed"),
	M("\x93\x49\x01\xdc\x03\xe8\x00", WB_ETRUNC,
	  "byte 3, values: input ends at byte 7, 999 more bytes needed"),
	M("\x94\x55\x01\x90\x91", WB_EMALFORMED,
	  "byte 4, old_key: expected value, got array"),
	M("\x93\x44\x01\xdb\x40\x00\x00\x00\x61", WB_EMALFORMED,
	  "byte 3, key: would take at least 1073741832 bytes, past the "
	  "1073741824-byte record limit"),
	M("\x96\x52\x01\xa1s\xa1t\x00\x91\x94\xa2id\x14\xce\x80\x00\x00\x00\xa0",
	  WB_EMALFORMED,
	  "byte 14, columns[0].typmod: 2147483648 out of range (max 2147483647)"),
	M("\x96\x52\x01\xa1s\xa1t\x00\x92\x94\xa2id\x14\xff\xa0\x93\xa1x\x14\xff",
	  WB_EMALFORMED, "byte 16, columns[1]: column has 3 elements, expected 4"),
	M("\x96\x52\x01\xa1s\xa1t\x01\x91\x94\xa2id\x14\xff\xa0", WB_EMALFORMED,
	  "byte 7, key_index: 1 out of range for 1 columns"),
	M("\x93\x54\x00\x92\x01\xa1\x31", WB_EMALFORMED,
	  "byte 5, relids[1]: expected int, got str"),
	M("\x95\x4d\xc3\x01\xa0\xa0", WB_EMALFORMED,
	  "byte 5, content: expected bin, got str"),
	M("\x95\x4d\x01\x01\xa0\xc4\x00", WB_EMALFORMED,
	  "byte 2, transactional: expected bool, got int"),
#undef M
};

static void
test_error_messages(void **state)
{
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
	{
		int rc = wb_decode(&d, messages[i].bytes, messages[i].len, &r, NULL);

		if (rc != messages[i].expect ||
			strcmp(wb_dec_errmsg(&d), messages[i].msg) != 0)
			fail_msg("case %zu: expected %d \"%s\", got %d \"%s\"", i,
					 messages[i].expect, messages[i].msg, rc,
					 wb_dec_errmsg(&d));
	}
	wb_dec_free(&d);
}

/* Limits checked with full, well-formed content beyond them. */
static void
test_limits(void **state)
{
	tbuf	  b = {0};
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_relation_start(&e, 1, "s", 1, "t", 1, 0, WB_MAX_COLUMNS + 1, 0);
	for (int i = 0; i < WB_MAX_COLUMNS + 1; i++)
		wb_enc_column(&e, "c", 1, 23, -1, "integer", 7, 0);
	assert_int_equal(wb_decode(&d, b.data, b.len, &r, NULL), WB_EMALFORMED);

	tbuf_reset(&b);
	wb_enc_insert_start(&e, 1, WB_MAX_COLUMNS + 1);
	for (int i = 0; i < WB_MAX_COLUMNS + 1; i++)
		wb_enc_v_nil(&e);
	assert_int_equal(wb_decode(&d, b.data, b.len, &r, NULL), WB_EMALFORMED);

	tbuf_reset(&b);
	wb_enc_truncate_start(&e, 0, WB_MAX_TRUNCATE_RELIDS + 1);
	for (int i = 0; i < WB_MAX_TRUNCATE_RELIDS + 1; i++)
		wb_enc_relid(&e, 1);
	assert_int_equal(wb_decode(&d, b.data, b.len, &r, NULL), WB_EMALFORMED);
	assert_non_null(strstr(wb_dec_errmsg(&d), "relids"));

	assert_false(wb_enc_failed(&e));
	wb_dec_free(&d);
	tbuf_free(&b);
}

/* Non-minimal integer and ext encodings are valid msgpack: accepted. */
static void
test_lenient_encodings(void **state)
{
	/* BEGIN: kind as uint8, xid as uint64, lsn as int16, ts32 as ext8 */
	static const char begin[] =
		"\x94\xcc\x42\xcf\x00\x00\x00\x00\xff\xff\xff\xff\xd1\x01\x00"
		"\xc7\x04\xff\x00\x00\x00\x10";
	/* DELETE: relid as int8, key as uint64 INT64_MAX */
	static const char del[] =
		"\x93\x44\xd0\x05\xcf\x7f\xff\xff\xff\xff\xff\xff\xff";
	/* INSERT: values int64 -1, uint16 1, timestamp96 of 1 s, float32 */
	static const char ins[] =
		"\x93\x49\x01\x94\xd3\xff\xff\xff\xff\xff\xff\xff\xff\xcd\x00\x01"
		"\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
		"\xca\x3f\xc0\x00\x00";
	wb_dec	  d;
	wb_record r;
	size_t	  used;

	(void) state;
	wb_dec_init(&d);
	assert_int_equal(wb_decode(&d, begin, sizeof(begin) - 1, &r, &used),
					 WB_OK);
	assert_int_equal(used, sizeof(begin) - 1);
	assert_int_equal(r.kind, WB_BEGIN);
	assert_int_equal(r.u.begin.xid, UINT32_MAX);
	assert_true(r.u.begin.final_lsn == 256);
	assert_ts_eq(r.u.begin.commit_time, ts_make(16, 0));

	assert_int_equal(wb_decode(&d, del, sizeof(del) - 1, &r, &used), WB_OK);
	assert_int_equal(r.u.del.relid, 5);
	assert_true(r.u.del.key.v.i == INT64_MAX);

	assert_int_equal(wb_decode(&d, ins, sizeof(ins) - 1, &r, &used), WB_OK);
	assert_int_equal(r.u.change.nvalues, 4);
	assert_true(r.u.change.values[0].v.i == -1);
	assert_true(r.u.change.values[1].v.i == 1);
	assert_int_equal(r.u.change.values[2].type, WB_V_TIMESTAMP);
	assert_ts_eq(r.u.change.values[2].v.ts, ts_make(1, 0));
	assert_int_equal(r.u.change.values[3].type, WB_V_FLOAT32);
	assert_true(r.u.change.values[3].v.f32 == 1.5f);
	wb_dec_free(&d);
}

/* Scratch arrays survive a big record followed by small ones, and free. */
static void
test_decoder_reuse(void **state)
{
	tbuf	  b = {0};
	wb_enc	  e;
	wb_dec	  d;
	wb_record r;

	(void) state;
	wb_dec_init(&d);
	for (int round = 0; round < 3; round++)
	{
		uint32_t n = round == 1 ? WB_MAX_COLUMNS : 2;

		tbuf_reset(&b);
		wb_enc_init(&e, tbuf_write, &b);
		wb_enc_insert_start(&e, 1, n);
		for (uint32_t i = 0; i < n; i++)
			wb_enc_v_int(&e, i);
		decode_whole(&d, &b, &r);
		assert_int_equal(r.u.change.nvalues, n);
		assert_true(r.u.change.values[n - 1].v.i == n - 1);
		assert_true(d.values_cap >= n && d.values_cap <= WB_MAX_COLUMNS);
	}
	wb_dec_free(&d);
	assert_null(d.values);
	assert_int_equal(d.values_cap, 0);
	wb_dec_free(&d); /* twice is harmless */
	tbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_begin_commit),
		cmocka_unit_test(test_insert_all_values),
		cmocka_unit_test(test_values_as_keys),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_change_tail),
		cmocka_unit_test(test_relation),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_concatenated),
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_timestamp_from_pg),
		cmocka_unit_test(test_version2_records),
		cmocka_unit_test(test_kind_name),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_encoder_rejects),
		cmocka_unit_test(test_prefixes_truncated),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_lenient_encodings),
		cmocka_unit_test(test_decoder_reuse),
	};

	return cmocka_run_group_tests(tests, setup_long, NULL);
}
