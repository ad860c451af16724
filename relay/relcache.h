/*-------------------------------------------------------------------------
 *
 * relcache.h
 *	  The relay's relation cache: the RELATION records the plugin sent,
 *	  each definition identified by a schema version.
 *
 * A schema version is a 53-bit hash of everything a RELATION record says
 * (common/schema_version.h), so the same definition has the same version
 * in every relay process and after restarts, and JSON consumers can hold
 * it exactly.  Every version seen is kept so that the control socket's
 * "schema" request can answer for frames published before a DDL change;
 * their number grows with DDL, not with traffic.
 *
 * Functions return NULL when out of memory or not found.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_RELCACHE_H
#define WR_RELCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "hashmap.h"
#include "walbus_control.h"
#include "walbus_proto.h"

struct wr_topic;

typedef struct wr_column
{
	char	*name;
	uint32_t typoid;
	int32_t	 typmod;
	char	*typname;
	int32_t	 attnum; /* 0 from a version 1 plugin */
} wr_column;

/* One definition of a relation. */
typedef struct wr_relversion
{
	uint32_t			  relid;
	uint64_t			  schema_version;
	char				 *schema;
	char				 *table;
	uint32_t			  schema_oid; /* 0 from a version 1 plugin */
	uint32_t			  key_index;
	uint32_t			  ncolumns;
	wr_column			 *columns;
	wbc_schema			  def;	 /* the same, as the control and schema event
								  * encoders take it (points into the above) */
	struct wr_relversion *older; /* previous definitions, newest first */
} wr_relversion;

typedef struct wr_rel
{
	uint32_t		 relid;
	wr_relversion	*current; /* what changes refer to now */
	struct wr_topic *topic;	  /* publisher's counter for its topic */

	/*
	 * What the _schema topic last said about the relation in this run
	 * (schema_events.c): the definition announced (NULL: none yet), and
	 * whether a withdrawal (no longer eligible, or dropped) came after it.
	 */
	const wr_relversion *announced;
	bool				 withdrawn;
} wr_rel;

typedef struct wr_relcache
{
	whm rels; /* relid -> wr_rel */
} wr_relcache;

extern void wr_relcache_init(wr_relcache *rc);
extern void wr_relcache_free(wr_relcache *rc);

/*
 * Record a RELATION.  Returns the relation with current set to this
 * definition; *changed tells whether current differs from before (then
 * the caller refreshes the topic).
 */
extern wr_rel *wr_relcache_update(wr_relcache *rc, const wb_record *rec,
								  bool *changed);
extern wr_rel *wr_relcache_get(const wr_relcache *rc, uint32_t relid);
extern const wr_relversion *wr_relcache_version(const wr_relcache *rc,
												uint32_t		   relid,
												uint64_t schema_version);

#endif /* WR_RELCACHE_H */
