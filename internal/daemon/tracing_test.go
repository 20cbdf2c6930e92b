package daemon_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/notifierd/notifierd/internal/daemon"
	"github.com/notifierd/notifierd/internal/delivery"
	"github.com/notifierd/notifierd/internal/kafkatest"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/tracing"
	"github.com/notifierd/notifierd/internal/tracing/kafkaheaders"
	"github.com/notifierd/notifierd/pkg/notify"
	"github.com/notifierd/notifierd/pkg/notify/publish"
)

// otlpReceiver is a test collector: it decodes OTLP/HTTP protobuf export requests and keeps
// their spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if r.URL.Path != "/v1/traces" || err != nil {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (o *otlpReceiver) named(name string) []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range o.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func intAttr(s *tracepb.Span, key string) int64 {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.GetIntValue()
		}
	}
	return -1
}

// The daemon's spans reach an OTLP/HTTP collector with links to the spans of the producers
// that published the events (publish.Publisher with a span in its context), and no trace
// header goes to Target by default.
func TestSpansReachTheCollectorLinkedToTheProducers(t *testing.T) {
	h := newHarness(t, 3, targetsim.Faults{})
	receiver := &otlpReceiver{}
	collector := httptest.NewServer(receiver)
	defer collector.Close()
	var traceparents atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			traceparents.Add(1)
		}
		h.sim.ServeHTTP(w, r)
	}))
	defer front.Close()
	h.cfg.Target.URL, h.cfg.Target.EdgeURL = front.URL+"/c/{client}", front.URL+"/e/{hint}"

	env := map[string]string{tracing.ExporterEnv: "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "OTEL_BSP_SCHEDULE_DELAY": "50"}
	for k, v := range env {
		t.Setenv(k, v) // autoexport and the SDK read the process environment
	}
	tp, err := tracing.Setup(context.Background(), "test", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	h.opts = []daemon.Option{daemon.WithTracing(tp)}

	// Producers: two checkouts, each publishing its session's events under its own span.
	producerTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	defer func() { _ = producerTP.Shutdown(context.Background()) }()
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	w := publish.NewKafkaWriter(publish.KafkaConfig{Brokers: []string{h.broker}, Topic: h.topic, Transport: transport})
	p := publish.New(w)
	producerSpans := map[trace.SpanID]int{} // span -> events published under it
	var sent int
	for i, session := range []string{"s1", "s2"} {
		ctx, span := producerTP.Tracer("shop").Start(context.Background(), "checkout", trace.WithSpanKind(trace.SpanKindProducer))
		var events []notify.Event
		for _, id := range ids(session, 5+i) {
			events = append(events, event(id, session))
		}
		if err := p.Publish(ctx, events...); err != nil {
			t.Fatal(err)
		}
		span.End()
		producerSpans[span.SpanContext().SpanID()] = len(events)
		sent += len(events)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// And one record that is not an event, with a trace context: its dead letter links to it.
	ctx, badSpan := producerTP.Tracer("shop").Start(context.Background(), "bad")
	bad := kafka.Message{Key: []byte("s3"), Value: []byte(`{"type":`)}
	kafkaheaders.Inject(ctx, &bad.Headers)
	badSpan.End()
	kafkatest.Produce(t, h.broker, h.topic, bad)

	r := h.start()
	h.waitUnique(int64(sent), 30*time.Second)
	r.stop(t)
	if err := tp.Shutdown(context.Background()); err != nil { // flushes what is queued
		t.Fatal(err)
	}

	requests := receiver.named(delivery.RequestSpanName)
	linked := map[trace.SpanID]int{}
	for _, s := range requests {
		if s.Kind != tracepb.Span_SPAN_KIND_CLIENT || len(s.ParentSpanId) != 0 {
			t.Errorf("request span kind %v parent %x: want a client span with no parent", s.Kind, s.ParentSpanId)
		}
		if intAttr(s, "http.response.status_code") != 200 || intAttr(s, "notifierd.attempt") < 1 {
			t.Errorf("request span attributes %v", s.Attributes)
		}
		for _, l := range s.Links {
			linked[trace.SpanID(l.SpanId)]++
		}
	}
	for id, n := range producerSpans {
		if linked[id] != n {
			t.Errorf("producer span %s: %d links from request spans, want one per event (%d)", id, linked[id], n)
		}
	}
	dead := receiver.named("send " + h.dlq)
	if len(dead) != 1 || len(dead[0].Links) != 1 || trace.SpanID(dead[0].Links[0].SpanId) != badSpan.SpanContext().SpanID() {
		t.Errorf("dead-letter spans %v, want one linked to the bad record's span", dead)
	}
	if n := len(receiver.named("HTTP POST")); n < len(requests) {
		t.Errorf("%d HTTP client spans for %d requests", n, len(requests))
	}
	if n := traceparents.Load(); n != 0 {
		t.Errorf("%d requests carried a traceparent to Target; target.propagateTrace is off", n)
	}
}
