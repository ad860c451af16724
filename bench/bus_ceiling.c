/*-------------------------------------------------------------------------
 *
 * bus_ceiling.c
 *	  The ceiling of the bus transport alone: one nng pub0 socket sending
 *	  small messages as fast as it can to K sub0 sockets over ipc, each in
 *	  its own thread doing nothing but counting.  No PostgreSQL, no relay,
 *	  no decoding: whatever rate this reaches, a relay publishing one bus
 *	  message per change (bus layout 1) cannot beat it on the same
 *	  machine; with messages of a frame's size, it shows what frames of
 *	  many changes each lift that ceiling to.
 *
 * Usage: bus_ceiling K COUNT URL [BYTES [QUEUE]]
 * BYTES: size of each message (default 150, at most 1 MiB); QUEUE: pub0's
 * and sub0's queues in messages (default 1024, the relay's bus_queue and
 * libwalbus's recv_queue).
 * Output, one line: messages sent per second, and per subscriber the
 * messages received per second (from the first send to its last receipt)
 * and the share pub0 dropped for it.  A subscriber stops after COUNT
 * messages or 2 s of silence.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>

#define MAX_SUBS 16

static const char *url;
static long		   count;
static int		   queue = 1024;
static long		   received[MAX_SUBS];
static double	   last_at[MAX_SUBS];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
subscriber(void *arg)
{
	long	   i = (long) arg;
	nng_socket s;
	nng_msg	  *m;

	if (nng_sub0_open(&s) != 0)
		return NULL;
	/* libwalbus's recv_queue */
	nng_socket_set_int(s, NNG_OPT_RECVBUF, queue);
	nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000);
	if (nng_dial(s, url, NULL, 0) != 0)
		return NULL;
	while (received[i] < count && nng_recvmsg(s, &m, 0) == 0)
	{
		received[i]++;
		last_at[i] = now();
		nng_msg_free(m);
	}
	nng_close(s);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t	threads[MAX_SUBS];
	nng_socket	pub;
	static char body[1 << 20];
	long		k;
	size_t		bytes = 150;
	double		t0, t_sent, last = 0;
	long		total = 0;

	if (argc < 4 || (k = atol(argv[1])) < 1 || k > MAX_SUBS ||
		(count = atol(argv[2])) < 1)
	{
		fprintf(stderr,
				"usage: bus_ceiling K(1-%d) COUNT URL [BYTES [QUEUE]]\n",
				MAX_SUBS);
		return 2;
	}
	url = argv[3];
	if (argc > 4)
		bytes = (size_t) atol(argv[4]);
	if (bytes < 1 || bytes > sizeof(body))
		bytes = 150;
	if (argc > 5)
		queue = atoi(argv[5]);
	if (queue < 1 || queue > 8192)
		queue = 1024;
	memset(body, 'x', sizeof(body));
	/* the relay's settings: see relay/publisher.c */
	if (nng_pub0_open(&pub) != 0 ||
		nng_socket_set_int(pub, NNG_OPT_SENDBUF, queue) != 0 ||
		nng_listen(pub, url, NULL, 0) != 0)
	{
		fprintf(stderr, "bus_ceiling: cannot listen on %s\n", url);
		return 1;
	}
	for (long i = 0; i < k; i++)
		pthread_create(&threads[i], NULL, subscriber, (void *) i);
	sleep(1); /* let every subscriber connect */
	t0 = now();
	for (long n = 0; n < count; n++)
	{
		nng_msg *m;

		if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, body, bytes) != 0)
			return 1;
		if (nng_sendmsg(pub, m, 0) != 0)
			nng_msg_free(m);
	}
	t_sent = now();
	for (long i = 0; i < k; i++)
	{
		pthread_join(threads[i], NULL);
		total += received[i];
		if (last_at[i] > last)
			last = last_at[i];
	}
	printf(
		"subscribers=%ld sent_per_s=%.0f received_per_s_per_subscriber=%.0f "
		"dropped_pct=%.1f\n",
		k, count / (t_sent - t0),
		last > t0 ? (double) total / k / (last - t0) : 0.0,
		100.0 * (double) (k * count - total) / (double) (k * count));
	nng_close(pub);
	return 0;
}
