/*-------------------------------------------------------------------------
 *
 * jetstream.h
 *	  A second bus: every keyed frame the publisher sends on nng is also
 *	  published to a NATS JetStream stream, and the slot advances only past
 *	  what JetStream has acknowledged (docs/RELAY.md, "JetStream").
 *
 * Frames are published asynchronously (js_PublishMsgAsync) on subject
 * walbus.<topic> (wr_js_subject), with a Nats-Msg-Id made of the frame's
 * commit LSN, its first and last pos and its topic, so that JetStream's
 * duplicate window drops a frame a restarted relay publishes again.
 * Publication is strictly ordered: each message names the one before it
 * (Nats-Expected-Last-Msg-Id), so JetStream stores a frame only right
 * after its predecessor and refuses one whose predecessor is missing
 * (error 10070).  Readers can then deliver in the stream's order: without
 * it, a frame that failed during an outage, published again, landed after
 * later ones, and a reader dropping repeats by key lost its changes.
 * After a failure or a refusal, once nothing is in flight, the relay
 * reads the stream's last message, counts as stored every frame whose
 * changes end at or before its key (the stream is complete in key order
 * up to it), and publishes the rest again in order after it; new frames
 * wait behind.  A repeat is still dropped by the duplicate window first,
 * whatever it names as the last.
 *
 * Each frame sent is kept in a FIFO until JetStream acknowledges it; the
 * end LSN of each transaction is set on its last frame (wr_js_txn_end),
 * and wr_js_acked is the end LSN of the newest transaction whose frames,
 * and all frames before them, are acknowledged: the flush policy
 * (confirm.h) never reports more.  A frame JetStream refused, or did not
 * acknowledge within WR_JS_ACK_WAIT_MS (an outage), is published again,
 * the same message, after WR_JS_RETRY_MS, for as long as it takes.
 * wr_js_full says when WR_JS_MAX_INFLIGHT frames wait: the stream then
 * pauses reading the slot until half of them are acknowledged, so an
 * outage costs no memory beyond that.
 *
 * Threads: nats.c calls the ack handler on its own threads.  The handler
 * only appends (message, result) to a queue under a mutex and, when the
 * queue was empty, writes a byte to a non-blocking pipe; the relay's loop
 * polls the pipe's read end (wr_js_fd) and calls wr_js_service, which
 * takes the queue and does everything else single-threaded.  Everything
 * but the handler runs on the relay's loop.
 *
 * wr_js_open returns 0 (also when no JetStream server is configured: the
 * rest is then a no-op) or -1 with a one-line message in errbuf.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_JETSTREAM_H
#define WR_JETSTREAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "config.h"

/* Frames published and not yet acknowledged before the stream pauses. */
#define WR_JS_MAX_INFLIGHT		 1024
/* How long JetStream has to acknowledge one publish. */
#define WR_JS_ACK_WAIT_MS		 3000
/* Delay before a refused or unacknowledged frame is published again. */
#define WR_JS_RETRY_MS			 1000
/* JetStream's duplicate window of a stream the relay creates. */
#define WR_JS_DUPLICATE_WINDOW_S 120

typedef enum wr_js_state
{
	WR_JS_INFLIGHT, /* nats.c owns the message */
	WR_JS_RETRY,	/* ours again: publish it at retry_at */
	WR_JS_ACKED
} wr_js_state;

typedef struct wr_js_entry
{
	natsMsg	   *msg; /* NULL once acknowledged */
	char	   *id;	 /* its Nats-Msg-Id */
	uint64_t	lsn; /* the key of its last change */
	uint32_t	last_pos;
	uint64_t	end_lsn; /* a transaction ends with it; 0: none */
	wr_js_state state;
	int64_t		retry_at;
} wr_js_entry;

/* An acknowledgement (or failure) handed from nats.c's thread. */
typedef struct wr_js_result
{
	natsMsg	  *msg;
	natsStatus err; /* NATS_OK: stored (or a duplicate) */
	jsErrCode  errcode;
	bool	   duplicate;
} wr_js_result;

typedef struct wr_js
{
	bool			enabled;
	natsConnection *nc;
	jsCtx		   *ctx;
	const char	   *stream;	  /* owned by the config */
	int				replicas; /* of the stream if the relay creates it */

	/* the frames sent, oldest first: a ring that grows when needed */
	wr_js_entry *ring;
	size_t		 cap;
	size_t		 head;
	size_t		 count;
	uint64_t	 acked_end; /* see wr_js_acked */

	/* filled by the ack handler, taken by wr_js_service */
	pthread_mutex_t mu;
	bool			mu_init;
	wr_js_result   *results;
	size_t			nresults;
	size_t			results_cap;
	int				wake[2]; /* pipe: [0] polled by the loop */

	bool failing; /* in an outage, logged once */
	bool paused;  /* wr_js_full said so last time */

	/*
	 * Order: the id the next publish names as the stream's last message
	 * (Nats-Expected-Last-Msg-Id; NULL: none, at start), whether a frame
	 * failed or was refused since the last resynchronisation, and how
	 * often in a row the frame after the stream's own last was refused.
	 */
	char *chain;
	bool  resync;
	char *resynced_to; /* the last message at the last resync */
	bool  refused_since_resync;
	int	  refused_at_last;

	/* counters for logs and tests */
	uint64_t published;	 /* frames stored (acknowledged) */
	uint64_t duplicates; /* acknowledged as duplicates */
	uint64_t retries;
	uint64_t refused; /* refused as out of order: sent again */
	uint64_t skipped; /* found in the stream at a resync */
	uint64_t errors;  /* frames that could not be built */
} wr_js;

extern int	wr_js_open(wr_js *js, const wr_config *cfg, char *errbuf,
					   size_t errlen);
extern void wr_js_close(wr_js *js);

/*
 * Publish one frame body (topic, NUL, msgpack map: the bytes of the nng
 * message) whose changes have keys (lsn, first_pos) to (lsn, last_pos).
 */
extern void wr_js_publish(wr_js *js, const char *topic, size_t topic_len,
						  uint64_t lsn, uint32_t first_pos, uint32_t last_pos,
						  const void *body, size_t len);
/* A transaction with this end LSN is published up to its last frame. */
extern void wr_js_txn_end(wr_js *js, uint64_t end_lsn);

/* The pipe to poll for POLLIN; -1 when disabled. */
extern int wr_js_fd(const wr_js *js);
/* Take acknowledgements and publish again what is due. */
extern void wr_js_service(wr_js *js, int64_t now_ms);
/* When wr_js_service has a retry due; INT64_MAX: none. */
extern int64_t wr_js_wake(const wr_js *js);
/* Too many frames wait for acknowledgement: stop reading the slot. */
extern bool wr_js_full(wr_js *js);
/* End LSN of the newest transaction JetStream has entirely; 0: none. */
static inline uint64_t
wr_js_acked(const wr_js *js)
{
	return js->acked_end;
}

/*
 * The subject of a topic: "walbus." then, for a table topic, the schema
 * and the table as two tokens, each unquoted and percent-escaped, and for
 * _msg.PREFIX "_msg." and the escaped prefix; other reserved topics as
 * they are.  Writes at most cap bytes with a NUL; returns the length
 * without it (like snprintf), or 0 for a malformed topic.
 */
extern size_t wr_js_subject(char *dst, size_t cap, const char *topic,
							size_t len);

#endif /* WR_JETSTREAM_H */
