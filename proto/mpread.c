/*-------------------------------------------------------------------------
 *
 * mpread.c
 *	  Bounded msgpack reader (see mpread.h for the contract).
 *
 * Only the msgpack subset walbus records, envelopes and control messages
 * use is given typed accessors, but mpr_skip understands every format so
 * that readers can ignore map keys they do not know (forward
 * compatibility).
 *
 * mpr_value is on the relay's hot path (every column of every change), so
 * the accessors it shares with the public functions are static here and
 * the public ones are thin wrappers: under -fPIC a call to an exported
 * function cannot be inlined, even from the same file.
 *
 *-------------------------------------------------------------------------
 */
#include "mpread.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
mpr_init(mpr *r, const void *buf, size_t len)
{
	r->p = (const uint8_t *) buf;
	r->end = r->p + len;
	r->failed = false;
	r->truncated = false;
	r->missing = 0;
	r->errmsg[0] = '\0';
}

bool
mpr_fail(mpr *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return false;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	return false;
}

static bool mpr_short(mpr *r, uint64_t missing, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Fail because the input ends missing bytes before the object being read
 * does: the one kind of failure that more input could cure.
 */
static bool
mpr_short(mpr *r, uint64_t missing, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return false;
	r->failed = true;
	r->truncated = true;
	r->missing = missing;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	return false;
}

static uint64_t
mpr_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Consume n bytes, returning where they start, or NULL past the end. */
static const uint8_t *
mpr_take(mpr *r, size_t n)
{
	const uint8_t *start = r->p;

	if (r->failed)
		return NULL;
	if (mpr_left(r) < n)
	{
		mpr_short(r, n - mpr_left(r),
				  "input ends inside an object (%zu bytes missing)",
				  n - mpr_left(r));
		return NULL;
	}
	r->p += n;
	return start;
}

/* The type a leading byte announces. */
static inline mpr_type
mpr_lead_type(uint8_t b)
{
	if (b <= 0x7f || b == 0xcc || b == 0xcd || b == 0xce || b == 0xcf)
		return MPR_UINT;
	if (b >= 0xe0 || (b >= 0xd0 && b <= 0xd3))
		return MPR_NINT; /* may still hold a non-negative value */
	if (b >= 0x80 && b <= 0x8f)
		return MPR_MAP;
	if (b >= 0x90 && b <= 0x9f)
		return MPR_ARRAY;
	if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))
		return MPR_STR;
	switch (b)
	{
		case 0xc0:
			return MPR_NIL;
		case 0xc2:
		case 0xc3:
			return MPR_BOOL;
		case 0xc4:
		case 0xc5:
		case 0xc6:
			return MPR_BIN;
		case 0xca:
			return MPR_FLOAT32;
		case 0xcb:
			return MPR_FLOAT64;
		case 0xdc:
		case 0xdd:
			return MPR_ARRAY;
		case 0xde:
		case 0xdf:
			return MPR_MAP;
		case 0xc7:
		case 0xc8:
		case 0xc9:
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			return MPR_EXT;
	}
	return MPR_INVALID;
}

mpr_type
mpr_peek(const mpr *r)
{
	if (r->failed || r->p >= r->end)
		return MPR_INVALID;
	return mpr_lead_type(*r->p);
}

const char *
mpr_type_name(mpr_type t)
{
	switch (t)
	{
		case MPR_NIL:
			return "nil";
		case MPR_BOOL:
			return "bool";
		case MPR_UINT:
		case MPR_NINT:
			return "int";
		case MPR_FLOAT32:
			return "float32";
		case MPR_FLOAT64:
			return "float64";
		case MPR_STR:
			return "str";
		case MPR_BIN:
			return "bin";
		case MPR_ARRAY:
			return "array";
		case MPR_MAP:
			return "map";
		case MPR_EXT:
			return "ext";
		case MPR_INVALID:
			break;
	}
	return "reserved byte 0xc1";
}

/*
 * Where a type is checked with mpr_peek, the end of input must not pass
 * for a wrong type: it is a truncation.
 */
static bool
mpr_ended(mpr *r)
{
	return mpr_short(r, 1, "input ends inside an object (1 bytes missing)");
}

/*
 * Read a container header; fixbase is 0x80 (map) or 0x90 (array).  A count
 * above max is malformed, checked before the bytes left so that a hostile
 * count is not mistaken for a truncation.
 */
static bool
mpr_container(mpr *r, uint32_t *n, uint8_t fixbase, uint8_t op16,
			  const char *what, size_t min_bytes_per_elem, uint32_t max)
{
	const uint8_t *p = mpr_take(r, 1);
	uint64_t	   count;

	if (p == NULL)
		return false;
	if ((*p & 0xf0) == fixbase)
		count = *p & 0x0f;
	else if (*p == op16 || *p == op16 + 1)
	{
		int			   w = (*p == op16) ? 2 : 4;
		const uint8_t *q = mpr_take(r, w);

		if (q == NULL)
			return false;
		count = mpr_be(q, w);
	}
	else
		return mpr_fail(r, "expected a %s, found byte 0x%02x", what, *p);
	if (count > max)
		return mpr_fail(r, "%s of %llu elements, at most %u allowed", what,
						(unsigned long long) count, max);
	if (count > mpr_left(r) / min_bytes_per_elem)
		return mpr_short(r, count * min_bytes_per_elem - mpr_left(r),
						 "%s of %llu elements in %zu bytes", what,
						 (unsigned long long) count, mpr_left(r));
	*n = (uint32_t) count;
	return true;
}

bool
mpr_array(mpr *r, uint32_t *n)
{
	return mpr_container(r, n, 0x90, 0xdc, "array", 1, UINT32_MAX);
}

bool
mpr_array_max(mpr *r, uint32_t max, uint32_t *n)
{
	return mpr_container(r, n, 0x90, 0xdc, "array", 1, max);
}

bool
mpr_map(mpr *r, uint32_t *n)
{
	return mpr_container(r, n, 0x80, 0xde, "map", 2, UINT32_MAX);
}

bool
mpr_nil(mpr *r)
{
	const uint8_t *p;

	if (mpr_peek(r) != MPR_NIL)
		return r->p == r->end ? mpr_ended(r) : mpr_fail(r, "expected nil");
	p = mpr_take(r, 1);
	return p != NULL;
}

static inline bool
mpr_read_bool(mpr *r, bool *b)
{
	const uint8_t *p;

	if (mpr_peek(r) != MPR_BOOL)
		return r->p == r->end ? mpr_ended(r) :
								mpr_fail(r, "expected a boolean");
	p = mpr_take(r, 1);
	*b = (*p == 0xc3);
	return true;
}

bool
mpr_bool(mpr *r, bool *b)
{
	return mpr_read_bool(r, b);
}

/* mpr_integer, inlinable. */
static inline bool
mpr_read_integer(mpr *r, bool *neg, uint64_t *u)
{
	const uint8_t *p;
	uint8_t		   b;
	int			   w;
	int64_t		   s;

	if (r->failed)
		return false;
	p = mpr_take(r, 1);
	if (p == NULL)
		return false;
	b = *p;
	if (b <= 0x7f)
	{
		*neg = false;
		*u = b;
		return true;
	}
	if (b >= 0xe0)
	{
		*neg = true;
		*u = (uint64_t) (int64_t) (int8_t) b;
		return true;
	}
	if (b >= 0xcc && b <= 0xcf)
	{
		w = 1 << (b - 0xcc);
		if ((p = mpr_take(r, w)) == NULL)
			return false;
		*neg = false;
		*u = mpr_be(p, w);
		return true;
	}
	if (b >= 0xd0 && b <= 0xd3)
	{
		w = 1 << (b - 0xd0);
		if ((p = mpr_take(r, w)) == NULL)
			return false;
		switch (w)
		{
			case 1:
				s = (int8_t) p[0];
				break;
			case 2:
				s = (int16_t) mpr_be(p, 2);
				break;
			case 4:
				s = (int32_t) mpr_be(p, 4);
				break;
			default:
				s = (int64_t) mpr_be(p, 8);
				break;
		}
		*neg = s < 0;
		*u = (uint64_t) s;
		return true;
	}
	r->p--;
	return mpr_fail(r, "expected an integer, found byte 0x%02x", b);
}

bool
mpr_integer(mpr *r, bool *neg, uint64_t *u)
{
	return mpr_read_integer(r, neg, u);
}

bool
mpr_uint(mpr *r, uint64_t *u)
{
	bool neg = false;

	if (!mpr_read_integer(r, &neg, u))
		return false;
	if (neg)
		return mpr_fail(r, "expected a non-negative integer");
	return true;
}

bool
mpr_uint32(mpr *r, uint32_t *u)
{
	uint64_t v;

	if (!mpr_uint(r, &v))
		return false;
	if (v > UINT32_MAX)
		return mpr_fail(r, "integer %llu out of range",
						(unsigned long long) v);
	*u = (uint32_t) v;
	return true;
}

static inline bool
mpr_read_int(mpr *r, int64_t *i)
{
	bool	 neg = false;
	uint64_t u = 0;

	if (!mpr_read_integer(r, &neg, &u))
		return false;
	if (!neg && u > (uint64_t) INT64_MAX)
		return mpr_fail(r, "integer %llu out of range (max %lld)",
						(unsigned long long) u, (long long) INT64_MAX);
	*i = (int64_t) u;
	return true;
}

bool
mpr_int(mpr *r, int64_t *i)
{
	return mpr_read_int(r, i);
}

/* str or bin body: fix is the fixstr range flag (only for str). */
static inline bool
mpr_bytes(mpr *r, wb_str *s, uint8_t op8, bool allow_fix, const char *what)
{
	const uint8_t *p = mpr_take(r, 1);
	uint64_t	   len;
	int			   w;

	if (p == NULL)
		return false;
	if (allow_fix && *p >= 0xa0 && *p <= 0xbf)
		len = *p & 0x1f;
	else if (*p >= op8 && *p <= op8 + 2)
	{
		w = 1 << (*p - op8);
		if ((p = mpr_take(r, w)) == NULL)
			return false;
		len = mpr_be(p, w);
	}
	else
	{
		r->p--;
		return mpr_fail(r, "expected a %s, found byte 0x%02x", what, *p);
	}
	if (len > mpr_left(r))
		return mpr_short(r, len - mpr_left(r),
						 "%s of %llu bytes with %zu left", what,
						 (unsigned long long) len, mpr_left(r));
	s->ptr = (const char *) r->p;
	s->len = (uint32_t) len;
	r->p += len;
	return true;
}

bool
mpr_str(mpr *r, wb_str *s)
{
	return mpr_bytes(r, s, 0xd9, true, "string");
}

bool
mpr_bin(mpr *r, wb_str *s)
{
	return mpr_bytes(r, s, 0xc4, false, "binary");
}

/*
 * An ext header: its type and payload length; the payload is not consumed,
 * only checked to be there.
 */
static inline bool
mpr_ext_head(mpr *r, int8_t *type, uint32_t *len)
{
	const uint8_t *p = mpr_take(r, 1);
	uint8_t		   b;
	int			   w;

	if (p == NULL)
		return false;
	b = *p;
	if (b >= 0xd4 && b <= 0xd8)
		*len = 1u << (b - 0xd4);
	else if (b >= 0xc7 && b <= 0xc9)
	{
		w = 1 << (b - 0xc7);
		if ((p = mpr_take(r, w)) == NULL)
			return false;
		*len = (uint32_t) mpr_be(p, w);
	}
	else
	{
		r->p--;
		return mpr_fail(r, "expected an extension, found byte 0x%02x", b);
	}
	if ((p = mpr_take(r, 1)) == NULL)
		return false;
	*type = (int8_t) *p;
	if (*len > mpr_left(r))
		return mpr_short(r, *len - mpr_left(r),
						 "extension of %u bytes with %zu left", *len,
						 mpr_left(r));
	return true;
}

/* The payload of a timestamp extension in any of its three sizes. */
static inline bool
mpr_timestamp_body(mpr *r, uint32_t len, wb_timestamp *ts)
{
	const uint8_t *p = mpr_take(r, len);
	uint64_t	   v;

	if (p == NULL)
		return false;
	switch (len)
	{
		case 4:
			ts->sec = (int64_t) mpr_be(p, 4);
			ts->nsec = 0;
			break;
		case 8:
			v = mpr_be(p, 8);
			ts->nsec = (uint32_t) (v >> 34);
			ts->sec = (int64_t) (v & UINT64_C(0x3ffffffff));
			break;
		case 12:
			ts->nsec = (uint32_t) mpr_be(p, 4);
			ts->sec = (int64_t) mpr_be(p + 4, 8);
			break;
		default:
			return mpr_fail(r, "timestamp of %u bytes (4, 8 or 12)", len);
	}
	if (ts->nsec > 999999999u)
		return mpr_fail(r, "timestamp with %u nanoseconds (at most 999999999)",
						ts->nsec);
	return true;
}

bool
mpr_timestamp(mpr *r, wb_timestamp *ts)
{
	int8_t	 type = 0;
	uint32_t len = 0;

	if (!mpr_ext_head(r, &type, &len))
		return false;
	if (type != WB_EXT_TIMESTAMP)
		return mpr_fail(r, "expected a timestamp, found extension %d", type);
	return mpr_timestamp_body(r, len, ts);
}

bool
mpr_value(mpr *r, wb_value *v)
{
	const uint8_t *p;
	int8_t		   type = 0;
	uint32_t	   len = 0;

	switch (mpr_peek(r))
	{
		case MPR_NIL:
			v->type = WB_V_NIL;
			r->p++;
			return true;
		case MPR_BOOL:
			v->type = WB_V_BOOL;
			return mpr_read_bool(r, &v->v.b);
		case MPR_UINT:
		case MPR_NINT:
			v->type = WB_V_INT;
			return mpr_read_int(r, &v->v.i);
		case MPR_FLOAT32:
		{
			uint32_t bits;

			v->type = WB_V_FLOAT32;
			if ((p = mpr_take(r, 5)) == NULL)
				return false;
			bits = (uint32_t) mpr_be(p + 1, 4);
			memcpy(&v->v.f32, &bits, 4);
			return true;
		}
		case MPR_FLOAT64:
		{
			uint64_t bits;

			v->type = WB_V_FLOAT64;
			if ((p = mpr_take(r, 9)) == NULL)
				return false;
			bits = mpr_be(p + 1, 8);
			memcpy(&v->v.f64, &bits, 8);
			return true;
		}
		case MPR_STR:
			v->type = WB_V_STR;
			return mpr_bytes(r, &v->v.s, 0xd9, true, "string");
		case MPR_BIN:
			v->type = WB_V_BIN;
			return mpr_bytes(r, &v->v.s, 0xc4, false, "binary");
		case MPR_EXT:
			if (!mpr_ext_head(r, &type, &len))
				return false;
			if (type == WB_EXT_TIMESTAMP)
			{
				v->type = WB_V_TIMESTAMP;
				return mpr_timestamp_body(r, len, &v->v.ts);
			}
			if (type == WB_EXT_UNCHANGED_TOAST)
			{
				if (len != 0)
					return mpr_fail(r,
									"unchanged marker (extension 1) "
									"with a %u-byte payload",
									len);
				v->type = WB_V_UNCHANGED_TOAST;
				return true;
			}
			return mpr_fail(r, "unknown value extension %d of %u bytes", type,
							len);
		default:
			if (r->failed)
				return false;
			if (r->p == r->end)
				return mpr_ended(r);
			return mpr_fail(r, "not a column value (byte 0x%02x)", *r->p);
	}
}

static bool
mpr_skip_depth(mpr *r, int depth)
{
	uint32_t n;
	wb_str	 s;
	int8_t	 type;
	uint32_t len;

	if (depth > MPR_MAX_DEPTH)
		return mpr_fail(r, "nesting deeper than %d", MPR_MAX_DEPTH);
	switch (mpr_peek(r))
	{
		case MPR_NIL:
			return mpr_nil(r);
		case MPR_UINT:
		case MPR_NINT:
		{
			bool	 neg;
			uint64_t u;

			return mpr_integer(r, &neg, &u);
		}
		case MPR_BOOL:
		case MPR_FLOAT32:
		case MPR_FLOAT64:
		{
			wb_value v;

			return mpr_value(r, &v);
		}
		case MPR_STR:
			return mpr_str(r, &s);
		case MPR_BIN:
			return mpr_bin(r, &s);
		case MPR_EXT:
			if (!mpr_ext_head(r, &type, &len))
				return false;
			return mpr_take(r, len) != NULL;
		case MPR_ARRAY:
			if (!mpr_array(r, &n))
				return false;
			for (uint32_t i = 0; i < n; i++)
				if (!mpr_skip_depth(r, depth + 1))
					return false;
			return true;
		case MPR_MAP:
			if (!mpr_map(r, &n))
				return false;
			for (uint32_t i = 0; i < 2 * n; i++)
				if (!mpr_skip_depth(r, depth + 1))
					return false;
			return true;
		default:
			if (!r->failed && r->p == r->end)
				return mpr_ended(r);
			return mpr_fail(r, "invalid msgpack byte");
	}
}

bool
mpr_skip(mpr *r)
{
	return mpr_skip_depth(r, 0);
}

bool
mpr_str_eq(wb_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.ptr, lit, n) == 0;
}
