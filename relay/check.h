/*-------------------------------------------------------------------------
 *
 * check.h
 *	  walbus-relay check: a preflight report of everything the relay needs
 *	  from the server, the role and the slot, each with the exact fix.
 *
 * It connects like the relay (the same --dbname, --slot, --create-slot,
 * --lag-limit) and reports items, each ok, warning or error with a detail
 * and, unless ok, the fix: the server version and output_plugin_libraries,
 * wal_level, the role's REPLICATION attribute, slot and walsender
 * headroom, a replication connection actually opened (replication=
 * database, as the relay opens it), the slot (plugin, activity, lag,
 * wal_status), and each table's eligibility with the plugin's reason, from
 * the walbus extension's walbus_tables view (without the extension no
 * table is listed: its rules are the plugin's C code).
 *
 * Read only: one ordinary session in read-only transactions and one
 * replication connection that runs nothing; both are closed before it
 * returns, and nothing is created.  A connection failure is an error item
 * with libpq's message.  Output on stdout: one line per item and a summary,
 * or with json one JSON object (items, tables, summary).
 *
 * Returns the process's exit code: 0 all ok, 1 warnings, 2 errors.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CHECK_H
#define WR_CHECK_H

#include <stdbool.h>

#include "config.h"

#define WR_CHECK_EXIT_OK	  0
#define WR_CHECK_EXIT_WARNING 1
#define WR_CHECK_EXIT_ERROR	  2

extern int wr_check(const wr_config *cfg, bool json);

#endif /* WR_CHECK_H */
