/*-------------------------------------------------------------------------
 *
 * js_sink.c
 *	  Benchmark reader of a walbus JetStream stream: counts changes, or
 *	  measures commit-to-reader latency, then prints one result line
 *	  (the line bench/bus_sink.c prints).
 *
 * Usage: js_sink MODE NATS_URL[,NATS_URL...] STREAM COUNT TIMEOUT_S
 *
 *	 count	an ordered push consumer on the stream from its first message
 *			(no acks: the cheapest way JetStream delivers); decodes every
 *			frame with the proto library and counts the changes of the
 *			frames of table topics until COUNT.
 *	 lat	the same, and for every change the time of receipt minus its
 *			transaction's commit_time (same machine, same clock), in
 *			microseconds; prints p50, p99 and max.
 *
 * Output, one line on stdout:
 *	 n=RECEIVED lost=0 first_ns=T last_ns=T [p50_us= p99_us= max_us=]
 * first_ns and last_ns are CLOCK_REALTIME of the first and last change.
 * It may start before the stream exists (with the relay that creates it):
 * it subscribes again until the stream is there.  Exit status 0 when
 * COUNT changes arrived, 3 when they did not (the line is still printed),
 * 1 on error.  Every wait is bounded by TIMEOUT_S.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "walbus_envelope.h"

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	natsOptions *opts = NULL;
	natsConnection *nc = NULL;
	jsCtx	   *js = NULL;
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsErrCode	jerr = 0;
	natsStatus	s;
	const char *urls[8];
	int			nurls = 0;
	bool		latency;
	uint64_t	count,
				n = 0;
	int64_t		deadline,
				first = 0,
				last = 0;
	int64_t    *lat = NULL;
	wbe_dec		dec;
	int			rc = 1;

	if (argc != 6 || (strcmp(argv[1], "count") != 0 &&
					  strcmp(argv[1], "lat") != 0))
	{
		fprintf(stderr, "usage: js_sink count|lat NATS_URL[,...] STREAM "
				"COUNT TIMEOUT_S\n");
		return 1;
	}
	latency = strcmp(argv[1], "lat") == 0;
	count = strtoull(argv[4], NULL, 10);
	deadline = now_ns() + strtoll(argv[5], NULL, 10) * 1000000000;
	for (char *u = strtok(argv[2], ","); u != NULL && nurls < 8;
		 u = strtok(NULL, ","))
		urls[nurls++] = u;
	if (latency && (lat = malloc(count * sizeof(int64_t))) == NULL)
	{
		fprintf(stderr, "js_sink: out of memory\n");
		return 1;
	}
	wbe_dec_init(&dec);
	jsSubOptions_Init(&so);
	so.Stream = argv[3];
	so.Ordered = true;
	if ((s = natsOptions_Create(&opts)) != NATS_OK ||
		(s = natsOptions_SetServers(opts, urls, nurls)) != NATS_OK ||
		(s = natsConnection_Connect(&nc, opts)) != NATS_OK ||
		(s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK)
	{
		fprintf(stderr, "js_sink: %s\n", natsStatus_GetText(s));
		goto done;
	}
	/* started with the relay: the stream may not exist yet */
	while ((s = js_SubscribeSync(&sub, js, "walbus.>", NULL, &so,
								 &jerr)) != NATS_OK && now_ns() < deadline)
		nats_Sleep(20);
	if (s != NATS_OK ||
		(s = natsSubscription_SetPendingLimits(sub, -1, -1)) != NATS_OK)
	{
		fprintf(stderr, "js_sink: %s (%d)\n", natsStatus_GetText(s), jerr);
		goto done;
	}
	while (n < count && now_ns() < deadline)
	{
		natsMsg    *m = NULL;
		wbe_frame	f;

		s = natsSubscription_NextMsg(&m, sub, 500);
		if (s == NATS_TIMEOUT)
			continue;
		if (s != NATS_OK)
		{
			fprintf(stderr, "js_sink: next message: %s\n",
					natsStatus_GetText(s));
			goto done;
		}
		if (natsMsg_GetDataLength(m) > 0 && natsMsg_GetData(m)[0] != '_')
		{
			if (wbe_decode(&dec, natsMsg_GetData(m),
						   (size_t) natsMsg_GetDataLength(m), &f) != WB_OK)
			{
				fprintf(stderr, "js_sink: %s\n", wbe_dec_errmsg(&dec));
				natsMsg_Destroy(m);
				goto done;
			}
			last = now_ns();
			if (n == 0)
				first = last;
			for (uint32_t i = 0; f.kind == WBE_FRAME_CHANGES &&
				 i < f.nchanges && n < count; i++)
			{
				if (latency)
					lat[n] = last - (f.txn.commit_time.sec * 1000000000 +
									 (int64_t) f.txn.commit_time.nsec);
				n++;
			}
		}
		natsMsg_Destroy(m);
	}
	printf("n=%llu lost=0 first_ns=%lld last_ns=%lld",
		   (unsigned long long) n, (long long) first, (long long) last);
	if (latency && n > 0)
	{
		qsort(lat, n, sizeof(int64_t), cmp_i64);
		printf(" p50_us=%.0f p99_us=%.0f max_us=%.0f",
			   lat[(n - 1) / 2] / 1e3, lat[(n * 99 - 1) / 100] / 1e3,
			   lat[n - 1] / 1e3);
	}
	putchar('\n');
	rc = n >= count ? 0 : 3;

done:
	wbe_dec_free(&dec);
	free(lat);
	natsSubscription_Destroy(sub);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(opts);
	return rc;
}
