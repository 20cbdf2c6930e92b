package delivery

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/notifierd/notifierd/internal/limit"
)

// maxIdleEdges bounds the edges remembered while nothing is in flight to them: location hints
// come from producers, and a stream of made-up ones must not grow the table or the metrics.
const maxIdleEdges = 64

// edges gates requests per Target edge host. Each host has its own concurrency limit, and a
// session whose edge is at its limit waits in that edge's queue without holding a worker, so
// a slow or failing edge never throttles the others.
type edges struct {
	cfg      limit.Config
	wake     func(*session) // makes a parked session ready again
	limit    *prometheus.GaugeVec
	inFlight *prometheus.GaugeVec

	mu    sync.Mutex
	hosts map[string]*edge
}

// edge is one host's limit and the sessions waiting for it.
type edge struct {
	host     string
	limiter  *limit.Limiter
	parked   []*session
	limit    prometheus.Gauge
	inFlight prometheus.Gauge
}

func newEdges(cfg limit.Config, wake func(*session), limitVec, inFlightVec *prometheus.GaugeVec) *edges {
	return &edges{cfg: cfg, wake: wake, limit: limitVec, inFlight: inFlightVec, hosts: make(map[string]*edge)}
}

// acquire takes a slot on url's edge for s, or parks s behind the sessions already waiting
// there and returns nil: a request finishing on that edge hands s a slot.
func (g *edges) acquire(url string, s *session, now time.Time) *edge {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.edgeLocked(hostOf(url))
	if len(e.parked) > 0 || !e.limiter.TryAcquire(now) {
		e.parked = append(e.parked, s)
		return nil
	}
	e.inFlight.Inc()
	return e
}

// release gives e's slot back with what the request said, and hands every slot now free to
// the sessions parked longest: each is woken holding its slot (session.slot), so sessions
// arriving meanwhile cannot overtake it, and none is woken only to park again.
func (g *edges) release(e *edge, now time.Time, rtt time.Duration, outcome limit.Outcome) {
	g.mu.Lock()
	e.limiter.Release(now, rtt, outcome)
	e.inFlight.Dec()
	var woken []*session
	for len(e.parked) > 0 && e.limiter.TryAcquire(now) {
		s := e.parked[0]
		e.parked[0] = nil
		e.parked = e.parked[1:]
		s.slot = e
		e.inFlight.Inc()
		woken = append(woken, s)
	}
	if len(e.parked) == 0 {
		e.parked = nil // let a long queue's array go
	}
	e.limit.Set(float64(e.limiter.Limit()))
	g.mu.Unlock()
	for _, s := range woken {
		g.wake(s)
	}
}

// edgeLocked returns host's edge, creating it, and forgetting idle edges when there are many.
func (g *edges) edgeLocked(host string) *edge {
	if e := g.hosts[host]; e != nil {
		return e
	}
	if len(g.hosts) >= maxIdleEdges {
		for h, e := range g.hosts {
			if len(e.parked) == 0 && e.limiter.Idle() {
				delete(g.hosts, h)
				g.limit.DeleteLabelValues(h)
				g.inFlight.DeleteLabelValues(h)
			}
		}
	}
	e := &edge{
		host: host, limiter: limit.New(g.cfg),
		limit: g.limit.WithLabelValues(host), inFlight: g.inFlight.WithLabelValues(host),
	}
	e.limit.Set(float64(e.limiter.Limit()))
	g.hosts[host] = e
	return e
}

// hostOf is the host (and port) of an absolute URL, without parsing the rest.
func hostOf(url string) string {
	if _, rest, ok := strings.Cut(url, "://"); ok {
		url = rest
	}
	host, _, _ := strings.Cut(url, "/")
	return host
}
