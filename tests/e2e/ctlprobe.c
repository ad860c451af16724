/*-------------------------------------------------------------------------
 *
 * ctlprobe.c
 *	  Test helper of tests/e2e: send raw requests to a walbus-relay
 *	  control socket and print one line per answer.
 *
 * Usage: ctlprobe URL REQUEST...
 * A REQUEST is hex bytes ("" for an empty message) or "big:N" for N bytes
 * of zeros.  Each answer prints as "ok" or "error CODE: MESSAGE", or
 * "no answer: REASON" when none came within two seconds.  Exit status 0
 * unless the socket could not be set up.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "walbus_control.h"


/* A fresh req socket per request: a request left unanswered poisons none. */
static void
probe(const char *url, const char *spec)
{
	nng_socket s;
	nng_msg	  *m;
	int		   rv;
	size_t	   max_reply = WBC_MAX_MESSAGE_BYTES;

	if (nng_req0_open(&s) != 0 ||
		nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000) != 0 ||
		nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 2000) != 0 ||
		nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, max_reply) != 0 ||
		nng_dial(s, url, NULL, 0) != 0)
	{
		printf("no answer: cannot connect\n");
		exit(1);
	}
	nng_msg_alloc(&m, 0);
	if (strncmp(spec, "big:", 4) == 0)
	{
		size_t n = strtoul(spec + 4, NULL, 10);
		char  *zeros = calloc(1, n);

		nng_msg_append(m, zeros, n);
		free(zeros);
	}
	else
		for (const char *p = spec; p[0] && p[1]; p += 2)
		{
			unsigned char b =
				(unsigned char) (wb_hex_value(p[0]) * 16 + wb_hex_value(p[1]));

			nng_msg_append(m, &b, 1);
		}
	if ((rv = nng_sendmsg(s, m, 0)) != 0)
	{
		printf("no answer: %s\n", nng_strerror(rv));
		nng_msg_free(m);
	}
	else if ((rv = nng_recvmsg(s, &m, 0)) != 0)
		printf("no answer: %s\n", nng_strerror(rv));
	else
	{
		bool   ok;
		wb_str code, message;
		char   err[160];

		if (wbc_decode_result(nng_msg_body(m), nng_msg_len(m), &ok, &code,
							  &message, err, sizeof(err)) != WB_OK)
			printf("malformed answer: %s\n", err);
		else if (ok)
			printf("ok\n");
		else
			printf("error %.*s: %.*s\n", (int) code.len, code.ptr,
				   (int) message.len, message.ptr);
		nng_msg_free(m);
	}
	fflush(stdout);

	/*
	 * No nng_close: with nng 1.5.2 (Debian 12), closing a req socket whose
	 * peer dropped the connection mid-request (the oversized request above)
	 * can block forever.  The process exits after the last probe, which
	 * closes everything; the relay sees the peers leave then.
	 */
}

int
main(int argc, char **argv)
{
	if (argc < 3)
	{
		fprintf(stderr, "usage: ctlprobe URL REQUEST...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		probe(argv[1], argv[i]);
	return 0;
}
