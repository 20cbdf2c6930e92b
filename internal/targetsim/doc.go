// Package targetsim simulates Adobe Target's Delivery API (POST /rest/v1/delivery)
// for tests and benchmarks of notification senders.
//
// It owns the contract as Target enforces it: every request is validated the way
// Target does (one bad notification rejects the whole request with 400), each
// accepted notification is acknowledged by id, and everything received is recorded
// so tests can assert on exactly-once delivery. Faults (latency, 5xx, 420, 429 with
// Retry-After, 400 for chosen tokens, dropped acknowledgements, hangs, outages) are
// injected on demand, from Go or at runtime over HTTP under /_sim/.
//
// Sim is an http.Handler served over plain HTTP by default. NewTLS makes a throwaway CA and
// leaf for serving it over HTTPS (h2 offered by ALPN unless TLSOptions.HTTP1Only), with the
// CA's PEM and pool for the clients that must trust it.
package targetsim
