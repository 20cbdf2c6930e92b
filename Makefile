# notifierd developer entry points.
#
#   make test         go vet + go test -race against a real local Kafka (started and stopped
#                     here if nothing listens on KAFKA_PORT yet), after the deploy checks, the
#                     SASL_SSL test and the short fault-injection suite (chaos-short)
#   make kafka-start  start the local test broker (deploy/kafka/local-kafka.sh) and leave it up
#   make kafka-stop   stop it
#   make deploy-check install the pinned deploy tools (scripts/install-tools.sh, cached in
#                     .cache) and check the chart, alert rules and systemd unit (deploy/check.sh);
#                     `make test` runs it first
#   make sasl-test    Kafka TLS + SASL (PLAIN, SCRAM-SHA-256/512) against a local broker with a
#                     SASL_SSL listener (deploy/kafka/local-kafka-sasl.sh); `make test` runs it first

SHELL := /bin/bash

KAFKA_PORT ?= 9092
export KAFKA_PORT
KAFKA := deploy/kafka/local-kafka.sh

.PHONY: test kafka-start kafka-stop deploy-check sasl-test

# If a broker already answers on KAFKA_PORT it is used and left running; otherwise one is
# started for the run and stopped afterwards, whether the tests pass or not. If it cannot
# start, the target fails: there is no fallback to the in-process fake here.
test: deploy-check sasl-test chaos-short
	@started=; \
	if ! timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$(KAFKA_PORT)' 2>/dev/null; then \
	  bash $(KAFKA) start || exit 1; \
	  started=1; \
	fi; \
	trap 'if [[ -n $$started ]]; then bash $(KAFKA) stop; fi' EXIT; \
	trap 'exit 130' INT TERM; \
	export NOTIFIERD_TEST_KAFKA=127.0.0.1:$(KAFKA_PORT); \
	echo "go vet ./... && go test -race -count=1 -timeout 20m ./...  (NOTIFIERD_TEST_KAFKA=$$NOTIFIERD_TEST_KAFKA)"; \
	go vet ./... && go test -race -count=1 -timeout 20m ./...

kafka-start:
	@bash $(KAFKA) start

kafka-stop:
	@bash $(KAFKA) stop

deploy-check:
	@bash scripts/install-tools.sh
	@bash deploy/check.sh

# The SASL_SSL broker (ports 9192-9194) is started for the run and stopped afterwards, unless
# it was already running.
SASL_KAFKA := deploy/kafka/local-kafka-sasl.sh
sasl-test:
	@started=; \
	if ! bash $(SASL_KAFKA) status 2>/dev/null; then \
	  bash $(SASL_KAFKA) start || exit 1; \
	  started=1; \
	fi; \
	trap 'if [[ -n $$started ]]; then bash $(SASL_KAFKA) stop; fi' EXIT; \
	trap 'exit 130' INT TERM; \
	set -a; eval "$$(bash $(SASL_KAFKA) env)"; set +a; \
	echo "go test -race -count=1 ./deploy/kafka/sasltest/  (NOTIFIERD_TEST_KAFKA_SASL_SSL=$$NOTIFIERD_TEST_KAFKA_SASL_SSL)"; \
	go test -race -count=1 -timeout 5m ./deploy/kafka/sasltest/

# make bench: issue 6's benchmark, not part of CI. Baselines (bare kafka-go, kcat, a naive
# one-request-per-event sender), notifierd end to end, with 50 ms of Target latency, 1M open
# sessions and a sweep, against the real local Kafka (started and stopped by the command if
# nothing answers on KAFKA_PORT) and the Target simulator. Regenerates docs/BENCHMARKS.md and
# docs/bench-throughput.svg. Scale it down with e.g. BENCH_FLAGS='--events 50000 --open-sessions 20000'.
.PHONY: bench
bench:
	@command -v kcat >/dev/null || apt-get install -y kcat || { apt-get update && apt-get install -y kcat; } || \
	  echo "kcat could not be installed: its baseline will be skipped"
	go run ./cmd/bench --broker 127.0.0.1:$(KAFKA_PORT) $(BENCH_FLAGS)

# Fault-injection suite (cmd/chaos, internal/chaos): the notifierd binary as separate processes,
# the Target simulator as a process, and a local Apache Kafka of the suite's own on 127.0.0.1:19092
# (controller 19093, KAFKA_HOME_DIR .cache/chaos/kafka; started, and stopped and wiped afterwards,
# unless it was already running), so its broker restarts never touch make test's broker.
#   make chaos        the full suite (about 12 minutes); writes docs/RELIABILITY.md
#   make chaos-short  the CI version (about 4-5 minutes on 2 cores); report in .cache/chaos/
# Both exit non-zero if any event was lost or any check failed.
.PHONY: chaos chaos-short
chaos:
	go run ./cmd/chaos --out docs/RELIABILITY.md

chaos-short:
	go run ./cmd/chaos --short --out .cache/chaos/RELIABILITY-short.md
