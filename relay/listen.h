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
 * Network listeners follow the process-wide wr_listen_security, set once
 * with wr_listen_secure before the first wr_listen: tls+tcp:// URLs get
 * the relay's certificate and key (and verify clients against tls_ca),
 * and a plain tcp:// (or ws://) URL must name a loopback address unless
 * the network is declared trusted, because whoever reaches it reads every
 * change and, on the control socket, may acknowledge for a durable
 * consumer, which lets PostgreSQL drop WAL that consumer never applied.
 *
 * Returns 0, or an nng error code after writing a one-line message that
 * names the URL into errbuf.  Single-threaded use.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_LISTEN_H
#define WR_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

typedef struct wr_listen_security
{
	const char *tls_cert; /* PEM certificate of tls+tcp listeners */
	const char *tls_key;  /* its unencrypted PEM key */
	const char *tls_ca;	  /* PEM CAs client certificates must chain
						   * to; NULL: client certificates unchecked */
	bool		tls_require_client_cert; /* refuse clients without one */
	bool		trusted_network;		 /* allow plain tcp beyond loopback */
} wr_listen_security;

/* How a URL's clients reach the relay. */
typedef enum wr_listen_kind
{
	WR_LISTEN_LOCAL, /* ipc://, inproc:// */
	WR_LISTEN_PLAIN, /* tcp:// and other unencrypted transports */
	WR_LISTEN_TLS	 /* tls+tcp:// */
} wr_listen_kind;

/* The strings are not copied: they must outlive every listener. */
extern void			  wr_listen_secure(const wr_listen_security *sec);
extern wr_listen_kind wr_listen_kind_of(const char *url);
/* Is a plain URL's host a loopback address (127.0.0.0/8, ::1, localhost)? */
extern bool wr_listen_loopback(const char *url);
extern int	wr_listen(nng_socket sock, const char *url, const char *what,
					  char *errbuf, size_t errlen);

#endif /* WR_LISTEN_H */
