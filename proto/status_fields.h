/*-------------------------------------------------------------------------
 *
 * status_fields.h
 *	  The fields of the control socket's "status" response, defined once.
 *
 * WBC_STATUS_FIELDS(X) expands X(name, kind, doc) once per top-level field
 * of the response, in the order the relay writes them.  The name is the
 * msgpack key, the member of wbc_status and of libwalbus's
 * walbus_relay_status, and walbus-tap's JSON key, so a field is spelled
 * the same everywhere.  The kind says what the value is:
 *
 *	UINT	a counter, an id or a size: msgpack uint, a JSON number
 *	LSN		a WAL position: msgpack uint, "X/X" text in walbus-tap
 *	FLAG	0 or 1: msgpack uint (as it always was), a JSON boolean
 *	STR		msgpack str; a char array in walbus_relay_status
 *
 * What is generated from this list: wbc_status's members
 * (walbus_control.h), the codec's encoder and decoder (control_msg.c),
 * libwalbus's copy into walbus_relay_status and its by-name iteration
 * (client/control_client.c), and through that iteration walbus-tap's
 * --status JSON.  What is not: the relay's values (relay/control.c's
 * wr_control_status computes each one), the public struct (its layout is
 * ABI and older than this list, so it is written out; the library's copy
 * names every member, and a field missing there does not compile), the
 * per-consumer maps under "consumers" (seven fields of another shape,
 * written out in those same files) and the Prometheus names of
 * relay/metrics.c (other names and types, chosen for Prometheus).
 *
 * Adding a field: append a line at the end (never in the middle: the wire
 * order and the public struct's layout keep their places), compute it in
 * wr_control_status, append a member at the end of walbus_relay_status,
 * and document it in docs/PROTOCOL.md (E7.1).  Readers skip keys they do
 * not know, so older workers keep working.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_STATUS_FIELDS_H
#define WALBUS_STATUS_FIELDS_H

#define WBC_STATUS_FIELDS(X) \
	X(run, UINT, "random id of this relay process (as in frames)") \
	X(slot, STR, "replication slot") \
	X(state, STR, "connecting, streaming or waiting") \
	X(delivery, STR, "best_effort, or durable with durable consumers") \
	X(uptime_ms, UINT, "since the process started") \
	X(confirmed_lsn, LSN, "the slot's position when streaming (re)began") \
	X(received_lsn, LSN, "last position read from the slot") \
	X(flushed_lsn, LSN, "last position reported to the slot as flushed") \
	X(server_lsn, LSN, "the server's WAL end, from its last message") \
	X(lag_bytes, UINT, "server_lsn - flushed_lsn") \
	X(last_seq, UINT, "seq of the last bus frame") \
	X(subscribers, UINT, "bus connections right now") \
	X(transactions, UINT, "transactions published") \
	X(changes, UINT, "insert, update, delete and truncate changes") \
	X(frames, UINT, "\"changes\" frames published") \
	X(schema_events, UINT, "events published on _schema") \
	X(messages, UINT, "logical decoding messages published") \
	X(heartbeats, UINT, "_hb frames published") \
	X(bytes, UINT, "bytes published") \
	X(publish_errors, UINT, "frames that could not be published") \
	X(reconnects, UINT, "reconnections to PostgreSQL") \
	X(control_requests, UINT, "control requests, this one included") \
	X(control_refusals, UINT, "control requests refused by control_allow") \
	X(durable_consumers, UINT, "durable consumers configured") \
	X(min_acked_lsn, LSN, "lowest whole-transaction ack among them") \
	X(consumer_lag_bytes, UINT, "received_lsn - min_acked_lsn") \
	X(consumers_over_lag_limit, UINT, "consumers over lag_limit now") \
	X(lag_limit_crossings, UINT, "times a consumer went over lag_limit") \
	X(window_bytes, UINT, "replay window: bytes") \
	X(window_messages, UINT, "replay window: frames") \
	X(paused, FLAG, "the stream waits for a durable consumer") \
	X(replays, UINT, "replay requests served") \
	X(rewinds, UINT, "stream restarts for a consumer") \
	X(txn_heartbeats, UINT, "transactional heartbeats written")

#endif /* WALBUS_STATUS_FIELDS_H */
