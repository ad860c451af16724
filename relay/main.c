/*-------------------------------------------------------------------------
 *
 * main.c
 *	  walbus-relay: stream a walbus logical replication slot and publish
 *	  every change on an nng bus.
 *
 * main owns the process: it loads the settings, checks the server and the
 * slot (so a misconfiguration ends with one clear line before any socket
 * is opened), opens the bus and the control socket, then alternates
 * between streaming (stream.c) and reconnecting with capped, jittered
 * exponential backoff.  Only main exits: 0 after SIGTERM/SIGINT, 1 on an
 * error that needs a human, 2 on bad usage.
 *
 *-------------------------------------------------------------------------
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "reload.h"
#include "metrics.h"
#include "records.h"
#include "schema_events.h"
#include "relay.h"
#include "stream.h"
#include "trigger_admin.h"
#include "tsource.h"

/* Run ids fit in 53 bits, so JSON consumers hold them exactly. */
#define WR_RUN_MASK ((UINT64_C(1) << 53) - 1)

/* First reconnect delay; each failure doubles it up to reconnect_max_delay. */
#define WR_BACKOFF_BASE_MS 500

volatile sig_atomic_t wr_stop_requested = 0;

static void
wr_on_stop_signal(int signo)
{
	(void) signo;
	wr_stop_requested = 1;
}

static void
wr_on_reload_signal(int signo)
{
	(void) signo;
	wr_reload_requested = 1;
}

/* No SA_RESTART: the signal must interrupt poll() so the loop sees it. */
static void
wr_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wr_on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = wr_on_reload_signal;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static uint64_t
wr_random64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = ((uint64_t) time(NULL) << 20) ^ (uint64_t) clock();
	return v;
}

/*
 * Delay before reconnect attempt n (from 0): exponential, capped, and
 * drawn uniformly from its upper half so that relays restarted together
 * do not reconnect in lockstep.
 */
int
wr_backoff_ms(const wr_config *cfg, int attempt)
{
	int64_t d = WR_BACKOFF_BASE_MS;

	for (int i = 0; i < attempt && d < cfg->reconnect_max_ms; i++)
		d *= 2;
	if (d > cfg->reconnect_max_ms)
		d = cfg->reconnect_max_ms;
	return (int) (d / 2 + (int64_t) (wr_random64() % (uint64_t) (d / 2 + 1)));
}

/* Streaming (re)starts: positions and the flush policy resume at the slot. */
static void
wr_resume(wr_relay *r)
{
	r->confirmed_lsn = r->pg.slot_confirmed;
	wr_confirm_restart(&r->confirm, r->pg.slot_confirmed);
	if (r->pg.slot_confirmed > r->received_lsn)
		r->received_lsn = r->pg.slot_confirmed;
	wr_info("streaming slot \"%s\" from " WR_LSN_FMT, r->cfg->slot,
			WR_LSN_ARGS(r->pg.slot_confirmed));
}

/*
 * Reconnect until it works, the first attempt at once when asked; reason
 * says why the connection ended, for the warnings of the attempts that
 * fail.  Returns WR_PG_OK, WR_PG_FATAL (message in r->pg.errmsg) or
 * WR_PG_RETRY when asked to stop while waiting.
 */
static wr_pg_rc
wr_reconnect(wr_relay *r, const char *reason, bool at_once)
{
	char why[sizeof(r->pg.errmsg)];

	/* a copy: each failed attempt leaves its own message in pg.errmsg */
	snprintf(why, sizeof(why), "%s", reason);
	for (int attempt = 0;; attempt++)
	{
		int		 delay = 0;
		wr_pg_rc rc;

		if (!at_once || attempt > 0)
			delay = wr_backoff_ms(r->cfg, attempt);
		if (delay > 0)
			wr_warning("%s; reconnecting in %.1f s (attempt %d)", why,
					   delay / 1000.0, attempt + 1);
		r->state = WR_STATE_WAITING;
		if (!wr_stream_idle(r, delay))
			return WR_PG_RETRY;

		r->state = WR_STATE_CONNECTING;
		rc = wr_pg_connect(&r->pg, r->cfg, false);
		if (rc == WR_PG_OK)
		{
			rc = wr_pg_start(&r->pg, r->cfg, false);
			if (rc != WR_PG_OK)
				wr_pg_close(&r->pg);
		}
		if (rc != WR_PG_RETRY)
			return rc;
		memcpy(why, r->pg.errmsg, sizeof(why));
	}
}

/*
 * Stream the slot until asked to stop (0) or until an error that needs a
 * human (1, logged).  A lost connection is reconnected with backoff; a
 * rewind (a durable consumer needs what the window no longer holds)
 * restarts the stream at once at the slot's confirmed position, publishing
 * everything from there again (subscribers drop repeats by key) into a
 * fresh window.
 */
static int
wr_run(wr_relay *r)
{
	for (;;)
	{
		wr_stream_rc src = wr_stream(r);
		wr_pg_rc	 rc;

		if (src == WR_STREAM_STOPPED)
			return 0;
		if (src == WR_STREAM_FAILED)
			return 1;

		wr_records_reset(r);
		/* chunks not confirmed yet are read again after the restart */
		wr_backfill_restart(r);
		wr_pg_close(&r->pg);
		if (src == WR_STREAM_REWIND)
		{
			wr_rewind(r);
			rc = wr_reconnect(r, "rewinding", true);
		}
		else
			rc = wr_reconnect(r, r->pg.errmsg, false);
		if (rc == WR_PG_RETRY) /* stop requested while waiting */
			return 0;
		if (rc == WR_PG_FATAL)
		{
			wr_error("%s", r->pg.errmsg);
			return 1;
		}
		r->stats.reconnects++;
		wr_resume(r);
		/* a rewind publishes everything from there again: same events */
		if (src == WR_STREAM_REWIND)
			wr_schema_undo(r, r->confirmed_lsn);
	}
}

/*
 * Best-effort pub/sub loses what is published before a subscriber
 * connects; --wait-subscribers lets a relay started together with its
 * workers hold the stream until they are there.  False when asked to stop.
 */
static bool
wr_wait_subscribers(wr_relay *r)
{
	if (atomic_load(&r->pub.subscribers) >= r->cfg->wait_subscribers)
		return true;
	wr_info("waiting for %d subscriber%s before streaming",
			r->cfg->wait_subscribers,
			r->cfg->wait_subscribers == 1 ? "" : "s");
	/* looked at often: the workers are typically seconds behind at most */
	while (atomic_load(&r->pub.subscribers) < r->cfg->wait_subscribers)
		if (!wr_stream_idle(r, 10))
			return false;
	return true;
}

/* The publisher's copy hook: the same frame to JetStream. */
static void
wr_js_copy(void *arg, const wr_frame *f, const void *body, size_t len)
{
	wr_js_publish(arg, f->topic->name, f->topic->len, f->key.lsn, f->first.pos,
				  f->key.pos, body, len);
}

/*
 * Open the bus, the control socket, the metrics endpoint and JetStream;
 * false after logging why.
 */
static bool
wr_open_sockets(wr_relay *r)
{
	char			   err[512];
	uint64_t		   run = wr_random64() & WR_RUN_MASK;
	wr_listen_security sec = {.tls_cert = r->cfg->tls_cert,
							  .tls_key = r->cfg->tls_key,
							  .tls_ca = r->cfg->tls_ca,
							  .tls_require_client_cert =
								  r->cfg->tls_require_client_cert,
							  .trusted_network = r->cfg->trusted_network};

	wr_listen_secure(&sec);
	if (wr_pub_open(&r->pub, run ? run : 1, r->cfg->bus_urls, r->cfg->nbus,
					r->cfg->bus_queue, r->cfg->frame_bytes, &r->window, err,
					sizeof(err)) != 0 ||
		wr_control_open(&r->ctl, r->cfg->control_url, err, sizeof(err)) != 0 ||
		(r->cfg->metrics_listen != NULL &&
		 wr_metrics_start(&r->metrics, r, err, sizeof(err)) != 0) ||
		wr_js_open(&r->js, r->cfg, err, sizeof(err)) != 0)
	{
		wr_error("%s", err);
		return false;
	}
	if (r->js.enabled)
	{
		r->pub.copy = wr_js_copy;
		r->pub.copy_arg = &r->js;
	}
	return true;
}

/* Logged once everything is in place, so a failed start is one line. */
static void
wr_log_ready(const wr_relay *r)
{
	for (int i = 0; i < r->cfg->nbus; i++)
		wr_info("publishing on %s", r->cfg->bus_urls[i]);
	for (int i = 0; i < r->cfg->njetstream; i++)
		wr_info("publishing to JetStream stream \"%s\" at %s: the slot "
				"advances only past what JetStream acknowledged",
				r->cfg->jetstream_stream, r->cfg->jetstream_urls[i]);
	wr_info("control socket on %s", r->cfg->control_url);
	if (r->cfg->metrics_listen != NULL)
		wr_info("metrics on http://%s%s/metrics",
				r->cfg->metrics_host == NULL ? "*" : "",
				r->cfg->metrics_listen);
	if (r->cfg->ndurable == 0)
		wr_info("delivery is best effort: no durable consumers are "
				"configured (see --durable)");
	else
	{
		char names[WR_MAX_CONSUMERS * (WR_CONSUMER_NAME_MAX + 2)] = "";

		for (int i = 0; i < r->cfg->ndurable; i++)
		{
			if (i > 0)
				strcat(names, ", ");
			strcat(names, r->cfg->durable[i]);
		}
		wr_info("delivery is durable: the slot advances only past what "
				"%s acknowledged; replay window %llu bytes",
				names, (unsigned long long) r->cfg->window_bytes);
	}
}

int
main(int argc, char **argv)
{
	wr_config cfg;
	wr_relay  r;
	char	  err[1024];
	int		  exit_code = 1;
	wr_pg_rc  rc;

	if (wr_config_load(&cfg, argc, argv, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "walbus-relay: error: %s\n", err);
		return 2;
	}
	wr_log_set_level(cfg.log_level);
	if (cfg.command != NULL)
	{
		/* a command of the trigger source or the preflight, not the daemon */
		if (strcmp(cfg.command, "check") == 0)
			exit_code = wr_check(&cfg, cfg.check_json);
		else
			exit_code = strcmp(cfg.command, "trigger-install") == 0 ?
				wr_trigger_install(&cfg) :
				wr_trigger_remove(&cfg);
		wr_config_free(&cfg);
		return exit_code;
	}
	wr_reload_init(&cfg, argc, argv);
	wr_install_signals();

	memset(&r, 0, sizeof(r));
	r.cfg = &cfg;
	r.started_ms = wr_now_ms();
	r.state = WR_STATE_CONNECTING;
	wb_dec_init(&r.dec);
	wr_relcache_init(&r.rels);
	wr_catalog_init(&r.catalog);
	wr_window_init(&r.window, cfg.window_bytes);
	wr_consumers_init(&r.consumers, &cfg);

	if (cfg.source == WR_SOURCE_TRIGGER)
	{
		/* the queue of trigger-install instead of a slot (tsource.h) */
		if (!wr_open_sockets(&r))
			goto done;
		wr_log_ready(&r);
		if (!wr_wait_subscribers(&r))
		{
			exit_code = 0;
			goto done;
		}
		exit_code = wr_tsource_run(&r);
		if (exit_code == 0)
			wr_info("stopped");
		goto done;
	}

	rc = wr_pg_connect(&r.pg, &cfg, true);
	if (rc != WR_PG_OK)
	{
		wr_error("%s", r.pg.errmsg);
		goto done;
	}
	if (!wr_open_sockets(&r) || !wr_backfills_init(&r))
		goto done;
	if (r.pg.slot_missing)
	{
		if (wr_pg_create_slot(&r.pg, &cfg) != WR_PG_OK)
		{
			wr_error("%s", r.pg.errmsg);
			goto done;
		}
		/* its rows so far: read into the stream after the slot's start */
		if (cfg.initial_load && !wr_backfill_all(&r))
			goto done;
	}
	else if (cfg.initial_load)
		wr_info("the slot exists: no initial load (it is done only when "
				"the relay creates the slot)");
	wr_confirm_init(&r.confirm, r.pg.slot_confirmed, cfg.ndurable > 0);
	if (r.js.enabled)
		wr_confirm_jetstream(&r.confirm);
	wr_consumers_start(&r.consumers, r.pg.slot_confirmed);
	wr_log_ready(&r);
	if (!wr_wait_subscribers(&r))
	{
		exit_code = 0;
		goto done;
	}
	if (wr_pg_start(&r.pg, &cfg, true) != WR_PG_OK)
	{
		wr_error("%s", r.pg.errmsg);
		goto done;
	}
	wr_resume(&r);

	exit_code = wr_run(&r);
	if (exit_code == 0)
		wr_info("stopped");

done:
	wr_pg_close(&r.pg);
	wr_txn_hb_close(&r.txn_hb);
	wr_metrics_stop(r.metrics);
	wr_control_close(&r.ctl);
	wr_pub_close(&r.pub);
	wr_js_close(&r.js);
	wr_window_free(&r.window);
	wr_relcache_free(&r.rels);
	wr_catalog_free(&r.catalog);
	free(r.schema_log.e);
	wr_backfills_free(&r.backfills);
	wb_dec_free(&r.dec);
	wr_config_free(&cfg);
	return exit_code;
}
