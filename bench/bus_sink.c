/*-------------------------------------------------------------------------
 *
 * bus_sink.c
 *	  Benchmark subscriber of a walbus-relay bus: counts changes, or
 *	  measures commit-to-subscriber latency, then prints one result line.
 *
 * Usage: bus_sink MODE BUS_URL COUNT TIMEOUT_S [CONTROL_URL]
 *
 *	 count	libwalbus (walbus_recv decodes every frame, as a worker
 *			would); counts INSERT/UPDATE/DELETE changes (and a
 *			backfill's reads) until COUNT.
 *	 raw	a bare nng sub0 socket and the proto library's frame decoder
 *			(no libwalbus: no schemas, dedupe or gap checks); counts the
 *			changes of the frames of table topics: the ceiling of a
 *			subscriber that decodes, to show whether "count" is the
 *			bottleneck.
 *	 raw1	a bare nng sub0 socket that only looks at the topic and counts
 *			one change per message of a table topic: for a relay of bus
 *			layout 1 (one message per change), which bench/relay.sh runs
 *			as a baseline when BASELINE_RELAY names one.
 *	 durable  libwalbus as the durable consumer "bench" (the relay runs
 *			with --durable bench; needs CONTROL_URL): nothing is lost, every
 *			change is acknowledged with walbus_ack as a worker would after
 *			its write; counts like "count".
 *	 lat	libwalbus; for every change, the time of receipt minus the
 *			change's commit_time (same machine, same clock), in
 *			microseconds; prints p50, p99 and max.
 *
 * A BUS_URL of nats://... reads the relay's JetStream stream through
 * libwalbus's JetStream transport, in count and lat modes as the durable
 * consumer "bench" (from the stream's first message, every change
 * acknowledged), waiting for the relay to make the stream.
 *
 * Output, one line on stdout:
 *	 n=RECEIVED lost=N first_ns=T last_ns=T [p50_us= p99_us= max_us=]
 * first_ns and last_ns are CLOCK_REALTIME of the first and last change.
 * Exit status 0 when COUNT changes arrived, 3 when they did not (the line
 * is still printed), 1 on error.  Every wait is bounded by TIMEOUT_S, and
 * by IDLE_NS of silence once changes have begun to arrive: pub0 drops
 * messages for a subscriber that falls behind, so COUNT may never come.
 *
 *-------------------------------------------------------------------------
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "walbus_client.h"
#include "walbus_envelope.h"

#define IDLE_NS INT64_C(2000000000)

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
	int64_t x = *(const int64_t *) a;
	int64_t y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static void
print_result(uint64_t n, uint64_t lost, int64_t first, int64_t last)
{
	printf("n=%llu lost=%llu first_ns=%lld last_ns=%lld",
		   (unsigned long long) n, (unsigned long long) lost,
		   (long long) first, (long long) last);
}

/*
 * raw: count the changes of frames whose topic is a table's (not reserved
 * "_..."); raw1 (layout1): one change per such message.
 */
static int
run_raw(const char *url, uint64_t count, int64_t deadline, bool layout1)
{
	nng_socket sock;
	wbe_dec	   dec;
	wbe_frame  frame;
	uint64_t   n = 0;
	int64_t	   first = 0, last = 0;
	int		   rv;

	if ((rv = nng_sub0_open(&sock)) != 0 ||
		(rv = nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0 ||
		(rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 64 << 20)) != 0 ||
		(rv = nng_socket_set_int(sock, NNG_OPT_RECVBUF, 8192)) != 0 ||
		(rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 500)) != 0 ||
		(rv = nng_dial(sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
	{
		fprintf(stderr, "bus_sink: %s: %s\n", url, nng_strerror(rv));
		return 1;
	}
	wbe_dec_init(&dec);
	while (n < count && now_ns() < deadline)
	{
		nng_msg *msg;

		rv = nng_recvmsg(sock, &msg, 0);
		if (rv == NNG_ETIMEDOUT)
		{
			if (n > 0 && now_ns() - last > IDLE_NS)
				break;
			continue;
		}
		if (rv != 0)
		{
			fprintf(stderr, "bus_sink: recv: %s\n", nng_strerror(rv));
			return 1;
		}
		if (nng_msg_len(msg) > 0 && *(char *) nng_msg_body(msg) != '_')
		{
			uint32_t changes = 1;

			if (!layout1)
			{
				if (wbe_decode(&dec, nng_msg_body(msg), nng_msg_len(msg),
							   &frame) != WB_OK)
				{
					fprintf(stderr, "bus_sink: %s\n", wbe_dec_errmsg(&dec));
					return 1;
				}
				changes = frame.nchanges;
			}
			last = now_ns();
			if (n == 0)
				first = last;
			n += changes;
		}
		nng_msg_free(msg);
	}
	print_result(n, 0, first, last);
	putchar('\n');
	wbe_dec_free(&dec);

	/*
	 * No nng_close: nng 1.5.2 can block in it (seen once in a few hundred
	 * runs, after the result line was printed), and exit closes the socket
	 * anyway.
	 */
	return n >= count ? 0 : 3;
}

/* count and lat: through libwalbus, as a real worker receives changes. */
static int
run_lib(const char *url, const char *ctl, uint64_t count, int64_t deadline,
		int latency)
{
	walbus_options opts = {0};
	walbus_client *c;
	walbus_change  ch;
	walbus_stats   st;
	char		   err[256];
	int64_t		  *lat = NULL;
	uint64_t	   n = 0;
	int64_t		   first = 0, last = 0;

	opts.bus_url = url;
	if (ctl != NULL)
	{
		opts.control_url = ctl;
		opts.consumer = "bench";
	}
	/*
	 * On JetStream, a durable consumer: it starts at the stream's first
	 * message and acknowledges as a worker would.  The relay makes the
	 * stream as it starts, so it may not be there yet: try again.
	 */
	if (strncmp(url, "nats://", 7) == 0)
		opts.consumer = "bench";
	while (walbus_open(&c, &opts, err, sizeof(err)) != WALBUS_OK)
	{
		if (strncmp(url, "nats://", 7) != 0 || now_ns() >= deadline)
		{
			fprintf(stderr, "bus_sink: %s\n", err);
			return 1;
		}
		nanosleep(&(struct timespec) {0, 50 * 1000 * 1000}, NULL);
	}
	if (walbus_subscribe(c, "*") != WALBUS_OK)
	{
		fprintf(stderr, "bus_sink: %s\n", walbus_errmsg(c));
		return 1;
	}
	if (latency && (lat = malloc(count * sizeof(int64_t))) == NULL)
	{
		fprintf(stderr, "bus_sink: out of memory\n");
		return 1;
	}
	while (n < count && now_ns() < deadline)
	{
		int rv = walbus_recv(c, &ch, 500);

		if (rv == WALBUS_ETIMEDOUT && n > 0 && now_ns() - last > IDLE_NS)
			break;
		if (rv == WALBUS_ETIMEDOUT || rv == WALBUS_EGAP || rv == WALBUS_EPROTO)
			continue;
		if (rv != WALBUS_OK && rv != WALBUS_ESCHEMA)
		{
			fprintf(stderr, "bus_sink: %s\n", walbus_errmsg(c));
			return 1;
		}
		if (opts.consumer != NULL)
			walbus_ack(c, &ch);
		if (ch.kind != WALBUS_INSERT && ch.kind != WALBUS_UPDATE &&
			ch.kind != WALBUS_DELETE && ch.kind != WALBUS_READ)
			continue;
		last = now_ns();
		if (n == 0)
			first = last;
		if (latency)
			lat[n] = last -
				(ch.commit_time.sec * 1000000000 +
				 (int64_t) ch.commit_time.nsec);
		n++;
	}
	walbus_get_stats(c, &st);
	print_result(n, st.lost, first, last);
	if (latency && n > 0)
	{
		qsort(lat, n, sizeof(int64_t), cmp_i64);
		printf(" p50_us=%.0f p99_us=%.0f max_us=%.0f", lat[(n - 1) / 2] / 1e3,
			   lat[(n * 99 - 1) / 100] / 1e3, lat[n - 1] / 1e3);
	}
	putchar('\n');
	free(lat);
	walbus_close(c);
	return n >= count ? 0 : 3;
}

int
main(int argc, char **argv)
{
	uint64_t count;
	int64_t	 deadline;

	if (argc != 5 && !(argc == 6 && strcmp(argv[1], "durable") == 0))
	{
		fprintf(
			stderr,
			"usage: bus_sink count|raw|raw1|lat BUS_URL COUNT TIMEOUT_S\n"
			"       bus_sink durable BUS_URL COUNT TIMEOUT_S CONTROL_URL\n");
		return 2;
	}
	count = strtoull(argv[3], NULL, 10);
	deadline = now_ns() + (int64_t) atoi(argv[4]) * 1000000000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "raw") == 0 || strcmp(argv[1], "raw1") == 0)
		return run_raw(argv[2], count, deadline, argv[1][3] == '1');
	if (strcmp(argv[1], "count") == 0 || strcmp(argv[1], "lat") == 0)
		return run_lib(argv[2], NULL, count, deadline, argv[1][0] == 'l');
	if (strcmp(argv[1], "durable") == 0)
		return run_lib(argv[2], argv[5], count, deadline, 0);
	fprintf(stderr, "bus_sink: unknown mode \"%s\"\n", argv[1]);
	return 2;
}
