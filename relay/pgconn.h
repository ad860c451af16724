/*-------------------------------------------------------------------------
 *
 * pgconn.h
 *	  The relay's PostgreSQL side: a replication=database libpq
 *	  connection, the preflight checks that turn misconfiguration into one
 *	  clear line, the slot, START_REPLICATION, and the CopyBoth transport
 *	  (reading and sending CopyData; the messages' layout is walproto.h's).
 *
 * Functions that can fail return a wr_pg_rc and leave a one-line message
 * in pg->errmsg: WR_PG_RETRY for what a later attempt may cure (server
 * down or restarting, network, slot still held by our previous
 * walsender), WR_PG_FATAL for what needs a human (the message then names
 * the fix).  On the first connection every failure is fatal: a relay
 * that cannot start should say so rather than loop.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_PGCONN_H
#define WR_PGCONN_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "config.h"

#define WR_LSN_FMT		 "%X/%X"
#define WR_LSN_ARGS(lsn) (unsigned) ((lsn) >> 32), (unsigned) (lsn)

typedef enum wr_pg_rc
{
	WR_PG_OK,
	WR_PG_RETRY,
	WR_PG_FATAL
} wr_pg_rc;

typedef struct wr_pg
{
	PGconn	*conn;
	uint64_t slot_confirmed; /* slot's confirmed_flush_lsn at connect */
	bool	 slot_missing;	 /* to be created by wr_pg_create_slot */
	char	 errmsg[1024];
} wr_pg;

/*
 * Connect, check the server and the slot.  A missing slot is an error,
 * except on the first connection with create_slot: then slot_missing is
 * set and the caller creates it with wr_pg_create_slot once everything
 * else is ready, so that a relay that cannot start leaves no slot behind
 * (an unused slot keeps WAL forever).  It is never recreated on a
 * reconnect: that would skip every change since it disappeared.
 */
extern wr_pg_rc wr_pg_connect(wr_pg *pg, const wr_config *cfg, bool first);
extern wr_pg_rc wr_pg_create_slot(wr_pg *pg, const wr_config *cfg);

/*
 * The settings the text of values depends on (docs/PROTOCOL.md §5), the
 * same on the replication connection, where the plugin encodes changes,
 * and on the backfill connection, where walbus_row encodes rows read.
 */
#define WR_PG_SESSION_SETTINGS \
	"SET datestyle = 'ISO'; SET intervalstyle = 'postgres'; " \
	"SET extra_float_digits = 3"
extern bool wr_pg_session_settings(PGconn *conn);

/*
 * An ordinary session for the relay's own statements (backfills, the
 * trigger source and its commands): the user's conninfo as it is (its
 * options and the PG* environment too), named appname, giving up on
 * connecting after 10 s.  The caller checks PQstatus; NULL: out of memory.
 */
extern PGconn *wr_pg_session(const char *conninfo, const char *appname);

/*
 * One statement with text results: NULL, with libpq's message as one line
 * in err, unless it returned want.
 */
extern PGresult *wr_pg_exec(PGconn *conn, const char *sql, int nparams,
							const char *const *params, ExecStatusType want,
							char *err, size_t errlen);
/*
 * output_plugin_libraries, a list setting: whether list names elem, and
 * list with elem added as ALTER SYSTEM takes it (elements unquoted unless
 * they must be: a quoted whole would become one element).
 */
extern bool wr_pg_list_has(const char *list, const char *elem);
extern void wr_pg_list_add(const char *list, const char *elem, char *buf,
						   size_t cap);

/* START_REPLICATION from the slot's confirmed position. */
extern wr_pg_rc wr_pg_start(wr_pg *pg, const wr_config *cfg, bool first);

static inline int
wr_pg_socket(const wr_pg *pg)
{
	return PQsocket(pg->conn);
}

/*
 * Next CopyData message without blocking: its length (> 0) with *buf to
 * free with PQfreemem, 0 when none is ready (poll the socket, then call
 * wr_pg_consume), -1 when the stream ended (message in errmsg).
 */
extern int	wr_pg_read(wr_pg *pg, char **buf);
extern bool wr_pg_consume(wr_pg *pg);

/*
 * Send a standby status update ('r', built by walproto.c): received,
 * flushed, and applied (reported as flushed: nothing is applied here).
 */
extern bool wr_pg_send_status(wr_pg *pg, uint64_t write_lsn,
							  uint64_t flush_lsn, bool reply_requested);

/* End streaming politely (CopyDone), waiting at most timeout_ms. */
extern void wr_pg_stop(wr_pg *pg, int timeout_ms);
extern void wr_pg_close(wr_pg *pg);

/* PostgreSQL's time: microseconds since 2000-01-01 UTC. */
extern int64_t wr_pg_now(void);

#endif /* WR_PGCONN_H */
