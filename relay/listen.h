/*-------------------------------------------------------------------------
 *
 * listen.h
 *	  Start an nng listener the way every relay socket needs it: ipc
 *	  sockets get mode 0600 before they exist, so no other local user can
 *	  ever connect, and are claimed with a lock file first.
 *
 * The lock (an flock on PATH.lock, held until the process exits) is how a
 * relay finds out that another one serves the path.  Without it nng finds
 * out by connecting to the socket and hanging up, and nng before 1.6
 * (issue #1518) stops completing handshakes on a listener after a peer
 * left in the middle of one: the first relay's bus would quietly stop
 * taking subscribers.
 *
 * Returns 0, or an nng error code after writing a one-line message that
 * names the URL into errbuf.  Single-threaded use.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_LISTEN_H
#define WR_LISTEN_H

#include <stddef.h>

#include <nng/nng.h>

extern int	wr_listen(nng_socket sock, const char *url, const char *what,
					  char *errbuf, size_t errlen);

#endif							/* WR_LISTEN_H */
