/*-------------------------------------------------------------------------
 *
 * test_client.c
 *	  cmocka tests of libwalbus against a real nng pub0 socket publishing
 *	  real envelopes (encoded with the relay's encoder) and a rep0 control
 *	  socket served by a thread, all over inproc:// (no ports).
 *
 * Covered: names and typed values, table/schema/message/_txn filters,
 * gap detection (tseq jumps, _txn proofs, heartbeats, new relay runs, no
 * false gaps for unsubscribed topics), unknown schema versions,
 * malformed messages, timeouts and the status request.
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

#define RUN_A	0xA11CE
#define RUN_B	0xB0B

/* The table the fake relay knows: public.contacts(id int, name text, ok bool) */
#define CONTACTS_RELID	16385
#define CONTACTS_SV		4242
#define ARCHIVE_RELID	16401
#define ARCHIVE_SV		77

typedef struct fake_relay
{
	nng_socket	pub;
	nng_socket	rep;
	pthread_t	thread;
	atomic_int	stop;
	atomic_int	pipes;			/* subscribers connected */
	atomic_int	requests;
	char		bus_url[64];
	char		ctl_url[64];
	uint64_t	run;
	uint64_t	seq;
	uint64_t	tseq[8];		/* per test topic, indexed by caller */
	uint64_t	txn_off;		/* commit_lsn of the open txn - 0x1000 */
	uint32_t	npos;			/* last pos used in it */
	walbus_client *client;
} fake_relay;

static int	url_counter;

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

/* Answer schema and status requests like the relay's control socket. */
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
		wbc_status	st = {0};

		st.run = f->run;
		st.slot = (wb_str) {"walbus", 6};
		st.state = (wb_str) {"streaming", 9};
		st.delivery = (wb_str) {"best_effort", 11};
		st.flushed_lsn = 0x16B3748;
		st.last_seq = f->seq;
		st.changes = 5;
		wbc_enc_status(&e, &st);
	}
	else if (r.op == WBC_OP_SCHEMA && r.relid == CONTACTS_RELID &&
			 r.schema_version == CONTACTS_SV)
	{
		wbc_enc_schema_start(&e, CONTACTS_RELID, CONTACTS_SV, "public", 6,
							 "contacts", 8, 0, 3);
		wbc_enc_schema_column(&e, "id", 2, 23, -1, "integer", 7);
		wbc_enc_schema_column(&e, "name", 4, 25, -1, "text", 4);
		wbc_enc_schema_column(&e, "ok", 2, 16, -1, "boolean", 7);
	}
	else if (r.op == WBC_OP_SCHEMA && r.relid == ARCHIVE_RELID &&
			 r.schema_version == ARCHIVE_SV)
	{
		wbc_enc_schema_start(&e, ARCHIVE_RELID, ARCHIVE_SV, "public", 6,
							 "contacts_archive", 16, 0, 1);
		wbc_enc_schema_column(&e, "id", 2, 20, -1, "bigint", 6);
	}
	else
		wbc_enc_error(&e, WBC_ERR_NOT_FOUND, "unknown schema version");
}

static void *
serve(void *arg)
{
	fake_relay *f = arg;

	while (!atomic_load(&f->stop))
	{
		nng_msg    *req;
		nng_msg    *rep;

		if (nng_recvmsg(f->rep, &req, 0) != 0)
			continue;			/* receive timeout: look at stop */
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

/* Start the fake relay and a client connected to it. */
static int
setup(void **state)
{
	fake_relay *f = calloc(1, sizeof(fake_relay));
	walbus_options o = {0};
	char		err[256];

	url_counter++;
	snprintf(f->bus_url, sizeof(f->bus_url), "inproc://walbus-test-bus-%d",
			 url_counter);
	snprintf(f->ctl_url, sizeof(f->ctl_url), "inproc://walbus-test-ctl-%d",
			 url_counter);
	f->run = RUN_A;
	assert_int_equal(nng_pub0_open(&f->pub), 0);
	assert_int_equal(nng_pipe_notify(f->pub, NNG_PIPE_EV_ADD_POST, on_pipe, f),
					 0);
	assert_int_equal(nng_listen(f->pub, f->bus_url, NULL, 0), 0);
	assert_int_equal(nng_rep0_open(&f->rep), 0);
	assert_int_equal(nng_socket_set_ms(f->rep, NNG_OPT_RECVTIMEO, 50), 0);
	assert_int_equal(nng_listen(f->rep, f->ctl_url, NULL, 0), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);

	o.bus_url = f->bus_url;
	o.control_url = f->ctl_url;
	o.control_timeout_ms = 2000;
	if (walbus_open(&f->client, &o, err, sizeof(err)) != WALBUS_OK)
		fail_msg("walbus_open: %s", err);
	for (int i = 0; i < 200 && atomic_load(&f->pipes) == 0; i++)
		sleep_ms(5);
	assert_true(atomic_load(&f->pipes) > 0);
	*state = f;
	return 0;
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
	free(f);
	return 0;
}

/* ------------------------------------------------------------ publishing */

static const wbe_txn txn1 = {900, 0x1000, {1700000000, 0}, 0};

static nng_msg *
msg_start(wb_enc *e, const char *topic)
{
	nng_msg    *m;

	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	wb_enc_init(e, msg_write, m);
	wbe_enc_topic(e, topic, strlen(topic));
	return m;
}

static void
msg_send(fake_relay *f, wb_enc *e, nng_msg *m)
{
	assert_false(wb_enc_failed(e));
	assert_int_equal(nng_sendmsg(f->pub, m, 0), 0);
}

/* An INSERT of (id, name, ok) on topic; ti picks the topic's counter. */
static void
pub_insert(fake_relay *f, const char *topic, int ti, uint32_t relid,
		   uint64_t sv, int64_t id, const char *name, uint32_t pos)
{
	wb_enc		e;
	nng_msg    *m = msg_start(&e, topic);
	wbe_head	h = {f->run, ++f->seq, ++f->tseq[ti]};
	wbe_txn		t = txn1;

	/* keys grow like a real relay's, or the client drops repeats */
	f->npos = pos > f->npos ? pos : f->npos + 1;
	t.commit_lsn += f->txn_off;
	t.pos = f->npos;
	wbe_enc_change_start(&e, &h, WBE_INSERT, &t, relid, sv,
						 relid == CONTACTS_RELID ? 3 : 1, false);
	wb_enc_v_int(&e, id);
	if (relid == CONTACTS_RELID)
	{
		wb_enc_v_str(&e, name, strlen(name));
		wb_enc_v_bool(&e, true);
	}
	msg_send(f, &e, m);
}

/* Skip a topic's message as if nng had dropped it. */
static void
drop_one(fake_relay *f, int ti)
{
	f->seq++;
	f->tseq[ti]++;
}

typedef struct txn_topic
{
	const char *topic;
	int			ti;
	uint32_t	count;
} txn_topic;

#define TI_TXN	7

static void
pub_commit(fake_relay *f, uint64_t first_seq, uint32_t nchanges,
		   const txn_topic *topics, int ntopics)
{
	wb_enc		e;
	nng_msg    *m = msg_start(&e, WBE_TOPIC_TXN);
	wbe_head	h = {f->run, ++f->seq, ++f->tseq[TI_TXN]};
	wbe_txn		t = txn1;

	t.commit_lsn += f->txn_off;
	wbe_enc_commit_start(&e, &h, &t, t.commit_lsn + 0x30, first_seq, nchanges,
						 (uint32_t) ntopics);
	for (int i = 0; i < ntopics; i++)
		wbe_enc_commit_topic(&e, topics[i].topic, strlen(topics[i].topic),
							 f->tseq[topics[i].ti], topics[i].count);
	msg_send(f, &e, m);
	f->txn_off += 0x100;
	f->npos = 0;
}

static void
pub_heartbeat(fake_relay *f, int ti)
{
	wb_enc		e;
	nng_msg    *m = msg_start(&e, WBE_TOPIC_HEARTBEAT);
	wbe_head	h = {f->run, ++f->seq, ++f->tseq[ti]};
	wbe_heartbeat hb = {{1700000100, 0}, f->tseq[TI_TXN], 0x2000, 0x1030};

	wbe_enc_heartbeat(&e, &h, &hb);
	msg_send(f, &e, m);
}

static void
pub_message(fake_relay *f, const char *prefix, int ti, const char *content)
{
	wb_enc		e;
	char		topic[64];
	nng_msg    *m;
	wbe_head	h;

	snprintf(topic, sizeof(topic), "_msg.%s", prefix);
	m = msg_start(&e, topic);
	h = (wbe_head) {f->run, ++f->seq, ++f->tseq[ti]};
	wbe_enc_message(&e, &h, NULL, 0x3000, prefix, strlen(prefix), content,
					strlen(content));
	msg_send(f, &e, m);
}

static int
recv_one(fake_relay *f, walbus_change *ch)
{
	return walbus_recv(f->client, ch, 2000);
}

static void
expect_ok(fake_relay *f, walbus_change *ch)
{
	int			rc = recv_one(f, ch);

	if (rc != WALBUS_OK)
		fail_msg("walbus_recv returned %d: %s", rc, walbus_errmsg(f->client));
}

/* ------------------------------------------------------------------ tests */

static void
test_names_and_values(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;

	assert_int_equal(walbus_subscribe_table(f->client, "public", "contacts"),
					 WALBUS_OK);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "ann", 1);
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
	assert_int_equal(ch.commit_lsn, 0x1000);
	assert_int_equal(ch.pos, 1);
	assert_int_equal(ch.seq, 1);
	assert_int_equal(ch.tseq, 1);

	/* the second change of the same version is served from the cache */
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 2, "bob", 2);
	expect_ok(f, &ch);
	assert_int_equal(ch.values[0].v.i, 2);
	{
		walbus_stats st;

		walbus_get_stats(f->client, &st);
		assert_int_equal(st.schema_fetches, 1);
		assert_int_equal(st.delivered, 2);
		assert_int_equal(st.gaps, 0);
	}
}

/* A table filter selects that table only, not one with a longer name. */
static void
test_table_filter_is_exact(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;

	assert_int_equal(walbus_subscribe(f->client, "public.contacts"), WALBUS_OK);
	pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV, 9, "", 1);
	pub_insert(f, "other.contacts", 2, CONTACTS_RELID, CONTACTS_SV, 8, "x", 2);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 3, "cy", 3);
	expect_ok(f, &ch);
	assert_string_equal(ch.topic, "public.contacts");
	assert_int_equal(ch.values[0].v.i, 3);
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
}

static void
test_schema_and_all_filters(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;

	assert_int_equal(walbus_subscribe_schema(f->client, "public"), WALBUS_OK);
	pub_insert(f, "other.contacts", 2, CONTACTS_RELID, CONTACTS_SV, 8, "x", 1);
	pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV, 9, "", 2);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 3, "cy", 3);
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
	pub_insert(f, "other.contacts", 2, CONTACTS_RELID, CONTACTS_SV, 8, "x", 1);
	expect_ok(f, &ch);
	assert_string_equal(ch.topic, "other.contacts");
}

static void
test_messages_commits_heartbeats(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;
	txn_topic	tt[] = {{"public.contacts", 0, 1}};

	assert_int_equal(walbus_subscribe(f->client, "_msg.audit"), WALBUS_OK);
	assert_int_equal(walbus_subscribe(f->client, "_txn"), WALBUS_OK);
	assert_int_equal(walbus_subscribe(f->client, "_hb"), WALBUS_OK);
	pub_message(f, "other", 4, "no");
	pub_message(f, "audit", 3, "yes");
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_MESSAGE);
	assert_false(ch.transactional);
	assert_false(ch.in_txn);
	assert_memory_equal(ch.prefix.ptr, "audit", 5);
	assert_memory_equal(ch.content.ptr, "yes", 3);

	drop_one(f, 0);				/* a change we are not subscribed to */
	pub_commit(f, f->seq, 1, tt, 1);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_COMMIT);
	assert_int_equal(ch.end_lsn, 0x1030);
	assert_int_equal(ch.nchanges, 1);

	pub_heartbeat(f, 5);
	expect_ok(f, &ch);
	assert_int_equal(ch.kind, WALBUS_HEARTBEAT);
	assert_int_equal(ch.flushed_lsn, 0x1030);
	assert_int_equal(ch.time.sec, 1700000100);
}

/* A jump in a topic's tseq is reported, then the change is delivered. */
static void
test_gap_in_topic(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;

	walbus_subscribe(f->client, "public.contacts");
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "a", 1);
	drop_one(f, 0);
	drop_one(f, 0);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 4, "d", 4);
	expect_ok(f, &ch);
	assert_int_equal(recv_one(f, &ch), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client), "lost 2 messages"));
	assert_non_null(strstr(walbus_errmsg(f->client), "public.contacts"));
	expect_ok(f, &ch);
	assert_int_equal(ch.values[0].v.i, 4);
	assert_int_equal(ch.tseq, 4);
}

/* The last change of a transaction is lost: only _txn can prove it. */
static void
test_gap_proved_by_txn(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;
	uint64_t	first;
	txn_topic	tt[] = {{"public.contacts", 0, 2}};

	walbus_subscribe(f->client, "public.contacts");
	first = f->seq + 1;
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "a", 1);
	drop_one(f, 0);
	pub_commit(f, first, 2, tt, 1);
	expect_ok(f, &ch);
	assert_int_equal(walbus_recv(f->client, &ch, 500), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client), "lost 1 message "));
	/* nothing to deliver behind it: the _txn itself is not subscribed */
	assert_int_equal(walbus_recv(f->client, &ch, 100), WALBUS_ETIMEDOUT);
}

/* Changes of other tables are invisible here: no false gaps. */
static void
test_no_false_gap(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;
	walbus_stats st;
	uint64_t	first;
	txn_topic	tt[] = {{"public.contacts", 0, 1}, {"public.contacts_archive", 1, 2}};

	walbus_subscribe(f->client, "public.contacts");
	for (int round = 0; round < 3; round++)
	{
		first = f->seq + 1;
		pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV, 1, "", 1);
		pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, round, "x", 2);
		pub_insert(f, "public.contacts_archive", 1, ARCHIVE_RELID, ARCHIVE_SV, 2, "", 3);
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
	fake_relay *f = *state;
	walbus_change ch;
	txn_topic	tt[] = {{"public.contacts", 0, 1}};

	walbus_subscribe(f->client, "public.contacts");
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 1, "a", 1);
	pub_commit(f, f->seq, 1, tt, 1);
	expect_ok(f, &ch);
	/* a whole transaction is lost, _txn included */
	drop_one(f, 0);
	f->seq++;
	f->tseq[TI_TXN]++;
	pub_heartbeat(f, 5);
	assert_int_equal(walbus_recv(f->client, &ch, 500), WALBUS_EGAP);
	assert_non_null(strstr(walbus_errmsg(f->client), "_txn"));
}

/* A relay restart starts the counters again without a false gap. */
static void
test_new_run(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;
	walbus_stats st;

	walbus_subscribe(f->client, "public.contacts");
	for (int i = 0; i < 5; i++)
		pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, i, "a", 1);
	for (int i = 0; i < 5; i++)
		expect_ok(f, &ch);
	f->run = RUN_B;
	f->seq = 0;
	memset(f->tseq, 0, sizeof(f->tseq));
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 100, "b", 1);
	expect_ok(f, &ch);
	assert_int_equal(ch.run, RUN_B);
	assert_int_equal(ch.tseq, 1);
	walbus_get_stats(f->client, &st);
	assert_int_equal(st.gaps, 0);
}

static void
test_unknown_schema_version(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;

	walbus_subscribe(f->client, "public.contacts");
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, 999, 5, "z", 1);
	assert_int_equal(recv_one(f, &ch), WALBUS_ESCHEMA);
	assert_null(ch.table);
	assert_int_equal(ch.nvalues, 3);
	assert_int_equal(ch.values[0].v.i, 5);
	assert_non_null(strstr(walbus_errmsg(f->client), "not_found"));
}

static void
test_malformed_is_skipped(void **state)
{
	fake_relay *f = *state;
	walbus_change ch;
	nng_msg    *m;

	walbus_subscribe(f->client, "public.contacts");
	nng_msg_alloc(&m, 0);
	nng_msg_append(m, "public.contacts\0\x81\xa1x", 19);
	assert_int_equal(nng_sendmsg(f->pub, m, 0), 0);
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 6, "ok", 1);
	assert_int_equal(recv_one(f, &ch), WALBUS_EPROTO);
	expect_ok(f, &ch);
	assert_int_equal(ch.values[0].v.i, 6);
}

static void
test_status_and_errors(void **state)
{
	fake_relay *f = *state;
	walbus_relay_status st;
	walbus_change ch;

	assert_int_equal(walbus_relay_status_get(f->client, &st), WALBUS_OK);
	assert_string_equal(st.slot, "walbus");
	assert_string_equal(st.state, "streaming");
	assert_string_equal(st.delivery, "best_effort");
	assert_int_equal(st.flushed_lsn, 0x16B3748);
	assert_int_equal(st.run, RUN_A);

	assert_int_equal(walbus_subscribe(f->client, ""), WALBUS_EINVAL);
	assert_int_equal(walbus_unsubscribe(f->client, "nope.nope"), WALBUS_EINVAL);
	assert_int_equal(walbus_recv(f->client, &ch, 0), WALBUS_ETIMEDOUT);
	assert_int_equal(walbus_recv(f->client, &ch, 50), WALBUS_ETIMEDOUT);
}

/* Without a control URL there are no names, but everything else works. */
static void
test_without_control(void **state)
{
	fake_relay *f = *state;
	walbus_options o = {f->bus_url, NULL, 0, 0};
	walbus_client *c;
	walbus_change ch;
	walbus_relay_status st;
	char		err[128];
	int			before = atomic_load(&f->pipes);

	assert_int_equal(walbus_open(&c, &o, err, sizeof(err)), WALBUS_OK);
	for (int i = 0; i < 200 && atomic_load(&f->pipes) == before; i++)
		sleep_ms(5);
	walbus_subscribe(c, "*");
	pub_insert(f, "public.contacts", 0, CONTACTS_RELID, CONTACTS_SV, 7, "n", 1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names_and_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_filter_is_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_and_all_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages_commits_heartbeats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_in_topic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_proved_by_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_false_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_proved_by_heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_schema_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_control, setup, teardown),
	};

	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
