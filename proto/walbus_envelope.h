/*-------------------------------------------------------------------------
 *
 * walbus_envelope.h
 *	  Bus envelopes: the topics and msgpack maps walbus-relay publishes on
 *	  its nng pub socket, and their encoder/decoder pair.
 *
 * docs/PROTOCOL.md (Part 2) is the normative spec of these bytes; this header is
 * its C binding.  The relay compiles the encoder, libwalbus the decoder,
 * and the tests both, so the two sides cannot drift apart.
 *
 * A bus message is: topic bytes, one NUL byte, one msgpack map.  Topics of
 * table changes are "schema.table" with names quoted when needed (see
 * wbe_topic_table), so nng's prefix subscriptions select a table
 * ("schema.table\0") or a schema ("schema.") exactly; topics starting with
 * '_' are reserved for the relay ("_txn", "_hb", "_msg.<prefix>").
 *
 * Encoder: writes through the proto library's wb_enc (a caller-supplied
 * write callback), with the same sticky error convention: check
 * wb_enc_failed() once per message.  Nothing is allocated.
 *
 * Decoder: wbe_decode turns one bus message into a wbe_envelope whose
 * strings and values point into the caller's buffer.  It is bounded
 * against hostile input like the proto decoder; unknown map keys are
 * skipped, so newer relays may add fields.  Returns WB_OK, WB_EMALFORMED
 * or WB_ENOMEM with a message in the decoder.
 *
 * Thread safety: an encoder or decoder belongs to one thread at a time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_ENVELOPE_H
#define WALBUS_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walbus_proto.h"

/* Version of the envelope layout described by docs/PROTOCOL.md (Part 2). */
#define WBE_VERSION				1

/* Reserved topics (the part before the NUL separator). */
#define WBE_TOPIC_TXN			"_txn"
#define WBE_TOPIC_HEARTBEAT		"_hb"
#define WBE_TOPIC_MSG_PREFIX	"_msg."
#define WBE_TOPIC_RESERVED		'_'

/* Kinds of envelope; the "kind" key carries their name. */
typedef enum wbe_kind
{
	WBE_INSERT = 'I',
	WBE_UPDATE = 'U',
	WBE_DELETE = 'D',
	WBE_TRUNCATE = 'T',
	WBE_MESSAGE = 'M',
	WBE_COMMIT = 'C',			/* on _txn: a transaction's end */
	WBE_HEARTBEAT = 'H'			/* on _hb */
} wbe_kind;

/* Sequence numbers every envelope carries. */
typedef struct wbe_head
{
	uint64_t	run;			/* random id of the relay process */
	uint64_t	seq;			/* global, from 1, +1 per message of a run */
	uint64_t	tseq;			/* per topic, from 1, +1 per message */
} wbe_head;

/* Where an envelope sits in its transaction. */
typedef struct wbe_txn
{
	uint32_t	xid;
	uint64_t	commit_lsn;
	wb_timestamp commit_time;
	uint32_t	pos;			/* from 1 within the transaction */
} wbe_txn;

/* One touched topic in a commit envelope. */
typedef struct wbe_txn_topic
{
	wb_str		topic;
	uint64_t	last_tseq;		/* tseq of its last message in the txn */
	uint32_t	count;			/* its messages in the txn */
} wbe_txn_topic;

/* Heartbeat contents beyond the head. */
typedef struct wbe_heartbeat
{
	wb_timestamp time;			/* when the relay sent it */
	uint64_t	txn_tseq;		/* tseq of the last _txn message, 0: none */
	uint64_t	received_lsn;	/* last position read from the slot */
	uint64_t	flushed_lsn;	/* last position confirmed to the slot */
} wbe_heartbeat;

/* A decoded envelope.  Fields not used by kind are zero. */
typedef struct wbe_envelope
{
	wb_str		topic;
	wbe_kind	kind;
	wbe_head	head;

	bool		in_txn;			/* txn is valid (not for heartbeats and
								 * non-transactional messages) */
	wbe_txn		txn;

	/* INSERT, UPDATE, DELETE, TRUNCATE */
	uint32_t	relid;
	uint64_t	schema_version;
	uint32_t	nvalues;		/* INSERT, UPDATE: the row */
	wb_value   *values;
	bool		has_key;		/* DELETE: the key of the deleted row */
	wb_value	key;
	bool		has_old_key;	/* UPDATE: the key before a key change */
	wb_value	old_key;
	uint32_t	truncate_flags; /* WB_TRUNCATE_* */

	/* MESSAGE */
	bool		transactional;
	uint64_t	msg_lsn;
	wb_str		prefix;
	wb_str		content;

	/* COMMIT */
	uint64_t	end_lsn;
	uint64_t	first_seq;		/* seq of the transaction's first message */
	uint32_t	nchanges;		/* messages in the transaction */
	uint32_t	ntopics;
	wbe_txn_topic *topics;

	/* HEARTBEAT */
	wbe_heartbeat hb;
} wbe_envelope;

/* ----------------------------------------------------------------- topics */

/*
 * Build "schema.table" into dst (NUL-terminated when it fits) and return
 * its length without the NUL, like snprintf.  A name is written as is
 * unless it is empty, starts with '_', or contains '.' or '"'; then it is
 * wrapped in double quotes with inner quotes doubled, which keeps topics
 * unambiguous and keeps '_' for reserved topics.
 */
extern size_t wbe_topic_table(char *dst, size_t cap,
							  const char *schema, size_t schema_len,
							  const char *table, size_t table_len);
/* "schema." (quoted the same way): the prefix selecting a whole schema. */
extern size_t wbe_topic_schema(char *dst, size_t cap,
							   const char *schema, size_t schema_len);
/* "_msg.prefix": the topic of a logical decoding message. */
extern size_t wbe_topic_message(char *dst, size_t cap,
								const char *prefix, size_t prefix_len);

/* Longest topic a table can have (two quoted 63-byte names and a dot). */
#define WBE_TABLE_TOPIC_MAX		(2 * (2 * 63 + 2) + 1)

/* ---------------------------------------------------------------- encoder */

/* Every message starts with its topic and the NUL separator. */
extern void wbe_enc_topic(wb_enc *e, const char *topic, size_t len);

/*
 * INSERT and UPDATE: then nvalues x wb_enc_value (or wb_enc_v_*), then
 * wbe_enc_old_key if has_old_key.
 */
extern void wbe_enc_change_start(wb_enc *e, const wbe_head *h, wbe_kind kind,
								 const wbe_txn *t, uint32_t relid,
								 uint64_t schema_version, uint32_t nvalues,
								 bool has_old_key);
extern void wbe_enc_old_key(wb_enc *e, const wb_value *old_key);
extern void wbe_enc_delete(wb_enc *e, const wbe_head *h, const wbe_txn *t,
						   uint32_t relid, uint64_t schema_version,
						   const wb_value *key);
extern void wbe_enc_truncate(wb_enc *e, const wbe_head *h, const wbe_txn *t,
							 uint32_t relid, uint64_t schema_version,
							 uint32_t flags);
/* t is NULL for a non-transactional message. */
extern void wbe_enc_message(wb_enc *e, const wbe_head *h, const wbe_txn *t,
							uint64_t lsn, const char *prefix,
							size_t prefix_len, const char *content,
							size_t content_len);
/* COMMIT on _txn: then ntopics x wbe_enc_commit_topic.  t->pos is unused. */
extern void wbe_enc_commit_start(wb_enc *e, const wbe_head *h,
								 const wbe_txn *t, uint64_t end_lsn,
								 uint64_t first_seq, uint32_t nchanges,
								 uint32_t ntopics);
extern void wbe_enc_commit_topic(wb_enc *e, const char *topic, size_t len,
								 uint64_t last_tseq, uint32_t count);
extern void wbe_enc_heartbeat(wb_enc *e, const wbe_head *h,
							  const wbe_heartbeat *hb);

/* ---------------------------------------------------------------- decoder */

typedef struct wbe_dec
{
	wb_value   *values;			/* scratch, grown on demand */
	uint32_t	values_cap;
	wbe_txn_topic *topics;
	uint32_t	topics_cap;
	char		errmsg[160];
} wbe_dec;

extern void wbe_dec_init(wbe_dec *d);
extern void wbe_dec_free(wbe_dec *d);

/*
 * Decode one bus message buf[0..len).  On WB_OK the envelope's pointers
 * stay valid until the next wbe_decode on d and while buf is unchanged.
 */
extern int	wbe_decode(wbe_dec *d, const void *buf, size_t len,
					   wbe_envelope *out);

static inline const char *
wbe_dec_errmsg(const wbe_dec *d)
{
	return d->errmsg;
}

/* "insert", "update", ..., "heartbeat"; NULL for anything else. */
extern const char *wbe_kind_name(wbe_kind kind);

#endif							/* WALBUS_ENVELOPE_H */
