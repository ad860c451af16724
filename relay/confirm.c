/*-------------------------------------------------------------------------
 *
 * confirm.c
 *	  The flush policy, best effort or durable (see confirm.h).
 *
 *-------------------------------------------------------------------------
 */
#include "confirm.h"

static void
wr_confirm_advance(wr_confirm *c, uint64_t lsn)
{
	if (lsn > c->flushed)
		c->flushed = lsn;
}

/* With gates (durable consumers, JetStream): the lowest of them. */
static void
wr_confirm_gated(wr_confirm *c)
{
	uint64_t lsn = UINT64_MAX;

	if (c->durable && c->acked < lsn)
		lsn = c->acked;
	if (c->jetstream && c->js_acked < lsn)
		lsn = c->js_acked;
	if (lsn != UINT64_MAX)
		wr_confirm_advance(c, lsn);
	/*
	 * A keepalive refused while something was unacknowledged counts once
	 * everything received is acknowledged: the source may send no other
	 * (an idle trigger queue makes no new tick).
	 */
	if (c->keepalive_end > c->flushed && !c->txn_open &&
		(!c->durable || c->acked >= c->last_end) &&
		(!c->jetstream || c->js_acked >= c->last_end))
		wr_confirm_advance(c, c->keepalive_end);
}

void
wr_confirm_init(wr_confirm *c, uint64_t start, bool durable)
{
	c->flushed = start;
	c->txn_open = false;
	c->durable = durable;
	c->last_end = start;
	c->acked = start;
	c->jetstream = false;
	c->js_acked = start;
	c->keepalive_end = start;
}

void
wr_confirm_jetstream(wr_confirm *c)
{
	c->jetstream = true;
}

void
wr_confirm_js_acked(wr_confirm *c, uint64_t acked_end)
{
	if (acked_end > c->js_acked)
		c->js_acked = acked_end;
	wr_confirm_gated(c);
}

void
wr_confirm_acked(wr_confirm *c, uint64_t min_acked_end)
{
	if (min_acked_end > c->acked)
		c->acked = min_acked_end;
	wr_confirm_gated(c);
}

uint64_t
wr_confirm_flushed_if_acked(const wr_confirm *c, uint64_t min_acked_end)
{
	wr_confirm after = *c;

	wr_confirm_acked(&after, min_acked_end);
	return after.flushed;
}

/*
 * A new connection resumes at the slot's confirmed position; a transaction
 * that was half published will be sent again from its start.
 */
void
wr_confirm_restart(wr_confirm *c, uint64_t slot_confirmed)
{
	wr_confirm_advance(c, slot_confirmed);
	c->txn_open = false;
}

void
wr_confirm_txn_begin(wr_confirm *c)
{
	c->txn_open = true;
}

void
wr_confirm_txn_published(wr_confirm *c, uint64_t end_lsn)
{
	c->txn_open = false;
	if (end_lsn > c->last_end)
		c->last_end = end_lsn;
	if (!c->durable && !c->jetstream)
		wr_confirm_advance(c, end_lsn);
}

/*
 * The server sends its WAL end in keepalives; between transactions every
 * commit before it has been received and published, so the slot may move
 * there.  This is what keeps the slot advancing while only ineligible
 * tables are written.
 */
void
wr_confirm_keepalive(wr_confirm *c, uint64_t wal_end)
{
	if (c->txn_open)
		return;
	if ((c->durable && c->acked < c->last_end) ||
		(c->jetstream && c->js_acked < c->last_end))
	{
		/* something received is unacknowledged: kept for then */
		if (wal_end > c->keepalive_end)
			c->keepalive_end = wal_end;
		return;
	}
	wr_confirm_advance(c, wal_end);
}
