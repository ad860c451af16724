/*-------------------------------------------------------------------------
 *
 * requests.c
 *	  Control requests recorded for the loop (see requests.h).
 *
 *-------------------------------------------------------------------------
 */
#include "requests.h"

#include <stdio.h>
#include <string.h>

void
wr_requests_ack(wr_requests *q, uint64_t min_acked_end)
{
	if (!q->acked || min_acked_end > q->min_acked_end)
		q->min_acked_end = min_acked_end;
	q->acked = true;
}

bool
wr_requests_rewind(wr_requests *q, const char *reason)
{
	if (q->rewind)
		return false;
	q->rewind = true;
	snprintf(q->rewind_reason, sizeof(q->rewind_reason), "%s", reason);
	return true;
}

bool
wr_requests_take_ack(wr_requests *q, uint64_t *min_acked_end)
{
	if (!q->acked)
		return false;
	*min_acked_end = q->min_acked_end;
	q->acked = false;
	q->min_acked_end = 0;
	return true;
}

bool
wr_requests_take_rewind(wr_requests *q, char *reason, size_t len)
{
	if (!q->rewind)
		return false;
	if (len > 0)
		snprintf(reason, len, "%s", q->rewind_reason);
	q->rewind = false;
	q->rewind_reason[0] = '\0';
	return true;
}
