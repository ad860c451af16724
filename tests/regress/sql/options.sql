-- Plugin options (docs/PROTOCOL.md §1, §2): every bad option is an ERROR
-- with a hint, raised before any record is produced, and neither the
-- backend nor the slot is harmed by it.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE opt_t (id serial PRIMARY KEY, v text);
INSERT INTO opt_t (v) VALUES ('kept');

-- without proto_version the stream is version 1 (docs/PROTOCOL.md §1)
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL);
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'messages', 'on');

-- version 2 is supported too (docs/PROTOCOL.md §1)
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '2');

-- proto_version must be an integer in the supported range
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '0');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '99');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '3');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '-1');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', 'abc');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1x');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '99999999999999999999');

-- unknown options, including other plugins' options
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'include_xids', '1');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'p');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'Proto_Version', '1');

-- repeated options, even with the same value
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'proto_version', '1');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'messages', 'true', 'messages', 'false');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'origin', 'any', 'origin', 'any');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'include_tables', 'a', 'include_tables', 'b');

-- bad values
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'origin', 'some');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'origin', '');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'messages', 'maybe');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'include_tables', '');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'exclude_tables', 'opt_t, ,x');

-- walbus writes binary records: the text interface refuses it
SELECT count(*) FROM pg_logical_slot_peek_changes('regression_slot', NULL, NULL, 'proto_version', '1');

-- the backend is still here, and the failed calls consumed nothing
SELECT 'still alive';
SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- valid spellings: origin is case-insensitive, messages any boolean
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1', 'origin', 'NONE', 'messages', 'off');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'origin', 'Any', 'messages', '1', 'proto_version', '1', 'include_tables', ' opt_t , public.* ', 'exclude_tables', 'x?');

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
SELECT count(*) FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1');

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE opt_t;
