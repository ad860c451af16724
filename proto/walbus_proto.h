/*-------------------------------------------------------------------------
 *
 * walbus_proto.h
 *	  The walbus wire format, version 1: record kinds, value types, and the
 *	  encoder/decoder pair that every part of walbus shares.
 *
 * This header is the contract of proto/.  It includes no PostgreSQL, libpq
 * or nng header, so the same code runs inside the walsender (the plugin),
 * in the relay and in workers.  docs/PROTOCOL.md is the normative spec of
 * the bytes; this file is its C binding.
 *
 * Encoder: streaming, over a caller-supplied write callback (a StringInfo
 * in the backend, a growable buffer elsewhere); it never allocates.  Errors
 * are sticky: the first failing write, or an argument the format cannot
 * hold (nsec >= 10^9, a string over 4 GiB, an unknown value type), marks
 * the encoder; later calls do nothing, and the caller checks
 * wb_enc_failed() once per record.  The 1 GiB record limit is the writer's
 * to enforce (in the backend, StringInfo's MaxAllocSize does it).
 *
 * Decoder: turns one record's bytes into a wb_record whose strings point
 * into the caller's buffer (no copy).  Every declared length or element
 * count is checked against the bytes left before anything is allocated, so
 * hostile input cannot make it allocate more than a small multiple of the
 * input's own size.  Errors are returned as WB_E* codes with a message in
 * the decoder.
 *
 * Thread safety: an encoder or decoder belongs to one thread at a time; the
 * library has no global state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_PROTO_H
#define WALBUS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protocol versions this build can speak; the plugin rejects others. */
#define WB_PROTO_VERSION_MIN 1
#define WB_PROTO_VERSION_MAX 2

/* msgpack extension type numbers used by the format. */
#define WB_EXT_TIMESTAMP	   (-1) /* msgpack's standard timestamp */
#define WB_EXT_UNCHANGED_TOAST 1	/* zero-length payload */

/* Decoder limits: beyond these a record is rejected as malformed. */
#define WB_MAX_COLUMNS		   1664 /* PostgreSQL's MaxTupleAttributeNumber */
#define WB_MAX_TRUNCATE_RELIDS 65536
#define WB_MAX_RECORD_BYTES \
	(1024u * 1024u * 1024u) /* 1 GiB, PG's MaxAllocSize */

/* Return codes of the decoder (and of helpers that can fail). */
#define WB_OK		  0
#define WB_ETRUNC	  (-1) /* input ends in the middle of a record */
#define WB_EMALFORMED (-2) /* not a valid version-1 record */
#define WB_ENOMEM	  (-3) /* allocation failed */

/* Record kinds: the first element of every record, an ASCII letter. */
typedef enum wb_kind
{
	WB_BEGIN = 'B',
	WB_COMMIT = 'C',
	WB_RELATION = 'R',
	WB_INSERT = 'I',
	WB_UPDATE = 'U',
	WB_DELETE = 'D',
	WB_TRUNCATE = 'T',
	WB_MESSAGE = 'M',
	WB_WITHDRAWN = 'X' /* version 2: a table is no longer published */
} wb_kind;

/*
 * The value types, and the TRUNCATE flags, are also libwalbus's: its
 * installed header, walbus_client.h, must stand alone, so it repeats this
 * block under the same guard, and whichever header comes first defines
 * them.  The two copies must stay identical; client/header_compat.c checks
 * at build time (make -C client check) that they are.
 */
#ifndef WALBUS_VALUE_TYPES_DEFINED
#define WALBUS_VALUE_TYPES_DEFINED

/* TRUNCATE flags. */
#define WB_TRUNCATE_CASCADE			 0x01
#define WB_TRUNCATE_RESTART_IDENTITY 0x02
#define WB_TRUNCATE_PARTIAL			 0x04 /* only some partitions: resync */

/* A point in time: seconds and nanoseconds since the Unix epoch (UTC). */
typedef struct wb_timestamp
{
	int64_t	 sec;
	uint32_t nsec; /* 0 .. 999999999 */
} wb_timestamp;

/* A byte string inside the decoded buffer; not NUL-terminated. */
typedef struct wb_str
{
	const char *ptr;
	uint32_t	len;
} wb_str;

/* The type of one column value on the wire. */
typedef enum wb_vtype
{
	WB_V_NIL, /* SQL NULL */
	WB_V_BOOL,
	WB_V_INT,			 /* int2, int4, int8, oid */
	WB_V_FLOAT32,		 /* float4, NaN and infinities kept */
	WB_V_FLOAT64,		 /* float8 */
	WB_V_STR,			 /* text output of any other type, UTF-8 */
	WB_V_BIN,			 /* bytea */
	WB_V_TIMESTAMP,		 /* timestamp, timestamptz */
	WB_V_UNCHANGED_TOAST /* value not in the WAL; unchanged */
} wb_vtype;

typedef struct wb_value
{
	wb_vtype type;
	union
	{
		bool		 b;
		int64_t		 i;
		float		 f32;
		double		 f64;
		wb_str		 s; /* WB_V_STR and WB_V_BIN */
		wb_timestamp ts;
	} v;
} wb_value;

#endif /* WALBUS_VALUE_TYPES_DEFINED */

/* One column of a RELATION record. */
typedef struct wb_column
{
	wb_str	 name;
	uint32_t typoid;  /* pg_type OID (of the column's own type) */
	int32_t	 typmod;  /* -1 when none */
	wb_str	 typname; /* format_type() text, e.g. "numeric(12,2)" */
	int32_t	 attnum;  /* pg_attribute.attnum; 0 in version 1 */
} wb_column;

/* A decoded record.  Only the member named by kind is valid. */
typedef struct wb_record
{
	wb_kind kind;
	union
	{
		struct
		{
			uint32_t	 xid;
			uint64_t	 final_lsn; /* LSN of the commit record */
			wb_timestamp commit_time;
		} begin;
		struct
		{
			uint64_t	 commit_lsn; /* LSN of the commit record */
			uint64_t	 end_lsn;	 /* LSN just past it: what to confirm */
			wb_timestamp commit_time;
		} commit;
		struct
		{
			uint32_t   relid;
			wb_str	   schema;
			wb_str	   table;
			uint32_t   key_index; /* index in columns of the primary key */
			uint32_t   ncolumns;
			wb_column *columns;
			uint32_t   schema_oid; /* pg_namespace OID; 0 in version 1 */
		} relation;
		struct /* WB_INSERT and WB_UPDATE */
		{
			uint32_t  relid;
			uint32_t  nvalues; /* equals the relation's ncolumns */
			wb_value *values;
			bool	  has_old_key; /* UPDATE only: the key changed */
			wb_value  old_key;
			wb_str	  tail; /* the record's bytes after relid: the
							 * values array and the old key, as
							 * msgpack (validated) */
		} change;
		struct
		{
			uint32_t relid;
			wb_value key;
			wb_str	 tail; /* the key's msgpack bytes (validated) */
		} del;
		struct
		{
			uint32_t  flags; /* WB_TRUNCATE_* */
			uint32_t  nrelids;
			uint32_t *relids;
		} truncate;
		struct
		{
			bool	 transactional;
			uint64_t lsn;
			wb_str	 prefix;
			wb_str	 content; /* arbitrary bytes */
		} message;
		struct
		{
			uint32_t relid;
			bool	 dropped; /* else: no longer eligible */
			wb_str	 reason;  /* a sentence, as walbus_tables says */
		} withdrawn;
	} u;
} wb_record;

/* ---------------------------------------------------------------- encoder */

/*
 * Write callback: append len bytes; return 0 on success, nonzero on failure
 * (the encoder then stays failed).  Same shape as msgpack_packer_write.
 */
typedef int (*wb_write_fn)(void *ctx, const char *buf, size_t len);

typedef struct wb_enc
{
	wb_write_fn write;
	void	   *ctx;
	int			failed;
} wb_enc;

extern void wb_enc_init(wb_enc *e, wb_write_fn write, void *ctx);
static inline int
wb_enc_failed(const wb_enc *e)
{
	return e->failed;
}

/* Whole records. */
extern void wb_enc_begin(wb_enc *e, uint32_t xid, uint64_t final_lsn,
						 wb_timestamp commit_time);
extern void wb_enc_commit(wb_enc *e, uint64_t commit_lsn, uint64_t end_lsn,
						  wb_timestamp commit_time);
extern void wb_enc_message(wb_enc *e, bool transactional, uint64_t lsn,
						   const char *prefix, size_t prefix_len,
						   const char *content, size_t content_len);

/*
 * Records with a variable part: call the _start function, then exactly the
 * announced number of elements.
 *
 * RELATION: wb_enc_relation_start, then ncolumns x wb_enc_column, then
 *           (version 2 only) wb_enc_relation_finish.  Version 2 is asked
 *           for by a non-zero schema_oid at the start; its columns must then
 *           each carry their attnum (> 0), version 1's none (0).
 * INSERT:   wb_enc_insert_start, then ncolumns x wb_enc_v_*.
 * UPDATE:   wb_enc_update_start, then ncolumns x wb_enc_v_*, then one more
 *           wb_enc_v_* (the old key) if has_old_key.
 * DELETE:   wb_enc_delete_start, then one wb_enc_v_* (the key).
 * TRUNCATE: wb_enc_truncate_start, then nrelids x wb_enc_relid.
 */
extern void wb_enc_relation_start(wb_enc *e, uint32_t relid,
								  const char *schema, size_t schema_len,
								  const char *table, size_t table_len,
								  uint32_t key_index, uint32_t ncolumns,
								  uint32_t schema_oid);
extern void wb_enc_column(wb_enc *e, const char *name, size_t name_len,
						  uint32_t typoid, int32_t typmod, const char *typname,
						  size_t typname_len, int32_t attnum);
extern void wb_enc_relation_finish(wb_enc *e, uint32_t schema_oid);
extern void wb_enc_withdrawn(wb_enc *e, uint32_t relid, bool dropped,
							 const char *reason, size_t reason_len);
extern void wb_enc_insert_start(wb_enc *e, uint32_t relid, uint32_t ncolumns);
extern void wb_enc_update_start(wb_enc *e, uint32_t relid, uint32_t ncolumns,
								bool has_old_key);
extern void wb_enc_delete_start(wb_enc *e, uint32_t relid);
extern void wb_enc_truncate_start(wb_enc *e, uint32_t flags, uint32_t nrelids);
extern void wb_enc_relid(wb_enc *e, uint32_t relid);

/* Values. */
extern void wb_enc_v_nil(wb_enc *e);
extern void wb_enc_v_bool(wb_enc *e, bool b);
extern void wb_enc_v_int(wb_enc *e, int64_t i);
extern void wb_enc_v_float32(wb_enc *e, float f);
extern void wb_enc_v_float64(wb_enc *e, double d);
extern void wb_enc_v_str(wb_enc *e, const char *s, size_t len);
extern void wb_enc_v_bin(wb_enc *e, const void *p, size_t len);
extern void wb_enc_v_timestamp(wb_enc *e, wb_timestamp ts);
extern void wb_enc_v_unchanged_toast(wb_enc *e);
extern void wb_enc_value(wb_enc *e, const wb_value *v); /* any of the above */

/* ---------------------------------------------------------------- decoder */

typedef struct wb_dec
{
	/* scratch arrays reused from record to record; grown on demand */
	wb_value  *values;
	uint32_t   values_cap;
	wb_column *columns;
	uint32_t   columns_cap;
	uint32_t  *relids;
	uint32_t   relids_cap;
	char	   errmsg[160]; /* why the last call failed */
} wb_dec;

extern void wb_dec_init(wb_dec *d);
extern void wb_dec_free(wb_dec *d);

/*
 * Decode one record from buf[0..len).  On WB_OK, *out is filled and
 * *consumed (if not NULL) is the record's length in bytes; out's pointers
 * stay valid until the next wb_decode on d and while buf is unchanged.
 * Bytes after the record are not an error (streams concatenate records).
 * On failure returns WB_ETRUNC, WB_EMALFORMED or WB_ENOMEM and sets
 * d->errmsg; *out is then unspecified.
 */
extern int wb_decode(wb_dec *d, const void *buf, size_t len, wb_record *out,
					 size_t *consumed);

static inline const char *
wb_dec_errmsg(const wb_dec *d)
{
	return d->errmsg;
}

/* "begin", "insert", ...; "unknown" for anything else. */
extern const char *wb_kind_name(int kind);

/* Conversions between PostgreSQL's microseconds since 2000-01-01 and wb_timestamp. */
#define WB_PG_EPOCH_OFFSET_SEC INT64_C(946684800)
extern wb_timestamp wb_timestamp_from_pg(int64_t pg_usec);

/* The value of one hex digit (either case), or -1: for bytea text. */
extern int wb_hex_value(int c);

#endif /* WALBUS_PROTO_H */
