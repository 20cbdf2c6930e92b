package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/retry"
	"github.com/notifierd/notifierd/pkg/notify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var decoder = &event.Decoder{Client: "acme", Channel: "web", Limits: notify.Limits{}, Now: time.Now}

// outcome records how each item ended.
type outcome struct {
	mu       sync.Mutex
	settled  map[string]int
	dead     map[string]string
	finished chan string
}

func newOutcome() *outcome {
	return &outcome{settled: map[string]int{}, dead: map[string]string{}, finished: make(chan string, 1000)}
}

func (o *outcome) item(t *testing.T, session, id string) *batch.Item {
	t.Helper()
	value := fmt.Sprintf(`{"id":%q,"type":"click","timestamp":%d,"sessionId":%q,"tntId":"v-%s","mbox":{"name":"m"},"tokens":["tok-%s"]}`,
		id, time.Now().UnixMilli(), session, session, id)
	n, err := decoder.Decode([]byte(value), event.Source{Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return batch.NewItem(n, event.Source{Topic: "t"}, nil, []byte(value), lease.New(releaseFunc(func(*lease.Lease, lease.Outcome) {
		o.mu.Lock()
		o.settled[id]++
		o.mu.Unlock()
		o.finished <- id
	}), 0))
}

func (o *outcome) deadLetter(_ context.Context, it *batch.Item, reason, detail string) error {
	o.mu.Lock()
	o.dead[it.Notification.ID] = reason + ": " + detail
	o.mu.Unlock()
	it.Settle(lease.DeadLettered)
	return nil
}

// releaseFunc is a fake lease holder of a partition still owned.
type releaseFunc func(l *lease.Lease, o lease.Outcome)

func (f releaseFunc) Release(l *lease.Lease, o lease.Outcome) { f(l, o) }
func (f releaseFunc) GivenUp() bool                           { return false }

// givenUp is a fake lease holder of a partition given up.
type givenUp releaseFunc

func (f givenUp) Release(l *lease.Lease, o lease.Outcome) { f(l, o) }
func (f givenUp) GivenUp() bool                           { return true }

// deadLetterFunc is a fake dead-letter writer.
type deadLetterFunc func(ctx context.Context, it *batch.Item, reason, detail string) error

func (f deadLetterFunc) DeadLetter(ctx context.Context, it *batch.Item, reason, detail string) error {
	return f(ctx, it, reason, detail)
}

// waitFinished waits until n items have an outcome.
func (o *outcome) waitFinished(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-o.finished:
		case <-timeout:
			t.Fatalf("only %d of %d items finished", i, n)
		}
	}
}

func batchOf(items ...*batch.Item) *batch.Batch {
	b := &batch.Batch{Envelope: items[0].Notification.Envelope}
	for _, it := range items {
		b.Items = append(b.Items, it)
		b.Bytes += it.Size()
	}
	return b
}

// request is what the fake Target saw.
type request struct {
	url string
	ids []string
}

func idsOf(t *testing.T, body []byte) []string {
	var req struct {
		Notifications []struct {
			ID string `json:"id"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Errorf("request body is not JSON: %v", err)
	}
	ids := make([]string, len(req.Notifications))
	for i, n := range req.Notifications {
		ids[i] = n.ID
	}
	return ids
}

func ackAll(ids []string) *Response {
	return &Response{Acked: slices.Clone(ids), EdgeHost: "mboxedge35.tt.omtrdc.net"}
}

func startDispatcher(t *testing.T, send Send, o *outcome, policy retry.Policy) (*Dispatcher, *Router) {
	t.Helper()
	return startDispatcherWith(t, send, o, func(d *Dispatcher) { d.cfg.Retry = policyOr(policy) })
}

func policyOr(policy retry.Policy) retry.Policy {
	if policy.Initial == 0 {
		return retry.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}
	}
	return policy
}

// startDispatcherWith runs a dispatcher after setup has adjusted it.
func startDispatcherWith(t *testing.T, send Send, o *outcome, setup func(*Dispatcher)) (*Dispatcher, *Router) {
	t.Helper()
	policy := policyOr(retry.Policy{})
	router := NewRouter("http://target/c/{client}", "http://target/e/{hint}", "", 100)
	d := NewDispatcher(Config{MaxPerEdge: 4, MaxNotifications: 50, MaxSessions: 1000, Retry: policy},
		send, router, deadLetterFunc(o.deadLetter), metrics.New(prometheus.NewRegistry()), zap.NewNop())
	setup(d)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d, router
}

func TestDeliversAndLearnsTheEdge(t *testing.T) {
	o := newOutcome()
	var mu sync.Mutex
	var seen []request
	send := func(_ context.Context, url string, body []byte) (*Response, error) {
		ids := idsOf(t, body)
		mu.Lock()
		seen = append(seen, request{url, ids})
		mu.Unlock()
		return ackAll(ids), nil
	}
	d, _ := startDispatcher(t, send, o, retry.Policy{})
	d.Submit(batchOf(o.item(t, "s1", "a"), o.item(t, "s1", "b")))
	o.waitFinished(t, 2)
	d.Submit(batchOf(o.item(t, "s1", "c")))
	o.waitFinished(t, 1)

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || len(seen[0].ids) != 2 {
		t.Fatalf("requests = %+v, want [a b] then [c]", seen)
	}
	if !strings.HasPrefix(seen[0].url, "http://target/c/acme/rest/v1/delivery?") || !strings.Contains(seen[0].url, "sessionId=s1") {
		t.Errorf("first request went to %s, want the client URL with the session", seen[0].url)
	}
	if !strings.HasPrefix(seen[1].url, "http://target/e/35/rest/v1/delivery?") {
		t.Errorf("second request went to %s, want the edge learned from edgeHost", seen[1].url)
	}
}

func TestOneRequestInFlightPerSessionAndQueuedBatchesMerge(t *testing.T) {
	o := newOutcome()
	release := make(chan struct{})
	firstArrived := make(chan struct{})
	var inFlight, maxInFlight atomic.Int32
	var mu sync.Mutex
	var sizes []int
	send := func(_ context.Context, _ string, body []byte) (*Response, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		ids := idsOf(t, body)
		mu.Lock()
		sizes = append(sizes, len(ids))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			close(firstArrived)
			<-release
		}
		return ackAll(ids), nil
	}
	d, _ := startDispatcher(t, send, o, retry.Policy{})
	d.Submit(batchOf(o.item(t, "s1", "a")))
	<-firstArrived
	d.Submit(batchOf(o.item(t, "s1", "b")))
	d.Submit(batchOf(o.item(t, "s1", "c"), o.item(t, "s1", "d")))
	close(release)
	o.waitFinished(t, 4)

	if maxInFlight.Load() != 1 {
		t.Errorf("%d requests of one session were in flight at once", maxInFlight.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(sizes) != "[1 3]" {
		t.Errorf("request sizes = %v, want [1 3]: batches queued behind a request share the next one", sizes)
	}
}

func TestRetriesOnlyMissingAcknowledgements(t *testing.T) {
	o := newOutcome()
	var calls atomic.Int32
	var mu sync.Mutex
	var second []string
	send := func(_ context.Context, _ string, body []byte) (*Response, error) {
		ids := idsOf(t, body)
		if calls.Add(1) == 1 {
			return ackAll(ids[:1]), nil // Target acknowledged only the first
		}
		mu.Lock()
		second = ids
		mu.Unlock()
		return ackAll(ids), nil
	}
	d, _ := startDispatcher(t, send, o, retry.Policy{})
	d.Submit(batchOf(o.item(t, "s", "a"), o.item(t, "s", "b"), o.item(t, "s", "c")))
	o.waitFinished(t, 3)
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(second) != "[b c]" {
		t.Errorf("retry carried %v, want only the unacknowledged [b c]", second)
	}
	for _, id := range []string{"a", "b", "c"} {
		if o.settled[id] != 1 {
			t.Errorf("%s settled %d times", id, o.settled[id])
		}
	}
}

func TestBadRequestIsolatesTheRejectedNotification(t *testing.T) {
	o := newOutcome()
	var requests atomic.Int32
	send := func(_ context.Context, _ string, body []byte) (*Response, error) {
		requests.Add(1)
		ids := idsOf(t, body)
		for _, id := range ids {
			if id == "n17" {
				return nil, &Error{Status: 400, Message: "Notification token is invalid: tok-n17", Reason: "400"}
			}
		}
		return ackAll(ids), nil
	}
	d, _ := startDispatcher(t, send, o, retry.Policy{})
	var items []*batch.Item
	for i := range 50 {
		items = append(items, o.item(t, "s", fmt.Sprintf("n%d", i)))
	}
	d.Submit(batchOf(items...))
	o.waitFinished(t, 50)

	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.dead) != 1 || !strings.Contains(o.dead["n17"], "Notification token is invalid: tok-n17") {
		t.Fatalf("dead letters = %v, want only n17 with Target's message", o.dead)
	}
	if len(o.settled) != 50 {
		t.Fatalf("%d of 50 settled", len(o.settled))
	}
	if n := requests.Load(); n > 2*6+1 {
		t.Errorf("%d requests to isolate one bad notification in 50, want at most 13 (bisection)", n)
	}
}

func TestRetryableThenPermanentThenExhausted(t *testing.T) {
	tests := []struct {
		name       string
		failures   []error // answers before a success
		maxElapsed time.Duration
		wantDead   string // reason prefix; "" when delivered
	}{
		{"503 then success", []error{&Error{Status: 503, Retryable: true, Reason: "503"}}, 0, ""},
		{"429 with Retry-After then success", []error{&Error{Status: 429, Retryable: true, RetryAfter: 10 * time.Millisecond, Reason: "429"}}, 0, ""},
		{"network error then success", []error{&Error{Message: "connection refused", Retryable: true, Reason: "network"}}, 0, ""},
		{"403 is permanent", []error{&Error{Status: 403, Message: "forbidden", Reason: "403"}}, 0, "target_status_403"},
		{"outage longer than maxElapsedTime", repeat(&Error{Status: 503, Retryable: true, Reason: "503"}, 1000), 20 * time.Millisecond, "retries_exhausted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutcome()
			var calls atomic.Int32
			send := func(_ context.Context, _ string, body []byte) (*Response, error) {
				n := int(calls.Add(1))
				if n <= len(tt.failures) {
					return nil, tt.failures[n-1]
				}
				return ackAll(idsOf(t, body)), nil
			}
			d, _ := startDispatcher(t, send, o, retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, Multiplier: 2, MaxElapsed: tt.maxElapsed})
			d.Submit(batchOf(o.item(t, "s", "a"), o.item(t, "s", "b")))
			o.waitFinished(t, 2)
			o.mu.Lock()
			defer o.mu.Unlock()
			if tt.wantDead == "" {
				if len(o.dead) != 0 {
					t.Fatalf("dead letters %v, want both delivered", o.dead)
				}
				return
			}
			for _, id := range []string{"a", "b"} {
				if !strings.HasPrefix(o.dead[id], tt.wantDead) {
					t.Errorf("%s dead-lettered as %q, want %s", id, o.dead[id], tt.wantDead)
				}
			}
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

func TestStaleItemsAreNotSent(t *testing.T) {
	o := newOutcome()
	send := func(_ context.Context, _ string, body []byte) (*Response, error) {
		t.Errorf("sent %v for a partition that was given up", idsOf(t, body))
		return ackAll(idsOf(t, body)), nil
	}
	d, _ := startDispatcher(t, send, o, retry.Policy{})
	it := o.item(t, "s", "a")
	stale := batch.NewItem(it.Notification, it.Source, nil, nil, lease.New(givenUp(func(*lease.Lease, lease.Outcome) { o.finished <- "a" }), 0))
	d.Submit(batchOf(stale))
	o.waitFinished(t, 1)
}

func TestOneFailingSessionDoesNotStallOthers(t *testing.T) {
	o := newOutcome()
	send := func(_ context.Context, url string, body []byte) (*Response, error) {
		if strings.Contains(url, "sessionId=bad") {
			return nil, &Error{Status: 503, Retryable: true, Reason: "503"}
		}
		return ackAll(idsOf(t, body)), nil
	}
	d, _ := startDispatcher(t, send, o, retry.Policy{Initial: time.Hour, Max: time.Hour, Multiplier: 2})
	for i := range 4 { // as many failing sessions as workers: none may hold one while it waits
		d.Submit(batchOf(o.item(t, fmt.Sprintf("bad%d", i), fmt.Sprintf("bad%d", i))))
	}
	for i := range 20 {
		d.Submit(batchOf(o.item(t, fmt.Sprintf("good%d", i), fmt.Sprintf("g%d", i))))
	}
	o.waitFinished(t, 20)
}

// TestAcknowledgedAtShutdownIsSettled: a 200 that arrives as the dispatcher stops still
// settles its items; dropping it would have Kafka hand them out again, and Target count them
// twice.
func TestAcknowledgedAtShutdownIsSettled(t *testing.T) {
	o := newOutcome()
	sending := make(chan struct{})
	d := NewDispatcher(Config{MaxPerEdge: 1, MaxNotifications: 50, MaxSessions: 10, Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 2}},
		func(ctx context.Context, _ string, body []byte) (*Response, error) {
			close(sending)
			<-ctx.Done() // the answer comes back just as the dispatcher is told to stop
			return ackAll(idsOf(t, body)), nil
		}, NewRouter("http://target/c/{client}", "http://target/e/{hint}", "", 10), deadLetterFunc(o.deadLetter),
		metrics.New(prometheus.NewRegistry()), zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	d.Submit(batchOf(o.item(t, "s", "a")))
	<-sending
	cancel()
	<-done
	o.waitFinished(t, 1)
}

// notifierd_event_latency_seconds counts each acknowledged event once, from its timestamp
// to the acknowledgement; an event that is not acknowledged is not counted yet.
func TestEventLatencyObservedOnAcknowledgement(t *testing.T) {
	o := newOutcome()
	m := metrics.New(prometheus.NewRegistry())
	a, b := o.item(t, "s", "a"), o.item(t, "s", "b")
	acked := time.UnixMilli(max(a.Notification.Timestamp, b.Notification.Timestamp)).Add(250 * time.Millisecond)
	attempts := 0
	d := NewDispatcher(Config{MaxPerEdge: 1, MaxNotifications: 50, MaxSessions: 10, Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 2}},
		func(_ context.Context, _ string, body []byte) (*Response, error) {
			attempts++
			if attempts == 1 {
				return ackAll([]string{"a"}), nil // b is missing: retried, not yet counted
			}
			return ackAll(idsOf(t, body)), nil
		}, NewRouter("http://target/c/{client}", "http://target/e/{hint}", "", 10), deadLetterFunc(o.deadLetter), m, zap.NewNop())
	d.now = func() time.Time { return acked }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	d.Submit(batchOf(a, b))
	o.waitFinished(t, 2)

	var got dto.Metric
	if err := m.EventLatency.Write(&got); err != nil {
		t.Fatal(err)
	}
	want := acked.Sub(time.UnixMilli(a.Notification.Timestamp)) + acked.Sub(time.UnixMilli(b.Notification.Timestamp))
	if h := got.GetHistogram(); h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-want.Seconds()) > 1e-9 {
		t.Errorf("event latency: %d samples summing to %gs, want 2 summing to %gs", h.GetSampleCount(), h.GetSampleSum(), want.Seconds())
	}
}
