package bench

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/notifierd/notifierd/internal/targetsim"
)

// SimServer is the Target simulator served on a loopback port inside the bench process,
// so its records are read directly.
type SimServer struct {
	*targetsim.Sim
	URL string // http://127.0.0.1:PORT
	srv *http.Server
}

// StartSim serves a fresh simulator with the given fixed latency per request.
func StartSim(latency time.Duration) (*SimServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sim := targetsim.New(targetsim.Config{RecordRequests: false}, targetsim.Faults{LatencyMin: latency, LatencyMax: latency})
	s := &SimServer{Sim: sim, URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops serving and drops open connections.
func (s *SimServer) Close() { _ = s.srv.Close() }

// WaitUnique waits until n distinct notifications were acknowledged or ctx ends; it
// returns when that happened and whether it did.
func (s *SimServer) WaitUnique(ctx context.Context, n int64) (time.Time, bool) {
	err := s.WaitFor(ctx, func(st targetsim.Stats) bool { return st.Unique >= n })
	return time.Now(), err == nil
}

// Acks returns, for every acknowledged notification, its first acknowledgement minus its
// timestamp (the produce time, in ms), the arrival of that request minus the timestamp (the
// part before the simulator: Kafka and notifierd), and the latest first acknowledgement.
func (s *SimServer) Acks() (latencies, toSim []time.Duration, last time.Time) {
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
