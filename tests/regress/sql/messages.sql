-- Logical decoding messages (docs/PROTOCOL.md §4 M): a transactional
-- message belongs to its transaction (and opens it like a change); a
-- non-transactional one is sent at once, even if its transaction aborts.
-- The option messages=false drops both kinds.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE msg_t (id serial PRIMARY KEY, v text);
CREATE TABLE msg_nopk (v text);

-- alone in a transaction
SELECT 'msg' FROM pg_logical_emit_message(true, 'walbus_test', 'transactional, alone');
SELECT 'msg' FROM pg_logical_emit_message(false, 'walbus_test', 'non-transactional, alone');
-- inside a transaction with changes: the non-transactional one comes
-- first, before the transaction commits
BEGIN;
INSERT INTO msg_t (v) VALUES ('first');
SELECT 'msg' FROM pg_logical_emit_message(true, 'walbus_test', 'between the inserts');
SELECT 'msg' FROM pg_logical_emit_message(false, 'walbus_test', 'emitted mid-transaction');
INSERT INTO msg_t (v) VALUES ('second');
COMMIT;
-- with only ineligible changes, the message alone makes the transaction
BEGIN;
INSERT INTO msg_nopk VALUES ('ignored');
SELECT 'msg' FROM pg_logical_emit_message(true, 'walbus_test', 'next to an ineligible change');
COMMIT;
-- aborted: the transactional message is gone, the other one is not
BEGIN;
SELECT 'msg' FROM pg_logical_emit_message(true, 'walbus_test', 'rolled back');
SELECT 'msg' FROM pg_logical_emit_message(false, 'walbus_test', 'survives the rollback');
ROLLBACK;
-- binary content, an empty one, and a non-ASCII prefix
SELECT 'msg' FROM pg_logical_emit_message(true, 'préfixe', '\x00ff'::bytea);
SELECT 'msg' FROM pg_logical_emit_message(true, '', '');

SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
-- messages off: only the inserts remain
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'messages', 'false') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE msg_t, msg_nopk;
