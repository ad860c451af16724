/*-------------------------------------------------------------------------
 *
 * walbus_control.h
 *	  The control protocol of walbus-relay (nng req0/rep0): requests and
 *	  responses as msgpack maps, and their encoder/decoder pairs.
 *
 * docs/PROTOCOL.md Part 2 ("Control socket") is the normative spec.  A request is
 * a map with an "op" string and the op's arguments; a response is a map
 * with "ok" true and the op's results, or "ok" false with an "error" code
 * and a human-readable "message".  Ops: "status", "schema", and for
 * durable consumers (docs/DELIVERY.md) "hello", "ack" and "replay".
 *
 * Encoders write through a wb_enc (sticky errors, nothing allocated);
 * decoders are bounded like wbe_decode, skip unknown keys, return WB_OK or
 * WB_EMALFORMED/WB_ENOMEM with a message in errbuf, and return views into
 * the caller's buffer.
 *
 * Thread safety: no global state; each call uses only its arguments.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_CONTROL_H
#define WALBUS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status_fields.h"
#include "walbus_proto.h"

/* Largest control request or response a peer must accept. */
#define WBC_MAX_MESSAGE_BYTES (1024 * 1024)

/* Error codes of a failed response. */
#define WBC_ERR_BAD_REQUEST "bad_request" /* not a valid request */
#define WBC_ERR_UNKNOWN_OP	"unknown_op"
#define WBC_ERR_NOT_FOUND	"not_found"	  /* e.g. unknown schema version */
#define WBC_ERR_UNSUPPORTED "unsupported" /* reserved op */
#define WBC_ERR_NOT_DURABLE "not_durable" /* consumer not configured */
#define WBC_ERR_UNAVAILABLE "unavailable" /* cannot now: PostgreSQL, memory */
#define WBC_ERR_FORBIDDEN	"forbidden" /* the client may not (control_allow) */

/* Most topic prefixes a replay request may carry. */
#define WBC_MAX_PREFIXES 64

/* What a replay response says about the position asked for. */
#define WBC_REPLAY_DATA "data" /* messages after it follow */
#define WBC_REPLAY_REWIND \
	"rewind" /* not in the window: the relay
			  * restarts its stream from the
			  * slot; ask again shortly */
#define WBC_REPLAY_GONE \
	"gone" /* not in the window, and the asker
			* is no durable consumer */
/* pos of a transaction's _txn envelope in replay and ack keys */
#define WBC_POS_COMMIT UINT32_MAX

/*
 * A position in the stream, as acks and replays name it: (commit_lsn, pos)
 * of a change, pos WBC_POS_COMMIT for a transaction's _txn envelope.  Keys
 * grow along the stream (docs/PROTOCOL.md E7.3).
 */
typedef struct wbc_key
{
	uint64_t lsn; /* commit LSN of the transaction */
	uint32_t pos; /* position in it */
} wbc_key;

static inline int
wbc_key_cmp(wbc_key a, wbc_key b)
{
	if (a.lsn != b.lsn)
		return a.lsn < b.lsn ? -1 : 1;
	if (a.pos != b.pos)
		return a.pos < b.pos ? -1 : 1;
	return 0;
}

typedef enum wbc_op
{
	WBC_OP_UNKNOWN,
	WBC_OP_STATUS,
	WBC_OP_SCHEMA,
	WBC_OP_HELLO,	/* durable consumer handshake */
	WBC_OP_ACK,		/* a consumer acknowledges a position */
	WBC_OP_REPLAY,	/* messages after a position, from memory */
	WBC_OP_BACKFILL /* read a table's rows into the stream */
} wbc_op;

typedef struct wbc_request
{
	wbc_op op;
	wb_str op_name; /* as sent, for error messages */
	/* schema */
	bool	 has_relid;
	uint32_t relid;
	bool	 has_schema_version;
	uint64_t schema_version;
	/* hello, ack, replay */
	bool   has_consumer;
	wb_str consumer;
	/* ack, replay: (commit_lsn, pos) of the last change processed */
	bool	 has_key;
	uint64_t commit_lsn;
	uint32_t pos;
	/* ack: end LSN of the last whole transaction processed (0: none) */
	uint64_t end_lsn;
	/*
	 * ack, optional: the window may forget up to here, though the changes
	 * after (commit_lsn, pos) are not applied yet (a worker that buffers
	 * whole transactions, docs/DELIVERY.md)
	 */
	bool	has_release;
	wbc_key release;
	/* backfill: the table, by name */
	bool   has_table;
	wb_str schema;
	wb_str table;
	/* replay: nng subscription prefixes (raw topic bytes) and a size cap */
	uint32_t nprefixes;
	wb_str	 prefixes[WBC_MAX_PREFIXES];
	uint64_t max_bytes;
} wbc_request;

/* A hello response. */
typedef struct wbc_hello
{
	uint64_t run;
	bool	 durable;		   /* the name is in the relay's durable list */
	uint64_t acked_lsn;		   /* its last whole-transaction ack known */
	uint64_t acked_commit_lsn; /* (commit_lsn, pos) of the last change */
	uint32_t acked_pos;		   /* it acked in this relay process, or 0/0 */
	uint64_t flushed_lsn;	   /* what the relay confirmed to the slot */
} wbc_hello;

/* A backfill response. */
typedef struct wbc_backfill
{
	uint64_t backfill; /* its id */
	uint32_t relid;
	wb_str	 topic;
	bool	 queued; /* waits for the running one to finish */
} wbc_backfill;

/* A replay response; messages is malloc'd by the decoder, caller frees. */
typedef struct wbc_replay
{
	wb_str	 status; /* WBC_REPLAY_* */
	uint64_t run;
	uint64_t last_seq; /* seq of the newest message in the window */
	bool	 end;	   /* nothing newer than the last one given */
	uint32_t nmessages;
	wb_str	*messages; /* whole bus messages: topic, NUL, map */
} wbc_replay;

/* One column in a schema response. */
typedef struct wbc_column
{
	wb_str	 name;
	uint32_t typoid;
	int32_t	 typmod;
	wb_str	 typname;
	int32_t	 attnum; /* pg_attribute.attnum; 0: not known */
} wbc_column;

/* One definition of a table: a schema response, or inside a schema event. */
typedef struct wbc_schema
{
	uint32_t	relid;
	uint64_t	schema_version;
	wb_str		schema;
	wb_str		table;
	uint32_t	schema_oid; /* pg_namespace OID; 0: not known */
	uint32_t	key_index;
	uint32_t	ncolumns;
	wbc_column *columns; /* decoder: malloc'd, caller frees */
} wbc_schema;

/* Most durable consumers a status response lists. */
#define WBC_MAX_CONSUMERS 16

/* One durable consumer in a status response. */
typedef struct wbc_consumer_status
{
	wb_str	 name;
	uint64_t connected;		 /* 1: made a request within its timeout */
	uint64_t acked_lsn;		 /* end LSN of its last whole-txn ack */
	uint64_t lag_bytes;		 /* received_lsn - acked_lsn */
	uint64_t over_lag_limit; /* 1: lag_bytes is over the lag limit */
	uint64_t acks;
	uint64_t rewinds; /* rewinds it asked for */
} wbc_consumer_status;

/* The C type of each kind of status field (status_fields.h). */
#define WBC_STATUS_CTYPE_UINT			   uint64_t
#define WBC_STATUS_CTYPE_LSN			   uint64_t
#define WBC_STATUS_CTYPE_FLAG			   uint64_t
#define WBC_STATUS_CTYPE_STR			   wb_str
#define WBC_STATUS_MEMBER(name, kind, doc) WBC_STATUS_CTYPE_##kind name;

/*
 * What a status response reports: one member per field of
 * WBC_STATUS_FIELDS (status_fields.h says what each one is), then the
 * durable consumers.  Strings are views.
 */
typedef struct wbc_status
{
	WBC_STATUS_FIELDS(WBC_STATUS_MEMBER)
	uint32_t			nconsumers; /* "consumers": one map each */
	wbc_consumer_status consumers[WBC_MAX_CONSUMERS];
} wbc_status;

/* ------------------------------------------------------------- requests */

extern void wbc_enc_status_request(wb_enc *e);
extern void wbc_enc_schema_request(wb_enc *e, uint32_t relid,
								   uint64_t schema_version);
extern void wbc_enc_hello_request(wb_enc *e, const char *consumer, size_t len);
/* release NULL: the window may forget what (commit_lsn, pos) covers */
extern void wbc_enc_ack_request(wb_enc *e, const char *consumer, size_t len,
								uint64_t commit_lsn, uint32_t pos,
								uint64_t end_lsn, const wbc_key *release);
/* consumer may be NULL (a best-effort client) */
extern void wbc_enc_replay_request(wb_enc *e, const char *consumer, size_t len,
								   uint64_t commit_lsn, uint32_t pos,
								   const wb_str *prefixes, uint32_t nprefixes,
								   uint64_t max_bytes);
extern void wbc_enc_backfill_request(wb_enc *e, const char *schema,
									 size_t schema_len, const char *table,
									 size_t table_len);
extern int	wbc_decode_request(const void *buf, size_t len, wbc_request *out,
							   char *errbuf, size_t errlen);

/* ------------------------------------------------------------ responses */

extern void wbc_enc_error(wb_enc *e, const char *code, const char *message);

/*
 * A schema response ({"ok": true} and the definition's keys), or, with
 * with_ok false, the bare definition map that schema events carry.
 */
extern void wbc_enc_table(wb_enc *e, const wbc_schema *s, bool with_ok);
extern void wbc_enc_schema_column(wb_enc *e, const char *name, size_t name_len,
								  uint32_t typoid, int32_t typmod,
								  const char *typname, size_t typname_len);
extern void wbc_enc_status(wb_enc *e, const wbc_status *st);
extern void wbc_enc_hello(wb_enc *e, const wbc_hello *h);
extern void wbc_enc_ack(wb_enc *e, uint64_t flushed_lsn);
extern void wbc_enc_backfill(wb_enc *e, const wbc_backfill *b);
/* Replay: wbc_enc_replay_start, then nmessages x wbc_enc_replay_message. */
extern void wbc_enc_replay_start(wb_enc *e, const char *status, uint64_t run,
								 uint64_t last_seq, bool end,
								 uint32_t nmessages);
extern void wbc_enc_replay_message(wb_enc *e, const void *msg, size_t len);

/*
 * Check a response's "ok".  On WB_OK, *ok tells whether the op succeeded;
 * when it did not, *code and *message are set (views into buf).
 */
extern int wbc_decode_result(const void *buf, size_t len, bool *ok,
							 wb_str *code, wb_str *message, char *errbuf,
							 size_t errlen);
/*
 * Decode a successful schema response, or a definition map (the "ok" key
 * is not looked at); free out->columns afterwards.
 */
extern int wbc_decode_schema(const void *buf, size_t len, wbc_schema *out,
							 char *errbuf, size_t errlen);
extern int wbc_decode_status(const void *buf, size_t len, wbc_status *out,
							 char *errbuf, size_t errlen);
extern int wbc_decode_hello(const void *buf, size_t len, wbc_hello *out,
							char *errbuf, size_t errlen);
/* The "flushed_lsn" of an ack response. */
extern int wbc_decode_ack(const void *buf, size_t len, uint64_t *flushed_lsn,
						  char *errbuf, size_t errlen);
extern int wbc_decode_backfill(const void *buf, size_t len, wbc_backfill *out,
							   char *errbuf, size_t errlen);
extern int wbc_decode_replay(const void *buf, size_t len, wbc_replay *out,
							 char *errbuf, size_t errlen);

#endif /* WALBUS_CONTROL_H */
