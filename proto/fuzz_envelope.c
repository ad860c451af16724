/*-------------------------------------------------------------------------
 *
 * fuzz_envelope.c
 *	  libFuzzer target for the decoders that read bytes from the network:
 *	  bus frames (wbe_decode), the schema and backfill events they carry
 *	  (wbs_decode_event, wbb_decode_event), and control requests and
 *	  responses (wbc_decode_*).  Built and run by "make fuzz" (clang, ASan, UBSan).
 *
 * Beyond "does not crash", a frame the decoder accepts must be whole and
 * consistent: every string inside the input, at least one change with
 * increasing positions, each row pointing at its own values in the
 * decoder's scratch array.  And it must survive a round trip: encoded
 * again by the encoder and decoded, it gives the same frame.  A violation
 * traps, which libFuzzer reports as a crash with its input.
 *
 * "fuzz_envelope -seed DIR" (not a libFuzzer flag; checked before libFuzzer
 * sees the arguments) writes a few valid frames into DIR as a corpus.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walbus_backfill.h"
#include "walbus_control.h"
#include "walbus_envelope.h"
#include "walbus_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* clang-format off */
#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
/* clang-format on */

/* A growable buffer for the encoder. */
typedef struct fbuf
{
	char  *data;
	size_t len;
	size_t cap;
} fbuf;

static int
fbuf_write(void *ctx, const char *p, size_t n)
{
	fbuf *b = ctx;

	if (n == 0)
		return 0;
	if (b->len + n > b->cap)
	{
		size_t cap = b->cap ? b->cap * 2 : 1024;
		char  *data;

		while (cap < b->len + n)
			cap *= 2;
		if ((data = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* ----------------------------------------------------------- invariants */

static void
check_str_in(wb_str s, const uint8_t *data, size_t size)
{
	if (s.len == 0)
		return;
	CHECK((const uint8_t *) s.ptr >= data);
	CHECK((const uint8_t *) s.ptr + s.len <= data + size);
}

static void
check_value_in(const wb_value *v, const uint8_t *data, size_t size)
{
	CHECK(v->type <= WB_V_UNCHANGED_TOAST);
	if (v->type == WB_V_STR || v->type == WB_V_BIN)
		check_str_in(v->v.s, data, size);
	if (v->type == WB_V_TIMESTAMP)
		CHECK(v->v.ts.nsec < 1000000000u);
}

static int str_eq(wb_str a, wb_str b);

static bool
topic_is(wb_str t, const char *name)
{
	return t.len == strlen(name) && memcmp(t.ptr, name, t.len) == 0;
}

static bool
is_schema_topic(wb_str t)
{
	return topic_is(t, WBE_TOPIC_SCHEMA);
}

/* _schema and _backfill: events of the relay, in a transaction */
static bool
is_event_topic(wb_str t)
{
	return is_schema_topic(t) || topic_is(t, WBE_TOPIC_BACKFILL);
}

/*
 * A schema event the frame decoder accepted as a map: its own decoder
 * must accept or refuse it cleanly, and what it accepts must hold.
 */
static void
check_event(wb_str bytes)
{
	wbs_event ev;
	char	  err[160];
	int rc = wbs_decode_event(bytes.ptr, bytes.len, &ev, err, sizeof(err));

	CHECK(rc == WB_OK || rc == WB_EMALFORMED || rc == WB_ENOMEM);
	if (rc != WB_OK)
		return;
	CHECK(wbs_event_name(ev.kind) != NULL);
	CHECK(ev.topic.ptr != NULL);
	CHECK(ev.nchanges <= WBS_MAX_CHANGES);
	for (uint32_t i = 0; i < ev.nchanges; i++)
		CHECK(wbs_change_name(ev.changes[i].kind) != NULL);
	if (ev.has_table)
	{
		CHECK(ev.table.relid == ev.relid);
		CHECK(ev.table.ncolumns == 0 ||
			  ev.table.key_index < ev.table.ncolumns);
	}
	if (ev.has_table && ev.has_previous)
	{
		wbs_change changes[64];

		/* the diff stays in bounds for any pair of definitions */
		if (ev.table.ncolumns + ev.previous.ncolumns < 28)
			CHECK(wbs_diff(&ev.previous, &ev.table, changes) <= 64);
	}
	wbs_event_free(&ev);
}

/*
 * A backfill event the frame decoder accepted as a map: its own decoder
 * must accept or refuse it cleanly; what it accepts names a known event,
 * strings inside the map, and survives a round trip.
 */
static void
check_backfill_event(wb_str bytes)
{
	wbb_event ev, again;
	char	  err[160];
	wb_enc	  e;
	fbuf	  b = {0};
	int rc = wbb_decode_event(bytes.ptr, bytes.len, &ev, err, sizeof(err));

	CHECK(rc == WB_OK || rc == WB_EMALFORMED);
	CHECK(rc == WB_OK || err[0] != '\0');
	if (rc != WB_OK)
		return;
	CHECK(wbb_event_name(ev.kind) != NULL);
	check_str_in(ev.topic, (const uint8_t *) bytes.ptr, bytes.len);
	if (ev.reason.ptr != NULL)
		check_str_in(ev.reason, (const uint8_t *) bytes.ptr, bytes.len);
	wb_enc_init(&e, fbuf_write, &b);
	wbb_enc_event(&e, &ev);
	CHECK(!wb_enc_failed(&e));
	CHECK(wbb_decode_event(b.data, b.len, &again, err, sizeof(err)) == WB_OK);
	CHECK(again.kind == ev.kind && again.backfill == ev.backfill &&
		  again.relid == ev.relid && again.rows == ev.rows &&
		  again.chunks == ev.chunks && str_eq(again.topic, ev.topic) &&
		  (again.reason.ptr == NULL) == (ev.reason.ptr == NULL) &&
		  (ev.reason.ptr == NULL || str_eq(again.reason, ev.reason)));
	free(b.data);
}

static void
check_frame(const wbe_dec *d, const wbe_frame *f, const uint8_t *data,
			size_t size)
{
	uint32_t off = 0;

	CHECK(f->topic.len > 0);
	check_str_in(f->topic, data, size);
	CHECK(f->topic.ptr[f->topic.len] == '\0');
	CHECK(f->head.run != 0 && f->head.run < (UINT64_C(1) << 53));
	check_str_in(f->prefix, data, size);
	for (uint32_t i = 0; i < f->ntopics; i++)
		check_str_in(f->topics[i].topic, data, size);
	switch (f->kind)
	{
		case WBE_FRAME_CHANGES:
			CHECK(f->nchanges >= 1);
			CHECK(f->ntopics == 0);
			break;
		case WBE_FRAME_COMMIT:
			CHECK(f->in_txn && f->nchanges == 0);
			break;
		case WBE_FRAME_HEARTBEAT:
			CHECK(!f->in_txn && f->nchanges == 0 && f->ntopics == 0);
			break;
		default:
			CHECK(0);
	}
	for (uint32_t i = 0; i < f->nchanges; i++)
	{
		const wbe_change *c = &f->changes[i];

		CHECK(i == 0 || c->pos > f->changes[i - 1].pos);
		CHECK(c->nvalues <= WB_MAX_COLUMNS);
		if (c->nvalues > 0)
		{
			/* the rows share d->values, in order, without overlap */
			CHECK(c->values == d->values + off);
			CHECK(off + c->nvalues <= d->values_cap);
		}
		else
			CHECK(c->values == NULL);
		off += c->nvalues;
		for (uint32_t j = 0; j < c->nvalues; j++)
			check_value_in(&c->values[j], data, size);
		if (c->has_key)
			check_value_in(&c->key, data, size);
		if (c->has_old_key)
			check_value_in(&c->old_key, data, size);
		check_str_in(c->content, data, size);
		if (c->kind == WBE_MESSAGE || c->kind == WBE_SCHEMA ||
			c->kind == WBE_BACKFILL)
			CHECK(f->topic.ptr[0] == '_');
		else
			CHECK(f->topic.ptr[0] != '_');
		if (c->kind == WBE_SCHEMA)
			check_event(c->content);
		if (c->kind == WBE_BACKFILL)
			check_backfill_event(c->content);
	}
	if (f->kind == WBE_FRAME_CHANGES && f->topic.ptr[0] != '_')
		CHECK(f->in_txn && f->schema_version != 0 && f->changes[0].pos >= 1);
	if (f->kind == WBE_FRAME_CHANGES && is_event_topic(f->topic))
		CHECK(f->in_txn && f->changes[0].pos >= 1);
	else if (f->kind == WBE_FRAME_CHANGES && f->topic.ptr[0] == '_')
		CHECK(f->in_txn == f->transactional &&
			  (f->transactional ? f->changes[0].pos >= 1 :
								  f->nchanges == 1 && f->changes[0].pos == 0));
}

/* ------------------------------------------------------------ round trip */

static void
encode_frame(wb_enc *e, fbuf *b, const wbe_frame *f)
{
	const wbe_txn *t = f->in_txn ? &f->txn : NULL;
	size_t		   hdr;

	wbe_enc_topic(e, f->topic.ptr, f->topic.len);
	switch (f->kind)
	{
		case WBE_FRAME_CHANGES:
			if (f->topic.ptr[0] != '_')
				wbe_enc_frame_table(e, &f->head, t, f->relid,
									f->schema_version);
			else if (is_event_topic(f->topic))
				wbe_enc_frame_schema(e, &f->head, t, f->relid);
			else
				wbe_enc_frame_messages(e, &f->head, t, f->prefix.ptr,
									   f->prefix.len);
			if (wb_enc_failed(e))
				return;
			hdr = b->len - WBE_CHANGES_HDR_LEN;
			for (uint32_t i = 0; i < f->nchanges; i++)
			{
				const wbe_change *c = &f->changes[i];

				switch (c->kind)
				{
					case WBE_INSERT:
					case WBE_UPDATE:
					case WBE_READ:
						wbe_enc_change_start(e, c->kind, c->pos,
											 c->has_old_key ? 2 : 1);
						wbe_enc_values_start(e, c->nvalues);
						for (uint32_t j = 0; j < c->nvalues; j++)
							wb_enc_value(e, &c->values[j]);
						if (c->has_old_key)
							wb_enc_value(e, &c->old_key);
						break;
					case WBE_DELETE:
						wbe_enc_change_start(e, c->kind, c->pos, 1);
						wb_enc_value(e, &c->key);
						break;
					case WBE_TRUNCATE:
						wbe_enc_truncate(e, c->pos, c->truncate_flags);
						break;
					case WBE_MESSAGE:
						wbe_enc_message(e, c->pos, c->msg_lsn, c->content.ptr,
										c->content.len);
						break;
					case WBE_SCHEMA:
					case WBE_BACKFILL:
						/* a valid map, as the decoder checked: as is */
						wbe_enc_change_start(e, c->kind, c->pos, 1);
						wbe_enc_raw(e, c->content.ptr, c->content.len);
						break;
					default:
						CHECK(0);
				}
			}
			if (!wb_enc_failed(e))
				wbe_patch_changes_count(b->data + hdr, f->nchanges);
			break;
		case WBE_FRAME_COMMIT:
			wbe_enc_commit_start(e, &f->head, &f->txn, f->end_lsn,
								 f->first_seq, f->nframes, f->last_pos,
								 f->ntopics);
			for (uint32_t i = 0; i < f->ntopics; i++)
				wbe_enc_commit_topic(e, f->topics[i].topic.ptr,
									 f->topics[i].topic.len,
									 f->topics[i].last_tseq,
									 f->topics[i].count);
			break;
		case WBE_FRAME_HEARTBEAT:
			wbe_enc_heartbeat(e, &f->head, &f->hb);
			break;
	}
}

static int
str_eq(wb_str a, wb_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int
value_eq(const wb_value *a, const wb_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type)
	{
		case WB_V_NIL:
		case WB_V_UNCHANGED_TOAST:
			return 1;
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
			return str_eq(a->v.s, b->v.s);
		case WB_V_TIMESTAMP:
			return a->v.ts.sec == b->v.ts.sec && a->v.ts.nsec == b->v.ts.nsec;
	}
	return 0;
}

static void
check_same(const wbe_frame *a, const wbe_frame *b)
{
	CHECK(str_eq(a->topic, b->topic) && a->kind == b->kind);
	CHECK(memcmp(&a->head, &b->head, sizeof(a->head)) == 0);
	CHECK(a->in_txn == b->in_txn && a->txn.xid == b->txn.xid &&
		  a->txn.commit_lsn == b->txn.commit_lsn &&
		  a->txn.commit_time.sec == b->txn.commit_time.sec &&
		  a->txn.commit_time.nsec == b->txn.commit_time.nsec);
	CHECK(a->relid == b->relid && a->schema_version == b->schema_version);
	CHECK(a->transactional == b->transactional &&
		  str_eq(a->prefix, b->prefix));
	CHECK(a->nchanges == b->nchanges);
	for (uint32_t i = 0; i < a->nchanges; i++)
	{
		const wbe_change *x = &a->changes[i];
		const wbe_change *y = &b->changes[i];

		CHECK(x->kind == y->kind && x->pos == y->pos &&
			  x->nvalues == y->nvalues && x->has_key == y->has_key &&
			  x->has_old_key == y->has_old_key &&
			  x->truncate_flags == y->truncate_flags &&
			  x->msg_lsn == y->msg_lsn && str_eq(x->content, y->content));
		for (uint32_t j = 0; j < x->nvalues; j++)
			CHECK(value_eq(&x->values[j], &y->values[j]));
		CHECK(!x->has_key || value_eq(&x->key, &y->key));
		CHECK(!x->has_old_key || value_eq(&x->old_key, &y->old_key));
	}
	CHECK(a->end_lsn == b->end_lsn && a->first_seq == b->first_seq &&
		  a->nframes == b->nframes && a->last_pos == b->last_pos &&
		  a->ntopics == b->ntopics);
	for (uint32_t i = 0; i < a->ntopics; i++)
		CHECK(str_eq(a->topics[i].topic, b->topics[i].topic) &&
			  a->topics[i].last_tseq == b->topics[i].last_tseq &&
			  a->topics[i].count == b->topics[i].count);
	CHECK(memcmp(&a->hb.time, &b->hb.time, sizeof(a->hb.time)) == 0 &&
		  a->hb.txn_tseq == b->hb.txn_tseq &&
		  a->hb.received_lsn == b->hb.received_lsn &&
		  a->hb.flushed_lsn == b->hb.flushed_lsn);
}

static void
round_trip(const wbe_frame *f)
{
	static wbe_dec dec2;
	static fbuf	   b;
	wb_enc		   e;
	wbe_frame	   g;

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	encode_frame(&e, &b, f);
	/* whatever the decoder accepts, the encoder can write */
	CHECK(!wb_enc_failed(&e));
	CHECK(wbe_decode(&dec2, b.data, b.len, &g) == WB_OK);
	check_same(f, &g);
}

/* ------------------------------------------------------------------ seeds */

static void
seed_write(const char *dir, const char *name, const wb_enc *e, const fbuf *b)
{
	char  path[4096];
	FILE *fp;

	if (wb_enc_failed(e))
	{
		fprintf(stderr, "fuzz_envelope: encoding seed %s failed\n", name);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL ||
		fwrite(b->data, 1, b->len, fp) != b->len || fclose(fp) != 0)
	{
		perror(path);
		exit(1);
	}
}

static void
write_seeds(const char *dir)
{
	static const wbe_head h = {0x1234567890abcULL, 7, 3};
	static const wbe_txn  t = {4242, 0x16B3748, {1700000000, 123456000}};
	wbe_heartbeat		  hb = {{1700000001, 5}, 12, 0x100, 0xF0};
	fbuf				  b = {0};
	wb_enc				  e;
	size_t				  hdr;

	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_frame_table(&e, &h, &t, 16385, 99);
	hdr = b.len - WBE_CHANGES_HDR_LEN;
	wbe_enc_change_start(&e, WBE_INSERT, 1, 1);
	wbe_enc_values_start(&e, 9);
	wb_enc_v_int(&e, -42);
	wb_enc_v_str(&e, "ann", 3);
	wb_enc_v_nil(&e);
	wb_enc_v_bool(&e, true);
	wb_enc_v_float32(&e, 1.5f);
	wb_enc_v_float64(&e, -2.25);
	wb_enc_v_bin(&e, "\0\1", 2);
	wb_enc_v_timestamp(&e, (wb_timestamp) {-1, 999999999});
	wb_enc_v_unchanged_toast(&e);
	wbe_enc_change_start(&e, WBE_UPDATE, 2, 2);
	wbe_enc_values_start(&e, 1);
	wb_enc_v_int(&e, 8);
	wb_enc_v_int(&e, 7);
	wbe_enc_change_start(&e, WBE_DELETE, 3, 1);
	wb_enc_v_str(&e, "k", 1);
	wbe_enc_truncate(&e, 4, WB_TRUNCATE_CASCADE);
	wbe_patch_changes_count(b.data + hdr, 4);
	seed_write(dir, "table", &e, &b);

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, "_msg.audit", 10);
	wbe_enc_frame_messages(&e, &h, NULL, "audit", 5);
	hdr = b.len - WBE_CHANGES_HDR_LEN;
	wbe_enc_message(&e, 0, 0x200, "\xff\0x", 3);
	wbe_patch_changes_count(b.data + hdr, 1);
	seed_write(dir, "message", &e, &b);

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, "_msg.audit", 10);
	wbe_enc_frame_messages(&e, &h, &t, "audit", 5);
	hdr = b.len - WBE_CHANGES_HDR_LEN;
	wbe_enc_message(&e, 5, 0x200, "a", 1);
	wbe_enc_message(&e, 6, 0x210, "", 0);
	wbe_patch_changes_count(b.data + hdr, 2);
	seed_write(dir, "message_txn", &e, &b);

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_TXN, 4);
	wbe_enc_commit_start(&e, &h, &t, 0x16B3800, 5, 3, 40, 2);
	wbe_enc_commit_topic(&e, "public.a", 8, 10, 2);
	wbe_enc_commit_topic(&e, "_msg.audit", 10, 4, 1);
	seed_write(dir, "commit", &e, &b);

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_SCHEMA, strlen(WBE_TOPIC_SCHEMA));
	wbe_enc_frame_schema(&e, &h, &t, 16385);
	hdr = b.len - WBE_CHANGES_HDR_LEN;
	{
		wbc_column a[] = {{{"id", 2}, 23, -1, {"integer", 7}, 1},
						  {{"n", 1}, 25, -1, {"text", 4}, 2}};
		wbc_column z[] = {{{"id", 2}, 20, -1, {"bigint", 6}, 1},
						  {{"m", 1}, 25, -1, {"text", 4}, 3}};
		wbc_schema prev = {16385, 98, {"public", 6}, {"a", 1}, 2200, 0, 2, a};
		wbc_schema cur = {16385, 99, {"s", 1}, {"b", 1}, 16390, 1, 2, z};
		wbs_change changes[16];
		uint32_t   n = wbs_diff(&prev, &cur, changes);

		wbe_enc_change_start(&e, WBE_SCHEMA, 1, 1);
		wbs_enc_event(&e, WBS_TABLE_CHANGED, 16385, "s.b", 3, "public.a", 8,
					  &cur, &prev, NULL, 0, changes, n);
		wbe_enc_change_start(&e, WBE_SCHEMA, 2, 1);
		wbs_enc_event(&e, WBS_TABLE_WITHDRAWN, 16385, "s.b", 3, NULL, 0, NULL,
					  &cur, "not owned", 9, NULL, 0);
	}
	wbe_patch_changes_count(b.data + hdr, 2);
	seed_write(dir, "schema", &e, &b);

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, "public.contacts", 15);
	wbe_enc_frame_table(&e, &h, &t, 16385, 99);
	hdr = b.len - WBE_CHANGES_HDR_LEN;
	wbe_enc_change_start(&e, WBE_READ, 4, 1);
	wbe_enc_values_start(&e, 2);
	wb_enc_v_int(&e, 7);
	wb_enc_v_str(&e, "bob", 3);
	wbe_enc_change_start(&e, WBE_READ, 6, 1);
	wbe_enc_values_start(&e, 2);
	wb_enc_v_int(&e, 8);
	wb_enc_v_nil(&e);
	wbe_patch_changes_count(b.data + hdr, 2);
	seed_write(dir, "read", &e, &b);

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_BACKFILL, strlen(WBE_TOPIC_BACKFILL));
	wbe_enc_frame_schema(&e, &h, &t, 16385);
	hdr = b.len - WBE_CHANGES_HDR_LEN;
	{
		wbb_event started = {WBB_STARTED, 3, 16385,	   {"public.contacts", 15},
							 0,			  0, {NULL, 0}};
		wbb_event failed = {WBB_FAILED,
							3,
							16385,
							{"public.contacts", 15},
							1000,
							2,
							{"the table was dropped", 21}};

		wbe_enc_change_start(&e, WBE_BACKFILL, 1, 1);
		wbb_enc_event(&e, &started);
		wbe_enc_change_start(&e, WBE_BACKFILL, 3, 1);
		wbb_enc_event(&e, &failed);
	}
	wbe_patch_changes_count(b.data + hdr, 2);
	seed_write(dir, "backfill", &e, &b);

	b.len = 0;
	wb_enc_init(&e, fbuf_write, &b);
	wbe_enc_topic(&e, WBE_TOPIC_HEARTBEAT, 3);
	wbe_enc_heartbeat(&e, &h, &hb);
	seed_write(dir, "heartbeat", &e, &b);
	free(b.data);
	exit(0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (*argc == 3 && strcmp((*argv)[1], "-seed") == 0)
		write_seeds((*argv)[2]);
	return 0;
}

/* ------------------------------------------------------------------ entry */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static wbe_dec dec;
	wbe_frame	   frame;
	wbc_request	   req;
	wbc_schema	   sc;
	wbc_status	   st;
	wbc_hello	   hello;
	wbc_replay	   rp;
	wbc_backfill   bf;
	uint64_t	   flushed;
	bool		   ok;
	wb_str		   code, message;
	char		   err[160];
	int			   rc;

	rc = wbe_decode(&dec, data, size, &frame);
	CHECK(rc == WB_OK || rc == WB_EMALFORMED || rc == WB_ENOMEM);
	CHECK(rc == WB_OK || dec.errmsg[0] != '\0');
	if (rc == WB_OK)
	{
		check_frame(&dec, &frame, data, size);
		round_trip(&frame);
	}
	(void) wbc_decode_request(data, size, &req, err, sizeof(err));
	(void) wbc_decode_result(data, size, &ok, &code, &message, err,
							 sizeof(err));
	if (wbc_decode_schema(data, size, &sc, err, sizeof(err)) == WB_OK)
		free(sc.columns);
	(void) wbc_decode_status(data, size, &st, err, sizeof(err));
	(void) wbc_decode_hello(data, size, &hello, err, sizeof(err));
	(void) wbc_decode_ack(data, size, &flushed, err, sizeof(err));
	if (wbc_decode_backfill(data, size, &bf, err, sizeof(err)) == WB_OK &&
		bf.topic.len > 0)
		check_str_in(bf.topic, data, size);
	if (wbc_decode_replay(data, size, &rp, err, sizeof(err)) == WB_OK)
	{
		/* every page entry must lie inside the input */
		for (uint32_t i = 0; i < rp.nmessages; i++)
			if (rp.messages[i].len > 0 &&
				((const uint8_t *) rp.messages[i].ptr < data ||
				 (const uint8_t *) rp.messages[i].ptr + rp.messages[i].len >
					 data + size))
				__builtin_trap();
		free(rp.messages);
	}
	return 0;
}
