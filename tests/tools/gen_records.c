/*-------------------------------------------------------------------------
 *
 * gen_records.c
 *	  Write the binary inputs of walbus-dump's tests, using proto/'s encoder.
 *
 * Usage: gen_records DIR.  Writes into DIR one file per input named in
 * tests/tools/run.sh: raw streams (*.bin, each record followed by a newline
 * as pg_recvlogical -f - writes them) and psql-style text (*.txt) of the
 * same records.  The contents are fixed (no clock, no randomness), so the
 * expected outputs in tests/tools/expected/ stay valid.
 *
 * Exits 0, or 1 with a message when a file cannot be written.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walbus_proto.h"

/* 2026-11-24T01:13:06.123456Z, an arbitrary fixed commit time */
#define T0_SEC	INT64_C(1795482786)
#define T0_NSEC 123456000u

/* An output file being written, record by record. */
typedef struct stream
{
	const char *path;
	FILE	   *raw;  /* records, each followed by '\n' */
	FILE	   *text; /* psql aligned output of them, or NULL */
	char	   *rec;  /* the record being encoded */
	size_t		len;
	size_t		cap;
	wb_enc		enc;
	size_t		nrecords;
} stream;

static const char *outdir;

static int
append(void *ctx, const char *p, size_t n)
{
	stream *s = ctx;

	if (s->len + n > s->cap)
	{
		size_t cap = (s->len + n) * 2;
		char  *grown = realloc(s->rec, cap);

		if (grown == NULL)
			return -1;
		s->rec = grown;
		s->cap = cap;
	}
	memcpy(s->rec + s->len, p, n);
	s->len += n;
	return 0;
}

static FILE *
open_file(const char *name)
{
	char  path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (f == NULL)
	{
		perror(path);
		exit(1);
	}
	return f;
}

/* Start NAME.bin, and NAME.txt too when with_text. */
static void
stream_open(stream *s, const char *name, int with_text)
{
	char file[256];

	memset(s, 0, sizeof(*s));
	s->path = name;
	snprintf(file, sizeof(file), "%s.bin", name);
	s->raw = open_file(file);
	if (with_text)
	{
		snprintf(file, sizeof(file), "%s.txt", name);
		s->text = open_file(file);
		/* the header psql prints for SELECT data FROM ..._binary_changes */
		fprintf(s->text, " data \n------\n");
	}
	wb_enc_init(&s->enc, append, s);
}

/* Finish the record just encoded: write it to both files. */
static void
end_record(stream *s)
{
	size_t i;

	if (wb_enc_failed(&s->enc))
	{
		fprintf(stderr, "gen_records: %s: encoding record %zu failed\n",
				s->path, s->nrecords + 1);
		exit(1);
	}
	fwrite(s->rec, 1, s->len, s->raw);
	fputc('\n', s->raw);
	if (s->text != NULL)
	{
		fputs(" \\x", s->text);
		for (i = 0; i < s->len; i++)
			fprintf(s->text, "%02x", (unsigned char) s->rec[i]);
		fputc('\n', s->text);
	}
	s->len = 0;
	s->nrecords++;
}

static void
stream_close(stream *s)
{
	if (s->text != NULL)
	{
		fprintf(s->text, "(%zu rows)\n\n", s->nrecords);
		if (fclose(s->text) != 0)
			exit(1);
	}
	if (fclose(s->raw) != 0)
		exit(1);
	free(s->rec);
}

static wb_timestamp
ts(int64_t sec, uint32_t nsec)
{
	wb_timestamp t = {sec, nsec};

	return t;
}

#define S(lit) lit, sizeof(lit) - 1

/* The contacts table every stream below starts from. */
static void
contacts_relation(stream *s)
{
	wb_enc *e = &s->enc;

	wb_enc_relation_start(e, 16384, S("public"), S("contacts"), 0, 7, 0);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 0);
	wb_enc_column(e, S("name"), 25, -1, S("text"), 0);
	wb_enc_column(e, S("score"), 1700, 786438, S("numeric(12,2)"), 0);
	wb_enc_column(e, S("active"), 16, -1, S("boolean"), 0);
	wb_enc_column(e, S("updated_at"), 1184, -1, S("timestamp with time zone"),
				  0);
	wb_enc_column(e, S("photo"), 17, -1, S("bytea"), 0);
	wb_enc_column(e, S("ratio"), 701, -1, S("double precision"), 0);
	end_record(s);
}

/*
 * Version 1 streams: RELATION without attnums or schema OID (the 0 passed
 * as schema_oid and attnum asks for version 1).
 */

/* Every record kind, in the order a session would produce them. */
static void
gen_stream(void)
{
	stream	s;
	wb_enc *e = &s.enc;

	stream_open(&s, "stream", 1);

	wb_enc_begin(e, 740, UINT64_C(0x16B3748), ts(T0_SEC, T0_NSEC));
	end_record(&s);
	contacts_relation(&s);

	wb_enc_insert_start(e, 16384, 7);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, S("Ada"));
	wb_enc_v_str(e, S("12.50"));
	wb_enc_v_bool(e, true);
	wb_enc_v_timestamp(e, ts(T0_SEC, T0_NSEC));
	wb_enc_v_bin(e, "\xde\xad\xbe\xef", 4);
	wb_enc_v_float64(e, 0.5);
	end_record(&s);

	wb_enc_update_start(e, 16384, 7, false);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, S("Ada L."));
	wb_enc_v_nil(e);
	wb_enc_v_bool(e, false);
	wb_enc_v_timestamp(e, ts(T0_SEC + 1, 0));
	wb_enc_v_unchanged_toast(e);
	wb_enc_v_float64(e, NAN);
	end_record(&s);

	/* the key changed from 1 to 2 */
	wb_enc_update_start(e, 16384, 7, true);
	wb_enc_v_int(e, 2);
	wb_enc_v_str(e, S("Ada L."));
	wb_enc_v_nil(e);
	wb_enc_v_bool(e, false);
	wb_enc_v_timestamp(e, ts(T0_SEC + 1, 0));
	wb_enc_v_unchanged_toast(e);
	wb_enc_v_float64(e, -INFINITY);
	wb_enc_v_int(e, 1);
	end_record(&s);

	wb_enc_delete_start(e, 16384);
	wb_enc_v_int(e, 2);
	end_record(&s);

	wb_enc_message(e, true, UINT64_C(0x16B3700), S("app"), S("hello"));
	end_record(&s);

	wb_enc_commit(e, UINT64_C(0x16B3748), UINT64_C(0x16B3778),
				  ts(T0_SEC, T0_NSEC));
	end_record(&s);

	/* a non-transactional message with binary content, between transactions */
	wb_enc_message(e, false, UINT64_C(0x100000000), S("wal"), "\0\1\2", 3);
	end_record(&s);

	/* 99999 was never described: printed as a number */
	wb_enc_begin(e, 741, UINT64_C(0x1FFFFFFFF), ts(T0_SEC + 60, 5));
	end_record(&s);
	wb_enc_truncate_start(e,
						  WB_TRUNCATE_CASCADE | WB_TRUNCATE_RESTART_IDENTITY,
						  2);
	wb_enc_relid(e, 16384);
	wb_enc_relid(e, 99999);
	end_record(&s);
	wb_enc_truncate_start(e, 0, 1);
	wb_enc_relid(e, 16384);
	end_record(&s);
	wb_enc_commit(e, UINT64_C(0x1FFFFFFFF), UINT64_C(0x200000027),
				  ts(T0_SEC + 60, 5));
	end_record(&s);

	stream_close(&s);
}

/* One INSERT per interesting value, into a table (id, v). */
static void
gen_values(void)
{
	/* clang-format off */
	static const struct
	{
		int64_t		sec;
		uint32_t	nsec;
	}			times[] = {
		{0, 0},					/* the Unix epoch */
		{-1, 500000000},		/* before it */
		{946684800, 0},			/* PostgreSQL's epoch */
		{1709164800, 1000},		/* a leap day, one microsecond */
		{T0_SEC, 123456789},	/* nanoseconds */
		{INT64_C(-62135596800), 0}, /* 0001-01-01 */
		{INT64_C(-210866803200), 0},	/* PostgreSQL's earliest, 4714 BC */
		{INT64_C(9224318015999), 999999000},	/* its latest, 294276 AD */
	};
	static const float floats[] = {
		1.1f, 0.0f, -0.0f, 3.4028235e38f, 1e-45f, 16777216.0f
	};
	static const double doubles[] = {
		0.1, 1.0, -0.0, 1e300, 5e-324, 123456789012345678.0, -2.5e-7,
		1.7976931348623157e308
	};
	/* clang-format on */
	stream	s;
	wb_enc *e = &s.enc;
	int64_t id = 0;
	size_t	i;

	stream_open(&s, "values", 0);
	wb_enc_relation_start(e, 16385, S("public"), S("kinds"), 0, 2, 0);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 0);
	wb_enc_column(e, S("v"), 25, -1, S("text"), 0);
	end_record(&s);

#define ROW(enc_call) \
	do \
	{ \
		wb_enc_insert_start(e, 16385, 2); \
		wb_enc_v_int(e, ++id); \
		enc_call; \
		end_record(&s); \
	} while (0)

	ROW(wb_enc_v_nil(e));
	ROW(wb_enc_v_bool(e, true));
	ROW(wb_enc_v_bool(e, false));
	ROW(wb_enc_v_int(e, 0));
	ROW(wb_enc_v_int(e, -1));
	ROW(wb_enc_v_int(e, INT64_MIN));
	ROW(wb_enc_v_int(e, INT64_MAX));
	for (i = 0; i < sizeof(floats) / sizeof(floats[0]); i++)
		ROW(wb_enc_v_float32(e, floats[i]));
	ROW(wb_enc_v_float32(e, NAN));
	ROW(wb_enc_v_float32(e, INFINITY));
	ROW(wb_enc_v_float32(e, -INFINITY));
	for (i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++)
		ROW(wb_enc_v_float64(e, doubles[i]));
	ROW(wb_enc_v_float64(e, NAN));
	ROW(wb_enc_v_float64(e, INFINITY));
	ROW(wb_enc_v_float64(e, -INFINITY));
	ROW(wb_enc_v_str(e, S("")));
	ROW(wb_enc_v_str(e, S("123.4500")));
	ROW(wb_enc_v_str(e, S("h\xc3\xa9llo \xe2\x9c\x93")));
	ROW(wb_enc_v_str(e, S("quote \" backslash \\ newline \n tab \t bell \a")));
	ROW(wb_enc_v_str(e, S("bad \xff\xfe utf-8")));
	ROW(wb_enc_v_bin(e, "", 0));
	ROW(wb_enc_v_bin(e, "\x00\x01\x7f\x80\xff", 5));
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		ROW(wb_enc_v_timestamp(e, ts(times[i].sec, times[i].nsec)));
	ROW(wb_enc_v_str(e, S("infinity")));
	ROW(wb_enc_v_unchanged_toast(e));
#undef ROW

	stream_close(&s);
}

/* A relation redefined mid-stream: columns added, table and schema renamed. */
static void
gen_redefine(void)
{
	stream	s;
	wb_enc *e = &s.enc;

	stream_open(&s, "redefine", 0);
	wb_enc_relation_start(e, 16390, S("public"), S("people"), 0, 2, 0);
	wb_enc_column(e, S("id"), 23, -1, S("integer"), 0);
	wb_enc_column(e, S("name"), 1043, 84, S("character varying(80)"), 0);
	end_record(&s);
	wb_enc_insert_start(e, 16390, 2);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, S("Ada"));
	end_record(&s);

	/* key column moved to the end, and a third column */
	wb_enc_relation_start(e, 16390, S("crm"), S("persons"), 2, 3, 0);
	wb_enc_column(e, S("name"), 1043, 84, S("character varying(80)"), 0);
	wb_enc_column(e, S("email"), 25, -1, S("text"), 0);
	wb_enc_column(e, S("id"), 23, -1, S("integer"), 0);
	end_record(&s);
	wb_enc_insert_start(e, 16390, 3);
	wb_enc_v_str(e, S("Grace"));
	wb_enc_v_str(e, S("grace@example.com"));
	wb_enc_v_int(e, 2);
	end_record(&s);
	wb_enc_delete_start(e, 16390);
	wb_enc_v_int(e, 1);
	end_record(&s);

	/* a second relation, then a truncate naming both */
	wb_enc_relation_start(e, 16400, S("crm"), S("notes"), 0, 1, 0);
	wb_enc_column(e, S("id"), 2950, -1, S("uuid"), 0);
	end_record(&s);
	wb_enc_truncate_start(e, WB_TRUNCATE_CASCADE, 2);
	wb_enc_relid(e, 16400);
	wb_enc_relid(e, 16390);
	end_record(&s);

	stream_close(&s);
}

/*
 * Records that decode but break the stream's rules: each is printed as well
 * as possible, with a warning, and the exit status is 1.
 */
static void
gen_violations(void)
{
	stream	s;
	wb_enc *e = &s.enc;

	stream_open(&s, "violations", 0);

	/* changes of a relid with no RELATION */
	wb_enc_insert_start(e, 424242, 2);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, S("x"));
	end_record(&s);
	wb_enc_update_start(e, 424242, 2, true);
	wb_enc_v_int(e, 2);
	wb_enc_v_str(e, S("y"));
	wb_enc_v_int(e, 1);
	end_record(&s);
	wb_enc_delete_start(e, 424242);
	wb_enc_v_int(e, 2);
	end_record(&s);

	/* more values than the RELATION has columns */
	wb_enc_relation_start(e, 5, S("public"), S("t"), 0, 1, 0);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 0);
	end_record(&s);
	wb_enc_insert_start(e, 5, 2);
	wb_enc_v_int(e, 1);
	wb_enc_v_bool(e, true);
	end_record(&s);

	/* column names that cannot be keys of one JSON object */
	wb_enc_relation_start(e, 6, S("public"), S("dup"), 0, 3, 0);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 0);
	wb_enc_column(e, S("a"), 25, -1, S("text"), 0);
	wb_enc_column(e, S("a"), 25, -1, S("text"), 0);
	end_record(&s);
	wb_enc_insert_start(e, 6, 3);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, S("first"));
	wb_enc_v_str(e, S("second"));
	end_record(&s);
	wb_enc_relation_start(e, 7, S("bad\xff"), S("t"), 0, 1, 0);
	wb_enc_column(e, S("\xc3("), 20, -1, S("bigint"), 0);
	end_record(&s);
	wb_enc_delete_start(e, 7);
	wb_enc_v_int(e, 1);
	end_record(&s);

	/* after all that, a well-formed change still prints normally */
	wb_enc_insert_start(e, 5, 1);
	wb_enc_v_int(e, 3);
	end_record(&s);

	stream_close(&s);
}

/* Logical decoding messages: prefixes and contents of every shape. */
static void
gen_messages(void)
{
	stream	s;
	wb_enc *e = &s.enc;

	stream_open(&s, "messages", 0);
	wb_enc_message(e, true, 1, S(""), S(""));
	end_record(&s);
	wb_enc_message(e, false, 2, S("app"), S("{\"k\": \"v\xc3\xa9\"}"));
	end_record(&s);
	wb_enc_message(e, false, 3, S("app"), S("nul\0inside"));
	end_record(&s);
	wb_enc_message(e, false, 4, S("app"), S("\xc0\xaf overlong"));
	end_record(&s);
	wb_enc_message(e, true, 5, S("pre\xfe"), S("line\nbreak"));
	end_record(&s);
	stream_close(&s);
}

/*
 * Input that ends or breaks inside a record: a copy of the stream cut
 * short, and a stream with an unknown record kind in the middle.
 */
static void
gen_broken(void)
{
	stream	s;
	wb_enc *e = &s.enc;

	stream_open(&s, "malformed", 0);
	wb_enc_begin(e, 9, 16, ts(0, 0));
	end_record(&s);
	fwrite("\x91\x5a\n", 1, 3, s.raw); /* [ 'Z' ] */
	wb_enc_commit(e, 16, 32, ts(0, 0));
	end_record(&s);
	stream_close(&s);

	stream_open(&s, "truncated", 0);
	wb_enc_begin(e, 9, 16, ts(0, 0));
	end_record(&s);
	wb_enc_commit(e, 16, 32, ts(0, 0));
	/* all but the last 3 bytes of the commit, and no newline */
	fwrite(s.rec, 1, s.len - 3, s.raw);
	s.len = 0;
	stream_close(&s);

	/* newlines before, between and after records are skipped */
	stream_open(&s, "newlines", 0);
	fputs("\n\n", s.raw);
	wb_enc_begin(e, 9, 16, ts(0, 0));
	end_record(&s);
	fputs("\n\n", s.raw);
	wb_enc_commit(e, 16, 32, ts(0, 0));
	end_record(&s);
	fputs("\n", s.raw);
	stream_close(&s);
}

/*
 * One record of a few megabytes: read through a pipe it arrives in many
 * pieces, so walbus-dump must grow its buffer and retry the decode.
 */
static void
gen_big(void)
{
	size_t	text_len = 3000000;
	size_t	bin_len = 1000000;
	char   *text = malloc(text_len);
	char   *bin = malloc(bin_len);
	stream	s;
	wb_enc *e = &s.enc;

	if (text == NULL || bin == NULL)
		exit(1);
	memset(text, 'a', text_len);
	memset(bin, 0xab, bin_len);

	stream_open(&s, "big", 0);
	wb_enc_relation_start(e, 16500, S("public"), S("docs"), 0, 3, 0);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 0);
	wb_enc_column(e, S("body"), 25, -1, S("text"), 0);
	wb_enc_column(e, S("blob"), 17, -1, S("bytea"), 0);
	end_record(&s);
	wb_enc_insert_start(e, 16500, 3);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, text, text_len);
	wb_enc_v_bin(e, bin, bin_len);
	end_record(&s);
	wb_enc_delete_start(e, 16500);
	wb_enc_v_int(e, 1);
	end_record(&s);
	stream_close(&s);
	free(text);
	free(bin);
}

/*
 * A version-2 stream: RELATION records carry each column's attnum and the
 * schema's OID; a table that leaves the stream gets a WITHDRAWN record,
 * after which its next RELATION is sent even when it is the same.
 */
static void
gen_version2(void)
{
	stream	s;
	wb_enc *e = &s.enc;

	stream_open(&s, "version2", 1);

	/* attnum 3 was dropped: attnums have gaps and never come back */
	wb_enc_begin(e, 750, UINT64_C(0x3000028), ts(T0_SEC, T0_NSEC));
	end_record(&s);
	wb_enc_relation_start(e, 16384, S("public"), S("contacts"), 0, 3, 2200);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 1);
	wb_enc_column(e, S("name"), 25, -1, S("text"), 2);
	wb_enc_column(e, S("score"), 1700, 786438, S("numeric(12,2)"), 4);
	wb_enc_relation_finish(e, 2200);
	end_record(&s);
	wb_enc_insert_start(e, 16384, 3);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, S("Ada"));
	wb_enc_v_str(e, S("12.50"));
	end_record(&s);

	/* a column renamed keeps its attnum; a renamed schema keeps its OID */
	wb_enc_relation_start(e, 16384, S("crm"), S("contacts"), 0, 3, 2200);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 1);
	wb_enc_column(e, S("full_name"), 25, -1, S("text"), 2);
	wb_enc_column(e, S("score"), 1700, 786438, S("numeric(12,2)"), 4);
	wb_enc_relation_finish(e, 2200);
	end_record(&s);
	wb_enc_update_start(e, 16384, 3, false);
	wb_enc_v_int(e, 1);
	wb_enc_v_str(e, S("Ada L."));
	wb_enc_v_nil(e);
	end_record(&s);

	/* no longer eligible: withdrawn, with the verdict's sentence */
	wb_enc_withdrawn(
		e, 16384, false,
		S("owned by role sales, of which role syncer is not a member"));
	end_record(&s);
	wb_enc_commit(e, UINT64_C(0x3000028), UINT64_C(0x3000058),
				  ts(T0_SEC, T0_NSEC));
	end_record(&s);

	/* eligible again: described anew, then dropped */
	wb_enc_begin(e, 751, UINT64_C(0x3001000), ts(T0_SEC + 1, 0));
	end_record(&s);
	wb_enc_relation_start(e, 16384, S("crm"), S("contacts"), 0, 3, 2200);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 1);
	wb_enc_column(e, S("full_name"), 25, -1, S("text"), 2);
	wb_enc_column(e, S("score"), 1700, 786438, S("numeric(12,2)"), 4);
	wb_enc_relation_finish(e, 2200);
	end_record(&s);
	wb_enc_delete_start(e, 16384);
	wb_enc_v_int(e, 1);
	end_record(&s);
	wb_enc_withdrawn(e, 16384, true, S("the table was dropped"));
	end_record(&s);
	wb_enc_commit(e, UINT64_C(0x3001000), UINT64_C(0x3001030),
				  ts(T0_SEC + 1, 0));
	end_record(&s);

	stream_close(&s);

	/*
	 * Broken rules of version 2: a change after its table's WITHDRAWN and
	 * before a new RELATION, a WITHDRAWN of a relid never described.
	 */
	stream_open(&s, "version2_violations", 0);
	wb_enc_relation_start(e, 8, S("public"), S("t"), 0, 1, 2200);
	wb_enc_column(e, S("id"), 20, -1, S("bigint"), 1);
	wb_enc_relation_finish(e, 2200);
	end_record(&s);
	wb_enc_withdrawn(e, 8, false, S("no primary key"));
	end_record(&s);
	wb_enc_insert_start(e, 8, 1);
	wb_enc_v_int(e, 1);
	end_record(&s);
	wb_enc_delete_start(e, 8);
	wb_enc_v_int(e, 1);
	end_record(&s);
	wb_enc_withdrawn(e, 9, true, S("the table was dropped"));
	end_record(&s);
	stream_close(&s);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: gen_records DIR\n");
		return 1;
	}
	outdir = argv[1];
	gen_stream();
	gen_values();
	gen_redefine();
	gen_violations();
	gen_messages();
	gen_broken();
	gen_big();
	gen_version2();
	return 0;
}
