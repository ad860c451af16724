-- WITHDRAWN records of protocol version 2 (docs/PROTOCOL.md §4 X): a table
-- whose RELATION the session sent and that leaves the stream gets one
-- ['X', relid, dropped, reason].  A table that became ineligible gets it
-- at its next change (PostgreSQL tells the plugin of nothing before),
-- with the sentence walbus_eligibility gives; a dropped table in the
-- DROP's own transaction.  After an X, the table's next RELATION is sent
-- even if it is the same.  A version-1 session over the same changes
-- sends no X, and no RELATION the consumer already holds.
CREATE FUNCTION walbus_eligibility(regclass) RETURNS text
    AS 'walbus', 'walbus_eligibility_sql' LANGUAGE C STRICT STABLE;
\pset format unaligned
\pset tuples_only on
SET client_min_messages = warning;
DROP ROLE IF EXISTS walbus_wd_reader;
DROP ROLE IF EXISTS walbus_wd_stranger;
RESET client_min_messages;
CREATE ROLE walbus_wd_reader LOGIN REPLICATION;
CREATE ROLE walbus_wd_stranger NOLOGIN;

SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE wd_owned (id serial PRIMARY KEY, v text);
ALTER TABLE wd_owned OWNER TO walbus_wd_reader;
CREATE TABLE wd_key (id serial PRIMARY KEY, v text);
ALTER TABLE wd_key OWNER TO walbus_wd_reader;
CREATE TABLE wd_marker (id serial PRIMARY KEY, v text);
ALTER TABLE wd_marker OWNER TO walbus_wd_reader;

-- owned by a role the stream's role is not a member of: withdrawn at the
-- next change, once; back with its owner: described again
INSERT INTO wd_owned (v) VALUES ('eligible');
ALTER TABLE wd_owned OWNER TO walbus_wd_stranger;
SET ROLE walbus_wd_reader;
SELECT walbus_eligibility('wd_owned');
RESET ROLE;
INSERT INTO wd_owned (v) VALUES ('refused: withdrawn');
INSERT INTO wd_owned (v) VALUES ('refused again: nothing');
ALTER TABLE wd_owned OWNER TO walbus_wd_reader;
INSERT INTO wd_owned (v) VALUES ('eligible again: the same RELATION again');

-- the primary key dropped, then added back; a TRUNCATE is a change too
INSERT INTO wd_key (v) VALUES ('eligible');
ALTER TABLE wd_key DROP CONSTRAINT wd_key_pkey;
UPDATE wd_key SET v = 'no key: withdrawn';
ALTER TABLE wd_key ADD PRIMARY KEY (id);
INSERT INTO wd_key (v) VALUES ('key back');
ALTER TABLE wd_key DROP CONSTRAINT wd_key_pkey;
TRUNCATE wd_key;
ALTER TABLE wd_key ADD PRIMARY KEY (id);
INSERT INTO wd_key (v) VALUES ('key back again');

-- a partition's changes are published as its root: the root is withdrawn,
-- with the root's own sentence; a partition refused for its own replica
-- identity withdraws nothing, since the root's other partitions still flow
CREATE TABLE wd_root (id serial PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE wd_part1 PARTITION OF wd_root FOR VALUES FROM (1) TO (100);
CREATE TABLE wd_part2 PARTITION OF wd_root FOR VALUES FROM (100) TO (200);
ALTER TABLE wd_root OWNER TO walbus_wd_reader;
INSERT INTO wd_root (id, v) VALUES (1, 'eligible');
ALTER TABLE wd_part2 REPLICA IDENTITY NOTHING;
INSERT INTO wd_root (id, v) VALUES (100, 'partition refused: nothing');
INSERT INTO wd_root (id, v) VALUES (2, 'other partition: still published');
ALTER TABLE wd_root OWNER TO walbus_wd_stranger;
INSERT INTO wd_root (id, v) VALUES (3, 'root refused: withdrawn');
ALTER TABLE wd_root OWNER TO walbus_wd_reader;
INSERT INTO wd_root (id, v) VALUES (4, 'eligible again');

-- a table never described in this session is never withdrawn
CREATE TABLE wd_never (id serial PRIMARY KEY, v text);
ALTER TABLE wd_never OWNER TO walbus_wd_stranger;
INSERT INTO wd_never (v) VALUES ('never eligible: nothing');
DROP TABLE wd_never;

-- dropped: in the DROP's own transaction, which is otherwise empty here,
-- and before the COMMIT of a transaction with other changes
DROP TABLE wd_owned;
BEGIN;
INSERT INTO wd_marker (v) VALUES ('in the transaction of DROP TABLE wd_root');
DROP TABLE wd_root;
COMMIT;
INSERT INTO wd_marker (v) VALUES ('the next transaction');

-- withdrawn, then dropped: the consumer already knows, no second X
ALTER TABLE wd_key OWNER TO walbus_wd_stranger;
INSERT INTO wd_key (v) VALUES ('refused: withdrawn');
DROP TABLE wd_key;

SET ROLE walbus_wd_reader;
SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '2') \g |walbus-dump --hex --stable
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
RESET ROLE;

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE wd_marker;
DROP ROLE walbus_wd_reader;
DROP ROLE walbus_wd_stranger;
DROP FUNCTION walbus_eligibility(regclass);
