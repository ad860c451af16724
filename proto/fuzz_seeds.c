/*-------------------------------------------------------------------------
 *
 * fuzz_seeds.c
 *	  Write the seed corpus of fuzz_decode into a directory.
 *
 * Usage: fuzz_seeds DIR.  Writes one file per record kind (with the
 * encodings a real stream uses: every value type, all three timestamp
 * sizes, the unchanged marker, both UPDATE shapes, RELATION in versions 1
 * and 2, both kinds of WITHDRAWN) and one file per version holding a whole
 * transaction of concatenated records.  The seeds come from the
 * encoder, so they follow the format as it is built; files are
 * overwritten, and anything libFuzzer added to DIR is left alone.
 * Exits nonzero if a file cannot be written.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walbus_proto.h"

typedef struct sbuf
{
	char   data[4096];
	size_t len;
} sbuf;

static int
sbuf_write(void *ctx, const char *buf, size_t len)
{
	sbuf *b = ctx;

	if (len > sizeof(b->data) - b->len)
		return -1;
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return 0;
}

static const char *dir;
static int		   failures;

/* Write the buffer to DIR/seed-NAME and empty it. */
static void
flush_seed(wb_enc *e, sbuf *b, const char *name)
{
	char  path[4096];
	FILE *f;

	if (wb_enc_failed(e))
	{
		fprintf(stderr, "fuzz_seeds: encoding %s failed\n", name);
		failures++;
	}
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0)
	{
		perror(path);
		failures++;
	}
	b->len = 0;
	wb_enc_init(e, sbuf_write, b);
}

static void
all_values(wb_enc *e)
{
	wb_enc_v_nil(e);
	wb_enc_v_bool(e, true);
	wb_enc_v_bool(e, false);
	wb_enc_v_int(e, 0);
	wb_enc_v_int(e, -33);
	wb_enc_v_int(e, 300);
	wb_enc_v_int(e, INT64_MIN);
	wb_enc_v_int(e, INT64_MAX);
	wb_enc_v_float32(e, -0.0f);
	wb_enc_v_float64(e, 0.1);
	wb_enc_v_str(e, "123.4500", 8);
	wb_enc_v_bin(e, "\0\1\2", 3);
	wb_enc_v_timestamp(e, wb_timestamp_from_pg(0));
	wb_enc_v_timestamp(e, wb_timestamp_from_pg(757382400123456));
	wb_enc_v_timestamp(e, wb_timestamp_from_pg(-1));
	wb_enc_v_unchanged_toast(e);
}

#define NVALUES 16

static void
relation(wb_enc *e)
{
	wb_enc_relation_start(e, 16384, "public", 6, "orders", 6, 0, 3, 0);
	wb_enc_column(e, "id", 2, 20, -1, "bigint", 6, 0);
	wb_enc_column(e, "total", 5, 1700, 786438, "numeric(12,2)", 13, 0);
	wb_enc_column(e, "note", 4, 25, -1, "text", 4, 0);
}

/*
 * The same table in version 2: attnums with the gap a dropped column
 * leaves, the key not first, and a schema OID above 2^16 (a uint32 on the
 * wire, where public's 2200 is a uint16).
 */
static void
relation_v2(wb_enc *e)
{
	wb_enc_relation_start(e, 16384, "public", 6, "orders", 6, 1, 3, 70000);
	wb_enc_column(e, "total", 5, 1700, 786438, "numeric(12,2)", 13, 4);
	wb_enc_column(e, "id", 2, 20, -1, "bigint", 6, 1);
	wb_enc_column(e, "note", 4, 25, -1, "text", 4, 32767);
	wb_enc_relation_finish(e, 70000);
}

int
main(int argc, char **argv)
{
	wb_timestamp now = wb_timestamp_from_pg(757382400123456);
	sbuf		 b = {.len = 0};
	wb_enc		 e;

	if (argc != 2)
	{
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	wb_enc_init(&e, sbuf_write, &b);

	wb_enc_begin(&e, 740, 0x16B3748, now);
	flush_seed(&e, &b, "begin");
	wb_enc_commit(&e, 0x16B3748, 0x16B3778, now);
	flush_seed(&e, &b, "commit");
	relation(&e);
	flush_seed(&e, &b, "relation");
	relation_v2(&e);
	flush_seed(&e, &b, "relation-v2");
	wb_enc_withdrawn(&e, 16384, false, "no primary key", 14);
	flush_seed(&e, &b, "withdrawn");
	wb_enc_withdrawn(&e, UINT32_MAX, true, "the table was dropped", 21);
	flush_seed(&e, &b, "withdrawn-dropped");
	wb_enc_insert_start(&e, 16384, NVALUES);
	all_values(&e);
	flush_seed(&e, &b, "insert");
	wb_enc_update_start(&e, 16384, NVALUES, false);
	all_values(&e);
	flush_seed(&e, &b, "update");
	wb_enc_update_start(&e, 16384, 3, true);
	wb_enc_v_int(&e, 2);
	wb_enc_v_str(&e, "9.99", 4);
	wb_enc_v_unchanged_toast(&e);
	wb_enc_v_int(&e, 1);
	flush_seed(&e, &b, "update-key");
	wb_enc_delete_start(&e, 16384);
	wb_enc_v_int(&e, 1);
	flush_seed(&e, &b, "delete");
	wb_enc_truncate_start(&e, WB_TRUNCATE_CASCADE, 3);
	wb_enc_relid(&e, 16384);
	wb_enc_relid(&e, 16390);
	wb_enc_relid(&e, UINT32_MAX);
	flush_seed(&e, &b, "truncate");
	wb_enc_message(&e, false, 0x16B3748, "walbus", 6, "a\0b", 3);
	flush_seed(&e, &b, "message");

	wb_enc_begin(&e, 741, 0x16B4000, now);
	relation(&e);
	wb_enc_insert_start(&e, 16384, 3);
	wb_enc_v_int(&e, 1);
	wb_enc_v_str(&e, "10.00", 5);
	wb_enc_v_nil(&e);
	wb_enc_delete_start(&e, 16384);
	wb_enc_v_int(&e, 1);
	wb_enc_message(&e, true, 0x16B3F00, "p", 1, "", 0);
	wb_enc_commit(&e, 0x16B4000, 0x16B4030, now);
	flush_seed(&e, &b, "transaction");

	/* version 2: described, changed, withdrawn, described again, dropped */
	wb_enc_begin(&e, 742, 0x16B5000, now);
	relation_v2(&e);
	wb_enc_insert_start(&e, 16384, 3);
	wb_enc_v_str(&e, "10.00", 5);
	wb_enc_v_int(&e, 1);
	wb_enc_v_nil(&e);
	wb_enc_withdrawn(
		&e, 16384, false,
		"owned by role sales, of which role syncer is not a member", 57);
	relation_v2(&e);
	wb_enc_delete_start(&e, 16384);
	wb_enc_v_int(&e, 1);
	wb_enc_withdrawn(&e, 16384, true, "the table was dropped", 21);
	wb_enc_commit(&e, 0x16B5000, 0x16B5030, now);
	flush_seed(&e, &b, "transaction-v2");

	return failures ? 1 : 0;
}
