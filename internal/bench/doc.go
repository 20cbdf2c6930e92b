// Package bench is notifierd's benchmark (`make bench`, `go run ./cmd/bench`): in one run,
// against the real local Kafka broker and the Target simulator, it measures the baselines
// (a bare kafka-go consumer-group loop, kcat, a naive one-request-per-event sender), notifierd
// end to end as a separate process (throughput, CPU, requests against the workload's minimum,
// latency, peak RSS), the same with 50 ms of simulator latency, the memory of 1M open
// sessions, and a sweep over simulator latency and batch size; then it renders
// docs/BENCHMARKS.md and the SVG chart.
//
// One file per measurement (baseline_*.go, e2e.go, memory.go, sweep.go); shared helpers for
// the workload (workload.go), producing (kafka.go), the simulator's records (sim.go) and the
// daemon's configuration per run (daemon.go); processes, topics, the local broker and the
// simulator's server come from internal/testbed. The pure parts (minimum requests, percentiles, chart and
// report rendering, the workload's shape) have unit tests; the rest needs the broker and is
// exercised by running the command.
package bench
