/*-------------------------------------------------------------------------
 *
 * jsread.c
 *	  Read back a walbus JetStream stream for tests/jetstream/run.
 *
 * Usage: jsread nats://HOST:PORT STREAM
 * Prints one line about the stream, then every stored message by
 * sequence (js_GetMsg), decoded with proto/'s frame decoder:
 *
 *	 stream MSGS FIRST_SEQ LAST_SEQ
 *	 msg SEQ SUBJECT MSG_ID KIND NCHANGES      (KIND: F changes, C commit)
 *	 change COMMIT_LSN POS SUBJECT             (COMMIT_LSN in hex)
 *
 * Exit status 0, or 1 with a message on stderr.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

#include "walbus_envelope.h"

int
main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx		   *js = NULL;
	jsStreamInfo   *si = NULL;
	jsErrCode		jerr = 0;
	natsStatus		s;
	wbe_dec			dec;
	int				rc = 1;

	if (argc != 3)
	{
		fprintf(stderr, "usage: jsread nats://HOST:PORT STREAM\n");
		return 1;
	}
	wbe_dec_init(&dec);
	if ((s = natsConnection_ConnectTo(&nc, argv[1])) != NATS_OK ||
		(s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK ||
		(s = js_GetStreamInfo(&si, js, argv[2], NULL, &jerr)) != NATS_OK)
	{
		fprintf(stderr, "jsread: %s (%d)\n", natsStatus_GetText(s), jerr);
		goto done;
	}
	printf("stream %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", si->State.Msgs,
		   si->State.FirstSeq, si->State.LastSeq);
	for (uint64_t seq = si->State.FirstSeq;
		 si->State.Msgs > 0 && seq <= si->State.LastSeq; seq++)
	{
		natsMsg	   *m = NULL;
		const char *id = NULL;
		wbe_frame	f;

		if ((s = js_GetMsg(&m, js, argv[2], seq, NULL, &jerr)) != NATS_OK)
		{
			fprintf(stderr, "jsread: message %" PRIu64 ": %s (%d)\n", seq,
					natsStatus_GetText(s), jerr);
			goto done;
		}
		if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK)
			id = "-";
		if (wbe_decode(&dec, natsMsg_GetData(m),
					   (size_t) natsMsg_GetDataLength(m), &f) != 0)
		{
			fprintf(stderr, "jsread: message %" PRIu64 ": %s\n", seq,
					wbe_dec_errmsg(&dec));
			natsMsg_Destroy(m);
			goto done;
		}
		printf("msg %" PRIu64 " %s %s %c %u\n", seq, natsMsg_GetSubject(m), id,
			   (char) f.kind, f.kind == WBE_FRAME_CHANGES ? f.nchanges : 0);
		for (uint32_t i = 0; f.kind == WBE_FRAME_CHANGES && i < f.nchanges;
			 i++)
			printf("change %016" PRIX64 " %u %s\n",
				   f.in_txn ? f.txn.commit_lsn : f.changes[i].msg_lsn,
				   f.changes[i].pos, natsMsg_GetSubject(m));
		natsMsg_Destroy(m);
	}
	rc = 0;

done:
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	wbe_dec_free(&dec);
	return rc;
}
