/*-------------------------------------------------------------------------
 *
 * window.h
 *	  The replay window: copies of the most recent transactional bus
 *	  messages, kept in memory so that a subscriber that missed some can
 *	  pull them again with the control socket's "replay" (docs/DELIVERY.md).
 *
 * Entries are whole bus messages (topic, NUL, frame) in publishing
 * order, each keyed by the (commit_lsn, pos) of its last change, pos
 * WBC_POS_COMMIT for a _txn frame; keys strictly increase, so lookups are
 * binary searches (a frame whose last key is above K may hold changes at
 * or below K: whoever replays it drops those).
 * Heartbeats and non-transactional messages are not kept: nobody replays
 * them.
 *
 * Memory is bounded by limit, except that wr_window_trim keeps what a
 * durable consumer still needs (the "hold" key): the caller stops reading
 * from PostgreSQL while wr_window_full says so, which is how a slow
 * durable consumer holds the stream back by at most the window.
 *
 * The window covers a key K when every message after K that the relay
 * published since its stream last started at the slot's confirmed
 * position is still in it: always until the first eviction, then for
 * keys at or after the last evicted one.
 *
 * Single-threaded.  Functions that allocate return false when out of
 * memory, with the window unchanged.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_WINDOW_H
#define WR_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walbus_control.h"

/* Keys are the control protocol's (commit_lsn, pos). */
typedef wbc_key wr_wkey;

typedef struct wr_wentry
{
	wr_wkey	 key;
	uint64_t seq; /* the message's global sequence number */
	uint32_t len;
	char	 data[]; /* topic, NUL, frame */
} wr_wentry;

typedef struct wr_window
{
	wr_wentry **ring; /* cap slots, count used from head */
	size_t		cap;
	size_t		head;
	size_t		count;
	uint64_t	bytes; /* sum of len of the entries */
	uint64_t	limit;
	bool		from_start; /* nothing evicted since the last reset */
	wr_wkey		floor;		/* key of the last evicted entry */
	uint64_t	evicted;	/* counters for status */
} wr_window;

#define wr_wkey_cmp wbc_key_cmp

extern void wr_window_init(wr_window *w, uint64_t limit);
extern void wr_window_free(wr_window *w);
/* Forget everything: the stream restarts at the slot's confirmed position. */
extern void wr_window_reset(wr_window *w);

/*
 * Keep a copy of a published message.  A key not above the newest one is
 * a transaction sent again after a reconnect: it is in the window already
 * (or was evicted), so it is ignored and true returned.
 */
extern bool wr_window_add(wr_window *w, wr_wkey key, uint64_t seq,
						  const void *data, size_t len);

/*
 * After a failed wr_window_add: forget everything up to and including key,
 * so that nobody is ever served a window with a hole in it (they get a
 * rewind instead).
 */
extern void wr_window_drop_through(wr_window *w, wr_wkey key);

/* Evict the oldest entries while over the limit and not above hold. */
extern void wr_window_trim(wr_window *w, wr_wkey hold);

/* Over the limit even after trimming: stop reading new changes. */
static inline bool
wr_window_full(const wr_window *w)
{
	return w->bytes > w->limit;
}

extern bool wr_window_covers(const wr_window *w, wr_wkey after);

/* Index of the first entry whose key is above after (count if none). */
extern size_t wr_window_find(const wr_window *w, wr_wkey after);

static inline const wr_wentry *
wr_window_at(const wr_window *w, size_t i)
{
	return w->ring[(w->head + i) % w->cap];
}

/*
 * One page of a replay: the entries after a key that a subscriber's
 * subscriptions select (wr_wselect), in order, up to a byte budget.  A
 * page holds at least one selected entry when there is one, however
 * large: a replay must always make progress.
 */
typedef bool (*wr_wselect)(const wr_wentry *m, void *arg);

typedef struct wr_wpage
{
	size_t	 first; /* index of the first entry after the key */
	size_t	 last;	/* index of the last selected one (n > 0) */
	uint32_t n;		/* selected entries in [first, last] */
	uint64_t bytes; /* their sum of len */
	bool	 end;	/* no selected entry is left after last */
} wr_wpage;

extern void wr_window_page(const wr_window *w, wr_wkey after, uint64_t budget,
						   wr_wselect select, void *arg, wr_wpage *page);

#endif /* WR_WINDOW_H */
