/*-------------------------------------------------------------------------
 *
 * publisher.c
 *	  nng pub0 publishing with sequence numbers (see publisher.h).
 *
 *-------------------------------------------------------------------------
 */
#include "publisher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pubsub0/pub.h>

#include "listen.h"
#include "log.h"
#include "msgwrite.h"
#include "nngclose.h"
#include "walbus_control.h"

/* Nothing is ever received on a pub socket; refuse anything sizeable. */
#define WR_PUB_RECVMAXSZ 4096

/* Initial room of a frame: a few changes fit before it grows. */
#define WR_PUB_MSG_RESERVE 1024

/* Runs on an nng thread: only the atomic counter is touched. */
static void
wr_pub_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	wr_publisher *p = arg;

	(void) pipe;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&p->subscribers, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&p->subscribers, 1);
}

int
wr_pub_open(wr_publisher *p, uint64_t run, char *const *urls, int nurls,
			int queue, size_t frame_bytes, wr_window *window, char *errbuf,
			size_t errlen)
{
	int rv;

	memset(p, 0, sizeof(*p));
	p->window = window;
	p->frame_bytes = frame_bytes;
	whm_init(&p->topics);
	p->run = run;
	if ((rv = nng_pub0_open(&p->sock)) != 0)
	{
		snprintf(errbuf, errlen, "nng_pub0_open: %s", nng_strerror(rv));
		return rv;
	}
	p->open = true;
	if ((rv = nng_aio_alloc(&p->send_aio, NULL, NULL)) != 0)
	{
		snprintf(errbuf, errlen, "nng_aio_alloc: %s", nng_strerror(rv));
		return rv;
	}
	if ((rv = nng_socket_set_size(p->sock, NNG_OPT_RECVMAXSZ,
								  WR_PUB_RECVMAXSZ)) != 0 ||
		(rv = nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, queue)) != 0 ||
		(rv = nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST, wr_pub_pipe_event,
							  p)) != 0 ||
		(rv = nng_pipe_notify(p->sock, NNG_PIPE_EV_REM_POST, wr_pub_pipe_event,
							  p)) != 0)
	{
		snprintf(errbuf, errlen, "cannot set bus socket options: %s",
				 nng_strerror(rv));
		return rv;
	}
	for (int i = 0; i < nurls; i++)
		if ((rv = wr_listen(p->sock, urls[i], "bus", errbuf, errlen)) != 0)
			return rv;

	p->txn_topic = wr_pub_topic(p, WBE_TOPIC_TXN, strlen(WBE_TOPIC_TXN));
	p->hb_topic = wr_pub_topic(p, WBE_TOPIC_HEARTBEAT,
							   strlen(WBE_TOPIC_HEARTBEAT));
	if (p->txn_topic == NULL || p->hb_topic == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return NNG_ENOMEM;
	}
	return 0;
}

static void
wr_topic_free(void *v)
{
	wr_topic *t = v;

	free(t->name);
	free(t);
}

void
wr_pub_close(wr_publisher *p)
{
	if (p->open && wnc_close(&p->sock, 1, WNC_DEFAULT_TIMEOUT_MS) != 0)
		wr_info("the bus socket did not close within %d ms (an nng 1.5.2 "
				"hang); it is left for the exit to close",
				WNC_DEFAULT_TIMEOUT_MS);
	p->open = false;
	if (p->frame_open)
		nng_msg_free(p->frame.msg);
	p->frame_open = false;
	if (p->send_aio != NULL)
		nng_aio_free(p->send_aio);
	p->send_aio = NULL;
	whm_free(&p->topics, wr_topic_free);
	free(p->touched);
	p->touched = NULL;
}

wr_topic *
wr_pub_topic(wr_publisher *p, const char *name, size_t len)
{
	wr_topic *t = whm_get(&p->topics, name, len);

	if (t != NULL)
		return t;
	t = calloc(1, sizeof(wr_topic));
	if (t == NULL)
		return NULL;
	t->name = malloc(len + 1);
	if (t->name == NULL)
	{
		free(t);
		return NULL;
	}
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->len = len;
	/* "_msg." alone is the topic of a message with an empty prefix */
	t->is_message = len >= strlen(WBE_TOPIC_MSG_PREFIX) &&
		memcmp(name, WBE_TOPIC_MSG_PREFIX, strlen(WBE_TOPIC_MSG_PREFIX)) == 0;
	/* the relay's events about a table: _schema and _backfill */
	t->is_schema = (len == strlen(WBE_TOPIC_SCHEMA) &&
					memcmp(name, WBE_TOPIC_SCHEMA, len) == 0) ||
		(len == strlen(WBE_TOPIC_BACKFILL) &&
		 memcmp(name, WBE_TOPIC_BACKFILL, len) == 0);
	if (whm_put(&p->topics, name, len, t) != 0)
	{
		wr_topic_free(t);
		return NULL;
	}
	return t;
}

/* Remember that the open transaction published a frame on t. */
static bool
wr_pub_touch(wr_publisher *p, wr_topic *t)
{
	if (t->txn_gen != p->txn_gen)
	{
		if (p->ntouched == p->touched_cap)
		{
			uint32_t   ncap = p->touched_cap ? p->touched_cap * 2 : 16;
			wr_topic **n = realloc(p->touched, ncap * sizeof(wr_topic *));

			if (n == NULL)
				return false;
			p->touched = n;
			p->touched_cap = ncap;
		}
		p->touched[p->ntouched++] = t;
		t->txn_gen = p->txn_gen;
		t->txn_count = 0;
	}
	t->txn_count++;
	return true;
}

/*
 * A frame lost before it reached the bus (out of memory).  It keeps its
 * seq and tseq, so subscribers see the gap, and the window forgets
 * everything up to the end of its transaction's changes (or the
 * transaction's end itself, for a commit frame), so that a replay across
 * it is a rewind from the slot rather than a silent hole.
 */
static void
wr_pub_lost(wr_publisher *p, wr_frame *f)
{
	p->errors++;
	wr_warning("bus frame %llu on topic %s is lost (out of memory): "
			   "subscribers see a gap, and replays across it rewind the "
			   "stream",
			   (unsigned long long) f->head.seq, f->topic->name);
	if (f->keep && p->window != NULL)
	{
		wr_wkey through = f->key;

		if (through.pos != WBC_POS_COMMIT)
			through.pos = WBC_POS_COMMIT - 1;
		wr_window_drop_through(p->window, through);
	}
	if (f->msg != NULL)
		nng_msg_free(f->msg);
	f->msg = NULL;
}

/*
 * Start a frame on topic t: assign its head, count it in the open
 * transaction (txn_member), allocate it and write the topic.  keep: a
 * transactional frame, copied into the window under key (the key's pos is
 * set as changes are added).  False when it could not be allocated: it is
 * then lost (wr_pub_lost), with its sequence numbers used.
 */
static bool
wr_pub_start(wr_publisher *p, wr_frame *f, wr_topic *t, bool txn_member,
			 bool keep, wr_wkey key)
{
	bool touched = true;
	int	 rv;

	f->msg = NULL;
	f->topic = t;
	f->keep = keep;
	f->key = key;
	f->first = key;
	f->nchanges = 0;
	f->head.run = p->run;
	f->head.seq = ++p->seq;
	f->head.tseq = ++t->tseq;
	/* counted even if lost, so that the commit's proof shows the loss */
	if (txn_member && p->in_txn)
	{
		touched = wr_pub_touch(p, t);
		if (p->txn_frames++ == 0)
			p->txn_first_seq = f->head.seq;
	}
	if ((rv = nng_msg_alloc(&f->msg, WR_PUB_MSG_RESERVE)) != 0)
	{
		f->msg = NULL;
		wr_pub_lost(p, f);
		return false;
	}
	nng_msg_clear(f->msg);
	wb_enc_init(&f->enc, wr_msg_write, f->msg);
	wbe_enc_topic(&f->enc, t->name, t->len);
	if (!touched)
		f->enc.failed = 1;
	return true;
}

/* Send a finished frame; it is consumed whatever happens. */
static bool
wr_pub_send(wr_publisher *p, wr_frame *f)
{
	size_t len = nng_msg_len(f->msg);
	int	   rv;

	if (wb_enc_failed(&f->enc))
	{
		wr_pub_lost(p, f);
		return false;
	}

	/*
	 * The copy goes in before the send: once sent, a subscriber may ask for
	 * it.  Without room for it, the window forgets everything up to it, so
	 * that a replay is a rewind rather than a hole.
	 */
	if (f->keep && p->window != NULL &&
		!wr_window_add(p->window, f->key, f->head.seq, nng_msg_body(f->msg),
					   len))
	{
		wr_warning("out of memory copying frame %llu into the replay "
				   "window: replays before it will rewind the stream",
				   (unsigned long long) f->head.seq);
		wr_window_drop_through(p->window, f->key);
	}

	if (p->copy != NULL && f->key.lsn != 0)
		p->copy(p->copy_arg, f, nng_msg_body(f->msg), len);

	/*
	 * nng_sendmsg allocates (and seeds from getrandom) an aio per call.
	 * One aio serves every send instead; pub0 never blocks (it drops for
	 * slow subscribers), so the wait returns at once.  A frame nng refuses
	 * is in the window already: subscribers see the gap and pull it.
	 */
	nng_aio_set_msg(p->send_aio, f->msg);
	nng_send_aio(p->sock, p->send_aio);
	nng_aio_wait(p->send_aio);
	if ((rv = nng_aio_result(p->send_aio)) != 0)
	{
		p->errors++;
		wr_warning("nng_send_aio: %s", nng_strerror(rv));
		nng_msg_free(f->msg);
		return false;
	}
	p->bytes += len;
	return true;
}

void
wr_pub_flush(wr_publisher *p)
{
	wr_frame *f = &p->frame;

	if (!p->frame_open)
		return;
	p->frame_open = false;
	wbe_patch_changes_count((char *) nng_msg_body(f->msg) + f->count_at,
							f->nchanges);
	if (wr_pub_send(p, f))
		p->frames++;
}

wr_frame *
wr_pub_frame(wr_publisher *p, wr_topic *t, uint32_t relid,
			 uint64_t schema_version, const char *prefix, size_t prefix_len)
{
	wr_frame *f = &p->frame;

	if (p->frame_open)
	{
		if (f->topic == t && f->relid == relid &&
			f->schema_version == schema_version)
			return f;
		wr_pub_flush(p);
	}
	if (!wr_pub_start(p, f, t, true, true, (wr_wkey) {p->txn.commit_lsn, 0}))
		return NULL;
	f->relid = relid;
	f->schema_version = schema_version;
	if (t->is_message)
		wbe_enc_frame_messages(&f->enc, &f->head, &p->txn, prefix, prefix_len);
	else if (t->is_schema)
		wbe_enc_frame_schema(&f->enc, &f->head, &p->txn, relid);
	else
		wbe_enc_frame_table(&f->enc, &f->head, &p->txn, relid, schema_version);
	if (wb_enc_failed(&f->enc))
	{
		wr_pub_lost(p, f);
		return NULL;
	}
	f->count_at = nng_msg_len(f->msg) - WBE_CHANGES_HDR_LEN;
	p->frame_open = true;
	return f;
}

void
wr_pub_frame_added(wr_publisher *p, wr_frame *f, uint32_t pos)
{
	f->nchanges++;
	f->key.lsn = p->txn.commit_lsn;
	f->key.pos = pos;
	if (f->nchanges == 1)
		f->first = f->key;
	if (nng_msg_len(f->msg) >= p->frame_bytes)
		wr_pub_flush(p);
}

void
wr_pub_txn_begin(wr_publisher *p, const wbe_txn *t)
{
	wr_pub_flush(p);
	p->in_txn = true;
	p->txn = *t;
	p->txn_gen++;
	p->txn_first_seq = 0;
	p->txn_frames = 0;
	p->ntouched = 0;
}

bool
wr_pub_txn_commit(wr_publisher *p, uint64_t commit_lsn, uint64_t end_lsn,
				  uint32_t last_pos)
{
	wr_frame f;

	wr_pub_flush(p);
	p->in_txn = false;
	p->txn.commit_lsn = commit_lsn;
	if (!wr_pub_start(p, &f, p->txn_topic, false, true,
					  (wr_wkey) {commit_lsn, WBC_POS_COMMIT}))
		return false;
	wbe_enc_commit_start(&f.enc, &f.head, &p->txn, end_lsn, p->txn_first_seq,
						 p->txn_frames, last_pos, p->ntouched);
	for (uint32_t i = 0; i < p->ntouched; i++)
	{
		wr_topic *topic = p->touched[i];

		wbe_enc_commit_topic(&f.enc, topic->name, topic->len, topic->tseq,
							 topic->txn_count);
	}
	return wr_pub_send(p, &f);
}

void
wr_pub_txn_abandon(wr_publisher *p)
{
	/* what was read of it is published, as it would have been unframed */
	wr_pub_flush(p);
	p->in_txn = false;
	p->ntouched = 0;
}

bool
wr_pub_message(wr_publisher *p, wr_topic *t, uint64_t lsn, const char *prefix,
			   size_t prefix_len, const char *content, size_t content_len)
{
	wr_frame f;
	size_t	 count_at;

	wr_pub_flush(p);
	/* not kept in the window; its key {lsn, 0} names it on a second bus */
	if (!wr_pub_start(p, &f, t, false, false, (wr_wkey) {lsn, 0}))
		return false;
	wbe_enc_frame_messages(&f.enc, &f.head, NULL, prefix, prefix_len);
	count_at = nng_msg_len(f.msg) - WBE_CHANGES_HDR_LEN;
	wbe_enc_message(&f.enc, WBE_POS_NONE, lsn, content, content_len);
	if (!wb_enc_failed(&f.enc))
		wbe_patch_changes_count((char *) nng_msg_body(f.msg) + count_at, 1);
	if (!wr_pub_send(p, &f))
		return false;
	p->frames++;
	return true;
}

bool
wr_pub_heartbeat(wr_publisher *p, const wbe_heartbeat *hb)
{
	wr_frame	  f;
	wbe_heartbeat h = *hb;

	wr_pub_flush(p);
	if (!wr_pub_start(p, &f, p->hb_topic, false, false, (wr_wkey) {0, 0}))
		return false;
	h.txn_tseq = p->txn_topic->tseq;
	wbe_enc_heartbeat(&f.enc, &f.head, &h);
	return wr_pub_send(p, &f);
}
