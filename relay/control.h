/*-------------------------------------------------------------------------
 *
 * control.h
 *	  The relay's control socket: an nng rep0 listener answering msgpack
 *	  requests (docs/PROTOCOL.md Part 2, "Control socket") from inside the
 *	  relay's single poll loop.
 *
 * wr_control_fd gives a descriptor that polls readable when a request is
 * waiting; wr_control_serve answers every waiting request without
 * blocking.  A malformed or unknown request gets an error response; no
 * input can stop the relay.  Before answering, each request is checked
 * against the control_allow rules (authz.h) with what the client's nng
 * pipe tells of it; a refusal is an error response "forbidden" naming
 * the client, counted in the status and logged.  A request that asks
 * the loop to act (an ack that may move the slot's flush position, a
 * rewind) is only recorded in relay->requests (requests.h), for the loop
 * to apply at its next turn, and answered as the loop will act.
 * Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CONTROL_H
#define WR_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include <nng/nng.h>

#include "authz.h"

struct wr_relay;

typedef struct wr_control
{
	nng_socket		   sock;
	bool			   open;
	int				   fd;				  /* NNG_OPT_RECVFD */
	wr_authz_transport transport;		  /* of the control URL */
	int64_t			   refusal_logged_ms; /* last refusal logged (wr_now_ms) */
	uint64_t		   refusals_unlogged; /* refused since */
} wr_control;

extern int	wr_control_open(wr_control *ctl, const char *url, char *errbuf,
							size_t errlen);
extern void wr_control_close(wr_control *ctl);
extern void wr_control_serve(wr_control *ctl, struct wr_relay *relay);

#endif /* WR_CONTROL_H */
