/*-------------------------------------------------------------------------
 *
 * mpread.h
 *	  The one msgpack reader of proto/: bounded and allocation-free, under
 *	  the plugin-record decoder, the bus-envelope decoder and the control
 *	  messages' decoders.
 *
 * The reader walks a byte range with a cursor.  Every declared length or
 * element count is checked against the bytes left before it is trusted, so
 * hostile input can make it fail but never read outside the range or
 * allocate.  Strings and binaries are returned as wb_str views into the
 * input.
 *
 * Errors are sticky: the first failure records a message and every later
 * call returns false, so a caller may check once at the end.  The failure
 * also says which of the two kinds it is, because a stream decoder must
 * tell them apart: truncated is set when the input ends before the object
 * being read does (a fixed-size part, or a declared length or count, needs
 * more bytes than are left; missing says how many more, at least), which
 * more input could cure; otherwise the bytes are wrong whatever follows.
 *
 * Values of columns follow docs/PROTOCOL.md §5 and are decoded into the
 * proto library's wb_value by mpr_value: the one implementation of that
 * grammar.
 *
 * Thread safety: a reader belongs to one thread; there is no global state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_MPREAD_H
#define WALBUS_MPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walbus_proto.h"

/* Nesting limit of mpr_skip: deeper input is rejected as malformed. */
#define MPR_MAX_DEPTH 32

typedef struct mpr
{
	const uint8_t *p;	/* next byte to read */
	const uint8_t *end; /* one past the last byte */
	bool		   failed;
	bool		   truncated;	/* failed because the input ended early */
	uint64_t	   missing;		/* if truncated: bytes needed past end, at
								 * least */
	char		   errmsg[128]; /* why it failed */
} mpr;

/* The broad msgpack families, as seen by mpr_peek. */
typedef enum mpr_type
{
	MPR_NIL,
	MPR_BOOL,
	MPR_UINT,
	MPR_NINT, /* negative integer */
	MPR_FLOAT32,
	MPR_FLOAT64,
	MPR_STR,
	MPR_BIN,
	MPR_ARRAY,
	MPR_MAP,
	MPR_EXT,
	MPR_INVALID /* 0xc1 or the end of input */
} mpr_type;

/*
 * msgpack's word for a type: "int", "str", "map", ...; MPR_INVALID is
 * named after the byte msgpack reserves (at the end of input there is no
 * type to name: that failure is a truncation).
 */
extern const char *mpr_type_name(mpr_type t);

extern void mpr_init(mpr *r, const void *buf, size_t len);
extern bool mpr_fail(mpr *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
extern mpr_type mpr_peek(const mpr *r);
static inline size_t
mpr_left(const mpr *r)
{
	return (size_t) (r->end - r->p);
}

/*
 * Containers: *n is the element count (pairs for a map).  Each element is
 * at least one byte, so a count above the bytes left fails at once.
 */
extern bool mpr_array(mpr *r, uint32_t *n);
extern bool mpr_map(mpr *r, uint32_t *n);

/*
 * An array of at most max elements.  The limit is checked first: a longer
 * array is malformed even when the input also ends before its elements
 * (not truncated, since no amount of further input would make it valid).
 */
extern bool mpr_array_max(mpr *r, uint32_t max, uint32_t *n);

/* Scalars; each fails unless the next object has the named type. */
extern bool mpr_nil(mpr *r);
extern bool mpr_bool(mpr *r, bool *b);
extern bool mpr_uint(mpr *r, uint64_t *u);
extern bool mpr_uint32(mpr *r, uint32_t *u);
extern bool mpr_int(mpr *r, int64_t *i);

/*
 * Any integer of any width, for callers with their own range: *neg says
 * whether *u holds a negative int64 (cast) or a value from 0 to 2^64-1.
 */
extern bool mpr_integer(mpr *r, bool *neg, uint64_t *u);

extern bool mpr_str(mpr *r, wb_str *s);
extern bool mpr_bin(mpr *r, wb_str *s);
extern bool mpr_timestamp(mpr *r, wb_timestamp *ts);

/*
 * A column value per docs/PROTOCOL.md §5: nil, bool, int (up to 2^63-1),
 * float32, float64, str, bin, timestamp (ext -1 of 4, 8 or 12 bytes, nsec
 * below 10^9), the unchanged marker (ext 1, empty).  Anything else,
 * arrays and maps included, fails.
 */
extern bool mpr_value(mpr *r, wb_value *v);

/* Skip one object of any type, containers included. */
extern bool mpr_skip(mpr *r);

/* True when s holds exactly the NUL-terminated string lit. */
extern bool mpr_str_eq(wb_str s, const char *lit);

#endif /* WALBUS_MPREAD_H */
