/*-------------------------------------------------------------------------
 *
 * walbus_client.h
 *	  libwalbus: subscribe to a walbus-relay's bus and receive decoded
 *	  changes with column names and typed values.
 *
 * Contract.  A walbus_client owns two nng sockets (sub0 on the relay's bus
 * URL, req0 on its control URL), a cache of table definitions fetched
 * with the control socket's "schema" request (keyed by relation id and
 * schema version, kept until close), and the frame being delivered: a bus
 * message carries a frame of many changes of one transaction on one topic
 * (docs/PROTOCOL.md Part 2), and walbus_recv returns them one by one.  Every
 * function returns WALBUS_OK (0) or a negative WALBUS_E* code and, for a
 * client, leaves a one-line explanation in walbus_errmsg(); WALBUS_EGAP and
 * WALBUS_ETIMEDOUT are reports, not failures: call walbus_recv again.
 * Pointers in a received walbus_change (topic, values, strings) are valid
 * until the next walbus_recv or walbus_close; table definitions until
 * walbus_close.  A client is not thread-safe: use it from one thread at a
 * time (one client per thread is fine; the library has no global state).
 *
 * Delivery.  Without a consumer name it is best effort (nng pub/sub drops
 * frames for slow subscribers): the library detects every loss it can
 * prove from the sequence numbers (docs/PROTOCOL.md Part 2, "Gap
 * detection") and reports it as WALBUS_EGAP before the first change of the
 * frame that revealed it.  With a consumer name that the relay has
 * configured as durable (docs/DELIVERY.md), nothing is lost: on a gap, a
 * new relay run or a silent bus the library pulls what it missed from the
 * relay ("replay"), drops duplicates by (commit_lsn, pos), and walbus_recv
 * returns every change of the subscribed topics once, in commit order,
 * never WALBUS_EGAP.  The worker calls walbus_ack after its own durable
 * write of a change; the relay lets PostgreSQL forget a transaction only
 * once every durable consumer has acknowledged it.  To be exactly-once
 * across its own crashes, a worker stores the (commit_lsn, pos) of the
 * last change it applied in the same transaction as its write, and passes
 * it back as resume_commit_lsn/resume_pos when it starts again.  A worker
 * that must see a whole transaction before it applies any of it calls
 * walbus_release as it buffers, so that the relay does not wait for its
 * acks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_CLIENT_H
#define WALBUS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Column values as the wire carries them, and the TRUNCATE flags: the
 * names of the wire format's C binding (proto/walbus_proto.h, walbus's own
 * and not installed), repeated here so that this header stands alone.
 * The block has the same guard there, so that walbus's own code can
 * include both; the build checks that the two copies agree (client/
 * header_compat.c).
 */
#ifndef WALBUS_VALUE_TYPES_DEFINED
#define WALBUS_VALUE_TYPES_DEFINED

/* TRUNCATE flags. */
#define WB_TRUNCATE_CASCADE			 0x01
#define WB_TRUNCATE_RESTART_IDENTITY 0x02
#define WB_TRUNCATE_PARTIAL			 0x04 /* only some partitions: resync */

/* A point in time: seconds and nanoseconds since the Unix epoch (UTC). */
typedef struct wb_timestamp
{
	int64_t	 sec;
	uint32_t nsec; /* 0 .. 999999999 */
} wb_timestamp;

/* A byte string inside the decoded buffer; not NUL-terminated. */
typedef struct wb_str
{
	const char *ptr;
	uint32_t	len;
} wb_str;

/* The type of one column value on the wire. */
typedef enum wb_vtype
{
	WB_V_NIL, /* SQL NULL */
	WB_V_BOOL,
	WB_V_INT,			 /* int2, int4, int8, oid */
	WB_V_FLOAT32,		 /* float4, NaN and infinities kept */
	WB_V_FLOAT64,		 /* float8 */
	WB_V_STR,			 /* text output of any other type, UTF-8 */
	WB_V_BIN,			 /* bytea */
	WB_V_TIMESTAMP,		 /* timestamp, timestamptz */
	WB_V_UNCHANGED_TOAST /* value not in the WAL; unchanged */
} wb_vtype;

typedef struct wb_value
{
	wb_vtype type;
	union
	{
		bool		 b;
		int64_t		 i;
		float		 f32;
		double		 f64;
		wb_str		 s; /* WB_V_STR and WB_V_BIN */
		wb_timestamp ts;
	} v;
} wb_value;

#endif /* WALBUS_VALUE_TYPES_DEFINED */

#ifdef __cplusplus
extern "C"
{
#endif

/* The library is built with hidden visibility; this is its interface. */
#if defined(__GNUC__)
#define WALBUS_API __attribute__((visibility("default")))
#else
#define WALBUS_API
#endif

#define WALBUS_OK		 0
#define WALBUS_ETIMEDOUT (-1) /* nothing arrived in time */
#define WALBUS_EGAP		 (-2) /* frames were lost before the next */
#define WALBUS_EPROTO	 (-3) /* a malformed frame was skipped */
#define WALBUS_ESCHEMA	 (-4) /* a change's table could not be resolved */
#define WALBUS_ECONTROL	 (-5) /* control request failed */
#define WALBUS_ENNG		 (-6) /* a socket operation failed */
#define WALBUS_ENOMEM	 (-7)
#define WALBUS_EINVAL	 (-8) /* bad argument */

typedef struct walbus_client walbus_client;

/*
 * The pos of a COMMIT change: above every change of its transaction.  A
 * worker that applies whole transactions stores (commit_lsn, pos) of the
 * COMMIT, and resuming from it (resume_commit_lsn, resume_pos) delivers
 * nothing of that transaction again.
 */
#define WALBUS_POS_COMMIT UINT32_MAX

/*
 * recv_queue: the default, and the most frames a sub socket can queue
 * (nng's limit for NNG_OPT_RECVBUF).
 */
#define WALBUS_RECV_QUEUE_DEFAULT 1024
#define WALBUS_RECV_QUEUE_MAX	  8192

typedef struct walbus_options
{
	const char *bus_url;	 /* the relay's --bus, e.g. ipc:///tmp/walbus.pub,
							  * or its --jetstream (nats://host:4222);
							  * NULL: control requests only */
	const char *control_url; /* its --control; NULL: no column names */
	size_t		max_message_bytes;	/* larger bus messages are refused;
									 * 0: 64 MiB */
	int			control_timeout_ms; /* per control request; 0: 5000 */

	/* durable consumers (needs both URLs) */
	const char *consumer;		   /* name in the relay's "durable" setting;
									* NULL: best effort */
	uint64_t	resume_commit_lsn; /* the last change this consumer applied */
	uint32_t	resume_pos;		   /* nothing up to it is delivered again;
									* 0/0: start after the last transaction
									* the relay knows it acknowledged */
	int			silence_ms;		   /* ask the relay what was missed after this
									* long without a bus message; 0: 2000 */

	int recv_queue; /* frames the bus socket queues before nng
					 * drops for this subscriber; 0: the
					 * default, at most WALBUS_RECV_QUEUE_MAX */

	/*
	 * tls+tcp:// URLs (docs/RELAY.md, "Security"); ignored for the others.
	 * Added last in 0.3, so that the fields above keep their places.
	 */
	const char *tls_ca;			 /* PEM CAs the relay's certificate must chain
								  * to; required for tls+tcp */
	const char *tls_cert;		 /* PEM certificate of this worker, for a relay
								  * that requires one (its CN is the worker's
								  * identity in control_allow); NULL: none */
	const char *tls_key;		 /* its unencrypted PEM key */
	const char *tls_server_name; /* name the relay's certificate must
								  * carry (a DNS alternative name, or CN);
								  * NULL: the URL's host */

	/*
	 * A bus_url of nats:// or tls:// (a comma-separated list of a NATS
	 * cluster's servers) reads the frames the relay published to JetStream
	 * (docs/DELIVERY.md, "Workers on JetStream").  Added last in 0.4.
	 */
	const char *jetstream_stream; /* the relay's --jetstream-stream;
								   * NULL: "WALBUS" */
	const char *jetstream_creds;  /* a NATS credentials file (.creds);
								   * NULL: none, or user:password@ in
								   * the URL.  The tls_* fields above
								   * serve a NATS server too: with tls_ca
								   * the connection is TLS */
} walbus_options;

typedef enum walbus_kind
{
	WALBUS_INSERT = 'I',
	WALBUS_UPDATE = 'U',
	WALBUS_DELETE = 'D',
	WALBUS_TRUNCATE = 'T',
	WALBUS_MESSAGE = 'M',  /* pg_logical_emit_message */
	WALBUS_SCHEMA = 'S',   /* a schema event (docs/SCHEMA.md) */
	WALBUS_READ = 'R',	   /* a row a backfill read (docs/BACKFILL.md) */
	WALBUS_BACKFILL = 'B', /* a backfill started, progressed, ended */
	WALBUS_COMMIT = 'C',   /* only when subscribed to "_txn" */
	WALBUS_HEARTBEAT = 'H' /* only when subscribed to "_hb" */
} walbus_kind;

typedef struct walbus_column
{
	const char *name;
	uint32_t	type_oid;  /* pg_type OID */
	int32_t		typmod;	   /* -1 when none */
	const char *type_name; /* e.g. "numeric(12,2)" */
	int32_t		attnum;	   /* pg_attribute.attnum: survives renames,
							* never reused; key mappings on (relid,
							* attnum), never on names or positions */
} walbus_column;

/* One definition of a table, as the relay's "schema" request gives it. */
typedef struct walbus_table
{
	uint32_t			 relid;
	uint64_t			 schema_version;
	const char			*schema;
	const char			*name;
	uint32_t			 key_index; /* index of the primary key in columns */
	uint32_t			 ncolumns;
	const walbus_column *columns;
	uint32_t			 schema_oid; /* pg_namespace OID: kept by ALTER SCHEMA
									  * RENAME, changed by SET SCHEMA */
} walbus_table;

/* One thing a schema event says changed (docs/SCHEMA.md). */
typedef struct walbus_schema_change
{
	const char *change;		 /* "table_renamed", "schema_renamed",
							  * "table_moved", "column_added",
							  * "column_dropped", "column_renamed",
							  * "column_type_changed", "key_changed" */
	int32_t		attnum;		 /* the column's; key_changed: the new key's;
							  * 0 for table-level changes */
	int32_t		from_attnum; /* key_changed: the old key's */
	const char *from;		 /* old name or type; NULL when none */
	const char *to;			 /* new name or type; NULL when none */
} walbus_schema_change;

/* A backfill event on _backfill (docs/BACKFILL.md). */
typedef struct walbus_backfill_event
{
	const char *event;	  /* "started", "progress", "done", "failed" */
	uint64_t	backfill; /* its id, as walbus_backfill returned */
	uint32_t	relid;
	const char *topic;
	uint64_t	rows; /* reads published so far */
	uint64_t	chunks;
	const char *reason; /* "failed": why; else NULL */
} walbus_backfill_event;

/* A schema event on _schema (docs/SCHEMA.md says what to do about each). */
typedef struct walbus_schema_event
{
	const char		   *event; /* "table_seen", "table_changed",
								* "table_withdrawn", "table_dropped",
								* "table_eligible_again" */
	uint32_t			relid;
	const char		   *topic; /* the table's topic now (withdrawals: its
								* last one) */
	const char		   *previous_topic; /* when the topic changed; else NULL */
	const walbus_table *table;	  /* the definition now; NULL when withdrawn */
	const walbus_table *previous; /* the one before; NULL when the relay
								   * had none (first seen in its run) */
	const char		   *reason;	  /* withdrawals: why; else NULL */
	uint32_t			nchanges;
	const walbus_schema_change *changes;
} walbus_schema_event;

typedef struct walbus_change
{
	walbus_kind kind;
	const char *topic; /* "schema.table", "_msg.prefix", "_txn", ... */
	uint64_t	run;   /* relay process; seq and tseq restart with it */
	uint64_t	seq;   /* global and per-topic sequence numbers of */
	uint64_t	tseq;  /* the frame that carried the change */

	/* the transaction (not for heartbeats, non-transactional messages) */
	bool		 in_txn;
	uint32_t	 xid;
	uint64_t	 commit_lsn; /* with pos: a unique, ordered key */
	wb_timestamp commit_time;
	uint32_t	 pos; /* within the transaction: increasing, the
					   * plugin's items even (PROTOCOL.md §E4.2);
					   * WALBUS_POS_COMMIT for a COMMIT */

	/* INSERT, UPDATE, DELETE, TRUNCATE */
	uint32_t			relid;
	uint64_t			schema_version;
	const walbus_table *table;	 /* NULL without a control URL */
	uint32_t			nvalues; /* INSERT, UPDATE: the new row, one per */
	const wb_value	   *values;	 /* column of table */
	const wb_value	   *key;	 /* DELETE: the deleted key; INSERT, UPDATE:
								  * the row's key (when table is known) */
	const wb_value	   *old_key; /* UPDATE that changed the key, else NULL */
	uint32_t truncate_flags; /* WB_TRUNCATE_CASCADE, ..._RESTART_IDENTITY */

	/* MESSAGE */
	bool	 transactional;
	uint64_t message_lsn;
	wb_str	 prefix;
	wb_str	 content;

	/* COMMIT */
	uint64_t end_lsn;
	uint32_t nchanges; /* the transaction's highest pos (its
						* plugin items are numbered 2, 4, ...) */

	/* HEARTBEAT */
	wb_timestamp time;
	uint64_t	 received_lsn;
	uint64_t	 flushed_lsn;

	/* SCHEMA (relid above is the table's too) */
	const walbus_schema_event *schema_event;

	/* BACKFILL (relid above is the table's too) */
	const walbus_backfill_event *backfill_event;
} walbus_change;

typedef struct walbus_stats
{
	uint64_t received;		 /* bus frames received */
	uint64_t delivered;		 /* changes returned by walbus_recv */
	uint64_t gaps;			 /* losses reported */
	uint64_t lost;			 /* frames known to be lost */
	uint64_t malformed;		 /* frames skipped as malformed */
	uint64_t schema_fetches; /* control "schema" requests made */
	uint64_t duplicates;	 /* changes dropped as already delivered */
	uint64_t replays;		 /* replay requests made (durable) */
	uint64_t replayed;		 /* frames received through replay */
	uint64_t acks_sent;		 /* ack requests made (durable) */
} walbus_stats;

/*
 * The relay's answer to a "status" request (docs/PROTOCOL.md (Part 2)).
 *
 * The struct only grows: a field the relay gains is appended at the end,
 * and a member never moves, so a caller's struct is always a prefix of the
 * library's.  walbus_relay_status_get passes the caller's sizeof to the
 * library, which fills that many bytes and no more: a program built
 * against an older header, run with a newer library, gets the fields it
 * knows; built against a newer one, it gets zero in the members the
 * library does not know.  To see every field the library knows, including
 * ones newer than the caller's header, walk them by name with
 * walbus_relay_status_field.
 */
typedef struct walbus_relay_status
{
	uint64_t run; /* random id of the relay process */
	char	 slot[64];
	char	 state[16];	   /* "connecting", "streaming", "waiting" */
	char	 delivery[32]; /* "best_effort" or "durable" */
	uint64_t uptime_ms;
	uint64_t confirmed_lsn; /* slot position when streaming (re)began */
	uint64_t received_lsn;	/* last position read from the slot */
	uint64_t flushed_lsn;	/* last position confirmed to the slot */
	uint64_t server_lsn;	/* server's WAL end as last reported */
	uint64_t lag_bytes;		/* server_lsn - flushed_lsn */
	uint64_t last_seq;		/* seq of the last bus message */
	uint64_t subscribers;	/* bus connections right now */
	uint64_t transactions;
	uint64_t changes;
	uint64_t messages;
	uint64_t heartbeats;
	uint64_t bytes; /* bytes published */
	uint64_t publish_errors;
	uint64_t reconnects;
	uint64_t control_requests;
	uint64_t durable_consumers;	 /* configured (docs/DELIVERY.md) */
	uint64_t min_acked_lsn;		 /* lowest whole-transaction ack of them */
	uint64_t consumer_lag_bytes; /* received_lsn - min_acked_lsn */
	uint64_t consumers_over_lag_limit;
	uint64_t lag_limit_crossings; /* times one went over the limit */
	uint64_t window_bytes;		  /* replay window in memory */
	uint64_t window_messages;
	uint64_t paused; /* 1: stream paused on a full window */
	uint64_t replays;
	uint64_t rewinds;
	uint64_t txn_heartbeats;
	uint32_t nconsumers; /* the durable consumers, each: */
	struct
	{
		char	 name[64];
		bool	 connected; /* made a request within its timeout */
		uint64_t acked_lsn; /* end LSN of its last whole-txn ack */
		uint64_t lag_bytes; /* received_lsn - acked_lsn */
		bool	 over_lag_limit;
		uint64_t acks;
		uint64_t rewinds;
	} consumers[16];
	uint64_t frames;		   /* "changes" frames published (bus layout
								* 2; last, so that the fields above keep
								* their places) */
	uint64_t schema_events;	   /* events published on _schema */
	uint64_t control_refusals; /* control requests refused by the
								* relay's control_allow (last, like
								* frames) */
} walbus_relay_status;

/*
 * Connect to a relay.  Dialing is asynchronous: a relay that is not up
 * yet is retried in the background.  On failure *out is NULL and errbuf
 * says why.
 */
extern WALBUS_API int  walbus_open(walbus_client	   **out,
								   const walbus_options *opts, char *errbuf,
								   size_t errlen);
extern WALBUS_API void walbus_close(walbus_client *c);

/*
 * Subscriptions.  A filter is a topic as it appears on the bus
 * ("public.contacts", "_msg.audit", "_txn", "_hb", "_schema"), or a prefix
 * of topics when it ends in '*' ("public.*" for a schema, "*" for every
 * table).  Names that are empty, start with '_' or contain '.' or '"' are
 * written in double quotes in topics; the _table and _schema forms quote
 * for you.
 *
 * Subscriptions follow tables, not names: once a table was selected, its
 * schema events are delivered (WALBUS_SCHEMA, in stream order, before the
 * first change under a new definition) and, when it is renamed or moved
 * to another schema, its changes keep coming under the new topic without
 * a new subscription.  "_schema" selects the events of every table.
 */
extern WALBUS_API int walbus_subscribe(walbus_client *c, const char *filter);
extern WALBUS_API int walbus_unsubscribe(walbus_client *c, const char *filter);
extern WALBUS_API int walbus_subscribe_table(walbus_client *c,
											 const char	   *schema,
											 const char	   *table);
extern WALBUS_API int walbus_subscribe_schema(walbus_client *c,
											  const char	*schema);

/*
 * Receive the next change of a subscribed topic, waiting at most
 * timeout_ms (-1: forever, 0: do not wait).  Returns WALBUS_OK with *out
 * filled, WALBUS_ETIMEDOUT, WALBUS_EGAP (a loss was detected; the next
 * calls return the changes of the frame that revealed it), WALBUS_EPROTO (a
 * malformed frame was skipped), WALBUS_ESCHEMA (*out is filled but table
 * is NULL), or an error.  When the change's table cannot be looked up for
 * now (WALBUS_ECONTROL, WALBUS_ETIMEDOUT or WALBUS_ENOMEM from the schema
 * request), the change is not consumed: the next call returns it again.
 */
extern WALBUS_API int walbus_recv(walbus_client *c, walbus_change *out,
								  int timeout_ms);

/*
 * Durable consumers: acknowledge ch (a change returned by walbus_recv, or
 * any later one) and everything delivered before it, once the worker has
 * durably applied it.  Acks are sent to the relay at most every 100 ms and
 * whenever walbus_recv waits; walbus_flush_acks sends the latest now (call
 * it before a clean exit; walbus_close does too).  WALBUS_EINVAL without a
 * consumer name.
 */
extern WALBUS_API int walbus_ack(walbus_client *c, const walbus_change *ch);
extern WALBUS_API int walbus_flush_acks(walbus_client *c);

/*
 * Durable consumers that buffer: tell the relay that its replay window may
 * forget ch (a change returned by walbus_recv) and everything before it,
 * although the worker has NOT applied it yet.  The relay keeps what a
 * consumer has not acknowledged, up to its window, and then waits; a
 * worker that applies a transaction only once it has its commit would
 * wait for the commit forever, and the relay for its acks.  Released
 * changes do not count as applied: only walbus_ack moves the consumer's
 * position and lets PostgreSQL forget a transaction, so after a crash the
 * slot still has them.  But they are gone from the window, and the library
 * cannot give them again by itself: a worker that uses walbus_release must
 * store its own position (the (commit_lsn, pos) of the last change it
 * applied, in the same transaction as its write) and pass it as
 * resume_commit_lsn/resume_pos when it starts; the relay then rewinds from
 * the slot, and nothing is lost.  Sent with the acks (same cadence);
 * WALBUS_EINVAL without a consumer name.
 */
extern WALBUS_API int walbus_release(walbus_client		 *c,
									 const walbus_change *ch);

/*
 * A descriptor that polls readable when a bus frame has arrived.  One
 * frame holds many changes, and a durable consumer also acks and replays
 * inside walbus_recv: once it polls readable, call walbus_recv with
 * timeout 0 until it returns WALBUS_ETIMEDOUT before polling again, and
 * poll with a timeout (at most the silence_ms of a durable consumer).
 */
extern WALBUS_API int walbus_recv_fd(walbus_client *c, int *fd);

/*
 * Ask the relay to read table schema.table into the stream while it flows
 * (docs/BACKFILL.md): its rows come as WALBUS_READ changes on the table's
 * topic, framed by WALBUS_BACKFILL events.  *id (may be NULL) is the
 * backfill's id; a backfill of the table already queued is not repeated.
 * Needs a control URL.
 */
extern WALBUS_API int walbus_backfill(walbus_client *c, const char *schema,
									  const char *table, uint64_t *id);

/*
 * Ask the relay for its status (needs a control URL) and fill the first
 * size bytes of *st (sizeof the caller's walbus_relay_status; see its
 * comment).  On failure those bytes are zero.
 */
extern WALBUS_API int walbus_relay_status_fetch(walbus_client		*c,
												walbus_relay_status *st,
												size_t				 size);

/*
 * walbus_relay_status_get(c, st) is walbus_relay_status_fetch with the
 * caller's sizeof(*st), so that existing callers compile unchanged and get
 * the size rule.  The function of that name, for callers that reach it by
 * symbol (another language, a function pointer), fills the struct as it
 * was in libwalbus 0.3, up to control_refusals.
 */
extern WALBUS_API int walbus_relay_status_get(walbus_client		  *c,
											  walbus_relay_status *st);
#define walbus_relay_status_get(c, st) \
	walbus_relay_status_fetch((c), (st), sizeof(*(st)))

/* What a status field holds; the kinds may grow, treat others as UINT. */
typedef enum walbus_status_kind
{
	WALBUS_STATUS_UINT, /* a counter, an id or a size */
	WALBUS_STATUS_LSN,	/* a WAL position */
	WALBUS_STATUS_FLAG, /* 0 or 1 */
	WALBUS_STATUS_STR	/* text */
} walbus_status_kind;

typedef struct walbus_status_value
{
	walbus_status_kind kind;
	uint64_t		   u; /* UINT, LSN, FLAG */
	const char		  *s; /* STR ("" otherwise) */
} walbus_status_value;

/*
 * The i-th field (from 0) of the status the last successful
 * walbus_relay_status_get/_fetch fetched (zeros and empty strings before
 * the first): its name, as on the wire and in walbus-tap's JSON, and its
 * value.  Every top-level field the library knows comes, in the relay's
 * order; the durable consumers are in walbus_relay_status's consumers.
 * Returns WALBUS_OK, or WALBUS_EINVAL once i is past the last field: loop
 * until then.  *name and value->s are valid until the next fetch or
 * walbus_close.
 */
extern WALBUS_API int walbus_relay_status_field(const walbus_client *c,
												size_t i, const char **name,
												walbus_status_value *value);

extern WALBUS_API const char *walbus_errmsg(const walbus_client *c);
extern WALBUS_API void		  walbus_get_stats(const walbus_client *c,
											   walbus_stats		   *stats);
extern WALBUS_API const char *walbus_kind_name(walbus_kind kind);

#ifdef __cplusplus
}
#endif

#endif /* WALBUS_CLIENT_H */
