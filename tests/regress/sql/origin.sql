-- Origin filtering (docs/PROTOCOL.md §2 origin): with origin 'none',
-- changes made by a session with a replication origin (a sync worker
-- applying remote changes) are not streamed; with 'any' (the default)
-- they are.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');
SELECT 'origin' FROM pg_replication_origin_create('walbus_test_origin');

CREATE TABLE or_t (id serial PRIMARY KEY, v text);
INSERT INTO or_t (v) VALUES ('local, before');
SELECT 'setup' FROM pg_replication_origin_session_setup('walbus_test_origin');
INSERT INTO or_t (v) VALUES ('replayed from the origin');
SELECT 'msg' FROM pg_logical_emit_message(true, 'walbus_test', 'transactional message from the origin');
SELECT 'msg' FROM pg_logical_emit_message(false, 'walbus_test', 'non-transactional message from the origin');
SELECT 'reset' FROM pg_replication_origin_session_reset();
INSERT INTO or_t (v) VALUES ('local, after');

SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'origin', 'any') \g |walbus-dump --hex --stable
SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'origin', 'none') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
SELECT 'drop' FROM pg_replication_origin_drop('walbus_test_origin');
DROP TABLE or_t;
