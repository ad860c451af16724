/*-------------------------------------------------------------------------
 *
 * msgwrite.h
 *	  The wb_enc write callback the relay uses to build nng messages.
 *
 * nng 1.5 grows a message to exactly the size asked for, so a message
 * built from many small appends past its capacity (a wide row, a replay
 * page of thousands of messages) would be copied again on every append:
 * quadratic.  This callback doubles the capacity instead.  ctx is the
 * nng_msg; returns nng's error code, 0 on success.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_MSGWRITE_H
#define WR_MSGWRITE_H

#include <stddef.h>

#include <nng/nng.h>

static inline int
wr_msg_write(void *ctx, const char *buf, size_t len)
{
	nng_msg *m = ctx;
	size_t	 need = nng_msg_len(m) + len;
	size_t	 cap = nng_msg_capacity(m);

	if (need > cap)
	{
		int rv = nng_msg_reserve(m, need > 2 * cap ? need : 2 * cap);

		if (rv != 0)
			return rv;
	}
	return nng_msg_append(m, buf, len);
}

#endif /* WR_MSGWRITE_H */
