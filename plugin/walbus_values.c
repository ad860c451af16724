/*-------------------------------------------------------------------------
 *
 * walbus_values.c
 *	  Datum to wire value, by the mapping table of docs/PROTOCOL.md §5.
 *
 * Types whose stored bytes already are their text (text, varchar, bpchar,
 * json) are sent without calling their output function, which would only
 * copy them; numbers, booleans, bytea and timestamps get native msgpack
 * types; everything else goes through its cached output function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "walbus_values.h"

/*
 * The server-to-UTF-8 conversion function, NULL while not looked up (and
 * for UTF8 and SQL_ASCII databases, which have none).  The database
 * encoding never changes in a backend, so it is kept for the backend's
 * life, in TopMemoryContext.
 */
static FmgrInfo *walbus_utf8_proc = NULL;

void
walbus_value_prepare(WalbusValueInfo *info, Oid typid, MemoryContext cxt)
{
	Oid	 base = getBaseType(typid);
	Oid	 outfunc;
	bool isvarlena;

	get_typlenbyval(base, &info->typlen, &info->typbyval);
	switch (base)
	{
		case INT2OID:
			info->kind = WALBUS_VALUE_INT2;
			return;
		case INT4OID:
			info->kind = WALBUS_VALUE_INT4;
			return;
		case INT8OID:
			info->kind = WALBUS_VALUE_INT8;
			return;
		case OIDOID:
			info->kind = WALBUS_VALUE_OID;
			return;
		case BOOLOID:
			info->kind = WALBUS_VALUE_BOOL;
			return;
		case FLOAT4OID:
			info->kind = WALBUS_VALUE_FLOAT4;
			return;
		case FLOAT8OID:
			info->kind = WALBUS_VALUE_FLOAT8;
			return;
		case BYTEAOID:
			info->kind = WALBUS_VALUE_BYTEA;
			return;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			info->kind = WALBUS_VALUE_TIMESTAMP;
			return;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case JSONOID:
			info->kind = WALBUS_VALUE_TEXT;
			return;
		case NUMERICOID:
			info->kind = WALBUS_VALUE_NUMERIC;
			fmgr_info_cxt(F_NUMERIC_OUT, &info->output, cxt);
			return;
		default:
			info->kind = WALBUS_VALUE_OUTPUT;
			getTypeOutputInfo(base, &outfunc, &isvarlena);
			fmgr_info_cxt(outfunc, &info->output, cxt);
			return;
	}
}

void
walbus_value_encode(wb_enc *enc, WalbusValueInfo *info, Datum value,
					bool isnull)
{
	struct varlena *v;
	const char	   *s;
	size_t			len;
	Timestamp		ts;

	if (isnull)
	{
		wb_enc_v_nil(enc);
		return;
	}

	/*
	 * Decoding reassembles every TOASTed value the change wrote; one still
	 * pointing to disk is a value the update left alone, which the WAL
	 * does not carry.
	 */
	if (info->typlen == -1 &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value)))
	{
		wb_enc_v_unchanged_toast(enc);
		return;
	}

	switch (info->kind)
	{
		case WALBUS_VALUE_INT2:
			wb_enc_v_int(enc, DatumGetInt16(value));
			return;
		case WALBUS_VALUE_INT4:
			wb_enc_v_int(enc, DatumGetInt32(value));
			return;
		case WALBUS_VALUE_INT8:
			wb_enc_v_int(enc, DatumGetInt64(value));
			return;
		case WALBUS_VALUE_OID:
			wb_enc_v_int(enc, DatumGetObjectId(value));
			return;
		case WALBUS_VALUE_BOOL:
			wb_enc_v_bool(enc, DatumGetBool(value));
			return;
		case WALBUS_VALUE_FLOAT4:
			wb_enc_v_float32(enc, DatumGetFloat4(value));
			return;
		case WALBUS_VALUE_FLOAT8:
			wb_enc_v_float64(enc, DatumGetFloat8(value));
			return;
		case WALBUS_VALUE_BYTEA:
			v = pg_detoast_datum_packed(
				(struct varlena *) DatumGetPointer(value));
			wb_enc_v_bin(enc, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
			return;
		case WALBUS_VALUE_TIMESTAMP:
			ts = DatumGetTimestamp(value);
			if (TIMESTAMP_IS_NOBEGIN(ts))
				wb_enc_v_str(enc, "-infinity", 9);
			else if (TIMESTAMP_IS_NOEND(ts))
				wb_enc_v_str(enc, "infinity", 8);
			else
				wb_enc_v_timestamp(enc, wb_timestamp_from_pg(ts));
			return;
		case WALBUS_VALUE_NUMERIC:
			/* numeric_out writes digits, sign, point, NaN, Infinity only */
			s = OutputFunctionCall(&info->output, value);
			wb_enc_v_str(enc, s, strlen(s));
			return;
		case WALBUS_VALUE_TEXT:
			v = pg_detoast_datum_packed(
				(struct varlena *) DatumGetPointer(value));
			s = walbus_to_utf8(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), &len);
			wb_enc_v_str(enc, s, len);
			return;
		case WALBUS_VALUE_OUTPUT:
			s = OutputFunctionCall(&info->output, value);
			s = walbus_to_utf8(s, strlen(s), &len);
			wb_enc_v_str(enc, s, len);
			return;
	}
	elog(ERROR, "unexpected walbus value kind %d", (int) info->kind);
}

bool
walbus_value_equal(const WalbusValueInfo *info, Datum a, Datum b)
{
	struct varlena *va;
	struct varlena *vb;

	if (info->typlen != -1)
		return datumIsEqual(a, b, info->typbyval, info->typlen);

	/*
	 * Two varlenas holding the same value may differ in header form (short
	 * or long) or compression, so compare their contents.
	 */
	va = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(a));
	vb = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(b));
	return VARSIZE_ANY_EXHDR(va) == VARSIZE_ANY_EXHDR(vb) &&
		memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) == 0;
}

/*
 * The encoder writes a value as a few small pieces (a header byte, then the
 * payload), so most writes fit in room the buffer already has: copy those
 * inline rather than through appendBinaryStringInfo and its enlarge check.
 * The StringInfo stays NUL-terminated either way.
 */
int
walbus_append(void *buf, const char *data, size_t len)
{
	StringInfo str = (StringInfo) buf;

	if (len < (size_t) (str->maxlen - str->len))
	{
		memcpy(str->data + str->len, data, len);
		str->len += (int) len;
		str->data[str->len] = '\0';
		return 0;
	}
	appendBinaryStringInfo(str, data, (int) len);
	return 0;
}

void
walbus_utf8_prepare(void)
{
	int			  encoding = GetDatabaseEncoding();
	MemoryContext oldcxt = CurrentMemoryContext;
	bool		  own_xact = !IsTransactionState();
	Oid			  proc;
	FmgrInfo	 *finfo;

	if (walbus_utf8_proc != NULL || encoding == PG_UTF8 ||
		encoding == PG_SQL_ASCII)
		return;

	/* a walsender starts decoding outside any transaction */
	if (own_xact)
		StartTransactionCommand();
	proc = FindDefaultConversionProc(encoding, PG_UTF8);
	/* clang-format off */
	if (!OidIsValid(proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("no default conversion from encoding \"%s\" to \"UTF8\"",
						GetDatabaseEncodingName()),
				 errhint("walbus sends every string as UTF-8.")));
	/* clang-format on */
	finfo = MemoryContextAlloc(TopMemoryContext, sizeof(FmgrInfo));
	fmgr_info_cxt(proc, finfo, TopMemoryContext);
	if (own_xact)
		CommitTransactionCommand();
	/* committing switches to TopMemoryContext */
	MemoryContextSwitchTo(oldcxt);
	walbus_utf8_proc = finfo;
}

/*
 * Every server encoding is a superset of ASCII, so most strings need no
 * conversion and no copy.  The conversion function is called directly:
 * pg_server_to_any() would look it up in the catalogs on every call, and
 * fail where there is no transaction.
 */
const char *
walbus_to_utf8(const char *s, size_t len, size_t *out_len)
{
	int			   encoding = GetDatabaseEncoding();
	unsigned char *conv;
	size_t		   i;

	*out_len = len;
	if (encoding == PG_UTF8)
		return s;
	for (i = 0; i < len && !IS_HIGHBIT_SET(s[i]); i++)
		;
	if (i == len)
		return s;

	/*
	 * SQL_ASCII stores bytes without knowing their encoding, so there is
	 * nothing to convert from.  They go out as stored: refusing them would
	 * stop the stream at this change for good (the slot cannot skip it), and
	 * docs/PROTOCOL.md tells consumers of such databases to expect it.
	 */
	if (encoding == PG_SQL_ASCII)
		return s;

	if (walbus_utf8_proc == NULL)
		elog(ERROR, "walbus: conversion to UTF-8 used before it was prepared");
	if (len >= MaxAllocHugeSize / MAX_CONVERSION_GROWTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string of %zu bytes is too long to convert to UTF-8",
						len)));
	conv = MemoryContextAllocHuge(CurrentMemoryContext,
								  len * MAX_CONVERSION_GROWTH + 1);
	(void) FunctionCall6(walbus_utf8_proc, Int32GetDatum(encoding),
						 Int32GetDatum(PG_UTF8), CStringGetDatum(s),
						 CStringGetDatum((char *) conv),
						 Int32GetDatum((int) len), BoolGetDatum(false));
	*out_len = strlen((char *) conv);
	return (const char *) conv;
}
