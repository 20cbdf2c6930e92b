package targetsim

import (
	"context"
	"maps"
	"net/http"
	"sync"

	"go.uber.org/zap"
)

// Sim is the simulated Delivery API; it is an http.Handler serving the delivery
// endpoint under any path prefix and the control API under /_sim/.
type Sim struct {
	cfg Config
	log *zap.Logger

	mu       sync.Mutex
	faults   Faults
	gen      uint64 // bumped by Reset; requests that arrived earlier are not recorded
	stats    Stats
	received map[string]*Received
	requests []*Request     // arrival order; Status 0 until answered
	sessions map[string]int // requests in flight per sessionId
	changed  chan struct{}  // closed (and replaced) on every change, for WaitFor
}

var _ http.Handler = (*Sim)(nil)

// New returns a simulator with the given configuration and initial faults.
func New(cfg Config, f Faults) *Sim {
	cfg = cfg.withDefaults()
	s := &Sim{
		cfg:      cfg,
		log:      cfg.Logger,
		faults:   f.normalized(),
		received: make(map[string]*Received),
		sessions: make(map[string]int),
		changed:  make(chan struct{}),
	}
	s.stats.Status = make(map[int]int64)
	return s
}

// SetFaults replaces the faults; requests already past a check keep the faults
// they started with. Out-of-range values are clamped.
func (s *Sim) SetFaults(f Faults) {
	f = f.normalized()
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	s.log.Info("targetsim faults set", zap.Any("faults", f))
}

// Faults returns the current faults (with defaults filled in).
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.BadTokens = append([]string(nil), f.BadTokens...)
	return f
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statsLocked()
}

func (s *Sim) statsLocked() Stats {
	st := s.stats
	st.Status = maps.Clone(s.stats.Status)
	return st
}

// Received returns a copy of the acknowledged notifications, keyed by id.
func (s *Sim) Received() map[string]Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Received, len(s.received))
	for id, r := range s.received {
		out[id] = *r
	}
	return out
}

// Requests returns the answered requests, accepted and rejected, in arrival
// order. It is empty unless Config.RecordRequests.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.requests))
	for _, r := range s.requests {
		if r.Status != 0 {
			out = append(out, *r)
		}
	}
	return out
}

// Reset clears records and counters but keeps the faults. InFlight and the
// per-session in-flight counts are live gauges, not records, so they survive;
// requests in flight across a Reset are not recorded when they finish.
func (s *Sim) Reset() {
	s.mu.Lock()
	s.gen++
	s.stats = Stats{Status: make(map[int]int64), InFlight: s.stats.InFlight, SessionBusy: s.stats.SessionBusy}
	s.received = make(map[string]*Received)
	s.requests = nil
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("targetsim reset")
}

// WaitFor blocks until cond(Stats()) holds or ctx is done. It wakes on every
// change instead of polling, so tests need no sleeps.
func (s *Sim) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		st, changed := s.statsLocked(), s.changed
		s.mu.Unlock()
		// cond runs unlocked so it may call back into the Sim.
		if cond(st) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Sim) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
