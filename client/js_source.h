/*-------------------------------------------------------------------------
 *
 * js_source.h
 *	  libwalbus's JetStream transport: the frames a walbus-relay published
 *	  to a NATS JetStream stream (docs/RELAY.md, "JetStream"), read through
 *	  a pull consumer, handed to walbus_recv one at a time, and
 *	  acknowledged to JetStream only once the worker has acknowledged what
 *	  they delivered (docs/DELIVERY.md, "Workers on JetStream").
 *
 * A client whose bus URL is nats:// (or tls://, or a comma-separated list
 * of them) reads from here instead of an nng sub socket.  The message
 * bodies are the bus's frames, byte for byte, so the decoder, the cursor,
 * the filters and the dedupe by (commit_lsn, pos) are the bus's.
 *
 * Two kinds of reader:
 *   - with a consumer name, a durable JetStream consumer of that name:
 *	   ack policy "all" (acknowledging a message acknowledges every one
 *	   before it), delivered from the first message of the stream when it
 *	   is new.  A consumer found with messages delivered but not
 *	   acknowledged (its previous reader died) is deleted and made again
 *	   from the message after its ack floor: JetStream would redeliver
 *	   them only after the ack wait, behind newer ones, and a reader that
 *	   drops repeats by key would then drop them as repeats: lost.  Made
 *	   again, it delivers them first, in order.
 *   - without one, an ephemeral consumer from the newest message on, with
 *	   no acks: best effort, like the bus without a consumer name, except
 *	   that JetStream does not drop frames for a slow reader.
 *
 * Frames handed out stay allocated (their natsMsg kept) until they are
 * acknowledged (durable) or used up (ephemeral): a frame's body is what
 * the cursor points into.  wjs_done records, for the frame just used up,
 * the key the worker must have acknowledged before it may be: the last
 * change delivered when it was used up.  wjs_ack acknowledges the longest
 * run of used-up frames, from the oldest, whose key the worker's ack
 * covers, with one ack (of the last of them) thanks to the "all" policy.
 *
 * Messages JetStream delivers again within a run (the worker was slower
 * than the ack wait) are recognised by their stream sequence and dropped.
 * The stream holds nothing but walbus.>, so a durable reader's messages
 * come with consecutive stream sequences: one further on means a delivery
 * was lost on the way (a broken connection, a cluster failing over), and
 * the consumer is made again from its oldest unacknowledged message
 * before anything after the loss is handed out (wjs_reset).
 *
 * Every function returns WALBUS_OK or a negative WALBUS_E* code with a
 * one-line message in the wjs's errmsg.  A fetch that fails because the
 * server is away (nats.c reconnects by itself, to any server of the list)
 * or a cluster is electing a leader is WALBUS_ETIMEDOUT with its reason:
 * a pause, as the relay's restarts are on the nng bus.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_JS_SOURCE_H
#define WALBUS_JS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "walbus_client.h"
#include "walbus_control.h"

/* The stream walbus-relay creates unless told another name. */
#define WJS_DEFAULT_STREAM	 "WALBUS"
/* Every subject of the relay's stream. */
#define WJS_SUBJECTS		 "walbus.>"
/* Messages fetched at most per request. */
#define WJS_BATCH			 256
/*
 * How long JetStream waits for a durable reader's ack before delivering a
 * message again.  Long: within a run, a repeat is only dropped; after a
 * crash, the consumer is made again (above) rather than waited for.
 */
#define WJS_ACK_WAIT_S		 300
/*
 * Frames a durable reader may hold unacknowledged: a transaction of more
 * frames stalls a worker that acknowledges only at commit
 * (docs/DELIVERY.md, "Workers on JetStream").
 */
#define WJS_MAX_ACK_PENDING	 (INT64_C(1) << 30)
/* Servers a bus URL may list. */
#define WJS_MAX_SERVERS		 16
/* Pause after a failed fetch (no server, a leader election). */
#define WJS_RETRY_MS		 100
/* An ephemeral consumer outlives a vanished reader this long. */
#define WJS_EPHEMERAL_IDLE_S 30

/* A frame handed out, kept until it may be acknowledged. */
typedef struct wjs_entry
{
	natsMsg *msg;
	uint64_t sseq; /* its stream sequence */
	bool	 done; /* used up: need is set */
	bool	 has_need;
	wbc_key	 need; /* the worker's ack must reach this */
} wjs_entry;

typedef struct wjs
{
	natsConnection	 *nc;
	jsCtx			 *js;
	natsSubscription *sub;
	bool			  durable;
	char			  stream[64];
	char			  consumer[64];

	natsMsgList batch; /* fetched, not yet handed out */
	int			batch_next;

	wjs_entry *fifo; /* handed out, oldest first */
	size_t	   head;
	size_t	   count;
	size_t	   cap;
	uint64_t   last_sseq; /* of the newest frame handed out */

	int	 timeout_ms; /* of each request */
	bool resync;	 /* a reset: the next new message may skip */

	char errmsg[512];
} wjs;

/* true when url is for JetStream (nats://, tls://, or a list of them) */
extern bool wjs_is_url(const char *url);

/*
 * Connect to wo->bus_url (with wo's TLS files and credentials), check
 * wo->jetstream_stream, make or bind the consumer wo->consumer (NULL:
 * ephemeral).  timeout_ms bounds the connection and each request.
 */
extern int wjs_open(wjs *s, const walbus_options *wo, int timeout_ms,
					char *errbuf, size_t errlen);

/*
 * The next frame's body, valid until the frame is acknowledged (durable)
 * or wjs_done (ephemeral) and the next wjs_next.  wait_ms: 0 do not wait,
 * <0 wait without end.  WALBUS_ETIMEDOUT when none came.
 */
extern int wjs_next(wjs *s, int wait_ms, const void **body, size_t *len);

/*
 * The frame last handed out is used up.  has_need/need: the last change
 * delivered to the worker so far (none: the frame may be acknowledged as
 * soon as those before it may).
 */
extern void wjs_done(wjs *s, bool has_need, wbc_key need);

/*
 * Acknowledge every used-up frame, oldest first, whose need the worker's
 * ack (acked) covers.  sync: wait for JetStream to confirm.
 */
extern int wjs_ack(wjs *s, wbc_key acked, bool sync);


/* Unsubscribe (keeping a durable consumer) and disconnect. */
extern void wjs_close(wjs *s);

#endif /* WALBUS_JS_SOURCE_H */
