/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Table definitions read from PostgreSQL's catalog, for the control
 *	  socket's "schema" request when the stream has not shown a version in
 *	  this relay run.
 *
 * A relay knows the definitions the plugin sent it since it started
 * (relcache.h).  A worker may hold frames of an earlier run: JetStream
 * keeps them for as long as its limits say, and a durable worker on the
 * nng bus may look up a frame it received just before the relay
 * restarted.  While the definition is unchanged, its version is the same
 * in every run, but the new run learns it only with the table's next
 * change, which may be long in coming; until then the worker would get
 * "not_found" and could not apply the change.  So on a miss the relay
 * reads the current definitions of the tables with a single-column
 * primary key from the catalog, on a connection of its own, builds each
 * one's RELATION record as the plugin (version 2) would, and answers when
 * the version asked for is the one the catalog has now.  A version older
 * than the catalog's (the table changed since) is still not found: the
 * schema events on _schema carry those definitions (docs/SCHEMA.md).
 *
 * The definitions are kept, and read again on a miss at most every
 * WR_CATALOG_REFRESH_MS, so that a run of lookups of a version nobody
 * has costs one read.  They never feed schema events: they are a lookup
 * aid, not something the stream said.  Single-threaded (the relay's loop).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CATALOG_H
#define WR_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "relcache.h"

/* A miss reads the catalog again at most this often. */
#define WR_CATALOG_REFRESH_MS 2000

typedef struct wr_catalog
{
	wr_relcache defs;
	bool		loaded;
	int64_t		loaded_ms; /* when last read (wr_now_ms) */
	uint64_t	reads;	   /* times the catalog was read */
} wr_catalog;

extern void wr_catalog_init(wr_catalog *cat);
extern void wr_catalog_free(wr_catalog *cat);

/*
 * The definition of relid at schema_version as the catalog has it now,
 * reading the catalog over conninfo when the one read is older than
 * WR_CATALOG_REFRESH_MS and does not have it; NULL when it has not (or it
 * could not be read: logged as a warning).
 */
extern const wr_relversion *wr_catalog_version(wr_catalog *cat,
											   const char *conninfo,
											   uint32_t	   relid,
											   uint64_t	   schema_version);

#endif /* WR_CATALOG_H */
