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
#include "walbus_control.h"

/*
 * Messages queued per subscriber before pub0 starts dropping for it.  nng's
 * default (16) loses messages on any burst; this absorbs a few thousand
 * changes of scheduling hiccup per subscriber for a bounded amount of memory.
 */
#define WR_PUB_SENDBUF		4096

/* Nothing is ever received on a pub socket; refuse anything sizeable. */
#define WR_PUB_RECVMAXSZ	4096

/* Initial room of a message: most changes fit without growing. */
#define WR_PUB_MSG_RESERVE	512

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
			wr_window *window, char *errbuf, size_t errlen)
{
	int			rv;

	memset(p, 0, sizeof(*p));
	p->window = window;
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
		(rv = nng_socket_set_int(p->sock, NNG_OPT_SENDBUF,
								 WR_PUB_SENDBUF)) != 0 ||
		(rv = nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST,
							  wr_pub_pipe_event, p)) != 0 ||
		(rv = nng_pipe_notify(p->sock, NNG_PIPE_EV_REM_POST,
							  wr_pub_pipe_event, p)) != 0)
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
	wr_topic   *t = v;

	free(t->name);
	free(t);
}

void
wr_pub_close(wr_publisher *p)
{
	if (p->open)
		nng_close(p->sock);
	p->open = false;
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
	wr_topic   *t = whm_get(&p->topics, name, len);

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
	if (whm_put(&p->topics, name, len, t) != 0)
	{
		wr_topic_free(t);
		return NULL;
	}
	return t;
}

/* Remember that the open transaction published on t. */
static bool
wr_pub_touch(wr_publisher *p, wr_topic *t)
{
	if (t->txn_gen != p->txn_gen)
	{
		if (p->ntouched == p->touched_cap)
		{
			uint32_t	ncap = p->touched_cap ? p->touched_cap * 2 : 16;
			wr_topic  **n = realloc(p->touched, ncap * sizeof(wr_topic *));

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

bool
wr_pub_start(wr_publisher *p, wr_pubmsg *m, wr_topic *t, bool txn_member)
{
	int			rv;

	if ((rv = nng_msg_alloc(&m->msg, WR_PUB_MSG_RESERVE)) != 0)
	{
		p->errors++;
		wr_warning("nng_msg_alloc: %s", nng_strerror(rv));
		return false;
	}
	nng_msg_clear(m->msg);
	wb_enc_init(&m->enc, wr_msg_write, m->msg);
	wbe_enc_topic(&m->enc, t->name, t->len);

	if (txn_member && p->in_txn)
	{
		if (!wr_pub_touch(p, t))
			m->enc.failed = 1;
		if (p->txn_messages++ == 0)
			p->txn_first_seq = p->seq + 1;
	}
	m->keep = false;
	m->head.run = p->run;
	m->head.seq = ++p->seq;
	m->head.tseq = ++t->tseq;
	return true;
}

bool
wr_pub_finish(wr_publisher *p, wr_pubmsg *m)
{
	size_t		len = nng_msg_len(m->msg);
	int			rv;

	if (wb_enc_failed(&m->enc))
	{
		p->errors++;
		wr_warning("could not encode bus message %llu (out of memory?)",
				   (unsigned long long) m->head.seq);
		nng_msg_free(m->msg);
		return false;
	}

	/*
	 * The copy goes in before the send: once sent, a subscriber may ask for
	 * it.  Without room for it, the window forgets everything up to it, so
	 * that a replay is a rewind rather than a hole.
	 */
	if (m->keep && p->window != NULL &&
		!wr_window_add(p->window, m->key, m->head.seq, nng_msg_body(m->msg),
					   len))
	{
		wr_warning("out of memory copying message %llu into the replay "
				   "window: replays before it will rewind the stream",
				   (unsigned long long) m->head.seq);
		wr_window_drop_through(p->window, m->key);
	}

	/*
	 * nng_sendmsg allocates (and seeds from getrandom) an aio per call: a
	 * tenth of the relay's CPU at full speed.  One aio serves every send
	 * instead; pub0 never blocks (it drops for slow subscribers), so the
	 * wait returns at once.
	 */
	nng_aio_set_msg(p->send_aio, m->msg);
	nng_send_aio(p->sock, p->send_aio);
	nng_aio_wait(p->send_aio);
	if ((rv = nng_aio_result(p->send_aio)) != 0)
	{
		p->errors++;
		wr_warning("nng_send_aio: %s", nng_strerror(rv));
		nng_msg_free(m->msg);
		return false;
	}
	p->bytes += len;
	return true;
}

void
wr_pub_txn_begin(wr_publisher *p)
{
	p->in_txn = true;
	p->txn_gen++;
	p->txn_first_seq = 0;
	p->txn_messages = 0;
	p->ntouched = 0;
}

bool
wr_pub_txn_commit(wr_publisher *p, const wbe_txn *t, uint64_t end_lsn)
{
	wr_pubmsg	m;

	p->in_txn = false;
	if (!wr_pub_start(p, &m, p->txn_topic, false))
		return false;
	m.keep = true;
	m.key.lsn = t->commit_lsn;
	m.key.pos = WBC_POS_COMMIT;
	wbe_enc_commit_start(&m.enc, &m.head, t, end_lsn, p->txn_first_seq,
						 p->txn_messages, p->ntouched);
	for (uint32_t i = 0; i < p->ntouched; i++)
	{
		wr_topic   *topic = p->touched[i];

		wbe_enc_commit_topic(&m.enc, topic->name, topic->len, topic->tseq,
							 topic->txn_count);
	}
	return wr_pub_finish(p, &m);
}

void
wr_pub_txn_abandon(wr_publisher *p)
{
	p->in_txn = false;
	p->ntouched = 0;
}

bool
wr_pub_heartbeat(wr_publisher *p, const wbe_heartbeat *hb)
{
	wr_pubmsg	m;
	wbe_heartbeat h = *hb;

	if (!wr_pub_start(p, &m, p->hb_topic, false))
		return false;
	h.txn_tseq = p->txn_topic->tseq;
	wbe_enc_heartbeat(&m.enc, &m.head, &h);
	return wr_pub_finish(p, &m);
}
