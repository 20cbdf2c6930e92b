# notifierd developer entry points.
#
#   make test         go vet + go test -race against a real local Kafka (started and stopped
#                     here if nothing listens on KAFKA_PORT yet)
#   make kafka-start  start the local test broker (deploy/kafka/local-kafka.sh) and leave it up
#   make kafka-stop   stop it

SHELL := /bin/bash

KAFKA_PORT ?= 9092
export KAFKA_PORT
KAFKA := deploy/kafka/local-kafka.sh

.PHONY: test kafka-start kafka-stop

# If a broker already answers on KAFKA_PORT it is used and left running; otherwise one is
# started for the run and stopped afterwards, whether the tests pass or not. If it cannot
# start, the target fails: there is no fallback to the in-process fake here.
test:
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
