/*-------------------------------------------------------------------------
 *
 * stream.h
 *	  The relay's event loop: one thread polling the libpq socket and the
 *	  control socket, reading CopyData without blocking, answering
 *	  keepalives, sending standby status updates on an interval and
 *	  heartbeats on the bus.
 *
 * wr_stream runs while a connection streams and says how it ended; the
 * caller (main.c) decides about reconnecting.  wr_stream_idle waits while
 * still answering control requests, for the reconnect backoff.
 * Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_STREAM_H
#define WR_STREAM_H

#include <stdbool.h>

#include "relay.h"

typedef enum wr_stream_rc
{
	WR_STREAM_STOPPED,			/* stop requested; final status sent */
	WR_STREAM_LOST,				/* connection lost; r->pg.errmsg says why */
	WR_STREAM_FAILED,			/* protocol error, already logged */
	WR_STREAM_REWIND			/* a durable consumer needs a replay from
								 * the slot: restart streaming at once */
} wr_stream_rc;

extern wr_stream_rc wr_stream(wr_relay *r);

/* Wait timeout_ms serving control requests; false when asked to stop. */
extern bool wr_stream_idle(wr_relay *r, int timeout_ms);

#endif							/* WR_STREAM_H */
