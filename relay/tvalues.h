/*-------------------------------------------------------------------------
 *
 * tvalues.h
 *	  The trigger source's values: a row's record text, as the capture
 *	  function queues it (NEW::text with DateStyle ISO, IntervalStyle
 *	  postgres, extra_float_digits 3, bytea_output hex), split into fields
 *	  and encoded as the plugin encodes the same values (docs/PROTOCOL.md
 *	  §5), so that both sources publish equal values.
 *
 * wr_tv_split parses "(f1,f2,...)" as record_out writes it: a field is
 * empty for NULL, bare, or double-quoted with "" and \\ for a quote and a
 * backslash; the unquoted text of each field goes into out->buf.
 * wr_tv_encode writes one field's value for a column of base type typoid:
 * int2/int4/int8/oid as int, bool, float4/float8 (NaN, Infinity) as floats,
 * bytea as bin, timestamp and timestamptz as timestamps (infinity and
 * -infinity as the strings), everything else (numeric, text, json, the
 * output of other types) as the string itself.  Both return false on text
 * they cannot read, with a message in err.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_TVALUES_H
#define WR_TVALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walbus_proto.h"

typedef struct wr_tv_field
{
	bool   null;
	size_t off; /* in buf */
	size_t len;
} wr_tv_field;

typedef struct wr_tv_row
{
	char		*buf; /* the fields' text, unquoted */
	size_t		 cap;
	wr_tv_field *fields;
	uint32_t	 nfields;
	uint32_t	 fields_cap;
} wr_tv_row;

extern void wr_tv_free(wr_tv_row *row);
extern bool wr_tv_split(wr_tv_row *row, const char *text, size_t len,
						char *err, size_t errlen);

extern bool wr_tv_encode(wb_enc *e, uint32_t typoid, const wr_tv_row *row,
						 uint32_t field, char *err, size_t errlen);

/* A field's text, for comparing keys (NULL for a NULL field). */
extern const char *wr_tv_text(const wr_tv_row *row, uint32_t field,
							  size_t *len);

#endif /* WR_TVALUES_H */
