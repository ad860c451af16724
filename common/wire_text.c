/*-------------------------------------------------------------------------
 *
 * wire_text.c
 *	  Text forms of LSNs, timestamps and bytes; see wire_text.h.
 *
 *-------------------------------------------------------------------------
 */
#include "wire_text.h"

#include <stdio.h>

void
wire_text_lsn(char buf[WIRE_TEXT_LSN_LEN], uint64_t lsn)
{
	snprintf(buf, WIRE_TEXT_LSN_LEN, "%X/%X", (unsigned) (lsn >> 32),
			 (unsigned) lsn);
}

/*
 * Days to a civil date by the proleptic Gregorian era arithmetic (400-year
 * eras of 146097 days), valid for any int64 second count PostgreSQL can
 * produce, where gmtime would be bound by time_t.
 */
void
wire_text_timestamp(char buf[WIRE_TEXT_TIMESTAMP_LEN], wb_timestamp ts)
{
	int64_t days = ts.sec / 86400;
	int64_t secs = ts.sec % 86400;
	int64_t era, day_of_era, year_of_era, day_of_year, shifted_month, year;
	int		month, day;
	char	fraction[16] = "";

	if (secs < 0)
	{
		secs += 86400;
		days--;
	}
	/* count from 0000-03-01 so that leap days fall at the end of a year */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	day_of_era = days - era * 146097;
	year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
				   day_of_era / 146096) /
		365;
	day_of_year = day_of_era -
		(365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	shifted_month = (5 * day_of_year + 2) / 153;
	day = (int) (day_of_year - (153 * shifted_month + 2) / 5 + 1);
	month = (int) (shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
	year = year_of_era + era * 400 + (month <= 2);

	if (ts.nsec % 1000 != 0)
		snprintf(fraction, sizeof(fraction), ".%09u", ts.nsec);
	else if (ts.nsec != 0)
		snprintf(fraction, sizeof(fraction), ".%06u", ts.nsec / 1000);
	snprintf(buf, WIRE_TEXT_TIMESTAMP_LEN,
			 "%s%04lld-%02d-%02dT%02d:%02d:%02d%sZ", year < 0 ? "-" : "",
			 (long long) (year < 0 ? -year : year), month, day,
			 (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60),
			 fraction);
}

void
wire_text_hex(char *buf, const void *bytes, size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char *p = bytes;

	buf[0] = '\\';
	buf[1] = 'x';
	for (size_t i = 0; i < len; i++)
	{
		buf[2 + 2 * i] = digits[p[i] >> 4];
		buf[3 + 2 * i] = digits[p[i] & 15];
	}
	buf[2 + 2 * len] = '\0';
}
