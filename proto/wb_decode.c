/*-------------------------------------------------------------------------
 *
 * wb_decode.c
 *	  Decoder of walbus version-1 records (docs/PROTOCOL.md §4, §5, §7).
 *
 * The input is hostile until proven otherwise: it comes off the network in
 * the relay and in workers.  That is why this is a small hand-written,
 * bounded msgpack reader (a cursor over the bytes) and not msgpack-c's
 * unpacker: msgpack_unpack preallocates n * sizeof(msgpack_object) for an
 * array as soon as it has read the array's 5-byte header, so a few bytes
 * claiming 2^32-1 elements make it allocate gigabytes.  Here every declared
 * length or element count is checked against the bytes left before anything
 * is read or allocated (an element takes at least one byte), counts are
 * capped by WB_MAX_COLUMNS and WB_MAX_TRUNCATE_RELIDS, and no record may
 * extend beyond WB_MAX_RECORD_BYTES.  The format has a fixed depth, so the
 * reader has no recursion at all.
 *
 * Accepted leniently, as msgpack allows: any integer encoding (fixint,
 * int8..int64, uint8..uint64) whose value fits the field, and any ext
 * header form as long as the payload length is right.  Rejected: wrong
 * element counts, wrong types, maps, ext types other than -1 and 1,
 * timestamps with nsec >= 10^9, unknown kinds.
 *
 * Strings are not validated as UTF-8: a wb_str is a length and a pointer
 * into the caller's buffer, neither NUL-terminated nor guaranteed to be
 * valid UTF-8, and consumers must not assume either.
 *
 * Errors: WB_ETRUNC when the input ends inside the record, WB_EMALFORMED
 * for everything else, WB_ENOMEM if growing a scratch array fails; the
 * decoder's errmsg then names the field and the byte offset.  Scratch
 * arrays for columns, values and relids are grown by doubling and reused
 * from record to record, so a steady stream allocates nothing.
 *
 * Thread safety: a wb_dec belongs to one thread at a time; no globals.
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reading position within one record, plus what is being read for errors. */
typedef struct wb_cur
{
	const unsigned char *buf;
	size_t		len;			/* bytes available, capped at the record limit */
	size_t		pos;
	wb_dec	   *d;
	const char *field;			/* name of the element being read */
	long		index;			/* its index within field, or -1 */
	const char *member;			/* member of field[index], or "" */
} wb_cur;

/* msgpack's own word for the type a leading byte announces. */
static const char *
wb_mp_type_name(unsigned char b)
{
	if (b <= 0x7f || b >= 0xe0)
		return "int";
	if (b <= 0x8f)
		return "map";
	if (b <= 0x9f)
		return "array";
	if (b <= 0xbf)
		return "str";
	switch (b)
	{
		case 0xc0:
			return "nil";
		case 0xc2:
		case 0xc3:
			return "bool";
		case 0xc4:
		case 0xc5:
		case 0xc6:
			return "bin";
		case 0xc7:
		case 0xc8:
		case 0xc9:
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			return "ext";
		case 0xca:
			return "float32";
		case 0xcb:
			return "float64";
		case 0xcc:
		case 0xcd:
		case 0xce:
		case 0xcf:
		case 0xd0:
		case 0xd1:
		case 0xd2:
		case 0xd3:
			return "int";
		case 0xd9:
		case 0xda:
		case 0xdb:
			return "str";
		case 0xdc:
		case 0xdd:
			return "array";
		case 0xde:
		case 0xdf:
			return "map";
	}
	return "reserved byte 0xc1";
}

static int	wb_fail(wb_cur *c, int code, size_t at, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Set d->errmsg to "byte N, field[i]: ..." and return code. */
static int
wb_fail(wb_cur *c, int code, size_t at, const char *fmt,...)
{
	char	   *msg = c->d->errmsg;
	size_t		size = sizeof(c->d->errmsg);
	int			n;
	va_list		ap;

	if (c->index >= 0)
		n = snprintf(msg, size, "byte %zu, %s[%ld]%s: ", at, c->field,
					 c->index, c->member);
	else
		n = snprintf(msg, size, "byte %zu, %s: ", at, c->field);
	if (n < 0 || (size_t) n >= size)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg + n, size - (size_t) n, fmt, ap);
	va_end(ap);
	return code;
}

static void
wb_at(wb_cur *c, const char *field, long index)
{
	c->field = field;
	c->index = index;
	c->member = "";
}

/*
 * Make sure n more bytes are there.  A record that would pass the size
 * limit is malformed whatever follows; otherwise missing bytes mean the
 * input was cut short.
 */
static int
wb_need(wb_cur *c, size_t at, uint64_t n)
{
	if (n <= c->len - c->pos)
		return WB_OK;
	if (n > (uint64_t) WB_MAX_RECORD_BYTES - c->pos)
		return wb_fail(c, WB_EMALFORMED, at,
					   "needs %llu more bytes, past the %u-byte record limit",
					   (unsigned long long) n, WB_MAX_RECORD_BYTES);
	return wb_fail(c, WB_ETRUNC, at,
				   "input ends at byte %zu, %llu more bytes needed",
				   c->len, (unsigned long long) (n - (c->len - c->pos)));
}

static uint64_t
wb_load_be(const unsigned char *p, int nbytes)
{
	uint64_t	v = 0;

	for (int i = 0; i < nbytes; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Read an nbytes-wide big-endian unsigned number (header fields). */
static int
wb_take(wb_cur *c, size_t at, int nbytes, uint64_t *v)
{
	int			rc = wb_need(c, at, (uint64_t) nbytes);

	if (rc != WB_OK)
		return rc;
	*v = wb_load_be(c->buf + c->pos, nbytes);
	c->pos += (size_t) nbytes;
	return WB_OK;
}

static int
wb_wrong_type(wb_cur *c, size_t at, unsigned char b, const char *expected)
{
	return wb_fail(c, WB_EMALFORMED, at, "expected %s, got %s",
				   expected, wb_mp_type_name(b));
}

/* ----------------------------------------------------------- scalars */

/*
 * Any msgpack integer.  On return *neg tells which of *u (for values >= 0)
 * or *s (for values < 0) holds it, so the full uint64 and int64 ranges are
 * both representable.
 */
static int
wb_read_integer(wb_cur *c, bool *neg, uint64_t *u, int64_t *s)
{
	size_t		at = c->pos;
	unsigned char b;
	uint64_t	v = 0;
	int			width;
	int			rc;

	if ((rc = wb_need(c, at, 1)) != WB_OK)
		return rc;
	b = c->buf[at];
	if (b <= 0x7f)
	{
		c->pos++;
		*neg = false;
		*u = b;
		return WB_OK;
	}
	if (b >= 0xe0)
	{
		c->pos++;
		*neg = true;
		*s = (int8_t) b;
		return WB_OK;
	}
	if (b < 0xcc || b > 0xd3)
		return wb_wrong_type(c, at, b, "int");
	c->pos++;

	/* 0xcc..0xcf: uint8..uint64, 0xd0..0xd3: int8..int64 */
	width = 1 << ((b - 0xcc) & 3);
	if ((rc = wb_take(c, at, width, &v)) != WB_OK)
		return rc;
	if (b >= 0xd0 && width < 8 && (v >> (width * 8 - 1)) != 0)
		v |= ~UINT64_C(0) << (width * 8);	/* sign-extend */
	if (b >= 0xd0 && (int64_t) v < 0)
	{
		*neg = true;
		*s = (int64_t) v;
	}
	else
	{
		*neg = false;
		*u = v;
	}
	return WB_OK;
}

static int
wb_read_uint(wb_cur *c, uint64_t max, uint64_t *out)
{
	size_t		at = c->pos;
	bool		neg = false;
	uint64_t	u = 0;
	int64_t		s = 0;
	int			rc;

	if ((rc = wb_read_integer(c, &neg, &u, &s)) != WB_OK)
		return rc;
	if (neg)
		return wb_fail(c, WB_EMALFORMED, at, "negative value %lld",
					   (long long) s);
	if (u > max)
		return wb_fail(c, WB_EMALFORMED, at, "%llu out of range (max %llu)",
					   (unsigned long long) u, (unsigned long long) max);
	*out = u;
	return WB_OK;
}

static int
wb_read_u32(wb_cur *c, uint32_t *out)
{
	uint64_t	v = 0;
	int			rc;

	if ((rc = wb_read_uint(c, UINT32_MAX, &v)) != WB_OK)
		return rc;
	*out = (uint32_t) v;
	return WB_OK;
}

static int
wb_read_int(wb_cur *c, int64_t min, int64_t max, int64_t *out)
{
	size_t		at = c->pos;
	bool		neg = false;
	uint64_t	u = 0;
	int64_t		s = 0;
	int			rc;

	if ((rc = wb_read_integer(c, &neg, &u, &s)) != WB_OK)
		return rc;
	if (neg ? s < min : u > (uint64_t) max)
	{
		if (neg)
			return wb_fail(c, WB_EMALFORMED, at, "%lld out of range (min %lld)",
						   (long long) s, (long long) min);
		return wb_fail(c, WB_EMALFORMED, at, "%llu out of range (max %lld)",
					   (unsigned long long) u, (long long) max);
	}
	*out = neg ? s : (int64_t) u;
	return WB_OK;
}

static int
wb_read_bool(wb_cur *c, bool *out)
{
	size_t		at = c->pos;
	int			rc;
	unsigned char b;

	if ((rc = wb_need(c, at, 1)) != WB_OK)
		return rc;
	b = c->buf[at];
	if (b != 0xc2 && b != 0xc3)
		return wb_wrong_type(c, at, b, "bool");
	c->pos++;
	*out = (b == 0xc3);
	return WB_OK;
}

/* The body of a str or bin whose length has been read: point into buf. */
static int
wb_read_body(wb_cur *c, size_t at, uint64_t n, wb_str *out)
{
	int			rc;

	if ((rc = wb_need(c, at, n)) != WB_OK)
		return rc;
	out->ptr = (const char *) c->buf + c->pos;
	out->len = (uint32_t) n;
	c->pos += n;
	return WB_OK;
}

static int
wb_read_str(wb_cur *c, wb_str *out)
{
	size_t		at = c->pos;
	unsigned char b;
	uint64_t	n = 0;
	int			rc;

	if ((rc = wb_need(c, at, 1)) != WB_OK)
		return rc;
	b = c->buf[at];
	if (b >= 0xa0 && b <= 0xbf)
	{
		c->pos++;
		return wb_read_body(c, at, b & 0x1f, out);
	}
	if (b < 0xd9 || b > 0xdb)
		return wb_wrong_type(c, at, b, "str");
	c->pos++;
	if ((rc = wb_take(c, at, 1 << (b - 0xd9), &n)) != WB_OK)
		return rc;
	return wb_read_body(c, at, n, out);
}

static int
wb_read_bin(wb_cur *c, wb_str *out)
{
	size_t		at = c->pos;
	unsigned char b;
	uint64_t	n = 0;
	int			rc;

	if ((rc = wb_need(c, at, 1)) != WB_OK)
		return rc;
	b = c->buf[at];
	if (b < 0xc4 || b > 0xc6)
		return wb_wrong_type(c, at, b, "bin");
	c->pos++;
	if ((rc = wb_take(c, at, 1 << (b - 0xc4), &n)) != WB_OK)
		return rc;
	return wb_read_body(c, at, n, out);
}

/*
 * An ext header at the cursor (byte b already consumed): its type and
 * payload length, the payload itself checked to be present.
 */
static int
wb_read_ext_header(wb_cur *c, size_t at, unsigned char b, int8_t *type,
				   uint64_t *n)
{
	uint64_t	t = 0;
	int			rc;

	if (b >= 0xd4 && b <= 0xd8)
		*n = (uint64_t) 1 << (b - 0xd4);
	else if ((rc = wb_take(c, at, 1 << (b - 0xc7), n)) != WB_OK)
		return rc;
	if ((rc = wb_take(c, at, 1, &t)) != WB_OK)
		return rc;
	*type = (int8_t) (uint8_t) t;
	return wb_need(c, at, *n);
}

static bool
wb_is_ext(unsigned char b)
{
	return (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8);
}

/* The payload of a timestamp ext: 4, 8 or 12 bytes (msgpack spec). */
static int
wb_timestamp_payload(wb_cur *c, size_t at, uint64_t n, wb_timestamp *ts)
{
	const unsigned char *p = c->buf + c->pos;
	uint64_t	v = 0;

	switch (n)
	{
		case 4:
			ts->sec = (int64_t) wb_load_be(p, 4);
			ts->nsec = 0;
			break;
		case 8:
			v = wb_load_be(p, 8);
			ts->nsec = (uint32_t) (v >> 34);
			ts->sec = (int64_t) (v & ((UINT64_C(1) << 34) - 1));
			break;
		case 12:
			ts->nsec = (uint32_t) wb_load_be(p, 4);
			ts->sec = (int64_t) wb_load_be(p + 4, 8);
			break;
		default:
			return wb_fail(c, WB_EMALFORMED, at,
						   "timestamp payload of %llu bytes (4, 8 or 12)",
						   (unsigned long long) n);
	}
	if (ts->nsec >= 1000000000u)
		return wb_fail(c, WB_EMALFORMED, at, "timestamp nsec %u >= 10^9",
					   ts->nsec);
	c->pos += n;
	return WB_OK;
}

static int
wb_read_timestamp(wb_cur *c, wb_timestamp *ts)
{
	size_t		at = c->pos;
	unsigned char b;
	int8_t		type = 0;
	uint64_t	n = 0;
	int			rc;

	if ((rc = wb_need(c, at, 1)) != WB_OK)
		return rc;
	b = c->buf[at];
	if (!wb_is_ext(b))
		return wb_wrong_type(c, at, b, "timestamp");
	c->pos++;
	if ((rc = wb_read_ext_header(c, at, b, &type, &n)) != WB_OK)
		return rc;
	if (type != WB_EXT_TIMESTAMP)
		return wb_fail(c, WB_EMALFORMED, at,
					   "expected timestamp, got ext type %d", type);
	return wb_timestamp_payload(c, at, n, ts);
}

/* A column value (§5).  Arrays and maps are never values. */
static int
wb_read_value(wb_cur *c, wb_value *v)
{
	size_t		at = c->pos;
	unsigned char b;
	int8_t		type = 0;
	uint64_t	n = 0;
	int			rc;

	if ((rc = wb_need(c, at, 1)) != WB_OK)
		return rc;
	b = c->buf[at];

	if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
	{
		v->type = WB_V_INT;
		return wb_read_int(c, INT64_MIN, INT64_MAX, &v->v.i);
	}
	if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))
	{
		v->type = WB_V_STR;
		return wb_read_str(c, &v->v.s);
	}
	if (b >= 0xc4 && b <= 0xc6)
	{
		v->type = WB_V_BIN;
		return wb_read_bin(c, &v->v.s);
	}
	if (wb_is_ext(b))
	{
		c->pos++;
		if ((rc = wb_read_ext_header(c, at, b, &type, &n)) != WB_OK)
			return rc;
		if (type == WB_EXT_TIMESTAMP)
		{
			v->type = WB_V_TIMESTAMP;
			return wb_timestamp_payload(c, at, n, &v->v.ts);
		}
		if (type == WB_EXT_UNCHANGED_TOAST)
		{
			if (n != 0)
				return wb_fail(c, WB_EMALFORMED, at,
							   "unchanged-TOAST marker with a %llu-byte payload",
							   (unsigned long long) n);
			v->type = WB_V_UNCHANGED_TOAST;
			return WB_OK;
		}
		return wb_fail(c, WB_EMALFORMED, at, "unknown ext type %d", type);
	}
	switch (b)
	{
		case 0xc0:
			c->pos++;
			v->type = WB_V_NIL;
			return WB_OK;
		case 0xc2:
		case 0xc3:
			v->type = WB_V_BOOL;
			return wb_read_bool(c, &v->v.b);
		case 0xca:
			{
				uint64_t	bits = 0;
				uint32_t	bits32;

				c->pos++;
				if ((rc = wb_take(c, at, 4, &bits)) != WB_OK)
					return rc;
				bits32 = (uint32_t) bits;
				v->type = WB_V_FLOAT32;
				memcpy(&v->v.f32, &bits32, sizeof(float));
				return WB_OK;
			}
		case 0xcb:
			{
				uint64_t	bits = 0;

				c->pos++;
				if ((rc = wb_take(c, at, 8, &bits)) != WB_OK)
					return rc;
				v->type = WB_V_FLOAT64;
				memcpy(&v->v.f64, &bits, sizeof(double));
				return WB_OK;
			}
	}
	return wb_wrong_type(c, at, b, "value");
}

/* ----------------------------------------------------------- arrays */

/*
 * An array header announcing at most max elements.  Each element takes at
 * least one byte, so a count beyond the bytes left is caught here, before
 * the caller sizes anything by it.
 */
static int
wb_read_array(wb_cur *c, uint32_t max, uint32_t *count)
{
	size_t		at = c->pos;
	unsigned char b;
	uint64_t	n = 0;
	int			rc;

	if ((rc = wb_need(c, at, 1)) != WB_OK)
		return rc;
	b = c->buf[at];
	if (b >= 0x90 && b <= 0x9f)
	{
		c->pos++;
		n = b & 0x0f;
	}
	else if (b == 0xdc || b == 0xdd)
	{
		c->pos++;
		if ((rc = wb_take(c, at, b == 0xdc ? 2 : 4, &n)) != WB_OK)
			return rc;
	}
	else
		return wb_wrong_type(c, at, b, "array");
	if (n > max)
		return wb_fail(c, WB_EMALFORMED, at,
					   "array of %llu elements, at most %u allowed",
					   (unsigned long long) n, max);
	if ((rc = wb_need(c, at, n)) != WB_OK)
		return rc;
	*count = (uint32_t) n;
	return WB_OK;
}

/*
 * Make *arr hold at least n elements of size elsize, doubling from 16 and
 * capping at limit, which the caller has already checked n against.
 */
static int
wb_grow(wb_cur *c, void **arr, uint32_t *cap, uint32_t n, size_t elsize,
		uint32_t limit)
{
	uint32_t	newcap;
	void	   *p;

	if (n <= *cap)
		return WB_OK;
	newcap = *cap ? *cap : 16;
	while (newcap < n)
		newcap *= 2;
	if (newcap > limit)
		newcap = limit;
	p = realloc(*arr, (size_t) newcap * elsize);
	if (p == NULL)
		return wb_fail(c, WB_ENOMEM, c->pos, "out of memory for %u elements",
					   newcap);
	*arr = p;
	*cap = newcap;
	return WB_OK;
}

/* An array of values, one per column, into d->values. */
static int
wb_read_values(wb_cur *c, uint32_t *nvalues, wb_value **values)
{
	wb_dec	   *d = c->d;
	uint32_t	n = 0;
	int			rc;

	wb_at(c, "values", -1);
	if ((rc = wb_read_array(c, WB_MAX_COLUMNS, &n)) != WB_OK)
		return rc;
	if ((rc = wb_grow(c, (void **) &d->values, &d->values_cap, n,
					  sizeof(wb_value), WB_MAX_COLUMNS)) != WB_OK)
		return rc;
	for (uint32_t i = 0; i < n; i++)
	{
		wb_at(c, "values", i);
		if ((rc = wb_read_value(c, &d->values[i])) != WB_OK)
			return rc;
	}
	*nvalues = n;
	*values = d->values;
	return WB_OK;
}

/* ----------------------------------------------------------- records */

static int
wb_read_begin(wb_cur *c, wb_record *r)
{
	int			rc;

	wb_at(c, "xid", -1);
	if ((rc = wb_read_u32(c, &r->u.begin.xid)) != WB_OK)
		return rc;
	wb_at(c, "final_lsn", -1);
	if ((rc = wb_read_uint(c, UINT64_MAX, &r->u.begin.final_lsn)) != WB_OK)
		return rc;
	wb_at(c, "commit_time", -1);
	return wb_read_timestamp(c, &r->u.begin.commit_time);
}

static int
wb_read_commit(wb_cur *c, wb_record *r)
{
	int			rc;

	wb_at(c, "commit_lsn", -1);
	if ((rc = wb_read_uint(c, UINT64_MAX, &r->u.commit.commit_lsn)) != WB_OK)
		return rc;
	wb_at(c, "end_lsn", -1);
	if ((rc = wb_read_uint(c, UINT64_MAX, &r->u.commit.end_lsn)) != WB_OK)
		return rc;
	wb_at(c, "commit_time", -1);
	return wb_read_timestamp(c, &r->u.commit.commit_time);
}

static int
wb_read_column(wb_cur *c, uint32_t i, wb_column *col)
{
	size_t		at = c->pos;
	uint32_t	n = 0;
	int64_t		typmod = 0;
	int			rc;

	wb_at(c, "columns", i);
	if ((rc = wb_read_array(c, 4, &n)) != WB_OK)
		return rc;
	if (n != 4)
		return wb_fail(c, WB_EMALFORMED, at,
					   "column has %u elements, expected 4", n);
	c->member = ".name";
	if ((rc = wb_read_str(c, &col->name)) != WB_OK)
		return rc;
	c->member = ".type_oid";
	if ((rc = wb_read_u32(c, &col->typoid)) != WB_OK)
		return rc;
	c->member = ".typmod";
	if ((rc = wb_read_int(c, INT32_MIN, INT32_MAX, &typmod)) != WB_OK)
		return rc;
	col->typmod = (int32_t) typmod;
	c->member = ".type_name";
	if ((rc = wb_read_str(c, &col->typname)) != WB_OK)
		return rc;
	return WB_OK;
}

static int
wb_read_relation(wb_cur *c, wb_record *r)
{
	wb_dec	   *d = c->d;
	size_t		at;
	uint32_t	n = 0;
	int			rc;

	wb_at(c, "relid", -1);
	if ((rc = wb_read_u32(c, &r->u.relation.relid)) != WB_OK)
		return rc;
	wb_at(c, "schema", -1);
	if ((rc = wb_read_str(c, &r->u.relation.schema)) != WB_OK)
		return rc;
	wb_at(c, "table", -1);
	if ((rc = wb_read_str(c, &r->u.relation.table)) != WB_OK)
		return rc;
	wb_at(c, "key_index", -1);
	at = c->pos;
	if ((rc = wb_read_u32(c, &r->u.relation.key_index)) != WB_OK)
		return rc;
	wb_at(c, "columns", -1);
	if ((rc = wb_read_array(c, WB_MAX_COLUMNS, &n)) != WB_OK)
		return rc;
	if ((rc = wb_grow(c, (void **) &d->columns, &d->columns_cap, n,
					  sizeof(wb_column), WB_MAX_COLUMNS)) != WB_OK)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = wb_read_column(c, i, &d->columns[i])) != WB_OK)
			return rc;
	/* consumers index columns with it: it must name one */
	if (r->u.relation.key_index >= n)
	{
		wb_at(c, "key_index", -1);
		return wb_fail(c, WB_EMALFORMED, at, "%u out of range for %u columns",
					   r->u.relation.key_index, n);
	}
	r->u.relation.ncolumns = n;
	r->u.relation.columns = d->columns;
	return WB_OK;
}

static int
wb_read_change(wb_cur *c, wb_record *r, bool has_old_key)
{
	int			rc;

	wb_at(c, "relid", -1);
	if ((rc = wb_read_u32(c, &r->u.change.relid)) != WB_OK)
		return rc;
	if ((rc = wb_read_values(c, &r->u.change.nvalues,
							 &r->u.change.values)) != WB_OK)
		return rc;
	r->u.change.has_old_key = has_old_key;
	if (!has_old_key)
		return WB_OK;
	wb_at(c, "old_key", -1);
	return wb_read_value(c, &r->u.change.old_key);
}

static int
wb_read_delete(wb_cur *c, wb_record *r)
{
	int			rc;

	wb_at(c, "relid", -1);
	if ((rc = wb_read_u32(c, &r->u.del.relid)) != WB_OK)
		return rc;
	wb_at(c, "key", -1);
	return wb_read_value(c, &r->u.del.key);
}

static int
wb_read_truncate(wb_cur *c, wb_record *r)
{
	wb_dec	   *d = c->d;
	uint32_t	n = 0;
	int			rc;

	wb_at(c, "flags", -1);
	if ((rc = wb_read_u32(c, &r->u.truncate.flags)) != WB_OK)
		return rc;
	wb_at(c, "relids", -1);
	if ((rc = wb_read_array(c, WB_MAX_TRUNCATE_RELIDS, &n)) != WB_OK)
		return rc;
	if ((rc = wb_grow(c, (void **) &d->relids, &d->relids_cap, n,
					  sizeof(uint32_t), WB_MAX_TRUNCATE_RELIDS)) != WB_OK)
		return rc;
	for (uint32_t i = 0; i < n; i++)
	{
		wb_at(c, "relids", i);
		if ((rc = wb_read_u32(c, &d->relids[i])) != WB_OK)
			return rc;
	}
	r->u.truncate.nrelids = n;
	r->u.truncate.relids = d->relids;
	return WB_OK;
}

static int
wb_read_message(wb_cur *c, wb_record *r)
{
	int			rc;

	wb_at(c, "transactional", -1);
	if ((rc = wb_read_bool(c, &r->u.message.transactional)) != WB_OK)
		return rc;
	wb_at(c, "lsn", -1);
	if ((rc = wb_read_uint(c, UINT64_MAX, &r->u.message.lsn)) != WB_OK)
		return rc;
	wb_at(c, "prefix", -1);
	if ((rc = wb_read_str(c, &r->u.message.prefix)) != WB_OK)
		return rc;
	wb_at(c, "content", -1);
	return wb_read_bin(c, &r->u.message.content);
}

/* Elements of a record of this kind, including the kind; 0 if unknown. */
static uint32_t
wb_record_size(uint64_t kind, uint32_t nelems)
{
	switch (kind)
	{
		case WB_BEGIN:
		case WB_COMMIT:
			return 4;
		case WB_RELATION:
			return 6;
		case WB_INSERT:
		case WB_DELETE:
		case WB_TRUNCATE:
			return 3;
		case WB_UPDATE:
			return nelems == 4 ? 4 : 3;
		case WB_MESSAGE:
			return 5;
	}
	return 0;
}

/* ----------------------------------------------------------- public API */

void
wb_dec_init(wb_dec *d)
{
	memset(d, 0, sizeof(*d));
}

void
wb_dec_free(wb_dec *d)
{
	free(d->values);
	free(d->columns);
	free(d->relids);
	wb_dec_init(d);
}

int
wb_decode(wb_dec *d, const void *buf, size_t len, wb_record *out,
		  size_t *consumed)
{
	wb_cur		c;
	uint32_t	nelems = 0;
	uint64_t	kind = 0;
	size_t		at;
	int			rc = WB_EMALFORMED;

	c.buf = buf;
	c.len = len < WB_MAX_RECORD_BYTES ? len : WB_MAX_RECORD_BYTES;
	c.pos = 0;
	c.d = d;
	d->errmsg[0] = '\0';

	/* RELATION, the longest record, has 6 elements */
	wb_at(&c, "record", -1);
	if ((rc = wb_read_array(&c, 6, &nelems)) != WB_OK)
		return rc;
	wb_at(&c, "kind", -1);
	at = c.pos;
	if (nelems == 0)
		return wb_fail(&c, WB_EMALFORMED, at, "empty record array");
	if ((rc = wb_read_uint(&c, UINT64_MAX, &kind)) != WB_OK)
		return rc;
	if (wb_record_size(kind, nelems) == 0)
		return wb_fail(&c, WB_EMALFORMED, at, "unknown record kind %llu",
					   (unsigned long long) kind);
	if (wb_record_size(kind, nelems) != nelems)
	{
		wb_at(&c, "record", -1);
		return wb_fail(&c, WB_EMALFORMED, 0,
					   "%s record has %u elements, expected %u%s",
					   wb_kind_name((int) kind), nelems,
					   wb_record_size(kind, nelems),
					   kind == WB_UPDATE ? " or 4" : "");
	}
	out->kind = (wb_kind) kind;

	switch (out->kind)
	{
		case WB_BEGIN:
			rc = wb_read_begin(&c, out);
			break;
		case WB_COMMIT:
			rc = wb_read_commit(&c, out);
			break;
		case WB_RELATION:
			rc = wb_read_relation(&c, out);
			break;
		case WB_INSERT:
			rc = wb_read_change(&c, out, false);
			break;
		case WB_UPDATE:
			rc = wb_read_change(&c, out, nelems == 4);
			break;
		case WB_DELETE:
			rc = wb_read_delete(&c, out);
			break;
		case WB_TRUNCATE:
			rc = wb_read_truncate(&c, out);
			break;
		case WB_MESSAGE:
			rc = wb_read_message(&c, out);
			break;
	}
	if (rc != WB_OK)
		return rc;
	if (consumed)
		*consumed = c.pos;
	return WB_OK;
}
