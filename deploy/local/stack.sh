#!/usr/bin/env bash
# Local stack for att-stream, without Docker: Apache Kafka (KRaft, single node, from the Maven
# Central jars), Redis (Debian's redis-server) and anvil (from the npm devDependency). install
# also brings Debian's prometheus package (prometheus and promtool, for the tests; never a service).
#
#   deploy/local/stack.sh install              fetch everything that needs the network
#   deploy/local/stack.sh start [svc...]       start (all, or kafka|redis|anvil); idempotent
#   deploy/local/stack.sh stop [svc...]        stop what this stack started; idempotent
#   deploy/local/stack.sh restart [svc...]
#   deploy/local/stack.sh status               one line per service
#   deploy/local/stack.sh logs [svc] [-f]      tail of the logs (ATT_LOG_LINES, default 100)
#   deploy/local/stack.sh kafka <tool> [args]  one of Kafka's own CLI tools (org.apache.kafka:kafka-tools,
#                                              same version as the broker) against the local broker:
#       consumer-groups   ConsumerGroupCommand    (kafka-consumer-groups.sh)
#       console-consumer  ConsoleConsumer         (kafka-console-consumer.sh)
#       console-producer  ConsoleProducer         (kafka-console-producer.sh)
#       get-offsets       GetOffsetShell          (kafka-get-offsets.sh)
#       topics            TopicCommand            (kafka-topics.sh)
#       configs           kafka.admin.ConfigCommand (kafka-configs.sh; it lives in the broker jar)
#       transactions      TransactionsCommand     (kafka-transactions.sh)
#       delete-records    DeleteRecordsCommand    (kafka-delete-records.sh)
#       dump-log          kafka.tools.DumpLogSegments (reads segment files; no broker needed)
#       <main class>      any other main class on the tools classpath, e.g. org.apache.kafka.tools.AclCommand
#     --bootstrap-server 127.0.0.1:$ATT_KAFKA_PORT is put in front unless the arguments name one
#     (or ask for --help/--version). The JVM starts in ~0.6 s: C1 only, serial GC, small heap
#     (ATT_KAFKA_TOOLS_JVM_OPTS); Log4j prints warnings and errors only, to stderr, so that stdout
#     carries the tool's output alone. Fetches the tools' jars on first use if install has not.
#     Example (npm run stack -- ... is the same):
#       deploy/local/stack.sh kafka consumer-groups --describe --group att-score
#       deploy/local/stack.sh kafka consumer-groups --group att-score --topic att.tx \
#         --reset-offsets --to-earliest --execute            (the group must have no running member)
#   deploy/local/stack.sh install-browser      Debian's chromium, for the tests that render the
#                                              HTML report (npm test runs it); no-op if present
#
# Everything listens on 127.0.0.1. Redis keeps an append-only file (appendonly yes, appendfsync
# everysec) in <ATT_LOCAL_DIR>/redis-data, so a restart, or a SIGKILL, of Redis keeps its data;
# remove that folder (with Redis stopped) to start empty. Environment:
#   ATT_KAFKA_PORT (9092)  ATT_KAFKA_CONTROLLER_PORT (9093)  ATT_REDIS_PORT (6379)
#   ATT_ANVIL_PORT (8545, HTTP and WebSocket)  ATT_ANVIL_ARGS (extra anvil arguments)
#   ATT_LOCAL_DIR (<repo>/.local: state, logs, pid files)  ATT_JARS_DIR (<ATT_LOCAL_DIR>/jars; the
#     CLI tools' jars are in its tools/ folder)
#   ATT_KAFKA_VERSION (4.1.1)  ATT_KAFKA_HEAP (512m)  ATT_KAFKA_WAIT_S (90)  ATT_REDIS_WAIT_S (30)
#   ATT_KAFKA_JVM_OPTS (replaces the broker's default JVM options)
#   ATT_KAFKA_SESSION_TIMEOUT_MS (unset: Kafka's 9 s; fault tests' private brokers set 2000 so that
#     a restart after SIGKILL is ready in ~5 s instead of ~14 s)
#   ATT_KAFKA_TOOLS_JVM_OPTS (replaces the CLI tools' default JVM options)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/deploy/local"

KAFKA_PORT="${ATT_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${ATT_KAFKA_CONTROLLER_PORT:-9093}"
REDIS_PORT="${ATT_REDIS_PORT:-6379}"
ANVIL_PORT="${ATT_ANVIL_PORT:-8545}"
ANVIL_ARGS="${ATT_ANVIL_ARGS:-}"

KAFKA_VERSION="${ATT_KAFKA_VERSION:-4.1.1}"
LOG4J_VERSION="2.24.3" # the version kafka-server 4.1 depends on
SLF4J_VERSION="2.0.17" # slf4j 2 API, needed by log4j-slf4j2-impl; binary compatible with 1.7 callers
DEP_PLUGIN_VERSION="3.8.1"
KAFKA_HEAP="${ATT_KAFKA_HEAP:-512m}"
KAFKA_WAIT_S="${ATT_KAFKA_WAIT_S:-90}"
KAFKA_JVM_OPTS="${ATT_KAFKA_JVM_OPTS:--Xms256m -Xmx$KAFKA_HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
# Short-lived tool JVMs: C1 only and serial GC start fastest on 2 cores.
KAFKA_TOOLS_JVM_OPTS="${ATT_KAFKA_TOOLS_JVM_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
REDIS_WAIT_S="${ATT_REDIS_WAIT_S:-30}"

LOCAL="${ATT_LOCAL_DIR:-$REPO/.local}"
mkdir -p "$LOCAL"
LOCAL="$(cd "$LOCAL" && pwd)"
JARS="${ATT_JARS_DIR:-$LOCAL/jars}"
LOGS="$LOCAL/logs"
RUN="$LOCAL/run"
CONF="$LOCAL/conf"
KAFKA_DATA="$LOCAL/kafka-data"
REDIS_DATA="$LOCAL/redis-data"
JARS_MARKER_TEXT="kafka_2.13=$KAFKA_VERSION log4j=$LOG4J_VERSION slf4j=$SLF4J_VERSION"
# The CLI tools get a classpath of their own, resolved by Maven as one set: kafka-tools alone
# brings slf4j-api 1.7 and no Log4j binding, and kafka.admin.ConfigCommand and
# kafka.tools.DumpLogSegments are in the broker jar (kafka_2.13), not in kafka-tools.
TOOLS_JARS="$JARS/tools"
TOOLS_MARKER_TEXT="kafka-tools=$KAFKA_VERSION kafka_2.13=$KAFKA_VERSION log4j=$LOG4J_VERSION slf4j=$SLF4J_VERSION"

SERVICES=(kafka redis anvil)

# ---------------------------------------------------------------- helpers
log() { printf '[stack] %s\n' "$*"; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}
now_ms() { date +%s%3N; }
since() { # since <start_ms> -> "1.234"
  local d=$(($(now_ms) - $1))
  printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

port_open() { # port_open <port>: true if something accepts TCP connections on 127.0.0.1:<port>
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_owner() { # best effort description of who listens on a port
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\))).*/\1/p' | head -1
  fi
}

pidfile() { echo "$RUN/$1.pid"; }

# Process-group helpers from /proc (procps may be missing on a minimal Debian).
pgid_of() { # pgid_of <pid>
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }" # drop "pid (comm) "; comm may contain spaces
  # shellcheck disable=SC2086
  set -- $st
  echo "$3"
}
running() { # running <pid>: alive and not a zombie waiting to be reaped by init
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }"
  [ "${st:0:1}" != "Z" ]
}
group_alive() { # group_alive <pgid>: true if any process is in that group
  local want="$1" f st
  for f in /proc/[0-9]*/stat; do
    st="$(cat "$f" 2>/dev/null)" || continue
    st="${st##*) }"
    # shellcheck disable=SC2086
    set -- $st
    [ "$3" = "$want" ] && [ "$1" != "Z" ] && return 0
  done
  return 1
}

# What the command line of our process of each service must contain.
svc_match() {
  case "$1" in
    kafka) echo "$CONF/server.properties" ;;
    redis) echo "redis-server" ;;
    anvil) echo "anvil" ;;
  esac
}

# svc_pid <svc>: prints the pid if the pid file names a live process of ours, else cleans a stale
# pid file and returns 1.
svc_pid() {
  local svc="$1" f pid cmd
  f="$(pidfile "$svc")"
  [ -f "$f" ] || return 1
  pid="$({ tr -dc '0-9' <"$f"; } 2>/dev/null || true)"
  if [ -n "$pid" ] && running "$pid"; then
    cmd="$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null || true)"
    if [[ "$cmd" == *"$(svc_match "$svc")"* ]]; then
      echo "$pid"
      return 0
    fi
  fi
  log "$svc: removing stale pid file ($f: pid '${pid}' is not our $svc)" >&2
  rm -f "$f"
  return 1
}

svc_ports() {
  case "$1" in
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    anvil) echo "$ANVIL_PORT" ;;
  esac
}

svc_port_env() {
  case "$1:$2" in
    kafka:"$KAFKA_PORT") echo ATT_KAFKA_PORT ;;
    kafka:*) echo ATT_KAFKA_CONTROLLER_PORT ;;
    redis:*) echo ATT_REDIS_PORT ;;
    anvil:*) echo ATT_ANVIL_PORT ;;
  esac
}

check_ports_free() {
  local svc="$1" p owner
  for p in $(svc_ports "$svc"); do
    if port_open "$p"; then
      owner="$(port_owner "$p")"
      die "$svc: port 127.0.0.1:$p is already in use by a process this stack did not start${owner:+ ($owner)}. Stop it, or choose another port with $(svc_port_env "$svc" "$p")=<port>."
    fi
  done
}

anvil_bin() {
  if [ -n "${ATT_ANVIL_BIN:-}" ]; then
    echo "$ATT_ANVIL_BIN"
    return
  fi
  local arch b
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
  for b in "$REPO/node_modules/@foundry-rs/anvil-linux-$arch/bin/anvil" "$REPO"/node_modules/@foundry-rs/anvil-*/bin/anvil; do
    if [ -x "$b" ]; then
      echo "$b"
      return
    fi
  done
  command -v anvil 2>/dev/null || true
}

jars_ok() { [ -f "$JARS/.att-version" ] && [ "$(cat "$JARS/.att-version")" = "$JARS_MARKER_TEXT" ]; }
tools_ok() { [ -f "$TOOLS_JARS/.att-version" ] && [ "$(cat "$TOOLS_JARS/.att-version")" = "$TOOLS_MARKER_TEXT" ]; }

missing() { # prints what install would have to do
  [ -d "$REPO/node_modules/kafkajs" ] || echo "node_modules"
  command -v redis-server >/dev/null 2>&1 || echo "redis-server"
  command -v java >/dev/null 2>&1 || echo "java"
  jars_ok || echo "kafka-jars"
  tools_ok || echo "kafka-tools"
  [ -n "$(anvil_bin)" ] || echo "anvil"
}

# ---------------------------------------------------------------- install
# maven_fetch <dest> <marker> <what> <artifact>...: resolves the artifacts (groupId:artifactId:version)
# and their runtime dependencies with Maven's dependency plugin into <dest>, atomically (a new
# folder moved into place), and writes <marker> into <dest>/.att-version.
maven_fetch() {
  local dest="$1" marker="$2" what="$3" t0 pomdir tmp a deps="" g art v
  shift 3
  command -v mvn >/dev/null 2>&1 || apt_install maven
  t0="$(now_ms)"
  pomdir="$LOCAL/maven/$what"
  tmp="$dest.tmp.$$"
  mkdir -p "$pomdir" "$LOGS"
  for a in "$@"; do
    IFS=: read -r g art v <<<"$a"
    deps="$deps    <dependency><groupId>$g</groupId><artifactId>$art</artifactId><version>$v</version></dependency>
"
  done
  cat >"$pomdir/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by deploy/local/stack.sh: $what -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.att-stream</groupId>
  <artifactId>local-$what</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$deps  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>$DEP_PLUGIN_VERSION</version>
  </plugin></plugins></build>
</project>
EOF
  log "$what: resolving $* with Maven (log: $LOGS/maven-$what.log)"
  rm -rf "$tmp"
  if ! mvn -B -q -f "$pomdir/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$LOGS/maven-$what.log" 2>&1; then
    tail -n 30 "$LOGS/maven-$what.log" >&2
    rm -rf "$tmp"
    die "$what: Maven failed (see $LOGS/maven-$what.log)"
  fi
  echo "$marker" >"$tmp/.att-version"
  MAVEN_FETCHED="$tmp"
  log "$what: $(find "$tmp" -name '*.jar' | wc -l) jars ($(since "$t0") s)"
}

LOG4J_ARTIFACTS=(
  "org.apache.logging.log4j:log4j-api:$LOG4J_VERSION"
  "org.apache.logging.log4j:log4j-core:$LOG4J_VERSION"
  "org.apache.logging.log4j:log4j-slf4j2-impl:$LOG4J_VERSION"
  "org.slf4j:slf4j-api:$SLF4J_VERSION"
)

fetch_jars() {
  if jars_ok; then
    log "kafka jars: present ($JARS_MARKER_TEXT)"
    return
  fi
  MAVEN_FETCHED=""
  maven_fetch "$JARS" "$JARS_MARKER_TEXT" kafka-jars "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "${LOG4J_ARTIFACTS[@]}"
  ls "$MAVEN_FETCHED"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka jars: kafka_2.13-$KAFKA_VERSION.jar missing after Maven"
  rm -rf "$JARS"
  mkdir -p "$(dirname "$JARS")"
  mv "$MAVEN_FETCHED" "$JARS"
  log "kafka jars: in $JARS"
}

# Kafka's CLI tools, in $JARS/tools (fetched after the broker jars: a new broker version replaces
# $JARS, tools/ with it).
fetch_tools() {
  if tools_ok; then
    log "kafka tools: present ($TOOLS_MARKER_TEXT)"
    return
  fi
  mkdir -p "$JARS"
  # Two `kafka` commands on a fresh machine must not both move a folder into place. The lock is
  # on fd 8 and closed again before a tool starts (fd 9 is start/stop's lock).
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$JARS/.tools.lock"
    flock -w 600 8 || die "kafka tools: another stack.sh holds $JARS/.tools.lock"
    if tools_ok; then
      exec 8>&-
      return
    fi
  fi
  MAVEN_FETCHED=""
  maven_fetch "$TOOLS_JARS" "$TOOLS_MARKER_TEXT" kafka-tools "org.apache.kafka:kafka-tools:$KAFKA_VERSION" \
    "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "${LOG4J_ARTIFACTS[@]}"
  ls "$MAVEN_FETCHED"/kafka-tools-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka tools: kafka-tools-$KAFKA_VERSION.jar missing after Maven"
  rm -rf "$TOOLS_JARS"
  mv "$MAVEN_FETCHED" "$TOOLS_JARS"
  exec 8>&-
  log "kafka tools: in $TOOLS_JARS"
}

# Debian's prometheus package, for its two binaries: promtool (the rule checks and rule unit tests)
# and prometheus (test/prometheus-live.test.ts runs its own on a private port and data folder).
# On a machine run by systemd the package enables and starts prometheus.service on :9090; the
# project never uses that service, so a start caused by this install is undone.
install_prometheus() {
  local was_active=0
  command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null && was_active=1
  apt_install prometheus
  if [ "$was_active" = 0 ] && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    log "prometheus: the package started prometheus.service; stopping and disabling it (only the binaries are used)"
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  log "prometheus: $(prometheus --version 2>&1 | head -1)"
}

cmd_install() {
  local t0
  t0="$(now_ms)"
  if [ ! -d "$REPO/node_modules/kafkajs" ]; then
    log "npm ci"
    # onnxruntime-node's install script would fetch CUDA libraries from NuGet: package.json's
    # allowScripts denies it to npm 11, and ONNXRUNTIME_NODE_INSTALL=skip ends it under any npm.
    (cd "$REPO" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
  fi
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  # Sentinel, for deploy/local/redis-ha.sh (primary + replica + 3 sentinels); same Redis version.
  # Under systemd the package starts redis-sentinel.service (26379, watching 6379): never used.
  if ! command -v redis-sentinel >/dev/null 2>&1; then
    apt_install redis-sentinel
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-sentinel 2>/dev/null; then
      log "redis-sentinel: stopping and disabling the package's redis-sentinel.service (redis-ha.sh runs its own)"
      as_root systemctl disable --now redis-sentinel >/dev/null 2>&1 || true
    fi
  fi
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  { command -v promtool && command -v prometheus; } >/dev/null 2>&1 || install_prometheus
  fetch_jars
  fetch_tools
  [ -n "$(anvil_bin)" ] || die "anvil not found under node_modules/@foundry-rs (is the devDependency installed?)"
  log "install: done ($(since "$t0") s)"
}

cmd_install_browser() {
  local b
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
      log "browser: $(command -v "$b")"
      return 0
    fi
  done
  apt_install chromium
  log "browser: $(command -v chromium) ($(chromium --version 2>/dev/null | head -1))"
}

ensure_installed() {
  local m
  m="$(missing | tr '\n' ' ')"
  if [ -n "${m// /}" ]; then
    log "missing: $m-> running install"
    cmd_install
  fi
}

# ---------------------------------------------------------------- kafka
# ATT_KAFKA_SESSION_TIMEOUT_MS: a broker restarted after a SIGKILL gets no metadata answers until
# the controller has fenced its previous incarnation, which waits for the old session to expire
# (broker.session.timeout.ms, 9 s by default): measured 13.7 s to ready, 5 s with 2000. Fault tests
# set it on their private broker; the shared stack keeps Kafka's default, because a session that
# short could fence a broker that merely stalls on a loaded machine.
kafka_session_config() {
  local ms="${ATT_KAFKA_SESSION_TIMEOUT_MS:-}"
  [ -n "$ms" ] || return 0
  [[ "$ms" =~ ^[0-9]+$ ]] && [ "$ms" -ge 400 ] ||
    die "ATT_KAFKA_SESSION_TIMEOUT_MS: got '$ms', expected milliseconds >= 400 (e.g. 2000), or unset for Kafka's default"
  printf 'broker.session.timeout.ms=%s\nbroker.heartbeat.interval.ms=%s\n' "$ms" $((ms / 4))
}

write_kafka_config() {
  local session
  session="$(kafka_session_config)" # its own line: a failed validation ends the script (set -e)
  mkdir -p "$CONF" "$KAFKA_DATA"
  cat >"$CONF/server.properties" <<EOF
# generated by deploy/local/stack.sh — edits are overwritten on every start
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1

num.partitions=6
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
$session

log.retention.hours=168
log.segment.bytes=134217728
EOF
}

kafka_format_if_needed() {
  local stamp="$CONF/kafka-formatted" want id
  want="controller=127.0.0.1:$KAFKA_CONTROLLER_PORT"
  if [ -f "$KAFKA_DATA/meta.properties" ]; then
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
      return 0
    fi
    # --standalone stores the controller endpoint in the metadata log: a new port needs a new log.
    log "kafka: storage was formatted for $(cat "$stamp" 2>/dev/null || echo 'another controller port'); reformatting $KAFKA_DATA for $want (local data is discarded)"
    rm -rf "$KAFKA_DATA"
    mkdir -p "$KAFKA_DATA"
  fi
  local t0
  t0="$(now_ms)"
  # Short-lived tool JVMs: C1 only and serial GC start fastest on 2 cores.
  local tool_opts=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m)
  id="$(java "${tool_opts[@]}" -cp "$JARS/*" -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$LOGS" \
    kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka-format.log" | tail -n 1)"
  [ -n "$id" ] || die "kafka: StorageTool random-uuid printed nothing (see $LOGS/kafka-format.log)"
  if ! java "${tool_opts[@]}" -cp "$JARS/*" -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$LOGS" \
    kafka.tools.StorageTool format --standalone -t "$id" -c "$CONF/server.properties" >>"$LOGS/kafka-format.log" 2>&1; then
    tail -n 20 "$LOGS/kafka-format.log" >&2
    die "kafka: storage format failed (see $LOGS/kafka-format.log)"
  fi
  echo "$want" >"$stamp"
  log "kafka: formatted storage, cluster id $id ($(since "$t0") s)"
}

KAFKA_LAUNCHED_PID=""
kafka_launch() { # starts the JVM without waiting; sets KAFKA_LAUNCHED_PID
  write_kafka_config
  kafka_format_if_needed
  local pf
  pf="$(pidfile kafka)"
  echo "=== $(date -Is) starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT" >>"$LOGS/kafka.console.log"
  # setsid: own session and process group, so that stop can end the whole group and a
  # Ctrl-C in the caller's terminal does not reach the broker.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" \
    java $KAFKA_JVM_OPTS \
    -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$LOGS" \
    -cp "$JARS/*" kafka.Kafka "$CONF/server.properties" \
    >>"$LOGS/kafka.console.log" 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 1 50); do
    [ -s "$pf" ] && break
    sleep 0.05
  done
  KAFKA_LAUNCHED_PID="$(cat "$pf" 2>/dev/null || true)"
}

kafka_wait() {
  local pid="$1" t0="$2"
  if ! node "$HERE/wait-kafka.mjs" --broker "127.0.0.1:$KAFKA_PORT" --timeout "$KAFKA_WAIT_S" --pid "$pid"; then
    echo "----- tail of $LOGS/kafka.log" >&2
    tail -n 40 "$LOGS/kafka.log" >&2 || true
    echo "----- tail of $LOGS/kafka.console.log" >&2
    tail -n 20 "$LOGS/kafka.console.log" >&2 || true
    die "kafka: not ready (see $LOGS/kafka.log)"
  fi
  log "kafka: ready on 127.0.0.1:$KAFKA_PORT (pid $pid, $(since "$t0") s)"
}

# ---------------------------------------------------------------- redis
redis_start() {
  local t0 pf i
  t0="$(now_ms)"
  pf="$(pidfile redis)"
  rm -f "$pf"
  echo "=== $(date -Is) starting redis on 127.0.0.1:$REDIS_PORT" >>"$LOGS/redis.log"
  mkdir -p "$REDIS_DATA"
  # Append-only file, fsync once a second: a restart or a SIGKILL of redis-server loses nothing
  # it acknowledged (the write reached the kernel before the reply); a crash of the machine loses
  # at most about a second. No RDB snapshots (--save ''): the AOF is the one copy.
  # BullMQ needs noeviction (PITFALLS.md).
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly yes --appendfsync everysec --dir "$REDIS_DATA" \
    --maxmemory-policy noeviction --daemonize yes --pidfile "$pf" \
    --logfile "$LOGS/redis.log" </dev/null 9>&-
  # Until the AOF is loaded, PING answers LOADING, not PONG.
  for i in $(seq 1 $((REDIS_WAIT_S * 10))); do
    if [ -s "$pf" ] && redis_ping; then
      log "redis: ready on 127.0.0.1:$REDIS_PORT (pid $(cat "$pf"), data in $REDIS_DATA, $(since "$t0") s)"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$LOGS/redis.log" >&2 || true
  die "redis: did not answer PING within $REDIS_WAIT_S s (see $LOGS/redis.log)"
}

redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    local reply
    reply="$(exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3)" 2>/dev/null || return 1
    [ "$reply" = "+PONG" ]
  fi
}

# ---------------------------------------------------------------- anvil
anvil_start() {
  local t0 pf bin pid i
  t0="$(now_ms)"
  pf="$(pidfile anvil)"
  bin="$(anvil_bin)"
  [ -n "$bin" ] || die "anvil: binary not found (run: $0 install)"
  echo "=== $(date -Is) starting anvil on 127.0.0.1:$ANVIL_PORT" >>"$LOGS/anvil.log"
  # shellcheck disable=SC2086 # ATT_ANVIL_ARGS is a list of words on purpose
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" \
    "$bin" --host 127.0.0.1 --port "$ANVIL_PORT" --chain-id 31337 $ANVIL_ARGS \
    >>"$LOGS/anvil.log" 2>&1 </dev/null 9>&- &
  for i in $(seq 1 50); do
    [ -s "$pf" ] && break
    sleep 0.05
  done
  pid="$(cat "$pf")"
  if ! node "$HERE/wait-anvil.mjs" --url "http://127.0.0.1:$ANVIL_PORT" --timeout 30 --pid "$pid"; then
    tail -n 20 "$LOGS/anvil.log" >&2 || true
    die "anvil: not ready (see $LOGS/anvil.log)"
  fi
  log "anvil: ready on http://127.0.0.1:$ANVIL_PORT and ws://127.0.0.1:$ANVIL_PORT (pid $pid, $(since "$t0") s)"
}

# ---------------------------------------------------------------- start / stop / status
parse_services() { # validates service names; none = all
  if [ $# -eq 0 ]; then
    echo "${SERVICES[@]}"
    return
  fi
  local s
  for s in "$@"; do
    case "$s" in
      kafka | redis | anvil) ;;
      *) die "unknown service '$s' (expected: ${SERVICES[*]})" ;;
    esac
  done
  echo "$@"
}

# Serialize concurrent start/stop on the same state dir. The services are launched with the lock's
# fd 9 closed, so that they do not hold the lock for their whole life.
with_lock() {
  mkdir -p "$RUN"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$RUN/.lock"
    flock -w 300 9 || die "another stack.sh holds $RUN/.lock"
  fi
}

cmd_start() {
  local svcs t0 pid kafka_pid="" kafka_t0=""
  svcs="$(parse_services "$@")"
  t0="$(now_ms)"
  ensure_installed
  mkdir -p "$LOGS" "$RUN" "$CONF" "$KAFKA_DATA"
  with_lock
  # Kafka takes longest: launch its JVM first, start the others while it boots, then wait.
  if [[ " $svcs " == *" kafka "* ]]; then
    if pid="$(svc_pid kafka)"; then
      log "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    else
      check_ports_free kafka
      kafka_t0="$(now_ms)"
      kafka_launch
      kafka_pid="$KAFKA_LAUNCHED_PID"
      [ -n "$kafka_pid" ] || die "kafka: failed to launch (see $LOGS/kafka.console.log)"
    fi
  fi
  if [[ " $svcs " == *" redis "* ]]; then
    if pid="$(svc_pid redis)"; then
      log "redis: already running (pid $pid, 127.0.0.1:$REDIS_PORT)"
    else
      check_ports_free redis
      redis_start
    fi
  fi
  if [[ " $svcs " == *" anvil "* ]]; then
    if pid="$(svc_pid anvil)"; then
      log "anvil: already running (pid $pid, 127.0.0.1:$ANVIL_PORT)"
    else
      check_ports_free anvil
      anvil_start
    fi
  fi
  if [ -n "$kafka_pid" ]; then
    kafka_wait "$kafka_pid" "$kafka_t0"
  fi
  log "start: done ($(since "$t0") s)"
}

stop_one() {
  local svc="$1" pid pgid i
  if ! pid="$(svc_pid "$svc")"; then
    log "$svc: not running"
    return 0
  fi
  local t0
  t0="$(now_ms)"
  pgid="$(pgid_of "$pid" || true)"
  # Our kafka and anvil lead their own process group (setsid): signal the whole group.
  # redis daemonizes into its own session too; its group is itself.
  if [ -n "$pgid" ] && [ "$pgid" = "$pid" ]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  for i in $(seq 1 200); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then
    log "$svc: still alive after 20 s, sending SIGKILL"
    if [ "$pgid" = "$pid" ]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      running "$pid" || break
      sleep 0.1
    done
  fi
  # Anything left in the group (there should be nothing).
  if [ "$pgid" = "$pid" ] && group_alive "$pid"; then
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$(pidfile "$svc")"
  log "$svc: stopped (pid $pid, $(since "$t0") s)"
}

cmd_stop() {
  local svcs s
  svcs="$(parse_services "$@")"
  [ -d "$RUN" ] || {
    log "nothing to stop ($RUN does not exist)"
    return 0
  }
  with_lock
  # Clients first (none here), Kafka last is not needed: the three are independent.
  for s in $svcs; do stop_one "$s"; done
}

cmd_status() {
  local s pid ports line rc=0
  for s in "${SERVICES[@]}"; do
    ports="$(svc_ports "$s" | sed 's/ /,/')"
    if pid="$(svc_pid "$s" 2>/dev/null)"; then
      line="running  pid $pid"
      if ! port_open "$(svc_ports "$s" | cut -d' ' -f1)"; then line="$line (not listening yet)"; fi
    else
      line="stopped"
      rc=3
    fi
    printf '%-6s %-28s 127.0.0.1:%s\n' "$s" "$line" "$ports"
  done
  return $rc
}

cmd_logs() {
  local svc="" follow=0 a files=()
  for a in "$@"; do
    case "$a" in
      -f | --follow) follow=1 ;;
      kafka | redis | anvil) svc="$a" ;;
      *) die "usage: $0 logs [kafka|redis|anvil] [-f]" ;;
    esac
  done
  [ -d "$LOGS" ] || die "no logs yet ($LOGS)"
  if [ -n "$svc" ]; then
    mapfile -t files < <(ls "$LOGS"/"$svc"*.log 2>/dev/null)
  else
    mapfile -t files < <(ls "$LOGS"/*.log 2>/dev/null)
  fi
  [ ${#files[@]} -gt 0 ] || die "no log files in $LOGS"
  if [ "$follow" = 1 ]; then
    exec tail -n "${ATT_LOG_LINES:-100}" -F "${files[@]}"
  fi
  tail -n "${ATT_LOG_LINES:-100}" "${files[@]}"
}

# ---------------------------------------------------------------- kafka CLI tools
write_tools_log4j() { # Log4j2 for the tools: WARN and above, to stderr; written atomically
  local f="$CONF/tools-log4j2.properties" tmp text
  text='# generated by deploy/local/stack.sh for `stack.sh kafka <tool>`: warnings and errors only,
# on stderr, so that stdout is the tool'"'"'s output alone (records of console-consumer).
name = att-kafka-tools
status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR'
  if [ -f "$f" ] && [ "$(cat "$f")" = "$text" ]; then return 0; fi
  mkdir -p "$CONF"
  tmp="$f.tmp.$$"
  printf '%s\n' "$text" >"$tmp"
  mv -f "$tmp" "$f"
}

cmd_kafka() {
  local tool="${1:-}" main bootstrap=1 a
  [ $# -gt 0 ] && shift
  case "$tool" in
    consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    console-producer) main=org.apache.kafka.tools.ConsoleProducer ;;
    get-offsets) main=org.apache.kafka.tools.GetOffsetShell ;;
    topics) main=org.apache.kafka.tools.TopicCommand ;;
    configs) main=kafka.admin.ConfigCommand ;;
    transactions) main=org.apache.kafka.tools.TransactionsCommand ;;
    delete-records) main=org.apache.kafka.tools.DeleteRecordsCommand ;;
    dump-log) main=kafka.tools.DumpLogSegments bootstrap=0 ;;
    "" | -h | --help | help)
      usage | sed -n '/ kafka <tool>/,/--reset-offsets/p'
      [ -n "$tool" ] || exit 2
      return 0
      ;;
    *.*) main="$tool" bootstrap=0 ;;
    *) die "unknown kafka tool '$tool' (expected consumer-groups, console-consumer, console-producer, get-offsets, topics, configs, transactions, delete-records, dump-log or a main class; see $0 kafka --help)" ;;
  esac
  for a in "$@"; do
    case "$a" in
      --bootstrap-server | --bootstrap-server=* | --help | -h | --version) bootstrap=0 ;;
    esac
  done
  # In front: for TransactionsCommand (argparse4j) it is an option of the command, not of a
  # subcommand; for the jopt-simple tools the order does not matter.
  if [ "$bootstrap" = 1 ]; then set -- --bootstrap-server "127.0.0.1:$KAFKA_PORT" "$@"; fi
  command -v java >/dev/null 2>&1 || die "java not found (run: $0 install)"
  tools_ok || fetch_tools >&2
  write_tools_log4j
  # shellcheck disable=SC2086 # the JVM options are a list of words on purpose
  exec java $KAFKA_TOOLS_JVM_OPTS -Dlog4j2.configurationFile="$CONF/tools-log4j2.properties" \
    -cp "$TOOLS_JARS/*" "$main" "$@"
}

usage() { # the header comment
  sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p'
}

main() {
  local cmd="${1:-}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    install) cmd_install ;;
    install-browser) cmd_install_browser ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart)
      cmd_stop "$@"
      cmd_start "$@"
      ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    kafka) cmd_kafka "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
