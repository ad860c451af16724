/*-------------------------------------------------------------------------
 *
 * publisher.h
 *	  The bus side of the relay: the nng pub0 socket, sequence numbers,
 *	  per-topic counters and the per-transaction bookkeeping behind the
 *	  _txn messages (docs/PROTOCOL.md (Part 2)).
 *
 * A message is built in place in an nng_msg: wr_pub_start writes the topic
 * and assigns the head (run, seq, tseq); the caller encodes the envelope
 * body with wbe_enc_* on m->enc; wr_pub_finish sends it.  pub0 never
 * blocks: a subscriber that falls behind loses messages, which the
 * sequence numbers let it detect, and a copy of every transactional
 * message goes to the replay window (window.h) for it to pull again.
 * Otherwise memory stays flat: one counter per topic and the list of
 * topics touched by the open transaction.
 *
 * Functions return true on success; failures are counted in errors and
 * logged, and never stop the relay (the bus is best effort by design).
 * Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_PUBLISHER_H
#define WR_PUBLISHER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "hashmap.h"
#include "walbus_envelope.h"
#include "window.h"

typedef struct wr_topic
{
	char	   *name;
	size_t		len;
	uint64_t	tseq;			/* last per-topic sequence number used */
	uint64_t	txn_gen;		/* transaction that last touched it */
	uint32_t	txn_count;		/* its messages in that transaction */
} wr_topic;

typedef struct wr_publisher
{
	nng_socket	sock;
	nng_aio    *send_aio;		/* reused for every send, see wr_pub_finish */
	wr_window  *window;			/* copies of transactional messages */
	bool		open;
	uint64_t	run;			/* random id of this process */
	uint64_t	seq;			/* last global sequence number used */
	whm			topics;			/* name -> wr_topic */
	wr_topic   *txn_topic;
	wr_topic   *hb_topic;

	/* the open transaction */
	bool		in_txn;
	uint64_t	txn_gen;
	uint64_t	txn_first_seq;
	uint32_t	txn_messages;
	wr_topic  **touched;
	uint32_t	ntouched;
	uint32_t	touched_cap;

	/* counters for status */
	atomic_int	subscribers;	/* connected pipes, kept by nng's threads */
	uint64_t	bytes;
	uint64_t	errors;
} wr_publisher;

/* A message under construction. */
typedef struct wr_pubmsg
{
	nng_msg    *msg;
	wb_enc		enc;
	wbe_head	head;
	bool		keep;			/* copy into the replay window under key */
	wr_wkey		key;
} wr_pubmsg;

extern int	wr_pub_open(wr_publisher *p, uint64_t run, char *const *urls,
						int nurls, wr_window *window, char *errbuf,
						size_t errlen);
extern void wr_pub_close(wr_publisher *p);

/* Find or create the counter of a topic; NULL when out of memory. */
extern wr_topic *wr_pub_topic(wr_publisher *p, const char *name, size_t len);

/* txn_member: the message is part of the open transaction (has a pos) */
extern bool wr_pub_start(wr_publisher *p, wr_pubmsg *m, wr_topic *t,
						 bool txn_member);
extern bool wr_pub_finish(wr_publisher *p, wr_pubmsg *m);

/* Transactions: messages started between begin and commit belong to it. */
extern void wr_pub_txn_begin(wr_publisher *p);
extern bool wr_pub_txn_commit(wr_publisher *p, const wbe_txn *t,
							  uint64_t end_lsn);
/* Forget an open transaction whose end will never come (lost connection). */
extern void wr_pub_txn_abandon(wr_publisher *p);

extern bool wr_pub_heartbeat(wr_publisher *p, const wbe_heartbeat *hb);

#endif							/* WR_PUBLISHER_H */
