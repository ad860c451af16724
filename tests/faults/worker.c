/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Test worker of tests/faults: a durable consumer that keeps a copy of
 *	  one table in an append-only log, and the checker of that log.
 *
 * Usage:
 *   worker --bus URL --control URL --consumer NAME --log FILE
 *          [--topic FILTER] [--delay-us N] [--crash-after N]
 *          [--exit-when-idle MS] [--recv-queue FRAMES]
 *   worker --check FILE
 *
 * The log has one line per change received, "commit_lsn pos kind id
 * value": commit_lsn as PostgreSQL prints it (X/X), kind I, U, D or T,
 * id the key as text (for an update that changed the key, "new<old"),
 * value the row's column "v" as text, '-' for NULL and for D and T (so
 * values must not contain newlines, and '-' means NULL).  A line is one
 * write(2) to a descriptor opened with O_APPEND: once write returns, the
 * change survives a kill -9 of this process, which makes the log this
 * worker's "durable write".  Only then is the change acknowledged.  At
 * start-up the last line gives the resume key, so nothing applied is
 * delivered again; a trailing partial line (impossible with one write per
 * line, but cheap to handle) is cut off first.
 *
 * Options: --topic (default "*"), --delay-us sleeps after each change (a
 * slow subscriber), --crash-after N raises SIGKILL after writing the Nth
 * change of this process and before acknowledging it, --exit-when-idle MS
 * exits 0 after MS without a change, --recv-queue sets libwalbus's
 * recv_queue (a small queue makes the bus drop frames for this worker as
 * soon as it falls behind, so that it has to catch up by replay).  SIGTERM and SIGINT: flush the acks,
 * exit 0.  On exit the library's counters and the longest walbus_recv
 * and walbus_ack calls (ms) go to stderr as one line starting with
 * "worker: stats"; every other stderr line reports a problem.
 *
 * --check FILE rebuilds the copy from the log (insert and update set
 * id -> value, delete removes, truncate clears) and prints "id|value"
 * lines sorted by id (ids must be integers).  Exit status 3, with the
 * line numbers on stderr, when a key (commit_lsn, pos) is not greater
 * than the one before it: a change delivered twice or out of order.
 *
 * Exit status: 0 done, 1 a library or I/O error, 2 bad usage, 3 the
 * check failed.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "walbus_client.h"

#define WORKER_SLICE_MS 200
#define WORKER_LINE_MAX 8192

static volatile sig_atomic_t worker_stop = 0;
static volatile sig_atomic_t worker_continued = 0;

static void
worker_on_signal(int signo)
{
	(void) signo;
	worker_stop = 1;
}

/*
 * SIGCONT: the worker was stopped (SIGSTOP, a test's "stopped worker"); a
 * walbus_ack call it was stopped in is not timed, its length is the stop.
 */
static void
worker_on_continue(int signo)
{
	(void) signo;
	worker_continued = 1;
}

static int64_t
worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parse "X/X pos" at the start of line; false if it is not there. */
static bool
parse_key(const char *line, uint64_t *lsn, uint32_t *pos, int *used)
{
	unsigned int hi, lo, p;
	int			 n = 0;

	if (sscanf(line, "%X/%X %u%n", &hi, &lo, &p, &n) != 3 || n == 0)
		return false;
	*lsn = ((uint64_t) hi << 32) | lo;
	*pos = p;
	if (used)
		*used = n;
	return true;
}

static int
key_cmp(uint64_t lsn_a, uint32_t pos_a, uint64_t lsn_b, uint32_t pos_b)
{
	if (lsn_a != lsn_b)
		return lsn_a < lsn_b ? -1 : 1;
	if (pos_a != pos_b)
		return pos_a < pos_b ? -1 : 1;
	return 0;
}

/* ------------------------------------------------------------- --check */

typedef struct row
{
	int64_t id;
	char   *value; /* NULL: slot free or deleted */
	bool	used;  /* slot ever used (tombstone otherwise) */
} row;

typedef struct rowmap
{
	row	  *slots;
	size_t cap;	 /* power of two */
	size_t used; /* slots with used set */
} rowmap;

static size_t
rowmap_hash(int64_t id, size_t cap)
{
	uint64_t h = (uint64_t) id * 0x9E3779B97F4A7C15ULL;

	return (size_t) (h >> 17) & (cap - 1);
}

static row *
rowmap_find(rowmap *m, int64_t id, bool insert)
{
	size_t i;

	if (insert && (m->used + 1) * 2 > m->cap)
	{
		rowmap grown = {calloc(m->cap * 2, sizeof(row)), m->cap * 2, 0};

		if (grown.slots == NULL)
		{
			fprintf(stderr, "worker: out of memory\n");
			exit(1);
		}
		for (size_t j = 0; j < m->cap; j++)
			if (m->slots[j].value != NULL)
			{
				row *r = rowmap_find(&grown, m->slots[j].id, true);

				r->value = m->slots[j].value;
			}
		free(m->slots);
		*m = grown;
	}
	for (i = rowmap_hash(id, m->cap);; i = (i + 1) & (m->cap - 1))
	{
		row *r = &m->slots[i];

		if (!r->used)
		{
			if (!insert)
				return NULL;
			r->used = true;
			r->id = id;
			m->used++;
			return r;
		}
		if (r->id == id)
			return r;
	}
}

static int
row_cmp(const void *a, const void *b)
{
	const row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static bool
parse_id(const char *s, int64_t *id)
{
	char *end;

	errno = 0;
	*id = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

static int
check_log(const char *path)
{
	FILE	*f = fopen(path, "r");
	rowmap	 m = {calloc(1024, sizeof(row)), 1024, 0};
	char	*line = NULL;
	size_t	 linecap = 0;
	ssize_t	 len;
	long	 lineno = 0;
	uint64_t prev_lsn = 0;
	uint32_t prev_pos = 0;
	long	 prev_line = 0;
	int		 bad = 0;
	int		 rc = 1;
	size_t	 nlive = 0;
	row		*live;

	if (f == NULL)
	{
		fprintf(stderr, "worker: cannot open \"%s\": %s\n", path,
				strerror(errno));
		goto done;
	}
	if (m.slots == NULL)
	{
		fprintf(stderr, "worker: out of memory\n");
		goto done;
	}
	while ((len = getline(&line, &linecap, f)) != -1)
	{
		uint64_t lsn;
		uint32_t pos;
		int		 used;
		char	 kind;
		char	 idtext[128];
		int64_t	 id, old_id;
		char	*value, *lt;
		int		 n = 0;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!parse_key(line, &lsn, &pos, &used) ||
			sscanf(line + used, " %c %127s %n", &kind, idtext, &n) != 2 ||
			n == 0)
		{
			fprintf(stderr, "worker: %s:%ld: malformed line \"%s\"\n", path,
					lineno, line);
			goto done;
		}
		value = line + used + n;
		if (prev_line > 0 && key_cmp(lsn, pos, prev_lsn, prev_pos) <= 0)
		{
			fprintf(stderr,
					"worker: %s:%ld: key %X/%X %u is not after the "
					"key %X/%X %u of line %ld: delivered twice or out of "
					"order\n",
					path, lineno, (unsigned) (lsn >> 32), (unsigned) lsn, pos,
					(unsigned) (prev_lsn >> 32), (unsigned) prev_lsn, prev_pos,
					prev_line);
			if (++bad >= 10)
				break;
		}
		prev_lsn = lsn;
		prev_pos = pos;
		prev_line = lineno;

		if (kind == 'T')
		{
			for (size_t i = 0; i < m.cap; i++)
			{
				free(m.slots[i].value);
				m.slots[i].value = NULL;
			}
			continue;
		}
		old_id = 0;
		lt = strchr(idtext, '<');
		if (lt != NULL)
			*lt = '\0';
		if (!parse_id(idtext, &id) || (lt && !parse_id(lt + 1, &old_id)) ||
			(kind != 'I' && kind != 'U' && kind != 'D'))
		{
			fprintf(stderr, "worker: %s:%ld: bad kind or id in \"%s\"\n", path,
					lineno, line);
			goto done;
		}
		if (lt != NULL)
		{
			row *r = rowmap_find(&m, old_id, false);

			if (r != NULL)
			{
				free(r->value);
				r->value = NULL;
			}
		}
		if (kind == 'D')
		{
			row *r = rowmap_find(&m, id, false);

			if (r != NULL)
			{
				free(r->value);
				r->value = NULL;
			}
		}
		else
		{
			row *r = rowmap_find(&m, id, true);

			free(r->value);
			r->value = strdup(value);
			if (r->value == NULL)
			{
				fprintf(stderr, "worker: out of memory\n");
				goto done;
			}
		}
	}
	if (ferror(f))
	{
		fprintf(stderr, "worker: cannot read \"%s\": %s\n", path,
				strerror(errno));
		goto done;
	}
	if (bad)
	{
		rc = 3;
		goto done;
	}

	/* compact the live rows to the front, then sort them */
	live = m.slots;
	for (size_t i = 0; i < m.cap; i++)
		if (m.slots[i].value != NULL)
			live[nlive++] = m.slots[i];
	qsort(live, nlive, sizeof(row), row_cmp);
	for (size_t i = 0; i < nlive; i++)
		printf("%" PRId64 "|%s\n", live[i].id, live[i].value);
	rc = fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
	m.cap = nlive; /* the live values are now at the front */

done:
	if (m.slots != NULL)
		for (size_t i = 0; i < m.cap; i++)
			free(m.slots[i].value);
	free(m.slots);
	free(line);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* ------------------------------------------------------------ consuming */

/*
 * The last complete line of the log gives the resume key; a trailing
 * partial line is cut off.  Returns false (with a message) on I/O errors
 * or a malformed last line.
 */
static bool
read_resume_key(int fd, const char *path, uint64_t *lsn, uint32_t *pos)
{
	struct stat st;
	off_t		end;
	char		buf[WORKER_LINE_MAX + 1];
	off_t		start;
	ssize_t		n;
	char	   *nl;

	*lsn = 0;
	*pos = 0;
	if (fstat(fd, &st) != 0)
	{
		fprintf(stderr, "worker: cannot stat \"%s\": %s\n", path,
				strerror(errno));
		return false;
	}
	end = st.st_size;
	if (end == 0)
		return true;
	start = end > WORKER_LINE_MAX ? end - WORKER_LINE_MAX : 0;
	n = pread(fd, buf, (size_t) (end - start), start);
	if (n != end - start)
	{
		fprintf(stderr, "worker: cannot read \"%s\": %s\n", path,
				n < 0 ? strerror(errno) : "short read");
		return false;
	}
	buf[n] = '\0';
	if (buf[n - 1] != '\n')
	{
		nl = memrchr(buf, '\n', (size_t) n);
		end = nl ? start + (nl - buf) + 1 : start;
		fprintf(stderr,
				"worker: \"%s\" ends with a partial line; cut at "
				"byte %lld\n",
				path, (long long) end);
		if (ftruncate(fd, end) != 0)
		{
			fprintf(stderr, "worker: cannot truncate \"%s\": %s\n", path,
					strerror(errno));
			return false;
		}
		if (nl == NULL)
			return true;
		n = nl - buf + 1;
		buf[n] = '\0';
	}
	buf[n - 1] = '\0';
	nl = memrchr(buf, '\n', (size_t) n - 1);
	if (!parse_key(nl ? nl + 1 : buf, lsn, pos, NULL))
	{
		fprintf(stderr, "worker: the last line of \"%s\" has no key: \"%s\"\n",
				path, nl ? nl + 1 : buf);
		return false;
	}
	return true;
}

/*
 * A line being built: appends that do not fit set len to cap, which the
 * caller reports (a line is never cut short silently).
 */
typedef struct line_buf
{
	char   data[WORKER_LINE_MAX];
	size_t len;
} line_buf;

static void line_append(line_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
line_append(line_buf *b, const char *fmt, ...)
{
	size_t	room = sizeof(b->data) - b->len;
	va_list ap;
	int		n;

	if (room == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= room)
		b->len = sizeof(b->data);
	else
		b->len += (size_t) n;
}

/* A value as text: NULL '-', strings as they are. */
static void
line_append_value(line_buf *b, const wb_value *v)
{
	if (v == NULL)
	{
		line_append(b, "?");
		return;
	}
	switch (v->type)
	{
		case WB_V_NIL:
			line_append(b, "-");
			break;
		case WB_V_INT:
			line_append(b, "%" PRId64, v->v.i);
			break;
		case WB_V_STR:
			line_append(b, "%.*s", (int) v->v.s.len, v->v.s.ptr);
			break;
		case WB_V_BOOL:
			line_append(b, "%s", v->v.b ? "t" : "f");
			break;
		case WB_V_UNCHANGED_TOAST:
			line_append(b, "(unchanged toast)");
			break;
		default:
			line_append(b, "(type %d)", (int) v->type);
			break;
	}
}

/* The row's column "v", or NULL when the table has none. */
static const wb_value *
column_v(const walbus_change *ch)
{
	if (ch->table == NULL)
		return NULL;
	for (uint32_t i = 0; i < ch->table->ncolumns && i < ch->nvalues; i++)
		if (strcmp(ch->table->columns[i].name, "v") == 0)
			return &ch->values[i];
	return NULL;
}

static bool
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t) n;
	}
	return true;
}

/* One line for ch; false when it cannot be written (message given). */
static bool
append_change(int fd, const char *path, const walbus_change *ch)
{
	line_buf line = {.len = 0};

	line_append(&line, "%X/%X %u %c ", (unsigned) (ch->commit_lsn >> 32),
				(unsigned) ch->commit_lsn, ch->pos, (char) ch->kind);
	switch (ch->kind)
	{
		case WALBUS_INSERT:
		case WALBUS_UPDATE:
			line_append_value(&line, ch->key);
			if (ch->old_key != NULL)
			{
				line_append(&line, "<");
				line_append_value(&line, ch->old_key);
			}
			line_append(&line, " ");
			line_append_value(&line, column_v(ch));
			break;
		case WALBUS_DELETE:
			line_append_value(&line, ch->key);
			line_append(&line, " -");
			break;
		default:
			line_append(&line, "- -");
			break;
	}
	line_append(&line, "\n");
	if (line.len >= sizeof(line.data))
	{
		fprintf(stderr, "worker: change %X/%X %u does not fit in a line\n",
				(unsigned) (ch->commit_lsn >> 32), (unsigned) ch->commit_lsn,
				ch->pos);
		return false;
	}
	if (!write_all(fd, line.data, line.len))
	{
		fprintf(stderr, "worker: cannot write \"%s\": %s\n", path,
				strerror(errno));
		return false;
	}
	return true;
}

/* The library's counters, and the longest walbus_recv and walbus_ack. */
static void
print_stats(walbus_client *c, int64_t recv_max_ms, int64_t ack_max_ms)
{
	walbus_stats s;

	walbus_get_stats(c, &s);
	fprintf(stderr,
			"worker: stats received %" PRIu64 " delivered %" PRIu64
			" gaps %" PRIu64 " lost %" PRIu64 " duplicates %" PRIu64
			" replays %" PRIu64 " replayed %" PRIu64 " acks_sent %" PRIu64
			" recv_max_ms %" PRId64 " ack_max_ms %" PRId64 "\n",
			s.received, s.delivered, s.gaps, s.lost, s.duplicates, s.replays,
			s.replayed, s.acks_sent, recv_max_ms, ack_max_ms);
}

static void
usage(FILE *out)
{
	fprintf(
		out,
		"Usage: worker --bus URL --control URL --consumer NAME --log FILE\n"
		"              [--topic FILTER] [--delay-us N] [--crash-after N]\n"
		"              [--exit-when-idle MS] [--recv-queue FRAMES]\n"
		"       worker --check FILE\n");
}

static bool
parse_count(const char *arg, const char *name, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || *out < 0)
	{
		fprintf(stderr, "worker: invalid %s \"%s\"\n", name, arg);
		return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"bus", required_argument, NULL, 'b'},
		{"control", required_argument, NULL, 'c'},
		{"consumer", required_argument, NULL, 'n'},
		{"log", required_argument, NULL, 'l'},
		{"topic", required_argument, NULL, 't'},
		{"delay-us", required_argument, NULL, 'd'},
		{"crash-after", required_argument, NULL, 'k'},
		{"exit-when-idle", required_argument, NULL, 'i'},
		{"check", required_argument, NULL, 'C'},
		{"recv-queue", required_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	walbus_options wo = {0};
	const char	  *log_path = NULL;
	const char	  *topic = "*";
	long long	   delay_us = 0, recv_queue = 0, crash_after = 0, idle_ms = 0,
			  count = 0;
	int64_t			 last_change, started, recv_max_ms = 0, ack_max_ms = 0;
	walbus_client	*c;
	char			 err[256];
	struct sigaction sa;
	int				 opt, fd, status = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'b':
				wo.bus_url = optarg;
				break;
			case 'c':
				wo.control_url = optarg;
				break;
			case 'n':
				wo.consumer = optarg;
				break;
			case 'l':
				log_path = optarg;
				break;
			case 't':
				topic = optarg;
				break;
			case 'd':
				if (!parse_count(optarg, "--delay-us", &delay_us))
					return 2;
				break;
			case 'k':
				if (!parse_count(optarg, "--crash-after", &crash_after))
					return 2;
				break;
			case 'i':
				if (!parse_count(optarg, "--exit-when-idle", &idle_ms))
					return 2;
				break;
			case 'q':
				if (!parse_count(optarg, "--recv-queue", &recv_queue))
					return 2;
				wo.recv_queue = (int) recv_queue;
				break;
			case 'C':
				return check_log(optarg);
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (optind < argc || !wo.bus_url || !wo.control_url || !wo.consumer ||
		!log_path)
	{
		usage(stderr);
		return 2;
	}

	fd = open(log_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		fprintf(stderr, "worker: cannot open \"%s\": %s\n", log_path,
				strerror(errno));
		return 1;
	}
	if (!read_resume_key(fd, log_path, &wo.resume_commit_lsn, &wo.resume_pos))
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = worker_on_continue;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCONT, &sa, NULL);

	if (walbus_open(&c, &wo, err, sizeof(err)) != WALBUS_OK)
	{
		fprintf(stderr, "worker: %s\n", err);
		return 1;
	}
	if (walbus_subscribe(c, topic) != WALBUS_OK)
	{
		fprintf(stderr, "worker: %s\n", walbus_errmsg(c));
		walbus_close(c);
		return 1;
	}

	last_change = worker_now_ms();
	while (!worker_stop)
	{
		walbus_change ch;
		int			  rc;

		started = worker_now_ms();
		rc = walbus_recv(c, &ch, WORKER_SLICE_MS);
		if (worker_now_ms() - started > recv_max_ms)
			recv_max_ms = worker_now_ms() - started;
		if (rc == WALBUS_ETIMEDOUT)
		{
			if (idle_ms > 0 && worker_now_ms() - last_change >= idle_ms)
				break;
			continue;
		}
		if (rc != WALBUS_OK)
		{
			/*
			 * Durable delivery never reports a gap; anything else may be
			 * a relay that is restarting: report it and keep going.  A
			 * change without its table (WALBUS_ESCHEMA) cannot be
			 * applied, so it stops the worker.
			 */
			fprintf(stderr, "worker: walbus_recv: %s (%d)\n", walbus_errmsg(c),
					rc);
			if (rc == WALBUS_ESCHEMA || rc == WALBUS_EINVAL ||
				rc == WALBUS_ENOMEM)
			{
				status = 1;
				break;
			}
			if (rc != WALBUS_EGAP && rc != WALBUS_EPROTO)
				usleep(100 * 1000);
			continue;
		}
		if (ch.kind != WALBUS_INSERT && ch.kind != WALBUS_UPDATE &&
			ch.kind != WALBUS_DELETE && ch.kind != WALBUS_TRUNCATE)
			continue;
		last_change = worker_now_ms();
		if (!append_change(fd, log_path, &ch))
		{
			status = 1;
			break;
		}
		count++;
		if (crash_after > 0 && count == crash_after)
			raise(SIGKILL);
		worker_continued = 0;
		started = worker_now_ms();
		if ((rc = walbus_ack(c, &ch)) != WALBUS_OK)
			fprintf(stderr, "worker: walbus_ack: %s (%d)\n", walbus_errmsg(c),
					rc);
		if (!worker_continued && worker_now_ms() - started > ack_max_ms)
			ack_max_ms = worker_now_ms() - started;
		if (delay_us > 0)
			usleep((useconds_t) delay_us);
	}
	if (walbus_flush_acks(c) != WALBUS_OK)
	{
		fprintf(stderr, "worker: walbus_flush_acks: %s\n", walbus_errmsg(c));
		status = 1;
	}
	print_stats(c, recv_max_ms, ack_max_ms);
	walbus_close(c);
	close(fd);
	return status;
}
