#!/usr/bin/env bash
# local-kafka.sh: a single-node Apache Kafka (KRaft, broker+controller in one JVM) for tests
# and demos, run straight from the Maven artifacts: no Docker, no Kafka distribution tarball.
#
#   local-kafka.sh start    fetch the jars (first time only), format storage (first time only),
#                           start the broker and wait until a real client can create a topic,
#                           produce to it and read the message back; no-op if already running
#   local-kafka.sh stop     stop the broker this script started (SIGTERM, SIGKILL after 30 s)
#   local-kafka.sh status   exit 0 if our broker is running and answering, 1 otherwise
#   local-kafka.sh wipe     stop, then delete the broker's data (keeps the jar cache)
#
# For local-kafka-cluster.sh, which runs one broker per node through this script:
#   local-kafka.sh launch   start as `start` does, but return once the JVM runs (a node of a
#                           cluster cannot serve clients before a quorum of its peers runs)
#   local-kafka.sh wait     wait until the running broker answers the probe, as `start` does
#   local-kafka.sh kill     kill -9 the broker and wait until it is gone (a crash)
#
# Environment:
#   KAFKA_PORT             client (PLAINTEXT) port on 127.0.0.1, default 9092
#   KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1, default 9093
#   KAFKA_HOME_DIR         where jars, data, config, pid file and log live,
#                          default <repo>/.cache/kafka (git-ignored)
#   KAFKA_READY_TIMEOUT    seconds to wait for the broker to serve clients, default 120
#
# Variations (local-kafka-sasl.sh uses them for a broker with a SASL_SSL listener; unset, the
# broker is the plain one described here):
#   KAFKA_PROPERTIES_TEMPLATE  server.properties template, default deploy/kafka/server.properties;
#                              @KAFKA_SASL_PORT@ and @KAFKA_TLS_DIR@ are replaced too
#   KAFKA_SASL_PORT, KAFKA_TLS_DIR  values for those placeholders
#   KAFKA_FORMAT_ARGS          extra StorageTool format arguments (e.g. --add-scram ...),
#                              split on whitespace; used only when the storage is formatted
#   KAFKA_LIB_DIR              jar directory, default $KAFKA_HOME_DIR/lib
#   KAFKA_HEAP_OPTS            JVM heap options, split on whitespace, default -Xms256m -Xmx1g
#   KAFKA_CLUSTER_ID           the cluster id to format the storage with (every node of a
#                              cluster needs the same); default a new random one
#   KAFKA_PROBE_ARGS           extra arguments of the readiness probe, split on whitespace
#                              (e.g. -replication-factor 3 -node 2)
#
# Files under KAFKA_HOME_DIR: lib/ (jars, from deploy/kafka/pom.xml), data/ (KRaft metadata and
# topic logs), server.properties (rendered from deploy/kafka/server.properties), broker.pid,
# broker.log (the broker's log4j2 output plus anything the JVM prints), probe (readiness check,
# built from deploy/kafka/probe), mvn.log (the last jar fetch).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HOME_DIR=${KAFKA_HOME_DIR:-$REPO_ROOT/.cache/kafka}
KAFKA_READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-120}

LIB_DIR=${KAFKA_LIB_DIR:-$KAFKA_HOME_DIR/lib}
PROPS_TEMPLATE=${KAFKA_PROPERTIES_TEMPLATE:-$SCRIPT_DIR/server.properties}
DATA_DIR=$KAFKA_HOME_DIR/data
PROPS=$KAFKA_HOME_DIR/server.properties
PID_FILE=$KAFKA_HOME_DIR/broker.pid
LOG_FILE=$KAFKA_HOME_DIR/broker.log
PROBE=$KAFKA_HOME_DIR/probe
ADDR=127.0.0.1:$KAFKA_PORT

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
read -ra HEAP_OPTS <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
read -ra PROBE_ARGS <<<"${KAFKA_PROBE_ARGS:-}"
JAVA_OPTS=(
  "${HEAP_OPTS[@]}"
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$SCRIPT_DIR/log4j2.xml"
  "-Dnotifierd.kafka.log=$LOG_FILE"
)

say() { echo "local-kafka: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

need() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed (needed to run the local broker)"
  done
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT (pure bash, no nc).
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# our_pid: prints the PID from the pid file if that process is alive and is the broker this
# script started for this KAFKA_HOME_DIR (guards against a recycled PID); fails otherwise.
our_pid() {
  local pid cmdline
  [[ -f $PID_FILE ]] || return 1
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kafka.Kafka*"$PROPS"* ]] || return 1
  echo "$pid"
}

log_tail() {
  if [[ -f $LOG_FILE ]]; then
    say "last 50 lines of $LOG_FILE:"
    tail -n 50 "$LOG_FILE" >&2
  fi
}

# fetch_jars: copy Kafka and its runtime dependencies into lib/ with Maven, unless lib/ was
# already filled from the same pom.xml.
fetch_jars() {
  local stamp
  stamp=$(sha256sum "$SCRIPT_DIR/pom.xml" | cut -d' ' -f1)
  if [[ -f $LIB_DIR/.pom.sha256 && $(<"$LIB_DIR/.pom.sha256") == "$stamp" ]]; then
    return 0
  fi
  need mvn
  say "fetching Kafka jars with Maven into $LIB_DIR (first run only)"
  rm -rf "$LIB_DIR.tmp"
  # Maven's output goes to mvn.log (Debian's mvn prints stray colour codes even with -B).
  if ! mvn -q -B -f "$SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime "-DoutputDirectory=$LIB_DIR.tmp" >"$KAFKA_HOME_DIR/mvn.log" 2>&1; then
    rm -rf "$LIB_DIR.tmp"
    sed 's/\x1b\[[0-9;]*m//g' "$KAFKA_HOME_DIR/mvn.log" | tail -n 50 >&2
    die "Maven could not fetch the Kafka jars (output above, full log in $KAFKA_HOME_DIR/mvn.log)"
  fi
  ls "$LIB_DIR.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "Maven ran but no kafka_2.13 jar in $LIB_DIR.tmp"
  echo "$stamp" >"$LIB_DIR.tmp/.pom.sha256"
  rm -rf "$LIB_DIR"
  mv "$LIB_DIR.tmp" "$LIB_DIR"
}

build_probe() {
  need go
  if ! (cd "$REPO_ROOT" && go build -buildvcs=false -o "$PROBE" ./deploy/kafka/probe); then
    say "ERROR: could not build the readiness probe (deploy/kafka/probe)"
    return 1
  fi
}

render_config() {
  mkdir -p "$DATA_DIR"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$DATA_DIR|g" \
    -e "s|@KAFKA_SASL_PORT@|${KAFKA_SASL_PORT:-}|g" \
    -e "s|@KAFKA_TLS_DIR@|${KAFKA_TLS_DIR:-}|g" \
    "$PROPS_TEMPLATE" >"$PROPS"
}

format_storage() {
  local cluster_id extra
  [[ -f $DATA_DIR/meta.properties ]] && return 0
  read -ra extra <<<"${KAFKA_FORMAT_ARGS:-}"
  say "formatting KRaft storage in $DATA_DIR"
  cluster_id=${KAFKA_CLUSTER_ID:-}
  if [[ -z $cluster_id ]]; then
    cluster_id=$("$JAVA" "${JAVA_OPTS[@]}" -cp "$LIB_DIR/*" kafka.tools.StorageTool random-uuid 2>>"$LOG_FILE") ||
      { log_tail; die "StorageTool random-uuid failed"; }
  fi
  "$JAVA" "${JAVA_OPTS[@]}" -cp "$LIB_DIR/*" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$PROPS" "${extra[@]}" >>"$LOG_FILE" 2>&1 ||
    { log_tail; die "StorageTool format failed"; }
}

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "broker (pid $pid) still running after 30 s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "broker (pid $pid) survived SIGKILL"
}

# wait_ready PID: until the probe succeeds; on failure or timeout show the log, kill PID, fail.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + KAFKA_READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      log_tail
      die "broker (pid $pid) exited during startup"
    fi
    if port_open "$KAFKA_PORT" && "$PROBE" -q -addr "$ADDR" -timeout 10s "${PROBE_ARGS[@]}"; then
      return 0
    fi
    sleep 0.5
  done
  "$PROBE" -addr "$ADDR" -timeout 5s "${PROBE_ARGS[@]}" || true
  log_tail
  say "broker not ready within ${KAFKA_READY_TIMEOUT} s, killing it (pid $pid)"
  stop_pid "$pid"
  rm -f "$PID_FILE"
  die "Kafka did not become ready on $ADDR"
}

cmd_start() {
  local pid started=$SECONDS
  if pid=$(our_pid) && port_open "$KAFKA_PORT"; then
    say "already running (pid $pid) on $ADDR"
    return 0
  fi
  cmd_launch
  cmd_wait
  say "ready on $ADDR after $((SECONDS - started)) s"
}

# cmd_launch: start the JVM (fetching jars and formatting storage first if needed) unless our
# broker already runs; does not wait for it to serve clients.
cmd_launch() {
  local pid port
  need "$JAVA"
  if pid=$(our_pid); then
    say "broker already running (pid $pid)"
    return 0
  fi
  rm -f "$PID_FILE"
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then
      die "port $port on 127.0.0.1 is taken by a process this script did not start; stop it or set KAFKA_PORT/KAFKA_CONTROLLER_PORT"
    fi
  done

  fetch_jars
  render_config
  format_storage

  say "starting Kafka on $ADDR (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT), log: $LOG_FILE"
  # setsid: own session, so a Ctrl-C meant for the caller (make) does not reach the broker;
  # 9>&-: do not hand the start/stop lock to the long-lived broker.
  setsid "$JAVA" "${JAVA_OPTS[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$PROPS" \
    >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  # Until the child has become the JVM (our_pid matches its command line), so that a `wait`
  # right after this finds it.
  local i
  for ((i = 0; i < 100; i++)); do
    our_pid >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  our_pid >/dev/null || { rm -f "$PID_FILE"; log_tail; die "broker (pid $pid) did not start"; }
}

# cmd_wait: wait until our running broker serves clients (the probe); fails if it is not
# running, and stops it if it is not ready within KAFKA_READY_TIMEOUT.
cmd_wait() {
  local pid
  pid=$(our_pid) || die "no broker of this KAFKA_HOME_DIR ($KAFKA_HOME_DIR) is running"
  build_probe || { stop_pid "$pid"; rm -f "$PID_FILE"; exit 1; }
  wait_ready "$pid"
}

cmd_stop() {
  local pid
  if ! pid=$(our_pid); then
    if [[ -f $PID_FILE ]]; then
      say "removing stale pid file $PID_FILE"
      rm -f "$PID_FILE"
    fi
    say "not running"
    return 0
  fi
  say "stopping broker (pid $pid)"
  stop_pid "$pid"
  rm -f "$PID_FILE"
  say "stopped"
}

# cmd_kill: kill -9, as a crash would; waits until the process is gone.
cmd_kill() {
  local pid i
  if ! pid=$(our_pid); then
    say "not running"
    return 0
  fi
  say "killing broker (pid $pid) with SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; return 0; }
    sleep 0.1
  done
  die "broker (pid $pid) survived SIGKILL"
}

cmd_status() {
  local pid
  if pid=$(our_pid) && port_open "$KAFKA_PORT"; then
    say "running (pid $pid) on $ADDR"
    return 0
  fi
  say "not running"
  return 1
}

cmd_wipe() {
  cmd_stop
  rm -rf "$DATA_DIR"
  say "deleted $DATA_DIR (jar cache in $LIB_DIR kept)"
}

main() {
  local cmd=${1:-}
  case $cmd in
  start | stop | status | wipe | launch | wait | kill) ;;
  *)
    echo "usage: $0 start|stop|status|wipe|launch|wait|kill" >&2
    exit 2
    ;;
  esac
  mkdir -p "$KAFKA_HOME_DIR"
  # One start/stop/wipe/launch/wait at a time per KAFKA_HOME_DIR; kill, like a crash, waits
  # for no one.
  exec 9>"$KAFKA_HOME_DIR/.lock"
  if [[ $cmd != status && $cmd != kill ]]; then
    flock 9
  fi
  "cmd_$cmd"
}

main "$@"
