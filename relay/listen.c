/*-------------------------------------------------------------------------
 *
 * listen.c
 *	  nng listeners with owner-only ipc permissions (see listen.h).
 *
 *-------------------------------------------------------------------------
 */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/*
 * Claim an ipc path.  The descriptor is deliberately never closed: the
 * lock must last as long as the process, and the kernel releases it at
 * exit however the process ends.
 */
static int
wr_claim_ipc(const char *path, const char *what, char *errbuf, size_t errlen)
{
	size_t		n = strlen(path) + sizeof(".lock");
	char	   *lock = malloc(n);
	int			fd;

	if (lock == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return NNG_ENOMEM;
	}
	snprintf(lock, n, "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		snprintf(errbuf, errlen, "cannot create lock file \"%s\" for the %s "
				 "socket: %s", lock, what, strerror(errno));
		free(lock);
		return NNG_EPERM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		snprintf(errbuf, errlen, "%s socket \"%s\" is in use by another "
				 "walbus-relay (it holds \"%s\"): give each relay its own "
				 "--bus and --control", what, path, lock);
		close(fd);
		free(lock);
		return NNG_EADDRINUSE;
	}
	free(lock);
	return 0;
}

int
wr_listen(nng_socket sock, const char *url, const char *what, char *errbuf,
		  size_t errlen)
{
	nng_listener l;
	int			rv;

	if (strncmp(url, "ipc://", 6) == 0 &&
		(rv = wr_claim_ipc(url + 6, what, errbuf, errlen)) != 0)
		return rv;
	if ((rv = nng_listener_create(&l, sock, url)) != 0)
	{
		snprintf(errbuf, errlen, "invalid %s URL \"%s\": %s", what, url,
				 nng_strerror(rv));
		return rv;
	}
	if (strncmp(url, "ipc://", 6) == 0 &&
		(rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600)) != 0)
	{
		snprintf(errbuf, errlen, "cannot make %s socket \"%s\" private: %s",
				 what, url, nng_strerror(rv));
		nng_listener_close(l);
		return rv;
	}
	if ((rv = nng_listener_start(l, 0)) != 0)
	{
		snprintf(errbuf, errlen, "cannot listen on %s URL \"%s\": %s%s",
				 what, url, nng_strerror(rv),
				 rv == NNG_EADDRINUSE ?
				 " (another walbus-relay may be using it: give each relay "
				 "its own --bus and --control)" : "");
		nng_listener_close(l);
		return rv;
	}
	return 0;
}
