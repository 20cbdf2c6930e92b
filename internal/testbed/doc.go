// Package testbed owns the pieces that run and observe a real notifierd process for the
// fault-injection suite (internal/chaos) and the benchmark (internal/bench): reading a
// process's CPU time and memory from /proc, and scraping and parsing the daemon's
// Prometheus /metrics.
package testbed
