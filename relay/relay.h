/*-------------------------------------------------------------------------
 *
 * relay.h
 *	  The state of one walbus-relay process, shared by its event loop
 *	  (stream.c), the record handler (records.c), the control socket
 *	  (control.c) and main.c.
 *
 * There is exactly one wr_relay, owned by main.  Global options live in
 * cfg; the only other global is the stop flag set by signal handlers.
 * Single-threaded: everything runs in the poll loop.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_RELAY_H
#define WR_RELAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "backfill.h"
#include "clock.h"
#include "config.h"
#include "confirm.h"
#include "consumers.h"
#include "control.h"
#include "heartbeat.h"
#include "jetstream.h"
#include "pgconn.h"
#include "publisher.h"
#include "catalog.h"
#include "relcache.h"
#include "requests.h"
#include "walbus_envelope.h"
#include "walbus_proto.h"
#include "window.h"

/* Set by the SIGTERM/SIGINT handler; the loop stops at its next turn. */
extern volatile sig_atomic_t wr_stop_requested;

/* What the relay is doing, as the status request reports it. */
typedef enum wr_state
{
	WR_STATE_CONNECTING,
	WR_STATE_STREAMING,
	WR_STATE_WAITING /* backing off before reconnecting */
} wr_state;

typedef struct wr_stats
{
	uint64_t transactions;
	uint64_t changes;
	uint64_t messages;
	uint64_t heartbeats;
	uint64_t reconnects;
	uint64_t control_requests;
	uint64_t control_refusals; /* refused by control_allow (authz.h) */
	uint64_t rewinds;
	uint64_t replays;
	uint64_t txn_heartbeats;
	uint64_t schema_events;
} wr_stats;

/* One change of a table's announcement state (schema_events.c). */
typedef struct wr_schema_undo_entry
{
	uint64_t commit_lsn; /* of the transaction that made it */
	uint32_t relid;
	const struct wr_relversion *announced; /* the state before it */
	bool						withdrawn;
} wr_schema_undo_entry;

typedef struct wr_schema_log
{
	wr_schema_undo_entry *e;
	uint32_t			  n;
	uint32_t			  cap;
} wr_schema_log;

typedef struct wr_relay
{
	const wr_config *cfg;
	wr_pg			 pg;
	wr_publisher	 pub;
	wr_js			 js; /* JetStream, a second bus (jetstream.h) */
	wr_relcache		 rels;
	wr_catalog		 catalog;	 /* definitions from the catalog (catalog.h) */
	wr_schema_log	 schema_log; /* to undo announcements (schema_events.c) */
	wr_confirm		 confirm;
	wr_control		 ctl;
	wr_window		 window;	 /* recent messages for replays */
	wr_consumers	 consumers;	 /* durable consumers and their acks */
	wr_txn_hb		 txn_hb;	 /* transactional heartbeat connection */
	wr_backfills	 backfills;	 /* tables being read into the stream */
	struct wr_metrics *metrics;	 /* the Prometheus endpoint; NULL: none */
	wr_requests		   requests; /* recorded by control requests, applied
								  * by the loop (requests.h) */
	bool			   paused;	 /* the window is full of unacked messages */
	wb_dec			   dec;
	wr_state		   state;
	int64_t			   started_ms;

	/* positions */
	uint64_t confirmed_lsn; /* slot's position when streaming began */
	uint64_t received_lsn;	/* start of the last record received */
	uint64_t server_lsn;	/* server's WAL end, as last reported */

	/* the transaction being relayed */
	bool	 in_txn;
	bool	 skip_txn; /* already published before a reconnect */
	wbe_txn	 txn;
	uint32_t txn_items;		  /* plugin items (changes, messages,
							   * withdrawals) of it so far: k */
	uint32_t txn_pos;		  /* highest pos published in it */
	uint64_t last_commit_lsn; /* last transaction fully published */

	wr_stats stats;
} wr_relay;

/*
 * Positions in a transaction (docs/PROTOCOL.md §E4.2).  The k-th item the
 * plugin sent in the transaction (a change, per table of a TRUNCATE, a
 * message, a withdrawal) has pos 2k, and what the relay publishes of its
 * own before it (a schema event) has 2k - 1: the keys of the plugin's
 * items then never depend on what the relay knew when it published them,
 * so every publication of a transaction (after a reconnect, a rewind, a
 * restart) gives each the same key.
 */
static inline uint32_t
wr_pos_item(wr_relay *r)
{
	r->txn_items++;
	r->txn_pos = 2 * r->txn_items;
	return r->txn_pos;
}

/* The pos of something published just before the next item. */
static inline uint32_t
wr_pos_before_item(wr_relay *r)
{
	r->txn_pos = 2 * r->txn_items + 1;
	return r->txn_pos;
}

/*
 * Milliseconds on the monotonic clock (common/clock.h), under the name the
 * relay's modules use.
 */
static inline int64_t
wr_now_ms(void)
{
	return wclock_now_ms();
}

/*
 * Delay before reconnect attempt n (from 0): doubling up to
 * reconnect_max_delay, jittered (main.c).
 */
extern int wr_backoff_ms(const wr_config *cfg, int attempt);

#endif /* WR_RELAY_H */
