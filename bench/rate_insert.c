/*-------------------------------------------------------------------------
 *
 * rate_insert.c
 *	  Benchmark load: insert rows into bench_rows at a fixed rate, in
 *	  transactions of a fixed size, on a fixed schedule.
 *
 * Usage: rate_insert CONNINFO ROWS_PER_S ROWS_PER_TXN SECONDS
 *
 * Commits one INSERT of ROWS_PER_TXN rows every ROWS_PER_TXN/ROWS_PER_S
 * seconds for SECONDS seconds, on an absolute schedule (clock_nanosleep
 * TIMER_ABSTIME), so a slow commit is caught up rather than stretching the
 * run.  Prints one line: rows=N txns=N seconds=S rate=R late=N, where late
 * counts transactions that started more than one period behind schedule
 * (the load generator could not keep up: the offered rate was lower).
 * Exit status 1 if a statement fails.
 *
 *-------------------------------------------------------------------------
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	PGconn *conn;
	char	sql[256];
	double	rate;
	long	per_txn, ntxn, late = 0;
	int64_t period, start, end;

	if (argc != 5)
	{
		fprintf(
			stderr,
			"usage: rate_insert CONNINFO ROWS_PER_S ROWS_PER_TXN SECONDS\n");
		return 2;
	}
	rate = atof(argv[2]);
	per_txn = atol(argv[3]);
	ntxn = (long) (rate * atof(argv[4]) / per_txn);
	period = (int64_t) (1e9 * per_txn / rate);
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "rate_insert: %s", PQerrorMessage(conn));
		return 1;
	}
	snprintf(sql, sizeof(sql),
			 "INSERT INTO bench_rows (name, score, note) "
			 "SELECT 'name ' || g, g * 1.5, 'rate' "
			 "FROM generate_series(1, %ld) g",
			 per_txn);
	start = mono_ns();
	for (long i = 0; i < ntxn; i++)
	{
		int64_t			due = start + i * period;
		struct timespec ts = {due / 1000000000, due % 1000000000};
		PGresult	   *res;

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (mono_ns() - due > period)
			late++;
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			fprintf(stderr, "rate_insert: %s", PQerrorMessage(conn));
			return 1;
		}
		PQclear(res);
	}
	end = mono_ns();
	printf("rows=%ld txns=%ld seconds=%.3f rate=%.0f late=%ld\n",
		   ntxn * per_txn, ntxn, (end - start) / 1e9,
		   ntxn * per_txn / ((end - start) / 1e9), late);
	PQfinish(conn);
	return 0;
}
