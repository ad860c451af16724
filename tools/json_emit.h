/*-------------------------------------------------------------------------
 *
 * json_emit.h
 *	  Write a jansson value as one line of compact JSON, with every real in
 *	  its shortest round-trip decimal form.
 *
 * jansson's own dumper prints reals with 17 significant digits, so 0.1
 * comes out as 0.10000000000000001; a tool meant for eyes and diffs needs
 * the shortest text that reads back as the same double.  Everything else
 * (string escaping, integers, literals) is left to jansson.  Objects are
 * written in insertion order.
 *
 * Errors: returns 0, or -1 when writing to the stream failed or jansson
 * ran out of memory.  No global state; thread-safe on distinct streams.
 *
 *-------------------------------------------------------------------------
 */
#ifndef JSON_EMIT_H
#define JSON_EMIT_H

#include <stdio.h>

#include <jansson.h>

extern int json_emit(FILE *out, const json_t *value);

#endif /* JSON_EMIT_H */
