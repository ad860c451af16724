/*-------------------------------------------------------------------------
 *
 * requests.h
 *	  What control requests ask of the relay's loop, recorded where they
 *	  are answered (control.c) and acted on at one point of each turn of
 *	  the loop (wr_apply_requests, stream.h).
 *
 * A control handler never changes the loop's state itself: it records
 * here that the flush position may move (an ack) or that the stream must
 * restart at the slot (a rewind, with its reason), and answers as the
 * loop will act.  Recording merges: of several acks the highest lowest
 * end counts, since the flush policy only moves forward; of several
 * rewinds the first reason is kept, since one rewind serves them all.  A
 * rewind stays recorded until the rewind itself (wr_rewind) clears it,
 * so that a connection lost before the loop could act does not lose it.
 * No failure modes.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_REQUESTS_H
#define WR_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_REASON_MAX 256

typedef struct wr_requests
{
	bool	 acked;			/* an ack since the loop last looked */
	uint64_t min_acked_end; /* lowest end LSN every consumer acked */
	bool	 rewind;		/* restart the stream at the slot */
	char	 rewind_reason[WR_REASON_MAX]; /* why: logged by the rewind */
} wr_requests;

/* The lowest end LSN every durable consumer has acknowledged, after an ack. */
extern void wr_requests_ack(wr_requests *q, uint64_t min_acked_end);

/*
 * Ask for a rewind.  True when none was pending (the reason is then the
 * one recorded): the caller counts it once.
 */
extern bool wr_requests_rewind(wr_requests *q, const char *reason);

/* The acks recorded, forgotten once taken: false when there were none. */
extern bool wr_requests_take_ack(wr_requests *q, uint64_t *min_acked_end);

/* The rewind recorded, forgotten once taken: false when none was. */
extern bool wr_requests_take_rewind(wr_requests *q, char *reason, size_t len);

#endif /* WR_REQUESTS_H */
