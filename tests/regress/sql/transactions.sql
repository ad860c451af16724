-- Transaction framing (docs/PROTOCOL.md §4 B/C, §6): BEGIN and COMMIT only
-- around something emitted; savepoint rollbacks already applied; aborted
-- transactions absent; transactions in commit order.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE tx_t (id serial PRIMARY KEY, v text);
CREATE TABLE tx_nopk (v text);

-- empty transactions, with and without an xid: nothing
BEGIN;
COMMIT;
BEGIN;
SELECT 'xid' FROM txid_current();
COMMIT;
-- only ineligible changes, even many of them: nothing
INSERT INTO tx_nopk VALUES ('ineligible');
INSERT INTO tx_nopk SELECT 'ineligible ' || g FROM generate_series(1, 250) g;
-- DDL only: nothing
CREATE TABLE tx_ddl_only (id serial PRIMARY KEY);
-- many skipped changes, then one eligible change
BEGIN;
INSERT INTO tx_nopk SELECT 'skipped ' || g FROM generate_series(1, 250) g;
INSERT INTO tx_t (v) VALUES ('after 250 skipped changes');
UPDATE tx_nopk SET v = v || '!';
COMMIT;
-- a rolled back transaction: nothing
BEGIN;
INSERT INTO tx_t (v) VALUES ('rolled back');
ROLLBACK;
-- savepoints: rolled back parts vanish, released ones stay, in order
BEGIN;
INSERT INTO tx_t (v) VALUES ('top level 1');
SAVEPOINT s1;
INSERT INTO tx_t (v) VALUES ('in s1, rolled back');
SAVEPOINT s2;
INSERT INTO tx_t (v) VALUES ('in s2, inside rolled back s1');
ROLLBACK TO SAVEPOINT s1;
INSERT INTO tx_t (v) VALUES ('top level 2');
SAVEPOINT s3;
INSERT INTO tx_t (v) VALUES ('in s3, released');
UPDATE tx_t SET v = v || ', updated in s3' WHERE v = 'top level 1';
RELEASE SAVEPOINT s3;
SAVEPOINT s4;
DELETE FROM tx_t WHERE v = 'top level 2';
ROLLBACK TO SAVEPOINT s4;
COMMIT;
-- a transaction whose only eligible change was rolled back: nothing
BEGIN;
INSERT INTO tx_nopk VALUES ('kept but ineligible');
SAVEPOINT s;
INSERT INTO tx_t (v) VALUES ('rolled back to savepoint');
ROLLBACK TO SAVEPOINT s;
COMMIT;
-- an error inside a subtransaction (as a plpgsql exception block does)
DO $$
BEGIN
    INSERT INTO tx_t (v) VALUES ('before the failing block');
    BEGIN
        INSERT INTO tx_t (v) VALUES ('in the failing block');
        PERFORM 1 / 0;
    EXCEPTION WHEN division_by_zero THEN
        INSERT INTO tx_t (v) VALUES ('in the handler');
    END;
END
$$;

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- BEGIN's final_lsn (walbus-dump's commit_lsn) is its COMMIT's commit_lsn,
-- and both carry the same commit time: the two (lsn, time) pairs are one
-- pair seen twice
INSERT INTO tx_t (v) VALUES ('check the lsns');
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex | sed -n 's/.*"commit_lsn":"\([^"]*\)".*"commit_time":"\([^"]*\)".*/\1 \2/p' | sort | uniq -c | awk '{print $1}'

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE tx_t, tx_nopk, tx_ddl_only;
