/*-------------------------------------------------------------------------
 *
 * busrecv.h
 *	  libwalbus's bus receive: the nng sub0 socket (or, for a nats:// bus
 *	  URL, JetStream, js_source.h), one frame at a time decoded into the
 *	  cursor's frame.
 *
 * The sub0 socket subscribes to everything: filters.h says why.  A frame
 * received stays allocated until wbr_frame_done (or wbr_frame_drop for one
 * not delivered): the cursor points into it.  Waits are the caller's, in
 * milliseconds (<0: without end, 0: do not wait); what to wait for (the
 * worker's timeout, a due ack, the silence threshold) is decided above.
 * Functions return WALBUS_OK or an error code, said with walbus_fail,
 * except WALBUS_ETIMEDOUT from wbr_next, which is left for the caller to
 * say (a wait cut short for an ack is no timeout).  Single owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_BUSRECV_H
#define WALBUS_BUSRECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "walbus_client.h"
#include "walbus_control.h"

struct wjs;
struct wcc;

typedef struct wbr_bus
{
	nng_socket	sub;
	bool		sub_open;
	nng_aio	   *recv_aio; /* reused by every receive */
	nng_msg	   *msg;	  /* the frame the cursor points into */
	struct wjs *js;		  /* a JetStream bus, else NULL */
} wbr_bus;

/*
 * Open the bus of opts->bus_url: maxsz, the largest frame accepted; queue,
 * nng's receive queue in frames; timeout_ms, JetStream's request timeout.
 * errbuf is written on failure (walbus_open's convention).
 */
extern int wbr_open(wbr_bus *b, const walbus_options *opts, size_t maxsz,
					int queue, int timeout_ms, char *errbuf, size_t errlen);

/* Opened with a bus URL? */
extern bool wbr_is_open(const wbr_bus *b);

/*
 * Close the bus and free what it holds; control, when open, is closed in
 * the same bounded close (nngclose.h).
 */
extern void wbr_close(wbr_bus *b, struct wcc *control);

/*
 * Wait at most wait_ms for the next frame and decode it into c->cur.frame
 * (not yet loaded).  WALBUS_OK: *got says whether a frame came.
 * WALBUS_ETIMEDOUT: none came.  WALBUS_EPROTO: a malformed frame was
 * skipped.
 */
extern int wbr_next(walbus_client *c, int64_t wait_ms, bool *got);

/*
 * The frame last received is used up.  On JetStream, it may be
 * acknowledged once the worker's ack covers need (the last change
 * delivered, when has_need; js_source.h).
 */
extern void wbr_frame_done(wbr_bus *b, bool has_need, wbc_key need);

/* The frame last received is not to be delivered. */
extern void wbr_frame_drop(wbr_bus *b);

extern int wbr_recv_fd(walbus_client *c, int *fd);

#endif /* WALBUS_BUSRECV_H */
