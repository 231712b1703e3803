#!/usr/bin/env bash
# A 3-node NATS cluster with JetStream on loopback (deploy/nats-cluster/n{1,2,3}.conf), for R3
# streams: `NATS_STREAM_REPLICAS=3 NATS_URL=nats://127.0.0.1:4231,nats://127.0.0.1:4232,nats://127.0.0.1:4233
# banditd streams ensure`.
#
#   deploy/nats-cluster.sh start    start the nodes that are not running, wait for a JetStream meta leader
#   deploy/nats-cluster.sh status   each node's pid and the meta leader; exit 0 iff all three run and agree
#   deploy/nats-cluster.sh stop     SIGTERM the nodes this script started (by their pid files), wait
#
# Ports: clients 4231-4233, routes 6231-6233, monitoring 8231-8233.
# NATS_CLUSTER_DATA: stores, logs and pid files (default .local/nats-cluster, git-ignored).
# NATS_SERVER: the nats-server binary (default: nats-server on PATH, else /usr/sbin/nats-server).
# NATS_CLUSTER_WAIT_S: how long `start` waits for the meta leader (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
conf_dir="$root/deploy/nats-cluster"
data=${NATS_CLUSTER_DATA:-$root/.local/nats-cluster}
server=${NATS_SERVER:-$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)}
wait_s=${NATS_CLUSTER_WAIT_S:-30}
nodes=(1 2 3)

pid_of() {
  local file="$data/n$1.pid"
  [ -f "$file" ] || return 1
  local pid
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# The meta leader a node reports on its monitoring port (/jsz), or nothing.
leader_of() {
  curl -fsS --max-time 2 "http://127.0.0.1:823$1/jsz" 2>/dev/null |
    tr -d '\n ' | grep -o '"meta_cluster":{[^}]*' | grep -o '"leader":"[^"]*"' | cut -d'"' -f4 || true
}

# Prints the leader once every node names the same one; fails otherwise.
agreed_leader() {
  local first="" n leader
  for n in "${nodes[@]}"; do
    leader=$(leader_of "$n")
    [ -n "$leader" ] || return 1
    if [ -z "$first" ]; then first=$leader; elif [ "$leader" != "$first" ]; then return 1; fi
  done
  echo "$first"
}

start() {
  [ -x "$server" ] || { echo "nats-server not found (set NATS_SERVER)" >&2; exit 1; }
  mkdir -p "$data"
  local n
  for n in "${nodes[@]}"; do
    if pid=$(pid_of "$n"); then
      echo "n$n already running (pid $pid)"
      continue
    fi
    # Each node runs in the data folder, so the relative store_dir of its config lands there.
    (cd "$data" && exec setsid "$server" -c "$conf_dir/n$n.conf" -l "$data/n$n.log" </dev/null >/dev/null 2>&1) &
    echo $! >"$data/n$n.pid"
    echo "n$n started (pid $!, client nats://127.0.0.1:423$n, log $data/n$n.log)"
  done
  local deadline=$((SECONDS + wait_s)) leader
  until leader=$(agreed_leader); do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "no JetStream meta leader after ${wait_s}s; see $data/n*.log" >&2
      exit 1
    fi
    for n in "${nodes[@]}"; do
      pid_of "$n" >/dev/null || { echo "n$n exited; see $data/n$n.log" >&2; tail -n 5 "$data/n$n.log" >&2; exit 1; }
    done
    sleep 0.2
  done
  echo "JetStream meta leader: $leader"
  echo "NATS_URL=nats://127.0.0.1:4231,nats://127.0.0.1:4232,nats://127.0.0.1:4233"
}

status() {
  local n ok=0 leader
  for n in "${nodes[@]}"; do
    if pid=$(pid_of "$n"); then
      echo "n$n running (pid $pid), meta leader: $(leader_of "$n")"
    else
      echo "n$n stopped"
      ok=1
    fi
  done
  if leader=$(agreed_leader); then echo "JetStream meta leader: $leader"; else echo "no agreed meta leader"; ok=1; fi
  return $ok
}

stop() {
  local n pid
  for n in "${nodes[@]}"; do
    if pid=$(pid_of "$n"); then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
      echo "n$n stopped (pid $pid)"
    fi
    rm -f "$data/n$n.pid"
  done
}

case "${1:-}" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
