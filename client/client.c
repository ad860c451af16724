/*-------------------------------------------------------------------------
 *
 * client.c
 *	  libwalbus: opening and closing a client, and walbus_recv, the loop
 *	  that ties its parts together (see walbus_client.h for the contract).
 *
 * The parts, each a file with its contract in its header:
 *	 busrecv.c	the bus: the nng sub0 socket or JetStream, one frame at a
 *				time decoded into the cursor's frame;
 *	 cursor.c	the frame being delivered, one change per walbus_recv,
 *				repeats dropped by key, walbus_change filled;
 *	 filters.c	subscriptions, topic selection, following renamed tables;
 *	 durable.c	durable consumers: the state machine between the bus and
 *				the relay's replay (pulls), and the acks;
 *	 gapcheck.c best-effort loss detection;
 *	 control_client.c  the control socket's requests.
 *
 * walbus_recv: the rest of the frame being delivered comes first; then,
 * while a durable consumer pulls, frames come from the replay; else from
 * the bus, where a durable consumer checks the seq (a gap or a new relay
 * run starts a pull) and a best-effort one checks for losses (reported as
 * WALBUS_EGAP before the frame's first change).  Frames of topics not
 * taken cost a receive and a decode each, and are dropped before anything
 * else (before best-effort loss detection, which therefore judges what it
 * judged when nng filtered).
 *
 *-------------------------------------------------------------------------
 */
#include "client_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

/* the public name and the control protocol's of a commit's pos are one */
_Static_assert(WALBUS_POS_COMMIT == WBC_POS_COMMIT, "commit pos");

#define WALBUS_DEFAULT_MAX_MESSAGE (64 * 1024 * 1024)
#define WALBUS_DEFAULT_TIMEOUT_MS  5000

int
walbus_fail(walbus_client *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

int64_t
walbus_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
walbus_errmsg(const walbus_client *c)
{
	return c->errmsg;
}

const char *
walbus_kind_name(walbus_kind kind)
{
	const char *name = wbe_kind_name((wbe_kind) kind);

	return name ? name : "unknown";
}

void
walbus_get_stats(const walbus_client *c, walbus_stats *stats)
{
	*stats = c->stats;
	stats->schema_fetches = c->control.fetches;
}

int
walbus_open(walbus_client **out, const walbus_options *opts, char *errbuf,
			size_t errlen)
{
	walbus_client *c;
	size_t		   maxsz;
	int			   timeout;
	int			   queue;
	int			   rv;

	*out = NULL;
	if (opts == NULL || (opts->bus_url == NULL && opts->control_url == NULL))
	{
		snprintf(errbuf, errlen,
				 "walbus_open: a bus or control URL is required");
		return WALBUS_EINVAL;
	}
	if (opts->recv_queue < 0 || opts->recv_queue > WALBUS_RECV_QUEUE_MAX)
	{
		snprintf(errbuf, errlen,
				 "walbus_open: recv_queue %d is out of range: "
				 "nng queues at most %d frames per socket (0: the default, "
				 "%d)",
				 opts->recv_queue, WALBUS_RECV_QUEUE_MAX,
				 WALBUS_RECV_QUEUE_DEFAULT);
		return WALBUS_EINVAL;
	}
	if ((c = calloc(1, sizeof(walbus_client))) == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return WALBUS_ENOMEM;
	}
	wbe_dec_init(&c->dec);
	wgc_init(&c->gaps);
	wfl_init(&c->filters);
	whm_init(&c->control.tables);
	maxsz = opts->max_message_bytes ? opts->max_message_bytes :
									  WALBUS_DEFAULT_MAX_MESSAGE;
	timeout = opts->control_timeout_ms > 0 ? opts->control_timeout_ms :
											 WALBUS_DEFAULT_TIMEOUT_MS;
	/*
	 * nng's default queue (128) overflows on any burst while the caller is
	 * busy with a frame's changes
	 */
	queue = opts->recv_queue > 0 ? opts->recv_queue :
								   WALBUS_RECV_QUEUE_DEFAULT;

	if (opts->bus_url != NULL &&
		(rv = wbr_open(&c->bus, opts, maxsz, queue, timeout, errbuf,
					   errlen)) != WALBUS_OK)
	{
		walbus_close(c);
		return rv;
	}
	if (opts->control_url != NULL)
	{
		if ((rv = wcc_open(&c->control, opts->control_url, opts, timeout,
						   maxsz + 64 * 1024, errbuf, errlen)) != WALBUS_OK)
		{
			walbus_close(c);
			return rv;
		}
		c->have_control = true;
	}
	if (opts->consumer != NULL && c->bus.js != NULL)
		wdu_open_js(c, opts);
	else if (opts->consumer != NULL &&
			 (rv = wdu_open(c, opts, errbuf, errlen)) != WALBUS_OK)
	{
		walbus_close(c);
		return rv;
	}
	*out = c;
	return WALBUS_OK;
}

void
walbus_close(walbus_client *c)
{
	if (c == NULL)
		return;
	wdu_flush_on_close(c);
	wbr_close(&c->bus, &c->control);
	wdu_free(&c->du);
	wcc_close(&c->control);
	wbe_dec_free(&c->dec);
	wgc_free(&c->gaps);
	wcu_events_free(&c->events);
	wfl_free(&c->filters);
	free(c);
}

int
walbus_backfill(walbus_client *c, const char *schema, const char *table,
				uint64_t *id)
{
	int rc;

	if (schema == NULL || table == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "backfill: no schema or table");
	if (!c->have_control)
		return walbus_fail(c, WALBUS_EINVAL,
						   "backfill needs the relay's control URL");
	if ((rc = wcc_backfill(&c->control, schema, table, id)) != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	return WALBUS_OK;
}

int
walbus_relay_status_fetch(walbus_client *c, walbus_relay_status *st,
						  size_t size)
{
	int rc;

	if (!c->have_control)
	{
		memset(st, 0, size);
		return walbus_fail(c, WALBUS_EINVAL,
						   "status needs the relay's control URL");
	}
	if ((rc = wcc_status(&c->control, st, size)) != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	return WALBUS_OK;
}

/*
 * The symbol, for callers that do not see the header's macro: their struct
 * is at least 0.3's, which ended with control_refusals.
 */
int(walbus_relay_status_get)(walbus_client *c, walbus_relay_status *st)
{
	return walbus_relay_status_fetch(c, st,
									 offsetof(walbus_relay_status,
											  control_refusals) +
										 sizeof(st->control_refusals));
}

int
walbus_relay_status_field(const walbus_client *c, size_t i, const char **name,
						  walbus_status_value *value)
{
	return wcc_status_field(&c->control, i, name, value);
}

/* ---------------------------------------------------------------- receive */

int
walbus_recv_fd(walbus_client *c, int *fd)
{
	return wbr_recv_fd(c, fd);
}

/*
 * A frame just received from the bus, decoded into the cursor's frame:
 * load it when the client takes it, else let it go.  Returns WALBUS_EGAP
 * when best-effort loss detection proved frames lost before it (the frame
 * is loaded: its changes follow the report), else WALBUS_OK.
 */
static int
walbus_admit(walbus_client *c)
{
	const wbe_frame *fr = &c->cur.frame;
	uint64_t		 lost = 0;

	if (c->du.durable && c->bus.js == NULL)
	{
		switch (wdu_bus_frame(c, fr))
		{
			case WDU_BUS_PULL:
				wbr_frame_drop(&c->bus); /* the pull gives it again */
				return WALBUS_OK;
			case WDU_BUS_COVERED:

				/*
				 * Transactional frames came in the pull's pages; heartbeats
				 * and non-transactional messages never do (the window does
				 * not keep them), and a bus frame arrives once, so those
				 * are still news.
				 */
				if (fr->in_txn)
				{
					wbr_frame_drop(&c->bus);
					return WALBUS_OK;
				}
				break;
			case WDU_BUS_NEXT:
				break;
		}
	}
	if (!wfl_takes(c, fr))
	{
		/* counted; not asked for */
		if (c->bus.js != NULL)
			wdu_bus_frame_used(c);
		else
			wbr_frame_drop(&c->bus);
		return WALBUS_OK;
	}
	/* JetStream loses nothing; a durable consumer checked the seq above */
	if (!c->du.durable && c->bus.js == NULL)
		lost = wgc_check(&c->gaps, fr, wfl_receives, c);
	if (lost > 0)
	{
		c->stats.gaps++;
		c->stats.lost += lost;
	}
	wcu_load(c, true);
	if (lost > 0)
		return walbus_fail(c, WALBUS_EGAP, "%s", c->gaps.msg);
	return WALBUS_OK;
}

int
walbus_recv(walbus_client *c, walbus_change *out, int timeout_ms)
{
	int64_t deadline = 0;
	bool	have_deadline = false;

	if (!wbr_is_open(&c->bus))
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	for (;;)
	{
		int64_t wait;
		bool	got;
		int		rc;

		/* the rest of the frame being delivered comes first */
		if (c->cur.active)
		{
			if (wcu_take(c, out, &rc))
				return rc;
			if (c->cur.from_bus)
				wdu_bus_frame_used(c);
			c->cur.active = false;
		}

		/*
		 * The clock is read only once a frame is used up: most calls
		 * return the next change of a frame and need no deadline.
		 */
		if (!have_deadline)
		{
			deadline = walbus_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
			have_deadline = true;
		}

		if (wdu_pulling(c))
		{
			rc = wdu_pull(c, timeout_ms, deadline, &got);
			if (rc != WALBUS_OK)
				return rc;
			continue; /* its frame is in the cursor, or it ended */
		}

		wait = timeout_ms < 0 ? -1 : deadline - walbus_now_ms();
		if (timeout_ms >= 0 && wait < 0)
			wait = 0;
		if (!wdu_bus_wait(c, &wait))
			continue; /* the bus went silent: a pull is due */
		rc = wbr_next(c, wait, &got);
		if (rc == WALBUS_ETIMEDOUT &&
			(timeout_ms < 0 || walbus_now_ms() < deadline))
			continue; /* an ack or a silence check was due */
		if (rc == WALBUS_ETIMEDOUT)
			return walbus_fail(c, rc, "timed out");
		if (rc != WALBUS_OK)
			return rc;
		if ((rc = walbus_admit(c)) != WALBUS_OK)
			return rc;
	}
}
