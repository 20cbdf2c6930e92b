package delivery

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/retry"
)

// hintedItem is an item of a visitor whose event names its edge.
func (o *outcome) hintedItem(t *testing.T, session, id, hint string) *batch.Item {
	t.Helper()
	value := fmt.Sprintf(`{"id":%q,"type":"display","timestamp":%d,"sessionId":%q,"tntId":"v-%s","locationHint":%q,"mbox":{"name":"m"},"tokens":["tok-%s"]}`,
		id, time.Now().UnixMilli(), session, session, hint, id)
	n, err := decoder.Decode([]byte(value), event.Source{Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return batch.NewItem(n, event.Source{Topic: "t"}, nil, []byte(value), lease.New(releaseFunc(func(*lease.Lease, lease.Outcome) {
		o.finished <- id
	}), 0))
}

func runDispatcher(t *testing.T, cfg Config, send Send, reg *prometheus.Registry) *Dispatcher {
	t.Helper()
	o := newOutcome()
	router := NewRouter("http://target/c/{client}", "http://edge{hint}/e", "", 100)
	d := NewDispatcher(cfg, send, router, deadLetterFunc(o.deadLetter), metrics.New(reg), zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

func TestAHangingEdgeDoesNotHoldBackTheOthers(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 100)
	var hanging atomic.Int32
	send := func(ctx context.Context, url string, body []byte) (*Response, error) {
		if strings.HasPrefix(url, "http://edge1/") {
			hanging.Add(1)
			entered <- struct{}{}
			select { // edge 1 answers only when the test lets it
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return ackAll(idsOf(t, body)), nil
	}
	d := runDispatcher(t, Config{MaxPerEdge: 4, MaxNotifications: 50, MaxSessions: 100,
		Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 2}}, send, prometheus.NewRegistry())
	o := newOutcome()
	for i := range 8 { // twice edge 1's limit: 4 hang, 4 wait on the edge
		d.Submit(batchOf(o.hintedItem(t, fmt.Sprint("slow", i), fmt.Sprint("s", i), "1")))
	}
	for i := range 20 {
		d.Submit(batchOf(o.hintedItem(t, fmt.Sprint("fast", i), fmt.Sprint("f", i), "2")))
	}
	for range 4 { // edge 1 fills its limit...
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d requests reached edge 1", hanging.Load())
		}
	}
	o.waitFinished(t, 20) // ...and the others still deliver: a pool of 4 shared workers would be stuck
	if n := hanging.Load(); n != 4 {
		t.Fatalf("%d requests in flight to edge 1, want its limit 4", n)
	}
	close(release)
	o.waitFinished(t, 8)
}

func TestParkedSessionsGoOnceTheEdgeFrees(t *testing.T) {
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	send := func(_ context.Context, _ string, body []byte) (*Response, error) {
		n := inFlight.Add(1)
		mu.Lock()
		peak.Store(max(peak.Load(), n))
		mu.Unlock()
		time.Sleep(time.Millisecond) // a round trip, so requests overlap
		inFlight.Add(-1)
		return ackAll(idsOf(t, body)), nil
	}
	reg := prometheus.NewRegistry()
	d := runDispatcher(t, Config{MaxPerEdge: 3, MaxNotifications: 50, MaxSessions: 100,
		Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 2}}, send, reg)
	o := newOutcome()
	for i := range 50 {
		d.Submit(batchOf(o.hintedItem(t, fmt.Sprint("s", i), fmt.Sprint("e", i), "7")))
	}
	o.waitFinished(t, 50)
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak in flight to the edge = %d, want at most its limit 3 (and overlap)", p)
	}
	if got := gauge(t, reg, "notifierd_target_concurrency_limit", "edge7"); got != 3 {
		t.Fatalf("exported limit of edge7 = %v, want the static 3", got)
	}
}

func TestLoadOutcome(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"acknowledged", nil, "accepted"},
		{"400 about the request", &Error{Status: 400, Reason: "400"}, "accepted"},
		{"429", &Error{Status: 429, Retryable: true, Reason: "429"}, "pushed back"},
		{"420", &Error{Status: 420, Retryable: true, Reason: "420"}, "pushed back"},
		{"503", &Error{Status: 503, Retryable: true, Reason: "503"}, "pushed back"},
		{"timeout", &Error{Retryable: true, Reason: "timeout"}, "pushed back"},
		{"refused", &Error{Retryable: true, Reason: "refused"}, "pushed back"},
		{"unexpected", fmt.Errorf("boom"), "pushed back"},
	}
	for _, tt := range tests {
		got := map[bool]string{true: "accepted", false: "pushed back"}[loadOutcome(tt.err) == 0]
		if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// gauge is the value of metric name's series for edge in reg.
func gauge(t *testing.T, reg *prometheus.Registry, name, edge string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if f.GetName() == name && l.GetName() == "edge" && l.GetValue() == edge {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{edge=%q}", name, edge)
	return 0
}
