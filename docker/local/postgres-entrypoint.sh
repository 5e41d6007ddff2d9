#!/bin/sh
# The official image's contract, as far as the stack uses it: on an empty $PGDATA, a cluster whose
# superuser is $POSTGRES_USER (password $POSTGRES_PASSWORD), the database $POSTGRES_DB, then the
# *.sql files of /docker-entrypoint-initdb.d; then the server on every interface.
set -eu
: "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}"
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$password"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$password" --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256
  rm -f "$password"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$POSTGRES_DB" != "$POSTGRES_USER" ]; then createdb -U "$POSTGRES_USER" "$POSTGRES_DB"; fi
  for sql in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$sql" ] && psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$sql"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
