/*-------------------------------------------------------------------------
 *
 * backfill.h
 *	  Backfills: reading a table's existing rows into the stream while it
 *	  flows, by watermarks (docs/BACKFILL.md).
 *
 * A backfill reads its table chunk by chunk, each a range of heap blocks
 * (a TID range scan: no sort, no index), up to the size the table had when
 * the backfill started; a row an update moves between blocks is in the
 * stream anyway, and a rewrite (new files) starts the backfill over.  Per
 * chunk, on an ordinary connection of its own:
 *
 *	 1. a low watermark: pg_logical_emit_message(true, 'walbus.wm', 'L ...')
 *	 2. the chunk: every published column of each row, encoded by the
 *		plugin's own code (SQL function walbus_row), with the table's
 *		RELATION record as of the same snapshot (walbus_relation)
 *	 3. a high watermark: 'H ...'
 *
 * Both watermarks come back through our own slot, in commit order with
 * the table's changes.  Between them, every key a change of the table
 * touches is dropped from the chunk: the stream carries a newer state of
 * that row.  When the high watermark arrives, what is left of the chunk is
 * published as 'R' (read) changes of the high watermark's transaction, so
 * each read has a key (commit_lsn, pos) like any change, after every
 * change the read could have seen and before every change it could not:
 * a consumer that applies in order never applies a stale read over a
 * newer change.  A truncate or a definition change of the table between
 * the watermarks makes the chunk be read again.
 *
 * Commit order in the WAL is not visibility order: a transaction becomes
 * visible a moment after its commit record is written (longer under
 * synchronous replication), so one whose commit precedes the low
 * watermark in the stream may still be invisible to the chunk's read.  The
 * read's statement therefore also returns its snapshot
 * (pg_current_snapshot()), the relay remembers which transaction last
 * changed each key while the backfill runs, and a row whose last change is
 * by a transaction invisible to the read is dropped as well.  A transaction
 * invisible to the read whose commit the stream brought before the low
 * watermark but before the backfill began (its keys unknown) makes the
 * chunk be read again, a little later, once it is visible.
 *
 * Progress (the first block after the chunks whose high watermark
 * PostgreSQL has been told is flushed, i.e. what every durable consumer
 * acknowledged) is written to the state directory after each such chunk;
 * a restarted relay,
 * or one that rewinds its stream, resumes from there and reads again the
 * chunks after it.  Reading a chunk twice is harmless: a read is the row's
 * state at its position in the stream.
 *
 * Chunks adapt their size to take about WR_BF_TARGET_MS to read and stay
 * under WR_BF_MAX_CHUNK_BYTES; two chunk buffers at most, so the relay's
 * memory does not grow with the table.  Reads do not block the loop.  One
 * backfill runs at a time; others queue.
 * Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_BACKFILL_H
#define WR_BACKFILL_H

#include <stdbool.h>
#include <stdint.h>

#include "walbus_control.h"
#include "walbus_proto.h"

struct wr_relay;
struct wr_bf;

#define WR_BF_WM_PREFIX		  "walbus.wm"
#define WR_BF_TARGET_MS		  200
#define WR_BF_MAX_CHUNK_BYTES (8 * 1024 * 1024)

/* Commits the stream brought, the last WR_BF_COMMITS of them (backfill.c). */
#define WR_BF_COMMITS 65536

typedef struct wr_backfills
{
	struct wr_bf *head;		  /* the running one, then the queue */
	uint32_t	 *commit_xid; /* ring: xid of commit number n at
							   * n % WR_BF_COMMITS; NULL until needed */
	uint64_t	  ncommits;	  /* commits seen by this process */
	void		 *conn;		  /* PGconn of the reads and watermarks */
	void		 *lookup;	  /* PGconn of a request's lookups */
	bool		  failing;	  /* the connection failed: wait */
	int64_t		  retry_at;	  /* ... until then (wr_now_ms) */
	uint64_t	  last_id;
	uint64_t	  rows; /* read rows published, all backfills */
	uint64_t	  started;
	uint64_t	  done;
	char		  state_path[4096]; /* "" without a state directory */
} wr_backfills;

/* Load the saved progress (cfg->state_dir); false after logging why. */
extern bool wr_backfills_init(struct wr_relay *r);
extern void wr_backfills_free(wr_backfills *b);

/*
 * A backfill of schema.table, asked by a control request or the initial
 * load: checks the table (eligible for the relay's role, has a key) and
 * queues it.  On success fills *out and returns true; else writes a code
 * (WBC_ERR_*) and a message and returns false.
 */
extern bool wr_backfill_request(struct wr_relay *r, const char *schema,
								size_t schema_len, const char *table,
								size_t table_len, wbc_backfill *out,
								char *topic_buf, size_t topic_cap,
								const char **code, char *msg, size_t msglen);

/* Queue every eligible table (initial load); false after logging why. */
extern bool wr_backfill_all(struct wr_relay *r);

/* Is there a chunk to read now? (the loop asks when it is idle) */
extern bool wr_backfill_due(const struct wr_relay *r);

/*
 * Start reading the next chunk: its low watermark (a quick statement),
 * then its rows, asked for without waiting.  The loop polls
 * wr_backfill_socket (-1: nothing to wait for) and calls wr_backfill_io
 * when it is readable; the rows arrive there, and the chunk's high
 * watermark is written then.  The next chunk is read while the stream
 * brings the previous one's watermarks.
 */
extern void wr_backfill_step(struct wr_relay *r);
extern int	wr_backfill_socket(const struct wr_relay *r);
extern void wr_backfill_io(struct wr_relay *r);

/*
 * From the record handler, in the open transaction (never a skipped one):
 * a 'walbus.wm' message (consumed: never published), a change of relid
 * (its key bytes, and the old key's when the key changed), a truncate or
 * a definition change of relid.
 */
extern void wr_backfill_watermark(struct wr_relay *r, wb_str content);
extern void wr_backfill_change(struct wr_relay *r, uint32_t relid, wb_str key,
							   wb_str old_key);
extern void wr_backfill_invalidate(struct wr_relay *r, uint32_t relid);
/* A transaction's commit came through the stream (published or not). */
extern void wr_backfill_commit(struct wr_relay *r, uint32_t xid);

/* When the loop must look at backfills again at the latest (wr_now_ms). */
extern int64_t wr_backfill_wake(const struct wr_relay *r);

/* Is relid's backfill running, so that its changes' keys are wanted? */
extern bool wr_backfill_watching(const struct wr_relay *r, uint32_t relid);

/* PostgreSQL was told everything up to flushed is durable: save progress. */
extern void wr_backfill_confirmed(struct wr_relay *r, uint64_t flushed);

/* The stream starts again (reconnect, rewind): back to saved progress. */
extern void wr_backfill_restart(struct wr_relay *r);

#endif /* WR_BACKFILL_H */
