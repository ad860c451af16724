/*-------------------------------------------------------------------------
 *
 * wire_text.h
 *	  Text forms of wire values shared by walbus-dump and walbus-tap (the
 *	  JSON dialect of docs/JSON.md): LSNs as PostgreSQL prints them,
 *	  timestamps as RFC 3339 in UTC, and bytes as PostgreSQL's bytea hex.
 *
 * All write into a caller's buffer and never fail for any value the wire
 * format can carry.  No global state; thread-safe.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WIRE_TEXT_H
#define WIRE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "walbus_proto.h"

#define WIRE_TEXT_LSN_LEN		24
#define WIRE_TEXT_TIMESTAMP_LEN 80

/* PostgreSQL's %X/%X. */
extern void wire_text_lsn(char buf[WIRE_TEXT_LSN_LEN], uint64_t lsn);

/*
 * "2026-11-24T01:13:06.123456Z": 6 fraction digits when the nanoseconds
 * are whole microseconds, else 9, and none when they are 0
 * ("2026-11-24T01:13:06Z").  Any int64 second count (no time_t bound).
 */
extern void wire_text_timestamp(char		 buf[WIRE_TEXT_TIMESTAMP_LEN],
								wb_timestamp ts);

/* The buffer wire_text_hex needs for len bytes. */
#define WIRE_TEXT_HEX_LEN(len) (2 + 2 * (size_t) (len) + 1)

/*
 * "\x" and two lowercase hex digits per byte, as PostgreSQL prints a
 * bytea: for bytea values, and for text that is not valid UTF-8.
 */
extern void wire_text_hex(char *buf, const void *bytes, size_t len);

#endif /* WIRE_TEXT_H */
