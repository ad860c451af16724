/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  The relay's single-threaded event loop (see stream.h).
 *
 * Each turn: act on a stop request, send what is due (status update,
 * heartbeat), then take the next CopyData message without blocking; only
 * when none is buffered, poll the libpq socket and the control socket
 * until data arrives or the next timer is due.  While data keeps
 * arriving the control socket is still polled every WR_CONTROL_EVERY
 * messages so that status requests (and acks) are answered under load.
 *
 * Delivery: after each message the replay window is trimmed down to what
 * connected durable consumers still need; while it stays over its limit
 * the loop pauses reading from the server (it keeps answering control
 * requests and sending status updates, which keeps the walsender from
 * timing out), so a slow durable consumer holds the stream back by at most
 * the window.  The loop pauses the same way while too many frames wait
 * for JetStream's acknowledgement (jetstream.h), whose results it takes
 * in wr_poll, woken by their pipe.
 *
 * Control requests answered in wr_poll change nothing of the loop: they
 * are recorded (requests.h) and applied at the top of each turn, in
 * wr_apply_requests; a rewind recorded there ends streaming so that main
 * can restart it (wr_rewind).
 *
 *-------------------------------------------------------------------------
 */
#include "stream.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "reload.h"
#include "metrics.h"
#include "records.h"
#include "schema_events.h"
#include "walproto.h"

/* Messages handled between two looks at the control socket. */
#define WR_CONTROL_EVERY 256

/* While paused on a full window: how often to look again. */
#define WR_PAUSE_POLL_MS 100

/* How long a stopping relay waits for the server to end the copy. */
#define WR_STOP_TIMEOUT_MS 3000

static wb_timestamp
wr_wall_clock(void)
{
	struct timespec ts;
	wb_timestamp	t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t.sec = ts.tv_sec;
	t.nsec = (uint32_t) ts.tv_nsec;
	return t;
}

static bool
wr_send_status(wr_relay *r, bool reply_requested)
{
	uint64_t flushed = wr_confirm_flushed(&r->confirm);
	uint64_t written = r->received_lsn;

	wr_schema_forget(r, flushed);
	wr_backfill_confirmed(r, flushed);

	/* a position we confirm has been received, whatever we last read */
	if (written < flushed)
		written = flushed;
	return wr_pg_send_status(&r->pg, written, flushed, reply_requested);
}

void
wr_heartbeat(wr_relay *r)
{
	wbe_heartbeat hb;

	memset(&hb, 0, sizeof(hb));
	hb.time = wr_wall_clock();
	hb.received_lsn = r->received_lsn;
	hb.flushed_lsn = wr_confirm_flushed(&r->confirm);
	if (wr_pub_heartbeat(&r->pub, &hb))
		r->stats.heartbeats++;
}

/*
 * Let the window forget what no connected durable consumer needs; true
 * when it is still full, i.e. reading must pause.
 */
bool
wr_window_pressure(wr_relay *r, int64_t now)
{
	if (!wr_window_full(&r->window))
		return false;
	wr_window_trim(&r->window, wr_consumers_hold(&r->consumers, now));
	if (wr_window_full(&r->window) != r->paused)
	{
		r->paused = !r->paused;
		/* routine under load (it is the flow control), hence debug */
		if (r->paused)
			wr_debug("replay window full (%llu bytes) of changes a durable "
					 "consumer has not acknowledged: pausing the stream",
					 (unsigned long long) r->window.bytes);
		else
			wr_debug("durable consumers caught up: resuming the stream");
	}
	return r->paused;
}

bool
wr_apply_requests(wr_relay *r)
{
	uint64_t min_acked_end;

	if (wr_requests_take_ack(&r->requests, &min_acked_end))
		wr_confirm_acked(&r->confirm, min_acked_end);
	return r->requests.rewind;
}

void
wr_rewind(wr_relay *r)
{
	char reason[WR_REASON_MAX];

	if (!wr_requests_take_rewind(&r->requests, reason, sizeof(reason)))
		return;
	wr_warning("%s: rewinding the stream to the slot", reason);
	r->stats.rewinds++;
	r->last_commit_lsn = 0;
	wr_window_reset(&r->window);
	r->paused = false;
}

/* The heartbeat under way, after its socket's events or at its deadline. */
static void
wr_txn_heartbeat_io(wr_relay *r)
{
	if (wr_txn_hb_io(&r->txn_hb, wr_now_ms()))
		r->stats.txn_heartbeats++;
}

/* An XLogData message: one plugin record, decoded and handled. */
static bool
wr_xlogdata(wr_relay *r, const wr_wp_xlogdata *x)
{
	wb_record rec;
	size_t	  consumed = 0;
	int		  rc;

	if (x->data_start > r->received_lsn)
		r->received_lsn = x->data_start;
	if (x->wal_end > r->server_lsn)
		r->server_lsn = x->wal_end;

	rc = wb_decode(&r->dec, x->data, x->len, &rec, &consumed);
	if (rc == WB_OK && consumed != x->len)
	{
		rc = WB_EMALFORMED;
		snprintf(r->dec.errmsg, sizeof(r->dec.errmsg),
				 "%zu bytes after the record", x->len - consumed);
	}
	if (rc != WB_OK)
	{
		wr_error("malformed walbus record at " WR_LSN_FMT ": %s (is the "
				 "plugin on the server the same version as the relay?)",
				 WR_LSN_ARGS(x->data_start), wb_dec_errmsg(&r->dec));
		return false;
	}
	return wr_records_handle(r, &rec);
}

/* Handle one CopyData message; *reply is set when the server wants one. */
static bool
wr_copydata(wr_relay *r, const char *buf, int len, bool *reply)
{
	wr_wp_msg msg;
	char	  err[128];

	if (wr_wp_read(buf, (size_t) len, &msg, err, sizeof(err)) != WR_WP_OK)
	{
		wr_error("protocol error: %s", err);
		return false;
	}
	switch (msg.kind)
	{
		case WR_WP_XLOGDATA:
			return wr_xlogdata(r, &msg.u.xlogdata);
		case WR_WP_KEEPALIVE:
			if (msg.u.keepalive.wal_end > r->server_lsn)
				r->server_lsn = msg.u.keepalive.wal_end;
			wr_confirm_keepalive(&r->confirm, msg.u.keepalive.wal_end);
			if (msg.u.keepalive.reply_requested)
				*reply = true;
			return true;
		case WR_WP_STATUS:
		case WR_WP_UNKNOWN:
			break;
	}
	/* a status update is ours to send, never the server's */
	wr_warning("ignoring replication message of unknown type 0x%02x",
			   (unsigned char) msg.type);
	return true;
}

/* Add fd (when >= 0) to a poll set: its index, or -1. */
static int
wr_poll_add(struct pollfd *fds, int *nfds, int fd, short events)
{
	if (fd < 0)
		return -1;
	fds[*nfds].fd = fd;
	fds[*nfds].events = events;
	fds[*nfds].revents = 0;
	return (*nfds)++;
}

/* timeout_ms shortened to end by due (INT64_MAX: no deadline). */
static int
wr_poll_until(int timeout_ms, int64_t due, int64_t now)
{
	if (due != INT64_MAX && timeout_ms > due - now)
		return (int) (due > now ? due - now : 0);
	return timeout_ms;
}

/*
 * Poll the libpq socket (pgfd, or -1 when only the control socket
 * matters) and the control socket for at most timeout_ms.  Returns false
 * if reading from the server failed.
 */
bool
wr_poll(wr_relay *r, int pgfd, int timeout_ms)
{
	struct pollfd fds[5];
	int			  nfds = 0;
	int			  pgidx;
	int			  jsidx;
	int			  jsfd = wr_js_fd(&r->js);
	int64_t		  jsdue = wr_js_wake(&r->js);
	int			  bfidx;
	int			  hbidx;
	int			  bffd = wr_backfill_socket(r);
	short		  hbevents = 0;
	int			  hbfd = wr_txn_hb_socket(&r->txn_hb, &hbevents);
	int64_t		  hbdue = wr_txn_hb_deadline(&r->txn_hb);
	int64_t		  now = wr_now_ms();
	int			  rc;

	/* what a scrape reports: the state the loop is about to sleep on */
	wr_metrics_publish(r->metrics, r);

	wr_poll_add(fds, &nfds, r->ctl.fd, POLLIN);
	bfidx = wr_poll_add(fds, &nfds, bffd, POLLIN);
	hbidx = wr_poll_add(fds, &nfds, hbfd, hbevents);
	jsidx = wr_poll_add(fds, &nfds, jsfd, POLLIN);
	pgidx = wr_poll_add(fds, &nfds, pgfd, POLLIN);
	/* a heartbeat that does not answer is given up on at its deadline */
	timeout_ms = wr_poll_until(timeout_ms, hbdue, now);
	/* a frame JetStream did not take is published again when due */
	timeout_ms = wr_poll_until(timeout_ms, jsdue, now);
	rc = poll(fds, nfds, timeout_ms < 0 ? 0 : timeout_ms);
	if (rc < 0)
	{
		if (errno != EINTR)
			wr_warning("poll: %s", strerror(errno));
		return true;
	}
	if (wr_reload_requested)
		wr_reload(r);
	if (fds[0].revents & POLLIN)
		wr_control_serve(&r->ctl, r);
	/* a backfill's rows: taken as they come, the chunk read at their end */
	if (bfidx >= 0 && fds[bfidx].revents != 0)
		wr_backfill_io(r);
	if ((hbidx >= 0 && fds[hbidx].revents != 0) ||
		(hbdue != INT64_MAX && wr_now_ms() >= hbdue))
		wr_txn_heartbeat_io(r);
	if ((jsidx >= 0 && fds[jsidx].revents != 0) ||
		(jsdue != INT64_MAX && wr_now_ms() >= jsdue))
	{
		wr_js_service(&r->js, wr_now_ms());
		wr_confirm_js_acked(&r->confirm, wr_js_acked(&r->js));
	}
	if (pgidx >= 0 && fds[pgidx].revents != 0)
		return wr_pg_consume(&r->pg);
	return true;
}

static int64_t
wr_min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The loop's timers and what it owes the server (times in wr_now_ms). */
typedef struct wr_timers
{
	int64_t next_status;	/* a standby status update is due */
	int64_t next_heartbeat; /* a heartbeat on the bus is due */
	int64_t next_txn_hb;	/* a transactional heartbeat is due */
	int64_t last_heard;		/* last message from the server */
	bool	reply;			/* the server asked for a status update */
} wr_timers;

/*
 * End the copy with a final status update, to stop or to rewind: the open
 * frame first, so that the position reported covers all that was sent.
 */
static void
wr_stream_end(wr_relay *r, bool stopping)
{
	wr_pub_flush(&r->pub);
	if (stopping)
		wr_info("stopping: final status update at " WR_LSN_FMT,
				WR_LSN_ARGS(wr_confirm_flushed(&r->confirm)));
	wr_send_status(r, false);
	wr_pg_stop(&r->pg, WR_STOP_TIMEOUT_MS);
}

/*
 * Send what is due at now: the status update (false when it could not be
 * sent: the connection is lost), the heartbeats.
 */
static bool
wr_stream_due(wr_relay *r, wr_timers *t, int64_t now)
{
	const wr_config *cfg = r->cfg;

	if (t->reply || now >= t->next_status)
	{
		/* a quiet server is asked to answer, to tell silence from loss */
		bool ping = cfg->server_timeout_ms > 0 &&
			now - t->last_heard > cfg->server_timeout_ms / 2;

		if (!wr_send_status(r, ping))
			return false;
		t->next_status = now + cfg->status_interval_ms;
		t->reply = false;
		wr_consumers_check_lag(&r->consumers, r->received_lsn, now);
	}
	if (cfg->txn_heartbeat_ms > 0 && now >= t->next_txn_hb)
	{
		/* begun here, carried on by wr_poll: it never blocks the loop */
		wr_txn_hb_start(&r->txn_hb, cfg->dbname, now);
		t->next_txn_hb = now + cfg->txn_heartbeat_ms;
	}
	if (now >= t->next_heartbeat)
	{
		wr_heartbeat(r);
		t->next_heartbeat = now + cfg->heartbeat_interval_ms;
	}
	return true;
}

/*
 * Nothing buffered: sleep on the server's socket until data, a request or
 * the next timer.  False when reading from the server failed.
 */
static bool
wr_stream_sleep(wr_relay *r, const wr_timers *t, int64_t now)
{
	const wr_config *cfg = r->cfg;
	int64_t			 wake = wr_min64(t->next_status, t->next_heartbeat);

	if (cfg->txn_heartbeat_ms > 0)
		wake = wr_min64(wake, t->next_txn_hb);
	if (cfg->server_timeout_ms > 0)
		wake = wr_min64(wake, t->last_heard + cfg->server_timeout_ms + 1);
	wake = wr_min64(wake, wr_backfill_wake(r));
	return wr_poll(r, wr_pg_socket(&r->pg), (int) (wake - now));
}

wr_stream_rc
wr_stream(wr_relay *r)
{
	const wr_config *cfg = r->cfg;
	int64_t			 now = wr_now_ms();
	wr_timers		 t = {.next_status = now + cfg->status_interval_ms,
						  .next_heartbeat = now + cfg->heartbeat_interval_ms,
						  .next_txn_hb = now + cfg->txn_heartbeat_ms,
						  .last_heard = now};
	int				 since_control = 0;

	r->state = WR_STATE_STREAMING;
	for (;;)
	{
		char *buf;
		int	  len;

		/*
		 * The one place where control requests act: before the stop, so
		 * that the final status update reports the acks already answered.
		 */
		bool rewind = wr_apply_requests(r);

		if (wr_stop_requested)
		{
			wr_stream_end(r, true);
			return WR_STREAM_STOPPED;
		}
		if (rewind)
		{
			/* main rewinds (wr_rewind) once the copy has ended */
			wr_stream_end(r, false);
			return WR_STREAM_REWIND;
		}

		now = wr_now_ms();
		if (!wr_stream_due(r, &t, now))
			return WR_STREAM_LOST;
		if (cfg->server_timeout_ms > 0 &&
			now - t.last_heard > cfg->server_timeout_ms)
		{
			snprintf(r->pg.errmsg, sizeof(r->pg.errmsg),
					 "no message from the server for %d ms",
					 cfg->server_timeout_ms);
			return WR_STREAM_LOST;
		}

		if (wr_window_pressure(r, now) || wr_js_full(&r->js))
		{
			/* what waits in the open frame may be what a consumer needs */
			wr_pub_flush(&r->pub);
			/* the server is not silent: we are not reading it */
			t.last_heard = now;
			if (!wr_poll(r, -1,
						 (int) wr_min64(WR_PAUSE_POLL_MS,
										t.next_status - now)))
				return WR_STREAM_LOST;
			continue;
		}

		len = wr_pg_read(&r->pg, &buf);
		if (len < 0)
			return WR_STREAM_LOST;
		if (len > 0)
		{
			bool ok = wr_copydata(r, buf, len, &t.reply);

			PQfreemem(buf);
			if (!ok)
				return WR_STREAM_FAILED;
			t.last_heard = now;
			if (++since_control >= WR_CONTROL_EVERY)
			{
				since_control = 0;
				wr_poll(r, -1, 0);
			}
			continue;
		}

		/*
		 * Nothing buffered: send the open frame now (a frame never waits
		 * for more changes), then sleep.  A backfill's next chunk is read
		 * first: its watermarks then come through the stream (backfill.h).
		 */
		wr_pub_flush(&r->pub);
		if (wr_backfill_due(r))
		{
			wr_backfill_step(r);
			continue;
		}
		if (!wr_stream_sleep(r, &t, now))
			return WR_STREAM_LOST;
	}
}

bool
wr_stream_idle(wr_relay *r, int timeout_ms)
{
	int64_t end = wr_now_ms() + timeout_ms;
	int64_t now;

	while (!wr_stop_requested && (now = wr_now_ms()) < end)
		wr_poll(r, -1, (int) (end - now));
	return !wr_stop_requested;
}
