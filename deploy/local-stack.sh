#!/usr/bin/env bash
# The local stack behind `make run`: a nats-server with JetStream and a PostgreSQL cluster under
# .local/ in the repository (git-ignored), then `banditd migrate`, `banditd streams ensure` and
# `banditd run` in the foreground. Ctrl-C (or any exit) stops the servers again.
#
#   deploy/local-stack.sh run     build, start both servers, run the daemon
#   deploy/local-stack.sh clean   remove .local/
#
# Ports: NATS_PORT (default 4222), PG_PORT (default 55432, to stay clear of a system PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
local_dir="$root/.local"
nats_port=${NATS_PORT:-4222}
pg_port=${PG_PORT:-55432}
pg_bin=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")")

# initdb and pg_ctl refuse to run as root: as root, run them as the postgres user.
as_postgres_prefix=()
if [ "$(id -u)" = 0 ]; then as_postgres_prefix=(runuser -u postgres --); fi
as_postgres() { "${as_postgres_prefix[@]}" "$@"; }

stop_all() {
  set +e
  if [ -n "${nats_pid:-}" ] && kill -0 "$nats_pid" 2>/dev/null; then
    kill "$nats_pid"; wait "$nats_pid" 2>/dev/null
  fi
  if [ -f "$local_dir/pg/data/postmaster.pid" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$local_dir/pg/data" -m fast -w stop >/dev/null
  fi
  echo "local stack stopped"
}

case "${1:-run}" in
  clean)
    rm -rf "$local_dir"
    exit 0
    ;;
  run) ;;
  *) echo "usage: $0 run|clean" >&2; exit 2 ;;
esac

swift build
banditd="$root/.build/debug/banditd"

mkdir -p "$local_dir/nats" "$local_dir/pg"
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# NATS with JetStream, store under .local/nats. The servers run in sessions of their own, so a
# Ctrl-C reaches only banditd, which drains first; this script stops the servers afterwards.
setsid nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$local_dir/nats" >"$local_dir/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 1 100); do
  grep -q "Server is ready" "$local_dir/nats.log" && break
  kill -0 "$nats_pid" 2>/dev/null || { cat "$local_dir/nats.log"; exit 1; }
  sleep 0.1
done
echo "nats-server ready on 127.0.0.1:$nats_port (log: .local/nats.log)"

# PostgreSQL, run as the postgres user when we are root (initdb refuses root).
if [ "$(id -u)" = 0 ]; then chown -R postgres "$local_dir/pg"; chmod o+x "$local_dir" "$root" 2>/dev/null || true; fi
if [ ! -f "$local_dir/pg/data/PG_VERSION" ]; then
  as_postgres "$pg_bin/initdb" -D "$local_dir/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
setsid --wait "${as_postgres_prefix[@]}" "$pg_bin/pg_ctl" -D "$local_dir/pg/data" -l "$local_dir/pg/postgres.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $local_dir/pg" start >/dev/null
as_postgres "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'banditd'" | grep -q 1 \
  || as_postgres "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres banditd
echo "PostgreSQL ready on 127.0.0.1:$pg_port (log: .local/pg/postgres.log)"

export NATS_URL="nats://127.0.0.1:$nats_port"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/banditd"
export BANDITD_HEALTH_SOCKET="$local_dir/health.sock"
export LOG_LEVEL="${LOG_LEVEL:-info}"

"$banditd" migrate
"$banditd" streams ensure
echo "starting banditd (Ctrl-C stops it and the local stack)"
"$banditd" run
