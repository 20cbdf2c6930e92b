package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/batch"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/retry"
	"github.com/notifierd/notifierd/internal/tracing"
)

// recorder is an SDK provider whose spans stay in memory, with word of each request span
// that ends.
func recorder(t *testing.T) (*sdktrace.TracerProvider, *spanLog) {
	rec := &spanLog{SpanRecorder: tracetest.NewSpanRecorder(), requests: make(chan struct{}, 100)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// spanLog is the SDK's span recorder that also says when a request span ended.
type spanLog struct {
	*tracetest.SpanRecorder
	requests chan struct{}
}

func (l *spanLog) OnEnd(s sdktrace.ReadOnlySpan) {
	l.SpanRecorder.OnEnd(s)
	if s.Name() == RequestSpanName {
		l.requests <- struct{}{}
	}
}

// producerSpan is the span context a producer's record would name.
func producerSpan(t *testing.T, tp trace.TracerProvider) trace.SpanContext {
	t.Helper()
	_, span := tp.Tracer("producer").Start(context.Background(), "publish")
	span.End()
	return span.SpanContext()
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func spansNamed(rec *spanLog, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// waitSpans waits until n request spans ended: a span ends just after its leases settle.
func waitSpans(t *testing.T, rec *spanLog, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-rec.requests:
		case <-timeout:
			t.Fatalf("%d of %d request spans ended", i, n)
		}
	}
	return spansNamed(rec, RequestSpanName)
}

// sendSequence answers each request with the next of errs (nil: acknowledge everything).
func sendSequence(t *testing.T, errs ...error) Send {
	var mu sync.Mutex
	return func(_ context.Context, _ string, body []byte) (*Response, error) {
		mu.Lock()
		defer mu.Unlock()
		var err error
		if len(errs) > 0 {
			err, errs = errs[0], errs[1:]
		}
		if err != nil {
			return nil, err
		}
		r := ackAll(idsOf(t, body))
		r.RequestID = "req-1"
		return r, nil
	}
}

func TestRequestSpan(t *testing.T) {
	unavailable := &Error{Status: 503, Message: "busy", Retryable: true, Reason: "503"}
	rejected := &Error{Status: 403, Message: "forbidden", Reason: "403"}
	tests := []struct {
		name                     string
		errs                     []error
		wantAttempts, wantStatus int
		wantOutcome              string
		wantError                bool
	}{
		{"acknowledged at once", nil, 1, 200, "acknowledged", false},
		{"acknowledged on the third attempt", []error{unavailable, unavailable}, 3, 200, "acknowledged", false},
		{"rejected", []error{rejected}, 1, 403, "dead_lettered", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, rec := recorder(t)
			o := newOutcome()
			var dlCause []trace.SpanContext
			var mu sync.Mutex
			dl := func(ctx context.Context, it *batch.Item, reason, detail string) error {
				mu.Lock()
				dlCause = append(dlCause, trace.SpanContextFromContext(ctx))
				mu.Unlock()
				return o.deadLetter(ctx, it, reason, detail)
			}
			d, _ := startDispatcherWith(t, sendSequence(t, tt.errs...), o, func(d *Dispatcher) {
				d.cfg.Retry = policyOr(retry.Policy{})
				d.deadLetters = deadLetterFunc(dl)
				d.Trace(tp.Tracer(tracing.ScopeName))
			})
			a, b := o.item(t, "s1", "a"), o.item(t, "s1", "b")
			a.Trace, b.Trace = producerSpan(t, tp), producerSpan(t, tp)
			d.Submit(batchOf(a, b))
			o.waitFinished(t, 2)
			spans := waitSpans(t, rec, 1)
			if len(spans) != 1 {
				t.Fatalf("%d request spans, want 1", len(spans))
			}
			s := spans[0]
			if s.SpanKind() != trace.SpanKindClient || s.Parent().IsValid() {
				t.Errorf("kind %v, parent %v: want a client span with no parent", s.SpanKind(), s.Parent())
			}
			if len(s.Links()) != 2 || s.Links()[0].SpanContext.SpanID() != a.Trace.SpanID() || s.Links()[1].SpanContext.SpanID() != b.Trace.SpanID() {
				t.Errorf("links %+v, want the two events' span contexts", s.Links())
			}
			m := attrs(s)
			if m[tracing.SessionID].AsString() != "s1" || m[tracing.MessagingBatchCount].AsInt64() != 2 || m[tracing.ServerAddress].AsString() != "target" ||
				m[tracing.Attempt].AsInt64() != int64(tt.wantAttempts) || m[tracing.HTTPStatus].AsInt64() != int64(tt.wantStatus) || m[tracing.Outcome].AsString() != tt.wantOutcome {
				t.Errorf("attributes %v", m)
			}
			if n := len(s.Events()); n != tt.wantAttempts {
				t.Errorf("%d attempt events, want %d", n, tt.wantAttempts)
			}
			if got := s.Status().Code == codes.Error; got != tt.wantError {
				t.Errorf("status %+v, want error %v", s.Status(), tt.wantError)
			}
			if tt.wantError {
				for _, sc := range dlCause {
					if sc.SpanID() != s.SpanContext().SpanID() {
						t.Errorf("dead letter handed %v, want the request span %v", sc, s.SpanContext())
					}
				}
			}
		})
	}
}

// A 400 on two notifications splits the request: its span ends, and each half gets its own.
func TestSplitRequestsGetSpansOfTheirOwn(t *testing.T) {
	tp, rec := recorder(t)
	o := newOutcome()
	bad := &Error{Status: 400, Message: "bad token"}
	d, _ := startDispatcherWith(t, sendSequence(t, bad, bad), o, func(d *Dispatcher) { d.Trace(tp.Tracer(tracing.ScopeName)) })
	d.Submit(batchOf(o.item(t, "s1", "a"), o.item(t, "s1", "b")))
	o.waitFinished(t, 2)
	spans := waitSpans(t, rec, 3)
	outcomes := map[string]int{}
	for _, s := range spans {
		outcomes[attrs(s)[tracing.Outcome].AsString()]++
	}
	if outcomes["split"] != 1 || outcomes["dead_lettered"] != 1 || outcomes["acknowledged"] != 1 {
		t.Errorf("outcomes %v, want one split, one dead-lettered half and one acknowledged half", outcomes)
	}
}

// Spans ended by nobody are never exported: the dispatcher ends the spans of parts still
// waiting out a backoff when it stops.
func TestOpenSpansEndWhenTheDispatcherStops(t *testing.T) {
	tp, rec := recorder(t)
	o := newOutcome()
	attempted := make(chan struct{}, 1)
	send := func(context.Context, string, []byte) (*Response, error) {
		select {
		case attempted <- struct{}{}:
		default:
		}
		return nil, &Error{Status: 503, Retryable: true, Reason: "503"}
	}
	router := NewRouter("http://target/c/{client}", "http://target/e/{hint}", "", 100)
	d := NewDispatcher(Config{MaxPerEdge: 4, MaxNotifications: 50, MaxSessions: 10, Retry: retry.Policy{Initial: time.Hour, Max: time.Hour, Multiplier: 2}},
		send, router, deadLetterFunc(o.deadLetter), metrics.New(prometheus.NewRegistry()), zap.NewNop())
	d.Trace(tp.Tracer(tracing.ScopeName))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	d.Submit(batchOf(o.item(t, "s1", "a")))
	<-attempted
	// Whether the stop finds the attempt still running or the session waiting out its hour
	// of backoff, the span must end as stopped.
	cancel()
	<-done
	spans := spansNamed(rec, RequestSpanName)
	if len(spans) != 1 || attrs(spans[0])[tracing.Outcome].AsString() != "stopped" {
		t.Fatalf("spans %v, want one ended as stopped", spans)
	}
}

// A collector that never answers must cost spans, never deliveries: the batch processor's
// queue fills and drops.
func TestAStuckExporterNeverBlocksDelivery(t *testing.T) {
	stuck := &stuckExporter{release: make(chan struct{})}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(stuck, sdktrace.WithMaxQueueSize(8), sdktrace.WithMaxExportBatchSize(4)))
	defer func() {
		close(stuck.release)
		_ = tp.Shutdown(context.Background())
	}()
	o := newOutcome()
	d, _ := startDispatcherWith(t, sendSequence(t), o, func(d *Dispatcher) { d.Trace(tp.Tracer(tracing.ScopeName)) })
	const sessions = 500
	for i := range sessions {
		d.Submit(batchOf(o.item(t, fmt.Sprintf("s%d", i), "id")))
	}
	o.waitFinished(t, sessions)
	if stuck.calls() == 0 {
		t.Error("the exporter was never called: the test did not block it")
	}
}

// stuckExporter blocks every export until released, like a collector that accepts the
// connection and never answers.
type stuckExporter struct {
	mu      sync.Mutex
	n       int
	release chan struct{}
}

func (e *stuckExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	e.n++
	e.mu.Unlock()
	select {
	case <-e.release:
	case <-ctx.Done():
	}
	return errors.New("collector unavailable")
}
func (e *stuckExporter) Shutdown(context.Context) error { return nil }
func (e *stuckExporter) calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

// Traced sends trace headers to Target only with propagateTrace, and its HTTP span is a
// child of the request span.
func TestTracedTransportPropagatesOnlyWhenAsked(t *testing.T) {
	for _, propagate := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "propagateTrace"}[propagate], func(t *testing.T) {
			tp, rec := recorder(t)
			got := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Get("traceparent")
				w.Write([]byte(`{"status":200,"requestId":"r","id":{"tntId":"t"},"edgeHost":"mboxedge35.tt.omtrdc.net","notifications":[{"id":"a"}]}`))
			}))
			defer srv.Close()
			transport := NewTransport(2)
			defer transport.CloseIdleConnections()
			c := &Client{HTTP: &http.Client{Transport: Traced(transport, tp, propagate)}, Timeout: 5 * time.Second}
			ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
			if _, err := c.Send(ctx, srv.URL+"/rest/v1/delivery", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			parent.End()
			header := <-got
			if (header != "") != propagate {
				t.Errorf("traceparent %q sent with propagateTrace %v", header, propagate)
			}
			var httpSpans int
			for _, s := range rec.Ended() {
				if s.Parent().SpanID() == parent.SpanContext().SpanID() && s.SpanKind() == trace.SpanKindClient {
					httpSpans++
				}
			}
			if httpSpans != 1 {
				t.Errorf("%d HTTP client spans under the request span, want 1", httpSpans)
			}
		})
	}
}

// BenchmarkSendTransport is one Client.Send over loopback through the bare transport (what
// runs with tracing off), otelhttp over a no-op provider, and otelhttp recording spans.
func BenchmarkSendTransport(b *testing.B) {
	ack := benchAck(benchIDs)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Write(ack)
	}))
	defer srv.Close()
	items := benchItems(b, "s1", benchIDs)
	env := items[0].Notification.Envelope
	body := Body(env, items)
	url := NewRouter(srv.URL+"/{client}", srv.URL+"/{hint}", "", 100).URL(env)
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	for _, tt := range []struct {
		name string
		wrap func(http.RoundTripper) http.RoundTripper
	}{
		{"bare", func(rt http.RoundTripper) http.RoundTripper { return rt }},
		{"otelhttp-noop", func(rt http.RoundTripper) http.RoundTripper { return Traced(rt, tracenoop.NewTracerProvider(), false) }},
		{"otelhttp-sdk", func(rt http.RoundTripper) http.RoundTripper { return Traced(rt, sdk, false) }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			transport := NewTransport(4)
			defer transport.CloseIdleConnections()
			c := &Client{HTTP: &http.Client{Transport: tt.wrap(transport)}, Timeout: 10 * time.Second}
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for b.Loop() {
				if _, err := c.Send(context.Background(), url, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
