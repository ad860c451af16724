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
	WR_STREAM_STOPPED, /* stop requested; final status sent */
	WR_STREAM_LOST,	   /* connection lost; r->pg.errmsg says why */
	WR_STREAM_FAILED,  /* protocol error, already logged */
	WR_STREAM_REWIND   /* a rewind is recorded (requests.h): call
						* wr_rewind and restart streaming at once */
} wr_stream_rc;

extern wr_stream_rc wr_stream(wr_relay *r);

/*
 * The parts of the loop the trigger source (tsource.h) shares: a heartbeat
 * on the bus; the window's flow control (true: stop reading, the window is
 * full of what a durable consumer has not acknowledged); one poll of a
 * socket (pgfd, -1 for none: then the result is always true) and the
 * control socket for at most timeout_ms, answering control requests.
 */
extern void wr_heartbeat(wr_relay *r);
extern bool wr_window_pressure(wr_relay *r, int64_t now);
extern bool wr_poll(wr_relay *r, int pgfd, int timeout_ms);

/*
 * Control requests, at the one point of a turn of the loop where they act
 * (requests.h): acks move the flush position; true when a rewind is
 * recorded, which stays recorded until wr_rewind.
 */
extern bool wr_apply_requests(wr_relay *r);

/*
 * The rewind's bookkeeping, once the source has stopped reading: log the
 * recorded reason, count it, and forget what was published since the
 * stream last started at the source's oldest position (the window, the
 * last transaction published, a pause).  The caller then restarts its
 * source there and undoes the schema announcements made since
 * (wr_schema_undo).  Does nothing when no rewind is recorded.
 */
extern void wr_rewind(wr_relay *r);

/* Wait timeout_ms serving control requests; false when asked to stop. */
extern bool wr_stream_idle(wr_relay *r, int timeout_ms);

#endif /* WR_STREAM_H */
