/*-------------------------------------------------------------------------
 *
 * test_relay.c
 *	  cmocka tests of the relay's parts that need no PostgreSQL: the flush
 *	  policy (confirm.c), durable consumers (consumers.c), the replay
 *	  window (window.c), the relation cache's versions (relcache.c),
 *	  settings (config.c), JetStream subjects (jetstream.c), the CopyBoth
 *	  messages (walproto.c), control requests recorded for the loop
 *	  (requests.c), replay pages (window.c), and framing (publisher.c,
 *	  over a real nng pub0 socket on inproc:// with a sub0 socket reading
 *	  what it sends).  The streaming loop itself is tested end to end
 *	  (tests/e2e/run).
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "authz.h"
#include "config.h"
#include "confirm.h"
#include "consumers.h"
#include "jetstream.h"
#include "listen.h"
#include "publisher.h"
#include "relcache.h"
#include "requests.h"
#include "schema_version.h"
#include "torder.h"
#include "tvalues.h"
#include "walproto.h"
#include "window.h"

/* ----------------------------------------------------------- flush policy */

static void
test_confirm_best_effort(void **state)
{
	wr_confirm c;

	(void) state;
	wr_confirm_init(&c, 1000, false);
	assert_int_equal(wr_confirm_flushed(&c), 1000);

	/* between transactions a keepalive's WAL end may be confirmed */
	wr_confirm_keepalive(&c, 1100);
	assert_int_equal(wr_confirm_flushed(&c), 1100);

	/* never while a transaction is partly published */
	wr_confirm_txn_begin(&c);
	wr_confirm_keepalive(&c, 1500);
	assert_int_equal(wr_confirm_flushed(&c), 1100);
	wr_confirm_txn_published(&c, 1400);
	assert_int_equal(wr_confirm_flushed(&c), 1400);

	/* positions never go back */
	wr_confirm_keepalive(&c, 1200);
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1400);

	/* a new connection forgets the half-published transaction */
	wr_confirm_txn_begin(&c);
	wr_confirm_restart(&c, 1350);
	assert_int_equal(wr_confirm_flushed(&c), 1400);
	wr_confirm_keepalive(&c, 1600);
	assert_int_equal(wr_confirm_flushed(&c), 1600);
}

/*
 * JetStream is a gate like the durable consumers: alone, its acks move the
 * position; with durable consumers too, the lower of the two does.
 */
static void
test_confirm_jetstream(void **state)
{
	wr_confirm c;

	(void) state;
	wr_confirm_init(&c, 1000, false);
	wr_confirm_jetstream(&c);
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1000);
	wr_confirm_keepalive(&c, 1500);
	assert_int_equal(wr_confirm_flushed(&c), 1000);
	/* everything received acknowledged: the keepalive kept counts now */
	wr_confirm_js_acked(&c, 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1500);
	wr_confirm_keepalive(&c, 1800);
	assert_int_equal(wr_confirm_flushed(&c), 1800);
	/* a keepalive kept while a later transaction waits: not before it */
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1900);
	wr_confirm_keepalive(&c, 2000);
	assert_int_equal(wr_confirm_flushed(&c), 1800);
	wr_confirm_js_acked(&c, 1850);
	assert_int_equal(wr_confirm_flushed(&c), 1850);
	wr_confirm_js_acked(&c, 1900);
	assert_int_equal(wr_confirm_flushed(&c), 2000);

	wr_confirm_init(&c, 1000, true);
	wr_confirm_jetstream(&c);
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1300);
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1600);
	wr_confirm_js_acked(&c, 1600);
	assert_int_equal(wr_confirm_flushed(&c), 1000); /* consumers: none */
	wr_confirm_acked(&c, 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1300);
	wr_confirm_keepalive(&c, 1700);
	assert_int_equal(wr_confirm_flushed(&c), 1300);
	wr_confirm_acked(&c, 1600);
	wr_confirm_keepalive(&c, 1700);
	assert_int_equal(wr_confirm_flushed(&c), 1700);
}

/* Topics to JetStream subjects (docs/RELAY.md, "JetStream"). */
static void
test_jetstream_subjects(void **state)
{
	static const char *const cases[][2] = {
		{"public.contacts", "walbus.public.contacts"},
		{"\"my.schema\".t", "walbus.my%2Eschema.t"},
		{"s.\"a.b\"", "walbus.s.a%2Eb"},
		{"\"_private\".t", "walbus.%5Fprivate.t"},
		{"public.\"_t\"", "walbus.public._t"},
		{"\"a\"\"b\".c", "walbus.a\"b.c"},
		{"s.a b*>%\t", "walbus.s.a%20b%2A%3E%25%09"},
		{"s.caf\xc3\xa9", "walbus.s.caf\xc3\xa9"},
		{"_txn", "walbus._txn"},
		{"_msg.walbus.wm", "walbus._msg.walbus%2Ewm"},
		{"_msg.", "walbus._msg.%"},
		{"nodot", ""},
		{"\"open.t", ""},
	};
	char buf[128];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		size_t n = wr_js_subject(buf, sizeof(buf), cases[i][0],
								 strlen(cases[i][0]));

		if (cases[i][1][0] == '\0')
			assert_int_equal(n, 0);
		else
		{
			assert_int_equal(n, strlen(cases[i][1]));
			assert_string_equal(buf, cases[i][1]);
		}
	}
}

/* With durable consumers only their acks move the position. */
static void
test_confirm_durable(void **state)
{
	wr_confirm c;

	(void) state;
	wr_confirm_init(&c, 1000, true);

	/* nothing received yet: a keepalive may move it (nothing unacked) */
	wr_confirm_keepalive(&c, 1100);
	assert_int_equal(wr_confirm_flushed(&c), 1100);

	/* a published transaction does not count until acknowledged */
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1100);
	wr_confirm_keepalive(&c, 1500);
	assert_int_equal(wr_confirm_flushed(&c), 1100);

	/* a partial ack moves it only that far */
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1600);
	wr_confirm_acked(&c, 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1300);
	wr_confirm_keepalive(&c, 1700);
	assert_int_equal(wr_confirm_flushed(&c), 1300);

	/*
	 * all acknowledged: the keepalive kept (1700) counts at once, and
	 * keepalives count again, between transactions
	 */
	wr_confirm_acked(&c, 1600);
	assert_int_equal(wr_confirm_flushed(&c), 1700);
	wr_confirm_keepalive(&c, 1700);
	assert_int_equal(wr_confirm_flushed(&c), 1700);
	wr_confirm_txn_begin(&c);
	wr_confirm_keepalive(&c, 1800);
	assert_int_equal(wr_confirm_flushed(&c), 1700);
}

static void
test_consumers(void **state)
{
	wr_config	 cfg;
	wr_consumers cs;
	wr_consumer *a;
	wr_consumer *b;
	wr_wkey		 k1 = {100, 3};
	wr_wkey		 k2 = {200, 1};
	wr_wkey		 hold;

	(void) state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.durable[0] = "a";
	cfg.durable[1] = "b";
	cfg.ndurable = 2;
	cfg.consumer_timeout_ms = 1000;
	cfg.lag_limit_bytes = 500;
	wr_consumers_init(&cs, &cfg);
	wr_consumers_start(&cs, 50);
	assert_int_equal(wr_consumers_min_end(&cs), 50);
	assert_null(wr_consumers_find(&cs, "c", 1));
	assert_null(wr_consumers_find(&cs, "ab", 2));
	a = wr_consumers_find(&cs, "a", 1);
	b = wr_consumers_find(&cs, "b", 1);
	assert_non_null(a);
	assert_non_null(b);

	/* nobody connected: the window holds nothing back */
	hold = wr_consumers_hold(&cs, 0);
	assert_true(hold.lsn == UINT64_MAX);

	wr_consumers_ack(a, k2, 250, NULL, 10);
	wr_consumers_ack(b, k1, 150, NULL, 20);
	assert_int_equal(wr_consumers_min_end(&cs), 150);
	hold = wr_consumers_hold(&cs, 30);
	assert_true(wr_wkey_cmp(hold, k1) == 0);

	/* acks never go back */
	wr_consumers_ack(a, k1, 120, NULL, 40);
	assert_int_equal(a->acked_end, 250);
	assert_true(wr_wkey_cmp(a->acked_key, k2) == 0);

	/*
	 * A release lets the window go further than the ack, but neither the
	 * slot (acked_end) nor the acked key move, and a smaller release or an
	 * ack below it never pulls it back.
	 */
	{
		wr_wkey	 k3 = {300, 7};
		wr_wkey	 k4 = {250, 2};
		wr_wkey	 saved = b->acked_key;
		uint64_t saved_end = b->acked_end;

		wr_consumers_ack(b, k1, 150, &k3, 25);
		assert_true(wr_wkey_cmp(b->released_key, k3) == 0);
		assert_true(wr_wkey_cmp(b->acked_key, saved) == 0);
		assert_int_equal(b->acked_end, saved_end);
		hold = wr_consumers_hold(&cs, 30);
		assert_true(wr_wkey_cmp(hold, k2) == 0); /* now a's ack holds */
		wr_consumers_ack(b, k1, 150, &k4, 26);
		assert_true(wr_wkey_cmp(b->released_key, k3) == 0);
		/* what a hello does: forget the release */
		b->released_key = b->acked_key;
		hold = wr_consumers_hold(&cs, 30);
		assert_true(wr_wkey_cmp(hold, k1) == 0);
	}

	/* b silent past the timeout: it no longer holds the window... */
	wr_consumers_heard(a, 1400);
	hold = wr_consumers_hold(&cs, 1500);
	assert_true(wr_wkey_cmp(hold, k2) == 0);
	/* ...but still holds the slot */
	assert_int_equal(wr_consumers_min_end(&cs), 150);

	/* lag limit 500: b is 700 - 150 = 550 behind, a 450 */
	wr_consumers_check_lag(&cs, 700, 1500);
	assert_int_equal(wr_consumers_over_lag(&cs), 1);
	assert_true(b->over_lag);
	assert_int_equal(cs.lag_warnings, 1);
	wr_consumers_check_lag(&cs, 700, 1600);
	assert_int_equal(cs.lag_warnings, 1);
	wr_consumers_ack(b, k2, 600, NULL, 1700);
	wr_consumers_check_lag(&cs, 700, 1700);
	assert_int_equal(wr_consumers_over_lag(&cs), 0);
}

static void
test_window(void **state)
{
	wr_window w;
	char	  msg[100];
	wr_wkey	  none = {0, 0};
	wr_wkey	  all = {UINT64_MAX, UINT32_MAX};

	(void) state;
	memset(msg, 'x', sizeof(msg));
	wr_window_init(&w, 1000);
	assert_true(wr_window_covers(&w, none));

	/* 30 messages of 100 bytes: keys (10, 1..), (20, 1..), ... */
	for (uint32_t i = 0; i < 30; i++)
	{
		wr_wkey k = {10 * (i / 5 + 1), i % 5 + 1};

		assert_true(wr_window_add(&w, k, i + 1, msg, sizeof(msg)));
	}
	assert_int_equal(w.count, 30);
	assert_true(wr_window_full(&w));

	/* a repeat (a transaction sent again after a reconnect) is ignored */
	assert_true(wr_window_add(&w, (wr_wkey) {60, 5}, 99, msg, sizeof(msg)));
	assert_true(wr_window_add(&w, (wr_wkey) {20, 1}, 99, msg, sizeof(msg)));
	assert_int_equal(w.count, 30);

	/* find: the first entry after a key */
	assert_int_equal(wr_window_find(&w, none), 0);
	assert_int_equal(wr_window_find(&w, (wr_wkey) {20, 2}), 7);
	assert_int_equal(wr_window_find(&w, (wr_wkey) {25, 0}), 10);
	assert_int_equal(wr_window_find(&w, all), 30);
	assert_int_equal(wr_window_at(&w, 7)->seq, 8);

	/* trimming stops at the hold key */
	wr_window_trim(&w, (wr_wkey) {20, 3});
	assert_int_equal(w.count, 22);
	assert_true(wr_window_full(&w));
	assert_false(wr_window_covers(&w, (wr_wkey) {20, 2}));
	assert_true(wr_window_covers(&w, (wr_wkey) {20, 3}));
	assert_int_equal(wr_window_at(&w, 0)->seq, 9);

	/* free to go: down to the limit */
	wr_window_trim(&w, all);
	assert_int_equal(w.count, 10);
	assert_false(wr_window_full(&w));
	assert_int_equal(w.bytes, 1000);

	/* growing past the ring's first capacity keeps the order */
	for (uint32_t i = 0; i < 3000; i++)
		assert_true(
			wr_window_add(&w, (wr_wkey) {1000 + i, 1}, 100 + i, msg, 10));
	assert_int_equal(wr_window_at(&w, 10)->key.lsn, 1000);
	assert_int_equal(wr_window_find(&w, (wr_wkey) {2500, 1}), 10 + 1501);

	/* a failed copy: nothing before it may be served */
	wr_window_drop_through(&w, (wr_wkey) {5000, 1});
	assert_int_equal(w.count, 0);
	assert_false(wr_window_covers(&w, (wr_wkey) {4999, 1}));
	assert_true(wr_window_covers(&w, (wr_wkey) {5000, 1}));

	/* a rewind starts from the slot again: everything is covered */
	wr_window_reset(&w);
	assert_true(wr_window_covers(&w, none));
	wr_window_free(&w);
}

/* ------------------------------------------------------ CopyBoth messages */

/* A copy in a buffer of exactly len bytes, so that an overread is caught. */
static char *
exact_copy(const char *buf, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, buf, len);
	return p;
}

static void
test_walproto_round_trip(void **state)
{
	static const char record[] = "\x93\x01\x02\x03";
	wr_wp_msg		  cases[6];
	char			  buf[128];
	char			  err[128];

	(void) state;
	memset(cases, 0, sizeof(cases));
	cases[0].kind = WR_WP_XLOGDATA;
	cases[0].u.xlogdata = (wr_wp_xlogdata) {UINT64_C(0x0000000116B37480),
											UINT64_C(0x0000000116B38000),
											INT64_C(817000000000000), record,
											sizeof(record) - 1};
	cases[1].kind = WR_WP_XLOGDATA; /* a record may be empty: the codec says */
	cases[1].u.xlogdata = (wr_wp_xlogdata) {1, 2, 3, NULL, 0};
	cases[2].kind = WR_WP_KEEPALIVE;
	cases[2].u.keepalive = (wr_wp_keepalive) {UINT64_MAX, -1, true};
	cases[3].kind = WR_WP_KEEPALIVE;
	cases[3].u.keepalive = (wr_wp_keepalive) {0, 0, false};
	cases[4].kind = WR_WP_STATUS;
	cases[4].u.status = (wr_wp_status) {10, 9, 8, 7, true};
	cases[5].kind = WR_WP_STATUS;
	cases[5].u.status = (wr_wp_status) {UINT64_MAX, 0, UINT64_MAX, INT64_MIN,
										false};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const wr_wp_msg *in = &cases[i];
		wr_wp_msg		 out;
		size_t			 len = wr_wp_write(in, buf, sizeof(buf));
		char			*copy;

		assert_true(len > 0);
		assert_int_equal(buf[0], (char) in->kind);
		/* a buffer one byte short is refused, not overrun */
		assert_int_equal(wr_wp_write(in, buf, len - 1), 0);
		len = wr_wp_write(in, buf, sizeof(buf));
		copy = exact_copy(buf, len);
		assert_int_equal(wr_wp_read(copy, len, &out, err, sizeof(err)),
						 WR_WP_OK);
		assert_int_equal(out.kind, in->kind);
		assert_int_equal(out.type, (char) in->kind);
		switch (in->kind)
		{
			case WR_WP_XLOGDATA:
				assert_int_equal(len, WR_WP_XLOGDATA_HDR + in->u.xlogdata.len);
				assert_int_equal(out.u.xlogdata.data_start,
								 in->u.xlogdata.data_start);
				assert_int_equal(out.u.xlogdata.wal_end,
								 in->u.xlogdata.wal_end);
				assert_int_equal(out.u.xlogdata.send_time,
								 in->u.xlogdata.send_time);
				assert_int_equal(out.u.xlogdata.len, in->u.xlogdata.len);
				assert_ptr_equal(out.u.xlogdata.data,
								 copy + WR_WP_XLOGDATA_HDR);
				if (in->u.xlogdata.len > 0)
					assert_memory_equal(out.u.xlogdata.data,
										in->u.xlogdata.data,
										in->u.xlogdata.len);
				break;
			case WR_WP_KEEPALIVE:
				assert_int_equal(len, WR_WP_KEEPALIVE_LEN);
				assert_int_equal(out.u.keepalive.wal_end,
								 in->u.keepalive.wal_end);
				assert_int_equal(out.u.keepalive.send_time,
								 in->u.keepalive.send_time);
				assert_int_equal(out.u.keepalive.reply_requested,
								 in->u.keepalive.reply_requested);
				break;
			case WR_WP_STATUS:
				assert_int_equal(len, WR_WP_STATUS_LEN);
				assert_int_equal(out.u.status.write_lsn,
								 in->u.status.write_lsn);
				assert_int_equal(out.u.status.flush_lsn,
								 in->u.status.flush_lsn);
				assert_int_equal(out.u.status.apply_lsn,
								 in->u.status.apply_lsn);
				assert_int_equal(out.u.status.send_time,
								 in->u.status.send_time);
				assert_int_equal(out.u.status.reply_requested,
								 in->u.status.reply_requested);
				break;
			case WR_WP_UNKNOWN:
				fail();
		}
		free(copy);
	}
}

/* The layout itself, byte for byte: big-endian, as the server reads it. */
static void
test_walproto_layout(void **state)
{
	static const unsigned char status[WR_WP_STATUS_LEN] = {
		'r',  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00,
		0x01, 0x16, 0xB3, 0x74, 0x80, 0x00, 0x00, 0x00, 0x01, 0x16, 0xB3, 0x74,
		0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0x01};
	static const unsigned char keepalive[] = {
		'k',  0x00, 0x00, 0x00, 0x00, 0x01, 0x5D, 0x0A, 0x38, 0x00,
		0x02, 0xE6, 0xA2, 0x81, 0x3B, 0x7C, 0x40, 0x00, 0x7F /* a field the server may add one day */
	};
	wr_wp_msg m;
	char	  buf[64];
	char	  err[128];

	(void) state;
	memset(&m, 0, sizeof(m));
	m.kind = WR_WP_STATUS;
	m.u.status.write_lsn = UINT64_C(0x0102030405060708);
	m.u.status.flush_lsn = UINT64_C(0x0000000116B37480);
	m.u.status.apply_lsn = UINT64_C(0x0000000116B37480);
	m.u.status.send_time = -2;
	m.u.status.reply_requested = true;
	assert_int_equal(wr_wp_write(&m, buf, sizeof(buf)), sizeof(status));
	assert_memory_equal(buf, status, sizeof(status));

	assert_int_equal(wr_wp_read((const char *) keepalive, sizeof(keepalive),
								&m, err, sizeof(err)),
					 WR_WP_OK);
	assert_int_equal(m.kind, WR_WP_KEEPALIVE);
	assert_int_equal(m.u.keepalive.wal_end, UINT64_C(0x15D0A38));
	assert_int_equal(m.u.keepalive.send_time, INT64_C(0x2E6A2813B7C40));
	assert_false(m.u.keepalive.reply_requested);
}

/* Torn, empty and unknown messages: an error or a kind, never a crash. */
static void
test_walproto_malformed(void **state)
{
	static const struct
	{
		char   type;
		size_t min; /* shortest valid length */
		size_t max; /* longest valid length (0: no limit) */
	} kinds[] = {
		{'w', WR_WP_XLOGDATA_HDR, 0},
		{'k', WR_WP_KEEPALIVE_LEN, 0},
		{'r', WR_WP_STATUS_LEN, WR_WP_STATUS_LEN},
	};
	char	  full[64];
	char	  err[128];
	wr_wp_msg m;

	(void) state;
	memset(full, 0x5A, sizeof(full));
	err[0] = '\0';
	assert_int_equal(wr_wp_read(full, 0, &m, err, sizeof(err)),
					 WR_WP_EMALFORMED);
	assert_string_equal(err, "empty replication message");

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
	{
		full[0] = kinds[k].type;
		for (size_t len = 1; len < sizeof(full); len++)
		{
			char *copy = exact_copy(full, len);
			bool  valid = len >= kinds[k].min &&
				(kinds[k].max == 0 || len <= kinds[k].max);
			int rc;

			err[0] = '\0';
			rc = wr_wp_read(copy, len, &m, err, sizeof(err));
			if (valid)
			{
				assert_int_equal(rc, WR_WP_OK);
				assert_int_equal(m.kind, (wr_wp_kind) kinds[k].type);
			}
			else
			{
				assert_int_equal(rc, WR_WP_EMALFORMED);
				assert_true(strstr(err, "bytes (expected") != NULL);
			}
			free(copy);
		}
	}

	/* a type this relay does not know is the caller's to judge */
	full[0] = 'x';
	assert_int_equal(wr_wp_read(full, 1, &m, err, sizeof(err)), WR_WP_OK);
	assert_int_equal(m.kind, WR_WP_UNKNOWN);
	assert_int_equal(m.type, 'x');

	/* a message too small for the error's buffer still ends in a NUL */
	full[0] = 'k';
	assert_int_equal(wr_wp_read(full, 3, &m, err, 8), WR_WP_EMALFORMED);
	assert_int_equal(strlen(err), 7);

	/* nothing is written of a kind with no layout */
	m.kind = WR_WP_UNKNOWN;
	assert_int_equal(wr_wp_write(&m, full, sizeof(full)), 0);
}

/* ------------------------------------------------------- control requests */

static void
test_requests(void **state)
{
	wr_requests q;
	wr_confirm	c;
	uint64_t	end;
	char		reason[WR_REASON_MAX];
	char		longer[2 * WR_REASON_MAX];

	(void) state;
	memset(&q, 0, sizeof(q));
	assert_false(wr_requests_take_ack(&q, &end));
	assert_false(wr_requests_take_rewind(&q, reason, sizeof(reason)));

	/* acks merge: the highest lowest end, as the flush policy would */
	wr_requests_ack(&q, 500);
	wr_requests_ack(&q, 700);
	wr_requests_ack(&q, 600);
	assert_true(wr_requests_take_ack(&q, &end));
	assert_int_equal(end, 700);
	assert_false(wr_requests_take_ack(&q, &end));
	/* a lowest end of 0 (a consumer that has acked nothing) is an ack too */
	wr_requests_ack(&q, 0);
	assert_true(wr_requests_take_ack(&q, &end));
	assert_int_equal(end, 0);

	/* one rewind serves every request: the first reason is kept */
	assert_true(wr_requests_rewind(&q, "consumer a needs 0/10"));
	assert_false(wr_requests_rewind(&q, "consumer b needs 0/20"));
	/* taking acks leaves it recorded: only the rewind itself clears it */
	wr_requests_ack(&q, 800);
	assert_true(wr_requests_take_ack(&q, &end));
	assert_true(q.rewind);
	assert_true(wr_requests_take_rewind(&q, reason, sizeof(reason)));
	assert_string_equal(reason, "consumer a needs 0/10");
	assert_false(wr_requests_take_rewind(&q, reason, sizeof(reason)));
	assert_true(wr_requests_rewind(&q, "consumer b needs 0/20"));
	assert_true(wr_requests_take_rewind(&q, reason, sizeof(reason)));
	assert_string_equal(reason, "consumer b needs 0/20");

	/* a long reason is cut, not overrun */
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_true(wr_requests_rewind(&q, longer));
	assert_true(wr_requests_take_rewind(&q, reason, sizeof(reason)));
	assert_int_equal(strlen(reason), WR_REASON_MAX - 1);

	/* an answer given before the loop applies an ack says what it will */
	wr_confirm_init(&c, 1000, true);
	wr_confirm_txn_begin(&c);
	wr_confirm_txn_published(&c, 1300);
	assert_int_equal(wr_confirm_flushed_if_acked(&c, 1300), 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1000);
	wr_confirm_acked(&c, 1300);
	assert_int_equal(wr_confirm_flushed(&c), 1300);
	assert_int_equal(wr_confirm_flushed_if_acked(&c, 1200), 1300);
}

/* ----------------------------------------------------------- replay pages */

/* Selects messages whose topic starts with the prefix arg, or "_". */
static bool
select_prefix(const wr_wentry *m, void *arg)
{
	const char *prefix = arg;

	return (m->len > 0 && m->data[0] == '_') ||
		(strlen(prefix) <= m->len &&
		 memcmp(m->data, prefix, strlen(prefix)) == 0);
}

static void
window_add_topic(wr_window *w, wr_wkey key, uint64_t seq, const char *topic,
				 size_t len)
{
	char msg[512];

	assert_true(len <= sizeof(msg) && strlen(topic) + 1 <= len);
	memset(msg, 'f', len);
	memcpy(msg, topic, strlen(topic) + 1);
	assert_true(wr_window_add(w, key, seq, msg, len));
}

static void
test_replay_pages(void **state)
{
	/* clang-format off */
	static const struct
	{
		const char *prefix;
		uint64_t	budget;
	}			cases[] = {
		{"public.a", 100},		/* one message a page */
		{"public.a", 250},
		{"public.", 1000},
		{"public.", 1},			/* over budget: still one a page */
		{"public.b", 100000},	/* all of it in one page */
		{"none.", 100},			/* only the _txn frames */
	};
	/* clang-format on */
	wr_window w;
	wr_wpage  page;
	wr_wkey	  none = {0, 0};

	(void) state;
	wr_window_init(&w, 1 << 20);

	/* 10 transactions: a frame on public.a, one on public.b, a _txn frame */
	for (uint32_t t = 0; t < 10; t++)
	{
		uint64_t lsn = 100 * (t + 1);

		window_add_topic(&w, (wr_wkey) {lsn, 2}, 3 * t + 1, "public.a", 100);
		window_add_topic(&w, (wr_wkey) {lsn, 4}, 3 * t + 2, "public.b", 200);
		window_add_topic(&w, (wr_wkey) {lsn, WBC_POS_COMMIT}, 3 * t + 3,
						 "_txn", 50);
	}

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		wr_wkey after = none;
		size_t	want = 0;
		size_t	got = 0;
		size_t	next = 0; /* index the next page must start after */
		int		pages = 0;

		for (size_t i = 0; i < w.count; i++)
			if (select_prefix(wr_window_at(&w, i), (void *) cases[k].prefix))
				want++;
		for (;;)
		{
			wr_window_page(&w, after, cases[k].budget, select_prefix,
						   (void *) cases[k].prefix, &page);
			assert_true(++pages <= 40);
			assert_int_equal(page.first, next);
			if (page.n == 0)
			{
				assert_true(page.end);
				break;
			}
			/* within budget, unless one message alone is over it */
			assert_true(page.bytes <= cases[k].budget || page.n == 1);
			for (size_t i = page.first; i <= page.last; i++)
				if (select_prefix(wr_window_at(&w, i),
								  (void *) cases[k].prefix))
					got++;
			assert_true(select_prefix(wr_window_at(&w, page.last),
									  (void *) cases[k].prefix));
			if (page.end)
				break;
			/* what a client asks next: after the page's last key */
			after = wr_window_at(&w, page.last)->key;
			next = page.last + 1;
		}
		assert_int_equal(got, want);
	}

	/* a page after a key in the middle starts right after it */
	wr_window_page(&w, (wr_wkey) {500, 2}, 1000, select_prefix, "public.",
				   &page);
	assert_int_equal(page.first, 13);
	assert_int_equal(wr_window_at(&w, page.first)->key.pos, 4);

	/* after the newest key: an empty page that ends the replay */
	wr_window_page(&w, (wr_wkey) {UINT64_MAX, 0}, 1000, select_prefix,
				   "public.", &page);
	assert_int_equal(page.n, 0);
	assert_true(page.end);
	assert_int_equal(page.first, w.count);
	wr_window_free(&w);
}

/* -------------------------------------------------------- schema versions */

static wb_column cols_a[] = {
	{{"id", 2}, 23, -1, {"integer", 7}},
	{{"name", 4}, 25, -1, {"text", 4}},
};
static wb_column cols_b[] = {
	{{"id", 2}, 23, -1, {"integer", 7}},
	{{"name", 4}, 1043, 84, {"character varying(80)", 21}},
};

static wb_record
relation(uint32_t relid, const char *table, wb_column *cols, uint32_t n)
{
	wb_record r;

	memset(&r, 0, sizeof(r));
	r.kind = WB_RELATION;
	r.u.relation.relid = relid;
	r.u.relation.schema = (wb_str) {"public", 6};
	r.u.relation.table = (wb_str) {table, (uint32_t) strlen(table)};
	r.u.relation.key_index = 0;
	r.u.relation.ncolumns = n;
	r.u.relation.columns = cols;
	return r;
}

static void
test_relcache_history(void **state)
{
	wr_relcache			 rc;
	wb_record			 a = relation(16385, "contacts", cols_a, 2);
	wb_record			 b = relation(16385, "contacts", cols_b, 2);
	bool				 changed;
	wr_rel				*rel;
	const wr_relversion *v;

	(void) state;
	wr_relcache_init(&rc);
	rel = wr_relcache_update(&rc, &a, &changed);
	assert_non_null(rel);
	assert_true(changed);
	assert_string_equal(rel->current->table, "contacts");
	assert_string_equal(rel->current->columns[1].typname, "text");

	/* the same RELATION again (a new session) changes nothing */
	rel = wr_relcache_update(&rc, &a, &changed);
	assert_false(changed);

	rel = wr_relcache_update(&rc, &b, &changed);
	assert_true(changed);
	assert_int_equal(rel->current->columns[1].typmod, 84);

	/* frames published before the change still resolve */
	v = wr_relcache_version(&rc, 16385, wsv_of_relation(&a));
	assert_non_null(v);
	assert_string_equal(v->columns[1].typname, "text");
	assert_null(wr_relcache_version(&rc, 16385, 12345));
	assert_null(wr_relcache_version(&rc, 99, wsv_of_relation(&a)));

	/* back to the first definition: its version is reused, not copied */
	rel = wr_relcache_update(&rc, &a, &changed);
	assert_true(changed);
	assert_ptr_equal(rel->current, v);
	assert_non_null(wr_relcache_version(&rc, 16385, wsv_of_relation(&b)));
	wr_relcache_free(&rc);
}

/* --------------------------------------------------------------- settings */

static int
load(wr_config *cfg, char *errbuf, size_t errlen, ...)
{
	char   *argv[32] = {"walbus-relay"};
	int		argc = 1;
	va_list ap;
	char   *arg;

	va_start(ap, errlen);
	while ((arg = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = arg;
	va_end(ap);
	argv[argc] = NULL;
	return wr_config_load(cfg, argc, argv, errbuf, errlen);
}

static char *
write_config(const char *text)
{
	static char path[] = "/tmp/walbus-test-relay.XXXXXX";
	int			fd;

	strcpy(path, "/tmp/walbus-test-relay.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	return path;
}

static void
test_config_defaults(void **state)
{
	wr_config cfg;
	char	  err[256];

	(void) state;
	assert_int_equal(load(&cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg.slot, "walbus");
	assert_int_equal(cfg.nbus, 1);
	assert_string_equal(cfg.bus_urls[0], "ipc:///tmp/walbus.pub");
	assert_string_equal(cfg.control_url, "ipc:///tmp/walbus.ctl");
	assert_false(cfg.create_slot);
	assert_int_equal(cfg.status_interval_ms, 10000);
	assert_int_equal(cfg.frame_bytes, 64 * 1024);
	assert_int_equal(cfg.bus_queue, 1024);
	assert_int_equal(cfg.njetstream, 0);
	assert_string_equal(cfg.jetstream_stream, "WALBUS");
	assert_int_equal(cfg.jetstream_replicas, 1);
	assert_null(cfg.dbname);
	wr_config_free(&cfg);
}

static void
test_config_file_and_flags(void **state)
{
	wr_config cfg;
	char	  err[256];
	char	 *path = write_config("# a comment\n"
									  "dbname = host=db dbname=app\n"
									  "slot = from_file\n"
									  "create_slot = true\n"
									  "bus = ipc:///tmp/a\n"
									  "bus = tcp://127.0.0.1:58010\n"
									  "[relay]\n"
									  "status_interval = 2.5\n"
									  "wait_subscribers = 3\n"
									  "frame_bytes = 16kB\n"
									  "bus_queue = 8192\n");

	(void) state;
	assert_int_equal(load(&cfg, err, sizeof(err), "--config", path, NULL), 0);
	assert_string_equal(cfg.dbname, "host=db dbname=app");
	assert_string_equal(cfg.slot, "from_file");
	assert_true(cfg.create_slot);
	assert_int_equal(cfg.nbus, 2);
	assert_string_equal(cfg.bus_urls[1], "tcp://127.0.0.1:58010");
	assert_int_equal(cfg.status_interval_ms, 2500);
	assert_int_equal(cfg.wait_subscribers, 3);
	assert_int_equal(cfg.frame_bytes, 16 * 1024);
	assert_int_equal(cfg.bus_queue, 8192);
	wr_config_free(&cfg);

	/* flags win, wherever --config is; a --bus flag replaces the list */
	assert_int_equal(load(&cfg, err, sizeof(err), "--slot", "from_flag",
						  "--bus", "ipc:///tmp/b", "--config", path,
						  "--status-interval", "1", NULL),
					 0);
	assert_string_equal(cfg.slot, "from_flag");
	assert_int_equal(cfg.nbus, 1);
	assert_string_equal(cfg.bus_urls[0], "ipc:///tmp/b");
	assert_int_equal(cfg.status_interval_ms, 1000);
	assert_string_equal(cfg.dbname, "host=db dbname=app");
	wr_config_free(&cfg);
	unlink(path);
}

static void
test_config_errors(void **state)
{
	static const struct
	{
		const char *flag;
		const char *value;
		const char *message;
	} cases[] = {
		{"--slot", "Bad-Name", "invalid slot name \"Bad-Name\""},
		{"--slot", "", "invalid slot name"},
		{"--status-interval", "soon",
		 "invalid value \"soon\" for status_interval"},
		{"--heartbeat-interval", "0", "for heartbeat_interval"},
		{"--server-timeout", "-1", "for server_timeout"},
		{"--log-level", "loud", "invalid log level \"loud\""},
		{"--jetstream", "localhost:4222",
		 "for jetstream: use nats://HOST:PORT"},
		{"--jetstream-stream", "a.b",
		 "invalid value \"a.b\" for jetstream_stream"},
		{"--jetstream-replicas", "0", "from 1 to 5"},
		{"--jetstream-replicas", "6",
		 "invalid value \"6\" for jetstream_replicas"},
		{"--wait-subscribers", "x", "for wait_subscribers"},
		{"--durable", "ok,b@d", "invalid durable consumer name \"b@d\""},
		{"--durable", "a/b", "invalid durable consumer name \"a/b\""},
		{"--window-bytes", "1kB", "for window_bytes"},
		{"--window-bytes", "lots", "for window_bytes"},
		{"--lag-limit", "-5", "for lag_limit"},
		{"--txn-heartbeat-interval", "x", "for txn_heartbeat_interval"},
		{"--consumer-timeout", "0", "for consumer_timeout"},
		{"--frame-bytes", "100", "for frame_bytes: use a size from 1kB"},
		{"--frame-bytes", "1GB", "for frame_bytes"},
		{"--bus-queue", "0", "for bus_queue: use a number from 1 to 8192"},
		{"--bus-queue", "8193", "for bus_queue"},
	};
	wr_config cfg;
	char	  err[256];
	char	 *path;

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		assert_int_equal(load(&cfg, err, sizeof(err), cases[i].flag,
							  cases[i].value, NULL),
						 -1);
		if (strstr(err, cases[i].message) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", err, cases[i].message);
		wr_config_free(&cfg);
	}
	assert_int_equal(load(&cfg, err, sizeof(err), "--server-timeout", "0",
						  NULL),
					 0);
	assert_int_equal(cfg.server_timeout_ms, 0);
	wr_config_free(&cfg);

	/* durable consumers: listed or repeated, each once */
	assert_int_equal(load(&cfg, err, sizeof(err), "--durable", "crm, erp",
						  "--durable", "crm", "--window-bytes", "16MB",
						  "--lag-limit", "0", "--txn-heartbeat-interval", "0",
						  NULL),
					 0);
	assert_int_equal(cfg.ndurable, 2);
	assert_string_equal(cfg.durable[0], "crm");
	assert_string_equal(cfg.durable[1], "erp");
	assert_true(cfg.window_bytes == 16 * 1024 * 1024);
	assert_true(cfg.lag_limit_bytes == 0);
	assert_int_equal(cfg.txn_heartbeat_ms, 0);
	wr_config_free(&cfg);

	assert_int_equal(load(&cfg, err, sizeof(err), "--bogus", NULL), -1);
	assert_non_null(strstr(err, "--bogus"));
	wr_config_free(&cfg);
	assert_int_equal(load(&cfg, err, sizeof(err), "extra", NULL), -1);
	assert_non_null(strstr(err, "unexpected argument \"extra\""));
	wr_config_free(&cfg);

	path = write_config("slot = ok\nnot_a_setting = 1\n");
	assert_int_equal(load(&cfg, err, sizeof(err), "--config", path, NULL), -1);
	assert_non_null(strstr(err, "line 2: unknown setting \"not_a_setting\""));
	wr_config_free(&cfg);
	unlink(path);

	path = write_config("[elsewhere]\nslot = x\n");
	assert_int_equal(load(&cfg, err, sizeof(err), "--config", path, NULL), -1);
	assert_non_null(strstr(err, "unknown section [elsewhere]"));
	wr_config_free(&cfg);
	unlink(path);

	assert_int_equal(load(&cfg, err, sizeof(err), "--config",
						  "/nonexistent/walbus.conf", NULL),
					 -1);
	assert_non_null(strstr(err, "could not open config file"));
	wr_config_free(&cfg);
}

/* The table's row for a config key. */
static const wr_setting *
setting(const char *name)
{
	for (int i = 0; i < wr_nsettings; i++)
		if (wr_settings[i].name != NULL &&
			strcmp(wr_settings[i].name, name) == 0)
			return &wr_settings[i];
	fail_msg("no setting \"%s\"", name);
	return NULL;
}

/* A setting's value as the table stores it, widened; a list's count. */
static int64_t
stored(const wr_config *cfg, const wr_setting *s)
{
	const char *field = (const char *) cfg + s->offset;

	switch (s->kind)
	{
		case WR_SET_BOOL:
			return *(const bool *) field;
		case WR_SET_SIZE:
			return (int64_t) * (const uint64_t *) field;
		case WR_SET_LIST:
			return *(const int *) ((const char *) cfg + s->count_offset);
		case WR_SET_RULES:
			return ((const wr_authz *) field)->n;
		default:
			return *(const int *) field;
	}
}

/*
 * Each kind of setting, in range, at its bounds and past them, and not
 * parsing: the same outcome from the config file and from the flag.
 * want is the stored value (a list's count); message a part of the error.
 */
static void
test_config_kinds(void **state)
{
	static const struct
	{
		const char *key;
		const char *value;
		int64_t		want;
		const char *message; /* NULL: loads */
	} cases[] = {
		/* string, checked */
		{"slot", "s_1", 0, NULL},
		{"slot", "Bad-Name", 0,
		 "invalid slot name \"Bad-Name\": use 1 to 63 "
		 "lower-case letters, digits and underscores"},
		{"jetstream_stream", "a.b", 0,
		 "invalid value \"a.b\" for "
		 "jetstream_stream: use 1 to 64 letters, digits, '_' or '-'"},
		{"metrics_listen", "localhost", 0,
		 "invalid value \"localhost\" for "
		 "metrics_listen: use ADDR:PORT with a port from 1 to 65535"},
		{"metrics_listen", "h:65536", 0, "for metrics_listen"},
		/* bool */
		{"create_slot", "yes", 1, NULL},
		{"create_slot", "off", 0, NULL},
		{"trusted_network", "maybe", 0,
		 "invalid value \"maybe\" for "
		 "trusted_network: use true or false"},
		/* int */
		{"bus_queue", "1", 1, NULL},
		{"bus_queue", "8192", 8192, NULL},
		{"bus_queue", "0", 0,
		 "invalid value \"0\" for bus_queue: use a "
		 "number from 1 to 8192"},
		{"bus_queue", "8193", 0, "invalid value \"8193\" for bus_queue"},
		{"bus_queue", "12x", 0, "invalid value \"12x\" for bus_queue"},
		{"wait_subscribers", "-1", 0, "use a number from 0 to 1000"},
		{"jetstream_replicas", "5", 5, NULL},
		{"jetstream_replicas", "6", 0, "use a number from 1 to 5"},
		/* seconds */
		{"status_interval", "2.5", 2500, NULL},
		{"status_interval", "0.001", 1, NULL},
		{"status_interval", "0", 0,
		 "invalid value \"0\" for "
		 "status_interval: use a number of seconds"},
		{"status_interval", "86401", 0, "for status_interval"},
		{"server_timeout", "0", 0, NULL},
		{"server_timeout", "-1", 0,
		 "for server_timeout: use a number of "
		 "seconds"},
		{"tick_interval", "0.01", 10, NULL},
		{"tick_interval", "60", 60000, NULL},
		{"tick_interval", "0.009", 0,
		 "invalid value \"0.009\" for "
		 "tick_interval: use a number of seconds from 0.01 to 60"},
		{"tick_interval", "61", 0, "from 0.01 to 60"},
		/* size */
		{"frame_bytes", "1kB", 1024, NULL},
		{"frame_bytes", "16MB", 16 * 1024 * 1024, NULL},
		{"frame_bytes", "1023", 0,
		 "invalid value \"1023\" for frame_bytes: "
		 "use a size from 1kB to 16MB, e.g. 64kB"},
		{"frame_bytes", "16385kB", 0, "for frame_bytes"},
		{"window_bytes", "64kB", 64 * 1024, NULL},
		{"window_bytes", "lots", 0,
		 "invalid value \"lots\" for "
		 "window_bytes: use a size of at least 64kB, e.g. 64MB"},
		{"lag_limit", "0", 0, NULL},
		{"lag_limit", "2 GB", 2LL * 1024 * 1024 * 1024, NULL},
		{"lag_limit", "-5", 0,
		 "invalid value \"-5\" for lag_limit: use a "
		 "size, e.g. 1GB, or 0 for none"},
		/* enum */
		{"log_level", "debug", 3, NULL},
		{"log_level", "loud", 0,
		 "invalid log level \"loud\": use error, "
		 "warning, info or debug"},
		{"source", "trigger", WR_SOURCE_TRIGGER, NULL},
		{"source", "slot", 0, "invalid value \"slot\" for source: use plugin"},
		/* lists */
		{"durable", "a, b,a", 2, NULL},
		{"durable", "ok,b@d", 0,
		 "invalid durable consumer name \"b@d\": use "
		 "1 to 63 letters, digits, '_', '-' or '.'"},
		{"durable", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", 0,
		 "too many durable consumers (at most 16)"},
		{"jetstream", "nats://h:4222", 1, NULL},
		{"jetstream", "h:4222", 0,
		 "invalid value \"h:4222\" for jetstream: "
		 "use nats://HOST:PORT"},
		{"control_allow", "uid:1=read, any=consumer:w", 2, NULL},
		{"control_allow", "nobody", 0, "invalid control_allow rule"},
	};
	wr_config cfg;
	char	  err[512];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const wr_setting *s = setting(cases[i].key);
		char			  text[256];
		char			  flag[64];
		char			 *path;
		int				  rc;

		snprintf(text, sizeof(text), "%s = %s\n", cases[i].key,
				 cases[i].value);
		path = write_config(text);
		snprintf(flag, sizeof(flag), "--%s", s->flag);
		for (int by_flag = 0; by_flag < 2; by_flag++)
		{
			/* a flag of a bool takes no value: only "true" */
			if (by_flag && s->kind == WR_SET_BOOL)
				continue;
			err[0] = '\0';
			rc = by_flag ?
				load(&cfg, err, sizeof(err), flag, cases[i].value, NULL) :
				load(&cfg, err, sizeof(err), "--config", path, NULL);
			if (cases[i].message == NULL)
			{
				if (rc != 0)
					fail_msg("%s = %s: %s", cases[i].key, cases[i].value, err);
				if (s->kind == WR_SET_STRING)
					assert_string_equal(*(char **) ((char *) &cfg + s->offset),
										cases[i].value);
				else if (stored(&cfg, s) != cases[i].want)
					fail_msg("%s = %s: stored %lld, not %lld", cases[i].key,
							 cases[i].value, (long long) stored(&cfg, s),
							 (long long) cases[i].want);
			}
			else if (rc != -1 || strstr(err, cases[i].message) == NULL)
				fail_msg("%s = %s (%s): \"%s\" lacks \"%s\"", cases[i].key,
						 cases[i].value, by_flag ? "flag" : "file", err,
						 cases[i].message);
			wr_config_free(&cfg);
		}
		unlink(path);
	}

	/* the offsets the table keeps are the fields' */
	assert_int_equal(load(&cfg, err, sizeof(err), "--status-interval", "3",
						  "--frame-bytes", "2kB", "--source", "trigger",
						  "--log-level", "error", "--create-slot",
						  "--metrics-listen", "[::1]:9187", NULL),
					 0);
	assert_int_equal(cfg.status_interval_ms, 3000);
	assert_true(cfg.frame_bytes == 2048);
	assert_int_equal(cfg.source, WR_SOURCE_TRIGGER);
	assert_int_equal(cfg.log_level, 0);
	assert_true(cfg.create_slot);
	assert_string_equal(cfg.metrics_host, "::1");
	assert_int_equal(cfg.metrics_port, 9187);
	wr_config_free(&cfg);
}

/*
 * Flags given at start win over the file, wherever --config is among
 * them; a list from flags replaces the file's (which replaces the
 * default), and values from one source add up.
 */
static void
test_config_precedence(void **state)
{
	wr_config cfg;
	char	  err[256];
	char	 *path = write_config("slot = from_file\n"
									  "log_level = debug\n"
									  "create_slot = true\n"
									  "bus = ipc:///tmp/f1\n"
									  "bus = ipc:///tmp/f2\n"
									  "durable = a, b\n"
									  "durable = c\n"
									  "jetstream = nats://f1:4222\n"
									  "jetstream = nats://f2:4222\n"
									  "control_allow = uid:1=read\n"
									  "control_allow = uid:2=all\n");

	(void) state;
	/* the file's lists add up line by line, over the default bus */
	assert_int_equal(load(&cfg, err, sizeof(err), "--config", path, NULL), 0);
	assert_int_equal(cfg.nbus, 2);
	assert_string_equal(cfg.bus_urls[0], "ipc:///tmp/f1");
	assert_int_equal(cfg.ndurable, 3);
	assert_int_equal(cfg.njetstream, 2);
	assert_int_equal(cfg.control_allow.n, 2);
	assert_int_equal(cfg.log_level, 3);
	wr_config_free(&cfg);

	/* every list given as a flag: the flags' values only */
	assert_int_equal(load(&cfg, err, sizeof(err), "--durable", "z", "--bus",
						  "ipc:///tmp/x", "--config", path, "--jetstream",
						  "nats://x:4222", "--jetstream", "nats://y:4222",
						  "--control-allow", "uid:3=read", "--durable", "y,z",
						  "--slot", "from_flag", "--log-level", "error", NULL),
					 0);
	assert_int_equal(cfg.nbus, 1);
	assert_string_equal(cfg.bus_urls[0], "ipc:///tmp/x");
	assert_int_equal(cfg.ndurable, 2);
	assert_string_equal(cfg.durable[0], "z");
	assert_string_equal(cfg.durable[1], "y");
	assert_int_equal(cfg.njetstream, 2);
	assert_string_equal(cfg.jetstream_urls[0], "nats://x:4222");
	assert_string_equal(cfg.jetstream_urls[1], "nats://y:4222");
	assert_int_equal(cfg.control_allow.n, 1);
	assert_int_equal(cfg.control_allow.rules[0].uid, 3);
	assert_string_equal(cfg.slot, "from_flag");
	assert_int_equal(cfg.log_level, 0);
	/* what no flag gives stays the file's */
	assert_true(cfg.create_slot);
	wr_config_free(&cfg);

	/* without a file, a flag list replaces the default */
	assert_int_equal(load(&cfg, err, sizeof(err), "-b", "ipc:///tmp/a", "-b",
						  "ipc:///tmp/b", NULL),
					 0);
	assert_int_equal(cfg.nbus, 2);
	assert_string_equal(cfg.bus_urls[1], "ipc:///tmp/b");
	wr_config_free(&cfg);
	unlink(path);
}

/* --help shows every row of the table, with its default. */
static void
test_config_help(void **state)
{
	char  *text = NULL;
	size_t len = 0;
	FILE  *out = open_memstream(&text, &len);

	(void) state;
	assert_non_null(out);
	wr_config_usage(out);
	fclose(out);
	for (int i = 0; i < wr_nsettings; i++)
	{
		const wr_setting *s = &wr_settings[i];
		char			  want[96];

		if (s->short_flag != 0)
			snprintf(want, sizeof(want), "  -%c, --%s%s%s", s->short_flag,
					 s->flag, s->arg ? "=" : "", s->arg ? s->arg : "");
		else
			snprintf(want, sizeof(want), "      --%s%s%s", s->flag,
					 s->arg ? "=" : "", s->arg ? s->arg : "");
		if (strstr(text, want) == NULL)
			fail_msg("--help lacks \"%s\"", want);
		/* and each line of its help */
		assert_non_null(s->help);
		for (const char *line = s->help; *line != '\0';)
		{
			size_t n = strcspn(line, "\n");
			char   one[96];

			snprintf(one, sizeof(one), "%.*s\n", (int) n, line);
			if (strstr(text, one) == NULL)
				fail_msg("--help lacks \"%.*s\" of --%s", (int) n, line,
						 s->flag);
			line += n + (line[n] == '\n');
		}
		if (s->def != NULL && strstr(s->help, s->def) == NULL)
			fail_msg("the help of --%s does not say its default %s", s->flag,
					 s->def);
		/* the config key is the long flag with '_' for '-' */
		if (s->name != NULL)
		{
			char key[64];

			snprintf(key, sizeof(key), "%s", s->flag);
			for (char *p = key; *p; p++)
				if (*p == '-')
					*p = '_';
			assert_string_equal(key, s->name);
		}
	}
	assert_non_null(strstr(text, "trigger-install"));
	assert_non_null(strstr(text, "check [--json]"));
	free(text);
}

/* SIGHUP's split: the reload column applies, the rest is named. */
static void
test_config_reapply(void **state)
{
	wr_config live;
	wr_config fresh;
	char	  err[256];
	char	  applied[256];
	char	  kept[256];

	(void) state;
	assert_int_equal(load(&live, err, sizeof(err), "--slot", "a", NULL), 0);
	assert_int_equal(load(&fresh, err, sizeof(err), "--slot", "b", "--bus",
						  "ipc:///tmp/other", "--log-level", "debug",
						  "--control-allow", "uid:1=read", "--lag-limit",
						  "1kB", NULL),
					 0);
	wr_config_reapply(&live, &fresh, applied, sizeof(applied), kept,
					  sizeof(kept));
	assert_string_equal(applied, "log_level, lag_limit, control_allow");
	assert_string_equal(kept, "slot, bus");
	assert_int_equal(live.log_level, 3);
	assert_true(live.lag_limit_bytes == 1024);
	assert_int_equal(live.control_allow.n, 1);
	assert_string_equal(live.slot, "a");
	assert_string_equal(live.bus_urls[0], "ipc:///tmp/walbus.pub");
	wr_config_free(&fresh);

	/* the same settings again: nothing differs */
	assert_int_equal(load(&fresh, err, sizeof(err), "--slot", "a",
						  "--log-level", "debug", "--control-allow",
						  "uid:1=read", "--lag-limit", "1kB", NULL),
					 0);
	wr_config_reapply(&live, &fresh, applied, sizeof(applied), kept,
					  sizeof(kept));
	assert_string_equal(applied, "");
	assert_string_equal(kept, "");
	wr_config_free(&fresh);
	wr_config_free(&live);
}

/* ---------------------------------------------------------------- framing */

/* Receive one frame from sub and decode it into *f (dec owns the arrays). */
static nng_msg *
recv_frame(nng_socket sub, wbe_dec *dec, wbe_frame *f)
{
	nng_msg *m;

	assert_int_equal(nng_recvmsg(sub, &m, 0), 0);
	if (wbe_decode(dec, nng_msg_body(m), nng_msg_len(m), f) != WB_OK)
		fail_msg("bad frame: %s", wbe_dec_errmsg(dec));
	return m;
}

static void
assert_no_frame(nng_socket sub)
{
	nng_msg *m;

	assert_int_equal(nng_recvmsg(sub, &m, NNG_FLAG_NONBLOCK), NNG_EAGAIN);
}

/* Add one insert of (id, name) at pos to the frame for topic t. */
static void
add_insert(wr_publisher *p, wr_topic *t, uint32_t relid, uint32_t pos,
		   int64_t id, const char *name)
{
	wr_frame *f = wr_pub_frame(p, t, relid, 7, NULL, 0);

	assert_non_null(f);
	wbe_enc_change_start(&f->enc, WBE_INSERT, pos, 1);
	wbe_enc_values_start(&f->enc, 2);
	wb_enc_v_int(&f->enc, id);
	wb_enc_v_str(&f->enc, name, strlen(name));
	wr_pub_frame_added(p, f, pos);
}

static void
test_framing(void **state)
{
	wr_publisher  p;
	wr_window	  w;
	nng_socket	  sub;
	char		  err[256];
	char		 *urls[] = {"inproc://test_framing"};
	wbe_dec		  dec;
	wbe_frame	  f;
	nng_msg		 *m;
	wr_topic	 *a;
	wr_topic	 *b;
	wr_topic	 *msg;
	wbe_txn		  txn = {700, 0x5000, {1700000000, 0}};
	wbe_heartbeat hb = {{1700000001, 0}, 0, 0x4000, 0x3000};
	uint32_t	  pos = 0;

	(void) state;
	wr_window_init(&w, 1 << 20);
	wbe_dec_init(&dec);
	assert_int_equal(wr_pub_open(&p, 42, urls, 1, 16, 1024, &w, err,
								 sizeof(err)),
					 0);
	assert_int_equal(nng_sub0_open(&sub), 0);
	assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	assert_int_equal(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 2000), 0);
	assert_int_equal(nng_dial(sub, urls[0], NULL, 0), 0);
	/*
	 * pub0 drops what it sends before the pipe is attached on its side,
	 * which nng_dial's return does not wait for: wait for the publisher
	 * to count its subscriber (at most 2 s).
	 */
	for (int i = 0; i < 2000 && atomic_load(&p.subscribers) < 1; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&p.subscribers), 1);
	a = wr_pub_topic(&p, "public.a", 8);
	b = wr_pub_topic(&p, "public.b", 8);
	msg = wr_pub_topic(&p, "_msg.audit", 10);

	/*
	 * A transaction: 3 changes on a, 1 on b, 2 on a again, a message, 40 on
	 * b (past the 1 kB cap, so split), then its commit.
	 */
	wr_pub_txn_begin(&p, &txn);
	for (int i = 0; i < 3; i++)
		add_insert(&p, a, 1, ++pos, i, "ann");
	/* nothing is sent while changes keep coming on the same topic */
	assert_no_frame(sub);
	add_insert(&p, b, 2, ++pos, 100, "bob");
	m = recv_frame(sub, &dec, &f);
	assert_int_equal(f.kind, WBE_FRAME_CHANGES);
	assert_string_equal(f.topic.ptr, "public.a");
	assert_int_equal(f.head.seq, 1);
	assert_int_equal(f.head.tseq, 1);
	assert_int_equal(f.relid, 1);
	assert_int_equal(f.nchanges, 3);
	assert_int_equal(f.changes[0].pos, 1);
	assert_int_equal(f.changes[2].pos, 3);
	assert_int_equal(f.changes[2].values[0].v.i, 2);
	assert_true(f.in_txn && f.txn.commit_lsn == 0x5000 && f.txn.xid == 700);
	nng_msg_free(m);

	add_insert(&p, a, 1, ++pos, 3, "cy");
	add_insert(&p, a, 1, ++pos, 4, "di");
	m = recv_frame(sub, &dec, &f);
	assert_string_equal(f.topic.ptr, "public.b");
	assert_int_equal(f.nchanges, 1);
	assert_int_equal(f.changes[0].pos, 4);
	nng_msg_free(m);

	/* a transactional message: a frame of the message topic */
	{
		wr_frame *mf = wr_pub_frame(&p, msg, 0, 0, "audit", 5);

		assert_non_null(mf);
		wbe_enc_message(&mf->enc, ++pos, 0x4FF0, "hi", 2);
		wr_pub_frame_added(&p, mf, pos);
	}
	m = recv_frame(sub, &dec, &f);
	assert_string_equal(f.topic.ptr, "public.a");
	assert_int_equal(f.head.tseq, 2);
	assert_int_equal(f.nchanges, 2);
	assert_int_equal(f.changes[0].pos, 5);
	nng_msg_free(m);

	/* the size cap closes frames: 40 changes of ~110 bytes in 1 kB frames */
	for (int i = 0; i < 40; i++)
	{
		char name[101];

		memset(name, 'n', 100);
		name[100] = '\0';
		add_insert(&p, b, 2, ++pos, 1000 + i, name);
	}
	m = recv_frame(sub, &dec, &f);
	assert_string_equal(f.topic.ptr, "_msg.audit");
	assert_true(f.transactional);
	assert_int_equal(f.nchanges, 1);
	assert_int_equal(f.changes[0].kind, WBE_MESSAGE);
	assert_int_equal(f.changes[0].pos, 7);
	nng_msg_free(m);
	{
		uint32_t got = 0;
		uint32_t frames = 0;

		/* the last frame is still open: flushing sends it */
		wr_pub_flush(&p);
		while (got < 40)
		{
			m = recv_frame(sub, &dec, &f);
			assert_string_equal(f.topic.ptr, "public.b");
			assert_true(nng_msg_len(m) < 1024 + 200);
			assert_int_equal(f.changes[0].pos, 8 + got);
			got += f.nchanges;
			frames++;
			nng_msg_free(m);
		}
		assert_int_equal(got, 40);
		assert_true(frames >= 4);
	}
	assert_no_frame(sub);

	/* the commit counts frames per topic and says the last pos */
	assert_true(wr_pub_txn_commit(&p, 0x5000, 0x5100, pos));
	m = recv_frame(sub, &dec, &f);
	assert_int_equal(f.kind, WBE_FRAME_COMMIT);
	assert_int_equal(f.last_pos, 47);
	assert_int_equal(f.first_seq, 1);
	assert_int_equal(f.nframes, f.head.seq - 1);
	assert_int_equal(f.ntopics, 3);
	assert_int_equal(f.topics[0].count, 2); /* a */
	assert_int_equal(f.topics[0].last_tseq, 2);
	assert_true(f.topics[1].count >= 5);	/* b: 1 + the split ones */
	assert_int_equal(f.topics[2].count, 1); /* _msg.audit */
	nng_msg_free(m);

	/* the window holds each frame under the key of its last change */
	assert_int_equal(w.count, f.nframes + 1);
	assert_int_equal(wr_window_at(&w, 0)->key.pos, 3);
	assert_int_equal(wr_window_at(&w, 1)->key.pos, 4);
	assert_int_equal(wr_window_at(&w, w.count - 1)->key.pos, WBC_POS_COMMIT);
	assert_int_equal(wr_window_find(&w, (wr_wkey) {0x5000, 2}), 0);

	/* heartbeats and non-transactional messages: frames of their own */
	assert_true(wr_pub_message(&p, msg, 0x6000, "audit", 5, "x", 1));
	assert_true(wr_pub_heartbeat(&p, &hb));
	m = recv_frame(sub, &dec, &f);
	assert_false(f.in_txn);
	assert_int_equal(f.nchanges, 1);
	assert_int_equal(f.changes[0].pos, WBE_POS_NONE);
	nng_msg_free(m);
	m = recv_frame(sub, &dec, &f);
	assert_int_equal(f.kind, WBE_FRAME_HEARTBEAT);
	assert_int_equal(f.hb.txn_tseq, 1);
	nng_msg_free(m);
	/* a message with an empty prefix: topic "_msg." is a message topic */
	{
		wr_topic *empty = wr_pub_topic(&p, "_msg.", 5);
		wbe_txn	  txn2 = {701, 0x7000, {1700000002, 0}};
		wr_frame *mf;

		assert_true(empty->is_message);
		wr_pub_txn_begin(&p, &txn2);
		mf = wr_pub_frame(&p, empty, 0, 0, "", 0);
		assert_non_null(mf);
		wbe_enc_message(&mf->enc, 1, 0x6FF0, "e", 1);
		wr_pub_frame_added(&p, mf, 1);
		assert_true(wr_pub_txn_commit(&p, 0x7000, 0x7100, 1));
		m = recv_frame(sub, &dec, &f);
		assert_string_equal(f.topic.ptr, "_msg.");
		assert_int_equal(f.prefix.len, 0);
		assert_int_equal(f.changes[0].pos, 1);
		nng_msg_free(m);
		m = recv_frame(sub, &dec, &f);
		assert_int_equal(f.kind, WBE_FRAME_COMMIT);
		nng_msg_free(m);
		assert_int_equal(p.errors, 0);
	}

	/* every frame but the commits and the heartbeat carries changes */
	assert_int_equal(p.frames, f.head.seq - 3);

	nng_close(sub);
	wr_pub_close(&p);
	wbe_dec_free(&dec);
	wr_window_free(&w);
}

/* ------------------------------------------------------- trigger source */

/* A growable buffer for the record encoder. */
typedef struct tbuf
{
	char   data[4096];
	size_t len;
} tbuf;

static int
tbuf_write(void *ctx, const char *p, size_t n)
{
	tbuf *b = ctx;

	if (b->len + n > sizeof(b->data))
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* The value one field of row text encodes to, decoded back. */
static wb_value
tv_value(const char *rowtext, uint32_t field, uint32_t typoid, bool *ok)
{
	static tbuf	  b;
	static wb_dec d;
	static bool	  init;
	wr_tv_row	  row = {0};
	wb_enc		  e;
	wb_record	  rec;
	char		  err[128];
	wb_value	  v = {0};

	if (!init)
	{
		wb_dec_init(&d);
		init = true;
	}
	b.len = 0;
	wb_enc_init(&e, tbuf_write, &b);
	wb_enc_insert_start(&e, 1, 1);
	*ok = wr_tv_split(&row, rowtext, strlen(rowtext), err, sizeof(err)) &&
		wr_tv_encode(&e, typoid, &row, field, err, sizeof(err)) &&
		!wb_enc_failed(&e) &&
		wb_decode(&d, b.data, b.len, &rec, NULL) == WB_OK;
	if (*ok)
		v = rec.u.change.values[0];
	wr_tv_free(&row);
	return v;
}

static void
test_tvalues(void **state)
{
	wr_tv_row	row = {0};
	char		err[128];
	size_t		len;
	const char *t;
	bool		ok;
	wb_value	v;

	(void) state;
	/* record_out's quoting: "" and \\ inside quotes, empty is NULL */
	assert_true(
		wr_tv_split(&row, "(1,\"a \"\"q\"\", x\",\"\\\\x00ff\",,\"\")",
					strlen("(1,\"a \"\"q\"\", x\",\"\\\\x00ff\",,\"\")"), err,
					sizeof(err)));
	assert_int_equal(row.nfields, 5);
	t = wr_tv_text(&row, 1, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(t, "a \"q\", x", 8);
	t = wr_tv_text(&row, 2, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(t, "\\x00ff", 6);
	assert_null(wr_tv_text(&row, 3, &len));
	assert_non_null(wr_tv_text(&row, 4, &len));
	assert_int_equal(len, 0);
	assert_false(wr_tv_split(&row, "(1,\"open)", 10, err, sizeof(err)));
	assert_false(wr_tv_split(&row, "1,2", 3, err, sizeof(err)));
	wr_tv_free(&row);

	/* typed values, as the plugin encodes them */
	v = tv_value("(-9223372036854775808)", 0, 20, &ok);
	assert_true(ok && v.type == WB_V_INT && v.v.i == INT64_MIN);
	v = tv_value("(t)", 0, 16, &ok);
	assert_true(ok && v.type == WB_V_BOOL && v.v.b);
	v = tv_value("(NaN)", 0, 701, &ok);
	assert_true(ok && v.type == WB_V_FLOAT64 && v.v.f64 != v.v.f64);
	v = tv_value("(-Infinity)", 0, 700, &ok);
	assert_true(ok && v.type == WB_V_FLOAT32 && v.v.f32 < -3.4e38f);
	v = tv_value("(0.1)", 0, 701, &ok);
	assert_true(ok && v.v.f64 == 0.1);
	v = tv_value("(\"\\\\x00ff\")", 0, 17, &ok);
	assert_true(ok && v.type == WB_V_BIN && v.v.s.len == 2 &&
				(unsigned char) v.v.s.ptr[1] == 0xff);
	v = tv_value("(\"2000-01-01 00:00:00\")", 0, 1114, &ok);
	assert_true(ok && v.type == WB_V_TIMESTAMP && v.v.ts.sec == 946684800 &&
				v.v.ts.nsec == 0);
	v = tv_value("(\"2024-05-01 10:00:00.5+05:30\")", 0, 1184, &ok);
	assert_true(ok && v.v.ts.sec == 1714537800 && v.v.ts.nsec == 500000000);
	v = tv_value("(\"1969-12-31 23:59:59.999999+00\")", 0, 1184, &ok);
	assert_true(ok && v.v.ts.sec == -1 && v.v.ts.nsec == 999999000);
	v = tv_value("(\"0001-01-01 00:00:00 BC\")", 0, 1114, &ok);
	assert_true(ok && v.v.ts.sec == -62167219200);
	v = tv_value("(infinity)", 0, 1184, &ok);
	assert_true(ok && v.type == WB_V_STR && v.v.s.len == 8);
	v = tv_value("(12.50)", 0, 1700, &ok);
	assert_true(ok && v.type == WB_V_STR && v.v.s.len == 5);
	(void) tv_value("(12x)", 0, 23, &ok);
	assert_false(ok);
	(void) tv_value("(\"2024-13-01 00:00:00\")", 0, 1114, &ok);
	assert_false(ok);
}

static void
test_torder(void **state)
{
	/* txn 0 inserts k (A); txn 2 updates A to B; txn 1 updates B to C */
	wr_to_ver v[] = {
		{0, "k", 1, NULL, 0, "A", 1, true, false},
		{1, "k", 1, "B", 1, "C", 1, false, false},
		{2, "k", 1, "A", 1, "B", 1, false, false},
		{3, "other", 5, NULL, 0, "Z", 1, true, false},
	};
	/* txn 1 deletes j, txn 0 inserts j again: 1 first */
	wr_to_ver w[] = {
		{0, "j", 1, NULL, 0, "J2", 2, true, false},
		{1, "j", 1, "J1", 2, NULL, 0, false, true},
	};
	/* txn 0 inserts j, txn 1 deletes what 0 wrote: 0 first */
	wr_to_ver x[] = {
		{0, "j", 1, NULL, 0, "J2", 2, true, false},
		{1, "j", 1, "J2", 2, NULL, 0, false, true},
	};
	/* a contradiction: each changed the other's version */
	wr_to_ver y[] = {
		{0, "k", 1, "B", 1, "A", 1, false, false},
		{1, "k", 1, "A", 1, "B", 1, false, false},
	};
	uint32_t order[4];
	bool	 cycle;

	(void) state;
	assert_true(wr_torder(v, 4, 4, order, &cycle));
	assert_false(cycle);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
	assert_int_equal(order[3], 3);
	assert_true(wr_torder(w, 2, 2, order, &cycle));
	assert_int_equal(order[0], 1);
	assert_true(wr_torder(x, 2, 2, order, &cycle));
	assert_int_equal(order[0], 0);
	assert_true(wr_torder(y, 2, 2, order, &cycle));
	assert_true(cycle);
	assert_int_equal(order[0] + order[1], 1);
}

/* control_allow: what parses, and what each error says. */
static void
test_authz_parse(void **state)
{
	static const struct
	{
		const char *value;
		const char *error; /* NULL: parses */
		int			nrules;
	} cases[] = {
		{"uid:1000=consumer:crm-sync", NULL, 1},
		{" uid:0 = read ,uid:*=all, any=read ", NULL, 3},
		{"cn:*=consumer:a.b_c-d", NULL, 1},
		{"", "empty control_allow", 0},
		{" , ", "empty control_allow", 0},
		{"uid:1000", "write IDENTITY=RIGHT", 0},
		{"uid:x=read", "invalid identity \"uid:x\"", 0},
		{"uid:=read", "invalid identity", 0},
		{"uid:123456789012=read", "invalid identity", 0},
		{"user:bob=read", "use cn:NAME, cn:*, uid:N, uid:* or any", 0},
		{"uid:1=write", "invalid right \"write\"", 0},
		{"uid:1=consumer:", "invalid right", 0},
		{"uid:1=consumer:b@d", "invalid right \"consumer:b@d\"", 0},
		{"cn:=read", "invalid identity", 0},
#ifdef NNG_OPT_TLS_PEER_CN
		{"cn:crm-worker=consumer:crm-sync", NULL, 1},
#else
		{"cn:crm-worker=consumer:crm-sync", "older than 1.6", 0},
#endif
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		wr_authz a;
		char	 err[300] = "";
		int		 rc;

		memset(&a, 0, sizeof(a));
		rc = wr_authz_add(&a, cases[i].value, err, sizeof(err));
		if (cases[i].error == NULL)
		{
			if (rc != 0)
				fail_msg("\"%s\": %s", cases[i].value, err);
			assert_int_equal(a.n, cases[i].nrules);
		}
		else
		{
			assert_int_equal(rc, -1);
			if (strstr(err, cases[i].error) == NULL)
				fail_msg("\"%s\": \"%s\" lacks \"%s\"", cases[i].value, err,
						 cases[i].error);
		}
	}
}

/* The decision, for each kind of client, with and without rules. */
static void
test_authz_check(void **state)
{
	wr_authz		  none;
	wr_authz		  rules;
	wr_authz_identity ipc_pg = {WR_AUTHZ_IPC, true, 107, false, ""};
	wr_authz_identity ipc_root = {WR_AUTHZ_IPC, true, 0, false, ""};
	wr_authz_identity ipc_other = {WR_AUTHZ_IPC, true, 1000, false, ""};
	wr_authz_identity tcp = {WR_AUTHZ_TCP, false, 0, false, ""};
	wr_authz_identity tls_anon = {WR_AUTHZ_TLS, false, 0, false, ""};
	wr_authz_identity tls_worker = {WR_AUTHZ_TLS, false, 0, true,
									"crm-worker"};
	wr_authz_identity tls_monitor = {WR_AUTHZ_TLS, false, 0, true, "monitor"};
	wr_authz_identity tls_forged = {WR_AUTHZ_TLS, false, 0, false,
									"crm-worker"};
	static const wr_authz_rule cn_rules[] = {
		{WR_AUTHZ_WHO_CN, "crm-worker", 0, WR_AUTHZ_RIGHT_CONSUMER,
		 "crm-sync"},
		{WR_AUTHZ_WHO_CN, "monitor", 0, WR_AUTHZ_RIGHT_READ, ""},
	};
	char why[300];
	char err[300];

	(void) state;
	memset(&none, 0, sizeof(none));
	memset(&rules, 0, sizeof(rules));

	/* no rules: ipc and tcp keep today's behaviour, tls gets nothing */
	assert_true(wr_authz_check(&none, &ipc_other, WR_AUTHZ_CONSUMER, "x", 1,
							   why, sizeof(why)));
	assert_true(
		wr_authz_check(&none, &tcp, WR_AUTHZ_ALL, NULL, 0, why, sizeof(why)));
	assert_false(wr_authz_check(&none, &tls_worker, WR_AUTHZ_READ, NULL, 0,
								why, sizeof(why)));
	assert_non_null(strstr(why,
						   "cn:crm-worker may not use this relay's "
						   "control socket: no control_allow rule names it"));

	assert_int_equal(wr_authz_add(&rules,
								  "uid:107=consumer:crm-sync, "
								  "uid:0=read, cn:*=read",
								  err, sizeof(err)),
					 0);
	assert_true(wr_authz_check(&rules, &ipc_pg, WR_AUTHZ_READ, NULL, 0, why,
							   sizeof(why)));
	assert_true(wr_authz_check(&rules, &ipc_pg, WR_AUTHZ_CONSUMER, "crm-sync",
							   8, why, sizeof(why)));
	assert_false(wr_authz_check(&rules, &ipc_pg, WR_AUTHZ_CONSUMER,
								"crm-syncx", 9, why, sizeof(why)));
	assert_non_null(strstr(why,
						   "uid:107 may not act as durable consumer "
						   "\"crm-syncx\""));
	assert_false(wr_authz_check(&rules, &ipc_pg, WR_AUTHZ_ALL, NULL, 0, why,
								sizeof(why)));
	assert_non_null(strstr(why, "may not request backfills"));
	assert_true(wr_authz_check(&rules, &ipc_root, WR_AUTHZ_READ, NULL, 0, why,
							   sizeof(why)));
	assert_false(wr_authz_check(&rules, &ipc_root, WR_AUTHZ_CONSUMER,
								"crm-sync", 8, why, sizeof(why)));
	assert_false(wr_authz_check(&rules, &ipc_other, WR_AUTHZ_READ, NULL, 0,
								why, sizeof(why)));
	assert_non_null(strstr(why, "uid:1000 may not use"));
	/* with rules, a plain tcp client is matched only by "any" */
	assert_false(wr_authz_check(&rules, &tcp, WR_AUTHZ_READ, NULL, 0, why,
								sizeof(why)));
	assert_true(wr_authz_check(&rules, &tls_monitor, WR_AUTHZ_READ, NULL, 0,
							   why, sizeof(why)));
	assert_false(wr_authz_check(&rules, &tls_anon, WR_AUTHZ_READ, NULL, 0, why,
								sizeof(why)));
	assert_non_null(strstr(why, "without a verified certificate"));

	/* CN rules (built directly: parsing them needs nng 1.6) */
	memset(&rules, 0, sizeof(rules));
	memcpy(rules.rules, cn_rules, sizeof(cn_rules));
	rules.n = 2;
	assert_true(wr_authz_check(&rules, &tls_worker, WR_AUTHZ_CONSUMER,
							   "crm-sync", 8, why, sizeof(why)));
	assert_false(wr_authz_check(&rules, &tls_worker, WR_AUTHZ_CONSUMER,
								"billing", 7, why, sizeof(why)));
	assert_non_null(strstr(why,
						   "cn:crm-worker may not act as durable "
						   "consumer \"billing\""));
	assert_true(wr_authz_check(&rules, &tls_monitor, WR_AUTHZ_READ, NULL, 0,
							   why, sizeof(why)));
	assert_false(wr_authz_check(&rules, &tls_monitor, WR_AUTHZ_CONSUMER,
								"crm-sync", 8, why, sizeof(why)));
	/* a CN counts only with a verified certificate */
	assert_false(wr_authz_check(&rules, &tls_forged, WR_AUTHZ_READ, NULL, 0,
								why, sizeof(why)));
	assert_false(wr_authz_check(&rules, &ipc_pg, WR_AUTHZ_READ, NULL, 0, why,
								sizeof(why)));
}

/* Which plain URLs count as loopback, and how URLs are classified. */
static void
test_listen_urls(void **state)
{
	static const struct
	{
		const char *url;
		bool		loopback;
	} cases[] = {
		{"tcp://127.0.0.1:5555", true},
		{"tcp://127.1.2.3:5555", true},
		{"tcp://[::1]:5555", true},
		{"tcp://localhost:5555", true},
		{"tcp4://127.0.0.1:5555", true},
		{"tcp://0.0.0.0:5555", false},
		{"tcp://:5555", false},
		{"tcp://*:5555", false},
		{"tcp://[::]:5555", false},
		{"tcp://10.0.0.1:5555", false},
		{"tcp://relay.example:5555", false},
		{"tcp://[::ffff:127.0.0.1]:5555", false},
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (wr_listen_loopback(cases[i].url) != cases[i].loopback)
			fail_msg("%s: loopback should be %d", cases[i].url,
					 cases[i].loopback);
	assert_int_equal(wr_listen_kind_of("ipc:///tmp/x"), WR_LISTEN_LOCAL);
	assert_int_equal(wr_listen_kind_of("inproc://x"), WR_LISTEN_LOCAL);
	assert_int_equal(wr_listen_kind_of("tcp://127.0.0.1:1"), WR_LISTEN_PLAIN);
	assert_int_equal(wr_listen_kind_of("ws://127.0.0.1:1/x"), WR_LISTEN_PLAIN);
	assert_int_equal(wr_listen_kind_of("tls+tcp://h:1"), WR_LISTEN_TLS);
	assert_int_equal(wr_listen_kind_of("tls+tcp6://h:1"), WR_LISTEN_TLS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confirm_best_effort),
		cmocka_unit_test(test_confirm_durable),
		cmocka_unit_test(test_confirm_jetstream),
		cmocka_unit_test(test_jetstream_subjects),
		cmocka_unit_test(test_consumers),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_replay_pages),
		cmocka_unit_test(test_walproto_round_trip),
		cmocka_unit_test(test_walproto_layout),
		cmocka_unit_test(test_walproto_malformed),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_relcache_history),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_file_and_flags),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_kinds),
		cmocka_unit_test(test_config_precedence),
		cmocka_unit_test(test_config_help),
		cmocka_unit_test(test_config_reapply),
		cmocka_unit_test(test_tvalues),
		cmocka_unit_test(test_torder),
		cmocka_unit_test(test_authz_parse),
		cmocka_unit_test(test_authz_check),
		cmocka_unit_test(test_listen_urls),
	};

	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}
