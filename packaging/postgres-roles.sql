-- Mangodesk on a shared PostgreSQL server: the database and its three roles.
--
-- Run once, as a superuser (or a role with CREATEROLE and CREATEDB), with psql:
--
--   psql -h db.hotel.lan -U postgres -v ON_ERROR_STOP=1 -f packaging/postgres-roles.sql
--
-- Names can be changed with -v db=... -v owner=... -v desk=... -v service=... (the defaults
-- are mangodesk, mangodesk_owner, mangodesk_desk and mangodesk_service). Running it again
-- changes nothing that exists. It sets no passwords: set them afterwards with psql's
-- \password (never in a file), or use certificate or peer login.
--
--   owner    owns the schema and every table; only it changes tables, with
--            `mangodesk db upgrade --owner <owner>`, which then grants the two roles below
--            what they may use, table by table (mangodesk/store/roles.py decides).
--   service  the always-on automation (`mangodesk run`): plans, calls the lock providers,
--            syncs the PMS, sends guest mail.
--   desk     the desk windows: what a desk shows and edits, but not the unmasked text of
--            guest emails, not the engine's lease, and the activity log only to add to.
--            Several desks may share this login, or each gets its own login that is a
--            member of it:  CREATE ROLE reception1 LOGIN IN ROLE mangodesk_desk;
--
-- Secrets (lock-provider tokens, the PMS and SMTP passwords) are never in the database: each
-- computer keeps them in its own password store.

\if :{?db}
\else
  \set db mangodesk
\endif
\if :{?owner}
\else
  \set owner mangodesk_owner
\endif
\if :{?desk}
\else
  \set desk mangodesk_desk
\endif
\if :{?service}
\else
  \set service mangodesk_service
\endif

SELECT format('CREATE ROLE %I LOGIN', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'service')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'service') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'desk')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'desk') \gexec

SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'owner', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec

-- Only the three roles may connect.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"owner", :"service", :"desk";

\connect :"db"

-- The tables live in the public schema, owned by the owner; nobody else may create objects.
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"service", :"desk";
-- No table access here: `mangodesk db upgrade` grants it after it made the tables.
