/*-------------------------------------------------------------------------
 *
 * test_client.c
 *	  cmocka tests of libwalbus against a real nng pub0 socket publishing
 *	  real frames (bus layout 2, encoded with the relay's encoder) and a
 *	  rep0 control socket served by a thread, all over inproc:// (no ports).
 *
 * The fake relay answers "status" and "schema", and for durable consumers
 * "hello", "ack" (it records the last one) and "replay" from a window that
 * keeps a copy of every transactional frame it publishes, keyed by its last
 * change, as the real relay does.  A frame can be kept in the window but
 * not sent on the bus: that is how the tests lose frames.
 *
 * Covered: names and typed values, table/schema/message/_txn filters,
 * frames of many changes delivered one per walbus_recv, gap detection on
 * frames (tseq jumps, _txn proofs, heartbeats, new relay runs, no false
 * gaps for unsubscribed topics) with WALBUS_EGAP before the frame that
 * revealed the loss, repeats dropped per change, unknown schema versions,
 * malformed frames, timeouts, the status request (every field of
 * proto/status_fields.h, the size rule), recv_queue, and the
 * durable path (durable.h's state machine): pull at open, back to the
 * bus, pull on a gap with each missed frame delivered once, a replay page
 * straddling the resume key, resuming after the worker's key or the
 * relay's hello, a rewind answered before data, a relay restart (new run),
 * acks with the commit-frame settle rule, releases.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>

#include "walbus_client.h"
#include "walbus_control.h"
#include "walbus_envelope.h"
#include "walbus_backfill.h"
#include "walbus_schema.h"

#define RUN_A 0xA11CE
#define RUN_B 0xB0B

/* The table the fake relay knows: public.contacts(id int, name text, ok bool) */
#define CONTACTS_RELID 16385
#define CONTACTS_SV	   4242
#define ARCHIVE_RELID  16401
#define ARCHIVE_SV	   77

#define TXN_LSN		0x1000 /* commit LSN of the first transaction */
#define TXN_STEP	0x100  /* and how far apart transactions are */
#define END_OF(lsn) ((lsn) + 0x30)

#define WINDOW_MAX 64

/* A transactional frame the fake relay keeps for replay. */
typedef struct kept_frame
{
	void	*bytes; /* topic, NUL, map */
	size_t	 len;
	wbc_key	 last; /* key of its last change */
	uint64_t seq;
} kept_frame;

typedef struct fake_relay
{
	nng_socket	   pub;
	nng_socket	   rep;
	pthread_t	   thread;
	atomic_int	   stop;
	atomic_int	   pipes; /* subscribers connected */
	atomic_int	   requests;
	char		   bus_url[64];
	char		   ctl_url[64];
	uint64_t	   run;
	uint64_t	   seq;
	uint64_t	   tseq[8]; /* per test topic, indexed by caller */
	uint64_t	   txn_off; /* commit_lsn of the open txn - TXN_LSN */
	uint32_t	   npos;	/* last pos used in it */
	walbus_client *client;

	/* durable consumers; the rep thread reads what the test thread writes */
	pthread_mutex_t lock;
	kept_frame		window[WINDOW_MAX];
	int				nwindow;
	uint64_t		published_seq; /* seq of the last frame published */
	int				page_max;	   /* frames per replay page; 0: all */
	int				acks;
	wbc_key			ack_key; /* of the last ack request */
	uint64_t		ack_end;
	bool			ack_has_release;
	wbc_key			ack_release;
	int				replays;
	wbc_key			replay_after; /* of the last replay request */
	int				rewinds;	  /* replays still to answer "rewind" */
	wbc_hello		hello;		  /* its acked positions answer "hello" */
} fake_relay;

static int url_counter;

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	fake_relay *f = arg;

	(void) p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&f->pipes, 1);
}

static int
msg_write(void *ctx, const char *buf, size_t len)
{
	return nng_msg_append((nng_msg *) ctx, buf, len);
}

/* Does a replay request's prefix list select this bus message? */
static bool
replay_selects(const wbc_request *r, const kept_frame *k)
{
	if (((const char *) k->bytes)[0] == WBE_TOPIC_RESERVED)
		return true;
	for (uint32_t i = 0; i < r->nprefixes; i++)
		if (r->prefixes[i].len <= k->len &&
			memcmp(k->bytes, r->prefixes[i].ptr, r->prefixes[i].len) == 0)
			return true;
	return false;
}

/* The window's frames whose last key is after the one asked for. */
static void
answer_replay(fake_relay *f, const wbc_request *r, wb_enc *e)
{
	wbc_key	 after = {r->commit_lsn, r->pos};
	int		 pick[WINDOW_MAX];
	int		 n = 0;
	bool	 end = true;
	uint64_t last_seq;

	pthread_mutex_lock(&f->lock);
	f->replays++;
	f->replay_after = after;
	if (f->rewinds > 0)
	{
		/* restarting its stream from the slot: nothing to give yet */
		f->rewinds--;
		wbc_enc_replay_start(e, WBC_REPLAY_REWIND, f->run, 0, false, 0);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	for (int i = 0; i < f->nwindow; i++)
	{
		if (wbc_key_cmp(f->window[i].last, after) <= 0 ||
			!replay_selects(r, &f->window[i]))
			continue;
		if (f->page_max > 0 && n == f->page_max)
		{
			end = false;
			break;
		}
		pick[n++] = i;
	}
	last_seq = end ? f->published_seq : f->window[pick[n - 1]].seq;
	wbc_enc_replay_start(e, WBC_REPLAY_DATA, f->run, last_seq, end,
						 (uint32_t) n);
	for (int i = 0; i < n; i++)
		wbc_enc_replay_message(e, f->window[pick[i]].bytes,
							   f->window[pick[i]].len);
	pthread_mutex_unlock(&f->lock);
}

/*
 * The fake relay's status: every field of WBC_STATUS_FIELDS with a value of
 * its own (numbers above 32 bits, strings spelling the field's name), then
 * a few that tests read by name, and two consumers.
 */
#define STATUS_SET_UINT(f)			st->f = v++;
#define STATUS_SET_LSN(f)			st->f = v++;
#define STATUS_SET_FLAG(f)			st->f = v++ & 1;
#define STATUS_SET_STR(f)			st->f = (wb_str) {#f, sizeof(#f) - 1};
#define STATUS_SET(name, kind, doc) STATUS_SET_##kind(name)

static void
status_fill(wbc_status *st, uint64_t run)
{
	uint64_t v = UINT64_C(0x1234500000001);

	memset(st, 0, sizeof(*st));
	WBC_STATUS_FIELDS(STATUS_SET)
	st->run = run;
	st->slot = (wb_str) {"walbus", 6};
	st->state = (wb_str) {"streaming", 9};
	st->delivery = (wb_str) {"best_effort", 11};
	st->flushed_lsn = 0x16B3748;
	st->nconsumers = 2;
	st->consumers[0] = (wbc_consumer_status) {{"crm", 3}, 1, 0x16B0000, 5,
											  0,		  7, 8};
	st->consumers[1] = (wbc_consumer_status) {{"erp", 3}, 0,  0x16A0000, 9,
											  1,		  10, 11};
}

/* Answer requests like the relay's control socket. */
static void
answer(fake_relay *f, nng_msg *req, nng_msg *rep)
{
	wbc_request r;
	wb_enc		e;
	char		err[160];

	wb_enc_init(&e, msg_write, rep);
	if (wbc_decode_request(nng_msg_body(req), nng_msg_len(req), &r, err,
						   sizeof(err)) != WB_OK)
	{
		wbc_enc_error(&e, WBC_ERR_BAD_REQUEST, err);
		return;
	}
	if (r.op == WBC_OP_STATUS)
	{
		wbc_status st;

		status_fill(&st, f->run);
		wbc_enc_status(&e, &st);
	}
	else if (r.op == WBC_OP_SCHEMA && r.relid == CONTACTS_RELID &&
			 r.schema_version == CONTACTS_SV)
	{
		wbc_column cols[3] = {
			{{"id", 2}, 23, -1, {"integer", 7}, 1},
			{{"name", 4}, 25, -1, {"text", 4}, 2},
			{{"ok", 2}, 16, -1, {"boolean", 7}, 4},
		};
		wbc_schema def = {CONTACTS_RELID,
						  CONTACTS_SV,
						  {"public", 6},
						  {"contacts", 8},
						  2200,
						  0,
						  3,
						  cols};

		wbc_enc_table(&e, &def, true);
	}
	else if (r.op == WBC_OP_SCHEMA && r.relid == ARCHIVE_RELID &&
			 r.schema_version == ARCHIVE_SV)
	{
		wbc_column col = {{"id", 2}, 20, -1, {"bigint", 6}, 1};
		wbc_schema def = {ARCHIVE_RELID,
						  ARCHIVE_SV,
						  {"public", 6},
						  {"contacts_archive", 16},
						  2200,
						  0,
						  1,
						  &col};

		wbc_enc_table(&e, &def, true);
	}
	else if (r.op == WBC_OP_SCHEMA)
		wbc_enc_error(&e, WBC_ERR_NOT_FOUND, "unknown schema version");
	else if (r.op == WBC_OP_HELLO)
	{
		wbc_hello h;

		pthread_mutex_lock(&f->lock);
		h = f->hello;
		pthread_mutex_unlock(&f->lock);
		h.run = f->run;
		h.durable = true;
		wbc_enc_hello(&e, &h);
	}
	else if (r.op == WBC_OP_ACK)
	{
		pthread_mutex_lock(&f->lock);
		f->acks++;
		f->ack_key = (wbc_key) {r.commit_lsn, r.pos};
		f->ack_end = r.end_lsn;
		f->ack_has_release = r.has_release;
		f->ack_release = r.release;
		pthread_mutex_unlock(&f->lock);
		wbc_enc_ack(&e, 0);
	}
	else if (r.op == WBC_OP_REPLAY)
		answer_replay(f, &r, &e);
	else
		wbc_enc_error(&e, WBC_ERR_UNKNOWN_OP, "unknown op");
}

static void *
serve(void *arg)
{
	fake_relay *f = arg;

	while (!atomic_load(&f->stop))
	{
		nng_msg *req;
		nng_msg *rep;

		if (nng_recvmsg(f->rep, &req, 0) != 0)
			continue; /* receive timeout: look at stop */
		atomic_fetch_add(&f->requests, 1);
		nng_msg_alloc(&rep, 0);
		answer(f, req, rep);
		nng_msg_free(req);
		nng_sendmsg(f->rep, rep, 0);
	}
	return NULL;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Start the fake relay, without a client. */
static int
setup_relay(void **state)
{
	fake_relay *f = calloc(1, sizeof(fake_relay));

	url_counter++;
	snprintf(f->bus_url, sizeof(f->bus_url), "inproc://walbus-test-bus-%d",
			 url_counter);
	snprintf(f->ctl_url, sizeof(f->ctl_url), "inproc://walbus-test-ctl-%d",
			 url_counter);
	f->run = RUN_A;
	pthread_mutex_init(&f->lock, NULL);
	assert_int_equal(nng_pub0_open(&f->pub), 0);
	assert_int_equal(nng_pipe_notify(f->pub, NNG_PIPE_EV_ADD_POST, on_pipe, f),
					 0);
	assert_int_equal(nng_listen(f->pub, f->bus_url, NULL, 0), 0);
	assert_int_equal(nng_rep0_open(&f->rep), 0);
	assert_int_equal(nng_socket_set_ms(f->rep, NNG_OPT_RECVTIMEO, 50), 0);
	assert_int_equal(nng_listen(f->rep, f->ctl_url, NULL, 0), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
	*state = f;
	return 0;
}

/* Wait until the bus has more subscribers than before. */
static void
wait_pipes(fake_relay *f, int before)
{
	for (int i = 0; i < 200 && atomic_load(&f->pipes) == before; i++)
		sleep_ms(5);
	assert_true(atomic_load(&f->pipes) > before);
}

/* The fake relay and a best-effort client connected to it. */
static int
setup(void **state)
{
	fake_relay	  *f;
	walbus_options o = {0};
	char		   err[256];

	setup_relay(state);
	f = *state;
	o.bus_url = f->bus_url;
	o.control_url = f->ctl_url;
	o.control_timeout_ms = 2000;
	if (walbus_open(&f->client, &o, err, sizeof(err)) != WALBUS_OK)
		fail_msg("walbus_open: %s", err);
	wait_pipes(f, 0);
	return 0;
}

/* A durable consumer "crm" resuming after (lsn, pos), as f->client. */
static void
open_durable(fake_relay *f, uint64_t lsn, uint32_t pos)
{
	walbus_options o = {0};
	char		   err[256];
	int			   before = atomic_load(&f->pipes);

	o.bus_url = f->bus_url;
	o.control_url = f->ctl_url;
	o.control_timeout_ms = 2000;
	o.consumer = "crm";
	o.resume_commit_lsn = lsn;
	o.resume_pos = pos;
	if (walbus_open(&f->client, &o, err, sizeof(err)) != WALBUS_OK)
		fail_msg("walbus_open: %s", err);
	wait_pipes(f, before);
}

static int
teardown(void **state)
{
	fake_relay *f = *state;

	walbus_close(f->client);
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	nng_close(f->pub);
	nng_close(f->rep);
	for (int i = 0; i < f->nwindow; i++)
		free(f->window[i].bytes);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ publishing */

static const wbe_txn txn1 = {900, TXN_LSN, {1700000000, 0}};

/* The open transaction of the fake relay. */
static wbe_txn
open_txn(const fake_relay *f)
{
	wbe_txn t = txn1;

	t.commit_lsn += f->txn_off;
	return t;
}

static nng_msg *
msg_start(wb_enc *e, const char *topic)
{
	nng_msg *m;

	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	wb_enc_init(e, msg_write, m);
	wbe_enc_topic(e, topic, strlen(topic));
	return m;
}

/*
 * Publish a frame: keep a copy in the window when it is transactional
 * (last: the key of its last change), and send it on the bus unless
 * on_bus is false (it is then lost on the bus, as nng would drop it).
 */
static void
msg_send(fake_relay *f, wb_enc *e, nng_msg *m, const wbc_key *last,
		 bool on_bus)
{
	assert_false(wb_enc_failed(e));
	pthread_mutex_lock(&f->lock);
	f->published_seq = f->seq;
	if (last != NULL)
	{
		kept_frame *k = &f->window[f->nwindow++];

		assert_true(f->nwindow <= WINDOW_MAX);
		k->len = nng_msg_len(m);
		k->bytes = malloc(k->len);
		memcpy(k->bytes, nng_msg_body(m), k->len);
		k->last = *last;
		k->seq = f->seq;
	}
	pthread_mutex_unlock(&f->lock);
	if (on_bus)
		assert_int_equal(nng_sendmsg(f->pub, m, 0), 0);
	else
		nng_msg_free(m);
}

/* A frame under construction. */
typedef struct frame_b
{
	nng_msg *m;
	wb_enc	 e;
	size_t	 hdr; /* offset of the changes array header */
	uint32_t n;	  /* changes written */
	bool	 in_txn;
} frame_b;

/* Open a frame of changes on a table topic; ti picks the topic's counter. */
static void
frame_table(fake_relay *f, frame_b *b, const char *topic, int ti,
			uint32_t relid, uint64_t sv)
{
	wbe_head h = {f->run, ++f->seq, ++f->tseq[ti]};
	wbe_txn	 t = open_txn(f);

	b->m = msg_start(&b->e, topic);
	wbe_enc_frame_table(&b->e, &h, &t, relid, sv);
	b->hdr = nng_msg_len(b->m) - WBE_CHANGES_HDR_LEN;
	b->n = 0;
	b->in_txn = true;
}

/* Open a frame of messages on _msg.prefix, transactional or not. */
static void
frame_messages(fake_relay *f, frame_b *b, const char *prefix, int ti,
			   bool transactional)
{
	char	 topic[64];
	wbe_head h;
	wbe_txn	 t = open_txn(f);

	snprintf(topic, sizeof(topic), "_msg.%s", prefix);
	h = (wbe_head) {f->run, ++f->seq, ++f->tseq[ti]};
	b->m = msg_start(&b->e, topic);
	wbe_enc_frame_messages(&b->e, &h, transactional ? &t : NULL, prefix,
						   strlen(prefix));
	b->hdr = nng_msg_len(b->m) - WBE_CHANGES_HDR_LEN;
	b->n = 0;
	b->in_txn = transactional;
}

/* An INSERT of (id, name, true), or of (id) when name is NULL. */
static void
add_insert(fake_relay *f, frame_b *b, int64_t id, const char *name)
{
	wbe_enc_change_start(&b->e, WBE_INSERT, ++f->npos, 1);
	wbe_enc_values_start(&b->e, name != NULL ? 3 : 1);
	wb_enc_v_int(&b->e, id);
	if (name != NULL)
	{
		wb_enc_v_str(&b->e, name, strlen(name));
		wb_enc_v_bool(&b->e, true);
	}
	b->n++;
}

/* An UPDATE of a contact to (id, name, false) that moved it from old_id. */
static void
add_update(fake_relay *f, frame_b *b, int64_t id, const char *name,
		   int64_t old_id)
{
	wbe_enc_change_start(&b->e, WBE_UPDATE, ++f->npos, 2);
	wbe_enc_values_start(&b->e, 3);
	wb_enc_v_int(&b->e, id);
	wb_enc_v_str(&b->e, name, strlen(name));
	wb_enc_v_bool(&b->e, false);
	wb_enc_v_int(&b->e, old_id);
	b->n++;
}

static void
add_delete(fake_relay *f, frame_b *b, int64_t id)
{
	wbe_enc_change_start(&b->e, WBE_DELETE, ++f->npos, 1);
	wb_enc_v_int(&b->e, id);
	b->n++;
}

static void
add_truncate(fake_relay *f, frame_b *b, uint32_t flags)
{
	wbe_enc_truncate(&b->e, ++f->npos, flags);
	b->n++;
}

static void
add_message(fake_relay *f, frame_b *b, const char *content)
{
	wbe_enc_message(&b->e, b->in_txn ? ++f->npos : WBE_POS_NONE, 0x3000,
					content, strlen(content));
	b->n++;
}

/* Close the frame and publish it (see msg_send). */
static void
frame_send(fake_relay *f, frame_b *b, bool on_bus)
{
	wbc_key last = {open_txn(f).commit_lsn, f->npos};

	wbe_patch_changes_count((char *) nng_msg_body(b->m) + b->hdr, b->n);
	msg_send(f, &b->e, b->m, b->in_txn ? &last : NULL, on_bus);
}

/*
 * A frame of one INSERT of (id, name, true) on topic, at pos or the next
 * one if pos is not above the last (keys grow like a real relay's, or the
 * client drops repeats).
 */
static void
pub_insert(fake_relay *f, const char *topic, int ti, uint32_t relid,
		   uint64_t sv, int64_t id, const char *name, uint32_t pos)
{
	frame_b b;

	if (pos > f->npos + 1)
		f->npos = pos - 1;
	frame_table(f, &b, topic, ti, relid, sv);
	add_insert(f, &b, id, relid == CONTACTS_RELID ? name : NULL);
	frame_send(f, &b, true);
}

/* A frame of contacts (id, name) inserts first_id, first_id + 1, ... */
static void
pub_inserts(fake_relay *f, int64_t first_id, int n, bool on_bus)
{
	frame_b b;

	frame_table(f, &b, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV);
	for (int i = 0; i < n; i++)
		add_insert(f, &b, first_id + i, "x");
	frame_send(f, &b, on_bus);
}

/* Skip a topic's frame of nchanges changes as if nng had dropped it. */
static void
drop_frame(fake_relay *f, int ti, uint32_t nchanges)
{
	f->seq++;
	f->tseq[ti]++;
	f->npos += nchanges;
}

static void
drop_one(fake_relay *f, int ti)
{
	drop_frame(f, ti, 1);
}

typedef struct txn_topic
{
	const char *topic;
	int			ti;
	uint32_t	count; /* frames */
} txn_topic;

#define TI_TXN 7

/* The open transaction's commit frame; the next transaction opens. */
static void
pub_commit_bus(fake_relay *f, uint64_t first_seq, uint32_t nframes,
			   const txn_topic *topics, int ntopics, bool on_bus)
{
	wb_enc	 e;
	nng_msg *m = msg_start(&e, WBE_TOPIC_TXN);
	wbe_head h = {f->run, ++f->seq, ++f->tseq[TI_TXN]};
	wbe_txn	 t = open_txn(f);
	wbc_key	 key = {t.commit_lsn, WBC_POS_COMMIT};

	wbe_enc_commit_start(&e, &h, &t, END_OF(t.commit_lsn), first_seq, nframes,
						 f->npos, (uint32_t) ntopics);
	for (int i = 0; i < ntopics; i++)
		wbe_enc_commit_topic(&e, topics[i].topic, strlen(topics[i].topic),
							 f->tseq[topics[i].ti], topics[i].count);
	msg_send(f, &e, m, &key, on_bus);
	f->txn_off += TXN_STEP;
	f->npos = 0;
}

static void
pub_commit(fake_relay *f, uint64_t first_seq, uint32_t nframes,
		   const txn_topic *topics, int ntopics)
{
	pub_commit_bus(f, first_seq, nframes, topics, ntopics, true);
}

static void
pub_heartbeat(fake_relay *f, int ti)
{
	wb_enc		  e;
	nng_msg		 *m = msg_start(&e, WBE_TOPIC_HEARTBEAT);
	wbe_head	  h = {f->run, ++f->seq, ++f->tseq[ti]};
	wbe_heartbeat hb = {{1700000100, 0},
						f->tseq[TI_TXN],
						0x2000,
						END_OF(TXN_LSN)};

	wbe_enc_heartbeat(&e, &h, &hb);
	msg_send(f, &e, m, NULL, true);
}

/* A non-transactional message. */
static void
pub_message(fake_relay *f, const char *prefix, int ti, const char *content)
{
	frame_b b;

	frame_messages(f, &b, prefix, ti, false);
	add_message(f, &b, content);
	frame_send(f, &b, true);
}

static int
recv_one(fake_relay *f, walbus_change *ch)
{
	return walbus_recv(f->client, ch, 2000);
}

static void
expect_ok(fake_relay *f, walbus_change *ch)
{
	int rc = recv_one(f, ch);

	if (rc != WALBUS_OK)
		fail_msg("walbus_recv returned %d: %s", rc, walbus_errmsg(f->client));
}

/* The next change must be the contacts insert of id at pos. */
static void
expect_insert_ch(fake_relay *f, walbus_change *ch, int64_t id, uint32_t pos)
{
	expect_ok(f, ch);
	assert_int_equal(ch->kind, WALBUS_INSERT);
	assert_int_equal(ch->values[0].v.i, id);
	assert_int_equal(ch->pos, pos);
}

static void
expect_insert(fake_relay *f, int64_t id, uint32_t pos)
{
	walbus_change ch;

	expect_insert_ch(f, &ch, id, pos);
}

static void
last_ack(fake_relay *f, wbc_key *key, uint64_t *end, bool *has_release,
		 wbc_key *release)
{
	pthread_mutex_lock(&f->lock);
	*key = f->ack_key;
	*end = f->ack_end;
	*has_release = f->ack_has_release;
	*release = f->ack_release;
	pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------------ tests */

static void
test_names_and_values(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;

	assert_int_equal(walbus_subscribe_table(f->client, "public", "contacts"),
					 WALBUS_OK);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "ann",
			   1);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_INSERT);
	assert_string_equal(ch.topic, "public.contacts");
	assert_non_null(ch.table);
	assert_string_equal(ch.table->schema, "public");
	assert_string_equal(ch.table->name, "contacts");
	assert_int_equal(ch.table->ncolumns, 3);
	assert_string_equal(ch.table->columns[1].name, "name");
	assert_string_equal(ch.table->columns[2].type_name, "boolean");
	assert_int_equal(ch.nvalues, 3);
	assert_int_equal(ch.values[0].type, WB_V_INT);
	assert_int_equal(ch.values[0].v.i, 1);
	assert_int_equal(ch.values[1].type, WB_V_STR);
	assert_memory_equal(ch.values[1].v.s.ptr, "ann", 3);
	assert_int_equal(ch.values[2].type, WB_V_BOOL);
	assert_non_null(ch.key);
	assert_int_equal(ch.key->v.i, 1);
	assert_null(ch.old_key);
	assert_true(ch.in_txn);
	assert_int_equal(ch.xid, 900);
	assert_int_equal(ch.commit_lsn, TXN_LSN);
	assert_int_equal(ch.commit_time.sec, 1700000000);
	assert_int_equal(ch.pos, 1);
	assert_int_equal(ch.seq, 1);
	assert_int_equal(ch.tseq, 1);
	assert_int_equal(ch.relid, CONTACTS_RELID);
	assert_int_equal(ch.schema_version, CONTACTS_SV);

	/* the second change of the same version is served from the cache */
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 2, "bob",
			   2);
	expect_ok(f, &ch);
	assert_int_equal(ch.values[0].v.i, 2);
	{
		walbus_stats st;

		walbus_get_stats(f->client, &st);
		assert_int_equal(st.schema_fetches, 1);
		assert_int_equal(st.delivered, 2);
		assert_int_equal(st.received, 2);
		assert_int_equal(st.gaps, 0);
	}
}

/* A table filter selects that table only, not one with a longer name. */
static void
test_table_filter_is_exact(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;

	assert_int_equal(walbus_subscribe(f->client, "public.contacts"),
					 WALBUS_OK);
	pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV, 9,
			   "", 1);
	pub_insert(f, "other.contacts", 2, CONTACTS_RELID, CONTACTS_SV, 8, "x", 2);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 3, "cy",
			   3);
	expect_ok(f, &ch);
	assert_string_equal(ch.topic, "public.contacts");
	assert_int_equal(ch.values[0].v.i, 3);
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
}

static void
test_schema_and_all_filters(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;

	assert_int_equal(walbus_subscribe_schema(f->client, "public"), WALBUS_OK);
	pub_insert(f, "other.contacts", 2, CONTACTS_RELID, CONTACTS_SV, 8, "x", 1);
	pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV, 9,
			   "", 2);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 3, "cy",
			   3);
	pub_message(f, "audit", 3, "hello");
	expect_ok(f, &ch);
	assert_string_equal(ch.topic, "public.contacts_archive");
	assert_string_equal(ch.table->name, "contacts_archive");
	expect_ok(f, &ch);
	assert_string_equal(ch.topic, "public.contacts");
	/* messages are reserved topics: "public.*" does not select them */
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);

	/* "*" is every table, still no reserved topic */
	assert_int_equal(walbus_unsubscribe(f->client, "public.*"), WALBUS_OK);
	assert_int_equal(walbus_subscribe(f->client, "*"), WALBUS_OK);
	pub_message(f, "audit", 3, "again");
	pub_insert(f, "other.contacts", 2, CONTACTS_RELID, CONTACTS_SV, 8, "x", 4);
	expect_ok(f, &ch);
	assert_string_equal(ch.topic, "other.contacts");
}

static void
test_messages_commits_heartbeats(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	frame_b		  b;
	uint64_t	  first;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}, {"_msg.audit", 3, 1}};

	assert_int_equal(walbus_subscribe(f->client, "_msg.audit"), WALBUS_OK);
	assert_int_equal(walbus_subscribe(f->client, "_txn"), WALBUS_OK);
	assert_int_equal(walbus_subscribe(f->client, "_hb"), WALBUS_OK);
	pub_message(f, "other", 4, "no");
	pub_message(f, "audit", 3, "yes");
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_MESSAGE);
	assert_false(ch.transactional);
	assert_false(ch.in_txn);
	assert_int_equal(ch.pos, 0);
	assert_int_equal(ch.message_lsn, 0x3000);
	assert_memory_equal(ch.prefix.ptr, "audit", 5);
	assert_memory_equal(ch.content.ptr, "yes", 3);

	/* a change we are not subscribed to, then two transactional messages */
	first = f->seq + 1;
	drop_one(f, 0);
	frame_messages(f, &b, "audit", 3, true);
	add_message(f, &b, "m2");
	add_message(f, &b, "m3");
	frame_send(f, &b, true);
	pub_commit(f, first, 2, tt, 2);
	for (uint32_t pos = 2; pos <= 3; pos++)
	{
		expect_ok(f, &ch);
		assert_int_equal(ch.kind, WALBUS_MESSAGE);
		assert_true(ch.transactional);
		assert_true(ch.in_txn);
		assert_int_equal(ch.pos, pos);
		assert_int_equal(ch.commit_lsn, TXN_LSN);
		assert_memory_equal(ch.prefix.ptr, "audit", 5);
		assert_memory_equal(ch.content.ptr, pos == 2 ? "m2" : "m3", 2);
	}
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_COMMIT);
	assert_int_equal(ch.pos, WALBUS_POS_COMMIT);
	assert_string_equal(ch.topic, "_txn");
	assert_int_equal(ch.commit_lsn, TXN_LSN);
	assert_int_equal(ch.end_lsn, END_OF(TXN_LSN));
	assert_int_equal(ch.nchanges, 3);

	pub_heartbeat(f, 5);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_HEARTBEAT);
	assert_false(ch.in_txn);
	assert_int_equal(ch.flushed_lsn, END_OF(TXN_LSN));
	assert_int_equal(ch.received_lsn, 0x2000);
	assert_int_equal(ch.time.sec, 1700000100);
}

/*
 * One frame of many changes of every kind: one change per walbus_recv, in
 * order, each with the frame's seq and tseq, then the commit.
 */
static void
test_frame_changes_in_order(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	frame_b		  b;
	uint64_t	  frame_seq;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};

	walbus_subscribe(f->client, "public.contacts");
	walbus_subscribe(f->client, "_txn");
	frame_table(f, &b, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV);
	frame_seq = f->seq;
	add_insert(f, &b, 1, "ann");
	add_insert(f, &b, 2, "bob");
	add_update(f, &b, 20, "bo", 2);
	add_delete(f, &b, 1);
	add_truncate(f, &b, WB_TRUNCATE_CASCADE);
	frame_send(f, &b, true);
	pub_commit(f, frame_seq, 1, tt, 1);

	for (uint32_t pos = 1; pos <= 5; pos++)
	{
		expect_ok(f, &ch);
		assert_int_equal(ch.pos, pos);
		assert_int_equal(ch.seq, frame_seq);
		assert_int_equal(ch.tseq, 1);
		assert_int_equal(ch.commit_lsn, TXN_LSN);
		assert_int_equal(ch.xid, 900);
		assert_string_equal(ch.topic, "public.contacts");
		assert_non_null(ch.table);
		assert_int_equal(ch.relid, CONTACTS_RELID);
		switch (pos)
		{
			case 1:
			case 2:
				assert_int_equal(ch.kind, WALBUS_INSERT);
				assert_int_equal(ch.nvalues, 3);
				assert_int_equal(ch.key->v.i, pos);
				assert_memory_equal(ch.values[1].v.s.ptr,
									pos == 1 ? "ann" : "bob", 3);
				assert_null(ch.old_key);
				break;
			case 3:
				assert_int_equal(ch.kind, WALBUS_UPDATE);
				assert_int_equal(ch.key->v.i, 20);
				assert_non_null(ch.old_key);
				assert_int_equal(ch.old_key->v.i, 2);
				assert_false(ch.values[2].v.b);
				break;
			case 4:
				assert_int_equal(ch.kind, WALBUS_DELETE);
				assert_int_equal(ch.nvalues, 0);
				assert_int_equal(ch.key->v.i, 1);
				break;
			case 5:
				assert_int_equal(ch.kind, WALBUS_TRUNCATE);
				assert_int_equal(ch.truncate_flags, WB_TRUNCATE_CASCADE);
				break;
		}
	}
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_COMMIT);
	assert_int_equal(ch.nchanges, 5);
	assert_int_equal(ch.seq, frame_seq + 1);
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.received, 2);
	assert_int_equal(st.delivered, 6);
	assert_int_equal(st.schema_fetches, 1);
	assert_int_equal(st.gaps, 0);
}

/* A jump in a topic's tseq is reported, then the frame is delivered. */
static void
test_gap_in_topic(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;

	walbus_subscribe(f->client, "public.contacts");
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "a",
			   1);
	drop_one(f, 0);
	drop_one(f, 0);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 4, "d",
			   4);
	expect_ok(f, &ch);
	assert_int_equal(recv_one(f, &ch), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client), "lost 2 frames"));
	assert_non_null(strstr(walbus_errmsg(f->client), "public.contacts"));
	expect_ok(f, &ch);
	assert_int_equal(ch.values[0].v.i, 4);
	assert_int_equal(ch.tseq, 4);
}

/*
 * A frame lost in the middle of a stream of multi-change frames: the gap
 * comes before the first change of the frame that revealed it, then every
 * change of that frame.
 */
static void
test_gap_before_frame(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;

	walbus_subscribe(f->client, "public.contacts");
	pub_inserts(f, 1, 3, true);
	drop_frame(f, 0, 3);
	pub_inserts(f, 7, 3, true);
	for (int i = 1; i <= 3; i++)
		expect_insert(f, i, (uint32_t) i);
	assert_int_equal(recv_one(f, &ch), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client),
						   "lost 1 frame on topic \"public.contacts\" "
						   "(tseq 2 to 2)"));
	for (int i = 7; i <= 9; i++)
	{
		expect_insert(f, i, (uint32_t) i);
		walbus_get_stats(f->client, &st);
		assert_int_equal(st.gaps, 1);
	}
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.delivered, 6);
}

/* The last frame of a transaction is lost: only _txn can prove it. */
static void
test_gap_proved_by_txn(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	uint64_t	  first;
	txn_topic	  tt[] = {{"public.contacts", 0, 2}};

	walbus_subscribe(f->client, "public.contacts");
	first = f->seq + 1;
	pub_inserts(f, 1, 2, true);
	drop_frame(f, 0, 5);
	pub_commit(f, first, 2, tt, 1);
	expect_ok(f, &ch);
	expect_ok(f, &ch);
	assert_int_equal(walbus_recv(f->client, &ch, 500), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client), "lost 1 frame "));
	/* nothing to deliver behind it: the _txn itself is not subscribed */
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
}

/* Frames of other tables are invisible here: no false gaps. */
static void
test_no_false_gap(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	uint64_t	  first;
	txn_topic	  tt[] = {{"public.contacts", 0, 1},
						  {"public.contacts_archive", 1, 2}};

	walbus_subscribe(f->client, "public.contacts");
	for (int round = 0; round < 3; round++)
	{
		first = f->seq + 1;
		pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV,
				   1, "", 1);
		pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, round,
				   "x", 2);
		pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV,
				   2, "", 3);
		pub_commit(f, first, 3, tt, 2);
		pub_heartbeat(f, 5);
		expect_ok(f, &ch);
		assert_int_equal(ch.values[0].v.i, round);
	}
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 0);
	assert_int_equal(st.lost, 0);
}

/* A heartbeat reveals a lost _txn at the end of a burst. */
static void
test_gap_proved_by_heartbeat(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};

	walbus_subscribe(f->client, "public.contacts");
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "a",
			   1);
	pub_commit(f, f->seq, 1, tt, 1);
	expect_ok(f, &ch);
	/* a whole transaction is lost, its commit frame included */
	drop_one(f, 0);
	pub_commit_bus(f, f->seq, 1, tt, 1, false);
	pub_heartbeat(f, 5);
	assert_int_equal(walbus_recv(f->client, &ch, 500), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client), "_txn"));
}

/*
 * Without a _txn frame received yet, the first heartbeat is where _txn
 * continuity starts: a transaction lost between two heartbeats is seen,
 * and the next _txn frame after a heartbeat is no gap.
 */
static void
test_gap_after_first_heartbeat(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};

	walbus_subscribe(f->client, "_hb");
	/* transactions before we joined: their commits are no loss of ours */
	f->tseq[TI_TXN] = 4;
	pub_heartbeat(f, 5);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_HEARTBEAT);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "a",
			   1);
	pub_commit(f, f->seq, 1, tt, 1);
	pub_heartbeat(f, 5);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_HEARTBEAT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 0);

	/* observe afresh (a subscription does that), then lose a commit */
	walbus_subscribe(f->client, "_msg.x");
	pub_heartbeat(f, 5);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_HEARTBEAT);
	drop_one(f, 0);
	pub_commit_bus(f, f->seq, 1, tt, 1, false);
	pub_heartbeat(f, 5);
	assert_int_equal(recv_one(f, &ch), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client),
						   "lost 1 frame on topic \"_txn\" (tseq 6 to 6)"));
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_HEARTBEAT);
	assert_int_equal(ch.tseq, 4);
}

/* A relay restart starts the counters again without a false gap. */
static void
test_new_run(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;

	walbus_subscribe(f->client, "public.contacts");
	for (int i = 0; i < 5; i++)
	{
		pub_inserts(f, 10 * i, 2, true);
		pub_commit(f, f->seq, 1, NULL, 0);
	}
	for (int i = 0; i < 10; i++)
		expect_ok(f, &ch);
	f->run = RUN_B;
	f->seq = 0;
	memset(f->tseq, 0, sizeof(f->tseq));
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 100, "b",
			   1);
	expect_ok(f, &ch);
	assert_int_equal(ch.run, RUN_B);
	assert_int_equal(ch.tseq, 1);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 0);
}

/*
 * A transaction published again (the relay lost PostgreSQL mid-transaction
 * and starts it over from pos 1, in differently cut frames): the changes
 * already delivered are dropped one by one, the rest delivered.
 */
static void
test_repeats_dropped_per_change(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;

	walbus_subscribe(f->client, "public.contacts");
	pub_inserts(f, 1, 2, true);
	f->npos = 0; /* the same transaction, again */
	pub_inserts(f, 1, 4, true);
	expect_insert(f, 1, 1);
	expect_insert(f, 2, 2);
	expect_insert(f, 3, 3);
	expect_insert(f, 4, 4);
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.delivered, 4);
	assert_int_equal(st.gaps, 0);
}

static void
test_unknown_schema_version(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	frame_b		  b;

	walbus_subscribe(f->client, "public.contacts");
	frame_table(f, &b, "public.contacts", 0, CONTACTS_RELID, 999);
	add_insert(f, &b, 5, "z");
	add_insert(f, &b, 6, "y");
	frame_send(f, &b, true);
	for (int id = 5; id <= 6; id++)
	{
		assert_int_equal(recv_one(f, &ch), WALBUS_ESCHEMA);
		assert_null(ch.table);
		assert_int_equal(ch.nvalues, 3);
		assert_int_equal(ch.values[0].v.i, id);
		assert_non_null(strstr(walbus_errmsg(f->client), "not_found"));
	}
	/* the relay's answer holds for the whole frame */
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.schema_fetches, 1);
}

static void
test_malformed_is_skipped(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	nng_msg		 *m;

	walbus_subscribe(f->client, "public.contacts");
	nng_msg_alloc(&m, 0);
	nng_msg_append(m, "public.contacts\0\x81\xa1x", 19);
	assert_int_equal(nng_sendmsg(f->pub, m, 0), 0);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 6, "ok",
			   1);
	assert_int_equal(recv_one(f, &ch), WALBUS_EPROTO);
	assert_non_null(strstr(walbus_errmsg(f->client), "malformed"));
	expect_ok(f, &ch);
	assert_int_equal(ch.values[0].v.i, 6);
}

static void
test_status_and_errors(void **state)
{
	fake_relay		   *f = *state;
	walbus_relay_status st;
	walbus_change		ch = {0};

	assert_int_equal(walbus_relay_status_get(f->client, &st), WALBUS_OK);
	assert_string_equal(st.slot, "walbus");
	assert_string_equal(st.state, "streaming");
	assert_string_equal(st.delivery, "best_effort");
	assert_int_equal(st.flushed_lsn, 0x16B3748);
	assert_int_equal(st.run, RUN_A);

	assert_int_equal(walbus_subscribe(f->client, ""), WALBUS_EINVAL);
	assert_int_equal(walbus_unsubscribe(f->client, "nope.nope"),
					 WALBUS_EINVAL);
	assert_int_equal(walbus_recv(f->client, &ch, 0), WALBUS_ETIMEDOUT);
	assert_int_equal(walbus_recv(f->client, &ch, 50), WALBUS_ETIMEDOUT);

	/* acks and releases are for durable consumers */
	ch.in_txn = true;
	assert_int_equal(walbus_ack(f->client, &ch), WALBUS_EINVAL);
	assert_int_equal(walbus_release(f->client, &ch), WALBUS_EINVAL);
	assert_non_null(strstr(walbus_errmsg(f->client), "durable"));
}

/*
 * The library's copy fills every member of walbus_relay_status that
 * WBC_STATUS_FIELDS names, walbus_relay_status_field gives every field in
 * the list's order with its kind and value, and the size rule holds: a
 * shorter struct gets its bytes and not one more, a longer one zeros.
 */
#define STATUS_CHECK_UINT(f) \
	assert_int_equal(st.f, want.f); \
	assert_int_equal(wkind[i], WALBUS_STATUS_UINT); \
	assert_int_equal(wvalue[i++], want.f);
#define STATUS_CHECK_LSN(f) \
	assert_int_equal(st.f, want.f); \
	assert_int_equal(wkind[i], WALBUS_STATUS_LSN); \
	assert_int_equal(wvalue[i++], want.f);
#define STATUS_CHECK_FLAG(f) \
	assert_int_equal(st.f, want.f); \
	assert_int_equal(wkind[i], WALBUS_STATUS_FLAG); \
	assert_int_equal(wvalue[i++], want.f);
#define STATUS_CHECK_STR(f) \
	assert_int_equal(strlen(st.f), want.f.len); \
	assert_memory_equal(st.f, want.f.ptr, want.f.len); \
	assert_int_equal(wkind[i], WALBUS_STATUS_STR); \
	assert_string_equal(wstr[i++], st.f);
#define STATUS_CHECK(name, kind, doc) STATUS_CHECK_##kind(name)
#define STATUS_NAME(name, kind, doc)  #name,

static void
test_status_every_field(void **state)
{
	static const char *const names[] = {WBC_STATUS_FIELDS(STATUS_NAME)};
	enum
	{
		NFIELDS = sizeof(names) / sizeof(names[0])
	};
	fake_relay		   *f = *state;
	walbus_relay_status st;
	wbc_status			want;
	walbus_status_kind	wkind[NFIELDS];
	uint64_t			wvalue[NFIELDS];
	const char		   *wstr[NFIELDS];
	walbus_status_value v;
	const char		   *name;
	size_t				i = 0;
	size_t				cut = offsetof(walbus_relay_status, nconsumers);
	unsigned char	   *bytes = (unsigned char *) &st;
	struct
	{
		walbus_relay_status st;
		uint64_t			more[2];
	} longer;

	/* before the first fetch: every field, all zero */
	for (i = 0;
		 walbus_relay_status_field(f->client, i, &name, &v) == WALBUS_OK; i++)
		assert_true(v.u == 0 && v.s[0] == '\0');
	assert_int_equal(i, NFIELDS);

	status_fill(&want, f->run);
	memset(&st, 0xA5, sizeof(st));
	assert_int_equal(walbus_relay_status_get(f->client, &st), WALBUS_OK);
	for (i = 0; i < NFIELDS; i++)
	{
		assert_int_equal(walbus_relay_status_field(f->client, i, &name, &v),
						 WALBUS_OK);
		assert_string_equal(name, names[i]);
		wkind[i] = v.kind;
		wvalue[i] = v.u;
		wstr[i] = v.s;
	}
	assert_int_equal(walbus_relay_status_field(f->client, NFIELDS, &name, &v),
					 WALBUS_EINVAL);
	i = 0;
	WBC_STATUS_FIELDS(STATUS_CHECK)
	assert_int_equal(st.nconsumers, 2);
	assert_string_equal(st.consumers[1].name, "erp");
	assert_true(st.consumers[1].over_lag_limit);
	assert_int_equal(st.consumers[1].rewinds, 11);

	/* an older, shorter struct: filled up to its size, not a byte more */
	memset(&st, 0xA5, sizeof(st));
	assert_int_equal(walbus_relay_status_fetch(f->client, &st, cut),
					 WALBUS_OK);
	assert_int_equal(st.run, f->run);
	assert_int_equal(st.txn_heartbeats, want.txn_heartbeats);
	for (size_t b = cut; b < sizeof(st); b++)
		assert_int_equal(bytes[b], 0xA5);

	/* a newer, longer one: the members this library lacks are zero */
	memset(&longer, 0xA5, sizeof(longer));
	assert_int_equal(walbus_relay_status_fetch(f->client, &longer.st,
											   sizeof(longer)),
					 WALBUS_OK);
	assert_int_equal(longer.st.control_refusals, want.control_refusals);
	assert_true(longer.more[0] == 0 && longer.more[1] == 0);

	/* the symbol without the macro: the struct as it was in 0.3 */
	memset(&st, 0, sizeof(st));
	assert_int_equal((walbus_relay_status_get) (f->client, &st), WALBUS_OK);
	assert_int_equal(st.control_refusals, want.control_refusals);
	assert_int_equal(st.consumers[0].acks, 7);
}

/* Without a control URL there are no names, but everything else works. */
static void
test_without_control(void **state)
{
	fake_relay		   *f = *state;
	walbus_options		o = {f->bus_url, NULL, 0, 0};
	walbus_client	   *c;
	walbus_change		ch;
	walbus_relay_status st;
	char				err[128];
	int					before = atomic_load(&f->pipes);

	assert_int_equal(walbus_open(&c, &o, err, sizeof(err)), WALBUS_OK);
	for (int i = 0; i < 200 && atomic_load(&f->pipes) == before; i++)
		sleep_ms(5);
	walbus_subscribe(c, "*");
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 7, "n",
			   1);
	assert_int_equal(walbus_recv(c, &ch, 2000), WALBUS_OK);
	assert_null(ch.table);
	assert_int_equal(ch.values[0].v.i, 7);
	assert_int_equal(walbus_relay_status_get(c, &st), WALBUS_EINVAL);
	walbus_close(c);

	o.bus_url = NULL;
	assert_int_equal(walbus_open(&c, &o, err, sizeof(err)), WALBUS_EINVAL);
	assert_null(c);

	/* control only: status works, receiving does not */
	o.control_url = f->ctl_url;
	assert_int_equal(walbus_open(&c, &o, err, sizeof(err)), WALBUS_OK);
	assert_int_equal(walbus_relay_status_get(c, &st), WALBUS_OK);
	assert_int_equal(st.run, RUN_A);
	assert_int_equal(walbus_subscribe(c, "*"), WALBUS_EINVAL);
	assert_int_equal(walbus_recv(c, &ch, 0), WALBUS_EINVAL);
	walbus_close(c);
}

/* recv_queue: 0 is the default, nng's limit is the most, no negatives. */
static void
test_recv_queue(void **state)
{
	fake_relay	  *f = *state;
	walbus_options o = {0};
	walbus_client *c;
	walbus_change  ch;
	char		   err[256];
	static const struct
	{
		int queue;
		int rc;
	} cases[] = {
		{0, WALBUS_OK},
		{1, WALBUS_OK},
		{WALBUS_RECV_QUEUE_MAX, WALBUS_OK},
		{WALBUS_RECV_QUEUE_MAX + 1, WALBUS_EINVAL},
		{100000, WALBUS_EINVAL},
		{-1, WALBUS_EINVAL},
	};

	o.bus_url = f->bus_url;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		o.recv_queue = cases[i].queue;
		err[0] = '\0';
		assert_int_equal(walbus_open(&c, &o, err, sizeof(err)), cases[i].rc);
		if (cases[i].rc == WALBUS_OK)
		{
			assert_non_null(c);
			walbus_close(c);
			continue;
		}
		assert_null(c);
		assert_non_null(strstr(err, "recv_queue"));
		assert_non_null(strstr(err, "8192"));
	}

	/* a one-frame queue still delivers every change of its frame */
	o.recv_queue = 1;
	{
		int before = atomic_load(&f->pipes);

		assert_int_equal(walbus_open(&c, &o, err, sizeof(err)), WALBUS_OK);
		wait_pipes(f, before);
	}
	walbus_subscribe(c, "public.contacts");
	pub_inserts(f, 1, 3, true);
	for (int i = 1; i <= 3; i++)
	{
		assert_int_equal(walbus_recv(c, &ch, 2000), WALBUS_OK);
		assert_int_equal(ch.values[0].v.i, i);
	}
	walbus_close(c);
}

/* ------------------------------------------------------------- durable */

/*
 * The durable path: hello at open, a pull before the first change, back
 * to the bus past what the pull covered, a gap on the bus fetched from the
 * window instead of reported, and acks that settle the commit's end.
 */
static void
test_durable_pull_and_bus(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	wbc_key		  key, release;
	uint64_t	  end;
	bool		  has_release;
	uint64_t	  first;
	uint64_t	  lsn_b, lsn_c;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};
	txn_topic	  tt2[] = {{"public.contacts", 0, 2}};

	open_durable(f, 0, 0);
	assert_int_equal(walbus_subscribe(f->client, "public.contacts"),
					 WALBUS_OK);

	/* A: published before the first walbus_recv, on the bus and kept */
	first = f->seq + 1;
	pub_inserts(f, 1, 2, true);
	pub_commit(f, first, 1, tt, 1);
	expect_insert(f, 1, 1);
	expect_insert(f, 2, 2);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.replays, 1);
	assert_int_equal(st.replayed, 1); /* the commit frame is next */

	/* B: on the bus; its copies of A were skipped (the pull gave them) */
	lsn_b = open_txn(f).commit_lsn;
	first = f->seq + 1;
	pub_inserts(f, 3, 1, true);
	pub_commit(f, first, 1, tt, 1);
	expect_insert_ch(f, &ch, 3, 1);
	assert_int_equal(ch.commit_lsn, lsn_b);
	assert_int_equal(walbus_ack(f->client, &ch), WALBUS_OK);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.replays, 1);
	assert_int_equal(st.replayed, 2);
	assert_int_equal(st.duplicates, 0);

	/* C: its first frame is lost on the bus, its second reveals it */
	lsn_c = open_txn(f).commit_lsn;
	first = f->seq + 1;
	pub_inserts(f, 4, 2, false);
	pub_inserts(f, 6, 1, true);
	pub_commit(f, first, 2, tt2, 1);
	for (int id = 4; id <= 6; id++)
	{
		int rc = recv_one(f, &ch);

		if (rc != WALBUS_OK)
			fail_msg("walbus_recv returned %d: %s", rc,
					 walbus_errmsg(f->client));
		assert_int_equal(ch.values[0].v.i, id);
		assert_int_equal(ch.commit_lsn, lsn_c);
		assert_int_equal(ch.pos, id - 3);
		if (id < 6)
			walbus_ack(f->client, &ch);
	}
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.replays, 2);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->replay_after.lsn, lsn_b);
	assert_int_equal(f->replay_after.pos, WBC_POS_COMMIT);
	pthread_mutex_unlock(&f->lock);

	/* the commit of C is taken, then the last change acked: C is done */
	assert_int_equal(walbus_recv(f->client, &ch, 200), WALBUS_ETIMEDOUT);
	ch = (walbus_change) {0};
	ch.kind = WALBUS_INSERT;
	ch.in_txn = true;
	ch.commit_lsn = lsn_c;
	ch.pos = 3;
	assert_int_equal(walbus_ack(f->client, &ch), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	last_ack(f, &key, &end, &has_release, &release);
	assert_int_equal(key.lsn, lsn_c);
	assert_int_equal(key.pos, WBC_POS_COMMIT);
	assert_int_equal(end, END_OF(lsn_c));
	assert_false(has_release);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.delivered, 6);
	assert_int_equal(st.duplicates, 0);
}

/*
 * A replay page whose first frame straddles the resume key: its changes
 * up to the key were applied before, and are dropped; pages of one frame
 * each are followed to the end.
 */
static void
test_durable_replay_straddles_resume(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	uint64_t	  first = f->seq + 1;
	txn_topic	  tt[] = {{"public.contacts", 0, 2}};

	/* the window: A = [1 2 3 4] [5 6], commit */
	pub_inserts(f, 1, 4, false);
	pub_inserts(f, 5, 2, false);
	pub_commit_bus(f, first, 2, tt, 1, false);
	f->page_max = 1;

	open_durable(f, TXN_LSN, 2);
	walbus_subscribe(f->client, "public.contacts");
	walbus_subscribe(f->client, "_txn");
	for (int id = 3; id <= 6; id++)
		expect_insert(f, id, (uint32_t) id);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_COMMIT);
	assert_int_equal(ch.nchanges, 6);
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.delivered, 5);
	assert_int_equal(st.replayed, 3);
	assert_int_equal(st.gaps, 0);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->replays, 3); /* a page per frame */
	pthread_mutex_unlock(&f->lock);
}

/*
 * walbus_release: the ack request carries the released key while it is
 * above the acked one, and the acked key moves only with walbus_ack.
 */
static void
test_durable_release(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch1, ch2;
	wbc_key		  key, release;
	uint64_t	  end;
	bool		  has_release;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};

	open_durable(f, 0, 0);
	walbus_subscribe(f->client, "public.contacts");
	pub_inserts(f, 1, 2, true);
	pub_commit(f, 1, 1, tt, 1);
	expect_ok(f, &ch1);
	assert_int_equal(walbus_release(f->client, NULL), WALBUS_EINVAL);

	assert_int_equal(walbus_release(f->client, &ch1), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	last_ack(f, &key, &end, &has_release, &release);
	assert_int_equal(key.lsn, 0);
	assert_int_equal(key.pos, 0);
	assert_int_equal(end, 0);
	assert_true(has_release);
	assert_int_equal(release.lsn, TXN_LSN);
	assert_int_equal(release.pos, 1);

	expect_ok(f, &ch2);
	assert_int_equal(walbus_release(f->client, &ch2), WALBUS_OK);
	assert_int_equal(walbus_ack(f->client, &ch1), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	last_ack(f, &key, &end, &has_release, &release);
	assert_int_equal(key.lsn, TXN_LSN);
	assert_int_equal(key.pos, 1);
	assert_true(has_release);
	assert_int_equal(release.pos, 2);

	/* an older release changes nothing; an ack at the release ends it */
	assert_int_equal(walbus_release(f->client, &ch1), WALBUS_OK);
	assert_int_equal(walbus_ack(f->client, &ch2), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	last_ack(f, &key, &end, &has_release, &release);
	assert_int_equal(key.pos, 2);
	assert_false(has_release);
}

/*
 * A durable consumer of two tables: the first frame of a transaction (on
 * one table) is lost on the bus, the second (on the other) arrives.  The
 * second must not be delivered first: a pull after its key would never
 * bring the first back.  The global seq shows the loss at once.
 */
static void
test_durable_two_topics(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	frame_b		  b;
	uint64_t	  first;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}, {"public.archive", 1, 1}};

	open_durable(f, 0, 0);
	assert_int_equal(walbus_subscribe(f->client, "public.contacts"),
					 WALBUS_OK);
	assert_int_equal(walbus_subscribe(f->client, "public.archive"), WALBUS_OK);
	/* nothing yet: the pull at open finds an empty window */
	assert_int_equal(walbus_recv(f->client, &ch, 300), WALBUS_ETIMEDOUT);

	first = f->seq + 1;
	pub_inserts(f, 1, 1, false); /* lost on the bus, in the window */
	frame_table(f, &b, "public.archive", 1, ARCHIVE_RELID, ARCHIVE_SV);
	add_insert(f, &b, 2, NULL);
	frame_send(f, &b, true);
	pub_commit(f, first, 2, tt, 2);

	expect_insert_ch(f, &ch, 1, 1);
	assert_string_equal(ch.topic, "public.contacts");
	expect_ok(f, &ch);
	assert_string_equal(ch.topic, "public.archive");
	assert_int_equal(ch.pos, 2);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.duplicates, 0);
}

/* ---------------------------------------------------------- schema events */

#define TI_SCHEMA 6

static wbc_column contacts_cols[3] = {
	{{"id", 2}, 23, -1, {"integer", 7}, 1},
	{{"name", 4}, 25, -1, {"text", 4}, 2},
	{{"ok", 2}, 16, -1, {"boolean", 7}, 4},
};

/* public.contacts as the fake relay's schema answer describes it */
static const wbc_schema contacts_def = {
	CONTACTS_RELID, CONTACTS_SV, {"public", 6}, {"contacts", 8}, 2200, 0, 3,
	contacts_cols};

/* the same table renamed to customers: another version */
#define CUSTOMERS_SV 4343
static const wbc_schema customers_def = {
	CONTACTS_RELID, CUSTOMERS_SV, {"public", 6}, {"customers", 9}, 2200, 0, 3,
	contacts_cols};

/* A frame on _schema with one event about relid, diffing prev to table. */
static void
pub_schema_event(fake_relay *f, wbs_event_kind kind, const char *topic,
				 const char *prev_topic, const wbc_schema *table,
				 const wbc_schema *prev, bool on_bus)
{
	static wbs_change changes[WBS_MAX_CHANGES];
	uint32_t		  n =
		 table != NULL && prev != NULL ? wbs_diff(prev, table, changes) : 0;
	uint32_t relid = table != NULL ? table->relid : prev->relid;
	wbe_head h = {f->run, ++f->seq, ++f->tseq[TI_SCHEMA]};
	wbe_txn	 t = open_txn(f);
	frame_b	 b;

	b.m = msg_start(&b.e, WBE_TOPIC_SCHEMA);
	wbe_enc_frame_schema(&b.e, &h, &t, relid);
	b.hdr = nng_msg_len(b.m) - WBE_CHANGES_HDR_LEN;
	b.n = 0;
	b.in_txn = true;
	wbe_enc_change_start(&b.e, WBE_SCHEMA, ++f->npos, 1);
	wbs_enc_event(&b.e, kind, relid, topic, strlen(topic), prev_topic,
				  prev_topic != NULL ? strlen(prev_topic) : 0, table, prev,
				  NULL, 0, changes, n);
	b.n++;
	frame_send(f, &b, on_bus);
}

static void
expect_rename_event(fake_relay *f, walbus_change *ch)
{
	const walbus_schema_event *ev;

	expect_ok(f, ch);
	assert_int_equal(ch->kind, WALBUS_SCHEMA);
	assert_string_equal(ch->topic, "_schema");
	assert_int_equal(ch->relid, CONTACTS_RELID);
	ev = ch->schema_event;
	assert_non_null(ev);
	assert_string_equal(ev->event, "table_changed");
	assert_string_equal(ev->topic, "public.customers");
	assert_string_equal(ev->previous_topic, "public.contacts");
	assert_int_equal(ev->nchanges, 1);
	assert_string_equal(ev->changes[0].change, "table_renamed");
	assert_string_equal(ev->changes[0].from, "contacts");
	assert_string_equal(ev->changes[0].to, "customers");
	assert_non_null(ev->table);
	assert_string_equal(ev->table->name, "customers");
	assert_int_equal(ev->table->columns[2].attnum, 4);
	assert_int_equal(ev->table->schema_oid, 2200);
	assert_non_null(ev->previous);
	assert_string_equal(ev->previous->name, "contacts");
}

/*
 * A subscription to public.contacts follows the table when it is renamed:
 * the event comes first, then its changes under the new topic, whose
 * definition the event brought (no schema request).  Events of tables the
 * worker does not select are not delivered.
 */
static void
test_follows_rename(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	wbc_schema	  other = customers_def;

	other.relid = ARCHIVE_RELID;
	other.table = (wb_str) {"archive", 7};
	assert_int_equal(walbus_subscribe(f->client, "public.contacts"),
					 WALBUS_OK);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "ann",
			   1);
	expect_insert_ch(f, &ch, 1, 1);
	assert_int_equal(ch.table->columns[1].attnum, 2);

	pub_schema_event(f, WBS_TABLE_SEEN, "public.archive", NULL, &other, NULL,
					 true);
	pub_schema_event(f, WBS_TABLE_CHANGED, "public.customers",
					 "public.contacts", &customers_def, &contacts_def, true);
	pub_insert(f, "public.customers", 1, CONTACTS_RELID, CUSTOMERS_SV, 2,
			   "bob", 0);
	pub_insert(f, "public.archive", 2, ARCHIVE_RELID, ARCHIVE_SV, 3, "", 0);

	expect_rename_event(f, &ch);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_INSERT);
	assert_string_equal(ch.topic, "public.customers");
	assert_int_equal(ch.values[0].v.i, 2);
	assert_string_equal(ch.table->name, "customers");
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.schema_fetches, 1);
	assert_int_equal(st.gaps, 0);

	/* "_schema" selects every table's events */
	assert_int_equal(walbus_subscribe(f->client, "_schema"), WALBUS_OK);
	pub_schema_event(f, WBS_TABLE_DROPPED, "public.archive", NULL, NULL,
					 &other, true);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_SCHEMA);
	assert_string_equal(ch.schema_event->event, "table_dropped");
	assert_null(ch.schema_event->table);
}

/*
 * A durable consumer follows a rename that it learns of in a replay page:
 * the pull asks for every topic, so the renamed table's frames after the
 * event are in the page too.
 */
static void
test_durable_follows_rename(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	uint64_t	  first;
	txn_topic tt[] = {{"_schema", TI_SCHEMA, 1}, {"public.customers", 1, 1}};

	open_durable(f, 0, 0);
	assert_int_equal(walbus_subscribe(f->client, "public.contacts"),
					 WALBUS_OK);
	assert_int_equal(walbus_recv(f->client, &ch, 300), WALBUS_ETIMEDOUT);

	first = f->seq + 1;
	pub_schema_event(f, WBS_TABLE_CHANGED, "public.customers",
					 "public.contacts", &customers_def, &contacts_def, false);
	{
		frame_b b;

		frame_table(f, &b, "public.customers", 1, CONTACTS_RELID,
					CUSTOMERS_SV);
		add_insert(f, &b, 7, "eve");
		frame_send(f, &b, false);
	}
	pub_commit(f, first, 2, tt, 2);

	expect_rename_event(f, &ch);
	assert_int_equal(ch.pos, 1);
	expect_insert_ch(f, &ch, 7, 2);
	assert_string_equal(ch.topic, "public.customers");
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.duplicates, 0);
}

/*
 * The schema event of a rename is lost on the bus: the table's frames
 * under its new name still come, followed by relid, not dropped as
 * unselected.
 */
static void
test_follows_rename_event_lost(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;

	assert_int_equal(walbus_subscribe(f->client, "public.contacts"),
					 WALBUS_OK);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "ann",
			   1);
	expect_insert_ch(f, &ch, 1, 1);
	pub_schema_event(f, WBS_TABLE_CHANGED, "public.customers",
					 "public.contacts", &customers_def, &contacts_def, false);
	pub_insert(f, "public.customers", 1, CONTACTS_RELID, CUSTOMERS_SV, 2,
			   "bob", 0);
	/* the fake relay cannot resolve the new version (the event had it) */
	assert_int_equal(recv_one(f, &ch), WALBUS_ESCHEMA);
	assert_int_equal(ch.kind, WALBUS_INSERT);
	assert_string_equal(ch.topic, "public.customers");
	assert_int_equal(ch.values[0].v.i, 2);
}

/*
 * A backfill's reads come as WALBUS_READ changes with the row and its
 * key, framed by its events, which a worker selecting the table gets.
 */
static void
test_backfill_reads(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	frame_b		  b;
	wbe_head	  h;
	wbe_txn		  t;
	wbb_event ev = {WBB_STARTED, 7, CONTACTS_RELID, {"public.contacts", 15},
					0,			 0, {NULL, 0}};

	assert_int_equal(walbus_subscribe(f->client, "public.contacts"),
					 WALBUS_OK);
	/* the started event on _backfill, then a frame of two reads */
	h = (wbe_head) {f->run, ++f->seq, ++f->tseq[5]};
	t = open_txn(f);
	b.m = msg_start(&b.e, WBE_TOPIC_BACKFILL);
	wbe_enc_frame_schema(&b.e, &h, &t, CONTACTS_RELID);
	b.hdr = nng_msg_len(b.m) - WBE_CHANGES_HDR_LEN;
	b.n = 0;
	b.in_txn = true;
	wbe_enc_change_start(&b.e, WBE_BACKFILL, ++f->npos, 1);
	wbb_enc_event(&b.e, &ev);
	b.n++;
	frame_send(f, &b, true);
	frame_table(f, &b, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV);
	for (int64_t id = 1; id <= 2; id++)
	{
		wbe_enc_change_start(&b.e, WBE_READ, ++f->npos, 1);
		wbe_enc_values_start(&b.e, 3);
		wb_enc_v_int(&b.e, id);
		wb_enc_v_str(&b.e, "r", 1);
		wb_enc_v_bool(&b.e, true);
		b.n++;
	}
	frame_send(f, &b, true);

	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_BACKFILL);
	assert_non_null(ch.backfill_event);
	assert_string_equal(ch.backfill_event->event, "started");
	assert_int_equal(ch.backfill_event->backfill, 7);
	assert_string_equal(ch.backfill_event->topic, "public.contacts");
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_READ);
	assert_string_equal(walbus_kind_name(ch.kind), "read");
	assert_int_equal(ch.nvalues, 3);
	assert_non_null(ch.key);
	assert_int_equal(ch.key->v.i, 1);
	assert_string_equal(ch.table->name, "contacts");
	expect_ok(f, &ch);
	assert_int_equal(ch.key->v.i, 2);
}

/* ------------------------------------------------ durable state machine */

/* The relay forgets its window (a rewind, or a new relay process). */
static void
window_clear(fake_relay *f)
{
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->nwindow; i++)
		free(f->window[i].bytes);
	f->nwindow = 0;
	pthread_mutex_unlock(&f->lock);
}

static void
expect_replay_after(fake_relay *f, uint64_t lsn, uint32_t pos)
{
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->replay_after.lsn, lsn);
	assert_int_equal(f->replay_after.pos, pos);
	pthread_mutex_unlock(&f->lock);
}

static void
expect_ack(fake_relay *f, uint64_t lsn, uint32_t pos, uint64_t end_lsn)
{
	wbc_key	 key, release;
	uint64_t end;
	bool	 has_release;

	last_ack(f, &key, &end, &has_release, &release);
	assert_int_equal(key.lsn, lsn);
	assert_int_equal(key.pos, pos);
	assert_int_equal(end, end_lsn);
}

static void
expect_timeout(fake_relay *f, int ms)
{
	walbus_change ch;
	int			  rc = walbus_recv(f->client, &ch, ms);

	if (rc != WALBUS_ETIMEDOUT)
		fail_msg("walbus_recv returned %d, not a timeout (%s)", rc,
				 rc == WALBUS_OK ? walbus_kind_name(ch.kind) :
								   walbus_errmsg(f->client));
}

/*
 * Where a durable consumer resumes: after the key it gives, else after
 * what the relay's hello says it acknowledged (the last change, or the
 * end of the last whole transaction).  Nothing at or below it is
 * delivered, and the first pull asks for what is after it.
 */
static void
test_durable_resume(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	uint64_t	  lsn_a = open_txn(f).commit_lsn;
	uint64_t	  lsn_b;
	uint64_t	  first = f->seq + 1;
	txn_topic	  tt2[] = {{"public.contacts", 0, 1}};

	/* the window: A = [1 2], commit; B = [3], commit */
	pub_inserts(f, 1, 2, false);
	pub_commit_bus(f, first, 1, tt2, 1, false);
	lsn_b = open_txn(f).commit_lsn;
	first = f->seq + 1;
	pub_inserts(f, 3, 1, false);
	pub_commit_bus(f, first, 1, tt2, 1, false);

	/* its own key, after A's commit: B only; the key is acked at once */
	open_durable(f, lsn_a, WBC_POS_COMMIT);
	walbus_subscribe(f->client, "public.contacts");
	expect_insert_ch(f, &ch, 3, 1);
	assert_int_equal(ch.commit_lsn, lsn_b);
	expect_replay_after(f, lsn_a, WBC_POS_COMMIT);
	expect_timeout(f, 200);
	expect_ack(f, lsn_a, WBC_POS_COMMIT, 0);
	walbus_close(f->client);

	/* no key of its own: the relay's last change acked, in A */
	pthread_mutex_lock(&f->lock);
	f->hello.acked_commit_lsn = lsn_a;
	f->hello.acked_pos = 1;
	pthread_mutex_unlock(&f->lock);
	open_durable(f, 0, 0);
	walbus_subscribe(f->client, "public.contacts");
	expect_insert(f, 2, 2);
	expect_insert(f, 3, 1);
	expect_replay_after(f, lsn_a, 1);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.duplicates, 1); /* 1, in the frame of 1 and 2 */
	walbus_close(f->client);

	/* only the end of its last whole transaction: A's */
	pthread_mutex_lock(&f->lock);
	f->hello.acked_commit_lsn = 0;
	f->hello.acked_pos = 0;
	f->hello.acked_lsn = END_OF(lsn_a);
	pthread_mutex_unlock(&f->lock);
	open_durable(f, 0, 0);
	walbus_subscribe(f->client, "public.contacts");
	expect_insert_ch(f, &ch, 3, 1);
	expect_replay_after(f, END_OF(lsn_a), 0);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(st.delivered, 1);

	/* the hello's end is the acked end until a transaction settles */
	assert_int_equal(walbus_ack(f->client, &ch), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	expect_ack(f, lsn_b, 1, END_OF(lsn_a));
}

/*
 * A rewind: the relay no longer has what the consumer asks for, answers
 * "rewind" while it restarts its stream, then publishes everything again
 * in new frames of the same run.  The consumer asks again until it gets
 * data, and drops what it had already by key.
 */
static void
test_durable_rewind(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	uint64_t	  lsn_a = open_txn(f).commit_lsn;
	uint64_t	  lsn_b;
	uint64_t	  first;
	uint64_t	  off_a = f->txn_off;
	int			  rc;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};

	open_durable(f, 0, 0);
	walbus_subscribe(f->client, "public.contacts");
	walbus_subscribe(f->client, "_txn");
	expect_timeout(f, 200); /* the pull at open: an empty window */

	first = f->seq + 1;
	pub_inserts(f, 1, 2, true);
	pub_commit(f, first, 1, tt, 1);
	expect_insert(f, 1, 1);
	expect_insert(f, 2, 2);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_COMMIT);

	/*
	 * The relay rewinds: the stream again from A, on the bus (repeats, by
	 * key), then B, whose first frame is lost on the bus: its commit's seq
	 * reveals the loss, and the pull is answered "rewind" twice.
	 */
	window_clear(f);
	pthread_mutex_lock(&f->lock);
	f->rewinds = 2;
	pthread_mutex_unlock(&f->lock);
	f->txn_off = off_a;
	f->npos = 0;
	first = f->seq + 1;
	pub_inserts(f, 1, 2, true);
	pub_commit(f, first, 1, tt, 1);
	lsn_b = open_txn(f).commit_lsn;
	first = f->seq + 1;
	pub_inserts(f, 3, 1, false);
	pub_commit(f, first, 1, tt, 1);

	/* a caller that does not wait hears that the relay is rewinding */
	for (int i = 0;; i++)
	{
		rc = walbus_recv(f->client, &ch, 0);
		if (rc != WALBUS_ETIMEDOUT)
			fail_msg("walbus_recv returned %d: %s", rc,
					 walbus_errmsg(f->client));
		if (strstr(walbus_errmsg(f->client), "rewinding") != NULL)
			break;
		if (i == 200)
			fail_msg("no rewind heard: %s", walbus_errmsg(f->client));
		sleep_ms(10);
	}
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->rewinds, 1);
	pthread_mutex_unlock(&f->lock);

	expect_insert_ch(f, &ch, 3, 1);
	assert_int_equal(ch.commit_lsn, lsn_b);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_COMMIT);
	assert_int_equal(ch.commit_lsn, lsn_b);
	expect_timeout(f, 200);
	expect_replay_after(f, lsn_a, WBC_POS_COMMIT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.duplicates, 3); /* A's 1, 2 and commit */
	assert_int_equal(st.delivered, 5);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->rewinds, 0);
	pthread_mutex_unlock(&f->lock);
}

/*
 * A proven gap on the bus: frames 2 and 3 of five are lost, 4 reveals it.
 * The pull brings 2 to 5; back on the bus, the copies of 4 and 5 already
 * queued are skipped.  Each is delivered once, in order.
 */
static void
test_durable_gap_pull_once(void **state)
{
	fake_relay	*f = *state;
	walbus_stats st;
	uint64_t	 first;
	txn_topic	 tt[] = {{"public.contacts", 0, 5}};

	open_durable(f, 0, 0);
	walbus_subscribe(f->client, "public.contacts");
	expect_timeout(f, 200);

	first = f->seq + 1;
	pub_inserts(f, 1, 1, true);
	pub_inserts(f, 2, 1, false);
	pub_inserts(f, 3, 1, false);
	pub_inserts(f, 4, 1, true);
	pub_inserts(f, 5, 1, true);
	pub_commit(f, first, 5, tt, 1);
	for (int id = 1; id <= 5; id++)
		expect_insert(f, id, (uint32_t) id);
	expect_timeout(f, 200);

	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.delivered, 5);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(st.replays, 2);
	assert_int_equal(st.replayed, 1 + 3 + 1); /* empty; 2 to 4; commit */
	expect_replay_after(f, open_txn(f).commit_lsn - TXN_STEP, 1);
}

/*
 * A relay restart: frames of a new run.  What did the new process publish
 * before the consumer heard it?  The first frame of the run starts a pull
 * (after the consumer's key), which also drops this frame: the pull gives
 * it again.  The new relay's stream begins again at the slot: what was
 * delivered before is not delivered again.
 */
static void
test_durable_new_run(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch;
	walbus_stats  st;
	uint64_t	  lsn_a = open_txn(f).commit_lsn;
	uint64_t	  lsn_b;
	uint64_t	  off_a = f->txn_off;
	uint64_t	  first;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};

	open_durable(f, 0, 0);
	walbus_subscribe(f->client, "public.contacts");
	expect_timeout(f, 200);
	first = f->seq + 1;
	pub_inserts(f, 1, 1, true);
	pub_commit(f, first, 1, tt, 1);
	expect_insert(f, 1, 1);
	expect_timeout(f, 200); /* A's commit taken */

	/* the new process: empty window, seq from 1, A again, then B */
	window_clear(f);
	pthread_mutex_lock(&f->lock);
	f->run = RUN_B;
	pthread_mutex_unlock(&f->lock);
	f->seq = 0;
	memset(f->tseq, 0, sizeof(f->tseq));
	f->txn_off = off_a;
	f->npos = 0;
	first = f->seq + 1;
	pub_inserts(f, 1, 1, true);
	pub_commit(f, first, 1, tt, 1);
	lsn_b = open_txn(f).commit_lsn;
	first = f->seq + 1;
	pub_inserts(f, 2, 1, true);
	pub_commit(f, first, 1, tt, 1);

	expect_insert_ch(f, &ch, 2, 1);
	assert_int_equal(ch.run, RUN_B);
	assert_int_equal(ch.commit_lsn, lsn_b);
	expect_timeout(f, 200);
	expect_replay_after(f, lsn_a, WBC_POS_COMMIT);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.replays, 2); /* at open, at the new run */
	assert_int_equal(st.delivered, 2);
	/* A again: not in the page (after the key), skipped on the bus */
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(st.gaps, 0);
}

/*
 * Acks: the key of the last change acked, and the end LSN of the last
 * whole transaction acked.  A commit frame the worker does not subscribe
 * to settles (its key and end count as acked) once every change delivered
 * before it is acked: at once when they already are, else at the ack that
 * covers them.  walbus_recv sends a due ack by itself.
 */
static void
test_durable_acks_settle(void **state)
{
	fake_relay	 *f = *state;
	walbus_change ch1, ch2;
	uint64_t	  lsn_a = open_txn(f).commit_lsn;
	uint64_t	  lsn_b;
	uint64_t	  first;
	int			  acks;
	txn_topic	  tt[] = {{"public.contacts", 0, 1}};

	open_durable(f, 0, 0);
	walbus_subscribe(f->client, "public.contacts");
	expect_timeout(f, 200);

	/* A: both changes acked before its commit frame is taken */
	first = f->seq + 1;
	pub_inserts(f, 1, 2, true);
	pub_commit(f, first, 1, tt, 1);
	expect_insert_ch(f, &ch1, 1, 1);
	expect_insert_ch(f, &ch2, 2, 2);
	assert_int_equal(walbus_ack(f->client, &ch1), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	expect_ack(f, lsn_a, 1, 0);
	assert_int_equal(walbus_ack(f->client, &ch2), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	expect_ack(f, lsn_a, 2, 0);
	pthread_mutex_lock(&f->lock);
	acks = f->acks;
	pthread_mutex_unlock(&f->lock);
	/* taking the commit settles it; walbus_recv sends that while waiting */
	expect_timeout(f, 300);
	expect_ack(f, lsn_a, WBC_POS_COMMIT, END_OF(lsn_a));
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->acks, acks + 1);
	pthread_mutex_unlock(&f->lock);

	/* B: its commit is taken first; the ack of its last change settles it */
	lsn_b = open_txn(f).commit_lsn;
	first = f->seq + 1;
	pub_inserts(f, 3, 2, true);
	pub_commit(f, first, 1, tt, 1);
	expect_insert_ch(f, &ch1, 3, 1);
	expect_insert_ch(f, &ch2, 4, 2);
	expect_timeout(f, 200);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	expect_ack(f, lsn_a, WBC_POS_COMMIT, END_OF(lsn_a)); /* nothing new */
	assert_int_equal(walbus_ack(f->client, &ch1), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	expect_ack(f, lsn_b, 1, END_OF(lsn_a));
	assert_int_equal(walbus_ack(f->client, &ch2), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	expect_ack(f, lsn_b, WBC_POS_COMMIT, END_OF(lsn_b));

	/* an older ack moves nothing back */
	assert_int_equal(walbus_ack(f->client, &ch1), WALBUS_OK);
	assert_int_equal(walbus_flush_acks(f->client), WALBUS_OK);
	expect_ack(f, lsn_b, WBC_POS_COMMIT, END_OF(lsn_b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names_and_values, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_table_filter_is_exact, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_schema_and_all_filters, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_messages_commits_heartbeats,
										setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_changes_in_order, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_gap_in_topic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_before_frame, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_gap_proved_by_txn, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_no_false_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_proved_by_heartbeat, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_gap_after_first_heartbeat, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_new_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeats_dropped_per_change, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_unknown_schema_version, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_malformed_is_skipped, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_status_and_errors, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_status_every_field, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_without_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recv_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_pull_and_bus, setup_relay,
										teardown),
		cmocka_unit_test_setup_teardown(test_durable_replay_straddles_resume,
										setup_relay, teardown),
		cmocka_unit_test_setup_teardown(test_durable_release, setup_relay,
										teardown),
		cmocka_unit_test_setup_teardown(test_durable_two_topics, setup_relay,
										teardown),
		cmocka_unit_test_setup_teardown(test_durable_resume, setup_relay,
										teardown),
		cmocka_unit_test_setup_teardown(test_durable_rewind, setup_relay,
										teardown),
		cmocka_unit_test_setup_teardown(test_durable_gap_pull_once,
										setup_relay, teardown),
		cmocka_unit_test_setup_teardown(test_durable_new_run, setup_relay,
										teardown),
		cmocka_unit_test_setup_teardown(test_durable_acks_settle, setup_relay,
										teardown),
		cmocka_unit_test_setup_teardown(test_follows_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follows_rename_event_lost, setup,
										teardown),
		cmocka_unit_test_setup_teardown(test_backfill_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_follows_rename,
										setup_relay, teardown),
	};

	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
