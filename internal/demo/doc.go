// Package demo owns notifierd's self-contained demonstration, `go run ./cmd/demo`: it starts
// an in-process Kafka broker (or uses a real one), the Target Delivery API simulator and
// notifierd's real pipeline, publishes realistic display and click traffic (with a few events
// that are invalid on purpose), shows live progress read from the daemon's metrics and the
// simulator's counters, and finally accounts for every produced event: acknowledged by
// Target, or in the dead-letter topic, with every offset committed.
//
// The pure parts (traffic generation, reading the metrics, the accounting and its summary)
// live in their own files and are unit tested; Run wires them to the real components, with
// the broker, topics, producer, ledger and the simulator's server from internal/testbed.
package demo
