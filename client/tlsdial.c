/*-------------------------------------------------------------------------
 *
 * tlsdial.c
 *	  Dial a relay URL, with TLS for tls+tcp:// (see tlsdial.h).
 *
 *-------------------------------------------------------------------------
 */
#include "tlsdial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/tls/tls.h>

/* A small PEM file as a string; NULL with errno set. */
static char *
wtd_read_pem(const char *path)
{
	FILE  *f = fopen(path, "r");
	char  *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	/* certificates and keys are a few kB; a chain stays well below this */
	if ((buf = malloc(256 * 1024)) == NULL)
	{
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, 256 * 1024 - 1, f);
	if (!feof(f))
	{
		free(buf);
		fclose(f);
		errno = EFBIG;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Present the worker's own certificate. */
static int
wtd_own_cert(nng_tls_config *tls, const walbus_options *opts, char *errbuf,
			 size_t errlen)
{
	char *cert = wtd_read_pem(opts->tls_cert);
	char *key = cert == NULL ? NULL : wtd_read_pem(opts->tls_key);
	int	  rv;

	if (key == NULL)
	{
		snprintf(errbuf, errlen, "cannot read tls_%s \"%s\": %s",
				 cert == NULL ? "cert" : "key",
				 cert == NULL ? opts->tls_cert : opts->tls_key,
				 strerror(errno));
		free(cert);
		return NNG_EINVAL;
	}
	if ((rv = nng_tls_config_own_cert(tls, cert, key, NULL)) != 0)
		snprintf(errbuf, errlen,
				 "tls_cert \"%s\" and tls_key \"%s\" are not "
				 "a PEM certificate and its unencrypted key: %s",
				 opts->tls_cert, opts->tls_key, nng_strerror(rv));
	free(cert);
	free(key);
	return rv;
}

static int
wtd_tls_config(nng_tls_config **out, const char *url, const char *what,
			   const walbus_options *opts, char *errbuf, size_t errlen)
{
	nng_tls_config *tls = NULL;
	nng_url		   *u = NULL;
	const char	   *name = opts->tls_server_name;
	int				rv;

	*out = NULL;
	if (opts->tls_ca == NULL)
	{
		snprintf(errbuf, errlen,
				 "the %s URL \"%s\" is tls+tcp, but no CA "
				 "to verify the relay with is given (tls_ca, walbus-tap "
				 "--tls-ca)",
				 what, url);
		return WALBUS_EINVAL;
	}
	if ((opts->tls_cert == NULL) != (opts->tls_key == NULL))
	{
		snprintf(errbuf, errlen,
				 "a client certificate needs both tls_cert "
				 "and tls_key");
		return WALBUS_EINVAL;
	}
	if (name == NULL)
	{
		if ((rv = nng_url_parse(&u, url)) != 0)
		{
			snprintf(errbuf, errlen, "invalid %s URL \"%s\": %s", what, url,
					 nng_strerror(rv));
			return WALBUS_EINVAL;
		}
		name = u->u_hostname;
	}
	if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_CLIENT)) != 0)
		snprintf(errbuf, errlen, "nng_tls_config_alloc: %s", nng_strerror(rv));
	else if ((rv = nng_tls_config_auth_mode(tls,
											NNG_TLS_AUTH_MODE_REQUIRED)) != 0)
		snprintf(errbuf, errlen, "nng_tls_config_auth_mode: %s",
				 nng_strerror(rv));
	else if ((rv = nng_tls_config_ca_file(tls, opts->tls_ca)) != 0)
		snprintf(errbuf, errlen, "cannot load tls_ca \"%s\": %s", opts->tls_ca,
				 nng_strerror(rv));
	else if ((rv = nng_tls_config_server_name(tls, name)) != 0)
		snprintf(errbuf, errlen, "invalid TLS server name \"%s\": %s", name,
				 nng_strerror(rv));
	else if (opts->tls_cert != NULL)
		rv = wtd_own_cert(tls, opts, errbuf, errlen);
	if (u != NULL)
		nng_url_free(u);
	if (rv != 0)
	{
		if (tls != NULL)
			nng_tls_config_free(tls);
		return WALBUS_EINVAL;
	}
	*out = tls;
	return WALBUS_OK;
}

int
wtd_dial(nng_socket sock, const char *url, const char *what,
		 const walbus_options *opts, char *errbuf, size_t errlen)
{
	nng_tls_config *tls;
	nng_dialer		d;
	int				rv;

	if (strncmp(url, "tls+tcp", 7) != 0)
	{
		/*
		 * non-blocking: a relay that is not up yet is retried in the
		 * background, and requests wait for it up to their timeout
		 */
		if ((rv = nng_dial(sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		{
			snprintf(errbuf, errlen, "cannot dial %s URL \"%s\": %s", what,
					 url, nng_strerror(rv));
			return WALBUS_ENNG;
		}
		return WALBUS_OK;
	}
	if ((rv = wtd_tls_config(&tls, url, what, opts, errbuf, errlen)) != 0)
		return rv;
	if ((rv = nng_dialer_create(&d, sock, url)) != 0)
	{
		nng_tls_config_free(tls);
		snprintf(errbuf, errlen, "cannot dial %s URL \"%s\": %s", what, url,
				 nng_strerror(rv));
		return WALBUS_ENNG;
	}
	rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls);
	/* the dialer holds its own reference */
	nng_tls_config_free(tls);
	if (rv == 0)
		rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (rv != 0)
	{
		nng_dialer_close(d);
		snprintf(errbuf, errlen, "cannot dial %s URL \"%s\": %s", what, url,
				 nng_strerror(rv));
		return WALBUS_ENNG;
	}
	return WALBUS_OK;
}
