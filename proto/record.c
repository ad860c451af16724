/*-------------------------------------------------------------------------
 *
 * record.c
 *	  Encoder/decoder pairs of walbus version-1 records (docs/PROTOCOL.md
 *	  §4, §5, §7); see walbus_proto.h for the contract.
 *
 * Each record kind's writer sits next to its reader, so a change to the
 * format is made in one place.
 *
 * Encoder: every function appends msgpack bytes through the caller's
 * wb_write_fn, using msgpack-c's packer.  The packer's functions are
 * static inline in <msgpack/pack.h>, so this file needs msgpack-c's headers
 * but not its library.  Errors are sticky: the packer writes through
 * wb_enc_write_sticky, which stops forwarding once a write has failed and
 * records the failure in the encoder; arguments the format cannot
 * represent (a string over 4 GiB, nsec out of range, an unknown value type)
 * fail the encoder the same way, so a caller checks wb_enc_failed() once
 * per record.  Nothing is allocated; the packer lives on the stack of each
 * call, which keeps the per-column path of the plugin to a few stores and
 * the write callback.
 *
 * Decoder: the input is hostile until proven otherwise (it comes off the
 * network in the relay and in workers), so it is read with proto's bounded
 * reader (mpread.h), not msgpack-c's unpacker, which preallocates
 * n * sizeof(msgpack_object) as soon as it has read an array's 5-byte
 * header.  Every declared length or element count is checked against the
 * bytes left before anything is read or allocated, counts are capped by
 * WB_MAX_COLUMNS and WB_MAX_TRUNCATE_RELIDS before that, and the reader is
 * given at most WB_MAX_RECORD_BYTES of the input.  Column values are
 * mpr_value's (the §5 grammar lives there alone); what is added here is
 * each record's shape and the ranges of its fields.
 *
 * The decoder's error convention is the reader's: reads are sticky, so the
 * record readers run straight through and wb_decode looks at the reader
 * once.  A failure the reader marks truncated is WB_ETRUNC, unless the
 * missing bytes would take the record past WB_MAX_RECORD_BYTES; everything
 * else is WB_EMALFORMED (WB_ENOMEM if a scratch array cannot grow).  Before
 * each read the decoder notes the field, the element index and the byte
 * offset, and the msgpack type it wants, so that the message says what and
 * where: "byte 4, commit_time: input ends at byte 7, 3 more bytes needed".
 * Scratch arrays for columns, values and relids are grown by doubling and
 * reused from record to record, so a steady stream allocates nothing.
 *
 * Strings are not validated as UTF-8: a wb_str is a length and a pointer
 * into the caller's buffer, neither NUL-terminated nor guaranteed to be
 * valid UTF-8, and consumers must not assume either.
 *
 * Thread safety: an encoder or decoder belongs to one thread at a time; no
 * globals.
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpread.h"
#include "wb_pack.h"

/* What the decoder is reading, for its error message. */
typedef struct wb_rd
{
	mpr			   r; /* over the record, capped at the limit */
	wb_dec		  *d;
	const uint8_t *base;	  /* byte 0 of the record */
	size_t		   len;		  /* bytes given to r */
	const uint8_t *at;		  /* start of the object being read */
	const char	  *field;	  /* name of the element being read */
	long		   index;	  /* its index within field, or -1 */
	const char	  *member;	  /* member of field[index], or "" */
	unsigned	   want;	  /* mpr_type bits expected at at; 0 once
							   * the type is no longer the question */
	const char	  *want_name; /* those types in one word */
	int			   rc;		  /* WB_ENOMEM, or 0 */
} wb_rd;

#define WANT(t)	 (1u << (t))
#define WANT_INT (WANT(MPR_UINT) | WANT(MPR_NINT))
#define WANT_VALUE \
	(WANT(MPR_NIL) | WANT(MPR_BOOL) | WANT_INT | WANT(MPR_FLOAT32) | \
	 WANT(MPR_FLOAT64) | WANT(MPR_STR) | WANT(MPR_BIN) | WANT(MPR_EXT))

/* ------------------------------------------------------ encoder plumbing */

/* The write callback of every packer in proto/ (wb_pack.h). */
int
wb_enc_write_sticky(void *data, const char *buf, size_t len)
{
	wb_enc *e = (wb_enc *) data;

	if (e->failed)
		return -1;
	if (e->write(e->ctx, buf, len) != 0)
	{
		e->failed = 1;
		return -1;
	}
	return 0;
}

/* A packer writing through e; two pointers, built on each call's stack. */
static inline msgpack_packer
wb_packer(wb_enc *e)
{
	WB_PACKER(pk, e);

	return pk;
}

void
wb_enc_init(wb_enc *e, wb_write_fn write, void *ctx)
{
	e->write = write;
	e->ctx = ctx;
	e->failed = 0;
}

/* Array header plus the kind letter, which is below 128: a positive fixint. */
static void
wb_pack_head(msgpack_packer *pk, size_t nelems, wb_kind kind)
{
	msgpack_pack_array(pk, nelems);
	msgpack_pack_uint8(pk, (uint8_t) kind);
}

/* str32 is the largest msgpack str/bin; a longer one cannot be encoded. */
static bool
wb_len_ok(wb_enc *e, size_t len)
{
	if (len > UINT32_MAX)
	{
		e->failed = 1;
		return false;
	}
	return true;
}

void
wb_pack_str(wb_enc *e, msgpack_packer *pk, const char *s, size_t len)
{
	if (!wb_len_ok(e, len))
		return;
	msgpack_pack_str(pk, len);
	/* skip empty bodies: callbacks may not expect a NULL pointer */
	if (len > 0)
		msgpack_pack_str_body(pk, s, len);
}

static void
wb_pack_bin(wb_enc *e, msgpack_packer *pk, const void *p, size_t len)
{
	if (!wb_len_ok(e, len))
		return;
	msgpack_pack_bin(pk, len);
	if (len > 0)
		msgpack_pack_bin_body(pk, p, len);
}

/*
 * msgpack_pack_timestamp picks the smallest of the three forms.  nsec must
 * be below 10^9: the 64-bit form has 30 bits for it, and decoders reject
 * larger values anyway.
 */
static void
wb_pack_timestamp(wb_enc *e, msgpack_packer *pk, wb_timestamp ts)
{
	msgpack_timestamp mts;

	if (ts.nsec >= 1000000000u)
	{
		e->failed = 1;
		return;
	}
	mts.tv_sec = ts.sec;
	mts.tv_nsec = ts.nsec;
	msgpack_pack_timestamp(pk, &mts);
}

/* ------------------------------------------------------ decoder plumbing */

/* Note what the object at at is: field[index] (or field), of type want. */
static inline void
wb_rd_note(wb_rd *c, const uint8_t *at, const char *field, long index,
		   unsigned want, const char *want_name)
{
	c->at = at;
	c->field = field;
	c->index = index;
	c->member = "";
	c->want = want;
	c->want_name = want_name;
}

/*
 * Note what the next read is about.  After a failure the notes of the
 * failed read are kept, since they are what the message reports.
 */
static inline void
wb_rd_at(wb_rd *c, const char *field, long index, unsigned want,
		 const char *want_name)
{
	if (!c->r.failed)
		wb_rd_note(c, c->r.p, field, index, want, want_name);
}

/* A member of a column: field and index stay, at and the type move on. */
static inline void
wb_rd_member(wb_rd *c, const char *member, unsigned want,
			 const char *want_name)
{
	if (c->r.failed)
		return;
	c->at = c->r.p;
	c->member = member;
	c->want = want;
	c->want_name = want_name;
}

static bool wb_rd_fail(wb_rd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A failure of the record's own rules: the types were right. */
static bool
wb_rd_fail(wb_rd *c, const char *fmt, ...)
{
	char	why[sizeof(c->r.errmsg)];
	va_list ap;

	if (c->r.failed)
		return false;
	c->want = 0;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return mpr_fail(&c->r, "%s", why);
}

/*
 * Turn the reader's failure into the decoder's code and message:
 * "byte N, field[i].member: why".
 */
static int
wb_rd_error(wb_rd *c)
{
	char	*msg = c->d->errmsg;
	size_t	 size = sizeof(c->d->errmsg);
	int		 code = WB_EMALFORMED;
	int		 n;
	mpr		 lead;
	mpr_type found;

	if (c->index >= 0)
		n = snprintf(msg, size,
					 "byte %zu, %s[%ld]%s: ", (size_t) (c->at - c->base),
					 c->field, c->index, c->member);
	else
		n = snprintf(msg, size, "byte %zu, %s: ", (size_t) (c->at - c->base),
					 c->field);
	if (n < 0 || (size_t) n >= size)
		n = 0;
	msg += n;
	size -= (size_t) n;

	/* the type of the object at, named in msgpack's words */
	mpr_init(&lead, c->at, (size_t) (c->r.end - c->at));
	found = mpr_peek(&lead);

	if (c->rc != 0)
	{
		code = c->rc;
		snprintf(msg, size, "%s", c->r.errmsg);
	}
	else if (c->r.truncated &&
			 c->r.missing > (uint64_t) WB_MAX_RECORD_BYTES - c->len)
		snprintf(msg, size,
				 "would take at least %llu bytes, past the "
				 "%u-byte record limit",
				 (unsigned long long) (c->len + c->r.missing),
				 WB_MAX_RECORD_BYTES);
	else if (c->r.truncated)
	{
		code = WB_ETRUNC;
		snprintf(msg, size, "input ends at byte %zu, %llu more bytes needed",
				 c->len, (unsigned long long) c->r.missing);
	}
	else if (c->want != 0 && (c->want & WANT(found)) == 0)
		snprintf(msg, size, "expected %s, got %s", c->want_name,
				 mpr_type_name(found));
	else
		snprintf(msg, size, "%s", c->r.errmsg);
	return code;
}

/*
 * An integer of any encoding within [min, max], where min <= 0 <= max;
 * *neg and *u as mpr_integer sets them.  The caller has taken notes.
 */
static bool
wb_rd_integer(wb_rd *c, int64_t min, uint64_t max, bool *neg, uint64_t *u)
{
	if (!mpr_integer(&c->r, neg, u))
		return false;
	if (*neg && min == 0)
		return wb_rd_fail(c, "negative value %lld", (long long) (int64_t) *u);
	if (*neg && (int64_t) *u < min)
		return wb_rd_fail(c, "%lld out of range (min %lld)",
						  (long long) (int64_t) *u, (long long) min);
	if (!*neg && *u > max)
		return wb_rd_fail(c, "%llu out of range (max %llu)",
						  (unsigned long long) *u, (unsigned long long) max);
	return true;
}

/* Unsigned fields: xid, relids, flags (32 bits) and LSNs (64). */
static void
wb_rd_u32(wb_rd *c, const char *field, long index, uint32_t *out)
{
	bool	 neg = false;
	uint64_t u = 0;

	wb_rd_at(c, field, index, WANT_INT, "int");
	if (wb_rd_integer(c, 0, UINT32_MAX, &neg, &u))
		*out = (uint32_t) u;
}

static void
wb_rd_u64(wb_rd *c, const char *field, uint64_t *out)
{
	bool neg = false;

	wb_rd_at(c, field, -1, WANT_INT, "int");
	wb_rd_integer(c, 0, UINT64_MAX, &neg, out);
}

static void
wb_rd_str(wb_rd *c, const char *field, wb_str *out)
{
	wb_rd_at(c, field, -1, WANT(MPR_STR), "str");
	mpr_str(&c->r, out);
}

static void
wb_rd_timestamp(wb_rd *c, const char *field, wb_timestamp *out)
{
	wb_rd_at(c, field, -1, WANT(MPR_EXT), "timestamp");
	mpr_timestamp(&c->r, out);
}

/*
 * An array header announcing at most max elements: its count, or 0 on
 * failure, so that no caller sizes anything by an unchecked count.
 */
static uint32_t
wb_rd_array(wb_rd *c, const char *field, uint32_t max)
{
	uint32_t n = 0;

	wb_rd_at(c, field, -1, WANT(MPR_ARRAY), "array");
	if (!mpr_array_max(&c->r, max, &n))
		return 0;
	return n;
}

/*
 * Make *arr hold at least n elements of size elsize, doubling from 16 and
 * capping at limit, which the caller has already checked n against.
 */
static bool
wb_rd_grow(wb_rd *c, void **arr, uint32_t *cap, uint32_t n, size_t elsize,
		   uint32_t limit)
{
	uint32_t newcap;
	void	*p;

	if (c->r.failed)
		return false;
	if (n <= *cap)
		return true;
	newcap = *cap ? *cap : 16;
	while (newcap < n)
		newcap *= 2;
	if (newcap > limit)
		newcap = limit;
	p = realloc(*arr, (size_t) newcap * elsize);
	if (p == NULL)
	{
		c->rc = WB_ENOMEM;
		return wb_rd_fail(c, "out of memory for %u elements", newcap);
	}
	*arr = p;
	*cap = newcap;
	return true;
}

/* ----------------------------------------------------------------- BEGIN */

void
wb_enc_begin(wb_enc *e, uint32_t xid, uint64_t final_lsn,
			 wb_timestamp commit_time)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 4, WB_BEGIN);
	msgpack_pack_uint32(&pk, xid);
	msgpack_pack_uint64(&pk, final_lsn);
	wb_pack_timestamp(e, &pk, commit_time);
}

static void
wb_read_begin(wb_rd *c, wb_record *out)
{
	wb_rd_u32(c, "xid", -1, &out->u.begin.xid);
	wb_rd_u64(c, "final_lsn", &out->u.begin.final_lsn);
	wb_rd_timestamp(c, "commit_time", &out->u.begin.commit_time);
}

/* ---------------------------------------------------------------- COMMIT */

void
wb_enc_commit(wb_enc *e, uint64_t commit_lsn, uint64_t end_lsn,
			  wb_timestamp commit_time)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 4, WB_COMMIT);
	msgpack_pack_uint64(&pk, commit_lsn);
	msgpack_pack_uint64(&pk, end_lsn);
	wb_pack_timestamp(e, &pk, commit_time);
}

static void
wb_read_commit(wb_rd *c, wb_record *out)
{
	wb_rd_u64(c, "commit_lsn", &out->u.commit.commit_lsn);
	wb_rd_u64(c, "end_lsn", &out->u.commit.end_lsn);
	wb_rd_timestamp(c, "commit_time", &out->u.commit.commit_time);
}

/* -------------------------------------------------------------- RELATION */

void
wb_enc_relation_start(wb_enc *e, uint32_t relid, const char *schema,
					  size_t schema_len, const char *table, size_t table_len,
					  uint32_t key_index, uint32_t ncolumns,
					  uint32_t schema_oid)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, schema_oid != 0 ? 7 : 6, WB_RELATION);
	msgpack_pack_uint32(&pk, relid);
	wb_pack_str(e, &pk, schema, schema_len);
	wb_pack_str(e, &pk, table, table_len);
	msgpack_pack_uint32(&pk, key_index);
	msgpack_pack_array(&pk, ncolumns);
}

void
wb_enc_column(wb_enc *e, const char *name, size_t name_len, uint32_t typoid,
			  int32_t typmod, const char *typname, size_t typname_len,
			  int32_t attnum)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_array(&pk, attnum != 0 ? 5 : 4);
	wb_pack_str(e, &pk, name, name_len);
	msgpack_pack_uint32(&pk, typoid);
	msgpack_pack_int32(&pk, typmod);
	wb_pack_str(e, &pk, typname, typname_len);
	if (attnum != 0)
		msgpack_pack_int32(&pk, attnum);
}

void
wb_enc_relation_finish(wb_enc *e, uint32_t schema_oid)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_uint32(&pk, schema_oid);
}

/*
 * [name, type_oid, typmod, type_name], and attnum in version 2: want is
 * the element count the record's own size implies (4 or 5).
 */
static void
wb_read_column(wb_rd *c, uint32_t i, wb_column *col, uint32_t want)
{
	uint32_t n = 0;
	bool	 neg = false;
	uint64_t u = 0;

	wb_rd_at(c, "columns", i, WANT(MPR_ARRAY), "array");
	if (mpr_array_max(&c->r, 5, &n) && n != want)
		wb_rd_fail(c, "column has %u elements, expected %u", n, want);
	col->attnum = 0;

	wb_rd_member(c, ".name", WANT(MPR_STR), "str");
	mpr_str(&c->r, &col->name);

	wb_rd_member(c, ".type_oid", WANT_INT, "int");
	if (wb_rd_integer(c, 0, UINT32_MAX, &neg, &u))
		col->typoid = (uint32_t) u;

	wb_rd_member(c, ".typmod", WANT_INT, "int");
	if (wb_rd_integer(c, INT32_MIN, INT32_MAX, &neg, &u))
		col->typmod = (int32_t) (int64_t) u;

	wb_rd_member(c, ".type_name", WANT(MPR_STR), "str");
	mpr_str(&c->r, &col->typname);

	if (want == 5)
	{
		/* user columns are numbered from 1; system ones never appear */
		wb_rd_member(c, ".attnum", WANT_INT, "int");
		if (wb_rd_integer(c, 0, INT16_MAX, &neg, &u))
		{
			if (u == 0)
				wb_rd_fail(c, "0 is not a column's attnum");
			col->attnum = (int32_t) u;
		}
	}
}

static void
wb_read_relation(wb_rd *c, wb_record *out, bool v2)
{
	wb_dec		  *d = c->d;
	const uint8_t *key_at;
	uint32_t	   n;

	wb_rd_u32(c, "relid", -1, &out->u.relation.relid);
	wb_rd_str(c, "schema", &out->u.relation.schema);
	wb_rd_str(c, "table", &out->u.relation.table);
	key_at = c->r.p;
	wb_rd_u32(c, "key_index", -1, &out->u.relation.key_index);
	n = wb_rd_array(c, "columns", WB_MAX_COLUMNS);
	if (!wb_rd_grow(c, (void **) &d->columns, &d->columns_cap, n,
					sizeof(wb_column), WB_MAX_COLUMNS))
		return;
	for (uint32_t i = 0; i < n && !c->r.failed; i++)
		wb_read_column(c, i, &d->columns[i], v2 ? 5 : 4);
	out->u.relation.schema_oid = 0;
	if (v2)
	{
		const uint8_t *oid_at = c->r.p;

		wb_rd_u32(c, "schema_oid", -1, &out->u.relation.schema_oid);
		/* 0 is InvalidOid, and what version 1 stands for */
		if (!c->r.failed && out->u.relation.schema_oid == 0)
		{
			wb_rd_note(c, oid_at, "schema_oid", -1, 0, NULL);
			wb_rd_fail(c, "0 is not a schema's OID");
		}
	}
	if (c->r.failed)
		return;

	/* consumers index columns with it: it must name one */
	if (out->u.relation.key_index >= n)
	{
		wb_rd_note(c, key_at, "key_index", -1, 0, NULL);
		wb_rd_fail(c, "%u out of range for %u columns",
				   out->u.relation.key_index, n);
		return;
	}
	out->u.relation.ncolumns = n;
	out->u.relation.columns = d->columns;
}

/* -------------------------------------------------------- INSERT, UPDATE */

void
wb_enc_insert_start(wb_enc *e, uint32_t relid, uint32_t ncolumns)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 3, WB_INSERT);
	msgpack_pack_uint32(&pk, relid);
	msgpack_pack_array(&pk, ncolumns);
}

void
wb_enc_update_start(wb_enc *e, uint32_t relid, uint32_t ncolumns,
					bool has_old_key)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, has_old_key ? 4 : 3, WB_UPDATE);
	msgpack_pack_uint32(&pk, relid);
	msgpack_pack_array(&pk, ncolumns);
}

/*
 * The values array into d->values.  This is the relay's hot loop, so the
 * notes for an error message are only written once a value has failed.
 */
static void
wb_read_values(wb_rd *c, uint32_t *nvalues, wb_value **values)
{
	wb_dec	*d = c->d;
	uint32_t n = wb_rd_array(c, "values", WB_MAX_COLUMNS);

	if (!wb_rd_grow(c, (void **) &d->values, &d->values_cap, n,
					sizeof(wb_value), WB_MAX_COLUMNS))
		return;
	for (uint32_t i = 0; i < n; i++)
	{
		const uint8_t *at = c->r.p;

		if (!mpr_value(&c->r, &d->values[i]))
		{
			wb_rd_note(c, at, "values", (long) i, WANT_VALUE, "value");
			return;
		}
	}
	*nvalues = n;
	*values = d->values;
}

/*
 * tail is the bytes after relid, exactly as validated: the relay splices
 * them into bus frames without encoding the values again.
 */
static void
wb_read_change(wb_rd *c, wb_record *out, bool has_old_key)
{
	const uint8_t *tail;

	wb_rd_u32(c, "relid", -1, &out->u.change.relid);
	tail = c->r.p;
	wb_read_values(c, &out->u.change.nvalues, &out->u.change.values);
	out->u.change.has_old_key = has_old_key;
	if (has_old_key)
	{
		wb_rd_at(c, "old_key", -1, WANT_VALUE, "value");
		mpr_value(&c->r, &out->u.change.old_key);
	}
	out->u.change.tail.ptr = (const char *) tail;
	out->u.change.tail.len = (uint32_t) (c->r.p - tail);
}

/* ---------------------------------------------------------------- DELETE */

void
wb_enc_delete_start(wb_enc *e, uint32_t relid)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 3, WB_DELETE);
	msgpack_pack_uint32(&pk, relid);
}

static void
wb_read_delete(wb_rd *c, wb_record *out)
{
	const uint8_t *tail;

	wb_rd_u32(c, "relid", -1, &out->u.del.relid);
	tail = c->r.p;
	wb_rd_at(c, "key", -1, WANT_VALUE, "value");
	mpr_value(&c->r, &out->u.del.key);
	out->u.del.tail.ptr = (const char *) tail;
	out->u.del.tail.len = (uint32_t) (c->r.p - tail);
}

/* -------------------------------------------------------------- TRUNCATE */

void
wb_enc_truncate_start(wb_enc *e, uint32_t flags, uint32_t nrelids)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 3, WB_TRUNCATE);
	msgpack_pack_uint32(&pk, flags);
	msgpack_pack_array(&pk, nrelids);
}

void
wb_enc_relid(wb_enc *e, uint32_t relid)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_uint32(&pk, relid);
}

static void
wb_read_truncate(wb_rd *c, wb_record *out)
{
	wb_dec	*d = c->d;
	uint32_t n;

	wb_rd_u32(c, "flags", -1, &out->u.truncate.flags);
	n = wb_rd_array(c, "relids", WB_MAX_TRUNCATE_RELIDS);
	if (!wb_rd_grow(c, (void **) &d->relids, &d->relids_cap, n,
					sizeof(uint32_t), WB_MAX_TRUNCATE_RELIDS))
		return;
	for (uint32_t i = 0; i < n && !c->r.failed; i++)
		wb_rd_u32(c, "relids", (long) i, &d->relids[i]);
	out->u.truncate.nrelids = n;
	out->u.truncate.relids = d->relids;
}

/* --------------------------------------------------------------- MESSAGE */

void
wb_enc_message(wb_enc *e, bool transactional, uint64_t lsn, const char *prefix,
			   size_t prefix_len, const char *content, size_t content_len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 5, WB_MESSAGE);
	if (transactional)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msgpack_pack_uint64(&pk, lsn);
	wb_pack_str(e, &pk, prefix, prefix_len);
	wb_pack_bin(e, &pk, content, content_len);
}

static void
wb_read_message(wb_rd *c, wb_record *out)
{
	wb_rd_at(c, "transactional", -1, WANT(MPR_BOOL), "bool");
	mpr_bool(&c->r, &out->u.message.transactional);
	wb_rd_u64(c, "lsn", &out->u.message.lsn);
	wb_rd_str(c, "prefix", &out->u.message.prefix);
	wb_rd_at(c, "content", -1, WANT(MPR_BIN), "bin");
	mpr_bin(&c->r, &out->u.message.content);
}

/* ------------------------------------------------------------- WITHDRAWN */

void
wb_enc_withdrawn(wb_enc *e, uint32_t relid, bool dropped, const char *reason,
				 size_t reason_len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_head(&pk, 4, WB_WITHDRAWN);
	msgpack_pack_uint32(&pk, relid);
	if (dropped)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	wb_pack_str(e, &pk, reason, reason_len);
}

static void
wb_read_withdrawn(wb_rd *c, wb_record *out)
{
	wb_rd_u32(c, "relid", -1, &out->u.withdrawn.relid);
	wb_rd_at(c, "dropped", -1, WANT(MPR_BOOL), "bool");
	mpr_bool(&c->r, &out->u.withdrawn.dropped);
	wb_rd_str(c, "reason", &out->u.withdrawn.reason);
}

/* ---------------------------------------------------------------- values */

/* Their reader is mpr_value, shared with the bus envelopes. */

void
wb_enc_v_nil(wb_enc *e)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_nil(&pk);
}

void
wb_enc_v_bool(wb_enc *e, bool b)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	if (b)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
}

void
wb_enc_v_int(wb_enc *e, int64_t i)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_int64(&pk, i);
}

void
wb_enc_v_float32(wb_enc *e, float f)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_float(&pk, f);
}

void
wb_enc_v_float64(wb_enc *e, double d)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_double(&pk, d);
}

void
wb_enc_v_str(wb_enc *e, const char *s, size_t len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_str(e, &pk, s, len);
}

void
wb_enc_v_bin(wb_enc *e, const void *p, size_t len)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_bin(e, &pk, p, len);
}

void
wb_enc_v_timestamp(wb_enc *e, wb_timestamp ts)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	wb_pack_timestamp(e, &pk, ts);
}

/* ext 1 with an empty payload: msgpack-c writes it as ext8, c7 00 01. */
void
wb_enc_v_unchanged_toast(wb_enc *e)
{
	msgpack_packer pk = wb_packer(e);

	if (e->failed)
		return;
	msgpack_pack_ext(&pk, 0, WB_EXT_UNCHANGED_TOAST);
}

void
wb_enc_value(wb_enc *e, const wb_value *v)
{
	switch (v->type)
	{
		case WB_V_NIL:
			wb_enc_v_nil(e);
			return;
		case WB_V_BOOL:
			wb_enc_v_bool(e, v->v.b);
			return;
		case WB_V_INT:
			wb_enc_v_int(e, v->v.i);
			return;
		case WB_V_FLOAT32:
			wb_enc_v_float32(e, v->v.f32);
			return;
		case WB_V_FLOAT64:
			wb_enc_v_float64(e, v->v.f64);
			return;
		case WB_V_STR:
			wb_enc_v_str(e, v->v.s.ptr, v->v.s.len);
			return;
		case WB_V_BIN:
			wb_enc_v_bin(e, v->v.s.ptr, v->v.s.len);
			return;
		case WB_V_TIMESTAMP:
			wb_enc_v_timestamp(e, v->v.ts);
			return;
		case WB_V_UNCHANGED_TOAST:
			wb_enc_v_unchanged_toast(e);
			return;
	}
	/* a value type this version does not know */
	e->failed = 1;
}

/* --------------------------------------------------------------- decoder */

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
			return nelems == 7 ? 7 : 6; /* version 2 : version 1 */
		case WB_INSERT:
		case WB_DELETE:
		case WB_TRUNCATE:
			return 3;
		case WB_UPDATE:
			return nelems == 4 ? 4 : 3;
		case WB_MESSAGE:
			return 5;
		case WB_WITHDRAWN:
			return 4;
	}
	return 0;
}

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
	wb_rd	 c;
	uint32_t nelems;
	uint32_t expected;
	uint64_t kind = 0;

	c.d = d;
	c.base = buf;
	c.len = len < WB_MAX_RECORD_BYTES ? len : WB_MAX_RECORD_BYTES;
	c.rc = 0;
	mpr_init(&c.r, buf, c.len);
	wb_rd_note(&c, c.base, "record", -1, 0, NULL);
	d->errmsg[0] = '\0';

	/* RELATION, the longest record, has 7 elements (version 2) */
	nelems = wb_rd_array(&c, "record", 7);
	if (!c.r.failed && nelems == 0)
	{
		wb_rd_at(&c, "kind", -1, 0, NULL);
		wb_rd_fail(&c, "empty record array");
	}
	wb_rd_u64(&c, "kind", &kind);
	if (c.r.failed)
		return wb_rd_error(&c);
	expected = wb_record_size(kind, nelems);
	if (expected == 0)
	{
		wb_rd_fail(&c, "unknown record kind %llu", (unsigned long long) kind);
		return wb_rd_error(&c);
	}
	if (expected != nelems)
	{
		const char *or_other = "";

		if (kind == WB_UPDATE)
			or_other = " or 4";
		else if (kind == WB_RELATION)
			or_other = " or 7";
		wb_rd_note(&c, c.base, "record", -1, 0, NULL);
		wb_rd_fail(&c, "%s record has %u elements, expected %u%s",
				   wb_kind_name((int) kind), nelems, expected, or_other);
		return wb_rd_error(&c);
	}
	out->kind = (wb_kind) kind;

	switch (out->kind)
	{
		case WB_BEGIN:
			wb_read_begin(&c, out);
			break;
		case WB_COMMIT:
			wb_read_commit(&c, out);
			break;
		case WB_RELATION:
			wb_read_relation(&c, out, nelems == 7);
			break;
		case WB_INSERT:
			wb_read_change(&c, out, false);
			break;
		case WB_UPDATE:
			wb_read_change(&c, out, nelems == 4);
			break;
		case WB_DELETE:
			wb_read_delete(&c, out);
			break;
		case WB_TRUNCATE:
			wb_read_truncate(&c, out);
			break;
		case WB_MESSAGE:
			wb_read_message(&c, out);
			break;
		case WB_WITHDRAWN:
			wb_read_withdrawn(&c, out);
			break;
	}
	if (c.r.failed)
		return wb_rd_error(&c);
	if (consumed)
		*consumed = (size_t) (c.r.p - c.base);
	return WB_OK;
}

/* ------------------------------------------------------------------ misc */

const char *
wb_kind_name(int kind)
{
	switch (kind)
	{
		case WB_BEGIN:
			return "begin";
		case WB_COMMIT:
			return "commit";
		case WB_RELATION:
			return "relation";
		case WB_INSERT:
			return "insert";
		case WB_UPDATE:
			return "update";
		case WB_DELETE:
			return "delete";
		case WB_TRUNCATE:
			return "truncate";
		case WB_MESSAGE:
			return "message";
		case WB_WITHDRAWN:
			return "withdrawn";
	}
	return "unknown";
}

/*
 * PostgreSQL counts microseconds from 2000-01-01 00:00 UTC.  Division
 * floors so that nsec stays in 0..999999999 for instants before 2000:
 * -1 us is 1999-12-31 23:59:59.999999000.
 */
wb_timestamp
wb_timestamp_from_pg(int64_t pg_usec)
{
	wb_timestamp ts;
	int64_t		 sec = pg_usec / 1000000;
	int64_t		 usec = pg_usec % 1000000;

	if (usec < 0)
	{
		sec -= 1;
		usec += 1000000;
	}
	ts.sec = sec + WB_PG_EPOCH_OFFSET_SEC;
	ts.nsec = (uint32_t) usec * 1000u;
	return ts;
}

int
wb_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
