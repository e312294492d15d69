# shellcheck shell=bash
# A private PostgreSQL cluster for scripts/demo --fleet and scripts/bench
# --store postgresql: Debian's server binaries, a data directory of our own
# owned by the `postgres` system user (PostgreSQL refuses to run as root),
# listening on 127.0.0.1 only, with its Unix socket in the same directory.
# The machine's own clusters (pg_ctlcluster) are never touched.

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
PG_USER=postgres

pg_as_owner() { runuser -u "$PG_USER" -- "$@"; }

# pg_private_start DIR PORT PASSWORD_FILE: makes (or reuses) the cluster in
# DIR/data, starts it on 127.0.0.1:PORT, and creates the role and database
# `scepter` whose password it writes to PASSWORD_FILE (0640, group www-data:
# the web server's workers read it; the YAML only names the file).
pg_private_start() {
  local dir=$1 port=$2 password_file=$3 password
  [[ -x $PG_BIN/initdb ]] || { echo "error: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; return 1; }
  mkdir -p "$dir"
  chown "$PG_USER" "$dir"
  chmod 0755 "$dir" # the socket in it is reached by www-data too
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { echo "error: initdb failed; see $dir/initdb.log" >&2; return 1; }
  fi
  pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" start >/dev/null ||
    { echo "error: PostgreSQL did not start; see $dir/postgresql.log" >&2; return 1; }
  password=$(openssl rand -hex 16)
  pg_as_owner "$PG_BIN/psql" -h "$dir" -p "$port" -d postgres -v ON_ERROR_STOP=1 -q -X \
    -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS scepter" -c "DROP ROLE IF EXISTS scepter" \
    -c "CREATE ROLE scepter LOGIN PASSWORD '$password'" -c "CREATE DATABASE scepter OWNER scepter" ||
    { echo "error: could not create the scepter database" >&2; return 1; }
  printf '%s\n' "$password" >"$password_file"
  chgrp www-data "$password_file" 2>/dev/null || true
  chmod 0640 "$password_file"
}

# pg_private_stop DIR: stops the cluster in DIR/data if it runs.
pg_private_stop() {
  local dir=$1
  [[ -f $dir/data/postmaster.pid ]] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}
