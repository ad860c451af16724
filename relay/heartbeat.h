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
 * The connection is opened on first use and reopened after a failure;
 * each call blocks for at most a few seconds (connect_timeout and
 * statement_timeout), which the event loop tolerates at this period.
 * Failures are logged once per outage and never stop the relay.
 * Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_HEARTBEAT_H
#define WR_HEARTBEAT_H

#include <stdbool.h>

#include <libpq-fe.h>

#define WR_TXN_HB_PREFIX	"walbus.heartbeat"

typedef struct wr_txn_hb
{
	PGconn	   *conn;
	bool		failing;		/* the last attempt failed (logged) */
} wr_txn_hb;

/* Emit one heartbeat; false if it could not (logged). */
extern bool wr_txn_hb_emit(wr_txn_hb *h, const char *conninfo);
extern void wr_txn_hb_close(wr_txn_hb *h);

#endif							/* WR_HEARTBEAT_H */
