/*-------------------------------------------------------------------------
 *
 * walbus_values.h
 *	  From a column's Datum to its wire value (docs/PROTOCOL.md §5).
 *
 * The mapping is decided once per column, when a relation is cached
 * (walbus_value_prepare): the value kind by base type, and for types sent
 * as text the output function, looked up once and kept in a long-lived
 * FmgrInfo so that functions caching in fn_extra (array_out, record_out)
 * keep their cache from row to row.  walbus_value_encode then does no
 * catalog lookup.  It allocates in the current memory context (detoasted
 * copies, output function results), which the caller resets per change.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_VALUES_H
#define WALBUS_VALUES_H

#include "fmgr.h"

#include "walbus_proto.h"

/* How a column's values go on the wire, by the column's base type. */
typedef enum WalbusValueKind
{
	WALBUS_VALUE_INT2,
	WALBUS_VALUE_INT4,
	WALBUS_VALUE_INT8,
	WALBUS_VALUE_OID,
	WALBUS_VALUE_BOOL,
	WALBUS_VALUE_FLOAT4,
	WALBUS_VALUE_FLOAT8,
	WALBUS_VALUE_BYTEA,
	WALBUS_VALUE_TIMESTAMP, /* timestamp and timestamptz */
	WALBUS_VALUE_NUMERIC,	/* output function, known to be ASCII */
	WALBUS_VALUE_TEXT,		/* stored bytes are the text: no output call */
	WALBUS_VALUE_OUTPUT		/* output function, then to UTF-8 */
} WalbusValueKind;

typedef struct WalbusValueInfo
{
	WalbusValueKind kind;
	int16			typlen; /* -1 for varlena: may be TOASTed */
	bool			typbyval;
	FmgrInfo		output; /* NUMERIC and OUTPUT only */
} WalbusValueInfo;

/* Decide the mapping for a column of type typid; fn_mcxt is cxt. */
extern void walbus_value_prepare(WalbusValueInfo *info, Oid typid,
								 MemoryContext cxt);

/*
 * Encode one column value.  A varlena still TOASTed on disk (an update
 * that did not touch it) becomes the unchanged marker.
 */
extern void walbus_value_encode(wb_enc *enc, WalbusValueInfo *info,
								Datum value, bool isnull);

/*
 * Whether two non-null values of the column are the same value (in their
 * stored form, which for a key is what identifies the row).
 */
extern bool walbus_value_equal(const WalbusValueInfo *info, Datum a, Datum b);

/*
 * The encoder's write callback in the backend: append to the StringInfo
 * given as its context.  Growing past MaxAllocSize is an ERROR, so it
 * never reports failure.
 */
extern int walbus_append(void *buf, const char *data, size_t len);

/*
 * Look up the server-to-UTF-8 conversion once per backend.  Needs catalog
 * access, which the callbacks that run outside a transaction (a
 * non-transactional message, in a walsender) do not have: call it when a
 * decoding session starts, before walbus_to_utf8.
 */
extern void walbus_utf8_prepare(void);

/*
 * s[0..len) converted from the server encoding to UTF-8: s itself when no
 * conversion is needed, else a palloc'd copy; *out_len is its length.
 * Does no catalog access.
 */
extern const char *walbus_to_utf8(const char *s, size_t len, size_t *out_len);

#endif /* WALBUS_VALUES_H */
