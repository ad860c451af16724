/*-------------------------------------------------------------------------
 *
 * durable.c
 *	  libwalbus's durable consumers: the pull state machine and the acks
 *	  (see durable.h for the states, the transitions and the contract).
 *
 *-------------------------------------------------------------------------
 */
#include "client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "js_source.h"
#include "mpread.h"

/*
 * A pull whose last page still brought this many changes means the stream
 * is ahead of us: keep pulling (a page per round trip is cheaper than the
 * bus, which would overflow again) instead of going back to the bus.
 * Changes, not frames, because a page's number of frames says little.
 */
#define WALBUS_PULL_STAY 256

/*
 * Control requests made inside walbus_recv and walbus_ack wait at most
 * this (or what is left of walbus_recv's timeout, if longer), so that a
 * relay that is down or restarting does not hold a worker for the whole
 * control timeout; what did not get through is tried again later.
 */
#define WALBUS_QUICK_REQUEST_MS 250

static void wdu_maybe_ack(walbus_client *c);

/* ------------------------------------------------------------------ open */

int
wdu_open(walbus_client *c, const walbus_options *opts, char *errbuf,
		 size_t errlen)
{
	wdu		 *d = &c->du;
	wbc_hello h;
	wbc_key	  acked_key;
	int		  rc;

	if (opts->bus_url == NULL || opts->control_url == NULL)
	{
		snprintf(errbuf, errlen,
				 "a durable consumer needs both the bus and "
				 "the control URL");
		return WALBUS_EINVAL;
	}
	if ((d->consumer = strdup(opts->consumer)) == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return WALBUS_ENOMEM;
	}
	if ((rc = wcc_hello(&c->control, d->consumer, &h)) != WALBUS_OK)
	{
		snprintf(errbuf, errlen, "%s", c->control.errmsg);
		return rc;
	}
	d->durable = true;
	d->silence_ms = opts->silence_ms > 0 ? opts->silence_ms :
										   WALBUS_DEFAULT_SILENCE_MS;
	if (opts->resume_commit_lsn != 0 || opts->resume_pos != 0)
	{
		c->have_last = true;
		c->last.lsn = opts->resume_commit_lsn;
		c->last.pos = opts->resume_pos;
		d->acks.acked = c->last; /* the worker applied it: it is acked */
		d->acks.dirty = true;
	}
	else if (h.acked_lsn != 0 || h.acked_commit_lsn != 0)
	{
		/*
		 * No position of its own: start after what the relay knows it
		 * acknowledged: the last change, or else the last whole
		 * transaction (commits follow each other in the WAL, so a
		 * transaction committing at or after that end LSN has every key
		 * above (end, 0)).
		 */
		c->have_last = true;
		c->last.lsn = h.acked_lsn;
		c->last.pos = 0;
		acked_key.lsn = h.acked_commit_lsn;
		acked_key.pos = h.acked_pos;
		if (wbc_key_cmp(acked_key, c->last) > 0)
			c->last = acked_key;
		d->acks.acked = c->last;
	}
	d->acks.acked_end = h.acked_lsn;
	d->state = WALBUS_ST_PULL_NEEDED;
	d->bus_heard_ms = walbus_now_ms();
	return WALBUS_OK;
}

void
wdu_open_js(walbus_client *c, const walbus_options *opts)
{
	wdu *d = &c->du;

	d->durable = true;
	if (opts->resume_commit_lsn != 0 || opts->resume_pos != 0)
	{
		c->have_last = true;
		c->last.lsn = opts->resume_commit_lsn;
		c->last.pos = opts->resume_pos;
		d->acks.acked = c->last;
	}
}

/* Let the replay page go. */
static void
wdu_page_drop(wdu *d)
{
	if (d->rep_msg != NULL)
		nng_msg_free(d->rep_msg);
	d->rep_msg = NULL;
	free(d->rep.messages);
	memset(&d->rep, 0, sizeof(d->rep));
	d->rep_next = 0;
	d->rep_changes = 0;
}

void
wdu_flush_on_close(walbus_client *c)
{
	if (c->du.durable && c->du.acks.dirty)
		walbus_flush_acks(c);
}

void
wdu_free(wdu *d)
{
	wdu_page_drop(d);
	free(d->consumer);
	d->consumer = NULL;
}

/* ----------------------------------------------------------- transitions */

/* BUS -> PULL_NEEDED: frames may be missing after the last key. */
static void
wdu_to_pull_needed(walbus_client *c)
{
	c->du.state = WALBUS_ST_PULL_NEEDED;
}

/* PULL_NEEDED -> PULLING: the first page is asked for afresh. */
static void
wdu_to_pulling(walbus_client *c)
{
	wdu_page_drop(&c->du);
	c->du.state = WALBUS_ST_PULLING;
}

/*
 * PULLING -> BUS: caught up.  The page's run and last seq say what the
 * pull covered: bus frames up to it are skipped.
 */
static void
wdu_to_bus(walbus_client *c)
{
	wdu *d = &c->du;

	d->state = WALBUS_ST_BUS;
	d->run = d->rep.run;
	d->seq = d->rep.last_seq;
	wdu_page_drop(d);
	d->bus_heard_ms = walbus_now_ms();
}

/* ------------------------------------------------------------------ pull */

bool
wdu_pulling(const walbus_client *c)
{
	return c->du.state != WALBUS_ST_BUS;
}

/*
 * What a pull asks the replay for: every topic (the empty prefix), filtered
 * here like the bus.  Asking for the selected topics only would miss the
 * frames of a table renamed inside a page: its new topic is selected only
 * once the page's schema event about it has been taken.
 */
static uint32_t
wdu_prefixes(wb_str *out)
{
	out[0].ptr = "";
	out[0].len = 0;
	return 1;
}

/*
 * The page's next frame into the cursor.  The relay gives every frame
 * after our key, so there is no gap to look for here.
 */
static int
wdu_page_frame(walbus_client *c, bool *got)
{
	wdu		  *d = &c->du;
	wb_str	   m = d->rep.messages[d->rep_next];
	wbe_frame *fr = &c->cur.frame;
	int		   rc;

	rc = wbe_decode(&c->dec, m.ptr, m.len, fr);
	if (rc == WB_ENOMEM)
	{
		/* skipping it would lose its changes: try it again later */
		return walbus_fail(c, WALBUS_ENOMEM, "%s", wbe_dec_errmsg(&c->dec));
	}
	d->rep_next++;
	c->stats.replayed++;
	if (rc != WB_OK)
	{
		/* said, as on the bus; the next call goes on with the page */
		c->stats.malformed++;
		return walbus_fail(c, WALBUS_EPROTO,
						   "skipped a malformed frame of a replay: %s",
						   wbe_dec_errmsg(&c->dec));
	}
	d->rep_changes += fr->kind == WBE_FRAME_CHANGES ? fr->nchanges : 1;
	wcu_load(c, false);
	*got = true;
	return WALBUS_OK;
}

/*
 * Ask for the page after the last key.  true when a page of data is in
 * hand; else *rc is the request's result (WALBUS_OK when the relay is
 * rewinding).  The request waits for what is left of the caller's
 * timeout, but at least WALBUS_QUICK_REQUEST_MS (the control timeout when
 * the caller waits without end).
 */
static bool
wdu_page_request(walbus_client *c, int timeout_ms, int64_t deadline, int *rc)
{
	wdu		*d = &c->du;
	wb_str	 prefixes[WBC_MAX_PREFIXES];
	uint32_t n = wdu_prefixes(prefixes);
	wbc_key	 after = c->have_last ? c->last : (wbc_key) {0, 0};
	int		 request_ms = 0;

	wdu_page_drop(d);
	wdu_maybe_ack(c);
	c->stats.replays++;
	if (timeout_ms >= 0)
	{
		int64_t left = deadline - walbus_now_ms();

		request_ms = (int) (left > WALBUS_QUICK_REQUEST_MS ?
								left :
								WALBUS_QUICK_REQUEST_MS);
	}
	*rc = wcc_replay(&c->control, d->consumer, after.lsn, after.pos, prefixes,
					 n, request_ms, &d->rep_msg, &d->rep);
	if (*rc == WALBUS_OK && mpr_str_eq(d->rep.status, WBC_REPLAY_DATA))
		return true;
	wdu_page_drop(d);
	return false;
}

static void
wdu_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int
wdu_pull(walbus_client *c, int timeout_ms, int64_t deadline, bool *got)
{
	wdu *d = &c->du;
	int	 rc;

	*got = false;
	if (d->state == WALBUS_ST_PULL_NEEDED)
		wdu_to_pulling(c);
	for (;;)
	{
		if (d->rep_msg != NULL && d->rep_next < d->rep.nmessages)
			return wdu_page_frame(c, got);
		if (d->rep_msg != NULL && d->rep.end &&
			d->rep_changes < WALBUS_PULL_STAY)
		{
			wdu_to_bus(c);
			return WALBUS_OK;
		}
		if (wdu_page_request(c, timeout_ms, deadline, &rc))
			continue;
		if (rc == WALBUS_EINVAL)
			return walbus_fail(c, rc, "%s", c->control.errmsg);
		/* rewinding, or unreachable: wait a little and ask again */
		if (timeout_ms == 0 ||
			(timeout_ms > 0 && walbus_now_ms() + WALBUS_RETRY_MS > deadline))
			return walbus_fail(c, WALBUS_ETIMEDOUT, "timed out (%s)",
							   rc == WALBUS_OK ? "relay is rewinding" :
												 c->control.errmsg);
		wdu_sleep_ms(WALBUS_RETRY_MS);
	}
}

/* ------------------------------------------------------------------- bus */

bool
wdu_bus_wait(walbus_client *c, int64_t *wait_ms)
{
	wdu	   *d = &c->du;
	int64_t now;
	int64_t silent_left;

	if (!d->durable)
		return true;
	now = walbus_now_ms();
	wdu_maybe_ack(c);
	if (c->bus.js == NULL)
	{
		silent_left = d->bus_heard_ms + d->silence_ms - now;
		if (silent_left <= 0)
		{
			/* nothing for a while: ask the relay what we missed */
			wdu_to_pull_needed(c);
			d->bus_heard_ms = now;
			return false;
		}
		if (*wait_ms < 0 || silent_left < *wait_ms)
			*wait_ms = silent_left;
	}
	if (d->acks.dirty && (*wait_ms < 0 || *wait_ms > WALBUS_ACK_EVERY_MS))
		*wait_ms = WALBUS_ACK_EVERY_MS;
	return true;
}

wdu_bus_verdict
wdu_bus_frame(walbus_client *c, const wbe_frame *fr)
{
	wdu *d = &c->du;

	d->bus_heard_ms = walbus_now_ms();
	if (fr->head.run != d->run)
	{
		/*
		 * A new relay process: what did it publish before we heard it?
		 * The pull gives that, and this frame again.
		 */
		wdu_to_pull_needed(c);
		return WDU_BUS_PULL;
	}
	if (fr->head.seq <= d->seq)
		return WDU_BUS_COVERED;
	if (fr->head.seq > d->seq + 1)
	{
		/* frames were lost: fetch them, and this one again */
		c->stats.gaps++;
		c->stats.lost += fr->head.seq - d->seq - 1;
		wdu_to_pull_needed(c);
		return WDU_BUS_PULL;
	}
	d->seq = fr->head.seq;
	return WDU_BUS_NEXT;
}

void
wdu_bus_frame_used(walbus_client *c)
{
	wdu *d = &c->du;

	d->bus_heard_ms = walbus_now_ms();
	wbr_frame_done(&c->bus, d->acks.have_delivered, d->acks.delivered);
	/* JetStream: the next ack acknowledges it, once the worker's covers it */
	if (c->bus.js != NULL && d->durable)
		d->acks.dirty = true;
}

/* ------------------------------------------------------------------ acks */

/* Everything delivered is acked: the pending commit frame counts as acked. */
static void
wdu_settle(wdu_acks *a)
{
	if (a->have_pending && wbc_key_cmp(a->acked, a->pending_delivered) >= 0)
	{
		if (a->pending_end > a->acked_end)
			a->acked_end = a->pending_end;
		if (wbc_key_cmp(a->pending_key, a->acked) > 0)
			a->acked = a->pending_key;
		a->have_pending = false;
		a->dirty = true;
	}
}

void
wdu_delivered(walbus_client *c, wbc_key k)
{
	if (!c->du.durable)
		return;
	c->du.acks.have_delivered = true;
	c->du.acks.delivered = k;
}

/* Its end counts once the worker acked all delivered before it. */
void
wdu_commit_taken(walbus_client *c, wbc_key k, uint64_t end_lsn)
{
	wdu_acks *a = &c->du.acks;

	if (!c->du.durable)
		return;
	a->have_pending = true;
	a->pending_key = k;
	a->pending_end = end_lsn;
	if (a->have_delivered)
		a->pending_delivered = a->delivered;
	else
		memset(&a->pending_delivered, 0, sizeof(a->pending_delivered));
	wdu_settle(a);
}

/* quick: a short request timeout, for acks sent on the way (durable.h) */
static int
wdu_send_ack(walbus_client *c, bool quick)
{
	wdu_acks	  *a = &c->du.acks;
	const wbc_key *release = NULL;
	int			   rc;

	if (c->bus.js != NULL)
	{
		/* JetStream keeps what is not acknowledged; the relay is not told */
		rc = wjs_ack(c->bus.js, a->acked, !quick);
		a->sent_ms = walbus_now_ms();
		if (rc != WALBUS_OK)
			return walbus_fail(c, rc, "%s", c->bus.js->errmsg);
		c->stats.acks_sent++;
		a->dirty = false;
		return WALBUS_OK;
	}
	/* a release at or below the ack says nothing the ack does not */
	if (a->have_released && wbc_key_cmp(a->released, a->acked) > 0)
		release = &a->released;
	rc = wcc_ack(&c->control, c->du.consumer, a->acked.lsn, a->acked.pos,
				 a->acked_end, release, quick ? WALBUS_QUICK_REQUEST_MS : 0);
	a->sent_ms = walbus_now_ms();
	if (rc != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	c->stats.acks_sent++;
	a->dirty = false;
	return WALBUS_OK;
}

/* Send the latest ack if one is due. */
static void
wdu_maybe_ack(walbus_client *c)
{
	wdu_acks *a = &c->du.acks;

	if (c->du.durable && a->dirty &&
		walbus_now_ms() - a->sent_ms >= WALBUS_ACK_EVERY_MS)
		wdu_send_ack(c, true);
}

int
walbus_flush_acks(walbus_client *c)
{
	if (!c->du.durable)
		return walbus_fail(c, WALBUS_EINVAL, "not a durable consumer");
	if (!c->du.acks.dirty)
		return WALBUS_OK;
	return wdu_send_ack(c, false);
}

/* The key of a change returned by walbus_recv (it must be in_txn). */
static wbc_key
wdu_change_key(const walbus_change *ch)
{
	wbc_key k;

	k.lsn = ch->commit_lsn;
	k.pos = ch->kind == WALBUS_COMMIT ? WBC_POS_COMMIT : ch->pos;
	return k;
}

int
walbus_ack(walbus_client *c, const walbus_change *ch)
{
	wdu_acks *a = &c->du.acks;
	wbc_key	  k;

	if (!c->du.durable)
		return walbus_fail(c, WALBUS_EINVAL,
						   "walbus_ack needs a durable consumer name");
	if (ch == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "walbus_ack: no change");
	if (!ch->in_txn)
		return WALBUS_OK; /* nothing to remember: never replayed */
	k = wdu_change_key(ch);
	if (wbc_key_cmp(k, a->acked) > 0)
	{
		a->acked = k;
		a->dirty = true;
	}
	if (ch->kind == WALBUS_COMMIT && ch->end_lsn > a->acked_end)
	{
		a->acked_end = ch->end_lsn;
		a->dirty = true;
	}
	wdu_settle(a);
	wdu_maybe_ack(c);
	return WALBUS_OK;
}

int
walbus_release(walbus_client *c, const walbus_change *ch)
{
	wdu_acks *a = &c->du.acks;
	wbc_key	  k;

	if (!c->du.durable)
		return walbus_fail(c, WALBUS_EINVAL,
						   "walbus_release needs a durable consumer name");
	if (ch == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "walbus_release: no change");
	if (!ch->in_txn || c->bus.js != NULL)
		return WALBUS_OK; /* never in the window; JetStream has none */
	k = wdu_change_key(ch);
	if (!a->have_released || wbc_key_cmp(k, a->released) > 0)
	{
		a->have_released = true;
		a->released = k;
		if (wbc_key_cmp(k, a->acked) > 0)
			a->dirty = true;
	}
	wdu_maybe_ack(c);
	return WALBUS_OK;
}
