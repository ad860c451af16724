/*-------------------------------------------------------------------------
 *
 * walbus_envelope.h
 *	  Bus frames (layout 2): the topics and msgpack maps walbus-relay
 *	  publishes on its nng pub socket, and their encoder/decoder pair.
 *
 * docs/PROTOCOL.md (Part 2) is the normative spec of these bytes; this
 * header is its C binding.  The relay compiles the encoder, libwalbus the
 * decoder, and the tests both, so the two sides cannot drift apart.
 *
 * A bus message is: topic bytes, one NUL byte, one msgpack map (the
 * frame).  Topics of table changes are "schema.table" with names quoted
 * when needed (see wbe_topic_table), so nng's prefix subscriptions select a
 * table ("schema.table\0") or a schema ("schema.") exactly; topics starting
 * with '_' are reserved for the relay ("_txn", "_hb", "_msg.<prefix>").
 *
 * Frames.  A frame of kind "changes" carries one or more changes of one
 * transaction on one topic that are consecutive in the transaction, so
 * their positions increase (the relay numbers the plugin's items 2, 4,
 * 6, ... and what it publishes itself between them with the odd numbers,
 * docs/PROTOCOL.md §E4.2); what they share
 * (run, seq, tseq, xid, commit LSN and time, relid and schema version, or
 * the message prefix) is said once in the map, and the changes follow as
 * an array of small positional arrays:
 *
 *	 ['I', pos, values]            insert
 *	 ['U', pos, values]            update
 *	 ['U', pos, values, old_key]   update that changed the primary key
 *	 ['D', pos, key]               delete
 *	 ['T', pos, flags]             truncate (WB_TRUNCATE_* flags)
 *	 ['M', pos, lsn, content]      logical decoding message (on _msg.*)
 *	 ['S', pos, event]             schema event (on _schema; event is a
 *	                               map, see walbus_schema.h)
 *	 ['R', pos, values]            a row read by a backfill (table topics)
 *	 ['B', pos, event]             backfill event (on _backfill; a map)
 *
 * The kind is the ASCII letter as a msgpack positive integer, as in the
 * plugin's records; values and keys are column values exactly as in the
 * plugin's records (PROTOCOL.md §5), so the relay copies their bytes from
 * the record instead of decoding and encoding them again.  A
 * non-transactional message is a frame of one 'M' change with pos 0 and no
 * transaction keys.  A transaction's end is a frame of kind "commit" on
 * _txn and a heartbeat one of kind "heartbeat" on _hb, each a single map.
 *
 * Sequence numbers count frames (bus messages): seq is global in a relay
 * run, tseq per topic.  Each change keeps its own key (commit_lsn, pos).
 *
 * Encoder: writes through the proto library's wb_enc (a caller-supplied
 * write callback), with the same sticky error convention: check
 * wb_enc_failed() once per frame.  Nothing is allocated.  The number of
 * changes in a frame is known only when it closes, so the encoder writes
 * the changes array's header as a fixed 5-byte array32 (0xdd and four zero
 * bytes) and the caller patches the count in place with
 * wbe_patch_changes_count once the last change is written (msgpack allows
 * any width for any count; decoders must accept it).
 *
 * Decoder: wbe_decode turns one bus message into a wbe_frame whose strings
 * and values point into the caller's buffer; all of its changes are decoded
 * (into scratch arrays of the decoder) before it returns, so a malformed
 * frame is rejected whole.  It is bounded against hostile input like the
 * proto decoder; unknown map keys are skipped, so newer relays may add
 * keys.  Returns WB_OK, WB_EMALFORMED or WB_ENOMEM with a message in the
 * decoder.
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

/* Version of the bus layout described by docs/PROTOCOL.md (Part 2). */
#define WBE_LAYOUT 2

/* Reserved topics (the part before the NUL separator). */
#define WBE_TOPIC_TXN		 "_txn"
#define WBE_TOPIC_HEARTBEAT	 "_hb"
#define WBE_TOPIC_MSG_PREFIX "_msg."
#define WBE_TOPIC_SCHEMA	 "_schema"
#define WBE_TOPIC_BACKFILL	 "_backfill"
#define WBE_TOPIC_RESERVED	 '_'

/*
 * pos of a non-transactional message (the key pos of a _txn frame is
 * walbus_control.h's WBC_POS_COMMIT).
 */
#define WBE_POS_NONE 0

/*
 * Frame kinds (the map's "kind" key carries their name: "changes",
 * "commit", "heartbeat").
 */
typedef enum wbe_frame_kind
{
	WBE_FRAME_CHANGES = 'F',
	WBE_FRAME_COMMIT = 'C',	  /* on _txn: a transaction's end */
	WBE_FRAME_HEARTBEAT = 'H' /* on _hb */
} wbe_frame_kind;

/*
 * Kinds of change inside a frame (the first element of each change), and,
 * for libwalbus's convenience, the frame kinds commit and heartbeat with
 * the same letters as walbus_kind.
 */
typedef enum wbe_kind
{
	WBE_INSERT = 'I',
	WBE_UPDATE = 'U',
	WBE_DELETE = 'D',
	WBE_TRUNCATE = 'T',
	WBE_MESSAGE = 'M',
	WBE_SCHEMA = 'S',	/* on _schema */
	WBE_READ = 'R',		/* a row read by a backfill */
	WBE_BACKFILL = 'B', /* on _backfill */
	WBE_COMMIT = 'C',
	WBE_HEARTBEAT = 'H'
} wbe_kind;

/* Sequence numbers every frame carries. */
typedef struct wbe_head
{
	uint64_t run;  /* random id of the relay process */
	uint64_t seq;  /* global, from 1, +1 per frame of a run */
	uint64_t tseq; /* per topic, from 1, +1 per frame */
} wbe_head;

/* The transaction a frame belongs to. */
typedef struct wbe_txn
{
	uint32_t	 xid;
	uint64_t	 commit_lsn;
	wb_timestamp commit_time;
} wbe_txn;

/* One touched topic in a commit frame. */
typedef struct wbe_txn_topic
{
	wb_str	 topic;
	uint64_t last_tseq; /* tseq of its last frame in the txn */
	uint32_t count;		/* its frames in the txn */
} wbe_txn_topic;

/* Heartbeat contents beyond the head. */
typedef struct wbe_heartbeat
{
	wb_timestamp time;		   /* when the relay sent it */
	uint64_t	 txn_tseq;	   /* tseq of the last _txn frame, 0: none */
	uint64_t	 received_lsn; /* last position read from the slot */
	uint64_t	 flushed_lsn;  /* last position confirmed to the slot */
} wbe_heartbeat;

/* One change of a "changes" frame.  Fields not used by kind are zero. */
typedef struct wbe_change
{
	wbe_kind  kind;	   /* INSERT, UPDATE, DELETE, TRUNCATE, MESSAGE */
	uint32_t  pos;	   /* from 1 in the transaction; 0: a
						* non-transactional message */
	uint32_t  nvalues; /* INSERT, UPDATE: the row */
	wb_value *values;
	bool	  has_key; /* DELETE: the key of the deleted row */
	wb_value  key;
	bool	  has_old_key; /* UPDATE: the key before a key change */
	wb_value  old_key;
	uint32_t  truncate_flags; /* TRUNCATE: WB_TRUNCATE_* */
	uint64_t  msg_lsn;		  /* MESSAGE: position of the message */
	wb_str	  content;		  /* MESSAGE: its bytes; SCHEMA, BACKFILL: the
							   * event map's msgpack bytes (a valid map) */
} wbe_change;

/* A decoded frame.  Fields not used by kind are zero. */
typedef struct wbe_frame
{
	wb_str		   topic; /* NUL-terminated in the buffer */
	wbe_frame_kind kind;
	wbe_head	   head;

	bool	in_txn; /* txn is valid (not for heartbeats and
					 * non-transactional messages) */
	wbe_txn txn;

	/* CHANGES on a table topic (and on _schema: relid, the table's) */
	uint32_t relid;
	uint64_t schema_version;
	/* CHANGES on a _msg. topic */
	bool   transactional;
	wb_str prefix;
	/* CHANGES: at least one, increasing positions */
	uint32_t	nchanges;
	wbe_change *changes;

	/* COMMIT */
	uint64_t	   end_lsn;
	uint64_t	   first_seq; /* seq of the transaction's first frame, 0
							   * if it had none */
	uint32_t	   nframes;	  /* frames in the transaction */
	uint32_t	   last_pos;  /* pos of its last change (its number of
							   * changes) */
	uint32_t	   ntopics;
	wbe_txn_topic *topics;

	/* HEARTBEAT */
	wbe_heartbeat hb;
} wbe_frame;

/* ----------------------------------------------------------------- topics */

/*
 * Build "schema.table" into dst (NUL-terminated when it fits) and return
 * its length without the NUL, like snprintf.  A name is written as is
 * unless it is empty, starts with '_', or contains '.' or '"'; then it is
 * wrapped in double quotes with inner quotes doubled, which keeps topics
 * unambiguous and keeps '_' for reserved topics.
 */
extern size_t wbe_topic_table(char *dst, size_t cap, const char *schema,
							  size_t schema_len, const char *table,
							  size_t table_len);
/* "schema." (quoted the same way): the prefix selecting a whole schema. */
extern size_t wbe_topic_schema(char *dst, size_t cap, const char *schema,
							   size_t schema_len);
/* "_msg.prefix": the topic of a logical decoding message. */
extern size_t wbe_topic_message(char *dst, size_t cap, const char *prefix,
								size_t prefix_len);

/* Longest topic a table can have (two quoted 63-byte names and a dot). */
#define WBE_TABLE_TOPIC_MAX (2 * (2 * 63 + 2) + 1)

/* ---------------------------------------------------------------- encoder */

/* Every frame starts with its topic and the NUL separator. */
extern void wbe_enc_topic(wb_enc *e, const char *topic, size_t len);

/*
 * A "changes" frame on a table topic (t not NULL) or a message topic:
 * writes the map with the head, the transaction keys (t NULL: a
 * non-transactional message frame), relid and schema_version (table
 * topics) or transactional and prefix (message topics, prefix not NULL),
 * then the key "changes" and the 5-byte array32 header.  The caller then
 * writes the changes with wbe_enc_change_start plus its elements, and
 * finally patches the count with wbe_patch_changes_count: the array32
 * header is the last WBE_CHANGES_HDR_LEN bytes this call wrote.
 */
#define WBE_CHANGES_HDR_LEN 5
extern void wbe_enc_frame_table(wb_enc *e, const wbe_head *h, const wbe_txn *t,
								uint32_t relid, uint64_t schema_version);
extern void wbe_enc_frame_messages(wb_enc *e, const wbe_head *h,
								   const wbe_txn *t, const char *prefix,
								   size_t prefix_len);
/*
 * A "changes" frame on _schema or _backfill (the topic written before it
 * says which): events about table relid, in transaction t.
 */
extern void wbe_enc_frame_schema(wb_enc *e, const wbe_head *h,
								 const wbe_txn *t, uint32_t relid);

/* Patch the count of a changes array whose 5-byte header is at hdr. */
extern void wbe_patch_changes_count(void *hdr, uint32_t nchanges);

/*
 * One change: the array header of 2 + nrest elements, the kind letter and
 * pos.  The caller then writes nrest more elements, either structured
 * (wbe_enc_values_start + wb_enc_value, wb_enc_value for a key, the
 * helpers below) or as bytes already known to be valid msgpack
 * (wbe_enc_raw: the relay splices the plugin record's validated "tail",
 * see wb_record).
 *
 *	 INSERT, UPDATE: nrest 1 (values) or 2 (values, old_key)
 *	 DELETE: nrest 1 (key); TRUNCATE: nrest 1 (flags); MESSAGE: nrest 2
 *	 SCHEMA: nrest 1 (the event map, walbus_schema.h's wbs_enc_event)
 *	 READ: nrest 1 (values, as INSERT); BACKFILL: nrest 1 (the event map)
 */
extern void wbe_enc_change_start(wb_enc *e, wbe_kind kind, uint32_t pos,
								 uint32_t nrest);
extern void wbe_enc_values_start(wb_enc *e, uint32_t nvalues);
extern void wbe_enc_raw(wb_enc *e, const void *bytes, size_t len);
extern void wbe_enc_truncate(wb_enc *e, uint32_t pos, uint32_t flags);
extern void wbe_enc_message(wb_enc *e, uint32_t pos, uint64_t lsn,
							const char *content, size_t content_len);

/* COMMIT on _txn: then ntopics x wbe_enc_commit_topic. */
extern void wbe_enc_commit_start(wb_enc *e, const wbe_head *h,
								 const wbe_txn *t, uint64_t end_lsn,
								 uint64_t first_seq, uint32_t nframes,
								 uint32_t last_pos, uint32_t ntopics);
extern void wbe_enc_commit_topic(wb_enc *e, const char *topic, size_t len,
								 uint64_t last_tseq, uint32_t count);
extern void wbe_enc_heartbeat(wb_enc *e, const wbe_head *h,
							  const wbe_heartbeat *hb);

/* ---------------------------------------------------------------- decoder */

typedef struct wbe_dec
{
	wbe_change	  *changes; /* scratch, grown on demand */
	uint32_t	   changes_cap;
	wb_value	  *values; /* values of all changes of a frame */
	uint32_t	   values_cap;
	wbe_txn_topic *topics;
	uint32_t	   topics_cap;
	char		   errmsg[160];
} wbe_dec;

extern void wbe_dec_init(wbe_dec *d);
extern void wbe_dec_free(wbe_dec *d);

/*
 * Decode one bus message buf[0..len).  On WB_OK the frame's pointers stay
 * valid until the next wbe_decode on d and while buf is unchanged.
 */
extern int wbe_decode(wbe_dec *d, const void *buf, size_t len, wbe_frame *out);

static inline const char *
wbe_dec_errmsg(const wbe_dec *d)
{
	return d->errmsg;
}

/* "insert", "update", ..., "commit", "heartbeat"; NULL for anything else. */
extern const char *wbe_kind_name(wbe_kind kind);

#endif /* WALBUS_ENVELOPE_H */
