/*-------------------------------------------------------------------------
 *
 * durable.h
 *	  libwalbus's durable consumers (docs/DELIVERY.md): the state machine
 *	  that moves between the bus and the relay's replay, and the acks.
 *
 * States (wdu_state), for a durable consumer on an nng bus:
 *
 *	 WALBUS_ST_PULL_NEEDED	frames may be missing after the last key; the
 *							next frame wanted starts a pull.  Entered at
 *							open, and from BUS on a proven gap (a seq that
 *							jumps), a new relay run, or a bus silent for
 *							silence_ms.
 *	 WALBUS_ST_PULLING		frames come from pages of the control socket's
 *							"replay" after the last key; a relay that is
 *							rewinding or unreachable is asked again.  Left
 *							for BUS when the relay says it gave everything
 *							and the last page was short (WALBUS_PULL_STAY).
 *	 WALBUS_ST_BUS			frames come from the bus; every frame of run up
 *							to seq is accounted for (received or pulled), so
 *							seq must grow by exactly one.  Frames the pull
 *							covered (seq at or below it) are skipped, except
 *							heartbeats and non-transactional messages, which
 *							no replay carries.
 *
 * Losses are found by the global seq, not per topic: with a subscription
 * to several topics, a change of one topic could otherwise be delivered
 * (and the last key moved past it) before a lost change of another topic,
 * earlier in the same transaction, is proven lost; a pull after the last
 * key would then never bring it.  Best-effort clients and JetStream
 * consumers stay in BUS and never pull (JetStream keeps what is not
 * acknowledged, js_source.h).
 *
 * Acks (wdu_acks): walbus_ack moves the acked key; a commit frame taken
 * once every change delivered before it is acked makes its end LSN the
 * acked end ("settles"); walbus_release moves a key the relay's window may
 * forget without counting as applied.  All go to the relay at most every
 * WALBUS_ACK_EVERY_MS, inside walbus_recv or walbus_ack, with a short
 * request timeout: a relay that is down does not hold the worker, and what
 * did not get through is sent again later.
 *
 * Functions return WALBUS_OK or an error said with walbus_fail.  Single
 * owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_DURABLE_H
#define WALBUS_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "walbus_client.h"
#include "walbus_control.h"
#include "walbus_envelope.h"

/* Ack cadence, replay retry pause, default silence. */
#define WALBUS_ACK_EVERY_MS		  100
#define WALBUS_RETRY_MS			  100
#define WALBUS_DEFAULT_SILENCE_MS 2000

typedef enum wdu_state
{
	WALBUS_ST_BUS,
	WALBUS_ST_PULL_NEEDED,
	WALBUS_ST_PULLING
} wdu_state;

typedef struct wdu_acks
{
	bool	 have_delivered;
	wbc_key	 delivered; /* last change returned to the worker */
	wbc_key	 acked;		/* last change the worker acked */
	bool	 have_released;
	wbc_key	 released;	/* the window may forget up to here */
	uint64_t acked_end; /* end LSN of the last whole txn acked */

	/* the pending commit: a _txn frame taken, its end not yet acked */
	bool	 have_pending;
	wbc_key	 pending_key;
	uint64_t pending_end;
	wbc_key	 pending_delivered; /* delivered when it was taken */

	bool	dirty;	 /* something the relay was not told */
	int64_t sent_ms; /* when the last ack request was made */
} wdu_acks;

typedef struct wdu
{
	bool	  durable; /* opened with a consumer name */
	char	 *consumer;
	int		  silence_ms;
	wdu_state state;
	wdu_acks  acks;
	int64_t	  bus_heard_ms; /* last bus message */
	uint64_t  run;			/* BUS: the run of the bus */
	uint64_t  seq;			/* BUS: every frame up to it accounted for */

	/* PULLING: the replay page being consumed */
	nng_msg	  *rep_msg;
	wbc_replay rep;
	uint32_t   rep_next;	/* its next frame */
	uint64_t   rep_changes; /* changes in its frames so far */
} wdu;

/* What a frame received on the bus (in BUS) is. */
typedef enum wdu_bus_verdict
{
	WDU_BUS_NEXT,	 /* the next frame of the run */
	WDU_BUS_COVERED, /* at or below what the last pull gave */
	WDU_BUS_PULL	 /* a gap or a new run: a pull is due */
} wdu_bus_verdict;

/*
 * Open a durable consumer named opts->consumer: say hello (which checks
 * that the relay knows the name) and start after the resume key (opts',
 * else the relay's acked position) in PULL_NEEDED.  errbuf is written on
 * failure.  wdu_open_js: on JetStream, no hello and no pull; only the
 * worker's own position, when it gives one, drops what it applied.
 */
extern int wdu_open(walbus_client *c, const walbus_options *opts, char *errbuf,
					size_t errlen);
extern void wdu_open_js(walbus_client *c, const walbus_options *opts);
/* Send what was not (before the sockets close), then free. */
extern void wdu_flush_on_close(walbus_client *c);
extern void wdu_free(wdu *d);

/* In PULL_NEEDED or PULLING: frames come from wdu_pull. */
extern bool wdu_pulling(const walbus_client *c);

/*
 * The next frame of the pull, loaded into the cursor (*got), or the pull
 * is over (back in BUS; *got false).  WALBUS_ETIMEDOUT when the relay
 * gave nothing before deadline (the pull goes on at the next call; with
 * timeout_ms < 0 it waits without end).  The caller takes every change of
 * a frame before calling again: the frame points into the page, which the
 * next request replaces.
 */
extern int wdu_pull(walbus_client *c, int timeout_ms, int64_t deadline,
					bool *got);

/*
 * Before a bus receive: send an ack if one is due and cut *wait_ms (<0:
 * without end) so that the next ack and the silence check are on time.
 * false when the bus has been silent for silence_ms: the state is now
 * PULL_NEEDED.
 */
extern bool wdu_bus_wait(walbus_client *c, int64_t *wait_ms);

/* A durable consumer's frame just received from the bus, in BUS. */
extern wdu_bus_verdict wdu_bus_frame(walbus_client *c, const wbe_frame *fr);

/*
 * A bus frame used up: busy with bus data is not silence; its bytes go
 * (on JetStream, once the worker's ack covers what was delivered).
 */
extern void wdu_bus_frame_used(walbus_client *c);

/* The cursor delivered the change of key k / took the commit frame k. */
extern void wdu_delivered(walbus_client *c, wbc_key k);
extern void wdu_commit_taken(walbus_client *c, wbc_key k, uint64_t end_lsn);

#endif /* WALBUS_DURABLE_H */
