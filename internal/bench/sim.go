package bench

import (
	"context"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// startSim serves a fresh simulator with the given fixed latency per request, over HTTPS
// when tls is set.
func startSim(ctx context.Context, latency time.Duration, tls *targetsim.TLS) (*testbed.SimServer, error) {
	return testbed.ServeSim(ctx, testbed.SimOptions{Faults: latencyOnly(latency), TLS: tls})
}

// latencyOnly is a simulator that answers everything after latency.
func latencyOnly(latency time.Duration) targetsim.Faults {
	return targetsim.Faults{LatencyMin: latency, LatencyMax: latency}
}

// waitUnique waits until n distinct notifications were acknowledged or ctx ends; it
// returns when that happened and whether it did.
func waitUnique(ctx context.Context, s *testbed.SimServer, n int64) (time.Time, bool) {
	err := s.WaitFor(ctx, func(st targetsim.Stats) bool { return st.Unique >= n })
	return time.Now(), err == nil
}

// simAcks returns, for every acknowledged notification, its first acknowledgement minus its
// timestamp (the produce time, in ms), the arrival of that request minus the timestamp (the
// part before the simulator: Kafka and notifierd), and the latest first acknowledgement.
func simAcks(s *testbed.SimServer) (latencies, toSim []time.Duration, last time.Time) {
	rec := s.Received()
	latencies = make([]time.Duration, 0, len(rec))
	toSim = make([]time.Duration, 0, len(rec))
	for _, r := range rec {
		produced := time.UnixMilli(r.Timestamp)
		latencies = append(latencies, r.FirstAck.Sub(produced))
		toSim = append(toSim, r.FirstArrival.Sub(produced))
		if r.FirstAck.After(last) {
			last = r.FirstAck
		}
	}
	return latencies, toSim, last
}
