-- postgres-init.sql: what the walbus postgres image makes on its first
-- start (docker/postgres-entrypoint.sh runs it as the superuser, with
-- psql variables db and relay_password).
--
-- Least privilege for the relay (docs/RELAY.md): role walbus_relay logs
-- in and has the REPLICATION attribute, and nothing else; it is a member
-- of app_owner, the role that owns the application's tables, which makes
-- those tables eligible (a table is published only when the connecting
-- role owns it or is a member of its owner).  The application's own
-- sessions would log in as roles granted privileges by app_owner.

CREATE ROLE app_owner NOLOGIN;
CREATE ROLE walbus_relay LOGIN REPLICATION PASSWORD :'relay_password';
GRANT app_owner TO walbus_relay;
CREATE DATABASE :"db" OWNER app_owner;

\connect :"db"
-- the plugin's SQL functions: walbus_tables (why a table is or is not
-- published) and the backfill requests
CREATE EXTENSION walbus;

-- sample tables: one published, one not (its key is not generated)
SET ROLE app_owner;
CREATE SCHEMA shop;
CREATE TABLE shop.items (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text NOT NULL,
    price   numeric(10, 2),
    updated timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.currencies (code text PRIMARY KEY, name text);
RESET ROLE;
