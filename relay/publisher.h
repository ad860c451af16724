/*-------------------------------------------------------------------------
 *
 * publisher.h
 *	  The bus side of the relay: the nng pub0 socket, frames, sequence
 *	  numbers, per-topic counters and the per-transaction bookkeeping behind
 *	  the _txn frames (docs/PROTOCOL.md (Part 2)).
 *
 * A bus message carries a frame.  The publisher keeps at most one frame
 * open: the changes of the open transaction on one topic (one relation
 * definition, or one message prefix) that are consecutive in the
 * transaction.  wr_pub_frame returns the open frame when the next change
 * belongs in it, or closes it and opens another; the caller writes one
 * change (wbe_enc_change_start and its elements) on f->enc and calls
 * wr_pub_frame_added.  The frame is closed and sent at a topic switch, at
 * the size cap (frame_bytes), before anything else is published (a
 * transaction's end, a heartbeat, a non-transactional message), and by
 * wr_pub_flush, which the loop calls as soon as no more input is ready:
 * frames never wait for more changes.
 *
 * pub0 never blocks: a subscriber that falls behind loses frames, which
 * the sequence numbers let it detect, and a copy of every transactional
 * frame goes to the replay window (window.h), keyed by its last change, for
 * it to pull again.  Otherwise memory stays flat: the open frame, one
 * counter per topic and the list of topics touched by the open
 * transaction.
 *
 * Functions return true on success; failures are counted in errors and
 * logged, and never stop the relay (the bus is best effort by design).
 * Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_PUBLISHER_H
#define WR_PUBLISHER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "hashmap.h"
#include "walbus_envelope.h"
#include "window.h"

typedef struct wr_topic
{
	char	*name;
	size_t	 len;
	bool	 is_message; /* a _msg. topic: its prefix follows */
	bool	 is_schema;	 /* _schema or _backfill: events, by relid */
	uint64_t tseq;		 /* last per-topic sequence number used */
	uint64_t txn_gen;	 /* transaction that last touched it */
	uint32_t txn_count;	 /* its frames in that transaction */
} wr_topic;

/* A frame under construction. */
typedef struct wr_frame
{
	nng_msg	 *msg;
	wb_enc	  enc;
	wbe_head  head;
	wr_topic *topic;
	uint32_t  relid; /* what the frame's header says */
	uint64_t  schema_version;
	size_t	  count_at; /* offset of the changes array header */
	uint32_t  nchanges;
	bool	  keep;	 /* copy into the replay window under key */
	wr_wkey	  key;	 /* of the last change added */
	wr_wkey	  first; /* of the first change added */
} wr_frame;

/*
 * Called with every frame that has keys (not heartbeats) as it is sent:
 * a second bus (jetstream.h) publishes the same bytes.
 */
typedef void (*wr_pub_copy_fn)(void *arg, const wr_frame *f, const void *body,
							   size_t len);

typedef struct wr_publisher
{
	nng_socket	   sock;
	nng_aio		  *send_aio; /* reused for every send, see wr_pub_send */
	wr_window	  *window;	 /* copies of transactional frames */
	wr_pub_copy_fn copy;	 /* NULL: none */
	void		  *copy_arg;
	bool		   open;
	uint64_t	   run;			/* random id of this process */
	uint64_t	   seq;			/* last global sequence number used */
	size_t		   frame_bytes; /* close a frame once it is this long */
	whm			   topics;		/* name -> wr_topic */
	wr_topic	  *txn_topic;
	wr_topic	  *hb_topic;

	bool	 frame_open;
	wr_frame frame;

	/* the open transaction */
	bool	   in_txn;
	wbe_txn	   txn;
	uint64_t   txn_gen;
	uint64_t   txn_first_seq;
	uint32_t   txn_frames;
	wr_topic **touched;
	uint32_t   ntouched;
	uint32_t   touched_cap;

	/* counters for status */
	atomic_int subscribers; /* connected pipes, kept by nng's threads */
	uint64_t   frames;		/* "changes" frames sent (not _txn, _hb) */
	uint64_t   bytes;
	uint64_t   errors;
} wr_publisher;

/*
 * queue: frames pub0 queues per subscriber before it drops for that
 * subscriber; frame_bytes: the size cap of a frame.
 */
extern int	wr_pub_open(wr_publisher *p, uint64_t run, char *const *urls,
						int nurls, int queue, size_t frame_bytes,
						wr_window *window, char *errbuf, size_t errlen);
extern void wr_pub_close(wr_publisher *p);

/* Find or create the counter of a topic; NULL when out of memory. */
extern wr_topic *wr_pub_topic(wr_publisher *p, const char *name, size_t len);

/* Transactions: frames opened between begin and commit belong to it. */
extern void wr_pub_txn_begin(wr_publisher *p, const wbe_txn *t);
extern bool wr_pub_txn_commit(wr_publisher *p, uint64_t commit_lsn,
							  uint64_t end_lsn, uint32_t last_pos);
/* The open transaction's end will never come (lost connection). */
extern void wr_pub_txn_abandon(wr_publisher *p);

/*
 * The frame the next change of the open transaction goes into: on topic t
 * with relid and schema_version (a table topic), on a message topic t
 * with its prefix (then relid and schema_version are 0), or on _schema
 * with the relid the event is about (schema_version 0).  NULL when the
 * frame could not be allocated: the change is not published (counted).
 */
extern wr_frame *wr_pub_frame(wr_publisher *p, wr_topic *t, uint32_t relid,
							  uint64_t schema_version, const char *prefix,
							  size_t prefix_len);
/* One change with key (commit_lsn, pos) was written on f->enc. */
extern void wr_pub_frame_added(wr_publisher *p, wr_frame *f, uint32_t pos);
/* Close and send the open frame, if any. */
extern void wr_pub_flush(wr_publisher *p);

/* A non-transactional message: a frame of its own, sent at once. */
extern bool wr_pub_message(wr_publisher *p, wr_topic *t, uint64_t lsn,
						   const char *prefix, size_t prefix_len,
						   const char *content, size_t content_len);
extern bool wr_pub_heartbeat(wr_publisher *p, const wbe_heartbeat *hb);

#endif /* WR_PUBLISHER_H */
