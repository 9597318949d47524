#!/usr/bin/env bash
# Redis that fails over, for the local stack: two redis-servers (one primary, one replica) and
# three Redis Sentinels (Debian's redis-sentinel) with a quorum of 2, on their own ports (the
# single Redis of deploy/local/stack.sh on 6379 is not touched).
#
#   deploy/local/redis-ha.sh start      start the nodes and sentinels that are not running; idempotent
#   deploy/local/redis-ha.sh stop       stop them (SIGTERM, then SIGKILL after 10 s); idempotent
#   deploy/local/redis-ha.sh status     one line per process, with its role; then the sentinels'
#                                       primary. Exit 3 if anything is stopped.
#   deploy/local/redis-ha.sh url        the ATT_REDIS_URL that finds the primary through the sentinels
#
# Point the pipeline at it with   ATT_REDIS_URL="$(deploy/local/redis-ha.sh url)" att score …
# Try a failover with             redis-cli -p 26390 SENTINEL FAILOVER att-redis
# or kill the primary (kill -9 "$(cat .local/redis-ha/run/node-<port>.pid)") and watch status.
#
# Nodes keep an append-only file (appendfsync everysec), noeviction, like stack.sh's Redis. A node
# started while the sentinels already know a primary starts as its replica (so a killed old
# primary comes back as a replica, never as a second primary); otherwise the first node is the
# primary and the second its replica; start returns once every replica is in sync. Sentinels
# rewrite their own config file with what they learn (the current primary, the other sentinels),
# so it is written once, on the first start.
# Replication is asynchronous: a write acknowledged by the primary less than a moment before it
# dies may be missing on the promoted replica (docs/operations.md says what that means here).
#
# Environment:
#   ATT_LOCAL_DIR (<repo>/.local; state in <ATT_LOCAL_DIR>/redis-ha)
#   ATT_REDIS_HA_NODE_PORTS (6380,6381)  ATT_REDIS_HA_SENTINEL_PORTS (26390,26391,26392)
#   ATT_REDIS_HA_MASTER (att-redis: the master name)  ATT_REDIS_HA_QUORUM (2)
#   ATT_REDIS_HA_DOWN_AFTER_MS (5000: sentinel down-after-milliseconds)
#   ATT_REDIS_HA_FAILOVER_TIMEOUT_MS (60000: sentinel failover-timeout)
#   ATT_REDIS_WAIT_S (30)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/deploy/local"
LOCAL="${ATT_LOCAL_DIR:-$REPO/.local}"
mkdir -p "$LOCAL"
LOCAL="$(cd "$LOCAL" && pwd)"
HA="$LOCAL/redis-ha"
RUN="$HA/run"
LOGS="$HA/logs"
IFS=, read -r -a NODE_PORTS <<<"${ATT_REDIS_HA_NODE_PORTS:-6380,6381}"
IFS=, read -r -a SENTINEL_PORTS <<<"${ATT_REDIS_HA_SENTINEL_PORTS:-26390,26391,26392}"
MASTER="${ATT_REDIS_HA_MASTER:-att-redis}"
QUORUM="${ATT_REDIS_HA_QUORUM:-2}"
DOWN_AFTER_MS="${ATT_REDIS_HA_DOWN_AFTER_MS:-5000}"
FAILOVER_TIMEOUT_MS="${ATT_REDIS_HA_FAILOVER_TIMEOUT_MS:-60000}"
WAIT_S="${ATT_REDIS_WAIT_S:-30}"

log() { printf '[redis-ha] %s\n' "$*"; }
die() {
  printf '[redis-ha] ERROR: %s\n' "$*" >&2
  exit 1
}
now_ms() { date +%s%3N; }
since() {
  local d=$(($(now_ms) - $1))
  printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

cli() { # cli <port> <args...>: one redis-cli call with a short timeout
  timeout 3 redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null
}

pid_alive() { # pid_alive <pid>: alive and not a zombie
  local st
  st="$(sed -n 's/^[0-9]* ([^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)"
  [ -n "$st" ] && [ "$st" != Z ]
}

running() { # running <pidfile>: its pid if that process is alive (servers remove the file on exit)
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && pid_alive "$pid" && echo "$pid"
}

ensure_installed() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-sentinel >/dev/null 2>&1 &&
    command -v redis-cli >/dev/null 2>&1 && return 0
  log "redis-server or redis-sentinel missing: running deploy/local/stack.sh install"
  "$HERE/stack.sh" install
}

wait_for() { # wait_for <port> <what>: until PING answers PONG (not LOADING)
  local i
  for i in $(seq 1 $((WAIT_S * 10))); do
    [ "$(cli "$1" ping)" = PONG ] && return 0
    sleep 0.1
  done
  die "$2 on 127.0.0.1:$1 did not answer PING within $WAIT_S s (see $LOGS)"
}

known_primary() { # the primary the running sentinels name, as "host port"; empty if none answers
  local p r
  for p in "${SENTINEL_PORTS[@]}"; do
    r="$(cli "$p" SENTINEL get-master-addr-by-name "$MASTER" | tr '\n' ' ')"
    if [ -n "${r// /}" ]; then
      echo "$r"
      return 0
    fi
  done
}

node_start() { # node_start <port> [primary host] [primary port]
  local port="$1" pf t0
  pf="$RUN/node-$port.pid"
  if running "$pf" >/dev/null; then
    log "node $port: already running (pid $(cat "$pf"))"
    return 0
  fi
  t0="$(now_ms)"
  mkdir -p "$HA/node-$port"
  rm -f "$pf"
  echo "=== $(date -Is) starting redis node on 127.0.0.1:$port${2:+ as replica of $2:$3}" >>"$LOGS/node-$port.log"
  # repl-diskless-sync-delay 0: a primary starts a replica's first sync at once (Redis waits 5 s
  # by default, for more replicas to share the transfer).
  local args=(--port "$port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec
    --dir "$HA/node-$port" --maxmemory-policy noeviction --repl-diskless-sync-delay 0
    --daemonize yes --pidfile "$pf" --logfile "$LOGS/node-$port.log")
  [ -n "${2:-}" ] && args+=(--replicaof "$2" "$3")
  redis-server "${args[@]}" </dev/null 9>&-
  wait_for "$port" "node $port"
  [ -n "${2:-}" ] && wait_synced "$port"
  log "node $port: ready (pid $(cat "$pf"), ${2:+replica of $2:$3 in sync, }$(since "$t0") s)"
}

wait_synced() { # wait_synced <port>: until the replica's link to its primary is up (first sync done)
  local i
  for i in $(seq 1 $((WAIT_S * 10))); do
    cli "$1" INFO replication | grep -q '^master_link_status:up' && return 0
    sleep 0.1
  done
  die "node $1: not in sync with its primary within $WAIT_S s (see $LOGS/node-$1.log)"
}

sentinel_start() { # sentinel_start <port> <primary host> <primary port>
  local port="$1" pf conf t0
  pf="$RUN/sentinel-$port.pid"
  conf="$HA/sentinel-$port.conf"
  if running "$pf" >/dev/null; then
    log "sentinel $port: already running (pid $(cat "$pf"))"
    return 0
  fi
  t0="$(now_ms)"
  rm -f "$pf"
  if [ ! -s "$conf" ]; then
    cat >"$conf" <<EOF
port $port
bind 127.0.0.1
daemonize yes
pidfile $pf
logfile $LOGS/sentinel-$port.log
dir $HA
sentinel monitor $MASTER $2 $3 $QUORUM
sentinel down-after-milliseconds $MASTER $DOWN_AFTER_MS
sentinel failover-timeout $MASTER $FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $MASTER 1
EOF
  fi
  redis-sentinel "$conf" </dev/null 9>&-
  wait_for "$port" "sentinel $port"
  log "sentinel $port: ready (pid $(cat "$pf"), $(since "$t0") s)"
}

cmd_start() {
  ensure_installed
  mkdir -p "$RUN" "$LOGS"
  exec 9>"$HA/.lock"
  flock -w 60 9 || die "another redis-ha.sh holds $HA/.lock"
  local primary host pport p
  primary="$(known_primary || true)"
  if [ -n "$primary" ]; then
    read -r host pport <<<"$primary"
    for p in "${NODE_PORTS[@]}"; do
      if [ "$p" = "$pport" ]; then node_start "$p"; else node_start "$p" "$host" "$pport"; fi
    done
  else
    host=127.0.0.1
    pport="${NODE_PORTS[0]}"
    node_start "$pport"
    for p in "${NODE_PORTS[@]:1}"; do node_start "$p" "$host" "$pport"; done
  fi
  for p in "${SENTINEL_PORTS[@]}"; do sentinel_start "$p" "$host" "$pport"; done
  log "url: $(cmd_url)"
}

stop_pidfile() { # stop_pidfile <pidfile> <what>
  local pid i
  if ! pid="$(running "$1")"; then
    log "$2: not running"
    rm -f "$1"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    log "$2: still alive after 10 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
  log "$2: stopped (pid $pid)"
}

cmd_stop() {
  [ -d "$RUN" ] || {
    log "nothing to stop ($RUN does not exist)"
    return 0
  }
  local p
  for p in "${SENTINEL_PORTS[@]}"; do stop_pidfile "$RUN/sentinel-$p.pid" "sentinel $p"; done
  for p in "${NODE_PORTS[@]}"; do stop_pidfile "$RUN/node-$p.pid" "node $p"; done
}

cmd_status() {
  local p pid rc=0 role primary
  for p in "${NODE_PORTS[@]}"; do
    if pid="$(running "$RUN/node-$p.pid")"; then
      role="$(cli "$p" ROLE | head -1)"
      printf '%-14s running  pid %-8s %-8s 127.0.0.1:%s\n' "node" "$pid" "${role:-?}" "$p"
    else
      printf '%-14s stopped                     127.0.0.1:%s\n' "node" "$p"
      rc=3
    fi
  done
  for p in "${SENTINEL_PORTS[@]}"; do
    if pid="$(running "$RUN/sentinel-$p.pid")"; then
      printf '%-14s running  pid %-8s %-8s 127.0.0.1:%s\n' "sentinel" "$pid" "" "$p"
    else
      printf '%-14s stopped                     127.0.0.1:%s\n' "sentinel" "$p"
      rc=3
    fi
  done
  primary="$(known_primary || true)"
  printf 'primary of %s (per sentinels): %s\n' "$MASTER" "${primary:-unknown}"
  return $rc
}

cmd_url() {
  local p hosts=()
  for p in "${SENTINEL_PORTS[@]}"; do hosts+=("127.0.0.1:$p"); done
  local IFS=,
  echo "redis+sentinel://${hosts[*]}/$MASTER"
}

usage() { sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p'; }

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) cmd_url ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
