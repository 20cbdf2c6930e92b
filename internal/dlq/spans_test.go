package dlq

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/notifierd/notifierd/internal/event"
	"github.com/notifierd/notifierd/internal/lease"
	"github.com/notifierd/notifierd/internal/metrics"
	"github.com/notifierd/notifierd/internal/tracing"
)

// Each dead-lettered entry gets a producer span linked to its event and to the request
// that rejected it, once its write succeeded.
func TestASpanPerDeadLetter(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("test")
	start := func(name string) trace.SpanContext {
		_, s := tracer.Start(context.Background(), name)
		s.End()
		return s.SpanContext()
	}
	evSpan, reqSpan := start("publish"), start("request")

	w := NewWriter(func(context.Context, ...kafka.Message) error { return nil }, metrics.New(prometheus.NewRegistry()), zap.NewNop())
	w.Trace(tp.Tracer(tracing.ScopeName), "events.dlq")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	settled := make(chan struct{}, 2)
	l := func() *lease.Lease {
		return lease.New(releaseFunc(func(*lease.Lease, lease.Outcome) { settled <- struct{}{} }), 0)
	}
	entries := []Entry{
		{Source: event.Source{Topic: "events", Partition: 1, Offset: 9}, Reason: "target_rejected", Detail: "bad token", Lease: l(), Trace: evSpan, Cause: reqSpan},
		{Source: event.Source{Topic: "events", Partition: 1, Offset: 10}, Reason: "bad_json", Lease: l()}, // no trace context at all
	}
	for _, e := range entries {
		if err := w.Send(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	<-settled
	<-settled // spans end before the leases settle

	var spans []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "send events.dlq" {
			spans = append(spans, s)
		}
	}
	if len(spans) != 2 {
		t.Fatalf("%d dead-letter spans, want 2", len(spans))
	}
	for i, s := range spans {
		if s.SpanKind() != trace.SpanKindProducer || s.Parent().IsValid() {
			t.Errorf("span %d: kind %v parent %v, want a producer span with no parent", i, s.SpanKind(), s.Parent())
		}
	}
	first := spans[0]
	if len(first.Links()) != 2 || first.Links()[0].SpanContext.SpanID() != evSpan.SpanID() || first.Links()[1].SpanContext.SpanID() != reqSpan.SpanID() {
		t.Errorf("links %+v, want the event's span, then the request's", first.Links())
	}
	if len(spans[1].Links()) != 0 {
		t.Errorf("links %+v, want none for an event without trace context", spans[1].Links())
	}
	want := map[string]string{"notifierd.dlq.reason": "target_rejected", "messaging.destination.name": "events.dlq", "notifierd.source.offset": "9"}
	for _, kv := range first.Attributes() {
		if v, ok := want[string(kv.Key)]; ok {
			if kv.Value.Emit() != v {
				t.Errorf("%s = %s, want %s", kv.Key, kv.Value.Emit(), v)
			}
			delete(want, string(kv.Key))
		}
	}
	if len(want) > 0 {
		t.Errorf("attributes missing: %v", want)
	}
}
