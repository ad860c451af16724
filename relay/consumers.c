/*-------------------------------------------------------------------------
 *
 * consumers.c
 *	  Durable consumer positions (see consumers.h).
 *
 *-------------------------------------------------------------------------
 */
#include "consumers.h"

#include <string.h>

#include "log.h"

/* Repeat the lag warning this often while a consumer stays over. */
#define WR_LAG_WARN_EVERY_MS 60000

void
wr_consumers_init(wr_consumers *cs, const wr_config *cfg)
{
	memset(cs, 0, sizeof(*cs));
	cs->n = cfg->ndurable;
	cs->timeout_ms = cfg->consumer_timeout_ms;
	cs->lag_limit = cfg->lag_limit_bytes;
	for (int i = 0; i < cs->n; i++)
		cs->c[i].name = cfg->durable[i];
}

void
wr_consumers_start(wr_consumers *cs, uint64_t slot_confirmed)
{
	for (int i = 0; i < cs->n; i++)
		if (cs->c[i].acked_end < slot_confirmed)
			cs->c[i].acked_end = slot_confirmed;
}

wr_consumer *
wr_consumers_find(wr_consumers *cs, const char *name, size_t len)
{
	for (int i = 0; i < cs->n; i++)
		if (strlen(cs->c[i].name) == len &&
			memcmp(cs->c[i].name, name, len) == 0)
			return &cs->c[i];
	return NULL;
}

void
wr_consumers_heard(wr_consumer *c, int64_t now_ms)
{
	if (!c->heard)
		wr_info("durable consumer \"%s\" connected", c->name);
	c->heard = true;
	c->last_heard_ms = now_ms;
}

void
wr_consumers_ack(wr_consumer *c, wr_wkey key, uint64_t end_lsn,
				 const wr_wkey *release, int64_t now_ms)
{
	wr_consumers_heard(c, now_ms);
	c->acks++;
	if (wr_wkey_cmp(key, c->acked_key) > 0)
		c->acked_key = key;
	if (wr_wkey_cmp(c->acked_key, c->released_key) > 0)
		c->released_key = c->acked_key;
	if (release != NULL && wr_wkey_cmp(*release, c->released_key) > 0)
		c->released_key = *release;
	if (end_lsn > c->acked_end)
		c->acked_end = end_lsn;
}

bool
wr_consumer_connected(const wr_consumers *cs, const wr_consumer *c,
					  int64_t now_ms)
{
	return c->heard && now_ms - c->last_heard_ms <= cs->timeout_ms;
}

wr_wkey
wr_consumers_hold(const wr_consumers *cs, int64_t now_ms)
{
	wr_wkey hold = {UINT64_MAX, UINT32_MAX};

	for (int i = 0; i < cs->n; i++)
		if (wr_consumer_connected(cs, &cs->c[i], now_ms) &&
			wr_wkey_cmp(cs->c[i].released_key, hold) < 0)
			hold = cs->c[i].released_key;
	return hold;
}

uint64_t
wr_consumers_min_end(const wr_consumers *cs)
{
	uint64_t min = UINT64_MAX;

	for (int i = 0; i < cs->n; i++)
		if (cs->c[i].acked_end < min)
			min = cs->c[i].acked_end;
	return min;
}

void
wr_consumers_check_lag(wr_consumers *cs, uint64_t received_lsn, int64_t now_ms)
{
	if (cs->lag_limit == 0)
		return;
	for (int i = 0; i < cs->n; i++)
	{
		wr_consumer *c = &cs->c[i];
		uint64_t	 lag =
			received_lsn > c->acked_end ? received_lsn - c->acked_end : 0;

		if (lag > cs->lag_limit)
		{
			if (!c->over_lag)
				cs->lag_warnings++;
			if (!c->over_lag ||
				now_ms - c->lag_warned_ms >= WR_LAG_WARN_EVERY_MS)
			{
				wr_warning("durable consumer \"%s\" lags by %llu bytes, over "
						   "the lag limit of %llu: PostgreSQL keeps all this "
						   "WAL until it acknowledges (%s)",
						   c->name, (unsigned long long) lag,
						   (unsigned long long) cs->lag_limit,
						   wr_consumer_connected(cs, c, now_ms) ?
							   "it is connected but slow" :
							   "it is not connected");
				c->lag_warned_ms = now_ms;
			}
			c->over_lag = true;
		}
		else if (c->over_lag)
		{
			wr_info("durable consumer \"%s\" is back under the lag limit",
					c->name);
			c->over_lag = false;
		}
	}
}

int
wr_consumers_over_lag(const wr_consumers *cs)
{
	int n = 0;

	for (int i = 0; i < cs->n; i++)
		n += cs->c[i].over_lag;
	return n;
}
