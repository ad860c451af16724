/*-------------------------------------------------------------------------
 *
 * heartbeat.h
 *	  The transactional heartbeat: a pg_logical_emit_message(true, ...) on
 *	  an ordinary connection every txn_heartbeat_interval.
 *
 * Why: while only ineligible tables (or other databases) are written, the
 * relay receives no transaction, so durable consumers have nothing to
 * acknowledge and the slot cannot pass the WAL the server keeps writing.
 * A heartbeat transaction flows through the plugin like any other (topic
 * "_msg.walbus.heartbeat" and a _txn frame), consumers acknowledge it,
 * and the slot advances.
 *
 * Nothing here blocks: the relay's loop is single-threaded and streams
 * while a heartbeat connects or runs.  wr_txn_hb_start begins one
 * (connecting first when there is no connection, with libpq's
 * asynchronous API); the loop polls wr_txn_hb_socket for the events it
 * returns and calls wr_txn_hb_io when they come, and wakes by
 * wr_txn_hb_deadline, when wr_txn_hb_io gives up on a heartbeat that
 * takes too long.  A host name in the conninfo is still resolved
 * synchronously by libpq (give hostaddr to avoid it).  Failures are
 * logged once per outage, close the connection (the next heartbeat
 * connects again) and never stop the relay.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_HEARTBEAT_H
#define WR_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#define WR_TXN_HB_PREFIX "walbus.heartbeat"

/* how long one heartbeat may take, connecting included */
#define WR_TXN_HB_TIMEOUT_MS 10000

typedef enum wr_txn_hb_state
{
	WR_TXN_HB_IDLE,		  /* no heartbeat under way */
	WR_TXN_HB_CONNECTING, /* PQconnectPoll until CONNECTION_OK */
	WR_TXN_HB_RUNNING	  /* the statement sent, its result awaited */
} wr_txn_hb_state;

typedef struct wr_txn_hb
{
	PGconn					 *conn; /* NULL: connect at the next start */
	wr_txn_hb_state			  state;
	PostgresPollingStatusType polling; /* CONNECTING: what libpq waits for */
	int64_t	 deadline_ms; /* give up on the heartbeat under way then */
	bool	 failing;	  /* the last attempt failed (logged) */
	uint64_t emitted;	  /* heartbeats committed */
	uint64_t failed;	  /* heartbeats given up on */
} wr_txn_hb;

/* Begin a heartbeat unless one is under way; false if it failed at once. */
extern bool wr_txn_hb_start(wr_txn_hb *h, const char *conninfo,
							int64_t now_ms);

/* The socket to poll and its events (POLLIN/POLLOUT), or -1: none. */
extern int wr_txn_hb_socket(const wr_txn_hb *h, short *events);

/*
 * Advance the heartbeat under way: after its socket's events, or at its
 * deadline (then it is given up on).  True when one was just committed.
 */
extern bool wr_txn_hb_io(wr_txn_hb *h, int64_t now_ms);

/* When wr_txn_hb_io must run even without events; INT64_MAX: never. */
extern int64_t wr_txn_hb_deadline(const wr_txn_hb *h);

extern void wr_txn_hb_close(wr_txn_hb *h);

#endif /* WR_HEARTBEAT_H */
