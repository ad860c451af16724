/*-------------------------------------------------------------------------
 *
 * fuzz_decode.c
 *	  libFuzzer target for wb_decode.
 *
 * The input is treated as a stream of concatenated records and decoded
 * until the first error, as the relay does.  For every record decoded:
 *
 *   - every field is read, string bytes included, so AddressSanitizer sees
 *     any pointer that leaves the input;
 *   - the decoder's promises are checked (consumed within the input, counts
 *     within the limits, key_index names a column, nsec below 10^9, the
 *     tail of a change is the end of its record);
 *   - the record is encoded again and decoded again, and the second
 *     encoding must equal the first: whatever the decoder accepts, the
 *     encoder can write and the decoder reads back the same.
 *
 * A broken promise aborts, which libFuzzer reports as a crash.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walbus_proto.h"

typedef struct fbuf
{
	char  *data;
	size_t len;
	size_t cap;
} fbuf;

static int
fbuf_write(void *ctx, const char *buf, size_t len)
{
	fbuf *b = ctx;

	if (b->len + len > b->cap)
	{
		size_t cap = b->cap ? b->cap : 1024;

		while (cap < b->len + len)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (b->data == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return 0;
}

static void
check(int ok, const char *what)
{
	if (!ok)
	{
		fprintf(stderr, "fuzz_decode: broken promise: %s\n", what);
		abort();
	}
}

/* Read a string byte by byte and check that it lies inside the input. */
static unsigned
touch_str(wb_str s, const unsigned char *lo, const unsigned char *hi)
{
	const unsigned char *p = (const unsigned char *) s.ptr;
	unsigned			 sum = 0;

	if (s.len == 0)
		return 0;
	check(p >= lo && p + s.len <= hi, "string outside the input");
	for (uint32_t i = 0; i < s.len; i++)
		sum += p[i];
	return sum;
}

/*
 * A tail (the bytes after relid, which the relay splices into frames)
 * must end where the record ends and hold at least one byte (a value, or
 * the values array's header) after the array header, kind and relid.
 */
static unsigned
touch_tail(wb_str t, const unsigned char *lo, const unsigned char *hi)
{
	const unsigned char *p = (const unsigned char *) t.ptr;

	check(t.len > 0 && p >= lo + 3 && p + t.len == hi,
		  "tail is not the end of its record");
	return touch_str(t, lo, hi);
}

static unsigned
touch_value(const wb_value *v, const unsigned char *lo,
			const unsigned char *hi)
{
	switch (v->type)
	{
		case WB_V_NIL:
		case WB_V_UNCHANGED_TOAST:
			return 1;
		case WB_V_BOOL:
			return v->v.b;
		case WB_V_INT:
			return (unsigned) v->v.i;
		case WB_V_FLOAT32:
			return v->v.f32 == v->v.f32;
		case WB_V_FLOAT64:
			return v->v.f64 == v->v.f64;
		case WB_V_STR:
		case WB_V_BIN:
			return touch_str(v->v.s, lo, hi);
		case WB_V_TIMESTAMP:
			check(v->v.ts.nsec < 1000000000u, "nsec >= 10^9");
			return (unsigned) v->v.ts.sec + v->v.ts.nsec;
	}
	check(0, "unknown value type");
	return 0;
}

static unsigned
touch_record(const wb_record *r, const unsigned char *lo,
			 const unsigned char *hi)
{
	unsigned sum = (unsigned) r->kind;

	switch (r->kind)
	{
		case WB_BEGIN:
			check(r->u.begin.commit_time.nsec < 1000000000u, "nsec");
			return sum + r->u.begin.xid + (unsigned) r->u.begin.final_lsn +
				(unsigned) r->u.begin.commit_time.sec;
		case WB_COMMIT:
			check(r->u.commit.commit_time.nsec < 1000000000u, "nsec");
			return sum +
				(unsigned) (r->u.commit.commit_lsn + r->u.commit.end_lsn +
							r->u.commit.commit_time.sec);
		case WB_RELATION:
			check(r->u.relation.ncolumns <= WB_MAX_COLUMNS, "ncolumns");
			check(r->u.relation.key_index < r->u.relation.ncolumns,
				  "key_index");
			sum += r->u.relation.relid + r->u.relation.key_index;
			sum += touch_str(r->u.relation.schema, lo, hi);
			sum += touch_str(r->u.relation.table, lo, hi);
			for (uint32_t i = 0; i < r->u.relation.ncolumns; i++)
			{
				const wb_column *c = &r->u.relation.columns[i];

				sum += touch_str(c->name, lo, hi) + c->typoid +
					(unsigned) c->typmod + touch_str(c->typname, lo, hi);
			}
			return sum;
		case WB_INSERT:
		case WB_UPDATE:
			check(r->u.change.nvalues <= WB_MAX_COLUMNS, "nvalues");
			check(r->kind == WB_UPDATE || !r->u.change.has_old_key,
				  "old key on an insert");
			sum += r->u.change.relid + touch_tail(r->u.change.tail, lo, hi);
			for (uint32_t i = 0; i < r->u.change.nvalues; i++)
				sum += touch_value(&r->u.change.values[i], lo, hi);
			if (r->u.change.has_old_key)
				sum += touch_value(&r->u.change.old_key, lo, hi);
			return sum;
		case WB_DELETE:
			sum += touch_tail(r->u.del.tail, lo, hi);
			return sum + r->u.del.relid + touch_value(&r->u.del.key, lo, hi);
		case WB_TRUNCATE:
			check(r->u.truncate.nrelids <= WB_MAX_TRUNCATE_RELIDS, "nrelids");
			sum += r->u.truncate.flags;
			for (uint32_t i = 0; i < r->u.truncate.nrelids; i++)
				sum += r->u.truncate.relids[i];
			return sum;
		case WB_MESSAGE:
			return sum + r->u.message.transactional +
				(unsigned) r->u.message.lsn +
				touch_str(r->u.message.prefix, lo, hi) +
				touch_str(r->u.message.content, lo, hi);
		case WB_WITHDRAWN:
			return sum + r->u.withdrawn.relid + r->u.withdrawn.dropped +
				touch_str(r->u.withdrawn.reason, lo, hi);
	}
	check(0, "unknown kind");
	return 0;
}

static void
encode_record(wb_enc *e, const wb_record *r)
{
	switch (r->kind)
	{
		case WB_BEGIN:
			wb_enc_begin(e, r->u.begin.xid, r->u.begin.final_lsn,
						 r->u.begin.commit_time);
			return;
		case WB_COMMIT:
			wb_enc_commit(e, r->u.commit.commit_lsn, r->u.commit.end_lsn,
						  r->u.commit.commit_time);
			return;
		case WB_RELATION:
			wb_enc_relation_start(e, r->u.relation.relid,
								  r->u.relation.schema.ptr,
								  r->u.relation.schema.len,
								  r->u.relation.table.ptr,
								  r->u.relation.table.len,
								  r->u.relation.key_index,
								  r->u.relation.ncolumns,
								  r->u.relation.schema_oid);
			for (uint32_t i = 0; i < r->u.relation.ncolumns; i++)
			{
				const wb_column *c = &r->u.relation.columns[i];

				wb_enc_column(e, c->name.ptr, c->name.len, c->typoid,
							  c->typmod, c->typname.ptr, c->typname.len,
							  c->attnum);
			}
			if (r->u.relation.schema_oid != 0)
				wb_enc_relation_finish(e, r->u.relation.schema_oid);
			return;
		case WB_INSERT:
			wb_enc_insert_start(e, r->u.change.relid, r->u.change.nvalues);
			for (uint32_t i = 0; i < r->u.change.nvalues; i++)
				wb_enc_value(e, &r->u.change.values[i]);
			return;
		case WB_UPDATE:
			wb_enc_update_start(e, r->u.change.relid, r->u.change.nvalues,
								r->u.change.has_old_key);
			for (uint32_t i = 0; i < r->u.change.nvalues; i++)
				wb_enc_value(e, &r->u.change.values[i]);
			if (r->u.change.has_old_key)
				wb_enc_value(e, &r->u.change.old_key);
			return;
		case WB_DELETE:
			wb_enc_delete_start(e, r->u.del.relid);
			wb_enc_value(e, &r->u.del.key);
			return;
		case WB_TRUNCATE:
			wb_enc_truncate_start(e, r->u.truncate.flags,
								  r->u.truncate.nrelids);
			for (uint32_t i = 0; i < r->u.truncate.nrelids; i++)
				wb_enc_relid(e, r->u.truncate.relids[i]);
			return;
		case WB_MESSAGE:
			wb_enc_message(e, r->u.message.transactional, r->u.message.lsn,
						   r->u.message.prefix.ptr, r->u.message.prefix.len,
						   r->u.message.content.ptr, r->u.message.content.len);
			return;
		case WB_WITHDRAWN:
			wb_enc_withdrawn(e, r->u.withdrawn.relid, r->u.withdrawn.dropped,
							 r->u.withdrawn.reason.ptr,
							 r->u.withdrawn.reason.len);
			return;
	}
	check(0, "unknown kind");
}

/* Encode r, decode it, encode that: both encodings must be identical. */
static void
check_reencode(const wb_record *r, wb_dec *d2, fbuf *b1, fbuf *b2)
{
	wb_enc	  e;
	wb_record r2;
	size_t	  used;

	b1->len = 0;
	wb_enc_init(&e, fbuf_write, b1);
	encode_record(&e, r);
	check(!wb_enc_failed(&e), "encoder refused a decoded record");

	check(wb_decode(d2, b1->data, b1->len, &r2, &used) == WB_OK,
		  "re-encoded record does not decode");
	check(used == b1->len, "re-encoded record length");

	b2->len = 0;
	wb_enc_init(&e, fbuf_write, b2);
	encode_record(&e, &r2);
	check(!wb_enc_failed(&e), "second encoding failed");
	check(b1->len == b2->len && memcmp(b1->data, b2->data, b1->len) == 0,
		  "encoding not stable across a round trip");
}

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wb_dec d;
	wb_dec d2;
	fbuf   b1 = {0};
	fbuf   b2 = {0};
	size_t off = 0;

	wb_dec_init(&d);
	wb_dec_init(&d2);
	while (off < size)
	{
		wb_record r;
		size_t	  used = 0;
		int		  rc = wb_decode(&d, data + off, size - off, &r, &used);

		if (rc != WB_OK)
		{
			check(rc == WB_ETRUNC || rc == WB_EMALFORMED, "unexpected code");
			check(d.errmsg[0] != '\0', "no error message");
			break;
		}
		check(used > 0 && used <= size - off, "consumed out of range");
		sink += touch_record(&r, data + off, data + off + used);
		check_reencode(&r, &d2, &b1, &b2);
		off += used;
	}
	wb_dec_free(&d);
	wb_dec_free(&d2);
	free(b1.data);
	free(b2.data);
	return 0;
}
