#!/usr/bin/env bash
# local-kafka-cluster.sh: a local 3-node Apache Kafka cluster (KRaft; every node a broker and
# a controller in one JVM) for fault tests that need more than one broker: leaders that move,
# a group coordinator that moves, a node that crashes. Each node is run by local-kafka.sh
# (same Maven jars, probe and log layout), with its own home, ports and node id and one shared
# cluster id; this script only renders the node's configuration and drives the nodes.
#
#   local-kafka-cluster.sh start         start the nodes that are not running (fetching the jars
#                                        and formatting storage first if needed), then wait
#                                        until, through every node, a client can create a topic
#                                        of replication factor 3, produce to it with acks=all
#                                        and read the message back; on failure it stops the
#                                        nodes it started
#   local-kafka-cluster.sh stop          stop every node (SIGTERM to all at once, SIGKILL after 30 s)
#   local-kafka-cluster.sh status        exit 0 if every node runs and answers, 1 otherwise
#   local-kafka-cluster.sh wipe          stop, then delete every node's data and the cluster id
#   local-kafka-cluster.sh stop-node N   SIGTERM node N (a controlled shutdown, as a rolling
#                                        restart does) and wait until it has exited
#   local-kafka-cluster.sh kill-node N   kill -9 node N (a crash) and wait until it is gone
#   local-kafka-cluster.sh start-node N  start node N and wait until it is back in the cluster:
#                                        it answers clients, the metadata lists it (so it is
#                                        unfenced and can rejoin the ISRs) and the probe passes
#   local-kafka-cluster.sh env           print the bootstrap list, as KAFKA_CLUSTER_BOOTSTRAP=...
#
# Node N (1..3) has node.id N, client port KAFKA_CLUSTER_PORT+N-1 and controller port
# KAFKA_CLUSTER_CONTROLLER_PORT+N-1, all on 127.0.0.1. Topics default to replication factor 3
# with min.insync.replicas 2, and so do the internal ones (deploy/kafka/server-cluster.properties).
#
# Environment:
#   KAFKA_CLUSTER_PORT             client port of node 1, default 29092 (so 29092/29093/29094)
#   KAFKA_CLUSTER_CONTROLLER_PORT  controller port of node 1, default 29192 (29192/29193/29194)
#   KAFKA_CLUSTER_HOME             default <repo>/.cache/kafka-cluster (git-ignored)
#   KAFKA_CLUSTER_HEAP_OPTS        each node's JVM heap, default -Xms128m -Xmx512m
#   KAFKA_LIB_DIR                  jar directory, default <repo>/.cache/kafka/lib (shared with
#                                  local-kafka.sh's broker, fetched there on first use)
#   KAFKA_READY_TIMEOUT            seconds a node may take to serve clients, default 180
#
# Files under KAFKA_CLUSTER_HOME: cluster.id (the id every node's storage is formatted with),
# node1/ node2/ node3/ (each a KAFKA_HOME_DIR of local-kafka.sh: data/, server.properties,
# broker.pid, broker.log, probe; server.properties.template is this node's rendering of
# server-cluster.properties).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

NODES=3
CLUSTER_PORT=${KAFKA_CLUSTER_PORT:-29092}
CLUSTER_CONTROLLER_PORT=${KAFKA_CLUSTER_CONTROLLER_PORT:-29192}
CLUSTER_HOME=${KAFKA_CLUSTER_HOME:-$REPO_ROOT/.cache/kafka-cluster}
CLUSTER_HEAP_OPTS=${KAFKA_CLUSTER_HEAP_OPTS:--Xms128m -Xmx512m}
LIB_DIR=${KAFKA_LIB_DIR:-$REPO_ROOT/.cache/kafka/lib}
export KAFKA_READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-180}

say() { echo "local-kafka-cluster: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

client_port() { echo $((CLUSTER_PORT + $1 - 1)); }
controller_port() { echo $((CLUSTER_CONTROLLER_PORT + $1 - 1)); }

# addresses PORT_FN [with-ids]: every node's 127.0.0.1:<port>, comma-separated; with-ids
# prefixes each with "<node id>@", as controller.quorum.voters wants.
addresses() {
  local n sep=
  for ((n = 1; n <= NODES; n++)); do
    printf '%s%s127.0.0.1:%s' "$sep" "${2:+$n@}" "$("$1" "$n")"
    sep=,
  done
  echo
}

bootstrap() { addresses client_port; }
quorum_voters() { addresses controller_port with-ids; }

# cluster_id: the id all nodes are formatted with, made once (16 random bytes, base64url as
# Kafka writes them; never with a leading '-', which the storage tool would take for an option).
cluster_id() {
  local f=$CLUSTER_HOME/cluster.id id
  if [[ ! -s $f ]]; then
    mkdir -p "$CLUSTER_HOME"
    id=-
    while [[ $id == -* ]]; do
      id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    echo "$id" >"$f"
  fi
  cat "$f"
}

check_node() {
  [[ ${1:-} =~ ^[1-9][0-9]*$ ]] && (($1 <= NODES)) || die "no node '${1:-}': nodes are 1..$NODES"
}

# node N CMD: local-kafka.sh CMD for node N, its messages (all on stderr) prefixed with the
# node; fails if local-kafka.sh failed.
node() {
  local n=$1 cmd=$2 home=$CLUSTER_HOME/node$1 id=
  mkdir -p "$home"
  sed -e "s|@NODE_ID@|$n|g" -e "s|@QUORUM_VOTERS@|$(quorum_voters)|g" \
    "$SCRIPT_DIR/server-cluster.properties" >"$home/server.properties.template"
  if [[ $cmd == launch || $cmd == start ]]; then
    id=$(cluster_id)
  fi
  KAFKA_PORT=$(client_port "$n") KAFKA_CONTROLLER_PORT=$(controller_port "$n") \
    KAFKA_HOME_DIR=$home KAFKA_LIB_DIR=$LIB_DIR KAFKA_HEAP_OPTS=$CLUSTER_HEAP_OPTS \
    KAFKA_CLUSTER_ID=$id KAFKA_PROPERTIES_TEMPLATE=$home/server.properties.template \
    KAFKA_PROBE_ARGS="-replication-factor $NODES -node $n" \
    bash "$SCRIPT_DIR/local-kafka.sh" "$cmd" 2>&1 | sed -u "s/^local-kafka:/local-kafka-cluster: node $n:/" >&2
}

# all CMD: local-kafka.sh CMD on every node at once; fails if any failed.
all() {
  local n pids=() failed=0
  for ((n = 1; n <= NODES; n++)); do
    node "$n" "$1" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do
    wait "$n" || failed=1
  done
  return $failed
}

# Nodes cmd_start launched, stopped again by stop_ours unless the start succeeded.
OURS=()

stop_ours() {
  local n
  ((${#OURS[@]} > 0)) || return 0
  say "start did not finish: stopping node(s) ${OURS[*]}, which it started"
  for n in "${OURS[@]}"; do
    node "$n" stop || true
  done
  OURS=()
}

cmd_start() {
  local n started=$SECONDS todo=()
  for ((n = 1; n <= NODES; n++)); do
    node "$n" status >/dev/null 2>&1 || todo+=("$n")
  done
  if ((${#todo[@]} == 0)); then
    say "already running: $(bootstrap)"
    return 0
  fi
  trap stop_ours EXIT
  trap 'exit 130' INT TERM
  # One after the other: the first may fetch the shared jars; launching returns at once.
  for n in "${todo[@]}"; do
    OURS+=("$n")
    node "$n" launch
  done
  say "launched node(s) ${todo[*]}; waiting until every node serves clients"
  for ((n = 1; n <= NODES; n++)); do
    node "$n" wait
  done
  OURS=()
  say "ready on $(bootstrap) after $((SECONDS - started)) s"
}

cmd_status() {
  local n ok=0
  for ((n = 1; n <= NODES; n++)); do
    node "$n" status || ok=1
  done
  return $ok
}

cmd_wipe() {
  local n
  all stop
  for ((n = 1; n <= NODES; n++)); do
    rm -rf "$CLUSTER_HOME/node$n/data"
  done
  rm -f "$CLUSTER_HOME/cluster.id"
  say "deleted the data of nodes 1..$NODES and the cluster id (jar cache in $LIB_DIR kept)"
}

cmd_start_node() {
  local started=$SECONDS
  node "$1" start
  say "node $1 back after $((SECONDS - started)) s"
}

usage() {
  echo "usage: $0 start|stop|status|wipe|env|stop-node N|kill-node N|start-node N" >&2
  exit 2
}

main() {
  local cmd=${1:-}
  case $cmd in
  start | stop | status | wipe | env) (($# == 1)) || usage ;;
  stop-node | kill-node | start-node) (($# == 2)) || usage; check_node "$2" ;;
  *) usage ;;
  esac
  mkdir -p "$CLUSTER_HOME"
  # One cluster command at a time per KAFKA_CLUSTER_HOME, except the read-only ones and
  # kill-node (a crash waits for no one). local-kafka.sh reopens fd 9 for its own lock, so
  # the brokers never inherit this one.
  exec 9>"$CLUSTER_HOME/.lock"
  case $cmd in
  status | env | kill-node) ;;
  *) flock 9 ;;
  esac
  case $cmd in
  start) cmd_start ;;
  stop) all stop ;;
  status) cmd_status ;;
  wipe) cmd_wipe ;;
  env) echo "KAFKA_CLUSTER_BOOTSTRAP=$(bootstrap)" ;;
  stop-node) node "$2" stop ;;
  kill-node) node "$2" kill ;;
  start-node) cmd_start_node "$2" ;;
  esac
}

main "$@"
