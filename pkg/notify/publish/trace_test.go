package publish_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/notifierd/notifierd/pkg/notify/publish"
)

// A caller's span reaches every record as a W3C traceparent header; no span, no header.
func TestPublishWritesTheCallersTraceContext(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, _ := trace.ParseTraceState("vendor=abc")
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts}))
	tests := []struct {
		name                  string
		ctx                   context.Context
		traceparent, tracestr string
	}{
		{"with a span", traced, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc"},
		{"without", context.Background(), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []kafka.Message
			p := publish.New(writeFunc(func(_ context.Context, msgs ...kafka.Message) error { got = msgs; return nil }), publish.WithClock(func() time.Time { return now }))
			if err := p.Publish(tt.ctx, display("s1"), display("s2")); err != nil {
				t.Fatal(err)
			}
			for _, m := range got {
				if h := header(m, "traceparent"); h != tt.traceparent {
					t.Errorf("traceparent %q, want %q", h, tt.traceparent)
				}
				if h := header(m, "tracestate"); h != tt.tracestr {
					t.Errorf("tracestate %q, want %q", h, tt.tracestr)
				}
			}
			if len(got) != 2 {
				t.Errorf("%d records, want 2", len(got))
			}
		})
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
