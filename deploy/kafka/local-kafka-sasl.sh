#!/usr/bin/env bash
# local-kafka-sasl.sh: the local test broker (local-kafka.sh) with an extra SASL_SSL listener,
# for the Kafka security tests (deploy/kafka/sasltest).
#
#   local-kafka-sasl.sh start|stop|status|wipe     as local-kafka.sh
#   local-kafka-sasl.sh env                        print the test's environment variables
#
# On start it first makes, with openssl, unless they exist: a test CA, a broker certificate
# for localhost and 127.0.0.1 and a client certificate, all in $KAFKA_TLS_DIR. The broker
# (deploy/kafka/server-sasl.properties) requires TLS client certificates on the SASL_SSL
# listener and accepts PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for the user
# $KAFKA_SASL_USER / $KAFKA_SASL_PASSWORD (SCRAM credentials created at storage format).
#
# Environment (defaults chosen not to collide with local-kafka.sh's broker):
#   KAFKA_PORT 9192 (PLAINTEXT, probe and setup), KAFKA_CONTROLLER_PORT 9193,
#   KAFKA_SASL_PORT 9194, KAFKA_HOME_DIR <repo>/.cache/kafka-sasl,
#   KAFKA_TLS_DIR $KAFKA_HOME_DIR/tls, KAFKA_LIB_DIR <repo>/.cache/kafka/lib (shared jars)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

export KAFKA_PORT=${KAFKA_SASL_PLAIN_PORT:-9192}
export KAFKA_CONTROLLER_PORT=${KAFKA_SASL_CONTROLLER_PORT:-9193}
export KAFKA_SASL_PORT=${KAFKA_SASL_PORT:-9194}
export KAFKA_HOME_DIR=${KAFKA_SASL_HOME_DIR:-$REPO_ROOT/.cache/kafka-sasl}
export KAFKA_TLS_DIR=${KAFKA_TLS_DIR:-$KAFKA_HOME_DIR/tls}
export KAFKA_LIB_DIR=${KAFKA_LIB_DIR:-$REPO_ROOT/.cache/kafka/lib}
export KAFKA_PROPERTIES_TEMPLATE=$SCRIPT_DIR/server-sasl.properties
KAFKA_SASL_USER=notifierd # PLAIN users live in server-sasl.properties: change both together
KAFKA_SASL_PASSWORD=notifierd-secret
export KAFKA_FORMAT_ARGS="--add-scram SCRAM-SHA-256=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD] --add-scram SCRAM-SHA-512=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD]"

say() { echo "local-kafka-sasl: $*" >&2; }

# make_certs: CA, broker (server auth, SANs localhost and 127.0.0.1) and client (client
# auth) certificates, EC P-256 keys in unencrypted PKCS#8, valid 10 days; remade when missing
# or expiring within a day.
make_certs() {
  local d=$KAFKA_TLS_DIR
  if [[ -f $d/ca.crt && -f $d/broker.pem && -f $d/client.crt && -f $d/client.key ]] &&
    openssl x509 -checkend 86400 -noout -in "$d/broker.pem" >/dev/null 2>&1 &&
    openssl x509 -checkend 86400 -noout -in "$d/client.crt" >/dev/null 2>&1; then
    return 0
  fi
  command -v openssl >/dev/null || { say "ERROR: openssl is needed to make the test certificates"; exit 1; }
  say "making test CA and certificates in $d"
  rm -rf "$d.tmp" && mkdir -p "$d.tmp" && chmod 700 "$d.tmp"
  (
    cd "$d.tmp"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 10 -subj "/CN=notifierd test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out ca.crt 2>/dev/null
    sign() { # sign NAME SUBJECT EXTENSIONS
      key "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 10 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    sign broker "/CN=localhost" "$(printf '%s\n' \
      'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1')"
    sign client "/CN=notifierd" "$(printf '%s\n' \
      'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' 'extendedKeyUsage=clientAuth')"
    # Kafka's PEM key store: the private key (PKCS#8) followed by the certificate chain.
    cat broker.key broker.crt ca.crt >broker.pem
    rm -f ./*.csr ./*.ext ca.srl
  )
  rm -rf "$d"
  mv "$d.tmp" "$d"
}

case ${1:-} in
start)
  make_certs
  exec bash "$SCRIPT_DIR/local-kafka.sh" start
  ;;
env)
  cat <<ENV
NOTIFIERD_TEST_KAFKA_SASL_SSL=127.0.0.1:$KAFKA_SASL_PORT
NOTIFIERD_TEST_KAFKA_SASL_PLAINTEXT=127.0.0.1:$KAFKA_PORT
NOTIFIERD_TEST_KAFKA_TLS_DIR=$KAFKA_TLS_DIR
NOTIFIERD_TEST_KAFKA_SASL_USER=$KAFKA_SASL_USER
NOTIFIERD_TEST_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD
ENV
  ;;
stop | status | wipe)
  exec bash "$SCRIPT_DIR/local-kafka.sh" "$1"
  ;;
*)
  echo "usage: $0 start|stop|status|wipe|env" >&2
  exit 2
  ;;
esac
