/*-------------------------------------------------------------------------
 *
 * walproto.h
 *	  The replication sub-protocol carried in CopyData messages once
 *	  START_REPLICATION has switched the connection to CopyBoth: the
 *	  server's XLogData ('w') and primary keepalive ('k') messages and the
 *	  client's standby status update ('r').
 *
 * This module owns the byte layout of those three messages and nothing
 * else: matching read and write functions over caller-supplied buffers,
 * no libpq connection, no allocation, so that every layout is tested
 * without a server (test_relay.c).  Integers are big-endian, as the
 * server sends them.  wr_wp_read returns WR_WP_OK or WR_WP_EMALFORMED
 * with a one-line message in the caller's buffer; a message of a type it
 * does not know is not an error (kind WR_WP_UNKNOWN): the server may add
 * some, and the caller decides.  wr_wp_write returns the message's length,
 * or 0 when it does not fit.  Thread-safe: no state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_WALPROTO_H
#define WR_WALPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_WP_OK		 0
#define WR_WP_EMALFORMED (-1)

/* XLogData: 'w', dataStart, walEnd, sendTime, then the record. */
#define WR_WP_XLOGDATA_HDR	(1 + 8 + 8 + 8)
/* Primary keepalive: 'k', walEnd, sendTime, replyRequested. */
#define WR_WP_KEEPALIVE_LEN (1 + 8 + 8 + 1)
/* Standby status update: 'r', write, flush, apply, sendTime, reply. */
#define WR_WP_STATUS_LEN	(1 + 8 + 8 + 8 + 8 + 1)

typedef enum wr_wp_kind
{
	WR_WP_XLOGDATA = 'w',
	WR_WP_KEEPALIVE = 'k',
	WR_WP_STATUS = 'r',
	WR_WP_UNKNOWN = 0 /* a type byte this module does not know */
} wr_wp_kind;

typedef struct wr_wp_xlogdata
{
	uint64_t	data_start; /* WAL position of the record's start */
	uint64_t	wal_end;	/* the server's WAL end when it sent it */
	int64_t		send_time;	/* microseconds since 2000-01-01 UTC */
	const char *data;		/* the plugin's record, inside the buffer */
	size_t		len;
} wr_wp_xlogdata;

typedef struct wr_wp_keepalive
{
	uint64_t wal_end;
	int64_t	 send_time;
	bool	 reply_requested; /* answer now, or be timed out */
} wr_wp_keepalive;

typedef struct wr_wp_status
{
	uint64_t write_lsn; /* received and written */
	uint64_t flush_lsn; /* durable here: the slot may move to it */
	uint64_t apply_lsn; /* applied */
	int64_t	 send_time;
	bool	 reply_requested; /* ask the server to answer at once */
} wr_wp_status;

typedef struct wr_wp_msg
{
	wr_wp_kind kind;
	char	   type; /* the type byte as received */
	union
	{
		wr_wp_xlogdata	xlogdata;
		wr_wp_keepalive keepalive;
		wr_wp_status	status;
	} u;
} wr_wp_msg;

/*
 * Parse one CopyData message of len bytes.  An XLogData's data points
 * into buf, which must outlive msg.
 */
extern int wr_wp_read(const char *buf, size_t len, wr_wp_msg *msg, char *err,
					  size_t errlen);

/*
 * Write msg (any kind but WR_WP_UNKNOWN) into buf: its length, or 0 when
 * cap is too small or the kind unknown.
 */
extern size_t wr_wp_write(const wr_wp_msg *msg, char *buf, size_t cap);

#endif /* WR_WALPROTO_H */
