#!/usr/bin/env bash
# Checks deploy/local/stack.sh on alternative ports and in a throw-away state dir, so that it does
# not disturb a stack already running on the default ports:
#   - a second `start` starts no second copy (same pids; one java broker, one redis, one anvil);
#   - the services answer (Kafka produce + consume, Redis PING and noeviction, anvil eth_chainId);
#   - `stack.sh kafka <tool>` runs Kafka's CLI tools against this stack's broker (its port by
#     default), prints the tool's output alone on stdout, and refuses an unknown tool;
#   - Redis keeps a key across a SIGKILL and a start (append-only file in <state>/redis-data);
#   - a stale pid file naming an unrelated live process is cleaned up, and that process is not touched;
#   - a port held by a foreign process makes `start` fail with a message naming the env variable;
#   - `stop` leaves no process behind (no pid alive, ports free), and a second `stop` is a no-op;
#   - deploy/local/redis-ha.sh: primary + replica + 3 sentinels start once, a SIGKILLed primary is
#     replaced by the replica and comes back as a replica, stop leaves nothing.
# Exits non-zero on the first failure.
#
#   test/local-stack.sh
# Env: ATT_TEST_KAFKA_PORT (19092) ATT_TEST_KAFKA_CONTROLLER_PORT (19093) ATT_TEST_REDIS_PORT (16379)
#      ATT_TEST_ANVIL_PORT (18545). Reuses <repo>/.local/jars when present (no second download).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="$REPO/deploy/local/stack.sh"
# deploy/local/redis-ha.sh (primary + replica + 3 sentinels) on ports of its own, same state dir.
REDIS_HA="$REPO/deploy/local/redis-ha.sh"
export ATT_REDIS_HA_NODE_PORTS="${ATT_TEST_REDIS_HA_NODE_PORTS:-19520,19521}"
export ATT_REDIS_HA_SENTINEL_PORTS="${ATT_TEST_REDIS_HA_SENTINEL_PORTS:-19530,19531,19532}"
export ATT_REDIS_HA_DOWN_AFTER_MS=1000 ATT_REDIS_HA_FAILOVER_TIMEOUT_MS=3000

export ATT_KAFKA_PORT="${ATT_TEST_KAFKA_PORT:-19092}"
export ATT_KAFKA_CONTROLLER_PORT="${ATT_TEST_KAFKA_CONTROLLER_PORT:-19093}"
export ATT_REDIS_PORT="${ATT_TEST_REDIS_PORT:-16379}"
export ATT_ANVIL_PORT="${ATT_TEST_ANVIL_PORT:-18545}"
export ATT_ANVIL_ARGS=""
STATE="$(mktemp -d "${TMPDIR:-/tmp}/att-local-stack.XXXXXX")"
export ATT_LOCAL_DIR="$STATE"
if [ -f "$REPO/.local/jars/.att-version" ]; then
  export ATT_JARS_DIR="$REPO/.local/jars"
fi

PASSED=0
FAILED=0
HELPERS=()

ok() {
  PASSED=$((PASSED + 1))
  printf 'ok   %s\n' "$*"
}
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL %s\n' "$*" >&2
  exit 1
}
check() { # check <description> <command...>
  local what="$1"
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

cleanup() {
  local rc=$?
  local p
  for p in "${HELPERS[@]}"; do kill "$p" 2>/dev/null || true; done
  "$STACK" stop >/dev/null 2>&1 || true
  "$REDIS_HA" stop >/dev/null 2>&1 || true
  if [ "$rc" != 0 ]; then
    echo "----- logs in $STATE/logs" >&2
    tail -n 30 "$STATE"/logs/*.log >&2 2>/dev/null || true
  fi
  rm -rf "$STATE"
  echo "$PASSED passed, $FAILED failed"
  exit "$rc"
}
trap cleanup EXIT

alive() { # alive and not a zombie (a stopped daemon is reparented to init, which reaps it later)
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }"
  [ "${st:0:1}" != "Z" ]
}
export -f alive # used by `bash -c` checks below
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_of() { cat "$STATE/run/$1.pid" 2>/dev/null || true; }

# count_procs <substring>...: processes whose command line contains every substring
count_procs() {
  local n=0 f cmd s all
  for f in /proc/[0-9]*/cmdline; do
    cmd="$({ tr '\0' ' ' <"$f"; } 2>/dev/null)" || continue
    [ -n "$cmd" ] || continue
    all=1
    for s in "$@"; do
      [[ "$cmd" == *"$s"* ]] || {
        all=0
        break
      }
    done
    [ "$all" = 1 ] && n=$((n + 1))
  done
  echo "$n"
}
count_kafka() { count_procs "kafka.Kafka" "$STATE/conf/server.properties"; }
count_redis() { count_procs "redis-server" "127.0.0.1:$ATT_REDIS_PORT"; }
count_anvil() { count_procs "--port $ATT_ANVIL_PORT" "anvil"; }

for p in "$ATT_KAFKA_PORT" "$ATT_KAFKA_CONTROLLER_PORT" "$ATT_REDIS_PORT" "$ATT_ANVIL_PORT"; do
  if port_open "$p"; then
    echo "port $p is already in use: set ATT_TEST_*_PORT to free ports" >&2
    exit 2
  fi
done

echo "# state dir $STATE, ports kafka $ATT_KAFKA_PORT/$ATT_KAFKA_CONTROLLER_PORT redis $ATT_REDIS_PORT anvil $ATT_ANVIL_PORT"

# ---------------------------------------------------------------- first start
t0=$(date +%s%3N)
"$STACK" start
echo "# first start: $(($(date +%s%3N) - t0)) ms"
K1="$(pid_of kafka)"
R1="$(pid_of redis)"
A1="$(pid_of anvil)"
check "pid files written (kafka=$K1 redis=$R1 anvil=$A1)" test -n "$K1" -a -n "$R1" -a -n "$A1"
check "all three pids alive" alive "$K1"
alive "$R1" && alive "$A1" || fail "redis or anvil pid not alive"
check "status exits 0 with three running lines" bash -c '[ "$("$0" status | grep -c " running ")" = 3 ]' "$STACK"

# ---------------------------------------------------------------- second start
out="$("$STACK" start 2>&1)"
echo "$out" | sed 's/^/  | /'
check "second start says already running for each service" test "$(echo "$out" | grep -c 'already running')" = 3
check "second start kept the same pids" test "$(pid_of kafka) $(pid_of redis) $(pid_of anvil)" = "$K1 $R1 $A1"
check "exactly one kafka broker JVM" test "$(count_kafka)" = 1
check "exactly one redis-server" test "$(count_redis)" = 1
check "exactly one anvil" test "$(count_anvil)" = 1

# ---------------------------------------------------------------- the services answer
check "kafka produce + consume" node --input-type=module -e '
  import { Kafka, logLevel } from "kafkajs";
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
  const kafka = new Kafka({ clientId: "local-stack-test", brokers: [`127.0.0.1:${process.env.ATT_KAFKA_PORT}`], logLevel: logLevel.ERROR });
  const topic = "local-stack-test";
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: "a", value: "hello" }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: "local-stack-test" });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message within 30 s")), 30000);
    consumer.run({ eachMessage: async ({ message }) => { clearTimeout(timer); resolve(message.value.toString()); } });
  });
  await consumer.disconnect();
  if (got !== "hello") throw new Error(`got ${got}`);
' 
check "redis PING and maxmemory-policy noeviction" bash -c \
  '[ "$(redis-cli -p "$ATT_REDIS_PORT" ping)" = PONG ] && redis-cli -p "$ATT_REDIS_PORT" config get maxmemory-policy | grep -qx noeviction'
check "anvil eth_chainId = 31337" node -e '
  fetch(`http://127.0.0.1:${process.env.ATT_ANVIL_PORT}`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) })
    .then((r) => r.json()).then((b) => process.exit(Number(b.result) === 31337 ? 0 : 1), () => process.exit(1));'

# ---------------------------------------------------------------- kafka CLI tools
t0=$(date +%s%3N)
out="$("$STACK" kafka topics --list 2>"$STATE/tool.err")"
echo "# kafka topics --list: $(($(date +%s%3N) - t0)) ms"
check "kafka topics --list (default --bootstrap-server from ATT_KAFKA_PORT) names the test topic" \
  bash -c 'grep -qx local-stack-test <<<"$0"' "$out"
check "the tools log nothing at INFO (stderr empty)" test ! -s "$STATE/tool.err"
check "kafka get-offsets: one record in local-stack-test" \
  test "$("$STACK" kafka get-offsets --topic local-stack-test)" = "local-stack-test:0:1"
check "kafka consumer-groups --describe shows the group's committed offset" bash -c \
  '"$0" kafka consumer-groups --describe --group local-stack-test 2>/dev/null | grep -Eq "^local-stack-test +local-stack-test +0 +1 +1 +0 "' "$STACK"
check "kafka configs (kafka.admin.ConfigCommand, from the broker jar) describes the topic" bash -c \
  '"$0" kafka configs --describe --entity-type topics --entity-name local-stack-test | grep -q "configs for topic local-stack-test"' "$STACK"
check "kafka console-consumer prints the record" bash -c \
  '[ "$("$0" kafka console-consumer --topic local-stack-test --from-beginning --max-messages 1 --property print.key=true 2>/dev/null)" = "$(printf "a\thello")" ]' "$STACK"
set +e
out="$("$STACK" kafka no-such-tool 2>&1)"
rc=$?
set -e
check "an unknown tool exits non-zero and says what is expected" bash -c '[ "$1" != 0 ] && grep -q "expected consumer-groups" <<<"$0"' "$out" "$rc"

# ---------------------------------------------------------------- redis append-only file
check "redis: appendonly yes, appendfsync everysec, dir <state>/redis-data" bash -c '
  [ "$(redis-cli -p "$ATT_REDIS_PORT" config get appendonly | tail -1)" = yes ] &&
  [ "$(redis-cli -p "$ATT_REDIS_PORT" config get appendfsync | tail -1)" = everysec ] &&
  [ "$(redis-cli -p "$ATT_REDIS_PORT" config get dir | tail -1)" = "$0/redis-data" ]' "$STATE"
redis-cli -p "$ATT_REDIS_PORT" set local-stack-test:kept yes >/dev/null
# everysec may postpone writing the AOF buffer while a background fsync runs: wait until it is
# written (then a process kill cannot lose it).
for _ in $(seq 1 200); do
  info="$(redis-cli -p "$ATT_REDIS_PORT" info persistence)"
  grep -q '^aof_buffer_length:0' <<<"$info" && grep -q '^aof_pending_bio_fsync:0' <<<"$info" && break
  sleep 0.05
done
kill -9 "$R1"
for _ in $(seq 1 100); do alive "$R1" || break; sleep 0.05; done
"$STACK" start redis >/dev/null
R2="$(pid_of redis)"
check "redis restarted after SIGKILL with a new pid ($R2)" bash -c '[ -n "$1" ] && [ "$1" != "$2" ] && alive "$1"' _ "$R2" "$R1"
check "redis kept a key across SIGKILL and start" test "$(redis-cli -p "$ATT_REDIS_PORT" get local-stack-test:kept)" = yes
R1="$R2"

# ---------------------------------------------------------------- stale pid file
"$STACK" stop anvil >/dev/null
check "stop anvil ended anvil only" bash -c '! alive "$1" && alive "$2" && alive "$3"' _ "$A1" "$K1" "$R1"
sleep 300 &
SLEEPER=$!
HELPERS+=("$SLEEPER")
echo "$SLEEPER" >"$STATE/run/anvil.pid"
out="$("$STACK" start anvil 2>&1)"
check "start cleans a stale pid file that names a foreign process" bash -c 'grep -q "stale pid file" <<<"$0"' "$out"
check "the foreign process was not touched" alive "$SLEEPER"
A2="$(pid_of anvil)"
check "anvil restarted with a new pid ($A2)" bash -c '[ -n "$1" ] && [ "$1" != "$2" ] && alive "$1"' _ "$A2" "$SLEEPER"
"$STACK" stop anvil >/dev/null
echo "$SLEEPER" >"$STATE/run/anvil.pid"
"$STACK" stop anvil >/dev/null
check "stop does not kill a foreign process named by a stale pid file" alive "$SLEEPER"
kill "$SLEEPER" 2>/dev/null || true

# ---------------------------------------------------------------- foreign process on our port
node -e 'require("net").createServer(() => {}).listen(Number(process.argv[1]), "127.0.0.1")' "$ATT_ANVIL_PORT" &
SQUATTER=$!
HELPERS+=("$SQUATTER")
for _ in $(seq 1 50); do port_open "$ATT_ANVIL_PORT" && break; sleep 0.1; done
set +e
out="$("$STACK" start anvil 2>&1)"
rc=$?
set -e
echo "$out" | sed 's/^/  | /'
check "start fails when the port is taken by a foreign process" test "$rc" != 0
check "the failure names ATT_ANVIL_PORT" bash -c 'grep -q "ATT_ANVIL_PORT" <<<"$0"' "$out"
check "the foreign listener was not touched" alive "$SQUATTER"
kill "$SQUATTER" 2>/dev/null || true
wait "$SQUATTER" 2>/dev/null || true
"$STACK" start anvil >/dev/null
A3="$(pid_of anvil)"
check "anvil starts once the port is free again" alive "$A3"

# ---------------------------------------------------------------- redis-ha.sh
IFS=, read -r HA_N1 HA_N2 <<<"$ATT_REDIS_HA_NODE_PORTS"
"$REDIS_HA" start >/dev/null
ha_primary() { "$REDIS_HA" status | sed -n 's/^primary of .*: 127.0.0.1 \([0-9]*\).*/\1/p'; }
check "redis-ha: status exits 0, two nodes and three sentinels running" bash -c \
  '[ "$("$0" status | grep -c " running ")" = 5 ]' "$REDIS_HA"
check "redis-ha: the first node is the primary, the second its replica" bash -c \
  '[ "$(redis-cli -p "$1" ROLE | head -1)$(redis-cli -p "$2" ROLE | head -1)" = masterslave ]' _ "$HA_N1" "$HA_N2"
check "redis-ha: url names the three sentinels" test "$("$REDIS_HA" url)" = \
  "redis+sentinel://127.0.0.1:19530,127.0.0.1:19531,127.0.0.1:19532/att-redis"
HA_P1="$(cat "$STATE/redis-ha/run/node-$HA_N1.pid")"
"$REDIS_HA" start >/dev/null
check "redis-ha: a second start keeps the same primary process" test "$(cat "$STATE/redis-ha/run/node-$HA_N1.pid")" = "$HA_P1"
kill -9 "$HA_P1"
for _ in $(seq 1 150); do [ "$(ha_primary)" = "$HA_N2" ] && break; sleep 0.1; done
check "redis-ha: after a SIGKILL of the primary the sentinels promote the replica" test "$(ha_primary)" = "$HA_N2"
"$REDIS_HA" start >/dev/null
check "redis-ha: the killed primary comes back as a replica" bash -c \
  '[ "$(redis-cli -p "$1" ROLE | head -1)" = slave ]' _ "$HA_N1"
"$REDIS_HA" stop >/dev/null
check "redis-ha: stop leaves no process and no pid file" bash -c \
  '[ -z "$(ls "$0"/redis-ha/run/*.pid 2>/dev/null)" ] && ! "$1" status >/dev/null' "$STATE" "$REDIS_HA"

# ---------------------------------------------------------------- stop
t0=$(date +%s%3N)
"$STACK" stop
echo "# stop: $(($(date +%s%3N) - t0)) ms"
for p in "$K1" "$R1" "$A3"; do
  check "pid $p is gone" bash -c '! alive "$1"' _ "$p"
done
for p in "$ATT_KAFKA_PORT" "$ATT_KAFKA_CONTROLLER_PORT" "$ATT_REDIS_PORT" "$ATT_ANVIL_PORT"; do
  check "port $p is free" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null"
done
check "no kafka, redis or anvil process of this stack left" test "$(count_kafka)$(count_redis)$(count_anvil)" = 000
check "no pid files left" test -z "$(ls "$STATE/run/"*.pid 2>/dev/null)"
set +e
"$STACK" status >/dev/null
rc=$?
set -e
check "status exits non-zero when stopped" test "$rc" != 0
check "second stop is a no-op" "$STACK" stop

# ---------------------------------------------------------------- warm restart
t0=$(date +%s%3N)
"$STACK" start >/dev/null
echo "# warm start: $(($(date +%s%3N) - t0)) ms"
check "warm restart: exactly one kafka, one redis, one anvil" test "$(count_kafka)$(count_redis)$(count_anvil)" = 111
"$STACK" stop >/dev/null
check "after the final stop nothing is left" test "$(count_kafka)$(count_redis)$(count_anvil)" = 000
