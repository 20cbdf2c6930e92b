// Package chaos is notifierd's fault-injection suite, the out-of-process big brother of the
// integration tests in internal/daemon: the real notifierd binary runs as separate
// processes with a generated configuration, against the real local Apache Kafka
// (deploy/kafka/local-kafka.sh) and the Target simulator running as its own process
// (cmd/targetsim, steered through its /_sim/ control API).
//
// Every scenario gets a fresh events topic (12 partitions), dead-letter topic and consumer
// group, produces events with known ids keyed by sessionId over many sessions (each message
// carries its id and expected outcome in headers), injects its faults, waits until
// everything settled, stops notifierd gracefully and then accounts for every message of the
// events topic: acknowledged by the simulator (GET /_sim/notifications) or in the
// dead-letter topic with the expected reason; lost = produced − acknowledged −
// dead-lettered must be 0, duplicates are counted, and the group's committed offsets must
// equal the partitions' end offsets.
//
// One file per scenario (scenario_*.go); bed.go is a scenario's test bed, config.go the
// daemons' configuration, sim.go the simulator process, kafka.go reads the topics back,
// workload.go and bad.go make the events, accounting.go (a summary over testbed's ledger)
// and report.go are pure and unit-tested. Processes, the producer, the broker, topic
// administration and the simulator's control client come from internal/testbed. cmd/chaos
// is the command.
package chaos
