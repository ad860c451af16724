/*-------------------------------------------------------------------------
 * worker.c: walbus-example-worker, a durable consumer doing the whole loop
 * of docs/DELIVERY.md.  A change is applied as the line "KIND schema.table
 * KEY" (I, U, D, T; KEY "-" for T) appended to STATE_DIR/applied.log.  At a
 * commit (from _txn) the log is fsynced, STATE_DIR/position replaced (write,
 * fsync, rename) by "commit_lsn pos log_bytes" (a COMMIT's pos is above
 * every change of its transaction), and only then the commit acknowledged.  At
 * start the log is cut to log_bytes (a transaction cut short comes again)
 * and the library resumes after the key: nothing twice, nothing lost, be it
 * the worker or the relay that restarted.  Changes are released as applied:
 * no transaction larger than the relay's window can stall.  SIGTERM/INT: exit 0.
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "walbus_client.h"

#define USAGE "Usage: walbus-example-worker BUS_URL CONTROL_URL CONSUMER_NAME STATE_DIR\n"
#define LOG(...) fprintf(stderr, "walbus-example-worker: " __VA_ARGS__)
#define FAIL(...) do { LOG(__VA_ARGS__); return 1; } while (0)

static volatile sig_atomic_t stop;
static void on_signal(int signo) { (void) signo; stop = 1; }

int
main(int argc, char **argv)
{
	walbus_client *c = NULL;
	walbus_change ch;
	unsigned	hi = 0, lo = 0;
	long long	bytes = 0;		/* applied.log's size at the last commit */
	char		err[256], buf[80] = "";
	int			dir, fd, pfd, rc;
	FILE	   *log;

	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return printf(USAGE), 0;
	if (argc != 5 || argv[1][0] == '-')
		return fprintf(stderr, USAGE), 2;
	walbus_options o = {.bus_url = argv[1], .control_url = argv[2], .consumer = argv[3],
						.control_timeout_ms = 1000};	/* SIGTERM waits for a request at most */
	if ((dir = open(argv[4], O_RDONLY | O_DIRECTORY)) < 0 ||
		((pfd = openat(dir, "position", O_RDONLY)) < 0 && errno != ENOENT))
		FAIL("cannot open %s or its position: %s\n", argv[4], strerror(errno));
	if (pfd >= 0 && (read(pfd, buf, sizeof buf - 1) < 0 || close(pfd) != 0 ||
					 sscanf(buf, "%X/%X %" SCNu32 " %lld", &hi, &lo, &o.resume_pos, &bytes) != 4))
		FAIL("%s/position is not \"commit_lsn pos log_bytes\"\n", argv[4]);
	o.resume_commit_lsn = (uint64_t) hi << 32 | lo;
	if ((fd = openat(dir, "applied.log", O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0 ||
		lseek(fd, 0, SEEK_END) < bytes || ftruncate(fd, bytes) != 0 || !(log = fdopen(fd, "a")))
		FAIL("cannot open %s/applied.log, or cut it to %lld bytes\n", argv[4], bytes);
	LOG("resuming after %X/%X %" PRIu32 "%s, applied.log %lld bytes\n", hi, lo, o.resume_pos,
		hi || lo ? "" : " (none stored: the relay's ack)", bytes);
	signal(SIGTERM, on_signal), signal(SIGINT, on_signal);
	while (!stop && walbus_open(&c, &o, err, sizeof err) != WALBUS_OK)
		LOG("%s (retrying)\n", err), sleep(1);
	if (c && (walbus_subscribe(c, "*") != WALBUS_OK || walbus_subscribe(c, "_txn") != WALBUS_OK))
		FAIL("%s\n", walbus_errmsg(c));
	while (c && !stop)
	{
		if ((rc = walbus_recv(c, &ch, 500)) == WALBUS_ETIMEDOUT)
			continue;
		if (rc == WALBUS_ESCHEMA || rc == WALBUS_ENOMEM || rc == WALBUS_EINVAL)
			FAIL("%s\n", walbus_errmsg(c));	/* a change it cannot apply comes again */
		else if (rc != WALBUS_OK)	/* e.g. the relay restarting: the library recovers */
			LOG("%s\n", walbus_errmsg(c)), usleep(100 * 1000);
		else if (ch.kind == WALBUS_COMMIT)	/* the data, then the position, then the ack */
		{
			if (fflush(log) != 0 || fsync(fd) != 0 || (bytes = lseek(fd, 0, SEEK_END)) < 0 ||
				(pfd = openat(dir, "position.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
				dprintf(pfd, "%X/%X %" PRIu32 " %lld\n", (unsigned) (ch.commit_lsn >> 32),
						(unsigned) ch.commit_lsn, ch.pos, bytes) < 0 || fsync(pfd) != 0 ||
				close(pfd) != 0 || renameat(dir, "position.tmp", dir, "position") != 0 || fsync(dir) != 0)
				FAIL("cannot store the position: %s\n", strerror(errno));
			walbus_ack(c, &ch);
		}
		else if (memchr("IUDT", ch.kind, 4) != NULL)
		{
			fprintf(log, "%c %s.%s ", ch.kind, ch.table->schema, ch.table->name);
			if (ch.key != NULL && ch.key->type == WB_V_INT)
				fprintf(log, "%" PRId64 "\n", ch.key->v.i);
			else if (ch.key != NULL && ch.key->type == WB_V_STR)	/* uuid, text, ... */
				fprintf(log, "%.*s\n", (int) ch.key->v.s.len, ch.key->v.s.ptr);
			else
				fprintf(log, "-\n");	/* T */
			walbus_release(c, &ch);	/* applied, not durable: the window may forget it */
		}
	}
	walbus_close(c);			/* sends the last ack */
	if (fflush(log) != 0 || ftruncate(fd, bytes) != 0)	/* what did not commit comes again */
		FAIL("cannot cut applied.log: %s\n", strerror(errno));
	return 0;
}
