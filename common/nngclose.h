/*-------------------------------------------------------------------------
 *
 * nngclose.h
 *	  Closing nng sockets without risking a hang.
 *
 * nng 1.5.2 (the version Debian 12 ships) can block forever in nng_close:
 * when a pipe is torn down while its transport is between the header and
 * the body of a message, the protocol's receive aio is never completed and
 * nng's single reaper thread waits for it for good.  Every later close in
 * the process then waits on that reaper as well.  It happens on a
 * subscriber whose publisher is still sending, i.e. on most exits.
 *
 * wnc_close closes the sockets in order on a helper thread and waits at
 * most timeout_ms for it.  It returns 0 when every socket was closed and
 * ETIMEDOUT when the deadline passed: the helper is left blocked (detached,
 * owning its own copy of the handles), the remaining sockets stay open,
 * and the caller must treat all of them as gone.  Nothing the caller owns
 * is touched after return, so it may free its state either way; the cost
 * of a timeout is the leaked sockets, which the process's exit reclaims.
 *
 * Callers stop their own aios before closing (nng_aio_stop), as usual.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_NNGCLOSE_H
#define WALBUS_NNGCLOSE_H

#include <nng/nng.h>

/* at most this many sockets per call */
#define WNC_MAX_SOCKETS 4

/* a close normally takes well under a millisecond; 2 s is a hang */
#define WNC_DEFAULT_TIMEOUT_MS 2000

extern int wnc_close(const nng_socket *socks, int n, int timeout_ms);

#endif /* WALBUS_NNGCLOSE_H */
