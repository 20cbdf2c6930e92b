package kafkaheaders

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"
)

func TestHeadersRoundTrip(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, _ := trace.ParseTraceState("vendor=abc")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts})
	var headers []kafka.Header
	Inject(trace.ContextWithSpanContext(context.Background(), sc), &headers)
	if got := (Headers{&headers}).Get(HeaderTraceparent); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("traceparent %q", got)
	}
	got := Extract(headers)
	if got.TraceID() != tid || got.SpanID() != sid || !got.IsSampled() || got.TraceState().Get("vendor") != "abc" || !got.IsRemote() {
		t.Errorf("extracted %+v, want %+v (remote)", got, sc)
	}

	var none []kafka.Header
	Inject(context.Background(), &none)
	if len(none) != 0 {
		t.Errorf("headers %v written without a span context", none)
	}
	for _, h := range [][]kafka.Header{nil, {{Key: "other", Value: []byte("x")}}, {{Key: HeaderTraceparent, Value: []byte("garbage")}}} {
		if sc := Extract(h); sc.IsValid() {
			t.Errorf("Extract(%v) = %v, want invalid", h, sc)
		}
	}
}
