/*-------------------------------------------------------------------------
 *
 * tvalues.c
 *	  The trigger source's values (see tvalues.h).
 *
 *-------------------------------------------------------------------------
 */
#include "tvalues.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_type OIDs of the types encoded otherwise than as their text */
#define WR_BOOLOID		  16
#define WR_BYTEAOID		  17
#define WR_INT8OID		  20
#define WR_INT2OID		  21
#define WR_INT4OID		  23
#define WR_OIDOID		  26
#define WR_FLOAT4OID	  700
#define WR_FLOAT8OID	  701
#define WR_TIMESTAMPOID	  1114
#define WR_TIMESTAMPTZOID 1184

void
wr_tv_free(wr_tv_row *row)
{
	free(row->buf);
	free(row->fields);
	memset(row, 0, sizeof(*row));
}

static bool
wr_tv_add_field(wr_tv_row *row, bool null, size_t off, size_t len)
{
	if (row->nfields == row->fields_cap)
	{
		uint32_t	 cap = row->fields_cap ? row->fields_cap * 2 : 16;
		wr_tv_field *n = realloc(row->fields, cap * sizeof(wr_tv_field));

		if (n == NULL)
			return false;
		row->fields = n;
		row->fields_cap = cap;
	}
	row->fields[row->nfields++] = (wr_tv_field) {null, off, len};
	return true;
}

bool
wr_tv_split(wr_tv_row *row, const char *text, size_t len, char *err,
			size_t errlen)
{
	size_t i = 1;
	size_t out = 0;

	row->nfields = 0;
	if (len < 2 || text[0] != '(' || text[len - 1] != ')')
	{
		snprintf(err, errlen, "a row's text is not in parentheses");
		return false;
	}
	/* unquoting only shortens: the text's length is enough */
	if (row->cap < len)
	{
		char *n = realloc(row->buf, len);

		if (n == NULL)
		{
			snprintf(err, errlen, "out of memory");
			return false;
		}
		row->buf = n;
		row->cap = len;
	}
	for (;;)
	{
		size_t start = out;
		bool   quoted = false;
		bool   any = false;

		/* one field: up to a comma or the closing parenthesis */
		while (i < len - 1 && text[i] != ',')
		{
			char c = text[i];

			any = true;
			if (c == '"')
			{
				quoted = true;
				i++;
				for (;;)
				{
					if (i >= len - 1)
					{
						snprintf(err, errlen,
								 "a row's text ends inside a "
								 "quoted field");
						return false;
					}
					c = text[i];
					if (c == '"' && i + 1 < len - 1 && text[i + 1] == '"')
					{
						row->buf[out++] = '"';
						i += 2;
					}
					else if (c == '"')
					{
						i++;
						break;
					}
					else if (c == '\\' && i + 1 < len - 1)
					{
						row->buf[out++] = text[i + 1];
						i += 2;
					}
					else
					{
						row->buf[out++] = c;
						i++;
					}
				}
			}
			else
			{
				row->buf[out++] = c;
				i++;
			}
		}
		if (!wr_tv_add_field(row, !any && !quoted, start, out - start))
		{
			snprintf(err, errlen, "out of memory");
			return false;
		}
		if (i >= len - 1)
			break;
		i++; /* the comma */
	}
	return true;
}

const char *
wr_tv_text(const wr_tv_row *row, uint32_t field, size_t *len)
{
	const wr_tv_field *f = &row->fields[field];

	*len = f->len;
	return f->null ? NULL : row->buf + f->off;
}

/* ------------------------------------------------------------ timestamps */

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (year 0 is 1 BC). */
static int64_t
wr_tv_days(int64_t y, int m, int d)
{
	int64_t era;
	int64_t yoe;
	int64_t doy;
	int64_t doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n digits at *p into *v; false unless there were exactly n (or, n = 0, 1+) */
static bool
wr_tv_digits(const char **p, const char *end, int n, int64_t *v)
{
	int k = 0;

	*v = 0;
	while (*p < end && **p >= '0' && **p <= '9' && (n == 0 || k < n))
	{
		if (*v > INT64_MAX / 10 - 10)
			return false;
		*v = *v * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	return n == 0 ? k > 0 : k == n;
}

/*
 * ISO text of a timestamp or timestamptz into microseconds since
 * 2000-01-01 00:00:00 UTC: "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]".
 */
static bool
wr_tv_timestamp(const char *s, size_t len, bool with_tz, int64_t *usec)
{
	const char *p = s;
	const char *end = s + len;
	int64_t		year;
	int64_t		mon;
	int64_t		day;
	int64_t		hour;
	int64_t		min;
	int64_t		sec;
	int64_t		frac = 0;
	int64_t		offset = 0;
	int64_t		days;

	if (!wr_tv_digits(&p, end, 0, &year) || p >= end || *p++ != '-' ||
		!wr_tv_digits(&p, end, 2, &mon) || p >= end || *p++ != '-' ||
		!wr_tv_digits(&p, end, 2, &day) || p >= end || *p++ != ' ' ||
		!wr_tv_digits(&p, end, 2, &hour) || p >= end || *p++ != ':' ||
		!wr_tv_digits(&p, end, 2, &min) || p >= end || *p++ != ':' ||
		!wr_tv_digits(&p, end, 2, &sec))
		return false;
	if (p < end && *p == '.')
	{
		int k = 0;

		p++;
		while (p < end && *p >= '0' && *p <= '9')
		{
			if (k < 6)
				frac = frac * 10 + (*p - '0');
			k++;
			p++;
		}
		if (k == 0 || k > 6)
			return false;
		for (; k < 6; k++)
			frac *= 10;
	}
	if (with_tz)
	{
		int		sign;
		int64_t h;
		int64_t m = 0;
		int64_t sc = 0;

		if (p >= end || (*p != '+' && *p != '-'))
			return false;
		sign = *p++ == '-' ? -1 : 1;
		if (!wr_tv_digits(&p, end, 2, &h))
			return false;
		if (p < end && *p == ':')
		{
			p++;
			if (!wr_tv_digits(&p, end, 2, &m))
				return false;
			if (p < end && *p == ':')
			{
				p++;
				if (!wr_tv_digits(&p, end, 2, &sc))
					return false;
			}
		}
		offset = sign * (h * 3600 + m * 60 + sc);
	}
	if (end - p == 3 && memcmp(p, " BC", 3) == 0)
	{
		year = 1 - year;
		p = end;
	}
	if (p != end || mon < 1 || mon > 12 || day < 1 || day > 31)
		return false;
	days = wr_tv_days(year, (int) mon, (int) day) - wr_tv_days(2000, 1, 1);
	*usec = ((days * 86400 + hour * 3600 + min * 60 + sec - offset) *
			 INT64_C(1000000)) +
		frac;
	return true;
}

/* ----------------------------------------------------------------- values */

bool
wr_tv_encode(wb_enc *e, uint32_t typoid, const wr_tv_row *row, uint32_t field,
			 char *err, size_t errlen)
{
	size_t		len;
	const char *s = wr_tv_text(row, field, &len);
	char		num[64];
	char	   *end;

	if (s == NULL)
	{
		wb_enc_v_nil(e);
		return true;
	}
	switch (typoid)
	{
		case WR_INT2OID:
		case WR_INT4OID:
		case WR_INT8OID:
		case WR_OIDOID:
		{
			long long v;

			if (len == 0 || len >= sizeof(num))
				break;
			memcpy(num, s, len);
			num[len] = '\0';
			errno = 0;
			v = typoid == WR_OIDOID ? (long long) strtoull(num, &end, 10) :
									  strtoll(num, &end, 10);
			if (errno != 0 || *end != '\0')
				break;
			wb_enc_v_int(e, v);
			return true;
		}
		case WR_BOOLOID:
			if (len == 1 && (s[0] == 't' || s[0] == 'f'))
			{
				wb_enc_v_bool(e, s[0] == 't');
				return true;
			}
			break;
		case WR_FLOAT4OID:
		case WR_FLOAT8OID:
		{
			double d;

			if (len == 0 || len >= sizeof(num))
				break;
			memcpy(num, s, len);
			num[len] = '\0';
			errno = 0;
			if (typoid == WR_FLOAT4OID)
			{
				/* float4's shortest text reads back exactly as a float */
				float f = strtof(num, &end);

				if (*end != '\0')
					break;
				wb_enc_v_float32(e, f);
				return true;
			}
			d = strtod(num, &end);
			if (*end != '\0')
				break;
			wb_enc_v_float64(e, d);
			return true;
		}
		case WR_BYTEAOID:
		{
			unsigned char *bin;
			size_t		   n;

			if (len < 2 || s[0] != '\\' || s[1] != 'x' || len % 2 != 0)
				break;
			n = (len - 2) / 2;
			if ((bin = malloc(n ? n : 1)) == NULL)
			{
				snprintf(err, errlen, "out of memory");
				return false;
			}
			for (size_t i = 0; i < n; i++)
			{
				int hi = wb_hex_value(s[2 + 2 * i]);
				int lo = wb_hex_value(s[3 + 2 * i]);

				if (hi < 0 || lo < 0)
				{
					free(bin);
					snprintf(err, errlen, "bytea text is not hex");
					return false;
				}
				bin[i] = (unsigned char) (hi << 4 | lo);
			}
			wb_enc_v_bin(e, bin, n);
			free(bin);
			return true;
		}
		case WR_TIMESTAMPOID:
		case WR_TIMESTAMPTZOID:
		{
			int64_t usec;

			if ((len == 8 && memcmp(s, "infinity", 8) == 0) ||
				(len == 9 && memcmp(s, "-infinity", 9) == 0))
			{
				wb_enc_v_str(e, s, len);
				return true;
			}
			if (!wr_tv_timestamp(s, len, typoid == WR_TIMESTAMPTZOID, &usec))
				break;
			wb_enc_v_timestamp(e, wb_timestamp_from_pg(usec));
			return true;
		}
		default:
			wb_enc_v_str(e, s, len);
			return true;
	}
	snprintf(err, errlen, "cannot read \"%.*s\" as a value of type %u",
			 (int) (len > 40 ? 40 : len), s, typoid);
	return false;
}
