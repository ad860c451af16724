/*-------------------------------------------------------------------------
 *
 * gapcheck.c
 *	  Sequence-number loss detection on frames (see gapcheck.h).
 *
 *-------------------------------------------------------------------------
 */
#include "gapcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wgc_topic
{
	uint64_t last;		  /* highest tseq known delivered or lost */
	uint64_t base;		  /* first tseq received */
	uint64_t created_seq; /* seq of the frame that created it */
} wgc_topic;

void
wgc_init(wgc *g)
{
	memset(g, 0, sizeof(*g));
	whm_init(&g->topics);
}

void
wgc_free(wgc *g)
{
	whm_free(&g->topics, free);
	g->have_run = false;
}

void
wgc_reset(wgc *g)
{
	wgc_free(g);
}

/*
 * Out of memory leaves the topic unobserved: its next frame tries again,
 * and a missed proof is only a loss not reported, never a false one.
 */
static wgc_topic *
wgc_topic_add(wgc *g, const char *topic, size_t len, uint64_t tseq,
			  uint64_t seq)
{
	wgc_topic *t = malloc(sizeof(wgc_topic));

	if (t == NULL)
		return NULL;
	t->last = tseq;
	t->base = tseq;
	t->created_seq = seq;
	if (whm_put(&g->topics, topic, len, t) != 0)
	{
		free(t);
		return NULL;
	}
	return t;
}

/* Record a loss: count it, and describe the first one of this frame. */
static void
wgc_lost(wgc *g, uint64_t *lost, uint64_t n, const char *topic, size_t len,
		 uint64_t from, uint64_t to)
{
	if (*lost == 0)
		snprintf(g->msg, sizeof(g->msg),
				 "lost %llu frame%s on topic \"%.*s\" (tseq %llu to %llu)",
				 (unsigned long long) n, n == 1 ? "" : "s",
				 (int) (len > 100 ? 100 : len), topic,
				 (unsigned long long) from, (unsigned long long) to);
	*lost += n;
}

/* The proof a commit frame carries, for the topics this client receives. */
static void
wgc_check_commit(wgc *g, const wbe_frame *fr, wgc_receives_fn receives,
				 void *arg, uint64_t *lost)
{
	/* a transaction without frames (first_seq 0) proves nothing */
	bool judged = fr->first_seq != 0 && fr->first_seq >= g->joined_seq;

	for (uint32_t i = 0; i < fr->ntopics; i++)
	{
		const wbe_txn_topic *tt = &fr->topics[i];
		wgc_topic			*t;
		uint64_t			 first;

		if (!receives(arg, tt->topic.ptr, tt->topic.len) || tt->count == 0 ||
			tt->last_tseq < tt->count)
			continue;
		first = tt->last_tseq - tt->count + 1;
		t = whm_get(&g->topics, tt->topic.ptr, tt->topic.len);
		if (t == NULL)
		{
			if (judged)
				wgc_lost(g, lost, tt->count, tt->topic.ptr, tt->topic.len,
						 first, tt->last_tseq);
			wgc_topic_add(g, tt->topic.ptr, tt->topic.len, tt->last_tseq,
						  fr->head.seq);
			continue;
		}
		if (t->last < tt->last_tseq)
		{
			if (judged)
				wgc_lost(g, lost, tt->last_tseq - t->last, tt->topic.ptr,
						 tt->topic.len, t->last + 1, tt->last_tseq);
			t->last = tt->last_tseq;
		}
		/* first seen inside this transaction, but not from its start */
		if (judged && t->created_seq >= fr->first_seq && t->base > first)
		{
			wgc_lost(g, lost, t->base - first, tt->topic.ptr, tt->topic.len,
					 first, t->base - 1);
			t->base = first;
		}
	}
}

/*
 * A heartbeat names the tseq of the last _txn frame published.  Below it,
 * _txn frames (whole transactions) were lost.  Without a _txn frame
 * received yet, the first heartbeat is where continuity on _txn starts,
 * or a transaction lost between two heartbeats would go unseen.
 */
static void
wgc_check_heartbeat(wgc *g, const wbe_frame *fr, uint64_t *lost)
{
	size_t	   len = strlen(WBE_TOPIC_TXN);
	wgc_topic *t = whm_get(&g->topics, WBE_TOPIC_TXN, len);

	if (t == NULL)
	{
		wgc_topic_add(g, WBE_TOPIC_TXN, len, fr->hb.txn_tseq, fr->head.seq);
		return;
	}
	if (fr->hb.txn_tseq > t->last)
	{
		wgc_lost(g, lost, fr->hb.txn_tseq - t->last, WBE_TOPIC_TXN, len,
				 t->last + 1, fr->hb.txn_tseq);
		t->last = fr->hb.txn_tseq;
	}
}

uint64_t
wgc_check(wgc *g, const wbe_frame *fr, wgc_receives_fn receives, void *arg)
{
	uint64_t   lost = 0;
	wgc_topic *t;

	g->msg[0] = '\0';
	if (!g->have_run || g->run != fr->head.run)
	{
		/* a new relay process: its counters start again */
		whm_free(&g->topics, free);
		g->have_run = true;
		g->run = fr->head.run;
		g->joined_seq = fr->head.seq;
	}

	t = whm_get(&g->topics, fr->topic.ptr, fr->topic.len);
	if (t == NULL)
		wgc_topic_add(g, fr->topic.ptr, fr->topic.len, fr->head.tseq,
					  fr->head.seq);
	else if (fr->head.tseq > t->last)
	{
		if (fr->head.tseq > t->last + 1)
			wgc_lost(g, &lost, fr->head.tseq - t->last - 1, fr->topic.ptr,
					 fr->topic.len, t->last + 1, fr->head.tseq - 1);
		t->last = fr->head.tseq;
	}

	if (fr->kind == WBE_FRAME_COMMIT)
		wgc_check_commit(g, fr, receives, arg, &lost);
	else if (fr->kind == WBE_FRAME_HEARTBEAT)
		wgc_check_heartbeat(g, fr, &lost);
	return lost;
}
