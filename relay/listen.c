/*-------------------------------------------------------------------------
 *
 * listen.c
 *	  nng listeners with owner-only ipc permissions (see listen.h).
 *
 *-------------------------------------------------------------------------
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <nng/supplemental/tls/tls.h>

static wr_listen_security wr_security;

void
wr_listen_secure(const wr_listen_security *sec)
{
	wr_security = *sec;
}

wr_listen_kind
wr_listen_kind_of(const char *url)
{
	if (strncmp(url, "ipc://", 6) == 0 || strncmp(url, "inproc://", 9) == 0)
		return WR_LISTEN_LOCAL;
	if (strncmp(url, "tls+tcp", 7) == 0)
		return WR_LISTEN_TLS;
	return WR_LISTEN_PLAIN;
}

bool
wr_listen_loopback(const char *url)
{
	nng_url		 *u;
	unsigned char addr[16];
	bool		  loopback = false;

	if (nng_url_parse(&u, url) != 0)
		return false;
	if (strcmp(u->u_hostname, "localhost") == 0)
		loopback = true;
	else if (inet_pton(AF_INET, u->u_hostname, addr) == 1)
		loopback = addr[0] == 127;
	else if (inet_pton(AF_INET6, u->u_hostname, addr) == 1)
		loopback = memcmp(addr, &in6addr_loopback, 16) == 0;
	nng_url_free(u);
	return loopback;
}

/* A whole small file (a PEM certificate or key) as a string; NULL: errno. */
static char *
wr_read_pem(const char *path)
{
	FILE  *f = fopen(path, "r");
	char  *buf = NULL;
	size_t len = 0;
	size_t cap = 0;
	size_t n;

	if (f == NULL)
		return NULL;
	do
	{
		if (cap - len < 4096)
		{
			char *grown = cap > (1 << 20) ? NULL : realloc(buf, cap + 8192);

			if (grown == NULL)
			{
				free(buf);
				fclose(f);
				errno = cap > (1 << 20) ? EFBIG : ENOMEM;
				return NULL;
			}
			buf = grown;
			cap += 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/*
 * Give a tls+tcp listener the relay's certificate, and tls_ca to check
 * clients with: required, or optional (verified certificates then
 * identify their client to the control socket's rules, authz.h).
 */
static int
wr_listen_tls(nng_listener l, const char *url, const char *what, char *errbuf,
			  size_t errlen)
{
	const wr_listen_security *sec = &wr_security;
	nng_tls_config			 *tls = NULL;
	char					 *cert = NULL;
	char					 *key = NULL;
	nng_tls_auth_mode		  auth;
	int						  rv;

	if (sec->tls_cert == NULL || sec->tls_key == NULL)
	{
		snprintf(errbuf, errlen,
				 "the %s URL \"%s\" is tls+tcp, but the "
				 "relay has no certificate: set tls_cert and tls_key "
				 "(--tls-cert, --tls-key; docs/RELAY.md, \"Security\")",
				 what, url);
		return NNG_EINVAL;
	}
	if (sec->tls_require_client_cert && sec->tls_ca == NULL)
	{
		snprintf(errbuf, errlen,
				 "tls_require_client_cert is set but tls_ca "
				 "is not: name the CA file that client certificates must "
				 "chain to (--tls-ca)");
		return NNG_EINVAL;
	}
	if ((cert = wr_read_pem(sec->tls_cert)) == NULL ||
		(key = wr_read_pem(sec->tls_key)) == NULL)
	{
		snprintf(errbuf, errlen, "cannot read tls_%s \"%s\": %s",
				 cert == NULL ? "cert" : "key",
				 cert == NULL ? sec->tls_cert : sec->tls_key, strerror(errno));
		free(cert);
		return NNG_EINVAL;
	}
	if (sec->tls_ca == NULL)
		auth = NNG_TLS_AUTH_MODE_NONE;
	else if (sec->tls_require_client_cert)
		auth = NNG_TLS_AUTH_MODE_REQUIRED;
	else
		auth = NNG_TLS_AUTH_MODE_OPTIONAL;
	if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) != 0)
		snprintf(errbuf, errlen, "nng_tls_config_alloc: %s", nng_strerror(rv));
	else if ((rv = nng_tls_config_own_cert(tls, cert, key, NULL)) != 0)
		snprintf(errbuf, errlen,
				 "tls_cert \"%s\" and tls_key \"%s\" are not "
				 "a PEM certificate and its unencrypted key: %s",
				 sec->tls_cert, sec->tls_key, nng_strerror(rv));
	else if (sec->tls_ca != NULL &&
			 (rv = nng_tls_config_ca_file(tls, sec->tls_ca)) != 0)
		snprintf(errbuf, errlen, "tls_ca \"%s\" holds no PEM certificate: %s",
				 sec->tls_ca, nng_strerror(rv));
	else if ((rv = nng_tls_config_auth_mode(tls, auth)) != 0)
		snprintf(errbuf, errlen, "nng_tls_config_auth_mode: %s",
				 nng_strerror(rv));
	else if ((rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) != 0)
		snprintf(errbuf, errlen,
				 "cannot give the %s listener \"%s\" its TLS "
				 "configuration: %s",
				 what, url, nng_strerror(rv));
	/* the listener holds its own reference */
	if (tls != NULL)
		nng_tls_config_free(tls);
	free(cert);
	free(key);
	return rv;
}

/*
 * A plain network listener beyond loopback: whoever reaches it reads
 * every change, and on the control socket can acknowledge for a durable
 * consumer.  Allowed only when the operator says the network is trusted.
 */
static int
wr_listen_check_plain(const char *url, const char *what, char *errbuf,
					  size_t errlen)
{
	if (wr_security.trusted_network || wr_listen_loopback(url))
		return 0;
	snprintf(errbuf, errlen,
			 "refusing to listen on the unencrypted %s URL "
			 "\"%s\" beyond loopback: anyone who reaches it reads every "
			 "change%s; use tls+tcp:// with tls_cert, tls_key and tls_ca, or "
			 "ipc://, or say the network is trusted with --trusted-network "
			 "(trusted_network = true)",
			 what, url,
			 strcmp(what, "control") == 0 ?
				 " and can acknowledge for a durable consumer, which lets "
				 "PostgreSQL drop WAL the consumer never applied" :
				 " and, on the control socket, can acknowledge for a durable "
				 "consumer, which lets PostgreSQL drop WAL it never applied");
	return NNG_EPERM;
}

/*
 * Claim an ipc path.  The descriptor is deliberately never closed: the
 * lock must last as long as the process, and the kernel releases it at
 * exit however the process ends.
 */
static int
wr_claim_ipc(const char *path, const char *what, char *errbuf, size_t errlen)
{
	size_t n = strlen(path) + sizeof(".lock");
	char  *lock = malloc(n);
	int	   fd;

	if (lock == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return NNG_ENOMEM;
	}
	snprintf(lock, n, "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		snprintf(errbuf, errlen,
				 "cannot create lock file \"%s\" for the %s "
				 "socket: %s",
				 lock, what, strerror(errno));
		free(lock);
		return NNG_EPERM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		snprintf(errbuf, errlen,
				 "%s socket \"%s\" is in use by another "
				 "walbus-relay (it holds \"%s\"): give each relay its own "
				 "--bus and --control",
				 what, path, lock);
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
	int			 rv;

	if (wr_listen_kind_of(url) == WR_LISTEN_PLAIN &&
		(rv = wr_listen_check_plain(url, what, errbuf, errlen)) != 0)
		return rv;
	if (strncmp(url, "ipc://", 6) == 0 &&
		(rv = wr_claim_ipc(url + 6, what, errbuf, errlen)) != 0)
		return rv;
	if ((rv = nng_listener_create(&l, sock, url)) != 0)
	{
		snprintf(errbuf, errlen, "invalid %s URL \"%s\": %s", what, url,
				 nng_strerror(rv));
		return rv;
	}
	if (wr_listen_kind_of(url) == WR_LISTEN_TLS &&
		(rv = wr_listen_tls(l, url, what, errbuf, errlen)) != 0)
	{
		nng_listener_close(l);
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
		snprintf(errbuf, errlen, "cannot listen on %s URL \"%s\": %s%s", what,
				 url, nng_strerror(rv),
				 rv == NNG_EADDRINUSE ?
					 " (another walbus-relay may be using it: give each relay "
					 "its own --bus and --control)" :
					 "");
		nng_listener_close(l);
		return rv;
	}
	return 0;
}
