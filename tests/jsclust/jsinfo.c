/*-------------------------------------------------------------------------
 *
 * jsinfo.c
 *	  What tests/jsclust/run needs to know of a clustered JetStream.
 *
 * Usage: jsinfo nats://HOST:PORT[,nats://...] [STREAM]
 * Without STREAM: exit 0 if the cluster can place a stream of 3 replicas
 * (it has a meta leader that knows three servers; a memory stream
 * JSINFO_PROBE is created and deleted to see), else 1.  With STREAM, one line:
 *
 *	 replicas R leader NAME current C
 *
 * R: the stream's configured replicas; NAME: the server leading it ("-"
 * if none); C: the servers holding it that are current, the leader
 * included.  Exit status 0, or 1 with a message on stderr.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

int
main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	natsOptions	   *opts = NULL;
	const char	   *urls[8];
	int				nurls;
	jsCtx		   *js = NULL;
	jsStreamInfo   *si = NULL;
	jsErrCode		jerr = 0;
	natsStatus		s;
	int				rc = 1;

	if (argc != 2 && argc != 3)
	{
		fprintf(stderr, "usage: jsinfo nats://HOST:PORT[,...] [STREAM]\n");
		return 1;
	}
	/* a server list, as the relay is given it: one down is no failure */
	nurls = 0;
	for (char *u = strtok(argv[1], ","); u != NULL && nurls < 8;
		 u = strtok(NULL, ","))
		urls[nurls++] = u;
	if ((s = natsOptions_Create(&opts)) != NATS_OK ||
		(s = natsOptions_SetServers(opts, urls, nurls)) != NATS_OK ||
		(s = natsOptions_SetTimeout(opts, 1000)) != NATS_OK ||
		(s = natsConnection_Connect(&nc, opts)) != NATS_OK ||
		(s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK)
	{
		fprintf(stderr, "jsinfo: %s\n", natsStatus_GetText(s));
		goto done;
	}
	if (argc == 2)
	{
		/* a meta leader that knows all three peers can place R3 */
		jsStreamConfig sc;
		const char	  *subjects[] = {"jsinfo.probe"};

		jsStreamConfig_Init(&sc);
		sc.Name = "JSINFO_PROBE";
		sc.Subjects = subjects;
		sc.SubjectsLen = 1;
		sc.Storage = js_MemoryStorage;
		sc.Replicas = 3;
		if ((s = js_AddStream(&si, js, &sc, NULL, &jerr)) != NATS_OK ||
			(s = js_DeleteStream(js, sc.Name, NULL, &jerr)) != NATS_OK)
			fprintf(stderr, "jsinfo: %s (%d)\n", natsStatus_GetText(s), jerr);
		else
			rc = 0;
		goto done;
	}
	if ((s = js_GetStreamInfo(&si, js, argv[2], NULL, &jerr)) != NATS_OK)
	{
		fprintf(stderr, "jsinfo: %s (%d)\n", natsStatus_GetText(s), jerr);
		goto done;
	}
	{
		const char *leader = "-";
		int			current = 0;

		if (si->Cluster != NULL && si->Cluster->Leader != NULL)
		{
			leader = si->Cluster->Leader;
			current = 1;
			for (int i = 0; i < si->Cluster->ReplicasLen; i++)
				if (si->Cluster->Replicas[i]->Current &&
					!si->Cluster->Replicas[i]->Offline)
					current++;
		}
		printf("replicas %" PRId64 " leader %s current %d\n",
			   si->Config->Replicas, leader, current);
	}
	rc = 0;

done:
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(opts);
	return rc;
}
