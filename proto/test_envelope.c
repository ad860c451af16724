/*-------------------------------------------------------------------------
 *
 * test_envelope.c
 *	  cmocka tests of the bus envelope and control codecs shared by the
 *	  relay and libwalbus: topic quoting, encode/decode round trips of
 *	  every kind, and hostile input (truncation at every byte, lying
 *	  counts, wrong types, duplicates, deep nesting, random bytes).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpread.h"
#include "walbus_control.h"
#include "walbus_envelope.h"

/* deeper than the reader accepts */
#define MPR_MAX_DEPTH_TEST	(MPR_MAX_DEPTH + 2)

/* A growable buffer for the encoder. */
typedef struct buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} buf;

static int
buf_write(void *ctx, const char *p, size_t n)
{
	buf		   *b = ctx;

	if (b->len + n > b->cap)
	{
		size_t		cap = b->cap ? b->cap * 2 : 256;

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

static const wbe_head head = {0x1234567890abcdefULL, 7, 3};
static const wbe_txn txn = {4242, 0x16B3748, {1700000000, 123456000}, 2};

/* ------------------------------------------------------------------ topics */

static void
test_topic_quoting(void **state)
{
	static const struct
	{
		const char *schema;
		const char *table;
		const char *topic;
	}			cases[] = {
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		out[WBE_TABLE_TOPIC_MAX + 1];
		size_t		n = wbe_topic_table(out, sizeof(out), cases[i].schema,
										strlen(cases[i].schema),
										cases[i].table,
										strlen(cases[i].table));

		assert_int_equal(n, strlen(cases[i].topic));
		assert_string_equal(out, cases[i].topic);
	}
}

static void
test_topic_prefixes(void **state)
{
	char		out[64];
	char		small[6];

	(void) state;
	assert_int_equal(wbe_topic_schema(out, sizeof(out), "public", 6), 7);
	assert_string_equal(out, "public.");
	assert_int_equal(wbe_topic_schema(out, sizeof(out), "a.b", 3), 6);
	assert_string_equal(out, "\"a.b\".");
	assert_int_equal(wbe_topic_message(out, sizeof(out), "audit", 5), 10);
	assert_string_equal(out, "_msg.audit");

	/* like snprintf: the full length is returned, output is truncated */
	assert_int_equal(wbe_topic_table(small, sizeof(small), "public", 6, "t",
									 1), 8);
	assert_string_equal(small, "publi");
}

/* ------------------------------------------------------------ round trips */

static void
decode_ok(wbe_dec *d, const buf *b, wbe_envelope *env)
{
	int			rc = wbe_decode(d, b->data, b->len, env);

	if (rc != WB_OK)
		fail_msg("decode failed: %s", wbe_dec_errmsg(d));
}

static void
assert_head(const wbe_envelope *env, const char *topic)
{
	assert_int_equal(env->topic.len, strlen(topic));
	assert_memory_equal(env->topic.ptr, topic, env->topic.len);
	assert_true(env->head.run == head.run);
	assert_int_equal(env->head.seq, head.seq);
	assert_int_equal(env->head.tseq, head.tseq);
}

static void
assert_txn(const wbe_envelope *env, bool with_pos)
{
	assert_true(env->in_txn);
	assert_int_equal(env->txn.xid, txn.xid);
	assert_int_equal(env->txn.commit_lsn, txn.commit_lsn);
	assert_int_equal(env->txn.commit_time.sec, txn.commit_time.sec);
	assert_int_equal(env->txn.commit_time.nsec, txn.commit_time.nsec);
	if (with_pos)
		assert_int_equal(env->txn.pos, txn.pos);
}

static void
test_insert_roundtrip(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wbe_dec		d;
	wbe_envelope env;
	wb_value	v[9];

	(void) state;
	v[0].type = WB_V_INT;
	v[0].v.i = -42;
	v[1].type = WB_V_STR;
	v[1].v.s.ptr = "ann";
	v[1].v.s.len = 3;
	v[2].type = WB_V_NIL;
	v[3].type = WB_V_BOOL;
	v[3].v.b = true;
	v[4].type = WB_V_FLOAT32;
	v[4].v.f32 = NAN;
	v[5].type = WB_V_FLOAT64;
	v[5].v.f64 = -INFINITY;
	v[6].type = WB_V_BIN;
	v[6].v.s.ptr = "\0\1\2";
	v[6].v.s.len = 3;
	v[7].type = WB_V_TIMESTAMP;
	v[7].v.ts.sec = -1;			/* before 1970: the 96-bit form */
	v[7].v.ts.nsec = 999999999;
	v[8].type = WB_V_UNCHANGED_TOAST;

	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_change_start(&e, &head, WBE_INSERT, &txn, 16385, 99, 9, false);
	for (int i = 0; i < 9; i++)
		wb_enc_value(&e, &v[i]);
	assert_false(wb_enc_failed(&e));

	wbe_dec_init(&d);
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_INSERT);
	assert_head(&env, "public.contacts");
	assert_txn(&env, true);
	assert_int_equal(env.relid, 16385);
	assert_int_equal(env.schema_version, 99);
	assert_int_equal(env.nvalues, 9);
	assert_int_equal(env.values[0].type, WB_V_INT);
	assert_int_equal(env.values[0].v.i, -42);
	assert_int_equal(env.values[1].type, WB_V_STR);
	assert_memory_equal(env.values[1].v.s.ptr, "ann", 3);
	assert_int_equal(env.values[2].type, WB_V_NIL);
	assert_true(env.values[3].v.b);
	assert_int_equal(env.values[4].type, WB_V_FLOAT32);
	assert_true(isnan(env.values[4].v.f32));
	assert_int_equal(env.values[5].type, WB_V_FLOAT64);
	assert_true(isinf(env.values[5].v.f64) && env.values[5].v.f64 < 0);
	assert_int_equal(env.values[6].type, WB_V_BIN);
	assert_int_equal(env.values[6].v.s.len, 3);
	assert_memory_equal(env.values[6].v.s.ptr, "\0\1\2", 3);
	assert_int_equal(env.values[7].type, WB_V_TIMESTAMP);
	assert_int_equal(env.values[7].v.ts.sec, -1);
	assert_int_equal(env.values[7].v.ts.nsec, 999999999);
	assert_int_equal(env.values[8].type, WB_V_UNCHANGED_TOAST);
	assert_false(env.has_key);
	assert_false(env.has_old_key);
	wbe_dec_free(&d);
	buf_free(&b);
}

static void
test_update_delete_truncate(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wbe_dec		d;
	wbe_envelope env;
	wb_value	key = {.type = WB_V_INT,.v.i = 7};
	wb_value	old = {.type = WB_V_INT,.v.i = 6};

	(void) state;
	wbe_dec_init(&d);

	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "s.t", 3);
	wbe_enc_change_start(&e, &head, WBE_UPDATE, &txn, 1, 2, 1, true);
	wb_enc_value(&e, &key);
	wbe_enc_old_key(&e, &old);
	assert_false(wb_enc_failed(&e));
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_UPDATE);
	assert_true(env.has_old_key);
	assert_int_equal(env.old_key.v.i, 6);
	assert_int_equal(env.values[0].v.i, 7);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "s.t", 3);
	wbe_enc_delete(&e, &head, &txn, 1, 2, &key);
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_DELETE);
	assert_true(env.has_key);
	assert_int_equal(env.key.v.i, 7);
	assert_int_equal(env.nvalues, 0);
	assert_txn(&env, true);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "s.t", 3);
	wbe_enc_truncate(&e, &head, &txn, 1, 2, WB_TRUNCATE_CASCADE);
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_TRUNCATE);
	assert_int_equal(env.truncate_flags, WB_TRUNCATE_CASCADE);
	assert_int_equal(env.relid, 1);

	wbe_dec_free(&d);
	buf_free(&b);
}

static void
test_message_commit_heartbeat(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wbe_dec		d;
	wbe_envelope env;
	wbe_heartbeat hb = {{1700000001, 5}, 12, 0x100, 0xF0};

	(void) state;
	wbe_dec_init(&d);

	/* non-transactional message: no transaction fields */
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "_msg.audit", 10);
	wbe_enc_message(&e, &head, NULL, 0x200, "audit", 5, "\xff\x00x", 3);
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_MESSAGE);
	assert_false(env.transactional);
	assert_false(env.in_txn);
	assert_int_equal(env.msg_lsn, 0x200);
	assert_memory_equal(env.prefix.ptr, "audit", 5);
	assert_int_equal(env.content.len, 3);
	assert_memory_equal(env.content.ptr, "\xff\x00x", 3);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "_msg.audit", 10);
	wbe_enc_message(&e, &head, &txn, 0x200, "audit", 5, "", 0);
	decode_ok(&d, &b, &env);
	assert_true(env.transactional);
	assert_txn(&env, true);
	assert_int_equal(env.content.len, 0);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_TXN, 4);
	wbe_enc_commit_start(&e, &head, &txn, 0x16B3800, 5, 3, 2);
	wbe_enc_commit_topic(&e, "public.a", 8, 10, 2);
	wbe_enc_commit_topic(&e, "_msg.audit", 10, 4, 1);
	assert_false(wb_enc_failed(&e));
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_COMMIT);
	assert_txn(&env, false);
	assert_int_equal(env.end_lsn, 0x16B3800);
	assert_int_equal(env.first_seq, 5);
	assert_int_equal(env.nchanges, 3);
	assert_int_equal(env.ntopics, 2);
	assert_memory_equal(env.topics[0].topic.ptr, "public.a", 8);
	assert_int_equal(env.topics[0].last_tseq, 10);
	assert_int_equal(env.topics[0].count, 2);
	assert_memory_equal(env.topics[1].topic.ptr, "_msg.audit", 10);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_HEARTBEAT, 3);
	wbe_enc_heartbeat(&e, &head, &hb);
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_HEARTBEAT);
	assert_false(env.in_txn);
	assert_int_equal(env.hb.time.sec, 1700000001);
	assert_int_equal(env.hb.time.nsec, 5);
	assert_int_equal(env.hb.txn_tseq, 12);
	assert_int_equal(env.hb.received_lsn, 0x100);
	assert_int_equal(env.hb.flushed_lsn, 0xF0);

	wbe_dec_free(&d);
	buf_free(&b);
}

/* The encoder refuses what the format cannot carry, and stays failed. */
static void
test_encoder_refuses(void **state)
{
	buf			b = {0};
	wb_enc		e;

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "a\0b", 3);
	assert_true(wb_enc_failed(&e));
	wbe_enc_heartbeat(&e, &head, &(wbe_heartbeat) {0});
	assert_int_equal(b.len, 0);

	wb_enc_init(&e, buf_write, &b);
	wbe_enc_change_start(&e, &head, WBE_DELETE, &txn, 1, 1, 0, false);
	assert_true(wb_enc_failed(&e));
	buf_free(&b);
}

/* ------------------------------------------------------------ hostile input */

static void
expect_malformed(const void *p, size_t len, const char *why_contains)
{
	wbe_dec		d;
	wbe_envelope env;
	int			rc;

	wbe_dec_init(&d);
	rc = wbe_decode(&d, p, len, &env);
	if (rc == WB_OK)
		fail_msg("accepted malformed input (%s)", why_contains);
	assert_int_equal(rc, WB_EMALFORMED);
	if (why_contains && strstr(wbe_dec_errmsg(&d), why_contains) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", wbe_dec_errmsg(&d),
				 why_contains);
	wbe_dec_free(&d);
}

static void
test_truncated_everywhere(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wb_value	v = {.type = WB_V_STR,.v.s = {"hello", 5}};

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_change_start(&e, &head, WBE_UPDATE, &txn, 1, 2, 1, true);
	wb_enc_value(&e, &v);
	wbe_enc_old_key(&e, &v);

	/* every proper prefix fails cleanly (ASan/UBSan runs catch overreads) */
	for (size_t n = 0; n < b.len; n++)
	{
		char	   *copy = malloc(n ? n : 1);

		memcpy(copy, b.data, n);
		expect_malformed(copy, n, NULL);
		free(copy);
	}
	buf_free(&b);
}

static void
test_lying_counts_and_types(void **state)
{
	/* topic, NUL, then the body */
	static const unsigned char map32_huge[] = {'t', 0, 0xdf, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char str_too_long[] = {'t', 0, 0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
	static const unsigned char not_a_map[] = {'t', 0, 0x92, 0x01, 0x02};
	static const unsigned char no_topic[] = {0, 0x80};
	static const unsigned char no_nul[] = {'t', 'o', 'p'};
	static const unsigned char empty_map[] = {'t', 0, 0x80};
	static const unsigned char bad_kind[] = {'t', 0, 0x81, 0xa4, 'k', 'i', 'n', 'd', 0xa3, 'f', 'o', 'o'};
	static const unsigned char kind_int[] = {'t', 0, 0x81, 0xa4, 'k', 'i', 'n', 'd', 0x01};
	static const unsigned char invalid_byte[] = {'t', 0, 0x81, 0xa1, 'x', 0xc1};

	(void) state;
	expect_malformed(map32_huge, sizeof(map32_huge), "map of");
	expect_malformed(str_too_long, sizeof(str_too_long), "string of");
	expect_malformed(not_a_map, sizeof(not_a_map), "expected a map");
	expect_malformed(no_topic, sizeof(no_topic), "topic");
	expect_malformed(no_nul, sizeof(no_nul), "topic");
	expect_malformed(empty_map, sizeof(empty_map), "kind");
	expect_malformed(bad_kind, sizeof(bad_kind), "unknown kind");
	expect_malformed(kind_int, sizeof(kind_int), "expected a string");
	expect_malformed(invalid_byte, sizeof(invalid_byte), NULL);
}

/* Re-encode a heartbeat map by hand with one extra or repeated key. */
static void
hb_with(buf *b, const char *extra_key, const void *extra_val, size_t vlen,
		bool drop_time)
{
	wb_enc		e;
	buf			body = {0};
	wbe_heartbeat hb = {{1, 0}, 0, 0, 0};

	wb_enc_init(&e, buf_write, &body);
	wbe_enc_heartbeat(&e, &head, &hb);
	/* body[0] is a fixmap header 0x88 (8 pairs) */
	assert_int_equal((unsigned char) body.data[0], 0x88);
	b->len = 0;
	buf_write(b, "_hb", 4);
	if (drop_time)
	{
		/* rebuild without "time": encode the same fields minus one */
		char		hdr = (char) 0x87;
		const char *t = memmem(body.data, body.len, "\xa4time", 5);
		size_t		tlen = 5 + 6;	/* key + fixext4 timestamp {1,0} */

		assert_non_null(t);
		buf_write(b, &hdr, 1);
		buf_write(b, body.data + 1, (size_t) (t - body.data) - 1);
		buf_write(b, t + tlen, body.len - (size_t) (t - body.data) - tlen);
	}
	else
	{
		char		hdr = (char) 0x89;
		char		klen = (char) (0xa0 | strlen(extra_key));

		buf_write(b, &hdr, 1);
		buf_write(b, body.data + 1, body.len - 1);
		buf_write(b, &klen, 1);
		buf_write(b, extra_key, strlen(extra_key));
		buf_write(b, extra_val, vlen);
	}
	buf_free(&body);
}

static void
test_unknown_duplicate_missing_keys(void **state)
{
	buf			b = {0};
	wbe_dec		d;
	wbe_envelope env;
	/* an unknown key holding a nested structure: skipped */
	static const unsigned char nested[] = {0x92, 0x81, 0xa1, 'a', 0xc0, 0xa1, 'b'};
	unsigned char deep[MPR_MAX_DEPTH_TEST];

	(void) state;
	wbe_dec_init(&d);
	hb_with(&b, "future", nested, sizeof(nested), false);
	decode_ok(&d, &b, &env);
	assert_int_equal(env.kind, WBE_HEARTBEAT);

	/* an unknown key with an integer above INT64_MAX: skipped too */
	hb_with(&b, "huge", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9, false);
	decode_ok(&d, &b, &env);

	hb_with(&b, "seq", "\x01", 1, false);
	expect_malformed(b.data, b.len, "repeated");

	hb_with(&b, NULL, NULL, 0, true);
	expect_malformed(b.data, b.len, "lacks a required key");

	/* a key of another kind ("values" on a heartbeat) */
	hb_with(&b, "values", "\x90", 1, false);
	expect_malformed(b.data, b.len, "key of another kind");

	/* nesting beyond the limit inside an unknown key */
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 1] = 0xc0;
	hb_with(&b, "deep", deep, sizeof(deep), false);
	expect_malformed(b.data, b.len, "nesting");

	wbe_dec_free(&d);
	buf_free(&b);
}

static void
test_too_many_values(void **state)
{
	buf			b = {0};
	wb_enc		e;

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbe_enc_topic(&e, "s.t", 3);
	wbe_enc_change_start(&e, &head, WBE_INSERT, &txn, 1, 2,
						 WB_MAX_COLUMNS + 1, false);
	for (int i = 0; i < WB_MAX_COLUMNS + 1; i++)
		wb_enc_v_nil(&e);
	expect_malformed(b.data, b.len, "more than");
	buf_free(&b);
}

/* Random bytes after a topic never crash the decoder. */
static void
test_random_bytes(void **state)
{
	unsigned char data[64];
	wbe_dec		d;
	wbe_envelope env;
	unsigned int seed = 12345;

	(void) state;
	wbe_dec_init(&d);
	for (int iter = 0; iter < 20000; iter++)
	{
		size_t		n = 2 + rand_r(&seed) % (sizeof(data) - 2);

		data[0] = 't';
		data[1] = 0;
		for (size_t i = 2; i < n; i++)
			data[i] = (unsigned char) rand_r(&seed);
		/* bias towards maps so decoding goes deeper */
		if (iter % 2)
			data[2] = 0x80 | (data[2] & 0x0f);
		(void) wbe_decode(&d, data, n, &env);
	}
	wbe_dec_free(&d);
}

/* ---------------------------------------------------------------- control */

static void
test_control_requests(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wbc_request req;
	char		err[160];
	static const unsigned char unknown_op[] = {0x81, 0xa2, 'o', 'p', 0xa4, 'b', 'o', 'o', 'm'};
	static const unsigned char no_op[] = {0x80};
	static const unsigned char bad_relid[] = {0x82, 0xa2, 'o', 'p', 0xa6, 's', 'c', 'h', 'e', 'm', 'a', 0xa5, 'r', 'e', 'l', 'i', 'd', 0xa1, 'x'};

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
										err, sizeof(err)), WB_OK);
	assert_int_equal(req.op, WBC_OP_UNKNOWN);
	assert_memory_equal(req.op_name.ptr, "boom", 4);
	assert_int_equal(wbc_decode_request(no_op, sizeof(no_op), &req, err,
										sizeof(err)), WB_EMALFORMED);
	assert_int_equal(wbc_decode_request(bad_relid, sizeof(bad_relid), &req,
										err, sizeof(err)), WB_EMALFORMED);
	assert_int_equal(wbc_decode_request("", 0, &req, err, sizeof(err)),
					 WB_EMALFORMED);
	buf_free(&b);
}

static void
test_control_responses(void **state)
{
	buf			b = {0};
	wb_enc		e;
	char		err[160];
	bool		ok;
	wb_str		code,
				msg;
	wbc_schema	sc;
	wbc_status	st = {0},
				got;

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_schema_start(&e, 16385, 77, "public", 6, "contacts", 8, 0, 2);
	wbc_enc_schema_column(&e, "id", 2, 23, -1, "integer", 7);
	wbc_enc_schema_column(&e, "price", 5, 1700, 655366, "numeric(10,2)", 13);
	assert_false(wb_enc_failed(&e));
	assert_int_equal(wbc_decode_result(b.data, b.len, &ok, &code, &msg, err,
									   sizeof(err)), WB_OK);
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
	free(sc.columns);

	b.len = 0;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_error(&e, WBC_ERR_NOT_FOUND, "no such version");
	assert_int_equal(wbc_decode_result(b.data, b.len, &ok, &code, &msg, err,
									   sizeof(err)), WB_OK);
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
		size_t		n = 0;

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

/* hello, ack and replay: round trips and hostile replies. */
static void
test_control_durable(void **state)
{
	buf			b = {0};
	wb_enc		e;
	wbc_request req;
	wbc_hello	h = {7, true, 0x1000, 0xF00, 3, 0x2000},
				hg;
	wbc_replay	rp;
	uint64_t	flushed;
	char		err[160];
	wb_str		prefixes[2] = {{"public.contacts\0", 16}, {"sales.", 6}};
	/* {"status": "data", "messages": array of 200 elements, none present} */
	static const unsigned char lying[] = {0x82, 0xa6, 's', 't', 'a', 't', 'u', 's',
		0xa4, 'd', 'a', 't', 'a', 0xa8, 'm', 'e', 's', 's', 'a', 'g', 'e', 's',
	0xdc, 0x00, 0xc8};

	(void) state;
	wb_enc_init(&e, buf_write, &b);
	wbc_enc_ack_request(&e, "crm", 3, 0x16B3748, 12, 0x16B3800);
	assert_int_equal(wbc_decode_request(b.data, b.len, &req, err, sizeof(err)),
					 WB_OK);
	assert_int_equal(req.op, WBC_OP_ACK);
	assert_true(req.has_consumer && req.has_key);
	assert_memory_equal(req.consumer.ptr, "crm", 3);
	assert_int_equal(req.commit_lsn, 0x16B3748);
	assert_int_equal(req.pos, 12);
	assert_int_equal(req.end_lsn, 0x16B3800);

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
	wbc_enc_replay_request(&e, "x", 1, 1, 1, prefixes, WBC_MAX_PREFIXES + 1, 0);
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
									   sizeof(err)), WB_EMALFORMED);
	assert_null(rp.messages);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_quoting),
		cmocka_unit_test(test_topic_prefixes),
		cmocka_unit_test(test_insert_roundtrip),
		cmocka_unit_test(test_update_delete_truncate),
		cmocka_unit_test(test_message_commit_heartbeat),
		cmocka_unit_test(test_encoder_refuses),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_lying_counts_and_types),
		cmocka_unit_test(test_unknown_duplicate_missing_keys),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_control_requests),
		cmocka_unit_test(test_control_responses),
		cmocka_unit_test(test_control_durable),
	};

	return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
