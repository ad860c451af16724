/*-------------------------------------------------------------------------
 *
 * dump_format.h
 *	  Turn decoded walbus records into the JSON objects walbus-dump prints.
 *
 * A formatter owns the stream's state: the latest RELATION seen for each
 * relid, so that changes can be printed with table and column names.  The
 * JSON layout (keys in docs/PROTOCOL.md's field order, "kind" first, which
 * fields --stable leaves out) is described in tools/README.md.
 *
 * Errors: dump_format_record returns NULL only when memory ran out.  A record
 * that decodes but breaks the stream's rules (a change for a relid with no
 * RELATION yet, a value count that does not match the RELATION, column names
 * that cannot be keys of one JSON object) is still rendered, as well as it
 * can be, and the problem is described in the caller's warning buffer.
 *
 * Not thread-safe: a formatter belongs to one stream.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DUMP_FORMAT_H
#define DUMP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "walbus_proto.h"

typedef struct dump_formatter dump_formatter;

extern dump_formatter *dump_formatter_create(bool stable);
extern void			   dump_formatter_free(dump_formatter *f);

/*
 * Render rec as a new JSON object (the caller decrefs it) and, for a
 * RELATION, remember it.  warning[0] is set to '\0' when the record is
 * consistent with the stream so far, else to a one-line explanation.
 */
extern json_t *dump_format_record(dump_formatter *f, const wb_record *rec,
								  char *warning, size_t warning_size);

#endif /* DUMP_FORMAT_H */
