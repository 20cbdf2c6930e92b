// Package testbed owns the test bed that bench, chaos, demo and kafkatest share: notifierd
// as a process of its own (ProcSet, Notifierd: configuration file, admin address, readiness,
// /metrics, memory and CPU from /proc, SIGTERM or kill), the configuration that wires it to
// a bed (DaemonConfig), topic administration (Admin), the producer and the paced writer
// (Producer, Pace), the ledger that settles an events topic against Target's
// acknowledgements, the dead-letter topic and the committed offsets (Ledger,
// ReadDeadLetters), the local Apache Kafka run by deploy/kafka/local-kafka.sh (LocalKafka),
// the Target simulator served in-process (ServeSim) or steered as a process (SimClient), the
// random ids and tokens of generated events (RandomUUID, RandomToken, ...), and the readers
// of the daemon's /metrics (Scrape, Families) and of /proc.
package testbed
