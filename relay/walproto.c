/*-------------------------------------------------------------------------
 *
 * walproto.c
 *	  The CopyBoth replication messages, read and written (see walproto.h).
 *
 *-------------------------------------------------------------------------
 */
#include "walproto.h"

#include <stdio.h>
#include <string.h>

static uint64_t
wr_wp_get64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | (unsigned char) p[i];
	return v;
}

static void
wr_wp_put64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char) (v & 0xff);
}

/*
 * A message shorter than its fields is torn.  The server's messages may
 * grow (at_least); a status update, whose layout we write, must be exact.
 */
static int
wr_wp_length(const char *what, size_t len, size_t want, bool at_least,
			 char *err, size_t errlen)
{
	if (len == want || (at_least && len > want))
		return WR_WP_OK;
	snprintf(err, errlen, "%s message of %zu bytes (expected %s%zu)", what,
			 len, at_least ? "at least " : "", want);
	return WR_WP_EMALFORMED;
}

int
wr_wp_read(const char *buf, size_t len, wr_wp_msg *msg, char *err,
		   size_t errlen)
{
	memset(msg, 0, sizeof(*msg));
	if (len == 0)
	{
		snprintf(err, errlen, "empty replication message");
		return WR_WP_EMALFORMED;
	}
	msg->type = buf[0];
	switch (buf[0])
	{
		case 'w':
			if (wr_wp_length("XLogData", len, WR_WP_XLOGDATA_HDR, true, err,
							 errlen) != WR_WP_OK)
				return WR_WP_EMALFORMED;
			msg->kind = WR_WP_XLOGDATA;
			msg->u.xlogdata.data_start = wr_wp_get64(buf + 1);
			msg->u.xlogdata.wal_end = wr_wp_get64(buf + 9);
			msg->u.xlogdata.send_time = (int64_t) wr_wp_get64(buf + 17);
			msg->u.xlogdata.data = buf + WR_WP_XLOGDATA_HDR;
			msg->u.xlogdata.len = len - WR_WP_XLOGDATA_HDR;
			return WR_WP_OK;

		case 'k':
			/* the server may append fields one day; they are ignored */
			if (wr_wp_length("keepalive", len, WR_WP_KEEPALIVE_LEN, true, err,
							 errlen) != WR_WP_OK)
				return WR_WP_EMALFORMED;
			msg->kind = WR_WP_KEEPALIVE;
			msg->u.keepalive.wal_end = wr_wp_get64(buf + 1);
			msg->u.keepalive.send_time = (int64_t) wr_wp_get64(buf + 9);
			msg->u.keepalive.reply_requested = buf[17] != 0;
			return WR_WP_OK;

		case 'r':
			if (wr_wp_length("status update", len, WR_WP_STATUS_LEN, false,
							 err, errlen) != WR_WP_OK)
				return WR_WP_EMALFORMED;
			msg->kind = WR_WP_STATUS;
			msg->u.status.write_lsn = wr_wp_get64(buf + 1);
			msg->u.status.flush_lsn = wr_wp_get64(buf + 9);
			msg->u.status.apply_lsn = wr_wp_get64(buf + 17);
			msg->u.status.send_time = (int64_t) wr_wp_get64(buf + 25);
			msg->u.status.reply_requested = buf[33] != 0;
			return WR_WP_OK;

		default:
			msg->kind = WR_WP_UNKNOWN;
			return WR_WP_OK;
	}
}

size_t
wr_wp_write(const wr_wp_msg *msg, char *buf, size_t cap)
{
	size_t len;

	switch (msg->kind)
	{
		case WR_WP_XLOGDATA:
			len = WR_WP_XLOGDATA_HDR + msg->u.xlogdata.len;
			if (cap < len || len < WR_WP_XLOGDATA_HDR)
				return 0;
			buf[0] = 'w';
			wr_wp_put64(buf + 1, msg->u.xlogdata.data_start);
			wr_wp_put64(buf + 9, msg->u.xlogdata.wal_end);
			wr_wp_put64(buf + 17, (uint64_t) msg->u.xlogdata.send_time);
			if (msg->u.xlogdata.len > 0)
				memcpy(buf + WR_WP_XLOGDATA_HDR, msg->u.xlogdata.data,
					   msg->u.xlogdata.len);
			return len;

		case WR_WP_KEEPALIVE:
			if (cap < WR_WP_KEEPALIVE_LEN)
				return 0;
			buf[0] = 'k';
			wr_wp_put64(buf + 1, msg->u.keepalive.wal_end);
			wr_wp_put64(buf + 9, (uint64_t) msg->u.keepalive.send_time);
			buf[17] = msg->u.keepalive.reply_requested ? 1 : 0;
			return WR_WP_KEEPALIVE_LEN;

		case WR_WP_STATUS:
			if (cap < WR_WP_STATUS_LEN)
				return 0;
			buf[0] = 'r';
			wr_wp_put64(buf + 1, msg->u.status.write_lsn);
			wr_wp_put64(buf + 9, msg->u.status.flush_lsn);
			wr_wp_put64(buf + 17, msg->u.status.apply_lsn);
			wr_wp_put64(buf + 25, (uint64_t) msg->u.status.send_time);
			buf[33] = msg->u.status.reply_requested ? 1 : 0;
			return WR_WP_STATUS_LEN;

		case WR_WP_UNKNOWN:
			break;
	}
	return 0;
}
