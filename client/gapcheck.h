/*-------------------------------------------------------------------------
 *
 * gapcheck.h
 *	  Loss detection for libwalbus from the frame sequence numbers
 *	  (docs/PROTOCOL.md Part 2, "Gap detection").
 *
 * Every frame the client receives goes through wgc_check once, when it is
 * received, including frames it does not deliver; the rules count frames
 * (bus messages), never the changes inside them.  Within a relay run, a
 * topic's tseq must grow by one; a commit frame on _txn proves, for each
 * topic it lists that the client receives, how many frames the
 * transaction published there and the last tseq; a heartbeat proves the
 * last _txn tseq (the first heartbeat is the starting point when no _txn
 * frame was received yet).  Transactions that began before the client
 * joined the run are not judged.  wgc_check returns the number of frames
 * proven lost (0: none) and describes the first loss in msg.
 *
 * Memory: one small entry per topic seen in the current run.  Single
 * owner; no global state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_GAPCHECK_H
#define WALBUS_GAPCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "hashmap.h"
#include "walbus_envelope.h"

/* Does the client receive this topic at all (its nng subscriptions)? */
typedef bool (*wgc_receives_fn)(void *arg, const char *topic, size_t len);

typedef struct wgc
{
	bool	 have_run;
	uint64_t run;
	uint64_t joined_seq; /* first seq received in this run */
	whm		 topics;	 /* topic -> wgc_topic */
	char	 msg[256];
} wgc;

extern void wgc_init(wgc *g);
extern void wgc_free(wgc *g);
/* Forget everything: the next frame starts a new observation. */
extern void		wgc_reset(wgc *g);
extern uint64_t wgc_check(wgc *g, const wbe_frame *fr,
						  wgc_receives_fn receives, void *arg);

#endif /* WALBUS_GAPCHECK_H */
