/*-------------------------------------------------------------------------
 *
 * wire_text.h
 *	  Text forms of wire values shared by walbus-dump and walbus-tap:
 *	  LSNs as PostgreSQL prints them and timestamps as RFC 3339 in UTC.
 *
 * Both write into a caller's buffer and never fail for any value the wire
 * format can carry.  No global state; thread-safe.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WIRE_TEXT_H
#define WIRE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walbus_proto.h"

#define WIRE_TEXT_LSN_LEN		24
#define WIRE_TEXT_TIMESTAMP_LEN 80

/* PostgreSQL's %X/%X. */
extern void wire_text_lsn(char buf[WIRE_TEXT_LSN_LEN], uint64_t lsn);

/*
 * "2026-11-24T01:13:06.123456Z": 6 fraction digits when the nanoseconds
 * are whole microseconds, else 9; with always_fraction false a zero
 * fraction is left out.  Any int64 second count (no time_t bound).
 */
extern void wire_text_timestamp(char buf[WIRE_TEXT_TIMESTAMP_LEN],
								wb_timestamp ts, bool always_fraction);

#endif							/* WIRE_TEXT_H */
