/*-------------------------------------------------------------------------
 *
 * trigger_admin.h
 *	  walbus-relay trigger-install and trigger-remove: what the trigger
 *	  source needs in the database (docs/TRIGGER.md).
 *
 * Both connect with the relay's --dbname as an ordinary session and work
 * as the connecting role, which needs no superuser, no REPLICATION
 * attribute and no extension: only CREATE on the database (or an empty
 * schema walbus_trigger made for it) and ownership of the tables, the same
 * ownership the eligibility rules ask for.
 *
 * trigger-install creates schema walbus_trigger when it is missing, fills
 * it (trigger_source.sql, compiled in) unless it holds it already, then
 * gives every eligible table its triggers and takes them off tables no
 * longer eligible, all in one transaction; it prints one line per table
 * ("public.contacts: attached", "public.notes: skipped: no primary key").
 * Running it again is how new and changed tables are taken into account.
 * trigger-remove takes every trigger of ours off every table and drops the
 * schema; it says how many events the queue still held.
 *
 * Each returns the process's exit code: 0, 1 when the database refused
 * (after printing why and what to do).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_TRIGGER_ADMIN_H
#define WR_TRIGGER_ADMIN_H

#include "config.h"

#define WR_TRIGGER_SCHEMA  "walbus_trigger"
#define WR_TRIGGER_VERSION "walbus trigger source, version 2"

extern int wr_trigger_install(const wr_config *cfg);
extern int wr_trigger_remove(const wr_config *cfg);

#endif /* WR_TRIGGER_ADMIN_H */
