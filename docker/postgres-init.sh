#!/bin/sh
# First start of the postgres container: the owner role (runs migrations, owns the tables) and
# the runtime role (web, worker, beat: no superuser, no BYPASSRLS, owns nothing).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE k12cloud_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE
  PASSWORD '${DATABASE_OWNER_PASSWORD}';
CREATE ROLE k12cloud_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB
  PASSWORD '${DATABASE_APP_PASSWORD}';
CREATE DATABASE k12cloud OWNER k12cloud_owner;
SQL
