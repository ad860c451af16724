-- Encoding (docs/PROTOCOL.md §4, §5): every string on the wire is UTF-8,
-- whatever the database encoding: names, text values, text output of
-- other types, message prefixes.  Message contents are bytes, unchanged.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS walbus_latin1;
RESET client_min_messages;
CREATE DATABASE walbus_latin1 TEMPLATE template0 ENCODING 'LATIN1' LOCALE 'C';
\c walbus_latin1
SET client_encoding = 'UTF8';
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TYPE humeur AS ENUM ('gaie', 'fâchée');
CREATE TABLE tablé (id serial PRIMARY KEY, libellé text, court varchar(8), fixe char(3), état humeur, mots text[], doc json);
INSERT INTO tablé (libellé, court, fixe, état, mots, doc) VALUES
    ('crème brûlée, £5, ¿qué?', 'àéîõü', 'ñ', 'fâchée', '{"ça","là"}', '{"clé": "valeur é"}');
SELECT 'msg' FROM pg_logical_emit_message(true, 'préfixe', convert_to('contenu é', 'LATIN1'));
-- the server's bytes, as stored (LATIN1): e9 is é
SELECT encode(convert_to(libellé, 'LATIN1'), 'hex') FROM tablé;

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- the same, as bytes: UTF-8 on the wire.  The insert's values array (its
-- last 10 bytes, after the run-dependent relid): 97 (7 values) 02 (id 2)
-- a2 c3 a9 (a 2-byte string: é in UTF-8) c0 x 5 (nulls)
INSERT INTO tablé (libellé) VALUES ('é');
SELECT right(encode(data, 'hex'), 20) FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') WHERE get_byte(data, 1) = ascii('I');

-- a walsender decodes outside any transaction where it can: there, too,
-- with a client encoding that is not UTF-8, non-transactional messages
-- (processed with no transaction at all) and changes convert
SELECT 'msg' FROM pg_logical_emit_message(false, 'ascii', 'non-transactional');
SELECT 'msg' FROM pg_logical_emit_message(false, 'préfixe', 'non-transactional');
INSERT INTO tablé (libellé) VALUES ('après');
SELECT pg_current_wal_lsn() AS endpos \gset
\setenv ENDPOS :endpos
\! PGCLIENTENCODING=LATIN1 timeout 60 pg_recvlogical -d walbus_latin1 -S regression_slot --start --no-loop -E "$ENDPOS" -o proto_version=1 -f - | walbus-dump --stable

SELECT pg_drop_replication_slot('regression_slot');
\c regression
DROP DATABASE walbus_latin1;
