/*-------------------------------------------------------------------------
 *
 * client_int.h
 *	  libwalbus's private state: struct walbus_client, put together from the
 *	  parts that client/'s files own, and the helpers they share.
 *
 * Not installed.  Each part is changed by the file that owns it (named on
 * its field, the contract in that file's header); the others read it.
 * walbus_fail keeps a message for walbus_errmsg and returns the code, so
 * that "return walbus_fail(c, rc, ...)" says and returns at once.  A
 * client has a single owner: nothing here is thread-safe.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_CLIENT_INT_H
#define WALBUS_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "busrecv.h"
#include "control_client.h"
#include "cursor.h"
#include "durable.h"
#include "filters.h"
#include "gapcheck.h"
#include "walbus_client.h"
#include "walbus_control.h"
#include "walbus_envelope.h"

struct walbus_client
{
	wbr_bus		  bus; /* busrecv.c: the sub socket or JetStream */
	bool		  have_control;
	wcc			  control; /* control_client.c */
	wbe_dec		  dec;	   /* decodes bus frames and replayed ones */
	wgc			  gaps;	   /* best effort: losses (gapcheck.h) */
	wfl_filters	  filters; /* filters.c: subscriptions, following */
	walbus_cursor cur;	   /* cursor.c: the frame being delivered */
	wcu_events	  events;  /* cursor.c: the change's schema event */

	/*
	 * Repeats: the last transactional key processed (cursor.c moves it; a
	 * durable consumer starts from it and pulls after it).
	 */
	bool	have_last;
	wbc_key last;

	wdu du; /* durable.c: state machine and acks */

	walbus_stats stats;
	char		 errmsg[256];
};

extern int walbus_fail(walbus_client *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
extern int64_t walbus_now_ms(void);

#endif /* WALBUS_CLIENT_INT_H */
