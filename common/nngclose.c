/*-------------------------------------------------------------------------
 *
 * nngclose.c
 *	  Bounded nng_close: see nngclose.h for why and for the contract.
 *
 * The helper thread and the caller share one heap block with a reference
 * count; whoever drops the last reference frees it, so a caller that gave
 * up never races with the helper's final writes.
 *
 *-------------------------------------------------------------------------
 */
#include "nngclose.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

typedef struct wnc_job
{
	pthread_mutex_t mu;
	pthread_cond_t	cv;
	int				refs; /* caller + helper */
	bool			done;
	int				n;
	nng_socket		socks[WNC_MAX_SOCKETS];
} wnc_job;

static void
wnc_unref(wnc_job *job)
{
	bool last;

	pthread_mutex_lock(&job->mu);
	last = (--job->refs == 0);
	pthread_mutex_unlock(&job->mu);
	if (last)
	{
		pthread_cond_destroy(&job->cv);
		pthread_mutex_destroy(&job->mu);
		free(job);
	}
}

static void *
wnc_helper(void *arg)
{
	wnc_job *job = arg;

	for (int i = 0; i < job->n; i++)
		nng_close(job->socks[i]);
	pthread_mutex_lock(&job->mu);
	job->done = true;
	pthread_cond_signal(&job->cv);
	pthread_mutex_unlock(&job->mu);
	wnc_unref(job);
	return NULL;
}

int
wnc_close(const nng_socket *socks, int n, int timeout_ms)
{
	wnc_job			  *job;
	pthread_t		   thread;
	pthread_condattr_t attr;
	struct timespec	   deadline;
	int				   rv = 0;

	if (n <= 0)
		return 0;
	if (n > WNC_MAX_SOCKETS || (job = calloc(1, sizeof(*job))) == NULL)
		goto inline_close;
	job->n = n;
	for (int i = 0; i < n; i++)
		job->socks[i] = socks[i];
	job->refs = 2;
	pthread_mutex_init(&job->mu, NULL);
	/* a monotonic deadline: a clock step must not cut the wait short */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&job->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&thread, NULL, wnc_helper, job) != 0)
	{
		pthread_cond_destroy(&job->cv);
		pthread_mutex_destroy(&job->mu);
		free(job);
		goto inline_close;
	}
	pthread_detach(thread);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&job->mu);
	while (!job->done && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&job->cv, &job->mu, &deadline);
	rv = job->done ? 0 : ETIMEDOUT;
	pthread_mutex_unlock(&job->mu);
	wnc_unref(job);
	return rv;

inline_close:
	/* no thread to spare: close here, accepting nng's own behaviour */
	for (int i = 0; i < n; i++)
		nng_close(socks[i]);
	return 0;
}
